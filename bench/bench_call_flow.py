"""Concurrent calls through the real hotline: the covered path and the notice path.

SIPp places N calls at once into the support number; SIPp phones stand in for the technicians
(they answer and press 1 during the whisper) and for the desk, seated in the desk queue as one
member per call like bench_load's stand-in call centre. The real worker (`ivr serve`)
routes them at Saturday 10:15, where premium is covered and pro is not. Prints per path: calls
completed and failed (SIPp's verdict and the call record's outcome), the worker's CPU seconds
per call, and the median and 99th percentile from StasisStart to the first prompt starting
(Asterisk's own timestamps, recorded by the worker as first_prompt_ms).

Needs root (SIPp's DTMF) and the machine to itself; hold the e2e lock:
    flock /tmp/winet-e2e.lock .venv/bin/python -m bench.bench_call_flow [--calls 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from bench.bench_load import (
    BENCH_REDIS_DB,
    DESK_PORT,
    SATURDAY_MORNING,
    TECHNICIAN_PORTS,
    seat_desk_agents,
    unseat_desk_agents,
)
from ivr import store
from ivr.store import calls as call_records
from tests.harness.sipp import answering_phone, place_calls
from tests.harness.worker import Worker, prepare_stack


@dataclass(frozen=True)
class CallPath:
    name: str
    caller: str
    dtmf: tuple[tuple[float, str], ...]
    hangup_after: float
    outcome: str  # what the call record must say


PATHS = (
    # Klinik Seefeld, premium: the standby technician answers and accepts, then talks.
    CallPath("covered", "+41441234567", (), 12.0, "technician"),
    # Studio Lugano, pro: presses 1 during the notice, is put through to the desk.
    CallPath("notice", "+41912345678", ((3.5, "1"),), 14.0, "desk"),
)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50, help="calls per path, all at once")
    parser.add_argument("--rate", type=float, default=10.0, help="calls started per second")
    options = parser.parse_args()

    settings = await asyncio.to_thread(prepare_stack, BENCH_REDIS_DB)
    worker = Worker(settings, SATURDAY_MORNING, Path(tempfile.mkdtemp(prefix="bench-worker-")))
    await asyncio.to_thread(worker.start)
    redis = store.connect(settings)
    await asyncio.to_thread(seat_desk_agents, settings, options.calls)
    try:
        async with AsyncExitStack() as phones:
            for name, port in TECHNICIAN_PORTS.items():
                await phones.enter_async_context(
                    answering_phone(name, port, answer_after=0.5, dtmf_schedule=[(1.0, "1")])
                )
            await phones.enter_async_context(answering_phone("xy-desk", DESK_PORT))
            print(f"{options.calls} concurrent calls per path, started at {options.rate}/s")
            print(
                f"{'path':8} {'calls':>5} {'done':>5} {'failed':>6} {'CPU/call':>9} "
                f"{'1st prompt p50':>15} {'p99':>8}"
            )
            for path in PATHS:
                await run_path(path, options.calls, options.rate, worker, redis)
    finally:
        await asyncio.to_thread(unseat_desk_agents, settings, options.calls)
        await redis.aclose()
        await asyncio.to_thread(worker.stop)


async def run_path(path: CallPath, count: int, rate: float, worker: Worker, redis) -> None:
    before = {summary["call_id"] for summary in await call_records.list_calls(redis, limit=10**6)}
    cpu_before = worker.cpu_seconds()
    load = await place_calls(
        count,
        concurrent=count,
        rate=rate,
        caller_ids=[path.caller],
        dtmf_schedule=path.dtmf,
        hangup_after=path.hangup_after,
    )
    records = await ended_records(redis, before, count)
    cpu = worker.cpu_seconds() - cpu_before
    good = [r for r in records if r.get("outcome") == path.outcome]
    delays = sorted(r["first_prompt_ms"] for r in records if r.get("first_prompt_ms") is not None)
    done = min(load.successful, len(good))
    print(
        f"{path.name:8} {count:5} {done:5} {count - done:6} {cpu / count * 1000:7.1f}ms "
        f"{statistics.median(delays):13.1f}ms {percentile(delays, 99):6.1f}ms"
    )
    outcomes = sorted({r.get("outcome") for r in records} - {path.outcome})
    if load.failed or outcomes:
        print(f"         SIPp failed {load.failed}; other outcomes: {outcomes}")


async def ended_records(redis, before: set[str], count: int, within: float = 60.0) -> list[dict]:
    """The records of the calls placed since `before`, once all have ended."""
    deadline = time.monotonic() + within
    while True:
        summaries = await call_records.list_calls(redis, limit=10**6)
        new = [s for s in summaries if s["call_id"] not in before]
        if len(new) >= count and all(s.get("ended_at") for s in new):
            return new
        if time.monotonic() > deadline:
            return new
        await asyncio.sleep(0.5)


def percentile(values: list[float], percent: float) -> float:
    """Nearest-rank percentile of sorted values."""
    rank = max(1, round(percent / 100 * len(values)))
    return values[min(rank, len(values)) - 1]


if __name__ == "__main__":
    asyncio.run(main())
