"""Scripted SIP user agents with SIPp: a caller with a caller ID and DTMF, a load of calls,
and an answering phone that takes any number of calls at once.

`place_call` writes a SIPp scenario for the call, runs `sipp` as a subprocess and reads back
what happened from the scenario's own log lines (`winet <call> <event> <detail> @<epoch>`).
The caller's scenario:

- sends an INVITE with the caller ID in From and P-Asserted-Identity, or, for a withheld
  number, `anonymous` in From and `Privacy: id`;
- takes 100/180/183, a 200 (ACKed) or any final failure (ACKed, its status reported), and
  sends CANCEL when nobody answers within `cancel_after` seconds;
- after answer, plays each DTMF batch (a pcap from `tests/harness/dtmf.py`) at its offset,
  answers re-INVITEs and UPDATEs from the far end meanwhile (Asterisk sends them when the
  connected line changes), and either hangs up after `hangup_after` seconds or waits for the
  far end's BYE. A BYE from the far end ends the call at any point.

A wait is a pause for the time left until the next step. Any request during a wait (or in
the instant after a send, before SIPp moves on) is unexpected there, so SIPp hands it to the
scenario's `_unexp.main` handler, which answers it and resumes the wait it interrupted; the
time left is computed again, so a re-INVITE does not shift the schedule.

`place_calls` runs the same scenario for many calls (SIPp's -m/-l/-r); `answering_phone`
runs SIPp as a server that rings, answers (or refuses), sends DTMF and hangs up on schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import secrets
import shutil
import signal
import socket
import tempfile
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.config import Settings
from tests.harness import dtmf

HARNESS_DIR = Path(tempfile.gettempdir()) / "winet-harness"
PCAP_DIR = HARNESS_DIR / "dtmf"
SIPP_PORTS = range(5080, 5100)
FIRST_PHONE_PORT = 5070
RTP_BASE_PORT = 40000
RTP_PORTS_PER_PHONE = 100
ANSWERER_STOP_SECONDS = 10.0
ACK_WAIT_MS = 2000
# Final responses the scenario takes (and ACKs) instead of failing on an unexpected message.
FAILURE_STATUSES = (
    *(300, 301, 302, 305, 380),
    *(400, 401, 402, 403, 404, 405, 406, 407, 408, 410, 413, 414, 415, 416, 420, 421, 423),
    *(480, 481, 482, 483, 484, 485, 486, 487, 488, 489, 491, 493),
    *(500, 501, 502, 503, 504, 505, 513, 580),
    *(600, 603, 604, 606),
)


class SippError(Exception):
    """SIPp could not be run, or ran into a fatal error; the message says why."""


def support_number_uri(settings: Settings | None = None) -> str:
    settings = settings or Settings.from_env()
    return f"sip:{settings.support_number}@{settings.sip_host}:{settings.sip_port}"


@dataclass(frozen=True)
class SipTarget:
    user: str
    host: str
    port: int

    @classmethod
    def parse(cls, uri: str) -> SipTarget:
        match = re.fullmatch(r"sip:([^@;>]+)@([\w.\-]+)(?::(\d+))?", uri)
        if not match:
            raise ValueError(f"not a SIP URI of the form sip:user@host[:port]: {uri!r}")
        return cls(match[1], match[2], int(match[3] or 5060))

    @property
    def uri(self) -> str:
        return f"sip:{self.user}@{self.host}:{self.port}"


@dataclass(frozen=True)
class DtmfBatch:
    at: float  # seconds after answer
    digits: str


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


class AnsweringPhone:
    def __init__(self, run: _SippRun, port: int) -> None:
        self._run = run
        self.port = port

    async def wait_listening(self, within: float = 5.0) -> None:
        """Return once SIPp holds its port; fail with its output if it exits or never does."""
        deadline = asyncio.get_running_loop().time() + within
        while not await asyncio.to_thread(_udp_port_bound, self.port):
            if self._run.process.returncode is not None:
                output = await asyncio.to_thread(self._run.read, "sipp.out")
                raise SippError(f"the answering SIPp exited: {output[-2000:]}")
            if asyncio.get_running_loop().time() > deadline:
                raise SippError(f"the answering SIPp did not bind port {self.port} in {within}s")
            await asyncio.sleep(0.02)

    async def summary(self) -> AnswerSummary:
        """What the phone did so far, from SIPp's log (read off the event loop)."""
        return await asyncio.to_thread(self._summary)

    def _summary(self) -> AnswerSummary:
        events = self._run.events()
        count = Counter(event.name for event in events)
        finals = Counter(int(e.detail) for e in events if e.name == "final" and e.detail != "200")
        return AnswerSummary(
            calls=count["invite"],
            answered=count["answered"],
            refused=finals,
            cancelled=count["cancel"],
            hung_up_here=count["bye_sent"],
            hung_up_by_far_end=count["bye_received"],
            dtmf_batches_sent=count["dtmf"],
            errors=self._run.errors(),
        )


