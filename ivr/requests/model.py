"""A request: what the desk (or a technician, or the hotline itself) asks the 2nd level to do,
and its life from creation to the first contact with the customer and the resolution.

    open --ack--> acknowledged --contact--> contacted --resolve--> resolved
      \\________________contact_____________/^
    any active state --cancel--> cancelled, --withdraw--> withdrawn (the customer withdrew)

Every change, notification and escalation is kept in the request's history with its time.
Pure: `transition` checks an action against the current state and says what changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

STATES = ("open", "acknowledged", "contacted", "resolved", "cancelled", "withdrawn")
ACTIVE_STATES = ("open", "acknowledged", "contacted")
FINAL_STATES = ("resolved", "cancelled", "withdrawn")
SOURCES = ("desk", "console", "cli", "ladder_exhausted", "callback_offer")
INTERVENTIONS = {
    "remote": "remote support",
    "on_site": "on site",
    "replacement": "replacement material",
}
MAX_SUMMARY = 2000
MAX_NOTE = 2000

# action -> (states it may start from, the state it leads to)
ACTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "ack": (("open",), "acknowledged"),
    "contact": (("open", "acknowledged"), "contacted"),
    "resolve": (ACTIVE_STATES, "resolved"),
    "cancel": (ACTIVE_STATES, "cancelled"),
    "withdraw": (ACTIVE_STATES, "withdrawn"),
}


class TransitionRefused(ValueError):
    """The action does not fit the request's state (or its details are wrong)."""


@dataclass(frozen=True)
class NewRequest:
    """What creating a request takes; the store adds the number, times and state."""

    summary: str
    source: str
    created_by: str
    customer_id: str | None = None
    customer_name: str | None = None
    tier: str | None = None
    call_id: str | None = None
    callback_number: str | None = None  # E.164: where the customer is called back
    first_reaction_due: datetime | None = None
    holder: str | None = None  # the technician expected to take it (the standby one)
    covered: bool | None = None  # the call (or the creation) was inside the covered window

    def __post_init__(self) -> None:
        if not self.summary.strip():
            raise ValueError("the summary is empty: say what the customer needs")
        if len(self.summary) > MAX_SUMMARY:
            raise ValueError(f"the summary is longer than {MAX_SUMMARY} characters")
        if self.source not in SOURCES:
            raise ValueError(f"unknown source {self.source!r}; expected " + ", ".join(SOURCES))


@dataclass(frozen=True)
class Request:
    id: int
    summary: str
    source: str
    created_by: str
    created_at: datetime
    state: str
    customer_id: str | None = None
    customer_name: str | None = None
    tier: str | None = None
    call_id: str | None = None
    callback_number: str | None = None
    first_reaction_due: datetime | None = None
    holder: str | None = None
    covered: bool | None = None
    acknowledged_at: datetime | None = None
    first_contact_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_by: str | None = None
    intervention: str | None = None
    intervention_minutes: int | None = None
    resolution: str | None = None
    breached_at: datetime | None = None  # marked when the due time passed without a contact
    breach_reason: str | None = None
    incident: int | None = None  # the major incident it is attached to
    history: tuple[dict[str, Any], ...] = field(default=(), compare=False)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def notifications(self) -> list[dict[str, Any]]:
        """`{at, to, channel, result}` of every phone call and e-mail to a technician."""
        return [_pick(e, "at", "to", "channel", "result") for e in self._events("notification")]

    @property
    def escalations(self) -> list[dict[str, Any]]:
        """`{at, level, to, reason}` of every escalation."""
        return [_pick(e, "at", "level", "to", "reason") for e in self._events("escalation")]

    def breached(self, now: datetime) -> bool:
        """The first reaction came (or is still missing) after its due time."""
        if self.breached_at is not None:
            return True
        if self.first_reaction_due is None:
            return False
        reacted = self.first_contact_at
        if reacted is None:
            return self.active and now > self.first_reaction_due
        return reacted > self.first_reaction_due

    def to_json(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.id,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "tier": self.tier,
            "call_id": self.call_id,
            "callback_number": self.callback_number,
            "summary": self.summary,
            "source": self.source,
            "created_by": self.created_by,
            "created_at": _iso(self.created_at),
            "first_reaction_due": _iso(self.first_reaction_due),
            "state": self.state,
            "holder": self.holder,
            "covered": self.covered,
            "acknowledged_at": _iso(self.acknowledged_at),
            "first_contact_at": _iso(self.first_contact_at),
            "resolved_at": _iso(self.resolved_at),
            "closed_by": self.closed_by,
            "intervention": self.intervention,
            "intervention_minutes": self.intervention_minutes,
            "resolution": self.resolution,
            "breached": self.breached(now),
            "breached_at": _iso(self.breached_at),
            "breach_reason": self.breach_reason,
            "incident": self.incident,
            "notifications": self.notifications,
            "escalations": self.escalations,
            "history": list(self.history),
        }

    def _events(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.history if event.get("kind") == kind]


@dataclass(frozen=True)
class Change:
    """What an action changes: the new state, the fields set, the history entry."""

    from_state: str
    state: str
    fields: dict[str, Any]
    event: dict[str, Any]


def transition(
    request: Request,
    action: str,
    *,
    by: str,
    now: datetime,
    technician: str | None = None,
    intervention: str | None = None,
    minutes: int | None = None,
    note: str | None = None,
) -> Change:
    """What `action` does to `request`, done `by` someone (a user or technician id) at `now`.

    `technician`: who holds the request from now on (ack and contact; default: `by`).
    Raises TransitionRefused naming the request, its state and what would be allowed.
    """
    if action not in ACTIONS:
        raise TransitionRefused(f"unknown action {action!r}; expected " + ", ".join(ACTIONS))
    starts, target = ACTIONS[action]
    if request.state not in starts:
        raise TransitionRefused(_refusal(request, action))
    if note is not None and len(note) > MAX_NOTE:
        raise TransitionRefused(f"the note is longer than {MAX_NOTE} characters")
    fields: dict[str, Any] = {"state": target}
    if action in ("ack", "contact"):
        fields["holder"] = technician or request.holder or by
        fields["acknowledged_at"] = request.acknowledged_at or now
    if action == "contact":
        fields["first_contact_at"] = now
    if action == "resolve":
        fields |= _resolution(intervention, minutes)
    if action in ("resolve", "cancel", "withdraw"):
        fields |= {"resolved_at": now, "closed_by": by, "resolution": note or None}
    event = {"at": now, "kind": "state", "action": action, "state": target, "by": by}
    if note:
        event["note"] = note
    return Change(request.state, target, fields, event)


def _resolution(intervention: str | None, minutes: int | None) -> dict[str, Any]:
    if intervention is None:
        if minutes is not None:
            raise TransitionRefused("minutes need an intervention (remote, on_site, replacement)")
        return {}
    if intervention not in INTERVENTIONS:
        raise TransitionRefused(
            f"unknown intervention {intervention!r}; expected " + ", ".join(INTERVENTIONS)
        )
    if minutes is None or not 0 <= minutes <= 10_000:
        raise TransitionRefused("say how many minutes the intervention took (0 to 10000)")
    return {"intervention": intervention, "intervention_minutes": minutes}


def _refusal(request: Request, action: str) -> str:
    allowed = [name for name, (starts, _) in ACTIONS.items() if request.state in starts]
    held = f" by {request.holder}" if request.holder and request.state != "open" else ""
    then = ("; it can still be: " + ", ".join(allowed)) if allowed else ""
    return f"request #{request.id} is {request.state}{held}: cannot {action} it{then}"


def _pick(event: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: event.get(name) for name in names}


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
