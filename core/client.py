"""``DatabricksChatClient``: one configured Databricks chat model, framework-neutral.

It resolves host and credentials eagerly (so a ConfigurationError comes at construction), picks
the route (:mod:`core.endpoints`) and the codec by the route's api
(:func:`core.codecs.codec_for`, a :class:`core.codecs.base.Codec`), and sends through
:class:`core.transport.HttpTransport` (auth header, retries, SSE). HTTP clients are created
lazily and reused; async ones per event loop.
"""

from __future__ import annotations

import json
import threading
import warnings
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from core.accumulator import deltas_from_response
from core.agents import agent_route, needs_task, schema_for_task
from core.auth import AuthProvider, normalize_host
from core.connection import MAX_PAYLOAD_BYTES as MAX_PAYLOAD_BYTES  # re-exported
from core.connection import encode_json, hide_secrets, open_connection
from core.connection import settings_from as _settings_from
from core.endpoints import Route, apps_api_url, resolve_route
from core.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    StreamInterruptedError,
)
from core.model_rules import apply_model_rules
from core.settings import ClientSettings
from core.transport import JsonBody
from core.types import ChatResponse, Delta, GenerationParams, Message

if TYPE_CHECKING:  # pragma: no cover
    from core.codecs.base import Codec, StreamDecoding
    from core.endpoint_config import EndpointConfig
    from core.limiter import AdaptiveLimiter
    from core.registry import ModelInfo

_JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
_SSE_HEADERS = {"Content-Type": "application/json"}

APPS_NEED_OAUTH = (
    "Databricks Apps accept OAuth tokens only, not personal access tokens. Use OAuth M2M "
    "(client_id/client_secret or DATABRICKS_CLIENT_ID/DATABRICKS_CLIENT_SECRET), a "
    "databricks-sdk client with U2M login (workspace_client=WorkspaceClient() after "
    "`databricks auth login`), or a token_provider returning an OAuth token."
)


