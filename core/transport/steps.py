"""The steps every backend performs alike: auth header, gate, back-off sleep."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from core.transport.http import HttpTransport


class SyncSteps:
    __slots__ = ("t", "ops")

    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport
        # indexed by core.transport.flow's ops: AUTH, ACQUIRE, OPEN, READ, CHUNK, SLEEP
        self.ops = (self.auth, self.acquire, self.open, self.read, self.chunk, self.sleep)

    def auth(self, _: None) -> str:
        value: str = self.t.auth.header()
        return value

    def acquire(self, _: None) -> None:
        self.t.gate.acquire()  # type: ignore[union-attr]

    def sleep(self, seconds: float) -> None:
        self.t.sleep(seconds)

    # per backend
    def open(self, hop: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def read(self, handle: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def chunk(self, handle: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class AsyncSteps:
    __slots__ = ("t", "ops")

    def __init__(self, transport: HttpTransport) -> None:
        self.t = transport
        self.ops = (self.auth, self.acquire, self.open, self.read, self.chunk, self.sleep)

    async def auth(self, _: None) -> str:
        value: str = await self.t.auth.aheader()
        return value

    async def acquire(self, _: None) -> None:
        await self.t.gate.aacquire()  # type: ignore[union-attr]

    async def sleep(self, seconds: float) -> None:
        await self.t.asleep(seconds)

    # per backend
    async def open(self, hop: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    async def read(self, handle: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    async def chunk(self, handle: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError
