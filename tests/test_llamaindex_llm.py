"""Unit tests of the ``Databricks`` LlamaIndex LLM against a scripted stand-in for the core client.

The stand-in records the neutral messages/params the adapter hands over and returns neutral
responses/deltas, so these tests pin the adapter's own translation work; the end-to-end tests
(tests/llamaindex/) run the real client against the emulator.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import BaseModel
from llama_index.core.callbacks import CallbackManager, CBEventType, LlamaDebugHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool

from core.registry import lookup_model
from core.types import (
    ChatResponse as NeutralResponse,
)
from core.types import (
    FinishDelta,
    GenerationParams,
    MetaDelta,
    NamedToolChoice,
    ReasoningDelta,
    ReasoningPart,
    ResponseFormat,
    ServerToolDelta,
    TextDelta,
    TextPart,
    ToolCallDelta,
    ToolCallPart,
    Usage,
    UsageDelta,
)
from llamaindex_plugin import Databricks
from llamaindex_plugin.convert import parts_to_message


class FakeClient:
    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self.info = lookup_model(settings.model)
        self.calls: list[tuple[str, list[Any], GenerationParams]] = []
        self.responses: list[NeutralResponse] = []
        self.streams: list[list[Any]] = []
        self.threads: list[str] = []

    def _next(self) -> NeutralResponse:
        if self.responses:
            return self.responses.pop(0)
        return NeutralResponse(
            parts=[TextPart("hello")],
            usage=Usage(3, 2, 5),
            finish_reason="stop",
            model=self.settings.model,
            id="r1",
        )

    def complete(self, messages, params, headers=None):
        self.calls.append(("complete", list(messages), params))
        return self._next()

    async def acomplete(self, messages, params, headers=None):
        self.calls.append(("acomplete", list(messages), params))
        self.threads.append(threading.current_thread().name)
        return self._next()

    def stream(self, messages, params, headers=None):
        self.calls.append(("stream", list(messages), params))
        yield from (self.streams.pop(0) if self.streams else _default_stream())

    async def astream(self, messages, params, headers=None):
        self.calls.append(("astream", list(messages), params))
        self.threads.append(threading.current_thread().name)
        for d in self.streams.pop(0) if self.streams else _default_stream():
            await asyncio.sleep(0)
            yield d

    def close(self):
        pass

    async def aclose(self):
        pass


def _default_stream() -> list[Any]:
    return [
        MetaDelta(id="s1", model="m"),
        TextDelta("Hel"),
        TextDelta("lo"),
        FinishDelta("stop"),
        UsageDelta(Usage(input_tokens=4, output_tokens=2, total_tokens=6)),
    ]


@pytest.fixture
def make_llm(monkeypatch):
    monkeypatch.setattr(Databricks, "_make_client", lambda self: FakeClient(_settings_of(self)))

    def make(**kwargs: Any) -> Databricks:
        kwargs.setdefault("model", "databricks-claude-sonnet-4-5")
        return Databricks(**kwargs)

    return make


def _settings_of(llm: Databricks) -> Any:
    from core.settings import ClientSettings

    return ClientSettings(
        model=llm.model,
        host=llm.host,
        token=llm._token,
        client_secret=llm._client_secret,
        client_id=llm.client_id,
        base_url=llm.base_url,
        endpoint_kind=llm.endpoint_kind,
        use_responses_api=llm.use_responses_api,
        timeout=llm.timeout,
        max_retries=llm.max_retries,
        adapter="llamaindex",
    )


# ------------------------------------------------------------------------------------------------
# construction, secrets, compatibility
# ------------------------------------------------------------------------------------------------
def test_secrets_never_serialized(make_llm) -> None:
    llm = make_llm(
        host="https://x.cloud.databricks.com",
        token="dapi0123456789abcdef",
        client_secret="very-secret-value",
    )
    blob = json.dumps(llm.to_dict()) + llm.to_json() + repr(llm) + str(llm)
    assert "dapi0123456789abcdef" not in blob and "very-secret-value" not in blob
    assert llm.client.settings.token.get_secret_value() == "dapi0123456789abcdef"
    assert llm.to_dict()["class_name"] == "Databricks_LLM"


def test_api_key_alias_and_conflict(make_llm) -> None:
    llm = make_llm(host="https://x", api_key="dapiaaaa")
    assert llm.client.settings.token.get_secret_value() == "dapiaaaa"
    with pytest.raises(ValueError):
        make_llm(host="https://x", api_key="a", token="b")


def test_api_base_compat(make_llm, monkeypatch) -> None:
    llm = make_llm(api_base="https://adb-1.azuredatabricks.net/serving-endpoints/", api_key="t")
    assert llm.host == "https://adb-1.azuredatabricks.net"
    assert llm.endpoint_kind == "serving" and llm.base_url is None
    monkeypatch.setenv("DATABRICKS_SERVING_ENDPOINT", "https://ws.example.com/serving-endpoints")
    llm = make_llm(api_key="t")
    assert llm.host == "https://ws.example.com" and llm.endpoint_kind == "serving"
    # an explicit host wins over the variable; OpenAI variables are never read
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai")
    monkeypatch.setenv("OPENAI_API_BASE", "https://api.openai.com/v1")
    llm = make_llm(host="https://mine.example.com", token="t")
    assert llm.host == "https://mine.example.com" and llm.endpoint_kind is None
    assert "sk-openai" not in repr(llm.client.settings)
    # any other api_base is an OpenAI-compatible base URL
    llm = make_llm(api_base="http://127.0.0.1:9/v1", api_key="t")
    assert llm.base_url == "http://127.0.0.1:9/v1" and llm.host is None


def test_model_required() -> None:
    with pytest.raises(ValueError):
        Databricks()


def test_metadata_from_registry(make_llm) -> None:
    llm = make_llm()
    md = llm.metadata
    info = lookup_model("databricks-claude-sonnet-4-5")
    assert md.context_window == info.context_window and md.num_output == info.max_output_tokens
    assert md.is_chat_model and md.is_function_calling_model
    assert md.model_name == "databricks-claude-sonnet-4-5"
    md = make_llm(context_window=1234, max_tokens=99).metadata
    assert md.context_window == 1234 and md.num_output == 99
    assert make_llm(is_function_calling_model=False).metadata.is_function_calling_model is False
    llm.max_tokens = 7  # metadata is cached, but follows the fields it comes from
    assert llm.metadata.num_output == 7
    assert llm.metadata is llm.metadata


# ------------------------------------------------------------------------------------------------
# parameters
# ------------------------------------------------------------------------------------------------
def test_params_mapping(make_llm) -> None:
    llm = make_llm(
        temperature=0.2,
        max_tokens=50,
        reasoning_effort="high",
        thinking_budget=2048,
        extra_body={"a": 1},
        custom_inputs={"k": "v"},
        stop="END",
    )
    llm.chat(
        [ChatMessage(role="user", content="hi")],
        top_p=0.5,
        stop=["X"],
        seed_like=7,
        response_format={"type": "json_object"},
        context={"conversation_id": "c"},
    )
    (_, msgs, p) = llm.client.calls[0]
    assert msgs[0].role == "user" and msgs[0].text == "hi"
    assert p.temperature == 0.2 and p.max_tokens == 50 and p.top_p == 0.5
    assert p.stop == ["X"] and p.reasoning_effort == "high" and p.thinking_budget == 2048
    assert p.extra_body == {"a": 1, "seed_like": 7}
    assert p.custom_inputs == {"k": "v"} and p.context == {"conversation_id": "c"}
    assert p.response_format == ResponseFormat(type="json_object")
    llm.complete("x")
    assert llm.client.calls[1][2].stop == ["END"]


# ------------------------------------------------------------------------------------------------
# chat / complete
# ------------------------------------------------------------------------------------------------
def test_chat_usage_and_raw(make_llm) -> None:
    llm = make_llm()
    resp = llm.chat([ChatMessage(role="user", content="hi")])
    assert resp.message.role == "assistant" and resp.message.content == "hello"
    assert resp.additional_kwargs == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert resp.raw["usage"]["total_tokens"] == 5 and resp.raw["id"] == "r1"
    assert resp.raw["finish_reason"] == "stop"
    comp = llm.complete("hi")
    assert comp.text == "hello" and comp.additional_kwargs["completion_tokens"] == 2
    assert llm.client.calls[-1][1][0].parts == [TextPart("hi")]


def test_reasoning_response_blocks_and_resend(make_llm) -> None:
    llm = make_llm()
    parts = [ReasoningPart("think", signature="sig=="), TextPart("answer")]
    llm.client.responses.append(NeutralResponse(parts=list(parts)))
    resp = llm.chat([ChatMessage(role="user", content="q")])
    blocks = resp.message.blocks
    assert (
        isinstance(blocks[0], ThinkingBlock)
        and blocks[0].additional_information["signature"] == "sig=="
    )
    assert resp.message.content == "answer"
    llm.chat(
        [
            ChatMessage(role="user", content="q"),
            resp.message,
            ChatMessage(role="user", content="more"),
        ]
    )
    assert llm.client.calls[-1][1][1].parts == parts


def test_stream_chat_cumulative(make_llm) -> None:
    llm = make_llm()
    llm.client.streams.append(
        [
            ReasoningDelta(text="Let "),
            ReasoningDelta(text="me think"),
            ReasoningDelta(signature="SIG"),
            TextDelta("It "),
            TextDelta("is"),
            ToolCallDelta(index=0, id="call_1", name="lookup", arguments='{"q": "'),
            ToolCallDelta(index=0, arguments='Zürich"}'),
            FinishDelta("tool_calls"),
            UsageDelta(Usage(input_tokens=9, output_tokens=4, total_tokens=13)),
        ]
    )
    chunks = list(llm.stream_chat([ChatMessage(role="user", content="q")]))
    assert [c.delta for c in chunks] == ["", "", "", "It ", "is", "", "", ""]
    assert [c.additional_kwargs.get("thinking_delta") for c in chunks[:3]] == [
        "Let ",
        "me think",
        None,
    ]
    assert chunks[3].message.content == "It " and chunks[4].message.content == "It is"
    assert isinstance(chunks[1].message.blocks[0], ThinkingBlock)
    assert chunks[1].message.blocks[0].content == "Let me think"
    last = chunks[-1]
    assert last.additional_kwargs == {
        "prompt_tokens": 9,
        "completion_tokens": 4,
        "total_tokens": 13,
    }
    assert last.raw["finish_reason"] == "tool_calls"
    think = last.message.blocks[0]
    assert isinstance(think, ThinkingBlock) and think.additional_information["signature"] == "SIG"
    (sel,) = llm.get_tool_calls_from_response(last)
    assert sel.tool_id == "call_1" and sel.tool_kwargs == {"q": "Zürich"}
    # a partial argument string is readable mid-stream
    partial = llm.get_tool_calls_from_response(chunks[5], error_on_no_tool_call=False)
    assert partial[0].tool_name == "lookup"


def test_stream_complete(make_llm) -> None:
    llm = make_llm()
    chunks = list(llm.stream_complete("hi"))
    assert [c.delta for c in chunks] == ["Hel", "lo", ""]
    assert chunks[-1].text == "Hello" and chunks[-1].additional_kwargs["total_tokens"] == 6


async def test_async_is_native(make_llm) -> None:
    llm = make_llm()
    main = threading.current_thread().name
    r = await llm.achat([ChatMessage(role="user", content="hi")])
    assert r.message.content == "hello"
    c = await llm.acomplete("hi")
    assert c.text == "hello"
    gen = await llm.astream_chat([ChatMessage(role="user", content="hi")])
    assert [x.delta async for x in gen] == ["Hel", "lo", ""]
    gen2 = await llm.astream_complete("hi")
    texts = [x.text async for x in gen2]
    assert texts[-1] == "Hello"
    assert [k for k, _, _ in llm.client.calls] == ["acomplete", "acomplete", "astream", "astream"]
    assert set(llm.client.threads) == {main}


# ------------------------------------------------------------------------------------------------
# tools
# ------------------------------------------------------------------------------------------------
def _weather_tool() -> FunctionTool:
    def get_weather(city: str) -> str:
        """Weather in a city."""
        return f"sunny in {city}"

    return FunctionTool.from_defaults(fn=get_weather)


def test_prepare_chat_with_tools(make_llm) -> None:
    llm = make_llm()
    tool = _weather_tool()
    kw = llm._prepare_chat_with_tools([tool], user_msg="weather?", tool_required=True)
    assert kw["messages"][-1].content == "weather?" and kw["tool_choice"] == "required"
    assert kw["tools"][0].name == "get_weather"
    kw = llm._prepare_chat_with_tools(
        [tool], chat_history=[ChatMessage(role="user", content="x")], tool_choice="get_weather"
    )
    assert kw["tool_choice"] == NamedToolChoice("get_weather")
    assert llm._prepare_chat_with_tools([], user_msg="x")["tool_choice"] is None


def test_chat_with_tools_and_predict_and_call(make_llm) -> None:
    llm = make_llm()
    call = ToolCallPart(id="c1", name="get_weather", arguments='{"city": "Oslo"}')
    call2 = ToolCallPart(id="c2", name="get_weather", arguments='{"city": "Rome"}')
    llm.client.responses.append(NeutralResponse(parts=[call, call2], finish_reason="tool_calls"))
    resp = llm.chat_with_tools([_weather_tool()], user_msg="weather in Oslo?", tool_required=True)
    _, _, params = llm.client.calls[-1]
    assert params.tool_choice == "required" and params.tools[0].name == "get_weather"
    # parallel calls not allowed: only the first survives
    calls = llm.get_tool_calls_from_response(resp)
    assert [c.tool_kwargs for c in calls] == [{"city": "Oslo"}]
    llm.client.responses.append(NeutralResponse(parts=[call]))
    out = llm.predict_and_call([_weather_tool()], user_msg="weather in Oslo?")
    assert out.response == "sunny in Oslo"


def test_get_tool_calls_errors_and_legacy(make_llm) -> None:
    llm = make_llm()
    empty = ChatResponse(message=ChatMessage(role="assistant", content="no tools"))
    with pytest.raises(ValueError):
        llm.get_tool_calls_from_response(empty)
    assert llm.get_tool_calls_from_response(empty, error_on_no_tool_call=False) == []
    legacy = ChatResponse(
        message=ChatMessage(
            role="assistant",
            additional_kwargs={
                "tool_calls": [
                    {
                        "id": "x",
                        "type": "function",
                        "function": {"name": "f", "arguments": '{"a": 1}'},
                    }
                ]
            },
        )
    )
    (sel,) = llm.get_tool_calls_from_response(legacy)
    assert (sel.tool_id, sel.tool_name, sel.tool_kwargs) == ("x", "f", {"a": 1})
    blocks = ChatResponse(
        message=ChatMessage(
            role="assistant",
            blocks=[
                TextBlock(text="t"),
                ToolCallBlock(tool_call_id="y", tool_name="g", tool_kwargs={"b": 2}),
            ],
        )
    )
    (sel,) = llm.get_tool_calls_from_response(blocks)
    assert (sel.tool_id, sel.tool_name, sel.tool_kwargs) == ("y", "g", {"b": 2})


# ------------------------------------------------------------------------------------------------
# callbacks and instrumentation
# ------------------------------------------------------------------------------------------------
def test_callbacks_and_instrumentation_fire(make_llm) -> None:
    debug = LlamaDebugHandler()
    llm = make_llm(callback_manager=CallbackManager([debug]))
    seen: list[str] = []

    class Collect(BaseEventHandler):
        def handle(self, event: Any, **kwargs: Any) -> None:
            seen.append(event.class_name())

    handler = Collect()
    root = get_dispatcher()
    root.add_event_handler(handler)
    try:
        llm.chat([ChatMessage(role="user", content="hi")])
        list(llm.stream_chat([ChatMessage(role="user", content="hi")]))
        llm.complete("hi")
    finally:
        root.event_handlers.remove(handler)
    assert len(debug.get_event_pairs(CBEventType.LLM)) == 3
    assert "LLMChatStartEvent" in seen and "LLMChatEndEvent" in seen
    assert "LLMChatInProgressEvent" in seen and "LLMCompletionEndEvent" in seen


# ------------------------------------------------------------------------------------------------
# structured output
# ------------------------------------------------------------------------------------------------
class Person(BaseModel):
    """A person."""

    name: str
    age: int


def test_structured_predict_json_schema(make_llm) -> None:
    llm = make_llm()
    llm.client.responses.append(
        NeutralResponse(parts=[TextPart('```json\n{"name": "Ada", "age": 36}\n```')])
    )
    out = llm.structured_predict(Person, PromptTemplate("Invent a person named {name}"), name="Ada")
    assert out == Person(name="Ada", age=36)
    _, msgs, params = llm.client.calls[-1]
    assert msgs[-1].text == "Invent a person named Ada"
    assert params.response_format.type == "json_schema" and params.response_format.name == "Person"
    assert params.response_format.schema["required"] == ["name", "age"]
    assert params.tools is None


def test_structured_predict_tools_for_unknown_model(make_llm) -> None:
    llm = make_llm(model="my-external-endpoint")
    llm.client.responses.append(
        NeutralResponse(
            parts=[ToolCallPart(id="c", name="Person", arguments='{"name": "Bo", "age": 3}')]
        )
    )
    out = llm.structured_predict(Person, PromptTemplate("Invent {x}"), x="someone")
    assert out == Person(name="Bo", age=3)
    _, _, params = llm.client.calls[-1]
    assert params.response_format is None and params.tools[0].name == "Person"
    assert params.tool_choice == "required"


async def test_astructured_and_stream_structured(make_llm) -> None:
    llm = make_llm()
    llm.client.responses.append(NeutralResponse(parts=[TextPart('{"name": "Cy", "age": 7}')]))
    out = await llm.astructured_predict(Person, PromptTemplate("p"))
    assert out == Person(name="Cy", age=7)
    llm.client.streams.append([TextDelta('{"name": "D'), TextDelta('i", "age"'), TextDelta(": 9}")])
    outs = list(llm.stream_structured_predict(Person, PromptTemplate("p")))
    assert outs[-1] == Person(name="Di", age=9)
    llm.client.streams.append([TextDelta('{"name": "E'), TextDelta('", "age": 1}')])
    agen = await llm.astream_structured_predict(Person, PromptTemplate("p"))
    aouts = [o async for o in agen]
    assert aouts[-1] == Person(name="E", age=1)
    assert llm.client.calls[-1][2].response_format.type == "json_schema"


def test_as_structured_llm(make_llm) -> None:
    llm = make_llm()
    llm.client.responses.append(NeutralResponse(parts=[TextPart('{"name": "F", "age": 2}')]))
    sllm = llm.as_structured_llm(Person)
    resp = sllm.chat([ChatMessage(role="user", content="make one")])
    assert resp.raw == Person(name="F", age=2)
    assert json.loads(resp.message.content) == {"name": "F", "age": 2}


# ------------------------------------------------------------------------------------------------
# streaming: every chunk equals a from-scratch fold of the deltas so far; chunks never change
# ------------------------------------------------------------------------------------------------


_delta = st.one_of(
    st.builds(TextDelta, st.text(min_size=1, max_size=5)),
    st.builds(TextDelta, st.text(min_size=1, max_size=3), st.just({"thoughtSignature": "ts"})),
    st.builds(ReasoningDelta, text=st.text(min_size=1, max_size=5)),
    st.builds(ReasoningDelta, signature=st.just("sig")),
    st.builds(  # Responses-style pieces: explicit blocks, item fields, encrypted content
        ReasoningDelta,
        text=st.text(max_size=4),
        signature=st.sampled_from([None, None, "S"]),
        redacted=st.sampled_from([None, None, "ENC"]),
        block=st.sampled_from([None, 0, 1]),
        extras=st.sampled_from([None, None, {"id": "rs_1"}]),
    ),
    st.builds(
        ToolCallDelta,
        index=st.integers(0, 1),
        id=st.sampled_from([None, "c0", "c1"]),
        name=st.sampled_from([None, "f"]),
        arguments=st.sampled_from(['{"a"', ": 1}", ""]),
    ),
    st.builds(ServerToolDelta, st.just({"type": "mcp_call", "id": "m1"})),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_delta, max_size=25))
def test_stream_chunks_match_full_fold(deltas) -> None:
    _check_chunks(deltas)


def test_growing_pieces_that_change_more_than_text_rebuild() -> None:
    """The fast path (a longer last block) is only for pieces that add text and nothing else:
    a signature or item fields arriving with text must show up in that very chunk."""
    _check_chunks(
        [
            ReasoningDelta("a", block=0),
            ReasoningDelta("b", block=0),
            ReasoningDelta("c", signature="S", block=0),
            ReasoningDelta("d", block=1),
            ReasoningDelta("e", block=1, extras={"id": "rs_1"}),
            ReasoningDelta("f", block=1),
            ReasoningDelta("g", block=1, redacted="ENC"),
            TextDelta("t"),
            TextDelta("u", {"thoughtSignature": "ts"}),
            TextDelta("v"),
        ]
    )


def _check_chunks(deltas: list[Any]) -> None:
    from core.accumulator import StreamAccumulator
    from llamaindex_plugin.stream import StreamFolder

    folder = StreamFolder()
    acc = StreamAccumulator()
    seen: list[tuple[Any, str]] = []
    for d in deltas:
        acc.add(d)
        chunk = folder.feed(d)
        if chunk is None:
            continue
        expected = parts_to_message(acc.response().parts)
        snapshot = chunk.message.model_dump_json()
        assert chunk.message.blocks == expected.blocks
        assert chunk.message.additional_kwargs == expected.additional_kwargs
        seen.append((chunk, snapshot))
    final = folder.final()
    assert final.message.blocks == parts_to_message(acc.response().parts).blocks
    for chunk, snapshot in seen:  # nothing yielded earlier was mutated later
        assert chunk.message.model_dump_json() == snapshot


def test_import_is_cheap() -> None:
    """``import llamaindex_plugin`` loads nothing; the class loads no HTTP stack until used."""
    import subprocess
    import sys

    code = (
        "import sys, time\n"
        "import llama_index.core\n"
        "t = time.perf_counter()\n"
        "import llamaindex_plugin\n"
        "assert 'llama_index.core' in sys.modules\n"
        "assert not any(m.startswith(('core', 'llamaindex_plugin.')) for m in sys.modules), sorted(sys.modules)\n"
        "from llamaindex_plugin import Databricks\n"
        "heavy = [m for m in ('core.client', 'core.transport', 'core.settings', 'core.codecs', 'aiohttp')"
        " if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_from_dict_round_trip(make_llm) -> None:
    llm = make_llm(
        host="https://x.example.com", token="dapi0123", temperature=0.3, reasoning_effort="low"
    )
    clone = Databricks.from_dict(llm.to_dict(), token="dapi0123")
    assert clone.to_dict() == llm.to_dict()
    assert clone.client.settings.token.get_secret_value() == "dapi0123"


def test_custom_tool_call_text_input(make_llm) -> None:
    llm = make_llm(model="databricks-gpt-5")
    llm.client.responses.append(
        NeutralResponse(
            parts=[ToolCallPart(id="ct", name="shell", arguments="ls -la", kind="custom")]
        )
    )
    resp = llm.chat([ChatMessage(role="user", content="list files")])
    (sel,) = llm.get_tool_calls_from_response(resp)
    assert (sel.tool_name, sel.tool_kwargs) == ("shell", {"input": "ls -la"})
    llm.chat([ChatMessage(role="user", content="list files"), resp.message])
    sent = llm.client.calls[-1][1][1].parts[0]
    assert sent == ToolCallPart(id="ct", name="shell", arguments="ls -la", kind="custom")
