"""Demo faults in a batch's FastAPI port, for `strangler serve --demo-fault` and the live pilot demo.

`BATCH:errors=0.1` answers 10 % of the batch's FastAPI requests with a 500 (without calling the app);
`BATCH:slow=2` makes them take twice as long (the app's time again as a sleep before the last body byte).
Only requests the router sends to FastAPI for that batch are touched: Flask stays healthy, so the pilot's
comparison sees the fault.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from strangler.errors import StranglerError

ASGIApp = Callable[[dict, Callable, Callable], Awaitable[None]]


@dataclass(frozen=True)
class Fault:
    errors: float = 0.0  # share of requests answered 500
    slow: float = 1.0  # latency multiplier

    def wrap(self, app: Any) -> ASGIApp:
        """The app with this fault applied to every request it serves."""

        async def faulty(scope: dict, receive: Callable, send: Callable) -> None:
            if self.errors and random.random() < self.errors:
                body = b"demo fault"
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            if self.slow == 1.0:
                await app(scope, receive, send)
                return
            t0 = time.perf_counter()

            async def send_late(message: dict) -> None:
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    await asyncio.sleep((self.slow - 1.0) * (time.perf_counter() - t0))
                await send(message)

            await app(scope, receive, send_late)

        return faulty


def parse(spec: str) -> tuple[str, Fault]:
    """'BATCH:errors=0.1' or 'BATCH:slow=2' (both may be given, comma separated) as (batch, Fault)."""
    batch, sep, rest = spec.rpartition(":")
    usage = f"--demo-fault {spec!r} must read BATCH:errors=0.1 or BATCH:slow=2"
    if not sep or not batch or not rest:
        raise StranglerError(usage)
    kw: dict[str, float] = {}
    for part in rest.split(","):
        key, eq, value = part.partition("=")
        try:
            number = float(value)
        except ValueError:
            raise StranglerError(usage) from None
        if not eq or key not in ("errors", "slow") or (key == "errors" and not 0 <= number <= 1) or number < 0:
            raise StranglerError(usage + " (errors between 0 and 1, slow at least 1)")
        if key == "slow" and number < 1:
            raise StranglerError(usage + " (errors between 0 and 1, slow at least 1)")
        kw[key] = number
    return batch, Fault(**kw)
