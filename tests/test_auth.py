"""Auth: providers, precedence, config file, host rules, OAuth M2M caching/single flight."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from pydantic import SecretStr

from core.auth import normalize_host, resolve_auth
from core.auth.oauth import OAuthM2MAuth
from core.auth.providers import PatAuth, SdkAuth, TokenProviderAuth
from core.errors import AuthenticationError, ConfigurationError
from core.settings import ClientSettings
from core.transport import HttpTransport

HOST = "https://ws.cloud.databricks.com"
TOKEN_URL = f"{HOST}/oidc/v1/token"
SECRET = "dose-very-secret-value-42"


def _resolve(**kw):
    return resolve_auth(ClientSettings(**kw))


def _write_cfg(tmp_path, text, monkeypatch=None):
    path = tmp_path / "databrickscfg"
    path.write_text(text)
    if monkeypatch is not None:
        monkeypatch.setenv("DATABRICKS_CONFIG_FILE", str(path))
    return path


def _oauth(transport=None, clock=time.monotonic):
    auth = OAuthM2MAuth(HOST, "my-sp", SecretStr(SECRET), clock=clock)
    http = transport or HttpTransport(auth=None, kind="httpx")
    http.allow_url(HOST)
    http.sleep = lambda s: None

    async def _nosleep(s):
        return None

    http.asleep = _nosleep
    auth.bind(http)
    return auth


def _token_json(token="tok-1", expires_in=3600):
    return httpx.Response(
        200, json={"access_token": token, "token_type": "Bearer", "expires_in": expires_in}
    )


# ------------------------------------------------------------------------------------------
# host normalization
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ws.cloud.databricks.com", "https://ws.cloud.databricks.com"),
        ("https://ws.cloud.databricks.com/", "https://ws.cloud.databricks.com"),
        ("  HTTPS://WS.cloud.databricks.com//  ", "https://ws.cloud.databricks.com"),
        ("https://adb-1.azuredatabricks.net/?o=123", "https://adb-1.azuredatabricks.net"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://localhost:9", "http://localhost:9"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_normalize_host(raw, expected):
    assert normalize_host(raw) == expected


@pytest.mark.parametrize("raw", ["http://ws.cloud.databricks.com", "http://10.0.0.1", "ftp://x"])
def test_plain_http_refused_off_loopback(raw):
    with pytest.raises(ConfigurationError) as err:
        normalize_host(raw)
    assert "http" in str(err.value)


def test_http_host_refused_through_settings():
    with pytest.raises(ConfigurationError, match="refusing plain http"):
        _resolve(host="http://ws.example.com", token="dapi123")


# ------------------------------------------------------------------------------------------
# providers and sources
# ------------------------------------------------------------------------------------------
def test_pat_explicit():
    r = _resolve(host=HOST, token="dapi0123456789abcdef")
    assert isinstance(r.provider, PatAuth)
    assert r.provider.method == "pat" and r.provider.is_oauth is False
    assert r.provider.header() == "Bearer dapi0123456789abcdef"
    assert r.host == HOST and r.source == "arguments"


def test_pat_from_env(monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", "ws.cloud.databricks.com/")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-env")
    r = _resolve()
    assert r.host == HOST
    assert r.provider.header() == "Bearer dapi-env"
    assert r.source == "environment"


def test_oauth_from_env(monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", HOST)
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", "sp")
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", SECRET)
    r = _resolve()
    assert isinstance(r.provider, OAuthM2MAuth)
    assert r.provider.method == "oauth-m2m" and r.provider.is_oauth
    assert r.provider.token_url == TOKEN_URL


def test_config_file_default_profile(tmp_path, monkeypatch):
    _write_cfg(tmp_path, f"[DEFAULT]\nhost = {HOST}\ntoken = dapi-file\n", monkeypatch)
    r = _resolve()
    assert r.host == HOST and r.provider.header() == "Bearer dapi-file"
    assert "DEFAULT" in r.source


def test_config_file_named_profile_argument(tmp_path):
    path = _write_cfg(
        tmp_path,
        f"[DEFAULT]\nhost = {HOST}\ntoken = dapi-default\n\n"
        "[prod]\nhost = https://prod.cloud.databricks.com\nclient_id = sp\n"
        f"client_secret = {SECRET}\n",
    )
    r = _resolve(profile="prod", config_file=str(path))
    assert r.host == "https://prod.cloud.databricks.com"
    assert isinstance(r.provider, OAuthM2MAuth)


def test_config_profile_from_env(tmp_path, monkeypatch):
    _write_cfg(tmp_path, "[dev]\nhost = dev.cloud.databricks.com\ntoken = dapi-dev\n", monkeypatch)
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "dev")
    r = _resolve()
    assert r.host == "https://dev.cloud.databricks.com"
    assert r.provider.header() == "Bearer dapi-dev"


def test_default_section_does_not_leak_into_profiles(tmp_path, monkeypatch):
    # configparser would merge [DEFAULT] into [dev]; the SDK does not, nor do we.
    _write_cfg(tmp_path, f"[DEFAULT]\ntoken = dapi-default\n[dev]\nhost = {HOST}\n", monkeypatch)
    monkeypatch.setenv("DATABRICKS_CONFIG_PROFILE", "dev")
    with pytest.raises(ConfigurationError, match="no Databricks credentials"):
        _resolve()


def test_missing_profile_is_an_error(tmp_path, monkeypatch):
    _write_cfg(tmp_path, f"[dev]\nhost = {HOST}\ntoken = x\n", monkeypatch)
    with pytest.raises(ConfigurationError, match="'nope' not found.*dev"):
        _resolve(profile="nope")


def test_missing_config_file_with_explicit_profile(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        _resolve(profile="dev", config_file=str(tmp_path / "missing"))


def test_token_provider_sync():
    calls = []

    def provider():
        calls.append(1)
        return f"tok-{len(calls)}"

    r = _resolve(host=HOST, token_provider=provider)
    assert isinstance(r.provider, TokenProviderAuth)
    assert r.provider.method == "token-provider" and r.provider.is_oauth
    assert r.provider.header() == "Bearer tok-1"
    assert r.provider.header() == "Bearer tok-2"  # called for every request


async def test_token_provider_async():
    async def provider():
        await asyncio.sleep(0)
        return "Bearer already-prefixed"

    r = _resolve(host=HOST, token_provider=provider)
    assert await r.provider.aheader() == "Bearer already-prefixed"


def test_async_token_provider_from_sync_code():
    async def provider():
        return "atok"

    r = _resolve(host=HOST, token_provider=provider)
    assert r.provider.header() == "Bearer atok"


def test_token_provider_returning_nothing():
    r = _resolve(host=HOST, token_provider=lambda: "")
    with pytest.raises(AuthenticationError, match="no token"):
        r.provider.header()


class _FakeConfig:
    def __init__(self, host=HOST, auth_type="oauth-m2m"):
        self.host = host
        self.auth_type = auth_type
        self.calls = 0

    def authenticate(self):
        self.calls += 1
        return {"Authorization": f"Bearer sdk-{self.calls}"}


class _FakeWorkspaceClient:
    def __init__(self, config):
        self.config = config


def test_sdk_workspace_client_handover():
    cfg = _FakeConfig(host="https://sdk-host.cloud.databricks.com/")
    r = _resolve(workspace_client=_FakeWorkspaceClient(cfg))
    assert isinstance(r.provider, SdkAuth)
    assert r.host == "https://sdk-host.cloud.databricks.com"  # host taken from config.host
    assert r.provider.method == "databricks-sdk" and r.provider.is_oauth
    assert r.provider.header() == "Bearer sdk-1"


async def test_sdk_config_handover_async_and_pat_flag():
    cfg = _FakeConfig(auth_type="pat")
    r = _resolve(workspace_client=cfg)
    assert r.provider.is_oauth is False
    assert await r.provider.aheader() == "Bearer sdk-1"


def test_sdk_failure_becomes_authentication_error():
    class Broken(_FakeConfig):
        def authenticate(self):
            raise RuntimeError("cannot refresh")

    r = _resolve(workspace_client=Broken())
    with pytest.raises(AuthenticationError, match="databricks-sdk could not authenticate"):
        r.provider.header()


def test_bad_workspace_client():
    with pytest.raises(ConfigurationError, match="WorkspaceClient"):
        _resolve(host=HOST, workspace_client=object())


# ------------------------------------------------------------------------------------------
# precedence and conflicts
# ------------------------------------------------------------------------------------------
def test_explicit_beats_env_and_file(tmp_path, monkeypatch):
    _write_cfg(
        tmp_path, "[DEFAULT]\nhost = https://file-host.com\ntoken = dapi-file\n", monkeypatch
    )
    monkeypatch.setenv("DATABRICKS_HOST", "https://env-host.com")
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", "sp")
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", SECRET)
    r = _resolve(host=HOST, token="dapi-explicit")
    assert r.host == HOST
    assert r.provider.header() == "Bearer dapi-explicit"


def test_env_beats_file(tmp_path, monkeypatch):
    _write_cfg(
        tmp_path, "[DEFAULT]\nhost = https://file-host.com\ntoken = dapi-file\n", monkeypatch
    )
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-env")
    r = _resolve()
    assert r.host == "https://file-host.com"  # host attribute-wise from the file
    assert r.provider.header() == "Bearer dapi-env"


def test_explicit_profile_beats_env(tmp_path, monkeypatch):
    path = _write_cfg(tmp_path, f"[prod]\nhost = {HOST}\ntoken = dapi-prod\n")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-env")
    r = _resolve(profile="prod", config_file=str(path))
    assert r.provider.header() == "Bearer dapi-prod"


@pytest.mark.parametrize(
    "kw",
    [
        {"token": "dapi1", "client_id": "sp", "client_secret": SECRET},
        {"token": "dapi1", "token_provider": lambda: "x"},
    ],
)
def test_two_methods_explicit_is_an_error(kw):
    with pytest.raises(ConfigurationError) as err:
        _resolve(host=HOST, **kw)
    text = str(err.value)
    assert "pat" in text and ("oauth-m2m" in text or "token-provider" in text)
    assert "auth_type" in text
    assert SECRET not in text and "dapi1" not in text


def test_two_methods_in_env_is_an_error(monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", HOST)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-env")
    monkeypatch.setenv("DATABRICKS_CLIENT_ID", "sp")
    monkeypatch.setenv("DATABRICKS_CLIENT_SECRET", SECRET)
    with pytest.raises(ConfigurationError, match="environment: pat.*and oauth-m2m"):
        _resolve()


def test_two_methods_in_file_is_an_error(tmp_path, monkeypatch):
    _write_cfg(
        tmp_path,
        f"[DEFAULT]\nhost = {HOST}\ntoken = dapi\nclient_id = sp\nclient_secret = {SECRET}\n",
        monkeypatch,
    )
    with pytest.raises(ConfigurationError, match="pat .*oauth-m2m"):
        _resolve()


def test_auth_type_picks_one(tmp_path, monkeypatch):
    _write_cfg(
        tmp_path,
        f"[DEFAULT]\nhost = {HOST}\ntoken = dapi\nclient_id = sp\n"
        f"client_secret = {SECRET}\nauth_type = oauth-m2m\n",
        monkeypatch,
    )
    assert isinstance(_resolve().provider, OAuthM2MAuth)
    assert isinstance(_resolve(auth_type="pat").provider, PatAuth)  # explicit beats file


def test_auth_type_from_env(monkeypatch):
    monkeypatch.setenv("DATABRICKS_AUTH_TYPE", "pat")
    r = _resolve(host=HOST, token="dapi1", client_id="sp", client_secret=SECRET)
    assert isinstance(r.provider, PatAuth)


def test_auth_type_without_its_credentials():
    with pytest.raises(ConfigurationError, match="auth_type='oauth-m2m'"):
        _resolve(host=HOST, token="dapi", auth_type="oauth-m2m")


def test_half_configured_oauth():
    with pytest.raises(ConfigurationError, match="client_secret is missing"):
        _resolve(host=HOST, client_id="sp")


def test_sdk_only_auth_type_goes_through_sdk(monkeypatch):
    sdk_core = pytest.importorskip("databricks.sdk.core")
    seen = {}

    class FakeConfig(_FakeConfig):
        def __init__(self, **kw):
            seen.update(kw)
            super().__init__(host=kw["host"], auth_type=kw["auth_type"])

    monkeypatch.setattr(sdk_core, "Config", FakeConfig)
    r = _resolve(host=HOST, auth_type="databricks-cli", profile=None)
    assert isinstance(r.provider, SdkAuth)
    assert seen == {"host": HOST, "auth_type": "databricks-cli"}
    assert r.provider.header() == "Bearer sdk-1"


def test_sdk_only_auth_type_failure_is_configuration_error(monkeypatch):
    sdk_core = pytest.importorskip("databricks.sdk.core")

    def broken(**kw):
        raise ValueError("cannot configure")

    monkeypatch.setattr(sdk_core, "Config", broken)
    with pytest.raises(ConfigurationError, match="databricks-cli"):
        _resolve(host=HOST, auth_type="databricks-cli")


def test_sdk_only_auth_type_without_sdk(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "databricks.sdk.core", None)
    with pytest.raises(ConfigurationError, match=r"databricks-llm-plugins\[sdk\]"):
        _resolve(host=HOST, auth_type="azure-cli")


def test_missing_host_lists_the_ways():
    with pytest.raises(ConfigurationError) as err:
        _resolve(token="dapi")
    text = str(err.value)
    for way in ("host=", "DATABRICKS_HOST", "databrickscfg", "workspace_client"):
        assert way in text
    assert "dapi" not in text


def test_missing_credentials_lists_the_ways():
    with pytest.raises(ConfigurationError) as err:
        _resolve(host=HOST)
    text = str(err.value)
    for way in (
        "DATABRICKS_TOKEN",
        "DATABRICKS_CLIENT_ID",
        "token_provider",
        "workspace_client",
        "databrickscfg",
    ):
        assert way in text


def test_host_from_base_url_when_no_host():
    r = _resolve(base_url="https://gw.example.com/v1", token="t")
    assert r.host == "https://gw.example.com"


# ------------------------------------------------------------------------------------------
# OAuth M2M
# ------------------------------------------------------------------------------------------
@respx.mock
def test_oauth_token_request_shape_and_cache():
    route = respx.post(TOKEN_URL).mock(return_value=_token_json())
    auth = _oauth()
    assert auth.header() == "Bearer tok-1"
    assert auth.header() == "Bearer tok-1"
    assert route.call_count == 1
    req = route.calls.last.request
    form = parse_qs(req.content.decode())
    assert form == {"grant_type": ["client_credentials"], "scope": ["all-apis"]}
    scheme, value = req.headers["authorization"].split(" ", 1)
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == f"my-sp:{SECRET}"
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"


@respx.mock
def test_oauth_refreshes_before_expiry():
    now = [1000.0]
    route = respx.post(TOKEN_URL).mock(side_effect=[_token_json("a", 3600), _token_json("b", 3600)])
    auth = _oauth(clock=lambda: now[0])
    assert auth.header() == "Bearer a"
    now[0] += 3600 - 61  # 61 s left: still fine
    assert auth.header() == "Bearer a"
    now[0] += 2  # 59 s left: refreshed before it expires
    assert auth.header() == "Bearer b"
    assert route.call_count == 2


@respx.mock
def test_oauth_short_lifetime_refreshes_at_ten_percent():
    now = [0.0]
    respx.post(TOKEN_URL).mock(side_effect=[_token_json("a", 100), _token_json("b", 100)])
    auth = _oauth(clock=lambda: now[0])
    assert auth.header() == "Bearer a"
    now[0] = 89.0
    assert auth.header() == "Bearer a"
    now[0] = 91.0
    assert auth.header() == "Bearer b"


@respx.mock
def test_oauth_single_flight_100_threads():
    def slow(request):
        time.sleep(0.2)
        return _token_json("shared")

    route = respx.post(TOKEN_URL).mock(side_effect=slow)
    auth = _oauth()
    barrier = threading.Barrier(100)
    results, errors = [], []

    def worker():
        barrier.wait()
        try:
            results.append(auth.header())
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == ["Bearer shared"] * 100
    assert route.call_count == 1


@respx.mock
async def test_oauth_single_flight_100_tasks():
    async def slow(request):
        await asyncio.sleep(0.1)
        return _token_json("shared")

    route = respx.post(TOKEN_URL).mock(side_effect=slow)
    auth = _oauth()
    results = await asyncio.gather(*(auth.aheader() for _ in range(100)))
    assert results == ["Bearer shared"] * 100
    assert route.call_count == 1


@respx.mock
def test_oauth_single_flight_threads_loops_and_tasks_mixed():
    def slow(request):
        time.sleep(0.2)
        return _token_json("shared")

    route = respx.post(TOKEN_URL).mock(side_effect=slow)
    auth = _oauth()
    results: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def loop_worker():
        async def main():
            return await asyncio.gather(*(auth.aheader() for _ in range(25)))

        barrier.wait()
        got = asyncio.run(main())
        with lock:
            results.extend(got)

    def sync_worker():
        barrier.wait()
        got = auth.header()
        with lock:
            results.append(got)

    threads = [threading.Thread(target=loop_worker) for _ in range(4)]
    threads += [threading.Thread(target=sync_worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 104 and set(results) == {"Bearer shared"}
    assert route.call_count == 1


@respx.mock
def test_oauth_token_endpoint_refusing():
    respx.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            401, json={"error": "invalid_client", "error_description": f"bad {SECRET}"}
        )
    )
    auth = _oauth()
    with pytest.raises(AuthenticationError) as err:
        auth.header()
    text = str(err.value) + repr(err.value)
    assert HOST in text and "oauth-m2m" in text
    assert SECRET not in text
    assert err.value.status_code == 401


@respx.mock
def test_oauth_token_endpoint_down_retried_then_error():
    route = respx.post(TOKEN_URL).mock(side_effect=httpx.ConnectError("refused"))
    auth = _oauth()
    with pytest.raises(AuthenticationError) as err:
        auth.header()
    assert route.call_count == 4  # 1 + max_retries
    assert "oauth-m2m" in str(err.value) and HOST in str(err.value)
    assert SECRET not in str(err.value)


@respx.mock
def test_oauth_failure_does_not_poison_the_cache():
    route = respx.post(TOKEN_URL).mock(
        side_effect=[httpx.Response(400, json={"error": "nope"}), _token_json("ok")]
    )
    auth = _oauth()
    with pytest.raises(AuthenticationError):
        auth.header()
    assert auth.header() == "Bearer ok"
    assert route.call_count == 2


@respx.mock
async def test_oauth_async_failure_reaches_all_waiters():
    async def bad(request):
        await asyncio.sleep(0.05)
        return httpx.Response(400, json={"error": "invalid_scope"})

    respx.post(TOKEN_URL).mock(side_effect=bad)
    auth = _oauth()
    results = await asyncio.gather(*(auth.aheader() for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, AuthenticationError) for r in results)


@respx.mock
def test_oauth_answer_without_token():
    respx.post(TOKEN_URL).mock(return_value=httpx.Response(200, json={"nope": 1}))
    with pytest.raises(AuthenticationError, match="without an access_token"):
        _oauth().header()


@respx.mock
def test_oauth_invalidate_only_the_stale_token():
    respx.post(TOKEN_URL).mock(side_effect=[_token_json("a"), _token_json("b")])
    auth = _oauth()
    assert auth.header() == "Bearer a"
    auth.invalidate("Bearer something-else")  # a racing request with an older token
    assert auth.header() == "Bearer a"
    auth.invalidate("Bearer a")
    assert auth.header() == "Bearer b"


@respx.mock
def test_oauth_without_bound_transport_uses_its_own():
    respx.post(TOKEN_URL).mock(return_value=_token_json("own"))
    auth = OAuthM2MAuth(HOST, "sp", SecretStr(SECRET))
    assert auth.header() == "Bearer own"


# ------------------------------------------------------------------------------------------
# secrets never printed
# ------------------------------------------------------------------------------------------
def test_no_secret_in_reprs():
    s = ClientSettings(
        model="m",
        host=HOST,
        token="dapi-supersecret-1",
        client_secret=SECRET,
        client_id="sp",
        auth_type="pat",
    )
    for text in (repr(s), str(s), s.model_dump_json()):
        assert "dapi-supersecret-1" not in text and SECRET not in text
    r = resolve_auth(s)
    assert "dapi-supersecret-1" not in repr(r.provider)
    assert SECRET not in repr(OAuthM2MAuth(HOST, "sp", SecretStr(SECRET)))


def test_settings_validation_never_echoes_input():
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as err:
        ClientSettings(token=["dapi-in-a-list-123"])
    assert "dapi-in-a-list-123" not in str(err.value)


@respx.mock
async def test_oauth_cancelled_waiter_does_not_cancel_the_fetch():
    async def slow(request):
        await asyncio.sleep(0.2)
        return _token_json("shared")

    route = respx.post(TOKEN_URL).mock(side_effect=slow)
    auth = _oauth()
    owner = asyncio.create_task(auth.aheader())
    await asyncio.sleep(0.01)
    waiter = asyncio.create_task(auth.aheader())
    other = asyncio.create_task(auth.aheader())
    await asyncio.sleep(0.01)
    waiter.cancel()
    assert await owner == "Bearer shared"
    assert await other == "Bearer shared"
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert route.call_count == 1


@respx.mock
async def test_oauth_cancelled_owner_hands_over_to_a_waiter():
    calls = []

    async def slow(request):
        calls.append(1)
        await asyncio.sleep(0.2)
        return _token_json(f"t{len(calls)}")

    respx.post(TOKEN_URL).mock(side_effect=slow)
    auth = _oauth()
    owner = asyncio.create_task(auth.aheader())
    await asyncio.sleep(0.01)
    waiters = [asyncio.create_task(auth.aheader()) for _ in range(5)]
    await asyncio.sleep(0.01)
    owner.cancel()
    results = await asyncio.gather(*waiters)
    assert len(set(results)) == 1  # one of the waiters fetched, the others shared it
    assert len(calls) == 2
    with pytest.raises(asyncio.CancelledError):
        await owner
