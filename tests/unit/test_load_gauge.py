"""The worker's load gauge measures the lag of its event loop and says when it is too long."""

from __future__ import annotations

import asyncio
import time

from ivr.worker.load import LoadGauge


async def test_an_idle_loop_is_not_overloaded():
    gauge = LoadGauge(limit=0.05)
    probe = asyncio.create_task(gauge.run())
    await asyncio.sleep(0.5)
    probe.cancel()
    assert gauge.lag < 0.05 and not gauge.overloaded


async def test_a_blocked_loop_is_overloaded_and_recovers():
    gauge = LoadGauge(limit=0.05)
    probe = asyncio.create_task(gauge.run())
    await asyncio.sleep(0.15)
    for _ in range(3):
        time.sleep(0.3)  # noqa: ASYNC251 - holding the loop, as hundreds of calls at once would
        await asyncio.sleep(0)
    assert gauge.overloaded, gauge.lag
    await asyncio.sleep(1.5)
    probe.cancel()
    assert not gauge.overloaded, gauge.lag


def test_slow_asterisk_answers_overload_the_worker_and_fast_ones_clear_it():
    gauge = LoadGauge(limit=0.5)
    gauge.note_response(2.0)  # one slow answer among many is no overload
    assert not gauge.overloaded, gauge.asterisk_delay
    for _ in range(20):
        gauge.note_response(2.0)
    assert gauge.overloaded and gauge.delay == gauge.asterisk_delay
    for _ in range(40):
        gauge.note_response(0.002)
    assert not gauge.overloaded, gauge.asterisk_delay
