"""Bad input is refused clearly, with a typed error, before anything is sent.

Every case runs against a live emulator and then asserts its request log is empty: the error
came from our validation, not from a server's 400. The same cases back the bad-input table in
docs/reliability.md (``python tests/test_bad_input.py`` prints it).
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Callable
from typing import Any

import pytest

from core.client import DatabricksChatClient
from core.emulator import run_emulator
from core.errors import ConfigurationError, DatabricksError, InvalidRequestError
from core.types import GenerationParams, MediaPart, Message, TextPart, Tool

CLAUDE = "databricks-claude-sonnet-4-5"
GPT5 = "databricks-gpt-5"
BIG_TEXT = "x" * (11 * 1024 * 1024)  # over the documented 10 MB request limit
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
NOT_AN_IMAGE = b"%PDF-1.7 this is not an image at all"
NOT_AN_IMAGE_B64 = base64.b64encode(NOT_AN_IMAGE).decode()
WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}


def user(*parts: Any) -> list[Message]:
    return [Message("user", list(parts))]


def hi() -> list[Message]:
    return user(TextPart("hi"))


# ---------------------------------------------------------------------------------------------
# Callers: each takes the emulator and makes one call (or construction) that must fail
# ---------------------------------------------------------------------------------------------
def core(model: str = CLAUDE, **settings: Any) -> Callable[..., Any]:
    def make(emu: Any) -> DatabricksChatClient:
        settings.setdefault("token", emu.token)
        return DatabricksChatClient(model=model, host=settings.pop("host", emu.host), **settings)

    return make


def core_call(messages: list[Message], params: GenerationParams | None = None,
              mode: str = "sync", **settings: Any) -> Callable[[Any], Any]:  # fmt: skip
    model = settings.pop("model", CLAUDE)

    def run(emu: Any) -> Any:
        client = core(model, **dict(settings))(emu)
        p = params or GenerationParams()
        if mode == "sync":
            return client.complete(messages, p)
        if mode == "stream":
            return list(client.stream(messages, p))

        async def go() -> Any:
            try:
                if mode == "astream":
                    return [d async for d in client.astream(messages, p)]
                return await client.acomplete(messages, p)
            finally:
                await client.aclose()

        return asyncio.run(go())

    return run


def construct(model: str = CLAUDE, **settings: Any) -> Callable[[Any], Any]:
    return lambda emu: core(model, **dict(settings))(emu)


def lc(call: Callable[[Any], Any], model: str = CLAUDE, **kw: Any) -> Callable[[Any], Any]:
    def run(emu: Any) -> Any:
        from langchain_plugin import ChatDatabricks

        kw.setdefault("api_key", emu.token)
        llm = ChatDatabricks(model=model, host=kw.pop("host", emu.host), **kw)
        return call(llm)

    return run


def li(call: Callable[[Any], Any], model: str = CLAUDE, **kw: Any) -> Callable[[Any], Any]:
    def run(emu: Any) -> Any:
        from llamaindex_plugin import Databricks

        kw.setdefault("token", emu.token)
        llm = Databricks(model=model, host=kw.pop("host", emu.host), **kw)
        return call(llm)

    return run


def _lc_msgs(*content: Any) -> Any:
    from langchain_core.messages import HumanMessage

    return [HumanMessage(content=list(content))]


def _lc_role() -> Any:
    from langchain_core.messages import ChatMessage

    return [ChatMessage(role="wizard", content="hi")]


def _li_image(data: bytes) -> Any:
    from llama_index.core.base.llms.types import ImageBlock, TextBlock
    from llama_index.core.llms import ChatMessage

    return [ChatMessage(role="user", blocks=[TextBlock(text="what is this?"), ImageBlock(image=data)])]


def _li_tool(name: str) -> Any:
    from llama_index.core.tools import FunctionTool

    def weather(city: str) -> str:
        """Current weather for a city."""
        return "sunny"

    return FunctionTool.from_defaults(weather, name=name)


# ---------------------------------------------------------------------------------------------
# The table: (what, through, caller, error class, message regex)
# ---------------------------------------------------------------------------------------------
CASES: list[tuple[str, str, Callable[[Any], Any], type[DatabricksError], str]] = [
    # unknown message role / content block
    ("unknown message role", "core", core_call([Message("wizard", [TextPart("hi")])]),  # type: ignore[arg-type]
     InvalidRequestError, r"message 0 has unknown role 'wizard'"),
    ("unknown message role (Responses API)", "core",
     core_call([Message("wizard", [TextPart("hi")])], model=GPT5, use_responses_api=True),  # type: ignore[arg-type]
     InvalidRequestError, r"unknown message role 'wizard'"),
    ("unknown message role", "LangChain", lc(lambda m: m.invoke(_lc_role())),
     InvalidRequestError, r"unsupported chat message role 'wizard'"),
    ("unknown content block", "core", core_call(user({"type": "hologram"})),
     InvalidRequestError, r"message 0 \(user\) cannot hold a dict"),
    ("unknown content block", "LangChain",
     lc(lambda m: m.invoke(_lc_msgs({"type": "hologram", "data": 1}))),
     InvalidRequestError, r"unsupported content block type 'hologram'"),
    # an image that is not an image
    ("image bytes that are not an image", "core",
     core_call(user(TextPart("what?"), MediaPart("image", data=NOT_AN_IMAGE, mime_type="image/png"))),
     InvalidRequestError, r"image bytes are not a PNG, JPEG, GIF or WebP image"),
    ("image data: URI holding no image", "core",
     core_call(user(MediaPart("image", url=f"data:image/png;base64,{NOT_AN_IMAGE_B64}"))),
     InvalidRequestError, r"image data URI does not hold a PNG, JPEG, GIF or WebP image"),
    ("image with a non-image MIME type", "core",
     core_call(user(MediaPart("image", url="data:text/plain;base64,aGVsbG8="))),
     InvalidRequestError, r"image data URI is not of an image type"),
    ("image with a non-image MIME type", "core",
     core_call(user(MediaPart("image", data=PNG, mime_type="text/plain"))),
     InvalidRequestError, r"image part has MIME type 'text/plain', which is not an image type"),
    ("base64 image block that is not an image", "LangChain",
     lc(lambda m: m.invoke(_lc_msgs({"type": "image", "base64": NOT_AN_IMAGE_B64, "mime_type": "image/png"}))),
     InvalidRequestError, r"image data URI does not hold a PNG, JPEG, GIF or WebP image"),
    ("ImageBlock bytes that are not an image", "LlamaIndex",
     li(lambda m: m.chat(_li_image(NOT_AN_IMAGE))),  # LlamaIndex sniffs application/pdf
     InvalidRequestError, r"image part has MIME type 'application/pdf', which is not an image type"),
    ("ImageBlock bytes that are no known format", "LlamaIndex",
     li(lambda m: m.chat(_li_image(b"just some bytes, no magic number"))),
     InvalidRequestError, r"image bytes are not a PNG, JPEG, GIF or WebP image"),
    # oversized payloads
    ("request over 10 MB (text)", "core", core_call(user(TextPart(BIG_TEXT))),
     InvalidRequestError, r"the request is 11\.0 MB; Databricks model serving accepts at most 10 MB"),
    ("request over 10 MB (text), async", "core", core_call(user(TextPart(BIG_TEXT)), mode="async"),
     InvalidRequestError, r"at most 10 MB"),
    ("request over 10 MB (text), streaming", "core", core_call(user(TextPart(BIG_TEXT)), mode="stream"),
     InvalidRequestError, r"at most 10 MB"),
    ("inline images over 10 MB", "core",
     core_call(user(MediaPart("image", data=PNG + b"\x00" * (8 * 1024 * 1024), mime_type="image/png"))),
     InvalidRequestError, r"inline media in this request exceed 10 MB once base64-encoded"),
    ("request over 10 MB", "LangChain", lc(lambda m: m.invoke(BIG_TEXT)),
     InvalidRequestError, r"at most 10 MB"),
    ("request over 10 MB, async", "LangChain", lc(lambda m: asyncio.run(m.ainvoke(BIG_TEXT))),
     InvalidRequestError, r"at most 10 MB"),
    ("request over 10 MB", "LlamaIndex", li(lambda m: m.complete(BIG_TEXT)),
     InvalidRequestError, r"at most 10 MB"),
    ("request over 10 MB, async", "LlamaIndex", li(lambda m: asyncio.run(m.acomplete(BIG_TEXT))),
     InvalidRequestError, r"at most 10 MB"),
    # tools
    ("tool name with a space", "core",
     core_call(hi(), GenerationParams(tools=[Tool("get weather", parameters=WEATHER_SCHEMA)])),
     InvalidRequestError, r"tool name 'get weather' is not allowed: names must match \[a-zA-Z0-9_-\]\+"),
    ("tool schema that is not an object schema", "core",
     core_call(hi(), GenerationParams(tools=[Tool("weather", parameters={"type": "array"})])),
     InvalidRequestError, r"tool 'weather': parameters must be a JSON schema of type 'object'"),
    ("tool schema whose properties are not an object", "core",
     core_call(hi(), GenerationParams(tools=[Tool("weather", parameters={"type": "object", "properties": "city"})])),
     InvalidRequestError, r"tool 'weather': parameters must be a JSON schema of type 'object'"),
    ("tool name with a space", "LangChain",
     lc(lambda m: m.bind_tools([{"type": "function", "function": {"name": "get weather", "parameters": WEATHER_SCHEMA}}]).invoke("hi")),
     InvalidRequestError, r"tool name 'get weather' is not allowed"),
    ("tool schema that is not an object schema", "LangChain",
     lc(lambda m: m.bind_tools([{"type": "function", "function": {"name": "w", "parameters": {"type": "array"}}}]).invoke("hi")),
     InvalidRequestError, r"tool 'w': parameters must be a JSON schema of type 'object'"),
    ("tool_choice naming a tool that is not bound", "LangChain",
     lc(lambda m: m.bind_tools([{"type": "function", "function": {"name": "w", "parameters": WEATHER_SCHEMA}}], tool_choice="other").invoke("hi")),
     InvalidRequestError, r"Tool choice 'other' was specified, but it is not among the tools given"),
    ("tool name with a space", "LlamaIndex",
     li(lambda m: m.chat_with_tools([_li_tool("get weather")], user_msg="hi")),
     InvalidRequestError, r"tool name 'get weather' is not allowed"),
    # reasoning
    ("thinking_budget >= max_tokens", "core",
     core_call(hi(), GenerationParams(thinking_budget=4096, max_tokens=4096)),
     InvalidRequestError, r"thinking_budget \(4096\) must be less than max_tokens \(4096\)"),
    ("thinking_budget >= max_tokens, async streaming", "core",
     core_call(hi(), GenerationParams(thinking_budget=4096, max_tokens=2048), mode="astream"),
     InvalidRequestError, r"thinking_budget \(4096\) must be less than max_tokens \(2048\)"),
    ("thinking_budget >= max_tokens", "LangChain",
     lc(lambda m: m.invoke("hi"), thinking_budget=4096, max_tokens=2048),
     InvalidRequestError, r"thinking_budget \(4096\) must be less than max_tokens \(2048\)"),
    ("thinking_budget >= max_tokens", "LlamaIndex",
     li(lambda m: m.complete("hi"), thinking_budget=4096, max_tokens=2048),
     InvalidRequestError, r"thinking_budget \(4096\) must be less than max_tokens \(2048\)"),
    # Apps need OAuth
    ("PAT used for an Apps agent", "core", construct("apps/my-agent"),
     ConfigurationError, r"'apps/my-agent' is a Databricks App but the configured credentials are a pat"),
    ("PAT used for an Apps agent", "LangChain", lc(lambda m: m, model="apps/my-agent"),
     ConfigurationError, r"Databricks Apps accept OAuth tokens only"),
    ("PAT used for an Apps agent", "LlamaIndex", li(lambda m: m, model="apps/my-agent"),
     ConfigurationError, r"Databricks Apps accept OAuth tokens only"),
    # Responses-only / stateful parameters on pay-per-token
    ("store=True on pay-per-token Responses", "core",
     core_call(hi(), GenerationParams(extra_body={"store": True}), model=GPT5, use_responses_api=True),
     InvalidRequestError, r"store not supported by pay-per-token Responses endpoints"),
    ("previous_response_id / background / service_tier", "core",
     core_call(hi(), GenerationParams(extra_body={"previous_response_id": "resp_1", "background": True, "service_tier": "flex"}),
               model=GPT5, use_responses_api=True),
     InvalidRequestError, r"background, previous_response_id, service_tier not supported by pay-per-token"),
    ("top_k on the Responses API", "core",
     core_call(hi(), GenerationParams(top_k=5), model=GPT5, use_responses_api=True),
     InvalidRequestError, r"The Responses API does not take top_k"),
    ("store=True on pay-per-token Responses", "LangChain",
     lc(lambda m: m.invoke("hi", store=True), model=GPT5, use_responses_api=True),
     InvalidRequestError, r"store not supported by pay-per-token Responses endpoints"),
    ("store=True on pay-per-token Responses", "LlamaIndex",
     li(lambda m: m.complete("hi", store=True), model=GPT5, use_responses_api=True),
     InvalidRequestError, r"store not supported by pay-per-token Responses endpoints"),
    # hosts
    ("a host that is not a URL", "core", construct(host="not a url at all"),
     ConfigurationError, r"host 'not a url at all' is not a URL"),
    ("a host with a non-numeric port", "core", construct(host="https://adb-1.azuredatabricks.net:44x"),
     ConfigurationError, r"is not a URL: its port is not a number"),
    ("a host with another scheme", "core", construct(host="ftp://adb-1.azuredatabricks.net"),
     ConfigurationError, r"host 'ftp://adb-1.azuredatabricks.net' is not an http\(s\) URL"),
    ("http:// to a non-loopback host", "core", construct(host="http://adb-1.azuredatabricks.net"),
     ConfigurationError, r"refusing plain http:// for adb-1\.azuredatabricks\.net: credentials would travel unencrypted"),
    ("http:// base_url to a non-loopback host", "core",
     construct(host="https://adb-1.azuredatabricks.net", base_url="http://proxy.example.com/v1"),
     ConfigurationError, r"refusing plain http:// for proxy\.example\.com"),
    ("a host that is not a URL", "LangChain", lc(lambda m: m, host="not a url"),
     ConfigurationError, r"host 'not a url' is not a URL"),
    ("http:// to a non-loopback host", "LangChain", lc(lambda m: m, host="http://example.com"),
     ConfigurationError, r"refusing plain http:// for example\.com"),
    ("a host that is not a URL", "LlamaIndex", li(lambda m: m, host="not a url"),
     ConfigurationError, r"host 'not a url' is not a URL"),
    ("http:// to a non-loopback host", "LlamaIndex", li(lambda m: m, host="http://example.com"),
     ConfigurationError, r"refusing plain http:// for example\.com"),
]  # fmt: skip


@pytest.fixture(scope="module")
def emu():
    with run_emulator() as e:
        yield e


def _id(case: tuple[Any, ...]) -> str:
    return f"{case[1]}: {case[0]}"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_bad_input_is_refused_before_sending(emu, case):
    _what, _through, call, error, pattern = case
    emu.clear_requests()
    with pytest.raises(error) as info:
        call(emu)
    assert re.search(pattern, str(info.value)), str(info.value)
    # a ValueError too, so generic `except ValueError` handlers (and pydantic) see it
    assert isinstance(info.value, ValueError)
    assert emu.requests == [], [(r.method, r.path) for r in emu.requests]


def test_good_input_of_the_same_shapes_is_sent(emu):
    """The validations are not over-eager: the corrected inputs go through."""
    emu.clear_requests()
    client = core()(emu)
    client.complete(user(TextPart("what?"), MediaPart("image", data=PNG, mime_type="image/png")),
                    GenerationParams(tools=[Tool("get_weather", parameters=WEATHER_SCHEMA)]))  # fmt: skip
    client.complete(hi(), GenerationParams(thinking_budget=1024, max_tokens=2048))
    data_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    client.complete(user(MediaPart("image", url=data_uri)), GenerationParams())
    assert len(emu.requests) == 3


def test_llamaindex_unknown_role_is_refused_by_llamaindex_itself():
    """LlamaIndex validates roles in ChatMessage (an enum); nothing of ours is reached."""
    from llama_index.core.llms import ChatMessage
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="role"):
        ChatMessage(role="wizard", content="hi")


def markdown_table() -> str:  # pragma: no cover - used to write docs/reliability.md
    rows = ["| bad input | through | error | message (start) |", "|---|---|---|---|"]
    with run_emulator() as e:
        for what, through, call, _error, _pattern in CASES:
            try:
                call(e)
            except DatabricksError as exc:
                first = str(exc).splitlines()[0].replace("|", "\\|")
                if len(first) > 150:
                    first = first[:147] + "..."
                rows.append(f"| {what} | {through} | `{type(exc).__name__}` | {first} |")
            else:
                rows.append(f"| {what} | {through} | (no error!) | |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table())
