"""The one schema of a call record's summary: every field the worker and the desk write, typed.

The worker writes it through `ivr.calls.record.CallRecorder`, the desk view through
`ivr.store.calls.update_call`; both refuse a field that is not declared here. Readers (the
desk view, `ivr calls`, the admin console) turn the stored fields into a `CallSummary`.
Timeline events are listed in `EVENT_KINDS`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class CallSummary:
    call_id: str
    # who called
    caller_number: str | None = None  # E.164 or what the caller ID said; None when withheld
    caller_name: str | None = None  # the caller ID name: untrusted text
    started_at: datetime | None = None
    language: str | None = None
    first_prompt_ms: float | None = None  # from entering our application to the first sound
    identified: str | None = None  # caller_id, pin or no
    customer_id: str | None = None
    customer_name: str | None = None
    # what the routing core decided
    tier: str | None = None
    tier_name: str | None = None
    covered: bool | None = None
    destination: str | None = None  # technician or desk
    first_reaction_due: datetime | None = None
    tables_version: str | None = None
    explanation: str | None = None
    # the cost notice and the caller's answer
    notice_text: str | None = None
    consent: str | None = None  # accepted, withdrawn or silence
    consent_key: str | None = None
    consent_at: datetime | None = None
    # where the call went
    desk_status: str | None = None  # queued, connected or unreachable
    desk_priority: int | None = None  # in the desk queue (routing.desk_priority), higher first
    desk_agent_line: str | None = None  # the desk agent's phone (endpoint) that answered
    bridged_to: str | None = None  # the technician's or the desk's id
    bridged_kind: str | None = None  # technician or desk
    bridged_at: datetime | None = None
    # how it ended
    outcome: str | None = None  # technician, desk, withdrawn, desk_unreachable, desk_overload, ...
    hangup_side: str | None = None  # caller, technician, desk, hotline
    hangup_cause: str | int | None = None
    ended_at: datetime | None = None
    duration_seconds: float | None = None  # computed on reading, never written
    # what the desk agent recorded
    desk_outcome: str | None = None
    desk_note: str | None = None
    desk_agent: str | None = None
    desk_outcome_at: datetime | None = None
    callback_request: int | None = None

    @classmethod
    def from_stored(cls, fields: Mapping[str, Any]) -> CallSummary:
        """A summary as `ivr.store.calls` reads it (ISO 8601 texts for times); fields this
        version does not know (from an older or newer writer) are left out."""
        known = {name: value for name, value in fields.items() if name in SUMMARY_FIELDS}
        for name in TIME_FIELDS:
            if isinstance(known.get(name), str):
                known[name] = datetime.fromisoformat(known[name])
        return cls(**known)

    @property
    def ended(self) -> bool:
        return self.ended_at is not None


SUMMARY_FIELDS = frozenset(field.name for field in dataclasses.fields(CallSummary))
TIME_FIELDS = frozenset(
    field.name for field in dataclasses.fields(CallSummary) if "datetime" in str(field.type)
)
WRITTEN_FIELDS = SUMMARY_FIELDS - {"call_id", "duration_seconds"}

# The order people read a summary in (`ivr calls show`, the console); any others follow.
SUMMARY_ORDER = (
    "call_id",
    "caller_number",
    "started_at",
    "ended_at",
    "duration_seconds",
    "customer_id",
    "tier",
    "identified",
    "covered",
    "outcome",
    "hangup_side",
    "hangup_cause",
)

# The kinds of timeline events, with the data each carries.
EVENT_KINDS = {
    "started": "caller_number",
    "prompt": "ids, lang, text (a composed prompt's words)",
    "language": "chosen, key (the language menu)",
    "pin_needed": "reason",
    "pin_blocked": "number",
    "pin_attempt": "attempt, keys (how many, never which), ok",
    "identified": "by, customer_id",
    "decision": "decision (the routing core's, as JSON)",
    "consent": "answer, key",
    "leg": "role, id, result (ringing, accepted, declined, not_accepted, gone_before_bridge, "
    "or a dial failure)",
    "bridged": "role, id",
    "overload": "lag_ms, asterisk_ms (the worker's loop lag and Asterisk's response time when, "
    "past capacity, it sent the call straight to the desk)",
    "error": "error",
    "orphan": "detail",
    "fail_open": "reason (no worker was connected: the dialplan took the call to the desk)",
    "desk_outcome": "outcome, note, by",
    "callback_requested": "request_id, technician_id, ... (by the desk, or by the caller "
    "who waited in the desk queue: by = caller)",
    "desk_queue": "status (queued, answered, callback_offered), priority, agent",
    "ended": "outcome, hangup_side, hangup_cause",
}


def unknown_fields(names: Any) -> list[str]:
    """The names among `names` that a writer may not set."""
    return sorted(set(names) - WRITTEN_FIELDS)
