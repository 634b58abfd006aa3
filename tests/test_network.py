"""Proxies and TLS on every path (sync httpx, async aiohttp, async httpx) and both adapters,
against real sockets: the emulator served over TLS (certificates from trustme) and a CONNECT
proxy started by the tests (tests/connect_proxy.py)."""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl

import httpx
import pytest

from core.client import DatabricksChatClient
from core.errors import CertificateVerificationError, ConfigurationError, ConnectionError
from core.settings import ClientSettings
from core.transport.network import Network, redact_url
from core.types import GenerationParams, Message, TextDelta, TextPart
from tests.connect_proxy import run_proxy

trustme = pytest.importorskip("trustme")

MODEL = "databricks-meta-llama-3-3-70b-instruct"
MSGS = [Message("user", [TextPart("Say hello in five words.")])]
P = GenerationParams(max_tokens=32)
BACKENDS = ["aiohttp", "httpx"]
PROXY_VARS = [
    f"{name}{suffix}" for name in ("https", "http", "all", "no") for suffix in ("_proxy",)
] + ["HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"]
CA_VARS = ["SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]


@pytest.fixture(autouse=True)
def _no_network_env(monkeypatch):
    for name in PROXY_VARS + CA_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_file(ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture(scope="module")
def tls_emu(ca):
    from core.emulator import run_emulator

    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_ctx)
    with run_emulator(ssl_context=server_ctx, chunk_size=4) as emu:
        assert emu.host.startswith("https://")
        yield emu


def client(emu, **kw):
    kw.setdefault("max_retries", 0)
    return DatabricksChatClient(model=MODEL, host=emu.host, token=emu.token, **kw)


def text(deltas):
    return "".join(d.text for d in deltas if isinstance(d, TextDelta))


async def _acall(c):
    whole = (await c.acomplete(MSGS, P)).text
    streamed = text([d async for d in c.astream(MSGS, P)])
    await c.aclose()
    return whole, streamed


def call_both_ways(c):
    """complete + stream, sync then async; returns the four texts."""
    whole, streamed = c.complete(MSGS, P).text, text(c.stream(MSGS, P))
    awhole, astreamed = asyncio.run(_acall(c))
    c.close()
    return [whole, streamed, awhole, astreamed]


# ------------------------------------------------------------------------------------------
# TLS
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_custom_ca_path(tls_emu, ca_file, backend):
    texts = call_both_ways(client(tls_emu, verify=ca_file, transport=backend))
    assert all(texts) and len(set(texts)) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_custom_ssl_context(tls_emu, ca, backend):
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    assert all(call_both_ways(client(tls_emu, verify=ctx, transport=backend)))


@pytest.mark.parametrize("var", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_ca_from_environment(tls_emu, ca_file, monkeypatch, var, backend):
    monkeypatch.setenv(var, ca_file)
    assert all(call_both_ways(client(tls_emu, transport=backend)))


def test_verify_false_skips_verification(tls_emu):
    assert all(call_both_ways(client(tls_emu, verify=False)))


def _untrusted(check):
    assert isinstance(check.value, CertificateVerificationError)
    assert isinstance(check.value, ConnectionError)
    message = str(check.value)
    assert "could not verify the TLS certificate" in message
    assert "verify=" in message and "SSL_CERT_FILE" in message


@pytest.mark.parametrize("backend", BACKENDS)
def test_untrusted_certificate_is_its_own_error(tls_emu, backend):
    c = client(tls_emu, transport=backend, max_retries=3)
    c.http.sleep = lambda s: pytest.fail("a certificate failure must not be retried")
    with pytest.raises(CertificateVerificationError) as sync_err:
        c.complete(MSGS, P)
    _untrusted(sync_err)
    with pytest.raises(CertificateVerificationError) as stream_err:
        list(c.stream(MSGS, P))
    _untrusted(stream_err)

    async def fail(s):
        pytest.fail("a certificate failure must not be retried")

    c.http.asleep = fail
    with pytest.raises(CertificateVerificationError) as async_err:
        asyncio.run(c.acomplete(MSGS, P))
    _untrusted(async_err)
    assert "ConnectTimeout" not in str(async_err.value)
    c.close()


def test_bad_verify_is_a_configuration_error_before_any_request(tmp_path):
    with pytest.raises(ConfigurationError, match="no such CA bundle"):
        DatabricksChatClient(
            model=MODEL,
            host="https://x.cloud.databricks.com",
            token="t",
            verify=str(tmp_path / "missing.pem"),
        )
    with pytest.raises(ConfigurationError, match="verify must be"):
        Network(verify=3)


# ------------------------------------------------------------------------------------------
# proxies
# ------------------------------------------------------------------------------------------
def _target(emu):
    return emu.host.split("://", 1)[1]


@pytest.mark.parametrize("var", ["HTTPS_PROXY", "https_proxy"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_environment_proxy_is_used_on_both_paths(tls_emu, ca_file, monkeypatch, var, backend):
    with run_proxy() as proxy:
        monkeypatch.setenv(var, proxy.url)
        texts = call_both_ways(client(tls_emu, verify=ca_file, transport=backend))
    assert all(texts)
    # both paths went through CONNECT tunnels to the emulator: the sync client's connection
    # and the async one's (each path keeps its own pool, so a bypass would leave just one)
    assert len(proxy.seen) >= 2 and all(m == "CONNECT" for m, _ in proxy.seen)
    assert set(proxy.targets) == {_target(tls_emu)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_proxy_is_honoured(tls_emu, ca_file, monkeypatch, backend):
    with run_proxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "example.com,127.0.0.1")
        assert all(call_both_ways(client(tls_emu, verify=ca_file, transport=backend)))
    assert proxy.seen == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_explicit_proxy_with_credentials(tls_emu, ca_file, backend, caplog):
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx, httpcore, aiohttp, asyncio
    with run_proxy("alice", "pr0xy-s3cret") as proxy:
        url = proxy.url_with("alice", "pr0xy-s3cret")
        c = client(tls_emu, verify=ca_file, transport=backend, proxy=url)
        assert "pr0xy-s3cret" not in repr(c.http) + repr(c.settings)
        assert "pr0xy-s3cret" not in c.settings.model_dump_json()
        assert all(call_both_ways(c))
    assert proxy.refused == 0 and len(proxy.seen) >= 2
    assert caplog.records and "pr0xy-s3cret" not in caplog.text
    assert base64.b64encode(b"alice:pr0xy-s3cret").decode() not in caplog.text


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrong_proxy_credentials_are_a_clear_error_without_the_secret(tls_emu, ca_file, backend):
    with run_proxy("alice", "right") as proxy:
        c = client(
            tls_emu,
            verify=ca_file,
            transport=backend,
            proxy=proxy.url_with("alice", "wr0ng-s3cret"),
        )
        with pytest.raises(ConnectionError) as sync_err:
            c.complete(MSGS, P)
        with pytest.raises(ConnectionError) as async_err:
            asyncio.run(c.acomplete(MSGS, P))
        c.close()
    for err in (sync_err, async_err):
        message = str(err.value)
        assert "407" in message and "proxy" in message.lower()
        assert "wr0ng-s3cret" not in message and "wr0ng-s3cret" not in repr(err.value)
    assert proxy.refused >= 2 and proxy.seen == []


def test_plain_http_target_goes_through_the_proxy(monkeypatch):
    from core.emulator import run_emulator

    with run_emulator() as emu, run_proxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        assert all(call_both_ways(client(emu)))
    assert len(proxy.seen) >= 2 and all(target.startswith(emu.host) for target in proxy.targets)


# ------------------------------------------------------------------------------------------
# both adapters, sync and async, through an authenticating proxy to the TLS emulator
# ------------------------------------------------------------------------------------------
def test_langchain_through_proxy_and_custom_ca(tls_emu, ca_file):
    from langchain_plugin import ChatDatabricks

    with run_proxy("bob", "lc-s3cret") as proxy:
        llm = ChatDatabricks(
            model=MODEL,
            host=tls_emu.host,
            api_key=tls_emu.token,
            max_tokens=16,
            proxy=proxy.url_with("bob", "lc-s3cret"),
            verify=ca_file,
        )
        assert "lc-s3cret" not in repr(llm)
        assert llm.invoke("hi").content
        assert asyncio.run(llm.ainvoke("hi")).content
        llm.client.close()  # no TLS socket left for the garbage collector to warn about
    assert len(proxy.seen) >= 2 and proxy.refused == 0


def test_langchain_serialization_keeps_the_proxy_secret(tls_emu, ca_file):
    from langchain_core.load import dumpd

    from langchain_plugin import ChatDatabricks

    llm = ChatDatabricks(
        model=MODEL,
        host=tls_emu.host,
        api_key=tls_emu.token,
        proxy="http://bob:lc-s3cret@127.0.0.1:9",
        verify=ca_file,
    )
    assert "lc-s3cret" not in str(dumpd(llm))


def test_llamaindex_through_proxy_and_custom_ca(tls_emu, ca):
    from llama_index.core.llms import ChatMessage

    from llamaindex_plugin import Databricks

    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    with run_proxy("carol", "li-s3cret") as proxy:
        llm = Databricks(
            model=MODEL,
            host=tls_emu.host,
            token=tls_emu.token,
            max_tokens=16,
            proxy=proxy.url_with("carol", "li-s3cret"),
            verify=ctx,
        )
        assert "li-s3cret" not in repr(llm) and "li-s3cret" not in str(llm.to_dict())
        assert llm.complete("hi").text

        async def run():
            answer = await llm.achat([ChatMessage(role="user", content="hi")])
            chunks = [c async for c in await llm.astream_complete("hi")]
            return answer, chunks

        answer, chunks = asyncio.run(run())
        assert answer.message.content and chunks and chunks[-1].text
        llm.client.close()
    assert len(proxy.seen) >= 2 and proxy.refused == 0  # sync and async connections


# ------------------------------------------------------------------------------------------
# units: one rule for both paths
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "url", "expected"),
    [
        ({"HTTPS_PROXY": "http://p:1"}, "https://ws.cloud.databricks.com/x", "http://p:1"),
        ({"HTTPS_PROXY": "http://p:1"}, "http://ws.example.com/x", None),
        ({"HTTP_PROXY": "p:2"}, "http://ws.example.com/x", "http://p:2"),
        ({"ALL_PROXY": "http://p:3"}, "https://a.b/x", "http://p:3"),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, "https://a.b/x", None),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": "databricks.com"},
            "https://ws.cloud.databricks.com/x",
            None,
        ),
        (
            {"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".other.com"},
            "https://ws.cloud.databricks.com/x",
            "http://p:1",
        ),
        ({"https_proxy": "http://p:4", "no_proxy": "localhost"}, "https://localhost:8/x", None),
    ],
)
def test_proxy_choice_matches_httpx(monkeypatch, env, url, expected):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    choice = Network().proxy_for(url)
    assert (choice.url if choice else None) == expected
    # the httpx path decides the same with its own machinery
    mounts = httpx.Client()._mounts
    chosen = next((t for p, t in mounts.items() if p.matches(httpx.URL(url))), None)
    proxy_url = getattr(getattr(chosen, "_pool", None), "_proxy_url", None)
    assert (proxy_url is not None) == (expected is not None)


def test_explicit_proxy_wins_over_environment(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://env:1")
    monkeypatch.setenv("NO_PROXY", "*")
    choice = Network(proxy="http://u:p%40ss@explicit:2").proxy_for("https://a.b/x")
    assert choice is not None and choice.url == "http://explicit:2"
    assert choice.auth == ("u", "p@ss") and "p@ss" not in repr(choice)


def test_proxy_url_checks_and_redaction():
    assert redact_url("http://u:secret@h:1/x") == "http://***@h:1/x"
    assert redact_url("http://h:1") == "http://h:1"
    with pytest.raises(ValueError, match="not a proxy URL") as err:
        ClientSettings(model=MODEL, proxy="ftp://u:s3cret@h:1")
    assert "s3cret" not in str(err.value)
    with pytest.raises(ConfigurationError, match="not a proxy URL") as err:
        DatabricksChatClient(
            model=MODEL,
            host="https://x.cloud.databricks.com",
            token="t",
            proxy="ftp://u:s3cret@h:1",
        )
    assert "s3cret" not in str(err.value)
    settings = ClientSettings(model=MODEL, proxy="http://u:s3cret@h:1")
    assert "s3cret" not in repr(settings) and "s3cret" not in settings.model_dump_json()
    assert settings.proxy is not None and settings.proxy.get_secret_value().endswith("@h:1")


def test_oauth_token_exchange_goes_through_the_same_proxy_and_tls(tls_emu, ca_file):
    """The OAuth M2M token request uses the model's transport: same proxy, same CA."""
    before = tls_emu.token_requests
    with run_proxy("dave", "oa-s3cret") as proxy:
        c = DatabricksChatClient(
            model=MODEL,
            host=tls_emu.host,
            client_id=tls_emu.client_id,
            client_secret=tls_emu.client_secret,
            verify=ca_file,
            proxy=proxy.url_with("dave", "oa-s3cret"),
            max_retries=0,
        )
        assert c.auth._http is c.http  # the token endpoint is called through this transport
        assert all(call_both_ways(c))
    assert tls_emu.token_requests > before  # a token was fetched (through the tunnel)
    assert proxy.refused == 0 and set(proxy.targets) == {_target(tls_emu)}
