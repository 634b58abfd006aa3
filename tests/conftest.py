"""Shared test set-up: keep every test on loopback unless it is a real-workspace test."""

from __future__ import annotations

import os

import pytest

WORKSPACE_CONFIGURED = bool(os.environ.get("DATABRICKS_HOST")) and bool(
    os.environ.get("DATABRICKS_TOKEN") or os.environ.get("DATABRICKS_CLIENT_SECRET")
)


@pytest.fixture(autouse=True)
def _loopback_only(request: pytest.FixtureRequest):
    """Tests never reach the internet: only 127.0.0.1 (and ::1) may be connected to."""
    if request.node.get_closest_marker("workspace"):
        if not WORKSPACE_CONFIGURED:
            pytest.skip("no Databricks workspace configured (DATABRICKS_HOST + credentials)")
        yield
        return
    import pytest_socket

    pytest_socket.socket_allow_hosts(["127.0.0.1", "::1", "localhost"], allow_unix_socket=True)
    try:
        yield
    finally:
        pytest_socket._remove_restrictions()


@pytest.fixture(scope="session")
def _missing_config_file(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("cfg") / "no-databrickscfg")  # never created


@pytest.fixture(autouse=True)
def _clean_databricks_env(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, _missing_config_file: str
):
    """Unit tests must not pick up the developer's own credentials or ~/.databrickscfg."""
    if request.node.get_closest_marker("workspace"):
        return
    for name in list(os.environ):
        if name.startswith("DATABRICKS_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABRICKS_CONFIG_FILE", _missing_config_file)


@pytest.fixture(autouse=True)
def _fresh_endpoint_configs():
    """Endpoint configurations are cached per process; every test starts without them."""
    from core.endpoint_config import _reset_cache

    _reset_cache()
    yield


@pytest.fixture(autouse=True)
def _fresh_limiters():
    """Each test starts with no endpoint limiter (core.limiter's registry is process-wide)."""
    yield
    from core.limiter import reset_limiters

    reset_limiters()
