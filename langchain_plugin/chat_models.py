"""``ChatDatabricks``: a LangChain chat model over the framework-neutral core client.

This module only translates (see :mod:`langchain_plugin.convert`); routing, wire JSON, auth,
retries and streaming live in :mod:`core`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel, LangSmithParams
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableMap, RunnablePassthrough
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr

from core.params import (
    PARAM_NAMES,
    Call,
    call_params,
    header_map,
    sort_unknown_kwargs,
    tool_choice_from,
    tool_choice_to_openai,
)
from langchain_plugin.convert import (
    PROVIDER,
    messages_to_neutral,
    response_to_message,
)
from langchain_plugin.stream import StreamConverter, ageneration_chunks, generation_chunks

if TYPE_CHECKING:  # pragma: no cover
    from core.client import DatabricksChatClient

# Constructor fields that are per-call defaults of generation parameters. LangChain's own
# ``metadata`` and ``tags`` are for callbacks and tracing: never request parameters.
_DEFAULT_FIELDS = (
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "n",
    "stop",
    "reasoning_effort",
    "thinking_budget",
    "custom_inputs",
    "context",
)
# Call keywords that are LangChain's, not the request's.
_SKIP_CALL_KWARGS = frozenset({"model", "stream", "stream_usage"})
# Settings handed to the core client as they are (None means "let the core decide").
_CLIENT_FIELDS = (
    "host",
    "client_id",
    "config_file",
    "auth_type",
    "token_provider",
    "workspace_client",
    "use_responses_api",
    "api",
    "agent_schema",
    "timeout",
    "max_retries",
    "proxy",
    "verify",
    "http_client",
    "http_async_client",
    "max_concurrency",
    "adaptive_concurrency",
)


class ChatDatabricks(BaseChatModel):
    """Databricks-hosted chat models (foundation models, external models, agents).

    Example:
        ```python
        from langchain_plugin import ChatDatabricks

        llm = ChatDatabricks(model="databricks-claude-sonnet-4-5", max_tokens=512)
        llm.invoke("Why is the sky blue?")
        ```

    Credentials follow Databricks unified auth (explicit arguments, then ``DATABRICKS_*``
    environment variables, then ``~/.databrickscfg``). Also accepts the arguments of
    ``databricks_langchain.ChatDatabricks``: ``endpoint`` (alias of ``model``),
    ``target_uri``, ``extra_params`` (merged into ``extra_body``) and ``use_ai_gateway``.

    Differences from ``databricks_langchain.ChatDatabricks`` (on purpose):

    - Reasoning is kept as LangChain standard ``reasoning`` content blocks (signature, redacted
      data and wire details in the block's ``extras``), followed by ``text`` blocks; a message
      without reasoning has plain string content. ``.text`` is the answer only. Put back in
      the history, the message is sent back to the endpoint exactly as it was received, so
      Claude's extended thinking keeps working across turns and tool calls.
    - Streamed usage is counted once: exactly one chunk (the last) carries ``usage_metadata``,
      whichever way the endpoint reported it.
    - Tool calls keep the model's raw argument text (``additional_kwargs["tool_calls"]``, or
      ``"raw_tool_calls"`` on the last streamed chunk) and go back unchanged unless edited.
    - Bad input (unsupported content blocks, reasoning options for a model without
      reasoning, ...) raises :class:`core.errors.InvalidRequestError` before anything is sent;
      server errors are the typed errors of :mod:`core.errors`.
    - ``profile="NAME"`` selects a ``~/.databrickscfg`` profile (stored as
      ``databricks_profile``); a dict ``profile`` is LangChain's model profile, which is
      otherwise filled from the model registry.
    """

    model_config = ConfigDict(
        populate_by_name=True,
        arbitrary_types_allowed=True,
        protected_namespaces=(),
        # Build the validator on first use, not at import (keeps the import cheap).
        defer_build=True,
    )

    model: str = Field(alias="endpoint")
    """Serving endpoint name, Unity Catalog name (``system.ai.*``) or ``apps/<name>``."""
    host: str | None = None
    token: SecretStr | None = Field(default=None, alias="api_key")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    databricks_profile: str | None = None
    """The ``~/.databrickscfg`` profile; pass it as ``profile="NAME"`` (a dict ``profile`` is
    LangChain's model profile, as on every chat model)."""
    config_file: str | None = None
    auth_type: str | None = None
    token_provider: Callable[[], str] | None = Field(default=None, exclude=True)
    workspace_client: Any = Field(default=None, exclude=True)
    base_url: str | None = None
    target_uri: str | None = None
    """databricks-langchain compatibility: ``"databricks"``, ``"databricks://<profile>"`` or a
    workspace URL."""

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] | None = None
    n: int | None = None
    timeout: float | None = None
    max_retries: int | None = None
    proxy: SecretStr | None = None
    """Proxy URL (``http://[user:password@]host:port``); unset: HTTPS_PROXY/HTTP_PROXY/NO_PROXY."""
    verify: Any = Field(default=True, exclude=True)
    """TLS verification: True, False, a CA bundle path or an ``ssl.SSLContext``."""
    http_client: Any = Field(default=None, exclude=True)
    """Your own ``httpx.Client`` for sync calls (as langchain-openai takes it): its proxy, TLS,
    timeouts and hooks apply, with our credentials, retries and errors on top; yours to close."""
    http_async_client: Any = Field(default=None, exclude=True)
    """Your own ``httpx.AsyncClient`` for async calls (then used instead of aiohttp)."""
    streaming: bool = False
    stream_usage: bool = True
    reasoning_effort: str | None = None
    thinking_budget: int | None = None
    extra_body: dict[str, Any] | None = None
    extra_params: dict[str, Any] | None = None
    """databricks-langchain compatibility: merged into ``extra_body``."""
    use_ai_gateway: bool | None = None
    """databricks-langchain compatibility: ``True`` routes through Unity AI Gateway
    (``/ai-gateway/mlflow/v1``), ``False`` through serving endpoints."""
    use_ai_gateway_native_api: bool | None = None
    """databricks-langchain compatibility: AI Gateway's native OpenAI-compatible API
    (``{host}/ai-gateway/openai/v1``)."""
    endpoint_kind: str | None = None
    """Force the surface: ``"gateway"``, ``"gateway-openai"``, ``"serving"``,
    ``"invocations"`` (``/serving-endpoints/{name}/invocations``, e.g. agents) or ``"openai"``."""
    default_headers: dict[str, Any] | None = Field(default=None, repr=False)
    """HTTP headers sent with every request (e.g. ``Databricks-Ai-Gateway-Request-Tags``);
    per call, ``extra_headers={...}``."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Request parameters without a field of their own (unknown constructor keywords land here,
    with a warning, as on ChatOpenAI); sent with every call."""
    use_responses_api: bool | None = None
    api: Literal["chat", "responses", "open-responses", "gemini"] | None = None
    """The wire format: chat completions, the Responses format (Open Responses for non-OpenAI
    models), or Google's native ``gemini`` API through Unity AI Gateway."""
    agent_schema: Literal["responses_agent", "chat_agent", "chat_model"] | None = None
    """The agent schema of the endpoint; unset: read from the endpoint's task (core.agents)."""
    custom_inputs: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    """Agents: ``{"conversation_id": ..., "user_id": ...}`` sent with every request."""
    external_model: bool = False
    """The endpoint serves an external (non pay-per-token) model: Responses-only parameters such
    as ``store`` are allowed."""
    max_concurrency: int | None = None
    """At most this many HTTP calls of this model in flight at once (all uses of this instance).
    Not RunnableConfig's ``max_concurrency``, which still caps the tasks of ``batch``/``abatch``."""
    adaptive_concurrency: bool | None = None
    """Send calls through the endpoint's adaptive limiter shared by the process (default on:
    it settles near what the endpoint accepts instead of storming it with 429s)."""

    _clients: dict[str, DatabricksChatClient] = PrivateAttr(default_factory=dict)
    _routing: dict[str, Any] = PrivateAttr(default_factory=dict)

    def __init__(self, **kwargs: Any) -> None:
        # ``profile`` means the Databricks config profile when it is a string; LangChain's own
        # ``profile`` field (a ModelProfile dict) keeps its meaning otherwise.
        if isinstance(kwargs.get("profile"), str):
            kwargs["databricks_profile"] = kwargs.pop("profile")
        for key in ("token", "api_key", "client_secret", "proxy"):  # keep secrets out of locals
            if isinstance(kwargs.get(key), str):
                kwargs[key] = SecretStr(kwargs[key])
        _sort_kwargs(kwargs)
        super().__init__(**kwargs)
        from core.compat import settings_from_aliases

        self._routing = settings_from_aliases(
            host=self.host,
            base_url=self.base_url,
            endpoint_kind=self.endpoint_kind,
            profile=self.databricks_profile,
            workspace_client=self.workspace_client,
            target_uri=self.target_uri,
            use_ai_gateway=self.use_ai_gateway,
            use_ai_gateway_native_api=self.use_ai_gateway_native_api,
        )
        self.default_headers = header_map(self.default_headers, "default_headers")
        if self.model_kwargs:  # checked now (near misses, metadata limits), not on first call
            call_params({}, self.model_kwargs, skip=_SKIP_CALL_KWARGS)
        # Resolve host and credentials now: bad settings fail here, not on the first call.
        self._client_for(self.model)

    # --- LangChain plumbing ------------------------------------------------------------------
    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_plugin", "chat_models"]

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {
            "token": "DATABRICKS_TOKEN",
            "client_secret": "DATABRICKS_CLIENT_SECRET",
            "proxy": "HTTPS_PROXY",
        }

    @property
    def _llm_type(self) -> str:
        return "chat-databricks"  # as databricks-langchain

    @property
    def _identifying_params(self) -> dict[str, Any]:
        params = {
            "model": self.model,
            "host": self.host,
            "base_url": self.base_url,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "stop": self.stop,
            "n": self.n,
            "reasoning_effort": self.reasoning_effort,
            "thinking_budget": self.thinking_budget,
            "use_responses_api": self.use_responses_api,
            "api": self.api,
            "streaming": self.streaming,
        }
        return {k: v for k, v in params.items() if v is not None}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER,
            ls_model_name=kwargs.get("model") or self.model,
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        stop = stop or kwargs.get("stop") or self.stop
        if stop:
            params["ls_stop"] = stop
        return params

    def _resolve_model_profile(self) -> Any:
        """LangChain model profile from the core model registry."""
        from core.registry import lookup_model

        info = lookup_model(self.model)
        if not info.known:
            return None
        mods = set(info.input_modalities)
        return {
            "max_input_tokens": info.context_window,
            "max_output_tokens": info.max_output_tokens,
            "text_inputs": True,
            "image_inputs": "image" in mods,
            "image_url_inputs": "image" in mods,
            "audio_inputs": "audio" in mods,
            "video_inputs": "video" in mods,
            "pdf_inputs": "file" in mods,
            "reasoning_output": info.reasoning is not None,
            "text_outputs": True,
            "tool_calling": info.supports_tools,
            "tool_choice": info.supports_tools,
            "tool_call_streaming": info.supports_tools,
            "structured_output": True,
        }

    # --- core client -------------------------------------------------------------------------
    @property
    def client(self) -> DatabricksChatClient:
        """The core client for :attr:`model` (one per model name, reused)."""
        return self._client_for(self.model)

    def _client_for(self, model: str) -> DatabricksChatClient:
        # the dict behind pydantic's private attributes: ``self._clients`` goes through
        # BaseModel.__getattr__, which raises and catches an AttributeError inside (~1.4 us)
        clients: dict[str, DatabricksChatClient] = self.__pydantic_private__["_clients"]  # type: ignore[index]
        client = clients.get(model)
        if client is None:
            from core.client import DatabricksChatClient

            client = DatabricksChatClient(**self._client_kwargs(model))
            clients[model] = client
        return client

    def _client_kwargs(self, model: str) -> dict[str, Any]:
        kw: dict[str, Any] = {"model": model, "adapter": "langchain", **self._routing}
        for name in _CLIENT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                kw[name] = value
        if self.external_model:
            kw["external_model"] = True
        if self.token is not None:
            kw["token"] = self.token
        if self.client_secret is not None:
            kw["client_secret"] = self.client_secret
        if self.default_headers:
            kw["extra_headers"] = self.default_headers
        return kw

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    # --- request preparation -----------------------------------------------------------------
    def _prepare(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[DatabricksChatClient, list[Any], Call, str]:
        model = kwargs.get("model") or self.model
        defaults: dict[str, Any] = {}
        for name in _DEFAULT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                defaults[name] = value
        if self.extra_params or self.extra_body:
            defaults["extra_body"] = {**(self.extra_params or {}), **(self.extra_body or {})}
        if self.model_kwargs:
            defaults.update(self.model_kwargs)
        if stop is not None:
            kwargs = {**kwargs, "stop": stop}
        call = call_params(defaults, kwargs, skip=_SKIP_CALL_KWARGS)
        neutral = messages_to_neutral(messages)
        return self._client_for(model), neutral, call, model

    # --- generation --------------------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        client, neutral, call, model = self._prepare(messages, stop, kwargs)
        resp = client.complete(neutral, call.params, headers=call.headers)
        return _result(response_to_message(resp, model=model), resp.finish_reason)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        client, neutral, call, model = self._prepare(messages, stop, kwargs)
        resp = await client.acomplete(neutral, call.params, headers=call.headers)
        return _result(response_to_message(resp, model=model), resp.finish_reason)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        include_usage = kwargs.get("stream_usage", self.stream_usage)
        client, neutral, call, model = self._prepare(messages, stop, kwargs)
        conv = StreamConverter(model, shared_index=self.output_version == "v1")
        deltas = client.stream(neutral, call.params, headers=call.headers)
        yield from generation_chunks(conv, deltas, include_usage)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        include_usage = kwargs.get("stream_usage", self.stream_usage)
        client, neutral, call, model = self._prepare(messages, stop, kwargs)
        conv = StreamConverter(model, shared_index=self.output_version == "v1")
        deltas = client.astream(neutral, call.params, headers=call.headers)
        async for chunk in ageneration_chunks(conv, deltas, include_usage):
            yield chunk

    # --- tools and structured output ---------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[Mapping[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (any form LangChain accepts) and optionally force one of them.

        ``tool_choice``: ``"auto"``, ``"none"``, ``"any"``/``"required"`` (some tool), a tool
        name, ``True`` (the only tool, or any tool when several), or an OpenAI/Anthropic-style
        dict. ``strict`` asks for strict argument schemas (honoured by GPT models).
        """
        from langchain_core.utils.function_calling import convert_to_openai_tool

        formatted: list[dict[str, Any]] = []
        for tool in tools:
            if _is_builtin_tool(tool):
                # Responses built-in / custom tools pass through
                formatted.append(dict(cast(Mapping[str, Any], tool)))
            else:
                formatted.append(convert_to_openai_tool(tool, strict=strict))
        names = [
            str(t["function"]["name"] if t.get("type") == "function" else t.get("name", t["type"]))
            for t in formatted
        ]
        choice = tool_choice_from(tool_choice, names)  # validated once, here
        if choice is not None:
            # Bound in the OpenAI spelling: what databricks-langchain binds and user code reads.
            kwargs["tool_choice"] = tool_choice_to_openai(choice)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        include_raw: bool = False,
        method: Literal["function_calling", "json_mode", "json_schema"] = "function_calling",
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Structured output by tool calling (default, as in databricks-langchain), JSON mode
        or a JSON schema ``response_format`` (strict on models that support it)."""
        from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
        from langchain_core.output_parsers.openai_tools import (
            JsonOutputKeyToolsParser,
            PydanticToolsParser,
        )
        from langchain_core.utils.function_calling import (
            convert_to_json_schema,
            convert_to_openai_tool,
        )

        if kwargs:
            raise ValueError(f"unsupported with_structured_output arguments: {sorted(kwargs)}")
        from langchain_core.utils.pydantic import is_basemodel_subclass

        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)  # v1 and v2
        if method != "json_mode" and schema is None:
            raise ValueError(f"method={method!r} needs a schema")
        ls_format: dict[str, Any] = {
            "kwargs": {"method": method, "strict": strict},
            "schema": convert_to_json_schema(cast(Any, schema)) if schema is not None else None,
        }
        parser: Runnable[Any, Any]
        if method == "function_calling":
            tool = convert_to_openai_tool(schema, strict=strict)  # type: ignore[arg-type]
            tool_name = tool["function"]["name"]
            llm = self.bind_tools(
                [schema],  # type: ignore[list-item]
                tool_choice=tool_name,
                strict=strict,
                ls_structured_output_format=ls_format,
            )
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=tool_name, first_tool_only=True)
            )
        elif method == "json_mode":
            llm = self.bind(
                response_format={"type": "json_object"}, ls_structured_output_format=ls_format
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
                if is_pydantic
                else JsonOutputParser()
            )
        elif method == "json_schema":
            from core.schema import strict_schema

            fn = convert_to_openai_tool(schema)["function"]  # type: ignore[arg-type]
            # Strict by default, as databricks-langchain and Databricks' structured-outputs page
            # (its example sends "strict": true; the feature covers every Foundation Model API
            # chat model); strict mode needs a strict-valid schema, so it gets one.
            if strict is None:
                strict = True
            params_schema = strict_schema(fn["parameters"]) if strict else fn["parameters"]
            json_schema: dict[str, Any] = {"name": fn["name"], "schema": params_schema}
            if fn.get("description"):
                json_schema["description"] = fn["description"]
            if strict is not None:
                json_schema["strict"] = strict
            llm = self.bind(
                response_format={"type": "json_schema", "json_schema": json_schema},
                ls_structured_output_format=ls_format,
            )
            parser = (
                PydanticOutputParser(pydantic_object=schema)  # type: ignore[arg-type]
                if is_pydantic
                else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"unknown method {method!r}: use 'function_calling', 'json_mode' or 'json_schema'"
            )
        if not include_raw:
            return llm | parser
        parser_assign = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        parser_none = RunnablePassthrough.assign(parsed=lambda _: None)
        parser_with_fallback = parser_assign.with_fallbacks(
            [parser_none], exception_key="parsing_error"
        )
        return RunnableMap(raw=llm) | parser_with_fallback


def _is_builtin_tool(tool: Any) -> bool:
    """A Responses built-in or free-text ``custom`` tool (not a schema or function to convert)."""
    return (
        isinstance(tool, Mapping)
        and isinstance(tool.get("type"), str)
        and tool["type"] not in ("function", "object")
        and not any(k in tool for k in ("input_schema", "parameters", "properties", "function"))
    )


def _sort_kwargs(kwargs: dict[str, Any]) -> None:
    """Unknown constructor keywords: a near miss of a field raises ("did you mean"), a
    generation parameter without a field (``instructions``, ``logprobs``...) joins
    ``model_kwargs`` quietly, anything else joins it with a warning (as ChatOpenAI does)."""
    fields = ChatDatabricks.model_fields
    known = set(fields) | {f.alias for f in fields.values() if f.alias} | {"profile"}
    unknown = {k: kwargs[k] for k in list(kwargs) if k not in known}
    if not unknown:
        return
    model_kwargs = dict(kwargs.get("model_kwargs") or {})
    for key in [k for k in unknown if k in PARAM_NAMES or k == "extra_headers"]:
        model_kwargs[key] = kwargs.pop(key)
        del unknown[key]
    for key in unknown:
        del kwargs[key]
    model_kwargs.update(
        sort_unknown_kwargs(unknown, known, owner="ChatDatabricks", into="model_kwargs")
    )
    kwargs["model_kwargs"] = model_kwargs


def _result(message: AIMessage, finish_reason: str | None) -> ChatResult:
    return ChatResult(
        generations=[
            ChatGeneration(message=message, generation_info={"finish_reason": finish_reason})
        ],
        llm_output={"model_name": message.response_metadata.get("model_name")},
    )
