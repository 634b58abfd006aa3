"""The perfect adapters: each framework's own chat model doing raw I/O (used by worker.py).

The floor an adapter could reach: the framework's model (as in the no-I/O rows) whose calls do
raw httpx (sync) or raw aiohttp (async) and the least conversion possible. Measured rather than
added up: with 1,000 calls in flight the framework's per-call objects stay alive across the
network wait, and the garbage collector's cost of that only shows when both run together.
Imported lazily by worker.py (it runs under any interpreter with stdlib imports only).
"""

from __future__ import annotations

import json


def _body(model: str, pairs) -> dict:
    return {"model": model, "messages": [{"role": r, "content": c} for r, c in pairs]}


def _usage(data: dict) -> dict:
    u = data.get("usage") or {}
    return {"input_tokens": u.get("prompt_tokens", 0), "output_tokens":
            u.get("completion_tokens", 0), "total_tokens": u.get("total_tokens", 0)}


def _sse_deltas(lines):
    for line in lines:
        if line.startswith("data: ") and line != "data: [DONE]":
            choices = json.loads(line[6:])["choices"]
            if choices:
                text = choices[0]["delta"].get("content")
                if text:
                    yield text


class RawIO:
    """Raw httpx (sync) and one aiohttp session (async) to the load server."""

    def __init__(self, host: str, token: str) -> None:
        import httpx

        self.url = host + "/serving-endpoints/chat/completions"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.client = httpx.Client(headers=self.headers)
        self.session = None

    def post(self, body: dict) -> dict:
        r = self.client.post(self.url, json=body)
        r.raise_for_status()
        return r.json()

    def stream(self, body: dict):
        with self.client.stream("POST", self.url, json={**body, "stream": True}) as r:
            r.raise_for_status()
            yield from _sse_deltas(r.iter_lines())

    async def apost(self, body: dict) -> dict:
        import aiohttp

        if self.session is None:
            self.session = aiohttp.ClientSession(headers=self.headers,
                                                 timeout=aiohttp.ClientTimeout(total=60))
        async with self.session.post(self.url, json=body) as r:
            r.raise_for_status()
            return await r.json()

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
        self.client.close()


def langchain_model(io: RawIO, model: str):
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    roles = {"system": "system", "human": "user", "ai": "assistant"}

    def body(messages) -> dict:
        return _body(model, ((roles[m.type], m.content) for m in messages))

    def result(data: dict) -> ChatResult:
        choice = data["choices"][0]
        msg = AIMessage(content=choice["message"]["content"], usage_metadata=_usage(data),
                        response_metadata={"model_name": data.get("model"),
                                           "finish_reason": choice.get("finish_reason")})
        return ChatResult(generations=[ChatGeneration(message=msg)])

    class RawChatModel(BaseChatModel):
        @property
        def _llm_type(self) -> str:
            return "raw"

        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            return result(io.post(body(messages)))

        async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs):
            return result(await io.apost(body(messages)))

        def _stream(self, messages, stop=None, run_manager=None, **kwargs):
            for text in io.stream(body(messages)):
                yield ChatGenerationChunk(message=AIMessageChunk(content=text))
            yield ChatGenerationChunk(message=AIMessageChunk(content="", chunk_position="last"))

    return RawChatModel()


def llamaindex_llm(io: RawIO, model: str):
    from llama_index.core.base.llms.types import ChatMessage, ChatResponse, LLMMetadata
    from llama_index.core.llms import LLM
    from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback

    def body(messages) -> dict:
        return _body(model, ((m.role.value, m.content) for m in messages))

    def response(data: dict) -> ChatResponse:
        content = data["choices"][0]["message"]["content"]
        return ChatResponse(message=ChatMessage(role="assistant", content=content), raw=data)

    class RawLLM(LLM):
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(is_chat_model=True, model_name="raw")

        @llm_chat_callback()
        def chat(self, messages, **kwargs):
            return response(io.post(body(messages)))

        @llm_chat_callback()
        def stream_chat(self, messages, **kwargs):
            def gen():
                text = ""
                for delta in io.stream(body(messages)):
                    text += delta
                    yield ChatResponse(message=ChatMessage(role="assistant", content=text),
                                       delta=delta)

            return gen()

        @llm_chat_callback()
        async def achat(self, messages, **kwargs):
            return response(await io.apost(body(messages)))

        @llm_chat_callback()
        async def astream_chat(self, messages, **kwargs):
            raise NotImplementedError

        @llm_completion_callback()
        def complete(self, prompt, formatted=False, **kwargs):
            raise NotImplementedError

        @llm_completion_callback()
        def stream_complete(self, prompt, formatted=False, **kwargs):
            raise NotImplementedError

        @llm_completion_callback()
        async def acomplete(self, prompt, formatted=False, **kwargs):
            raise NotImplementedError

        @llm_completion_callback()
        async def astream_complete(self, prompt, formatted=False, **kwargs):
            raise NotImplementedError

    return RawLLM()