async def place_call(
    caller_id: str | None,
    dtmf_schedule: Sequence[tuple[float, str]] = (),
    *,
    to: str | None = None,
    hangup_after: float | None = None,
    cancel_after: float = 30.0,
    extra_headers: Mapping[str, str] | None = None,
    timeout: float = 120.0,  # noqa: ASYNC109 - a test states how long a call may take
) -> CallResult:
    """Call `to` (the support number by default) as `caller_id` (None: withheld).

    `dtmf_schedule` lists (seconds after answer, digits) batches, e.g. `[(4, "123456#"),
    (20, "1")]`. With `hangup_after` the caller hangs up that many seconds after answer;
    without it the call lasts until the far end hangs up, or `timeout` seconds at most.
    `cancel_after`: CANCEL when no final response came for that long after the last
    provisional one.
    """
    scenario = _caller_scenario(to, dtmf_schedule, hangup_after, cancel_after, extra_headers)
    async with scenario.run([caller_id], trace_messages=True, extra_args=("-m", "1")) as run:
        exit_code = run.check_exit(await run.wait(timeout))
        return await asyncio.to_thread(_call_outcome, run, exit_code)


async def place_calls(
    count: int,
    *,
    concurrent: int,
    rate: float,
    caller_ids: Sequence[str | None] = (None,),
    dtmf_schedule: Sequence[tuple[float, str]] = (),
    to: str | None = None,
    hangup_after: float | None = None,
    cancel_after: float = 30.0,
    extra_headers: Mapping[str, str] | None = None,
    timeout: float = 300.0,  # noqa: ASYNC109 - a benchmark states how long the load may take
) -> LoadResult:
    """Load mode: `count` calls, at most `concurrent` at once, started at `rate` per second.

    Caller IDs are taken in turn from `caller_ids`. Every call follows the same schedule.
    """
    if count < 1 or concurrent < 1 or rate <= 0:
        raise ValueError(f"need count, concurrent >= 1 and rate > 0: {count}, {concurrent}, {rate}")
    if not caller_ids:
        raise ValueError("caller_ids is empty (use [None] for withheld numbers)")
    scenario = _caller_scenario(to, dtmf_schedule, hangup_after, cancel_after, extra_headers)
    load = ("-m", str(count), "-l", str(concurrent), "-r", str(rate), "-rp", "1000")
    async with scenario.run(list(caller_ids), extra_args=load) as run:
        started = asyncio.get_running_loop().time()
        exit_code = run.check_exit(await run.wait(timeout))
        wall = asyncio.get_running_loop().time() - started
        return await asyncio.to_thread(_load_outcome, run, wall, exit_code)


@contextlib.asynccontextmanager
async def answering_phone(
    name: str,
    port: int,
    *,
    answer_after: float | None = 0.2,
    reject: int | None = None,
    dtmf_schedule: Sequence[tuple[float, str]] = (),
    hangup_after: float | None = None,
) -> AsyncIterator[AnsweringPhone]:
    """A SIPp phone on `port` that takes any number of calls at once, for load.

    The pjsua2 phones take at most 4 calls at once; a benchmark's technician or desk can be
    this instead. Each call rings for `answer_after` seconds (None: until the caller cancels),
    then is answered, or refused with `reject` (486, 603, ...) when given; after answer it sends
    the DTMF batches and hangs up after `hangup_after` seconds or waits for the far end.
    `phone.summary()` tells what it did so far; SIPp stops when the block ends.
    """
    scenario = AnswererScenario(
        _batches(dtmf_schedule), answer_after=answer_after, reject=reject, hangup_after=hangup_after
    )
    async with scenario.run(name, port) as run:
        phone = AnsweringPhone(run, port)
        await phone.wait_listening()
        try:
            yield phone
        finally:
            await run.stop(ANSWERER_STOP_SECONDS)


def _caller_scenario(
    to: str | None,
    dtmf_schedule: Sequence[tuple[float, str]],
    hangup_after: float | None,
    cancel_after: float,
    extra_headers: Mapping[str, str] | None,
) -> CallerScenario:
    return CallerScenario(
        SipTarget.parse(to or support_number_uri()),
        _batches(dtmf_schedule),
        hangup_after=hangup_after,
        cancel_after=cancel_after,
        extra_headers=dict(extra_headers or {}),
    )


def _batches(schedule: Sequence[tuple[float, str]]) -> list[DtmfBatch]:
    batches = sorted((DtmfBatch(float(at), digits) for at, digits in schedule), key=lambda b: b.at)
    for earlier, later in itertools.pairwise(batches):
        ends = earlier.at + dtmf.digit_span_ms(earlier.digits) / 1000
        if later.at < ends + 0.1:
            raise ValueError(
                f"DTMF {later.digits!r} at {later.at}s starts before {earlier.digits!r} "
                f"(at {earlier.at}s) has been sent ({ends:.2f}s)"
            )
    if batches and batches[0].at < 0:
        raise ValueError(f"DTMF offsets are seconds after answer, not {batches[0].at}")
    return batches


# -- the scenario --------------------------------------------------------------------------


class CallerScenario:
    """The SIPp scenario of a caller (the caller ID comes from the inject file)."""

    def __init__(
        self,
        target: SipTarget,
        batches: list[DtmfBatch],
        *,
        hangup_after: float | None,
        cancel_after: float,
        extra_headers: dict[str, str],
    ) -> None:
        _check_plan(batches, hangup_after)
        for name, value in extra_headers.items():
            if not re.fullmatch(r"[A-Za-z0-9\-]+", name) or "\n" in value or "\r" in value:
                raise ValueError(f"bad SIP header {name!r}: {value!r}")
        self.target = target
        self.batches = batches
        self.hangup_after = hangup_after
        self.cancel_after = cancel_after
        self.extra_headers = extra_headers
        self.token = secrets.token_hex(4)  # Call-IDs, tags and branches differ between runs

    def xml(self, pcap_dir: Path) -> str:
        after_answer = _after_answer(self.batches, self.hangup_after, self._hang_up(), pcap_dir)
        return _document("winet-caller", self._invite(), after_answer, self._endings())

    def run(
        self, caller_ids: list[str | None], **options: Any
    ) -> contextlib.AbstractAsyncContextManager[_SippRun]:
        def files() -> tuple[str, str]:
            return self.xml(PCAP_DIR), _inject_file(caller_ids)

        return _sipp_run(files, token=self.token, remote=self.target, **options)

    # SIP identities. [field0]: caller user part, [field1]: display name, [field2]: host of
    # the From URI, [field3]: the identity header (P-Asserted-Identity or Privacy).
    @property
    def _from(self) -> str:
        return f'From: "[field1]" <sip:[field0]@[field2]>;tag={self.token}-[call_number]'

    @property
    def _to(self) -> str:
        return f"To: <{self.target.uri}>"

    @property
    def _invite_via(self) -> str:
        return (
            "Via: SIP/2.0/[transport] [local_ip]:[local_port];"
            f"branch=z9hG4bK-{self.token}-[call_number]-invite"
        )

    def _invite(self) -> str:
        # No empty header line: SIPp keeps it, and it would end the headers early.
        headers = [
            f"INVITE {self.target.uri} SIP/2.0",
            self._invite_via,
            self._from,
            self._to,
            "Call-ID: [call_id]",
            "CSeq: 1 INVITE",
            "Contact: <sip:[field0]@[local_ip]:[local_port]>",
            "Max-Forwards: 70",
            "[field3]",
            *(f"{name}: {value}" for name, value in self.extra_headers.items()),
            "Allow: INVITE, ACK, CANCEL, BYE, UPDATE, OPTIONS",
            "Content-Type: application/sdp",
            "Content-Length: [len]",
        ]
        invite = "\n".join(headers) + "\n\n" + _SDP
        # SIPp applies the timeout of the receive it waits on, which moves past each
        # provisional response: every receive of the group carries the CANCEL timeout.
        ringing = {"response_txn": "invite", "timeout": round(self.cancel_after * 1000)}
        ringing["ontimeout"] = "cancel"
        responses = [
            _recv(response=100, optional=True, **ringing),
            _recv(response=180, optional=True, **ringing, log=("provisional", "180")),
            _recv(response=183, optional=True, **ringing, log=("provisional", "183")),
            *(
                _recv(
                    response=status,
                    optional=True,
                    next="rejected",
                    **ringing,
                    log=("final", str(status)),
                )
                for status in FAILURE_STATUSES
            ),
            _recv(response=200, rrs=True, **ringing, log=("final", "200"), actions=_ANSWERED),
        ]
        responses_xml = "\n".join(responses)
        return f"""{_nop(_log("invite", self.target.uri))}
<send retrans="500" start_txn="invite"><![CDATA[
{invite}
]]></send>
{responses_xml}
<send ack_txn="invite"><![CDATA[
{self._ack_2xx()}
]]></send>"""

    def _ack_2xx(self) -> str:
        return f"""ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{self._from}
{self._to}[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
[routes]
Max-Forwards: 70
Content-Length: 0
"""

    def _hang_up(self) -> str:
        return f"""{_nop(_log("bye_sent", "-"))}
<send start_txn="bye"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{self._from}
{self._to}[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
[routes]
Max-Forwards: 70
Content-Length: 0
]]></send>
<recv response="200" response_txn="bye"/>
<nop next="ended"/>"""

    def _endings(self) -> str:
        """Labels the waits and the INVITE jump to: far-end BYE, rejection, CANCEL, end."""
        ack_failure = f"""ACK {self.target.uri} SIP/2.0
{self._invite_via}
{self._from}
{self._to}[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
"""
        cancel = f"""CANCEL {self.target.uri} SIP/2.0
{self._invite_via}
{self._from}
{self._to}
Call-ID: [call_id]
CSeq: 1 CANCEL
Max-Forwards: 70
Content-Length: 0
"""
        late_answer = _recv(
            response=200,
            optional=True,
            response_txn="invite",
            next="late_answer",
            log=("final", "200"),
            actions=_log("answered", "-"),
        )
        return f"""{_FAR_END_BYE}
<label id="cancel"/>
{_nop(_log("cancel", "-"))}
<send start_txn="cancel"><![CDATA[
{cancel}
]]></send>
<recv response="200" response_txn="cancel"/>
{late_answer}
{_recv(response=487, response_txn="invite", log=("final", "487"))}
<label id="rejected"/>
<send ack_txn="invite"><![CDATA[
{ack_failure}
]]></send>
<nop next="ended"/>
<label id="late_answer"/>
<send ack_txn="invite"><![CDATA[
{self._ack_2xx()}
]]></send>
{self._hang_up()}"""


