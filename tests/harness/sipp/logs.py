"""Reading what SIPp did: the scenario's log lines, its error log and its statistics."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from tests.harness.sipp.processes import SippError


@dataclass(frozen=True)
class LogEvent:
    call: int
    name: str
    detail: str
    time: float  # epoch seconds


@dataclass
class CallResult:
    """What one call did, as SIPp saw it."""

    answered: bool
    status: int | None  # final response to the INVITE; None when none came
    provisional: list[int]
    hangup_by: str | None  # "caller", "far_end", or None when never answered
    cancelled: bool
    setup_seconds: float | None  # INVITE sent until its final response
    talk_seconds: float | None  # answer until the BYE
    dtmf_sent: list[tuple[float, str]]  # (seconds after answer, digits)
    exit_code: int
    events: list[LogEvent]
    sip_trace: str = field(repr=False)
    errors: str = field(repr=False)

    @property
    def completed(self) -> bool:
        """The scenario ran to its end, whatever the outcome (SIPp aborted no step of it)."""
        return any(event.name == "ended" for event in self.events)


@dataclass
class LoadResult:
    """A load run: SIPp's own call counts and the outcomes the scenario logged."""

    calls: int
    successful: int  # SIPp: scenario completed
    failed: int  # SIPp: timeouts, unexpected messages, ...
    answered: int
    statuses: Counter[int]
    hangups: Counter[str]
    setup_seconds: list[float] = field(repr=False)
    wall_seconds: float
    exit_code: int
    errors: str = field(repr=False)


@dataclass(frozen=True)
class AnswerSummary:
    """What an answering SIPp phone did with its calls so far."""

    calls: int
    answered: int
    refused: Counter[int]  # final failure statuses it sent (487: the caller cancelled)
    cancelled: int
    hung_up_here: int
    hung_up_by_far_end: int
    dtmf_batches_sent: int
    errors: str = field(repr=False)


_ERROR_ENTRY = re.compile(r"(?=\d{4}-\d\d-\d\d\t\d\d:\d\d:\d\d\.\d+\t\d+\.\d+: )")


def sipp_errors(text: str) -> str:
    """SIPp's error log without the receive timeouts that the waiting loops cause."""
    text = text.removeprefix("The following events occurred:\n")
    entries = _ERROR_ENTRY.split(text)  # SIPp writes entries without line breaks
    return "\n".join(e for e in entries if e.strip() and "receive timeout on" not in e)


_LOG_LINE = re.compile(r"winet (\d+) (\S+) (\S+) @.*?(\d+\.\d+)\s*$")


def parse_log(text: str) -> list[LogEvent]:
    """The scenario's log lines, in the order SIPp wrote them."""
    events = []
    for line in text.splitlines():
        match = _LOG_LINE.search(line)
        if match:
            events.append(LogEvent(int(match[1]), match[2], match[3], float(match[4])))
    return events


def call_result(events: list[LogEvent], exit_code: int, trace: str, errors: str) -> CallResult:
    first = {}
    for event in events:
        first.setdefault(event.name, event)
    finals = [int(event.detail) for event in events if event.name == "final"]
    answered = "answered" in first
    ended = first.get("bye_sent") or first.get("bye_received")
    answer_time = first["answered"].time if answered else None
    setup = (
        first["final"].time - first["invite"].time
        if "final" in first and "invite" in first
        else None
    )
    return CallResult(
        answered=answered,
        status=finals[-1] if finals else None,
        provisional=[int(event.detail) for event in events if event.name == "provisional"],
        hangup_by=_hangup_side(first),
        cancelled="cancel" in first,
        setup_seconds=setup,
        talk_seconds=ended.time - answer_time if ended and answer_time else None,
        dtmf_sent=[
            (round(event.time - answer_time, 3), event.detail)
            for event in events
            if event.name == "dtmf" and answer_time is not None
        ],
        exit_code=exit_code,
        events=events,
        sip_trace=trace,
        errors=errors,
    )


def _hangup_side(first: Mapping[str, LogEvent]) -> str | None:
    sides = [
        (first[name].time, side)
        for name, side in (("bye_sent", "caller"), ("bye_received", "far_end"))
        if name in first
    ]
    return min(sides)[1] if sides else None


def load_result(
    events: list[LogEvent], successful: int, failed: int, wall: float, exit_code: int, errors: str
) -> LoadResult:
    by_call: dict[int, list[LogEvent]] = {}
    for event in events:
        by_call.setdefault(event.call, []).append(event)
    results = [call_result(call_events, exit_code, "", "") for call_events in by_call.values()]
    return LoadResult(
        calls=len(by_call),
        successful=successful,
        failed=failed,
        answered=sum(result.answered for result in results),
        statuses=Counter(result.status for result in results if result.status is not None),
        hangups=Counter(result.hangup_by for result in results if result.hangup_by),
        setup_seconds=sorted(r.setup_seconds for r in results if r.setup_seconds is not None),
        wall_seconds=wall,
        exit_code=exit_code,
        errors=errors,
    )


def final_counts(stats_csv: str) -> tuple[int, int]:
    """SuccessfulCall(C) and FailedCall(C) from the last row of SIPp's statistics file."""
    rows = [row.split(";") for row in stats_csv.splitlines() if row.strip()]
    if len(rows) < 2:
        raise SippError(f"SIPp wrote no statistics: {stats_csv[:500]!r}")
    header, last = rows[0], rows[-1]
    return int(last[header.index("SuccessfulCall(C)")]), int(last[header.index("FailedCall(C)")])