class DatabricksChatClient:
    """Chat with one Databricks model: ``complete``/``acomplete``, ``stream``/``astream``."""

    def __init__(self, settings: ClientSettings | None = None, **kwargs: Any) -> None:
        hide_secrets(kwargs)
        self.settings: ClientSettings = _settings_from(settings, kwargs)
        s = self.settings
        if not s.model:
            raise ConfigurationError(
                "no model given: pass model='<serving endpoint name>', a Unity Catalog name "
                "('system.ai.<model>') or 'apps/<app-name>'"
            )
        self.model: str = s.model
        conn = open_connection(s)
        self.host: str = conn.host
        self.auth: AuthProvider = conn.auth
        self.auth_source: str = conn.auth_source
        from core.registry import lookup_model

        self.info: ModelInfo = lookup_model(s.model)
        self._route: Route = resolve_route(
            s.model,
            host=self.host,
            endpoint_kind=s.endpoint_kind,
            base_url=conn.base_url,
            use_responses_api=s.use_responses_api,
            registry_api=self.info.api,
            api=s.api,
            family=self.info.family,
        )
        if s.agent_schema is not None:
            self._route = agent_route(
                self._route,
                s.agent_schema,
                host=self.host,
                endpoint_kind=s.endpoint_kind,
                use_responses_api=s.use_responses_api,
            )
        # the agent schema comes from the endpoint's task, read before the first request
        self._task_pending = needs_task(
            self._route,
            explicit=s.agent_schema is not None
            or s.use_responses_api is not None
            or s.api is not None
            or bool(conn.base_url),
            known_model=self.info.known,
        )
        if self._route.kind == "app" and not self.auth.is_oauth:
            raise ConfigurationError(
                f"{s.model!r} is a Databricks App but the configured credentials are a "
                f"{self.auth.method} ({self.auth_source}). {APPS_NEED_OAUTH}"
            )
        self.http = conn.http
        self._conn = conn
        # Names that say nothing (my-claude, external or provisioned-throughput endpoints): the
        # endpoint's configuration names the served model, read once before the first request.
        self._info_pending = not self.info.known and self._route.kind in ("serving", "invocations")
        self._warned: set[str] = set()
        self._app_url: str | None = None
        self._app_lock = threading.Lock()
        self._codecs: dict[str, Codec] = {}

    # -- introspection ---------------------------------------------------------------------
    @property
    def route(self) -> Route:
        """The route; for an app, with its URL once resolved (``url == ""`` before)."""
        if self._route.kind == "app" and self._app_url is not None:
            return self._route.with_app_url(self._app_url)
        return self._route

    @property
    def limiter(self) -> AdaptiveLimiter | None:
        """The endpoint's shared adaptive limiter (``.state()`` for logs), None when off."""
        return self._conn.limiter

    @property
    def auth_method(self) -> str:
        return self.auth.method

    def __repr__(self) -> str:
        # Robust on a half-built instance: a constructor that raised leaves one in the
        # traceback's frame locals, and traceback summaries repr() them.
        route = getattr(self, "_route", None)
        auth = getattr(self, "auth", None)
        return (
            f"DatabricksChatClient(model={getattr(self, 'model', None)!r}, "
            f"host={getattr(self, 'host', None)!r}, "
            f"route={route.kind if route else None}/{route.api if route else None}, "
            f"auth={auth.method if auth else None})"
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> DatabricksChatClient:
        # Locks and live HTTP pools do not copy; a copy is a new client with the same settings.
        return type(self)(self.settings)

    def __copy__(self) -> DatabricksChatClient:
        return type(self)(self.settings)

    def __getstate__(self) -> dict[str, Any]:
        return {"settings": self.settings}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["settings"])  # type: ignore[misc]

    # -- plumbing --------------------------------------------------------------------------
    def _codec(self, api: str) -> Codec:
        codec = self._codecs.get(api)
        if codec is None:
            from core.codecs import codec_for

            codec = codec_for(api)
            self._codecs[api] = codec
        return codec

    def _encode(self, body: dict[str, Any]) -> bytes:
        return encode_json(
            body,
            hint="send images/audio/video as https:// URLs instead of inline data, or fewer "
            "of them",
        )

    def _prepare(
        self, route: Route, messages: Sequence[Message], params: GenerationParams, stream: bool
    ) -> tuple[Codec, bytes]:
        codec = self._codec(route.codec)
        messages, params, notes = apply_model_rules(messages, params, self.info)
        for note in notes:
            if note.key not in self._warned:
                self._warned.add(note.key)
                warnings.warn(note.message, UserWarning, stacklevel=5)  # via _call
        body = codec.build_request(
            messages,
            params,
            model=route.body_model,
            info=self.info,
            stream=stream,
            external=self.settings.external_model,
        )
        return codec, self._encode(body)

    def _set_app_url(self, data: Any) -> str:
        name = self._route.app_name
        url = data.get("url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url:
            raise NotFoundError(
                f"the Databricks App {name!r} has no URL yet: is it deployed and running?"
            )
        url = normalize_host(url)
        self.http.allow_url(url)
        with self._app_lock:
            self._app_url = url
        return url

    def _apps_lookup_error(self, exc: APIError) -> APIError:
        name = self._route.app_name
        if isinstance(exc, NotFoundError):
            return NotFoundError(
                f"no Databricks App named {name!r} in {self.host}",
                status_code=exc.status_code,
                error_code=exc.error_code,
                request_id=exc.request_id,
            )
        if isinstance(exc, PermissionDeniedError):
            return PermissionDeniedError(
                f"the caller may not see the Databricks App {name!r}: it needs CAN_USE on the app",
                status_code=exc.status_code,
                error_code=exc.error_code,
                request_id=exc.request_id,
            )
        return exc

    def _learn_info(self, config: EndpointConfig | None) -> None:
        from core.endpoint_config import served_model_info

        info = served_model_info(config, self.model)
        self._info_pending = False
        if info is None:
            return
        self.info = info
        if info.api == "responses-only" and self.settings.use_responses_api is None:
            self._route = resolve_route(
                self.model,
                host=self.host,
                endpoint_kind=self.settings.endpoint_kind,
                use_responses_api=None,
                registry_api=info.api,
            )

    def _apply_task(self, config: EndpointConfig | None) -> None:
        """Route by the endpoint's task (once): an agent schema, or nothing to change."""
        schema = schema_for_task(config.task if config is not None else None)
        if schema is not None:
            self._route = agent_route(
                self._route, schema, host=self.host, endpoint_kind=self.settings.endpoint_kind
            )
        self._task_pending = False

    def _read_config(self, config: EndpointConfig | None) -> None:
        """What the endpoint's configuration tells (read once, shared): the served model's
        rules, then the agent schema of its task."""
        if self._info_pending:
            self._learn_info(config)
        if self._task_pending:
            self._apply_task(config)

    def _app_lookup_url(self) -> str | None:
        """The Apps API URL to read first: for an app whose URL is not known yet, else None."""
        if self._route.kind != "app" or self._app_url is not None:
            return None
        assert self._route.app_name is not None
        return apps_api_url(self.host, self._route.app_name)

    def _resolve(self) -> Route:
        if self._info_pending or self._task_pending:
            from core.endpoint_config import endpoint_config

            self._read_config(endpoint_config(self.http, self.host, self.model))
        url = self._app_lookup_url()
        if url is not None:
            try:
                data = self.http.request_json("GET", url, headers=_JSON_HEADERS)
            except APIError as exc:
                raise self._apps_lookup_error(exc) from None
            self._set_app_url(data)
        return self.route

    async def _aresolve(self) -> Route:
        if self._info_pending or self._task_pending:
            from core.endpoint_config import aendpoint_config

            self._read_config(await aendpoint_config(self.http, self.host, self.model))
        url = self._app_lookup_url()
        if url is not None:
            try:
                data = await self.http.arequest_json("GET", url, headers=_JSON_HEADERS)
            except APIError as exc:
                raise self._apps_lookup_error(exc) from None
            self._set_app_url(data)
        return self.route

    def _call(
        self,
        route: Route,
        messages: Sequence[Message],
        params: GenerationParams,
        headers: Mapping[str, str] | None,
        stream: bool,
    ) -> _Call:
        """Everything about one request that is decided before it is sent (bad input raises)."""
        codec, content = self._prepare(route, messages, params, stream=stream)
        return _Call(
            route,
            codec,
            content,
            _with(headers, _SSE_HEADERS if stream else _JSON_HEADERS),
            codec.StreamDecoder() if stream else None,
        )

    # -- public API ------------------------------------------------------------------------
    def complete(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> ChatResponse:
        """One answer. ``headers`` are extra HTTP headers for this call only."""
        call = self._call(self._resolve(), messages, params, headers, stream=False)
        try:
            data = self.http.request_json(
                "POST", call.route.url, content=call.content, headers=call.headers
            )
        except APIError as exc:
            raise call.error(exc) from None
        return call.parse(data)

    async def acomplete(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> ChatResponse:
        call = self._call(await self._aresolve(), messages, params, headers, stream=False)
        try:
            data = await self.http.arequest_json(
                "POST", call.route.url, content=call.content, headers=call.headers
            )
        except APIError as exc:
            raise call.error(exc) from None
        return call.parse(data)

    def stream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[Delta]:
        call = self._call(self._resolve(), messages, params, headers, stream=True)
        events = self.http.stream_events(
            call.route.url_for(True), content=call.content, headers=call.headers
        )
        try:
            while not call.finished:
                try:
                    item = next(events)
                except StopIteration:
                    break
                except APIError as exc:
                    raise call.error(exc) from None
                yield from call.feed(item)
        finally:
            events.close()
        yield from call.close()

    async def astream(
        self,
        messages: Sequence[Message],
        params: GenerationParams,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[Delta]:
        call = self._call(await self._aresolve(), messages, params, headers, stream=True)
        events = self.http.astream_events(
            call.route.url_for(True), content=call.content, headers=call.headers
        )
        try:
            while not call.finished:
                try:
                    item = await events.__anext__()
                except StopAsyncIteration:
                    break
                except APIError as exc:
                    raise call.error(exc) from None
                for delta in call.feed(item):
                    yield delta
        finally:
            await events.aclose()
        for delta in call.close():
            yield delta

    def close(self) -> None:
        self.http.close()

    async def aclose(self) -> None:
        await self.http.aclose()

    def __enter__(self) -> DatabricksChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> DatabricksChatClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _Call:
    """One request's decisions, written once for the client's sync and async drivers (which
    differ only in awaiting the transport): where it goes, what an HTTP error there means, and
    how the answer, or each event of a stream, becomes neutral results."""

    __slots__ = ("route", "codec", "content", "headers", "decoder", "answered", "finished")

    def __init__(
        self,
        route: Route,
        codec: Codec,
        content: bytes,
        headers: Mapping[str, str],
        decoder: StreamDecoding | None,
    ) -> None:
        self.route = route
        self.codec = codec
        self.content = content
        self.headers = headers
        self.decoder = decoder
        self.answered = False  # a stream request answered with one JSON body
        self.finished = False  # a stream's terminal event (or a whole JSON body) was seen

    def error(self, exc: APIError) -> APIError:
        return _route_error(self.route, exc)

    def parse(self, data: Any) -> ChatResponse:
        result: ChatResponse = self.codec.parse_response(data)
        return result

    # -- streams ---------------------------------------------------------------------------
    def feed(self, item: str | JsonBody) -> list[Delta]:
        """The deltas of one stream event (a whole JSON body: the deltas of that answer)."""
        decoder = cast("StreamDecoding", self.decoder)
        if isinstance(item, JsonBody):
            self.answered = self.finished = True
            return deltas_from_response(_parse_json_body(self.codec, item.body))
        out = decoder.feed(item)
        self.finished = decoder.done
        return out

    def close(self) -> list[Delta]:
        """The held-back deltas at the end; a stream cut short of its terminal event raises."""
        if self.answered:
            return []
        decoder = cast("StreamDecoding", self.decoder)
        if not decoder.complete:  # [DONE], or a wire without one and nothing left open
            raise StreamInterruptedError(
                f"the stream from {self.route.url} ended without its terminal event; "
                "what arrived before was delivered"
            )
        return decoder.close()


def _route_error(route: Route, exc: APIError) -> APIError:
    """What an HTTP error from an app route means for the caller (other routes: unchanged)."""
    if route.kind != "app":
        return exc
    name, status = route.app_name, exc.status_code
    common: dict[str, Any] = {
        "status_code": status,
        "error_code": exc.error_code,
        "request_id": exc.request_id,
    }
    if status in (404, 405):
        return NotFoundError(
            f"the Databricks App {name!r} does not implement POST /responses (HTTP {status} "
            f"from {route.url}); the app must serve a ResponsesAgent",
            **common,
        )
    if status == 403:
        return PermissionDeniedError(
            f"the caller lacks CAN_USE on the Databricks App {name!r} ({exc.message})",
            **common,
        )
    if status == 401:
        return AuthenticationError(exc.message, hint=APPS_NEED_OAUTH, **common)
    return exc


def _with(extra: Mapping[str, str] | None, ours: dict[str, str]) -> Mapping[str, str]:
    """A call's own headers plus ours (ours win: the body is JSON whatever the caller says)."""
    return {**extra, **ours} if extra else ours


def _parse_json_body(codec: Codec, body: Any) -> ChatResponse:
    """A stream request answered with one JSON body (some custom endpoints ignore stream)."""
    if (
        isinstance(body, dict)
        and ("error_code" in body or "error" in body)
        and not any(k in body for k in ("choices", "output", "messages"))
    ):
        from core.transport.errors import parse_error_body, request_id_from_details

        code, message, details = parse_error_body(json.dumps(body))
        raise APIError(
            message or "error",
            error_code=code,
            details=details,
            request_id=request_id_from_details(details),
        )
    result: ChatResponse = codec.parse_response(body)
    return result
