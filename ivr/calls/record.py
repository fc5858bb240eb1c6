"""The record of one call as the worker writes it: one method for each thing that happens.

Fields and events are those of `ivr.calls.summary`. Writing the record must never cost the
caller their call or make them wait: the changes go to the worker's record writer
(`ivr.calls.writer`), which sends them with the next batch, and keeps what Redis did not take
until it answers again. Only the end of the call waits until its whole record is written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ivr.calls.backlog import RecordBacklog
from ivr.calls.summary import unknown_fields
from ivr.calls.writer import RecordWriter
from ivr.clock import Clock
from ivr.routing import Decision, explain
from ivr.store import calls
from ivr.store.calls import RecordChange


class CallRecorder:
    def __init__(
        self, redis: Redis, call_id: str, clock: Clock, writer: RecordWriter | None = None
    ) -> None:
        """Without a writer (tools, tests), every change is written before its method returns."""
        self.call_id = call_id
        self._redis = redis
        self._clock = clock
        self._writer = writer or RecordWriter(redis, RecordBacklog(redis), window=None)

    async def started(self, caller_number: str, caller_name: str, language: str) -> None:
        await self._write(
            calls.opened(
                self.call_id,
                caller_number,
                self._clock(),
                caller_name=caller_name,
                language=language,
            )
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

    async def overloaded(self, lag_seconds: float, asterisk_seconds: float) -> None:
        await self._event(
            "overload", lag_ms=round(lag_seconds * 1000), asterisk_ms=round(asterisk_seconds * 1000)
        )

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

    async def desk_answer_recorded(self) -> bool:
        """Whether the record says an agent at the desk answered (e.g. before its worker died)."""
        return (await self.summary()).get("desk_status") == "connected"

    async def bridge_recorded(self) -> bool:
        """Whether the record says whom the caller was bridged with (a worker that died may
        not have written it)."""
        return bool((await self.summary()).get("bridged_kind"))

    async def summary(self) -> dict:
        """The record's summary as written; empty when Redis does not answer (the call goes on:
        what it would have said is recorded again)."""
        record = await self.read()
        return record.summary if record is not None else {}

    async def read(self) -> calls.CallRecord | None:
        """The record as written (summary and events); None when Redis does not answer."""
        await self.written()
        try:
            return await calls.get_call(self._redis, self.call_id)
        except (RedisError, OSError):
            return None

    async def ended(self, outcome: str, hangup_side: str | None, cause: str | int | None) -> None:
        """The call is over: returns once its whole record is written (or kept for Redis)."""
        await self._write(calls.finished(self.call_id, self._clock(), outcome, hangup_side, cause))
        await self.written()

    async def written(self) -> None:
        """Return once every change made so far is written (or kept): before reading the record
        back, e.g. to open a request from it."""
        await self._writer.written(self.call_id)

    async def _update(self, **fields: Any) -> None:
        _check_fields(fields)
        await self._write(calls.fields_set(self.call_id, **fields))

    async def _update_with_event(self, fields: dict[str, Any], kind: str, **data: Any) -> None:
        """Summary fields and an event in one change."""
        _check_fields(fields)
        await self._write(calls.fields_and_event(self.call_id, fields, kind, self._clock(), **data))

    async def _event(self, kind: str, **data: Any) -> None:
        await self._write(calls.event_added(self.call_id, kind, self._clock(), **data))

    async def _write(self, change: RecordChange) -> None:
        await self._writer.submit(change)


def _check_fields(fields: dict[str, Any]) -> None:
    unknown = unknown_fields(fields)
    if unknown:
        raise ValueError(f"not fields of a call summary: {', '.join(unknown)}")