class AnswererScenario:
    """The SIPp scenario of a phone that answers calls (SIPp as server, its name in [field0])."""

    def __init__(
        self,
        batches: list[DtmfBatch],
        *,
        answer_after: float | None,
        reject: int | None,
        hangup_after: float | None,
    ) -> None:
        _check_plan(batches, hangup_after)
        if reject is not None and not 400 <= reject <= 699:
            raise ValueError(f"reject must be a SIP failure status (400-699), not {reject}")
        if answer_after is not None and answer_after < 0:
            raise ValueError(f"answer_after must not be negative, not {answer_after}")
        self.batches = batches
        self.answer_after = answer_after
        self.reject = reject
        self.hangup_after = hangup_after
        self.token = secrets.token_hex(4)

    def run(self, name: str, port: int) -> contextlib.AbstractAsyncContextManager[_SippRun]:
        if not re.fullmatch(r"[A-Za-z0-9.\-]+", name):
            raise ValueError(f"phone name must be a SIP user name, not {name!r}")

        def files() -> tuple[str, str]:
            return self.xml(PCAP_DIR), f"SEQUENTIAL\n{name}\n"

        return _sipp_run(files, token=self.token, remote=None, port=port)

    def xml(self, pcap_dir: Path) -> str:
        return _document(
            "winet-answerer",
            self._ring(),
            self._respond(pcap_dir),
            self._cancelled(),
            _FAR_END_BYE,
        )

    @property
    def _to_tagged(self) -> str:
        return f"[last_To:];tag={self.token}-[call_number]"

    # SIPp moves on after a send only later: a request that arrives meanwhile, while it
    # stands on anything but a receive, aborts the call. So every send here is followed
    # by the receive that waits for the answer to it, with the logging in that receive.
    def _response(self, status: str, *, cseq: str = "[last_CSeq:]") -> str:
        return f"""SIP/2.0 {status}
[last_Via:]
[last_From:]
{self._to_tagged}
[last_Call-ID:]
{cseq}
Contact: <sip:[field0]@[local_ip]:[local_port]>
Content-Length: 0
"""

    def _ring(self) -> str:
        # The From and To of the INVITE, for our own BYE. (SIPp refuses a variable that is
        # set and never used, so only when this phone hangs up.)
        dialog = (
            '<ereg regexp=".*" search_in="hdr" header="From:" assign_to="remote_from"/>\n'
            '<ereg regexp=".*" search_in="hdr" header="To:" assign_to="local_to"/>'
            if self.hangup_after is not None and self.reject is None
            else ""
        )
        invite = f"""<recv request="INVITE" rrs="true"><action>
{dialog}
<ereg regexp=".*" search_in="hdr" header="CSeq:" assign_to="invite_cseq"/>
{_log("invite", "-")}
</action></recv>"""
        if self.answer_after is None and self.reject is None:
            wait = '<recv request="CANCEL" next="cancelled"/>'
        else:
            delay_ms = max(1, round((self.answer_after or 0) * 1000))  # 0 means "no timeout"
            wait = _recv(request="CANCEL", timeout=delay_ms, ontimeout="respond", next="cancelled")
        return f"""{invite}
<send><![CDATA[
{self._response("180 Ringing")}
]]></send>
{wait}
<label id="respond"/>"""

    def _respond(self, pcap_dir: Path) -> str:
        if self.reject is not None:
            status = f"{self.reject} {_REASONS.get(self.reject, 'Refused')}"
            return f"""<send><![CDATA[
{self._response(status)}
]]></send>
{_recv(request="ACK", next="ended", log=("final", str(self.reject)))}"""
        ok = f"""SIP/2.0 200 OK
[last_Via:]
[last_From:]
{self._to_tagged}
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[field0]@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

{_SDP}"""
        after_answer = _after_answer(self.batches, self.hangup_after, self._hang_up(), pcap_dir)
        return f"""<send retrans="500"><![CDATA[
{ok}
]]></send>
{_recv(request="ACK", log=("final", "200"), actions=_ANSWERED)}
{after_answer}"""

    def _hang_up(self) -> str:
        return f"""{_nop(_log("bye_sent", "-"))}
<send><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: [$local_to];tag={self.token}-[call_number]
To: [$remote_from]
Call-ID: [call_id]
CSeq: 1 BYE
[routes]
Contact: <sip:[field0]@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0
]]></send>
<recv response="200"/>
<nop next="ended"/>"""

    def _cancelled(self) -> str:
        return f"""<label id="cancelled"/>
{_nop(_log("cancel", "-"))}
<send><![CDATA[
{self._response("200 OK")}
]]></send>
<send><![CDATA[
{self._response("487 Request Terminated", cseq="CSeq: [$invite_cseq]")}
]]></send>
{_recv(request="ACK", next="ended", log=("final", "487"))}"""


_REASONS = {
    403: "Forbidden",
    404: "Not Found",
    480: "Temporarily Unavailable",
    486: "Busy Here",
    500: "Server Internal Error",
    503: "Service Unavailable",
    600: "Busy Everywhere",
    603: "Decline",
}

_SDP = """v=0
o=winet 1[call_number] 1 IN IP[local_ip_type] [local_ip]
s=winet test caller
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=sendrecv"""


def _document(name: str, *parts: str) -> str:
    """The scenario: the parts, then the in-dialog handler and the end of the call.

    The last part must end with a jump, so that no call runs into the handler; the end comes
    last, so that a call that reaches it ends. A scenario that never answers (a phone that
    refuses every call) has no dialog, and no handler.
    """
    answers = any(_FIRST_WAIT in part for part in parts)
    body = "\n".join([*parts, *((_IN_DIALOG,) if answers else ()), _ENDED])
    document = (
        '<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
        f'<scenario name="{name}">\n{body}\n</scenario>\n'
    )
    return document.replace(_FIRST_WAIT, str(first_wait_index(document))) if answers else document


def first_wait_index(document: str) -> int:
    """SIPp's index of the first wait: labels are no steps, everything else is one."""
    steps = [e for e in ElementTree.fromstring(document.encode()) if e.tag != "label"]
    return next(
        index
        for index, step in enumerate(steps)
        if step.find("action/index[@assign_to='resume_at']") is not None
    )


def _after_answer(
    batches: list[DtmfBatch], hangup_after: float | None, hang_up: str, pcap_dir: Path
) -> str:
    """The DTMF batches at their offsets, then the hang-up (or the wait for the far end's)."""
    steps = [_wait_then(round(batch.at * 1000), _play(batch, pcap_dir)) for batch in batches]
    if hangup_after is None:
        steps.append(_wait_then(None, ""))
    else:
        steps.append(_wait_then(round(hangup_after * 1000), hang_up))
    return "\n".join(steps)


