"""Fixtures for the LlamaIndex end-to-end tests: one emulator on 127.0.0.1 per session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from core.emulator import Emulator, run_emulator
from llamaindex_plugin import Databricks


@pytest.fixture(scope="session")
def emu() -> Iterator[Emulator]:
    with run_emulator(chunk_size=8) as emulator:
        yield emulator


@pytest.fixture
def _made_llms() -> list[Databricks]:
    return []


@pytest.fixture
def make_llm(emu: Emulator, _made_llms: list[Databricks]) -> Callable[..., Databricks]:
    """A fresh LLM per test (its async HTTP client belongs to this test's event loop)."""

    def make(model: str = "databricks-claude-sonnet-4-5", **kwargs: Any) -> Databricks:
        kwargs.setdefault("host", emu.host)
        kwargs.setdefault("token", emu.token)
        kwargs.setdefault("max_retries", 0)
        llm = Databricks(model=model, **kwargs)
        _made_llms.append(llm)
        return llm

    return make


@pytest.fixture(autouse=True)
async def _close_llms(_made_llms: list[Databricks]) -> AsyncIterator[None]:
    """Close every LLM a test made, on the test's own event loop (no leaked aiohttp sessions)."""
    yield
    for llm in _made_llms:
        await llm.aclose()
        llm.close()


class RequestLog:
    """The emulator's requests from the moment the fixture was created."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.start = len(emu.requests)

    @property
    def all(self) -> list[Any]:
        return [r for r in self.emu.requests[self.start :] if r.method == "POST"]

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [r.json for r in self.all]


@pytest.fixture
def log(emu: Emulator) -> RequestLog:
    return RequestLog(emu)
