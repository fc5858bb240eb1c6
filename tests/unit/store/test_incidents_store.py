"""Major incidents in Redis: one at a time, declared and ended atomically, ended ones kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from ivr.store import incidents
from ivr.store.incidents import IncidentRefused

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


async def test_declare_show_and_end(redis_client):
    assert await incidents.active(redis_client) is None
    declared = await incidents.declare(redis_client, " DNS down ", by="lea", now=T0)
    assert (declared.id, declared.summary) == (1, "DNS down")
    assert await incidents.active(redis_client) == declared
    ended = await incidents.end(redis_client, by="admin", now=T0 + timedelta(hours=1))
    assert (ended.id, ended.ended_by, ended.ended_at) == (1, "admin", T0 + timedelta(hours=1))
    assert await incidents.active(redis_client) is None
    assert await incidents.ended(redis_client) == [ended]


async def test_only_one_incident_at_a_time_even_declared_at_once(redis_client):
    results = await asyncio.gather(
        *(incidents.declare(redis_client, f"outage {n}", by="lea", now=T0) for n in range(5)),
        return_exceptions=True,
    )
    assert sum(not isinstance(result, Exception) for result in results) == 1
    refusals = [r for r in results if isinstance(r, IncidentRefused)]
    assert len(refusals) == 4 and "is active already" in str(refusals[0])


async def test_ending_nothing_and_empty_summaries_are_refused(redis_client):
    with pytest.raises(IncidentRefused, match="no major incident to end"):
        await incidents.end(redis_client, by="lea", now=T0)
    with pytest.raises(IncidentRefused, match="summary is empty"):
        await incidents.declare(redis_client, "  ", by="lea", now=T0)
    with pytest.raises(IncidentRefused, match="longer than 500"):
        await incidents.declare(redis_client, "x" * 501, by="lea", now=T0)
    assert await incidents.active(redis_client) is None