def _play(batch: DtmfBatch, pcap_dir: Path) -> str:
    pcap = dtmf.dtmf_pcap(batch.digits, pcap_dir, start_ms=round(batch.at * 1000))
    return _nop(f'<exec play_pcap_audio="{pcap}"/>{_log("dtmf", batch.digits)}')


def _check_plan(batches: list[DtmfBatch], hangup_after: float | None) -> None:
    if hangup_after is not None and batches and hangup_after <= batches[-1].at:
        raise ValueError(f"hangup_after={hangup_after}s comes before the DTMF at {batches[-1].at}s")


def _reply(status: str, *, with_sdp: bool) -> str:
    """A response to the far end's in-dialog request, built from that request."""
    head = f"""SIP/2.0 {status}
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[field0]@[local_ip]:[local_port]>"""
    if not with_sdp:
        return head + "\nContent-Length: 0\n"
    return f"{head}\nContent-Type: application/sdp\nContent-Length: [len]\n\n{_SDP}"


def _wait_then(at_ms: int | None, then: str) -> str:
    """Wait until `at_ms` after answer (None: until the far end hangs up), then `then`.

    The wait is a pause for the time left. A request that comes meanwhile (a re-INVITE, an
    UPDATE, the ACK of our answer to it, the far end's BYE) is unexpected there, so SIPp hands
    it to `_unexp.main` (see `_IN_DIALOG`), which answers it and comes back to the start of
    this wait: the time left is computed again, the schedule does not drift.
    """
    if at_ms is None:
        return f"""{_nop('<index assign_to="resume_at"/>')}
<recv request="BYE" next="far_end_bye"/>"""
    return f"""<nop><action>
<index assign_to="resume_at"/>
<gettimeofday assign_to="left_ms,now_us"/>
<multiply assign_to="left_ms" value="-1000"/>
<divide assign_to="now_us" value="-1000"/>
<add assign_to="left_ms" variable="now_us"/>
<add assign_to="left_ms" variable="answer_ms"/>
<add assign_to="left_ms" value="{at_ms}"/>
<test assign_to="is_due" variable="left_ms" compare="less_than" value="1"/>
</action></nop>
<nop condexec="is_due"><action><assign assign_to="left_ms" value="0"/></action></nop>
<pause variable="left_ms"/>
{then}"""


def _recv(*, log: tuple[str, str] | None = None, actions: str = "", **attributes: object) -> str:
    """A <recv> element; `log` = (event, detail) logs the reception, `actions` run on it."""
    text = " ".join(
        f'{name}="{str(value).lower() if isinstance(value, bool) else value}"'
        for name, value in attributes.items()
    )
    actions = (_log(*log) if log else "") + actions
    return f"<recv {text}><action>{actions}</action></recv>" if actions else f"<recv {text}/>"


def _log(event: str, detail: str) -> str:
    return f'<log message="winet [call_number] {event} {detail} @[timestamp]"/>'


def _nop(actions: str, *, next_label: str | None = None) -> str:
    jump = f' next="{next_label}"' if next_label else ""
    return f"<nop{jump}><action>{actions}</action></nop>"


# Actions of the receive that completes the answer: the time of answer, for the waits, and
# the first wait as the place to resume at after an in-dialog request (see `_IN_DIALOG`).
# SIPp knows steps by index only: `_document` puts in the first wait's.
_FIRST_WAIT = "FIRST-WAIT-INDEX"
_ANSWERED = f"""
<gettimeofday assign_to="answer_ms,answer_us"/>
<multiply assign_to="answer_ms" value="1000"/>
<divide assign_to="answer_us" value="1000"/>
<add assign_to="answer_ms" variable="answer_us"/>
<assign assign_to="resume_at" value="{_FIRST_WAIT}"/>
{_log("answered", "-")}
"""


_FAR_END_BYE = f"""<label id="far_end_bye"/>
<send><![CDATA[
{_reply("200 OK", with_sdp=False)}
]]></send>
{_nop(_log("bye_received", "-"), next_label="ended")}"""

_ENDED = f"""<label id="ended"/>
{_nop(_log("ended", "-"))}"""

