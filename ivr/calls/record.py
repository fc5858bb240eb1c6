"""The record of one call as the worker writes it: one method for each thing that happens.

Fields and events are those of `ivr.calls.summary`. Writing the record must never cost the
caller their call, and a record is never lost to a Redis outage: a write that fails goes to
the worker's backlog (`ivr.calls.backlog`), with every later write of the call behind it, and
is written once Redis answers again; the call goes on meanwhile.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ivr.calls.backlog import RecordBacklog, Write
from ivr.calls.summary import unknown_fields
from ivr.clock import Clock
from ivr.routing import Decision, explain
from ivr.store import calls

log = logging.getLogger(__name__)


class CallRecorder:
    def __init__(
        self, redis: Redis, call_id: str, clock: Clock, backlog: RecordBacklog | None = None
    ) -> None:
        self.call_id = call_id
        self._redis = redis
        self._clock = clock
        self._backlog = backlog if backlog is not None else RecordBacklog(redis)

    async def started(self, caller_number: str, caller_name: str, language: str) -> None:
        await self._write(
            calls.start_call,
            self.call_id,
            caller_number,
            self._clock(),
            caller_name=caller_name,
            language=language,
        )

    async def first_prompt(self, delay_seconds: float | None) -> None:
        ms = None if delay_seconds is None else round(delay_seconds * 1000, 1)
        await self._update(first_prompt_ms=ms)

    async def prompt(self, ids: list[str], lang: str, text: str | None = None) -> None:
        said = {"text": text} if text else {}
        await self._event("prompt", ids=ids, lang=lang, **said)

    async def language_chosen(self, lang: str | None, key: str | None) -> None:
        if lang:
            await self._update(language=lang)
        await self._event("language", chosen=lang, key=key)

    async def pin_needed(self, reason: str) -> None:
        await self._event("pin_needed", reason=reason)

    async def pin_blocked(self, number: str) -> None:
        await self._event("pin_blocked", number=number)

    async def pin_attempt(self, attempt: int, keys: int, ok: bool) -> None:
        """How many keys were typed, never which."""
        await self._event("pin_attempt", attempt=attempt, keys=keys, ok=ok)

    async def identified(
        self, by: str, customer_id: str | None, customer_name: str | None, language: str
    ) -> None:
        summary = dict(
            identified=by, customer_id=customer_id, customer_name=customer_name, language=language
        )
        await self._update_with_event(summary, "identified", by=by, customer_id=customer_id)

    async def decided(self, decision: Decision) -> None:
        summary = dict(
            tier=decision.tier,
            tier_name=decision.tier_name,
            covered=decision.covered,
            destination=decision.destination,
            first_reaction_due=decision.first_reaction_due,
            tables_version=decision.tables_version,
            explanation=explain(decision),
        )
        await self._update_with_event(summary, "decision", decision=decision.to_json())

    async def notice(self, text: str) -> None:
        await self._update(notice_text=text)

    async def consented(self, answer: str, key: str | None, at: datetime) -> None:
        summary = dict(consent=answer, consent_key=key, consent_at=at)
        await self._update_with_event(summary, "consent", answer=answer, key=key)

    async def leg(self, role: str, leg_id: str, result: str, **detail: Any) -> None:
        await self._event("leg", role=role, id=leg_id, result=result, **detail)

    async def desk(self, status: str) -> None:
        """ringing, connected or unreachable; the call is the desk's from now on."""
        fields = {"desk_status": status}
        if status == "ringing":
            fields["destination"] = "desk"
        await self._update(**fields)

    async def queued(self, priority: int) -> None:
        """Waiting in the desk queue (the call is the desk's from now on)."""
        summary = dict(destination="desk", desk_status="queued", desk_priority=priority)
        await self._update_with_event(summary, "desk_queue", status="queued", priority=priority)

    async def desk_answered(self, agent: str) -> None:
        summary = dict(desk_status="connected", desk_agent_line=agent)
        await self._update_with_event(summary, "desk_queue", status="answered", agent=agent)

    async def callback_offered(self) -> None:
        await self._event("desk_queue", status="callback_offered")

    async def callback_requested(self, request_id: int, due: datetime | None) -> None:
        await self._update_with_event(
            dict(callback_request=request_id),
            "callback_requested",
            request_id=request_id,
            first_reaction_due=due,
            by="caller",
        )

    async def bridged(self, role: str, leg_id: str) -> None:
        summary = dict(bridged_to=leg_id, bridged_kind=role, bridged_at=self._clock())
        await self._update_with_event(summary, "bridged", role=role, id=leg_id)

    async def request_opened(self, request_id: int, technician_id: str | None) -> None:
        """A request to the technicians was opened for this call (`ivr.requests`)."""
        await self._update_with_event(
            dict(callback_request=request_id),
            "callback_requested",
            request_id=request_id,
            technician_id=technician_id,
        )

    async def overloaded(self, lag_seconds: float) -> None:
        await self._event("overload", lag_ms=round(lag_seconds * 1000))

    async def error(self, detail: str) -> None:
        await self._event("error", error=detail)

    async def orphan(
        self, detail: str, caller_number: str, caller_name: str, language: str
    ) -> None:
        """Found in our application with nobody handling it (its worker died): an `orphan` event,
        on a record opened now if the worker died before it wrote one."""
        try:
            known = await calls.call_exists(self._redis, self.call_id)
        except (RedisError, OSError):
            known = True  # the event waits in the backlog for Redis like any other write
        if not known:
            await self.started(caller_number, caller_name, language)
        await self._event("orphan", detail=detail)

    async def ended(self, outcome: str, hangup_side: str | None, cause: str | int | None) -> None:
        await self._write(
            calls.finish_call, self.call_id, self._clock(), outcome, hangup_side, cause
        )

    async def _update(self, **fields: Any) -> None:
        _check_fields(fields)
        await self._write(calls.update_call, self.call_id, **fields)

    async def _update_with_event(self, fields: dict[str, Any], kind: str, **data: Any) -> None:
        """Summary fields and an event in one write."""
        _check_fields(fields)
        await self._write(
            calls.update_call_with_event, self.call_id, fields, kind, self._clock(), **data
        )

    async def _event(self, kind: str, **data: Any) -> None:
        await self._write(calls.add_event, self.call_id, kind, self._clock(), **data)

    async def _write(self, write: Write, *args: Any, **kwargs: Any) -> None:
        if self._backlog.holds(self.call_id):
            self._backlog.keep(self.call_id, write, *args, **kwargs)
            return
        try:
            await write(self._redis, *args, **kwargs)
        except (RedisError, OSError) as error:
            log.error("call %s: record kept until Redis answers (%s)", self.call_id, error)
            self._backlog.keep(self.call_id, write, *args, **kwargs)
        except calls.UnknownCall as error:
            log.error("call %s: %s", self.call_id, error)


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = unknown_fields(fields)
    if unknown:
        raise ValueError(f"not fields of a call summary: {', '.join(unknown)}")
