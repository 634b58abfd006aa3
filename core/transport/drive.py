"""Run a :class:`~core.transport.flow.Flow`: perform each step it asks for, sync or async.

``ops`` is a backend's tuple of callables indexed by step op (AUTH, ACQUIRE, OPEN, READ, CHUNK,
SLEEP); ``close`` closes a stream the consumer abandoned. These four functions are the only
code that differs between the sync and the async paths: the awaiting.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import Any

from core.transport.flow import Flow

Ops = Sequence[Callable[[Any], Any]]


def run(steps: Generator[Any, Any, Any], ops: Ops) -> Any:
    value = None
    try:
        while True:
            op, arg = steps.send(value)
            value = ops[op](arg)
    except StopIteration as done:
        return done.value
    finally:
        steps.close()


async def arun(steps: Generator[Any, Any, Any], ops: Ops) -> Any:
    value = None
    try:
        while True:
            op, arg = steps.send(value)
            value = await ops[op](arg)
    except StopIteration as done:
        return done.value
    finally:
        steps.close()


def run_stream(flow: Flow, ops: Ops, close: Callable[[Any], None]) -> Generator[Any, None, None]:
    steps, value = flow.stream(), None
    try:
        while True:
            step = steps.send(value)
            if step.__class__ is tuple:
                value = ops[step[0]](step[1])
            else:
                value = None
                yield step
    except StopIteration:
        return
    finally:
        if flow.handle is not None:
            close(flow.handle)
        steps.close()


async def arun_stream(
    flow: Flow, ops: Ops, close: Callable[[Any], Any]
) -> AsyncGenerator[Any, None]:
    steps, value = flow.stream(), None
    try:
        while True:
            step = steps.send(value)
            if step.__class__ is tuple:
                value = await ops[step[0]](step[1])
            else:
                value = None
                yield step
    except StopIteration:
        return
    finally:
        if flow.handle is not None:
            await close(flow.handle)
        steps.close()