# SIPp jumps here with any message the scenario does not expect where the call stands
# (after answer: during a wait, or in the moment after a send, before SIPp moves on).
_IN_DIALOG = f"""<label id="_unexp.main"/>
<recv request="INVITE" optional="true" next="reinvited"/>
<recv request="UPDATE" optional="true" next="updated"/>
<recv request="ACK" optional="true" next="resume"/>
<recv request="BYE" next="far_end_bye"/>
<label id="reinvited"/>
<send><![CDATA[
{_reply("200 OK", with_sdp=True)}
]]></send>
<recv request="ACK" timeout="{ACK_WAIT_MS}" ontimeout="resume" next="resume"/>
<label id="updated"/>
<send next="resume"><![CDATA[
{_reply("200 OK", with_sdp=True)}
]]></send>
<label id="resume"/>
<nop><action>
<assign assign_to="_unexp.retaddr" value="0"/>
<jump variable="resume_at"/>
</action></nop>"""


# -- running SIPp --------------------------------------------------------------------------


_ERROR_ENTRY = re.compile(r"(?=\d{4}-\d\d-\d\d\t\d\d:\d\d:\d\d\.\d+\t\d+\.\d+: )")


class _SippRun:
    def __init__(self, work_dir: Path, process: asyncio.subprocess.Process) -> None:
        self.work_dir = work_dir
        self.process = process

    async def wait(self, seconds: float) -> int:
        try:
            return await asyncio.wait_for(self.process.wait(), seconds)
        except TimeoutError:
            raise SippError(
                f"sipp (pid {self.process.pid}) still running after {seconds}s; "
                f"stopped. Its output: {self.read('sipp.out')[-2000:]}"
            ) from None

    def read(self, name: str) -> str:
        path = self.work_dir / name
        return path.read_text(errors="replace") if path.exists() else ""

    def events(self) -> list[LogEvent]:
        return parse_log(self.read("calls.log"))

    def errors(self) -> str:
        """SIPp's error log without the receive timeouts that the waiting loops cause."""
        text = self.read("errors.log").removeprefix("The following events occurred:\n")
        entries = _ERROR_ENTRY.split(text)  # SIPp writes entries without line breaks
        return "\n".join(e for e in entries if e.strip() and "receive timeout on" not in e)

    def check_exit(self, code: int) -> int:
        """0: every call completed its scenario, 1: some failed; anything else is fatal."""
        if code not in (0, 1):
            raise SippError(f"sipp exited with {code}: {self.read('sipp.out')[-2000:]}")
        return code

    async def stop(self, seconds: float) -> None:
        """Ask SIPp to quit (SIGINT: it lets its calls end first), then kill it if it must."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(self.process.wait(), seconds)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@contextlib.asynccontextmanager
async def _sipp_run(
    files: Callable[[], tuple[str, str]],
    *,
    token: str,
    remote: SipTarget | None,
    port: int | None = None,
    trace_messages: bool = False,
    extra_args: Sequence[str] = (),
) -> AsyncIterator[_SippRun]:
    """Run SIPp: a client calling `remote`, or a server on `port`.

    `files` makes the scenario XML and the inject file (run off the event loop, as it writes
    the DTMF pcaps); SIPp works in a folder of its own, removed afterwards.
    """
    if shutil.which("sipp") is None:
        raise SippError("sipp is not installed (Debian package sip-tester)")
    options = _SippOptions(token, remote, trace_messages, tuple(extra_args))
    work_dir = await asyncio.to_thread(_prepare_work_dir, files)
    try:
        with _claimed_port(port) as claimed:
            async with _running_sipp(work_dir, claimed, options) as run:
                yield run
    finally:
        await asyncio.to_thread(shutil.rmtree, work_dir, True)


@dataclass(frozen=True)
class _SippOptions:
    token: str
    remote: SipTarget | None
    trace_messages: bool
    extra_args: tuple[str, ...]


def _prepare_work_dir(files: Callable[[], tuple[str, str]]) -> Path:
    HARNESS_DIR.mkdir(parents=True, exist_ok=True)
    work_dir = Path(tempfile.mkdtemp(prefix="sipp-", dir=HARNESS_DIR))
    scenario_xml, inject = files()
    (work_dir / "scenario.xml").write_text(scenario_xml)
    (work_dir / "inject.csv").write_text(inject)
    return work_dir


@contextlib.asynccontextmanager
async def _running_sipp(
    work_dir: Path, port: int, options: _SippOptions
) -> AsyncIterator[_SippRun]:
    remote = options.remote
    args = [
        *((f"{remote.host}:{remote.port}",) if remote else ()),
        *("-sf", "scenario.xml", "-inf", "inject.csv"),
        *("-i", "127.0.0.1", "-p", str(port), "-t", "u1"),
        *("-mi", "127.0.0.1", "-mp", str(_media_port(port))),
        *("-cid_str", f"%u-%p-{options.token}@%s"),
        *("-nostdin", "-trace_logs", "-log_file", "calls.log"),
        *("-trace_err", "-error_file", "errors.log"),
        *("-trace_stat", "-stf", "stats.csv", "-fd", "1"),
        *(("-trace_msg", "-message_file", "messages.log") if options.trace_messages else ()),
        *options.extra_args,
    ]
    with (work_dir / "sipp.out").open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            "sipp",
            *args,
            cwd=work_dir,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )
    try:
        yield _SippRun(work_dir, process)
    finally:
        if process.returncode is None:
            process.kill()  # by its PID, through the process handle
            await process.wait()


def _inject_file(caller_ids: list[str | None]) -> str:
    rows = ["SEQUENTIAL"]
    for caller_id in caller_ids:
        if caller_id is None:
            rows.append("anonymous;Anonymous;anonymous.invalid;Privacy: id")
            continue
        if not re.fullmatch(r"\+?[0-9A-Za-z*#.\-]+", caller_id):
            raise ValueError(f"caller ID must be a number or a SIP user name, not {caller_id!r}")
        rows.append(
            f"{caller_id};{caller_id};127.0.0.1;P-Asserted-Identity: <sip:{caller_id}@127.0.0.1>"
        )
    return "\n".join(rows) + "\n"


_claimed: set[int] = set()


@contextlib.contextmanager
def _claimed_port(wanted: int | None = None) -> Iterator[int]:
    """A free SIP port for one SIPp run: `wanted`, or the first free one in 5080-5099.

    Callers use 5080-5099; the pjsua2 phones 5070-5079. Each port comes with its RTP block.
    """
    for port in SIPP_PORTS if wanted is None else (wanted,):
        if port in _claimed or not _udp_port_free(port) or not _udp_port_free(_media_port(port)):
            continue
        _claimed.add(port)
        try:
            yield port
        finally:
            _claimed.discard(port)
        return
    if wanted is not None:
        raise SippError(f"UDP port {wanted} (or its RTP port {_media_port(wanted)}) is in use")
    raise SippError(f"no free UDP port for SIPp in {SIPP_PORTS.start}-{SIPP_PORTS.stop - 1}")


def _media_port(sip_port: int) -> int:
    return RTP_BASE_PORT + RTP_PORTS_PER_PHONE * (sip_port - FIRST_PHONE_PORT)


def _udp_port_bound(port: int) -> bool:
    """Some socket is bound to this UDP port (read from the kernel: no probe that races)."""
    suffix = f":{port:04X}"
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        with open(table) as sockets:
            next(sockets)  # the column names
            if any(line.split()[1].endswith(suffix) for line in sockets):
                return True
    return False


def _udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# -- reading the results -------------------------------------------------------------------

_LOG_LINE = re.compile(r"winet (\d+) (\S+) (\S+) @.*?(\d+\.\d+)\s*$")


def parse_log(text: str) -> list[LogEvent]:
    """The scenario's log lines, in the order SIPp wrote them."""
    events = []
    for line in text.splitlines():
        match = _LOG_LINE.search(line)
        if match:
            events.append(LogEvent(int(match[1]), match[2], match[3], float(match[4])))
    return events


