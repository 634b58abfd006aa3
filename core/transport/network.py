"""How this process reaches the network: proxies and TLS, decided once for every backend.

* Proxies follow httpx (and requests): an explicit ``proxy=`` is used for every request;
  otherwise ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` (either case) apply, except to hosts in
  ``NO_PROXY`` (``*``, domain suffixes, IPs, ``localhost``). The httpx path gets these from
  httpx itself; the aiohttp path asks :meth:`Network.proxy_for`, which uses httpx's own
  environment parsing and pattern matching, so both paths pick the same proxy for a URL.
* TLS: ``verify`` is True (the environment's CA bundle: ``SSL_CERT_FILE``, ``SSL_CERT_DIR``,
  ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``, else certifi's, as httpx/requests do), False (no
  verification), a CA bundle path (file or directory) or an ``ssl.SSLContext``. One context is
  built per transport and handed to both paths.
* Proxy credentials (``http://user:secret@proxy:3128``) never leave this module in a printable
  form: :func:`redact_url` hides them, and ``core.errors.redact`` scrubs any URL userinfo.
"""

from __future__ import annotations

import base64
import functools
import os
import ssl
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

from core.errors import ConfigurationError

_CA_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


def redact_url(url: str) -> str:
    """``http://user:secret@host:port`` -> ``http://***@host:port``."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def check_proxy(proxy: str) -> str:
    """A proxy URL we can use, or a ConfigurationError saying why not (credentials hidden)."""
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    if parts.scheme not in _PROXY_SCHEMES or not parts.hostname:
        raise ConfigurationError(
            f"proxy={redact_url(proxy)!r} is not a proxy URL: use "
            "'http://[user:password@]host:port' (or https://, socks5://)"
        )
    return parts.geturl()


def check_verify(verify: Any) -> Any:
    """``verify`` as given, or a ConfigurationError before any request."""
    if isinstance(verify, (bool, ssl.SSLContext)):
        return verify
    if isinstance(verify, (str, os.PathLike)):
        path = os.fspath(verify)
        if not os.path.exists(path):
            raise ConfigurationError(
                f"verify={path!r}: no such CA bundle file or directory; pass the path of a PEM "
                "file with the CA certificates to trust, an ssl.SSLContext, True or False"
            )
        return path
    raise ConfigurationError(
        f"verify must be True, False, a CA bundle path or an ssl.SSLContext, not "
        f"{type(verify).__name__}"
    )


def ssl_context(verify: Any = True) -> ssl.SSLContext:
    """The TLS context for ``verify`` (see the module docstring for the environment)."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if verify is False:
        return _context(None, insecure=True)
    return _context(os.fspath(verify) if verify is not True else _ca_from_environment())


@functools.lru_cache(maxsize=16)
def _context(path: str | None, insecure: bool = False) -> ssl.SSLContext:
    # One context per CA source for the whole process: loading a CA bundle takes ~20 ms, and
    # every client (each model of each adapter) would otherwise load it again. A context is
    # safe to share between connections and threads once configured.
    if insecure:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if path is None:
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    if os.path.isdir(path):
        return ssl.create_default_context(capath=path)
    return ssl.create_default_context(cafile=path)


def _ca_from_environment() -> str | None:
    for name in _CA_ENV:
        value = os.environ.get(name)
        if value:
            return value
    return None


class ProxyChoice:
    """The proxy for one URL on the aiohttp path: its URL without credentials, and those
    (``auth``, and ready as the ``Proxy-Authorization`` header of the CONNECT)."""

    __slots__ = ("url", "auth", "headers")

    def __init__(self, url: str, auth: tuple[str, str] | None) -> None:
        self.url = url
        self.auth = auth
        self.headers: dict[str, str] | None = None
        if auth is not None:
            basic = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            self.headers = {"Proxy-Authorization": f"Basic {basic}"}

    def __repr__(self) -> str:
        return f"<ProxyChoice {self.url}{' (with credentials)' if self.auth else ''}>"


class Network:
    """A transport's proxy and TLS settings; contexts and choices are built once, lazily."""

    def __init__(self, proxy: str | None = None, verify: Any = True) -> None:
        self._proxy = check_proxy(proxy) if proxy else None
        self.verify = check_verify(verify)
        self._lock = threading.Lock()
        self._ssl: ssl.SSLContext | None = None
        self._rules: list[tuple[Any, str | None]] | None = None
        self._choices: dict[tuple[str, str, int | None], ProxyChoice | None] = {}

    @property
    def proxy(self) -> str | None:
        """The explicit proxy URL (with its credentials: never print it)."""
        return self._proxy

    def ssl_context(self) -> ssl.SSLContext:
        ctx = self._ssl
        if ctx is None:
            with self._lock:
                if self._ssl is None:
                    self._ssl = ssl_context(self.verify)
                ctx = self._ssl
        return ctx

    def httpx_options(self) -> dict[str, Any]:
        """Keyword arguments for ``httpx.Client``/``AsyncClient``: same proxy, same TLS."""
        return {"verify": self.ssl_context(), "proxy": self._proxy, "trust_env": True}

    def proxy_for(self, url: str) -> ProxyChoice | None:
        """The proxy a request to ``url`` goes through (None: straight), httpx's rules."""
        from core.transport.origins import origin

        key = origin(url)
        try:
            return self._choices[key]
        except KeyError:
            pass
        proxy = self._proxy if self._proxy is not None else self._from_environment(url)
        choice = _choice(proxy) if proxy else None
        self._choices[key] = choice
        return choice

    def _from_environment(self, url: str) -> str | None:
        # httpx's own parsing of the environment and its URL patterns (private helpers, stable
        # across httpx 0.2x): the aiohttp path then agrees with the httpx path by construction.
        import httpx
        from httpx._utils import URLPattern, get_environment_proxies

        if self._rules is None:
            rules = [(URLPattern(k), v) for k, v in get_environment_proxies().items()]
            self._rules = sorted(rules, key=lambda rule: rule[0].priority)
        target = httpx.URL(url)
        for pattern, proxy in self._rules:
            if pattern.matches(target):
                return proxy
        return None

    def __repr__(self) -> str:
        proxy = redact_url(self._proxy) if self._proxy else "environment"
        verify = self.verify if isinstance(self.verify, (bool, str)) else "SSLContext"
        return f"<Network proxy={proxy} verify={verify}>"


def _choice(proxy: str) -> ProxyChoice:
    parts = urlsplit(proxy)
    auth = None
    if parts.username is not None:
        auth = (unquote(parts.username), unquote(parts.password or ""))
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    return ProxyChoice(f"{parts.scheme}://{netloc}", auth)
