"""Every constructor and call argument of both adapters reaches the wire, the transport, the
framework or a warning: nothing is silently ignored.

The tables below must name every field of each adapter (a test checks they do), so a new
argument without a check fails here. Each check runs one call against the emulator and looks at
what was sent (body, headers, path), at the client the adapter built, or at the warnings.
"""

from __future__ import annotations

import asyncio
import inspect
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.rate_limiters import InMemoryRateLimiter
from llama_index.core.base.llms.types import ChatMessage

from core.emulator import run_emulator
from core.params import PARAM_NAMES
from langchain_plugin import ChatDatabricks
from llamaindex_plugin import Databricks

CLAUDE = "databricks-claude-sonnet-4-5"
GPT5 = "databricks-gpt-5"
LLAMA = "databricks-meta-llama-3-3-70b-instruct"
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture(scope="module")
def emu() -> Iterator[Any]:
    with run_emulator(chunk_size=8) as emulator:
        yield emulator


class Seen:
    """What one call did: the request sent, the client built, the warnings raised."""

    def __init__(self, emu: Any, llm: Any, caught: list[warnings.WarningMessage], out: Any):
        self.request = emu.requests[-1] if emu.requests else None
        self.body: dict[str, Any] = self.request.json if self.request is not None else {}
        self.headers = (
            {k.lower(): v for k, v in self.request.headers.items()} if self.request else {}
        )
        self.path = self.request.path if self.request is not None else ""
        self.llm = llm
        self.client = llm.client
        self.warnings = [str(w.message) for w in caught]
        self.out = out


def call(emu: Any, make: Callable[[], Any], run: Callable[[Any], Any]) -> Seen:
    emu.clear_requests()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        llm = make()
        out = run(llm)
    return Seen(emu, llm, caught, out)


# ---------------------------------------------------------------------------------------------
# LangChain constructor
# ---------------------------------------------------------------------------------------------
def lc_base(emu: Any, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"model": LLAMA, "host": emu.host, "token": emu.token, "max_retries": 0}
    base.update(kw)
    return base


def lc_invoke(llm: Any) -> Any:
    return llm.invoke("hi")


def lc_stream(llm: Any) -> Any:
    return list(llm.stream("hi"))


def lc_ainvoke(llm: Any) -> Any:
    return asyncio.run(llm.ainvoke("hi"))