def _call_outcome(run: _SippRun, exit_code: int) -> CallResult:
    return _call_result(run.events(), exit_code, run.read("messages.log"), run.errors())


def _load_outcome(run: _SippRun, wall: float, exit_code: int) -> LoadResult:
    successful, failed = _final_counts(run.read("stats.csv"))
    return _load_result(run.events(), successful, failed, wall, exit_code, run.errors())


def _call_result(events: list[LogEvent], exit_code: int, trace: str, errors: str) -> CallResult:
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


def _load_result(
    events: list[LogEvent], successful: int, failed: int, wall: float, exit_code: int, errors: str
) -> LoadResult:
    by_call: dict[int, list[LogEvent]] = {}
    for event in events:
        by_call.setdefault(event.call, []).append(event)
    results = [_call_result(call_events, exit_code, "", "") for call_events in by_call.values()]
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


def _final_counts(stats_csv: str) -> tuple[int, int]:
    """SuccessfulCall(C) and FailedCall(C) from the last row of SIPp's statistics file."""
    rows = [row.split(";") for row in stats_csv.splitlines() if row.strip()]
    if len(rows) < 2:
        raise SippError(f"SIPp wrote no statistics: {stats_csv[:500]!r}")
    header, last = rows[0], rows[-1]
    return int(last[header.index("SuccessfulCall(C)")]), int(last[header.index("FailedCall(C)")])
