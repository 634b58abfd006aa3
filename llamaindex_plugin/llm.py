"""``Databricks``: a LlamaIndex ``FunctionCallingLLM`` on top of :mod:`core`.

The class only translates: LlamaIndex messages/tools/kwargs -> neutral ``Message`` /
``GenerationParams`` (see :mod:`llamaindex_plugin.convert`), then ``DatabricksChatClient`` does
routing, auth, JSON and HTTP, and neutral responses/deltas come back as LlamaIndex
``ChatResponse``/``CompletionResponse``.
"""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import llama_index.core.instrumentation as instrument
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import BaseModel, Field, PrivateAttr, SecretStr
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.types import PydanticProgramMode

from core.params import (
    PARAM_NAMES,
    Call,
    call_params,
    header_map,
    sort_unknown_kwargs,
    tool_choice_from,
)
from core.types import (
    Message,
    TextPart,
    Tool,
)
from llamaindex_plugin.convert import (
    chat_response,
    completion_response,
    messages_to_neutral,
    tools_to_neutral,
)
from llamaindex_plugin.stream import afold, fold
from llamaindex_plugin.structured import PartialObjects, parse_structured, structured_kwargs

if TYPE_CHECKING:  # pragma: no cover
    from llama_index.core.prompts import BasePromptTemplate
    from llama_index.core.tools.types import BaseTool

    from core.client import DatabricksChatClient
    from core.registry import ModelInfo

dispatcher = instrument.get_dispatcher(__name__)

Model = TypeVar("Model", bound=BaseModel)

# kwargs LlamaIndex itself threads through chat()/complete() that are not model parameters
_FRAMEWORK_KWARGS = frozenset(
    {"verbose", "tool_required", "allow_parallel_tool_calls", "error_on_no_tool_call", "formatted"}
)
# Constructor fields that are per-call defaults of generation parameters.
_DEFAULT_FIELDS = (
    "temperature",
    "max_tokens",
    "stop",
    "reasoning_effort",
    "thinking_budget",
    "extra_body",
    "custom_inputs",
    "context",
)


