"""The local data plane: one event-loop thread running the load balancers (and the task runner).

`DataPlane.start(ctx)` starts it for the account and region of an emulator's AWS context;
`stop()` ends every proxy, probe and part it started, so nothing is left listening. The
data plane follows moto's in-process models (emulator/moto_server.py runs moto in this
process), so it reads and writes them directly, as an ECS agent and a load balancer would.

The task runner plugs in as a `Part`: pass it in `parts=`; it is started after the load
balancers (it registers its tasks' ports as targets) and stopped before them.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, Protocol, TypeVar

from emulator.alb import LoadBalancers
from emulator.clock import Clock
from emulator.moto_server import ACCOUNT_ID

REFRESH_SECONDS = 0.2  # real seconds between looks at moto's models (an agent's poll)
CALL_TIMEOUT = 30  # real seconds a start, stop or refresh may take before it is an error
T = TypeVar("T")
log = logging.getLogger(__name__)


class Part(Protocol):
    """Something the data plane runs beside the load balancers (the ECS task runner)."""

    def start(self, plane: DataPlane) -> object:
        """Start; `plane` gives the account, region, clock, loop and target-health table."""

    def stop(self) -> object:
        """Stop everything this part started (containers, processes)."""


class DataPlane:
    """The running data plane of one emulated account and region."""

    def __init__(
        self, region: str, account_id: str = ACCOUNT_ID, clock: Clock | None = None
    ) -> None:
        self.region = region
        self.account_id = account_id
        self.clock = clock or Clock()
        self.load_balancers = LoadBalancers(account_id, region, self.clock)
        self.parts: list[Part] = []
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self.loop.run_forever, name="data-plane", daemon=True
        )
        self._refresher: asyncio.Task | None = None
        self._running = False

    @classmethod
    def start(
        cls,
        ctx: Any = None,
        *,
        region: str | None = None,
        account_id: str = ACCOUNT_ID,
        clock: Clock | None = None,
        parts: Sequence[Part] = (),
    ) -> DataPlane:
        """Start the data plane for `ctx`'s region (an emulator AwsContext) or `region`."""
        if ctx is not None and getattr(ctx, "kind", "moto") != "moto":
            raise ValueError(
                f"the local data plane runs beside the embedded moto server, not {ctx.kind}"
            )
        chosen = region or (ctx.region if ctx is not None else None)
        if not chosen:
            raise ValueError("say which region the data plane serves: pass ctx or region")
        plane = cls(chosen, account_id, clock)
        plane._thread.start()
        try:
            plane.run(plane._start())
            for part in parts:
                part.start(plane)
                plane.parts.append(part)
        except BaseException:
            plane.stop()
            raise
        return plane

    async def _start(self) -> None:
        self._running = True
        await self.load_balancers.start()
        self._refresher = asyncio.create_task(self._refresh_forever())

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            try:
                await self.load_balancers.refresh()
            except Exception:  # moto changed under it (a reset): try again next poll
                log.exception("data plane refresh failed")

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run `coroutine` on the data plane's loop and return its result (from any thread)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(CALL_TIMEOUT)

    def refresh(self) -> None:
        """Pick up moto's changes now (new listeners, registered targets) instead of next poll."""
        self.run(self.load_balancers.refresh())

    @property
    def table(self) -> Any:
        """Return the target-health table (emulator.targets.HealthTable) the checker writes."""
        return self.load_balancers.table

    def urls(self) -> dict[str, dict[int, str]]:
        """Return each load balancer's local URLs, by listener port."""
        return self.run(_call(self.load_balancers.urls))

    def url_for(self, load_balancer: str, port: int | None = None) -> str:
        """Return the local URL of a load balancer's listener (port 80, else its first)."""
        listeners = self.urls().get(load_balancer)
        if not listeners:
            raise KeyError(
                f"no HTTP listener of a load balancer named {load_balancer!r} is proxied"
            )
        if port is not None:
            if port not in listeners:
                raise KeyError(f"load balancer {load_balancer!r} has no HTTP listener on {port}")
            return listeners[port]
        return listeners.get(80) or next(iter(listeners.values()))

    def stop(self) -> None:
        """Stop the parts, then every proxy and probe; close the loop (idempotent)."""
        try:
            for part in reversed(self.parts):
                part.stop()
        finally:
            self.parts.clear()
            self._stop_loop()

    def _stop_loop(self) -> None:
        if self._thread.is_alive():
            try:
                self.run(self._stop())
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self._thread.join(CALL_TIMEOUT)
        if not self.loop.is_running() and not self.loop.is_closed():
            self.loop.close()

    async def _stop(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)
        if self._running:
            self._running = False
            await self.load_balancers.stop()

    def __repr__(self) -> str:
        state = "running" if self._thread.is_alive() else "stopped"
        proxied = len(self.load_balancers.proxies)
        return (
            f"DataPlane(local data plane, {self.region}, {state}, {self.clock.label}, "
            f"{proxied} listener(s) proxied)"
        )

    def __enter__(self) -> DataPlane:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


async def _call(function: Any) -> Any:
    return function()
