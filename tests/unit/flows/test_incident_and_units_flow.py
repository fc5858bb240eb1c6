"""A major incident and free service units as scripted calls: the announcement right after the
greeting in the caller's language while an incident lasts, none once it ended; an intervention
outside the covered window uses a free unit, and the next notice says one fewer."""

from __future__ import annotations

from ivr.requests.create import open_request
from ivr.requests.units import act_on_request
from ivr.store import customers, incidents
from ivr.worker.runtime import Runtime
from tests.unit.flows.scripted import Press, Script
from tests.unit.flows.test_hotline_flow import PRO, UNKNOWN, place


async def test_callers_hear_the_incident_after_the_greeting_in_their_language(runtime: Runtime):
    await incidents.declare(runtime.redis, "DNS down", by="lea", now=runtime.now())

    call, _ = await place(runtime, Script(PRO, [Press("notice", "2")]))
    assert call.heard[:2] == [(("greeting",), "de"), (("incident",), "it")]
    call, _ = await place(runtime, Script(UNKNOWN, hang_up_at="account_request"))
    assert call.heard[1] == (("incident",), "de"), "unknown callers: the hotline's language"

    await incidents.end(runtime.redis, by="lea", now=runtime.now())
    call, _ = await place(runtime, Script(PRO, [Press("notice", "2")]))
    assert "incident" not in call.prompts_heard
    assert call.prompts_heard[0] == "greeting"


async def resolve_outside_cover(runtime: Runtime, customer_id: str) -> None:
    request = await open_request(
        runtime.redis,
        runtime.tables,
        summary="router replaced on Saturday",
        source="cli",
        created_by="test",
        now=runtime.now(),
        customer_id=customer_id,
    )
    assert request.covered is False
    await act_on_request(
        runtime.redis, request.id, "ack", by="marco", now=runtime.now(), zone=runtime.tables.zone
    )
    resolved = await act_on_request(
        runtime.redis,
        request.id,
        "resolve",
        by="marco",
        now=runtime.now(),
        zone=runtime.tables.zone,
        intervention="on_site",
        minutes=60,
    )
    assert [e["kind"] for e in resolved.history][-1] == "free_unit", "shown with the request"


async def test_an_intervention_outside_the_covered_window_uses_a_free_unit(runtime: Runtime):
    _, before = await place(runtime, Script(PRO, [Press("notice", "2")]))
    assert "ne ha ancora una a disposizione" in before.summary["notice_text"]  # 1 a month
    assert "fatturato" not in before.summary["notice_text"]

    await resolve_outside_cover(runtime, "studio-lugano")

    assert await customers.units_used(runtime.redis, "studio-lugano", 2026, 11) == 1
    _, after = await place(runtime, Script(PRO, [Press("notice", "2")]))
    assert "Questo mese non ne ha più a disposizione." in after.summary["notice_text"]
    assert "Un intervento Le sarà quindi fatturato." in after.summary["notice_text"]


async def test_a_covered_intervention_uses_no_free_unit(runtime: Runtime):
    request = await open_request(
        runtime.redis,
        runtime.tables,
        summary="PBX down",
        source="cli",
        created_by="test",
        now=runtime.now(),
        customer_id="klinik-seefeld",
    )
    assert request.covered is True
    await act_on_request(
        runtime.redis, request.id, "ack", by="marco", now=runtime.now(), zone=runtime.tables.zone
    )
    resolved = await act_on_request(
        runtime.redis,
        request.id,
        "resolve",
        by="marco",
        now=runtime.now(),
        zone=runtime.tables.zone,
        intervention="remote",
        minutes=10,
    )
    assert await customers.units_used(runtime.redis, "klinik-seefeld", 2026, 11) == 0
    assert "free_unit" not in [event["kind"] for event in resolved.history]