class Databricks(FunctionCallingLLM):
    """Databricks-hosted chat models (foundation models, external models, agents) for LlamaIndex.

    Examples:
        ```python
        from llamaindex_plugin import Databricks

        llm = Databricks(model="databricks-claude-sonnet-4-5")  # host/auth from env or profile
        print(llm.complete("Hello"))
        ```
    """

    model: str = Field(description="Endpoint name, Unity Catalog name, or apps/<name>.")
    host: str | None = Field(default=None, description="Workspace URL.")
    client_id: str | None = Field(default=None, description="OAuth M2M client id.")
    profile: str | None = Field(default=None, description="~/.databrickscfg profile.")
    config_file: str | None = Field(default=None, description="Path of a databrickscfg file.")
    base_url: str | None = Field(default=None, description="Any OpenAI-compatible base URL.")
    endpoint_kind: str | None = Field(
        default=None, description="gateway|serving|invocations|openai"
    )
    temperature: float | None = Field(default=None)
    max_tokens: int | None = Field(default=None, description="Maximum output tokens.")
    stop: list[str] | None = Field(default=None)
    timeout: float = Field(default=120.0, description="Request timeout in seconds.")
    max_retries: int = Field(default=3)
    max_concurrency: int | None = Field(
        default=None, description="At most this many HTTP calls in flight at once."
    )
    adaptive_concurrency: bool = Field(
        default=True,
        description="Share the endpoint's adaptive concurrency limiter (core.limiter).",
    )
    reasoning_effort: str | None = Field(default=None)
    thinking_budget: int | None = Field(default=None)
    extra_body: dict[str, Any] | None = Field(default=None)
    use_responses_api: bool | None = Field(default=None)
    api: str | None = Field(
        default=None, description="chat|responses|open-responses|gemini (wire format)"
    )
    agent_schema: Literal["responses_agent", "chat_agent", "chat_model"] | None = Field(
        default=None, description="Agent schema; unset: from the endpoint's task."
    )
    custom_inputs: dict[str, Any] | None = Field(default=None)
    context: dict[str, Any] | None = Field(
        default=None, description="Agents: conversation_id/user_id sent with every request."
    )
    context_window: int | None = Field(default=None, description="Override the registry's.")
    is_function_calling: bool | None = Field(
        default=None, description="Override the registry's tool support flag."
    )
    external_model: bool = Field(default=False)
    transport: Literal["auto", "httpx", "aiohttp"] = Field(default="auto")
    structured_output_method: Literal["auto", "json_schema", "function_calling"] = Field(
        default="auto",
        description="How structured_predict asks for JSON: a response_format JSON schema, or a tool.",
    )

    _token: SecretStr | None = PrivateAttr(default=None)
    _client_secret: SecretStr | None = PrivateAttr(default=None)
    _token_provider: Any = PrivateAttr(default=None)
    _workspace_client: Any = PrivateAttr(default=None)
    _client: Any = PrivateAttr(default=None)
    _metadata: Any = PrivateAttr(default=None)
    _extra_headers: dict[str, str] | None = PrivateAttr(default=None)
    _proxy: SecretStr | None = PrivateAttr(default=None)
    _verify: Any = PrivateAttr(default=True)
    # the caller's own httpx clients (llama-index-llms-openai's http_client/async_http_client)
    _http_client: Any = PrivateAttr(default=None)
    _async_http_client: Any = PrivateAttr(default=None)

    def __init__(
        self,
        model: str | None = None,
        *,
        host: str | None = None,
        token: str | SecretStr | None = None,
        api_key: str | SecretStr | None = None,
        client_id: str | None = None,
        client_secret: str | SecretStr | None = None,
        profile: str | None = None,
        config_file: str | None = None,
        token_provider: Any = None,
        workspace_client: Any = None,
        base_url: str | None = None,
        api_base: str | None = None,
        endpoint_kind: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        stop: list[str] | str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        reasoning_effort: str | None = None,
        thinking_budget: int | None = None,
        extra_body: dict[str, Any] | None = None,
        additional_kwargs: dict[str, Any] | None = None,
        use_responses_api: bool | None = None,
        api: str | None = None,
        agent_schema: Literal["responses_agent", "chat_agent", "chat_model"] | None = None,
        custom_inputs: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        context_window: int | None = None,
        is_function_calling_model: bool | None = None,
        is_function_calling: bool | None = None,
        is_chat_model: bool = True,
        external_model: bool = False,
        transport: Literal["auto", "httpx", "aiohttp"] = "auto",
        default_headers: dict[str, str] | None = None,
        proxy: str | SecretStr | None = None,
        verify: Any = True,
        http_client: Any = None,
        async_http_client: Any = None,
        **kwargs: Any,
    ) -> None:
        # Raw secrets become SecretStr at once: this frame's locals show up in traceback
        # summaries (capture_locals) if anything below raises.
        token = SecretStr(token) if isinstance(token, str) else token
        api_key = SecretStr(api_key) if isinstance(api_key, str) else api_key
        if isinstance(client_secret, str):
            client_secret = SecretStr(client_secret)
        proxy = SecretStr(proxy) if isinstance(proxy, str) else proxy
        from core.compat import model_from, settings_from_aliases

        model = model_from(
            ("model", model),
            ("model_name", kwargs.pop("model_name", None)),
            ("endpoint", kwargs.pop("endpoint", None)),
        )
        if not model:
            raise ValueError("Databricks(model=...) is required: an endpoint or Unity Catalog name")
        if token is not None and api_key is not None:
            raise ValueError("pass either token or api_key (an alias of token), not both")
        secret = token if token is not None else api_key
        routing = settings_from_aliases(
            host=host, base_url=base_url, endpoint_kind=endpoint_kind, api_base=api_base
        )
        host, base_url = routing.get("host"), routing.get("base_url")
        endpoint_kind = routing.get("endpoint_kind")
        unknown = _unknown_kwargs(kwargs)
        if not is_chat_model:
            warnings.warn(
                "is_chat_model=False is ignored: Databricks endpoints are chat models, and "
                "complete() sends the prompt as one user message",
                UserWarning,
                stacklevel=2,
            )
        merged_extra = {**unknown, **(additional_kwargs or {}), **(extra_body or {})} or None
        super().__init__(
            model=model,
            host=host,
            client_id=client_id,
            profile=profile,
            config_file=config_file,
            base_url=base_url,
            endpoint_kind=endpoint_kind,
            temperature=temperature,
            max_tokens=max_tokens,
            stop=[stop] if isinstance(stop, str) else (list(stop) if stop else None),
            timeout=timeout,
            max_retries=max_retries,
            reasoning_effort=reasoning_effort,
            thinking_budget=thinking_budget,
            extra_body=merged_extra,
            use_responses_api=use_responses_api,
            api=api,
            agent_schema=agent_schema,
            custom_inputs=custom_inputs,
            context=context,
            context_window=context_window,
            is_function_calling=(
                is_function_calling
                if is_function_calling is not None
                else is_function_calling_model
            ),
            external_model=external_model,
            transport=transport,
            **kwargs,
        )
        self._token = (
            secret if isinstance(secret, SecretStr) or secret is None else SecretStr(secret)
        )
        if isinstance(client_secret, str):
            client_secret = SecretStr(client_secret)
        self._client_secret = client_secret
        self._token_provider = token_provider
        self._workspace_client = workspace_client
        self._extra_headers = header_map(default_headers, "default_headers")
        self._proxy = proxy  # private like the secrets: kept out of to_dict()/serialization
        self._verify = verify  # an ssl.SSLContext does not serialize
        self._http_client = http_client  # live clients do not serialize either
        self._async_http_client = async_http_client
        self._client = self._make_client()

    def _make_client(self) -> DatabricksChatClient:
        from core.client import DatabricksChatClient
        from core.settings import ClientSettings

        settings = ClientSettings(
            model=self.model,
            host=self.host,
            token=self._token,
            client_id=self.client_id,
            client_secret=self._client_secret,
            profile=self.profile,
            config_file=self.config_file,
            token_provider=self._token_provider,
            workspace_client=self._workspace_client,
            base_url=self.base_url,
            endpoint_kind=self.endpoint_kind,  # type: ignore[arg-type]
            use_responses_api=self.use_responses_api,
            api=self.api,  # type: ignore[arg-type]
            agent_schema=self.agent_schema,
            external_model=self.external_model,
            timeout=self.timeout,
            max_retries=self.max_retries,
            max_concurrency=self.max_concurrency,
            adaptive_concurrency=self.adaptive_concurrency,
            transport=self.transport,
            adapter="llamaindex",
            extra_headers=self._extra_headers,
            proxy=self._proxy,
            verify=self._verify,
            http_client=self._http_client,
            http_async_client=self._async_http_client,
        )
        return DatabricksChatClient(settings)

    @classmethod
    def class_name(cls) -> str:
        return "Databricks_LLM"

    # ----------------------------------------------------------------------------------------
    # Properties
    # ----------------------------------------------------------------------------------------
    @property
    def client(self) -> DatabricksChatClient:
        # The dict behind pydantic's private attributes: reading ``self._client`` goes through
        # BaseModel.__getattr__, which raises and catches an AttributeError inside (~1.4 us,
        # on every call).
        client: DatabricksChatClient = self.__pydantic_private__["_client"]  # type: ignore[index]
        return client

    @property
    def model_info(self) -> ModelInfo:
        return self.client.info

    @property
    def metadata(self) -> LLMMetadata:
        # LlamaIndex reads this on every call (callback payloads, memory, agents): cached, keyed
        # by the fields it depends on so that changing them is still seen.
        key = (self.model, self.context_window, self.max_tokens, self.is_function_calling)
        private = self.__pydantic_private__  # see client
        cached = private["_metadata"]  # type: ignore[index]
        if cached is not None and cached[0] == key:
            return cached[1]
        info = self.client.info
        supports_tools = (
            self.is_function_calling
            if self.is_function_calling is not None
            else info.supports_tools
        )
        metadata = LLMMetadata(
            context_window=self.context_window or info.context_window,
            num_output=self.max_tokens or info.max_output_tokens,
            is_chat_model=True,
            is_function_calling_model=bool(supports_tools),
            model_name=self.model,
            system_role=MessageRole.SYSTEM,
        )
        self._metadata = (key, metadata)
        return metadata

    # ----------------------------------------------------------------------------------------
    # Parameters
    # ----------------------------------------------------------------------------------------
    def _call(self, kwargs: dict[str, Any]) -> Call:
        defaults: dict[str, Any] = {}
        for name in _DEFAULT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                defaults[name] = value
        return call_params(defaults, kwargs, skip=_FRAMEWORK_KWARGS)

    @staticmethod
    def _prompt_messages(prompt: str) -> list[Message]:
        return [Message(role="user", parts=[TextPart(prompt)])]

    # ----------------------------------------------------------------------------------------
    # Chat / completion, sync
    # ----------------------------------------------------------------------------------------
    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        call = self._call(kwargs)
        response = self.client.complete(
            messages_to_neutral(messages), call.params, headers=call.headers
        )
        return chat_response(response)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        neutral = messages_to_neutral(messages)
        call = self._call(kwargs)
        return fold(self.client.stream(neutral, call.params, headers=call.headers))

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        call = self._call(kwargs)
        response = self.client.complete(
            self._prompt_messages(prompt), call.params, headers=call.headers
        )
        return completion_response(response)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        neutral = self._prompt_messages(prompt)
        call = self._call(kwargs)
        return fold(self.client.stream(neutral, call.params, headers=call.headers), True)

    # ----------------------------------------------------------------------------------------
    # Chat / completion, async (core's native async; no threads)
    # ----------------------------------------------------------------------------------------
    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        call = self._call(kwargs)
        response = await self.client.acomplete(
            messages_to_neutral(messages), call.params, headers=call.headers
        )
        return chat_response(response)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        neutral = messages_to_neutral(messages)
        call = self._call(kwargs)
        return afold(self.client.astream(neutral, call.params, headers=call.headers))

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        call = self._call(kwargs)
        response = await self.client.acomplete(
            self._prompt_messages(prompt), call.params, headers=call.headers
        )
        return completion_response(response)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        neutral = self._prompt_messages(prompt)
        call = self._call(kwargs)
        return afold(self.client.astream(neutral, call.params, headers=call.headers), True)

    # ----------------------------------------------------------------------------------------
    # Tools
    # ----------------------------------------------------------------------------------------
    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool | Tool | dict[str, Any]],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        messages = list(chat_history or [])
        if user_msg is not None:
            if isinstance(user_msg, str):
                user_msg = ChatMessage(role=MessageRole.USER, content=user_msg)
            messages.append(user_msg)
        tool_specs = tools_to_neutral(tools) if tools else []
        names = [t.name for t in tool_specs]
        choice = tool_choice_from(tool_choice, names, required=tool_required) if tool_specs else None
        return {
            "messages": messages,
            "tools": tool_specs or None,
            "tool_choice": choice,
            **kwargs,
        }

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        if allow_parallel_tool_calls:
            return response
        message = response.message
        calls = [b for b in message.blocks if isinstance(b, ToolCallBlock)]
        if len(calls) > 1:
            keep = calls[0]
            message.blocks = [
                b for b in message.blocks if not isinstance(b, ToolCallBlock) or b is keep
            ]
            legacy = message.additional_kwargs.get("tool_calls")
            if isinstance(legacy, list):
                message.additional_kwargs["tool_calls"] = [
                    tc
                    for tc in legacy
                    if isinstance(tc, dict) and tc.get("id") == keep.tool_call_id
                ][:1]
        return response

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        from llamaindex_plugin.convert import _legacy_tool_call

        message = response.message
        legacy = message.additional_kwargs.get("tool_calls") or ()
        custom = {cid for cid, _n, _a, kind in map(_legacy_tool_call, legacy) if kind != "function"}
        selections: list[ToolSelection] = []
        for block in message.blocks:
            if isinstance(block, ToolCallBlock):
                call_id = block.tool_call_id or ""
                args = block.tool_kwargs
                selections.append(
                    ToolSelection(
                        tool_id=call_id,
                        tool_name=block.tool_name,
                        # free-text (custom) tools get their text as {"input": ...}
                        tool_kwargs={"input": args}
                        if call_id in custom and isinstance(args, str)
                        else _kwargs_dict(args),
                    )
                )
        if not selections:
            for tc in legacy:
                call_id, name, arguments, kind = _legacy_tool_call(tc)
                selections.append(
                    ToolSelection(
                        tool_id=call_id,
                        tool_name=name,
                        tool_kwargs=_kwargs_dict(
                            arguments if kind == "function" else {"input": arguments}
                        ),
                    )
                )
        if not selections and error_on_no_tool_call:
            raise ValueError(
                f"Expected at least one tool call, but got 0 tool calls. Response: {message.content!r}"
            )
        return selections

    # ----------------------------------------------------------------------------------------
    # Structured output: a JSON schema (response_format) where the model takes one, else tools
    # ----------------------------------------------------------------------------------------
    def _use_json_schema(self) -> bool:
        if self.pydantic_program_mode != PydanticProgramMode.DEFAULT:
            return False
        if self.structured_output_method == "json_schema":
            return True
        if self.structured_output_method == "function_calling":
            return False
        info = self.client.info
        if info.supports_strict_schema:
            return True
        # Foundation models known to the registry take response_format json_schema; for
        # unknown/external models a tool call is the more portable route.
        return bool(info.known) and info.family != "unknown"

    def _structured_messages(
        self, prompt: BasePromptTemplate, prompt_args: dict[str, Any]
    ) -> list[ChatMessage]:
        messages = prompt.format_messages(llm=self, **prompt_args)
        return self._extend_messages(messages)

    def _structured_request(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None,
        prompt_args: dict[str, Any],
    ) -> tuple[list[ChatMessage], dict[str, Any]]:
        """Announce a structured prediction; its messages and chat keywords (a JSON schema)."""
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        return self._structured_messages(prompt, prompt_args), structured_kwargs(
            output_cls, llm_kwargs
        )

    @dispatcher.span
    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        if not self._use_json_schema():
            return super().structured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
        messages, kwargs = self._structured_request(output_cls, prompt, llm_kwargs, prompt_args)
        return _structured_result(output_cls, self.chat(messages, **kwargs))

    @dispatcher.span
    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        if not self._use_json_schema():
            return await super().astructured_predict(output_cls, prompt, llm_kwargs, **prompt_args)
        messages, kwargs = self._structured_request(output_cls, prompt, llm_kwargs, prompt_args)
        return _structured_result(output_cls, await self.achat(messages, **kwargs))

    def _structured_stream_call(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        if not self._use_json_schema():
            return super()._structured_stream_call(output_cls, prompt, llm_kwargs, **prompt_args)  # type: ignore[arg-type]
        kwargs = structured_kwargs(output_cls, llm_kwargs)
        chunks = self.stream_chat(self._structured_messages(prompt, prompt_args), **kwargs)
        partial = PartialObjects(output_cls, self)

        def gen() -> Generator[Any, None, None]:
            for chunk in chunks:
                yield partial.step(chunk)

        return gen()

    async def _structured_astream_call(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        if not self._use_json_schema():
            return await super()._structured_astream_call(
                output_cls, prompt, llm_kwargs, **prompt_args
            )  # type: ignore[arg-type]
        kwargs = structured_kwargs(output_cls, llm_kwargs)
        chunks = await self.astream_chat(self._structured_messages(prompt, prompt_args), **kwargs)
        partial = PartialObjects(output_cls, self)

        async def gen() -> AsyncGenerator[Any, None]:
            async for chunk in chunks:
                yield partial.step(chunk)

        return gen()

    # ----------------------------------------------------------------------------------------
    # Lifecycle
    # ----------------------------------------------------------------------------------------
    def close(self) -> None:
        self.client.close()

    async def aclose(self) -> None:
        await self.client.aclose()


def _structured_result(output_cls: type[Model], response: ChatResponse) -> Model:
    result = parse_structured(output_cls, response.message.content)
    dispatcher.event(LLMStructuredPredictEndEvent(output=result))
    return result


def _unknown_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Constructor keywords that are no field of :class:`Databricks`: a near miss raises ("did
    you mean"), anything else is sent in the request body (like ``additional_kwargs``), with a
    warning."""
    known = set(Databricks.model_fields) | _INIT_NAMES
    unknown = {k: kwargs.pop(k) for k in list(kwargs) if k not in known}
    return sort_unknown_kwargs(
        unknown, known | PARAM_NAMES, owner="Databricks", into="additional_kwargs"
    )


def _kwargs_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        if not value.strip():
            return {}
        try:
            parsed = json.loads(value)
        except ValueError:
            from llama_index.core.llms.utils import parse_partial_json

            try:
                parsed = parse_partial_json(value)
            except ValueError:
                return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


_INIT_NAMES = frozenset(inspect.signature(Databricks.__init__).parameters) - {"self", "kwargs"}