class OwnClients:
    """A user's own httpx clients whose request hooks note what went through them."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def sync(self) -> Any:
        import httpx

        return httpx.Client(event_hooks={"request": [lambda r: self.sent.append("sync")]})

    def async_(self) -> Any:
        import httpx

        async def note(request: Any) -> None:
            self.sent.append("async")

        return httpx.AsyncClient(event_hooks={"request": [note]})


OWN = OwnClients()


def _went_through(path: str) -> Callable[[Seen], bool]:
    def check(s: Seen) -> bool:
        moved = [w for w in s.warnings if "not a parameter" in w or "not applied" in w]
        went = OWN.sent[-1:] == [path] and not moved and bool(s.request)
        OWN.sent.clear()
        return went

    return check


# field -> (extra constructor kwargs given emu, how to run, what must hold)
# Arguments both adapters take, checked the same way after one chat call.
SHARED_ARGS: dict[str, tuple[Callable[[Any], dict[str, Any]], Callable[[Seen], bool]]] = {
    "model": (lambda e: {"model": CLAUDE}, lambda s: s.body["model"] == CLAUDE),
    "host": (lambda e: {}, lambda s: s.client.host == s.llm.host),
    "client_id": (
        lambda e: {"token": None, "client_id": e.client_id, "client_secret": e.client_secret},
        lambda s: s.client.auth_method == "oauth-m2m" and s.request is not None,
    ),
    "client_secret": (
        lambda e: {"token": None, "client_id": e.client_id, "client_secret": e.client_secret},
        lambda s: s.client.auth_method == "oauth-m2m",
    ),
    "config_file": (
        lambda e: {"_profile": True},
        lambda s: s.client.settings.config_file is not None,
    ),
    "workspace_client": (
        lambda e: {"_sdk": True},
        lambda s: s.client.auth_method == "databricks-sdk",
    ),
    "base_url": (
        lambda e: {"host": None, "base_url": f"{e.host}/serving-endpoints"},
        lambda s: (
            s.path == "/serving-endpoints/chat/completions" and s.client.route.kind == "openai"
        ),
    ),
    "temperature": (
        lambda e: {"temperature": 0.3},
        lambda s: s.body["temperature"] == 0.3,
    ),
    "max_tokens": (lambda e: {"max_tokens": 33}, lambda s: s.body["max_tokens"] == 33),
    "timeout": (lambda e: {"timeout": 7.0}, lambda s: s.client.settings.timeout == 7.0),
    "proxy": (
        lambda e: {"proxy": e.host},
        lambda s: s.client.http.network.proxy == s.client.settings.proxy.get_secret_value(),
    ),
    "verify": (lambda e: {"verify": False}, lambda s: s.client.settings.verify is False),
    "max_retries": (
        lambda e: {"max_retries": 5},
        lambda s: s.client.settings.max_retries == 5,
    ),
    "max_concurrency": (
        lambda e: {"max_concurrency": 3},
        lambda s: s.client.http.gate.own.limit == 3 and s.client.http.gate.shared.succeeded >= 1,
    ),
    "adaptive_concurrency": (
        lambda e: {"adaptive_concurrency": False},
        lambda s: s.client.http.gate is None and s.client.limiter is None,
    ),
    "reasoning_effort": (
        lambda e: {"model": GPT5, "reasoning_effort": "low"},
        lambda s: s.body["reasoning_effort"] == "low",
    ),
    "thinking_budget": (
        lambda e: {"model": CLAUDE, "thinking_budget": 1024, "max_tokens": 2048},
        lambda s: s.body["thinking"]["budget_tokens"] == 1024,
    ),
    "extra_body": (
        lambda e: {"extra_body": {"user": "x"}},
        lambda s: s.body["user"] == "x",
    ),
    "endpoint_kind": (
        lambda e: {"endpoint_kind": "invocations"},
        lambda s: s.path == f"/serving-endpoints/{LLAMA}/invocations",
    ),
    "default_headers": (
        lambda e: {"default_headers": {"X-Tag": "t"}},
        lambda s: s.headers["x-tag"] == "t",
    ),
    "use_responses_api": (
        lambda e: {"model": GPT5, "use_responses_api": True},
        lambda s: s.path == "/serving-endpoints/responses",
    ),
    "api": (
        lambda e: {"model": CLAUDE, "api": "responses"},
        lambda s: s.path == "/serving-endpoints/open-responses",
    ),
    "custom_inputs": (
        lambda e: {"custom_inputs": {"k": 1}},
        lambda s: s.body["custom_inputs"] == {"k": 1},
    ),
    "context": (
        lambda e: {"context": {"user_id": "u"}},
        lambda s: s.body["context"] == {"user_id": "u"},
    ),
    "agent_schema": (
        lambda e: {"model": "my-chat-agent", "agent_schema": "chat_agent"},
        lambda s: (
            s.path == "/serving-endpoints/my-chat-agent/invocations"
            and s.body["messages"] == [{"role": "user", "content": "hi"}]
        ),
    ),
}


LC_FIELDS: dict[
    str, tuple[Callable[[Any], dict[str, Any]], Callable[[Any], Any], Callable[[Seen], bool]]
] = {
    "token": (
        lambda e: {},
        lc_invoke,
        lambda s: s.headers["authorization"].endswith(s.llm.token.get_secret_value()),
    ),
    "databricks_profile": (
        lambda e: {"_profile": True},
        lc_invoke,
        lambda s: "walk" in s.client.auth_source,
    ),
    "auth_type": (
        lambda e: {"auth_type": "pat"},
        lc_invoke,
        lambda s: s.client.settings.auth_type == "pat",
    ),
    "token_provider": (
        lambda e: {"token": None, "token_provider": lambda: e.token},
        lc_invoke,
        lambda s: s.client.auth_method == "token-provider" and s.request is not None,
    ),
    "target_uri": (
        lambda e: {"host": None, "target_uri": e.host},
        lc_invoke,
        lambda s: s.client.host == s.llm.target_uri and any("deprecated" in w for w in s.warnings),
    ),
    "top_p": (lambda e: {"top_p": 0.5}, lc_invoke, lambda s: s.body["top_p"] == 0.5),
    "top_k": (lambda e: {"top_k": 4}, lc_invoke, lambda s: s.body["top_k"] == 4),
    "stop": (lambda e: {"stop": ["zz"]}, lc_invoke, lambda s: s.body["stop"] == ["zz"]),
    "n": (lambda e: {"n": 1}, lc_invoke, lambda s: s.body["n"] == 1),
    # the emulator answers absolute-form (proxied) requests itself; tests/test_network.py runs
    # a real CONNECT proxy and TLS
    "streaming": (lambda e: {"streaming": True}, lc_invoke, lambda s: s.body["stream"] is True),
    "stream_usage": (
        lambda e: {"stream_usage": False},
        lc_stream,
        lambda s: s.body["stream"] is True and not any(c.usage_metadata for c in s.out),
    ),
    "extra_params": (
        lambda e: {"extra_params": {"user": "y"}},
        lc_invoke,
        lambda s: s.body["user"] == "y",
    ),
    "use_ai_gateway": (
        lambda e: {"use_ai_gateway": True},
        lc_invoke,
        lambda s: s.path == "/ai-gateway/mlflow/v1/chat/completions",
    ),
    "use_ai_gateway_native_api": (
        lambda e: {"use_ai_gateway_native_api": True},
        lc_invoke,
        lambda s: s.path == "/ai-gateway/openai/v1/chat/completions",
    ),
    "model_kwargs": (
        lambda e: {"model_kwargs": {"user": "z"}},
        lc_invoke,
        lambda s: s.body["user"] == "z",
    ),
    "external_model": (
        lambda e: {
            "model": "my-gpt-5-endpoint",
            "use_responses_api": True,
            "external_model": True,
            "extra_body": {"store": False},
        },
        lc_invoke,
        lambda s: s.body["store"] is False,  # refused before sending unless external_model
    ),
    # LangChain's own: handled by the framework, never on the wire
    "metadata": (
        lambda e: {"metadata": {"run": "x"}},
        lc_invoke,
        lambda s: "metadata" not in s.body,
    ),
    "tags": (lambda e: {"tags": ["t"]}, lc_invoke, lambda s: "tags" not in s.body),
    "callbacks": (lambda e: {"callbacks": []}, lc_invoke, lambda s: "callbacks" not in s.body),
    "verbose": (lambda e: {"verbose": True}, lc_invoke, lambda s: "verbose" not in s.body),
    "cache": (lambda e: {"cache": False}, lc_invoke, lambda s: "cache" not in s.body),
    "name": (
        lambda e: {"name": "mine"},
        lc_invoke,
        lambda s: "name" not in s.body and s.llm.get_name() == "mine",
    ),
    "custom_get_token_ids": (
        lambda e: {"custom_get_token_ids": lambda t: [1, 2, 3]},
        lambda llm: llm.get_num_tokens("anything"),
        lambda s: s.out == 3,
    ),
    "rate_limiter": (
        lambda e: {"rate_limiter": InMemoryRateLimiter(requests_per_second=1000)},
        lc_invoke,
        lambda s: s.request is not None,
    ),
    "disable_streaming": (
        lambda e: {"disable_streaming": True},
        lc_stream,
        lambda s: s.body.get("stream") is not True,
    ),
    "output_version": (
        lambda e: {"output_version": "v1"},
        lc_invoke,
        lambda s: isinstance(s.out.content, list),
    ),
    "profile": (lambda e: {}, lc_invoke, lambda s: s.llm.profile["max_input_tokens"] > 0),
}
LC_FIELDS.update({name: (extra, lc_invoke, check) for name, (extra, check) in SHARED_ARGS.items()})
LC_FIELDS["http_client"] = (lambda e: {"http_client": OWN.sync()}, lc_invoke, _went_through("sync"))
LC_FIELDS["http_async_client"] = (
    lambda e: {"http_async_client": OWN.async_()},
    lc_ainvoke,
    _went_through("async"),
)


def _profile_file(tmp_path: Any, emu: Any) -> str:
    cfg = tmp_path / "databrickscfg"
    cfg.write_text(f"[walk]\nhost = {emu.host}\ntoken = {emu.token}\n")
    return str(cfg)


def _sdk_config(emu: Any) -> Any:
    from databricks.sdk.core import Config

    return Config(host=emu.host, token=emu.token, auth_type="pat")


def _ctor_kwargs(emu: Any, extra: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    """Constructor keywords for one row: the emulator's host and token, then the row's own;
    markers swap them for a config-file profile, a databricks-sdk config or a limiter."""
    kw: dict[str, Any] = {"model": LLAMA, "host": emu.host, "token": emu.token, "max_retries": 0}
    kw.update(extra)
    if kw.pop("_profile", False):
        kw.pop("host"), kw.pop("token")
        kw.update(profile="walk", config_file=_profile_file(tmp_path, emu))
    if kw.pop("_sdk", False):
        kw.pop("host"), kw.pop("token")
        kw["workspace_client"] = _sdk_config(emu)
    if kw.pop("_limiter", False):
        kw["rate_limiter"] = CountingLimiter()
    return {k: v for k, v in kw.items() if v is not None}


def test_langchain_table_names_every_field() -> None:
    assert set(LC_FIELDS) == set(ChatDatabricks.model_fields)


@pytest.mark.parametrize("field", sorted(LC_FIELDS))
def test_langchain_constructor_argument_is_used(emu: Any, field: str, tmp_path: Any) -> None:
    extra, run, check = LC_FIELDS[field]
    kw = _ctor_kwargs(emu, extra(emu), tmp_path)
    seen = call(emu, lambda: ChatDatabricks(**kw), run)
    assert check(seen), (field, seen.path, seen.body, seen.warnings)


# ---------------------------------------------------------------------------------------------
# LlamaIndex constructor
# ---------------------------------------------------------------------------------------------
def li_chat(llm: Any) -> Any:
    return llm.chat([ChatMessage(role="user", content="hi")])


def li_complete(llm: Any) -> Any:
    return llm.complete("hi")


class CountingLimiter:
    def __init__(self) -> None:
        self.n = 0

    def acquire(self, *a: Any, **k: Any) -> bool:
        self.n += 1
        return True

    async def aacquire(self, *a: Any, **k: Any) -> bool:
        self.n += 1
        return True


LI_ARGS: dict[
    str, tuple[Callable[[Any], dict[str, Any]], Callable[[Any], Any], Callable[[Seen], bool]]
] = {
    "token": (
        lambda e: {},
        li_chat,
        lambda s: s.headers["authorization"] == f"Bearer {s.llm._token.get_secret_value()}",
    ),
    "api_key": (
        lambda e: {"token": None, "api_key": e.token},
        li_chat,
        lambda s: s.headers["authorization"] == f"Bearer {s.llm._token.get_secret_value()}",
    ),
    "profile": (
        lambda e: {"_profile": True},
        li_chat,
        lambda s: "walk" in s.client.auth_source,
    ),
    "token_provider": (
        lambda e: {"token": None, "token_provider": lambda: e.token},
        li_chat,
        lambda s: s.client.auth_method == "token-provider",
    ),
    "api_base": (
        lambda e: {"host": None, "api_base": f"{e.host}/serving-endpoints"},
        li_chat,
        lambda s: s.client.host == s.llm.host and s.client.route.kind == "serving",
    ),
    "stop": (lambda e: {"stop": "zz"}, li_chat, lambda s: s.body["stop"] == ["zz"]),
    "additional_kwargs": (
        lambda e: {"additional_kwargs": {"user": "y"}},
        li_chat,
        lambda s: s.body["user"] == "y",
    ),
    "context_window": (
        lambda e: {"context_window": 1234},
        li_chat,
        lambda s: s.llm.metadata.context_window == 1234,
    ),
    "is_function_calling_model": (
        lambda e: {"is_function_calling_model": False},
        li_chat,
        lambda s: s.llm.metadata.is_function_calling_model is False,
    ),
    "is_function_calling": (
        lambda e: {"is_function_calling": False},
        li_chat,
        lambda s: s.llm.metadata.is_function_calling_model is False,
    ),
    "is_chat_model": (
        lambda e: {"is_chat_model": False},
        li_chat,
        lambda s: any("is_chat_model=False is ignored" in w for w in s.warnings),
    ),
    "external_model": (
        lambda e: {
            "model": "my-gpt-5-endpoint",
            "use_responses_api": True,
            "external_model": True,
            "extra_body": {"store": False},
        },
        li_chat,
        lambda s: s.body["store"] is False,
    ),
    "transport": (
        lambda e: {"transport": "httpx"},
        li_chat,
        lambda s: s.client.settings.transport == "httpx",
    ),
    "structured_output_method": (
        lambda e: {"structured_output_method": "function_calling"},
        li_chat,
        lambda s: s.llm._use_json_schema() is False,
    ),
    # LlamaIndex's own
    "callback_manager": (lambda e: {}, li_chat, lambda s: s.llm.callback_manager is not None),
    "system_prompt": (
        lambda e: {"system_prompt": "Be brief."},
        lambda llm: llm.predict(
            __import__("llama_index.core.prompts", fromlist=["PromptTemplate"]).PromptTemplate("hi")
        ),
        lambda s: s.body["messages"][0] == {"role": "system", "content": "Be brief."},
    ),
    "messages_to_prompt": (
        lambda e: {"messages_to_prompt": lambda m: "x"},
        li_chat,
        lambda s: s.request is not None,
    ),
    "completion_to_prompt": (
        lambda e: {"completion_to_prompt": lambda p: f"<<{p}>>"},
        lambda llm: llm.complete("hi"),
        lambda s: s.body["messages"][-1]["content"] == "hi",  # chat model: prompt sent as given
    ),
    "output_parser": (lambda e: {}, li_chat, lambda s: s.llm.output_parser is None),
    "pydantic_program_mode": (
        lambda e: {"pydantic_program_mode": "llm"},
        li_chat,
        lambda s: s.llm._use_json_schema() is False,  # structured output follows the mode
    ),
    "query_wrapper_prompt": (lambda e: {}, li_chat, lambda s: s.request is not None),
    "rate_limiter": (lambda e: {"_limiter": True}, li_chat, lambda s: s.llm.rate_limiter.n >= 1),
}
LI_ARGS.update({name: (extra, li_chat, check) for name, (extra, check) in SHARED_ARGS.items()})
LI_ARGS["http_client"] = (lambda e: {"http_client": OWN.sync()}, li_chat, _went_through("sync"))
LI_ARGS["async_http_client"] = (
    lambda e: {"async_http_client": OWN.async_()},
    lambda llm: asyncio.run(llm.achat([ChatMessage(role="user", content="hi")])),
    _went_through("async"),
)
# Arguments of Databricks.__init__ that are aliases or LlamaIndex plumbing.
_LI_INIT_ONLY = {"self", "kwargs"}


def test_llamaindex_table_names_every_argument() -> None:
    init = set(inspect.signature(Databricks.__init__).parameters) - _LI_INIT_ONLY
    fields = set(Databricks.model_fields) - {"is_function_calling"}
    assert set(LI_ARGS) == init | fields


@pytest.mark.parametrize("arg", sorted(LI_ARGS))
def test_llamaindex_constructor_argument_is_used(emu: Any, arg: str, tmp_path: Any) -> None:
    extra, run, check = LI_ARGS[arg]
    kw = _ctor_kwargs(emu, extra(emu), tmp_path)
    seen = call(emu, lambda: Databricks(**kw), run)
    assert check(seen), (arg, seen.path, seen.body, seen.warnings)


# ---------------------------------------------------------------------------------------------
# call arguments (both adapters, sync and async)
# ---------------------------------------------------------------------------------------------
RESPONSES = {"model": GPT5, "use_responses_api": True}
# call keyword -> (constructor kwargs, value, check on what was sent)
CALL_ARGS: dict[str, tuple[dict[str, Any], Any, Callable[[Seen], bool]]] = {
    "temperature": ({}, 0.2, lambda s: s.body["temperature"] == 0.2),
    "max_tokens": ({}, 21, lambda s: s.body["max_tokens"] == 21),
    "top_p": ({}, 0.4, lambda s: s.body["top_p"] == 0.4),
    "top_k": ({}, 3, lambda s: s.body["top_k"] == 3),
    "stop": ({}, ["qq"], lambda s: s.body["stop"] == ["qq"]),
    "n": ({}, 1, lambda s: s.body["n"] == 1),
    "logprobs": ({}, True, lambda s: s.body["logprobs"] is True),
    "top_logprobs": ({}, 2, lambda s: s.body["top_logprobs"] == 2),
    "reasoning_effort": ({"model": GPT5}, "low", lambda s: s.body["reasoning_effort"] == "low"),
    "thinking_budget": (
        {"model": CLAUDE, "max_tokens": 2048},
        1024,
        lambda s: s.body["thinking"]["budget_tokens"] == 1024,
    ),
    "response_format": (
        {},
        {"type": "json_object"},
        lambda s: s.body["response_format"] == {"type": "json_object"},
    ),
    "tools": ({}, [TOOL], lambda s: s.body["tools"][0]["function"]["name"] == "get_weather"),
    "tool_choice": (
        {"_tools": True},
        "get_weather",
        lambda s: (
            s.body["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
        ),
    ),
    "parallel_tool_calls": (
        {"_tools": True},
        False,
        lambda s: s.body["parallel_tool_calls"] is False,
    ),
    "extra_body": ({}, {"user": "w"}, lambda s: s.body["user"] == "w"),
    "extra_headers": (
        {},
        {"X-Call": "c"},
        lambda s: s.headers["x-call"] == "c" and "extra_headers" not in s.body,
    ),
    "instructions": (RESPONSES, "Be brief.", lambda s: s.body["instructions"] == "Be brief."),
    "reasoning_summary": (
        {**RESPONSES, "reasoning_effort": "low"},
        "auto",
        lambda s: s.body["reasoning"]["summary"] == "auto",
    ),
    "include": (
        RESPONSES,
        ["reasoning.encrypted_content"],
        lambda s: s.body["include"] == ["reasoning.encrypted_content"],
    ),
    "metadata": (
        RESPONSES,
        {"purpose": "walk"},
        lambda s: s.body["metadata"] == {"purpose": "walk"},
    ),
    "truncation": (RESPONSES, "auto", lambda s: s.body["truncation"] == "auto"),
    "max_tool_calls": (RESPONSES, 2, lambda s: s.body["max_tool_calls"] == 2),
    "custom_inputs": ({}, {"k": 2}, lambda s: s.body["custom_inputs"] == {"k": 2}),
    "context": (
        {},
        {"conversation_id": "c1"},
        lambda s: s.body["context"] == {"conversation_id": "c1"},
    ),
}


def test_call_table_names_every_parameter() -> None:
    assert set(CALL_ARGS) == PARAM_NAMES | {"extra_headers"}


def _call_kwargs(adapter: str, name: str, value: Any) -> dict[str, Any]:
    if adapter == "langchain" and name == "metadata":
        # LangChain's `metadata` keyword belongs to its callbacks: the API's goes via extra_body
        return {"extra_body": {"metadata": value}}
    kw = {name: value}
    return kw


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("adapter", ["langchain", "llamaindex"])
@pytest.mark.parametrize("name", sorted(CALL_ARGS))
def test_call_argument_reaches_the_wire(emu: Any, name: str, adapter: str, mode: str) -> None:
    ctor, value, check = CALL_ARGS[name]
    ctor = dict(ctor)
    call_kw = _call_kwargs(adapter, name, value)
    if ctor.pop("_tools", False):
        call_kw["tools"] = [TOOL]
    base = {"model": LLAMA, "host": emu.host, "token": emu.token, "max_retries": 0, **ctor}

    if adapter == "langchain":

        def make() -> Any:
            return ChatDatabricks(**base)

        def run(llm: Any) -> Any:
            if mode == "sync":
                return llm.invoke("hi", **call_kw)
            return asyncio.run(llm.ainvoke("hi", **call_kw))
    else:

        def make() -> Any:
            return Databricks(**base)

        def run(llm: Any) -> Any:
            msgs = [ChatMessage(role="user", content="hi")]
            if mode == "sync":
                return llm.chat(msgs, **call_kw)
            return asyncio.run(llm.achat(msgs, **call_kw))

    seen = call(emu, make, run)
    assert check(seen), (name, seen.path, seen.body)


def test_langchain_per_call_model_and_stream_usage(emu: Any) -> None:
    llm = ChatDatabricks(**lc_base(emu))
    seen = call(emu, lambda: llm, lambda m: m.invoke("hi", model=CLAUDE))
    assert seen.body["model"] == CLAUDE
    chunks = list(llm.stream("hi", stream_usage=False))
    assert not any(c.usage_metadata for c in chunks)
    assert sum(bool(c.usage_metadata) for c in llm.stream("hi")) == 1
