"""Scripted SIP callers with SIPp: one call with a caller ID and DTMF, or a load of calls.

`place_call` writes a SIPp scenario for the call, runs `sipp` as a subprocess and reads back
what happened from the scenario's own log lines (`winet <call> <event> <detail> @<epoch>`).
The scenario:

- sends an INVITE with the caller ID in From and P-Asserted-Identity, or, for a withheld
  number, `anonymous` in From and `Privacy: id`;
- takes 100/180/183, a 200 (ACKed) or any final failure (ACKed, its status reported), and
  sends CANCEL when nobody answers within `cancel_after` seconds;
- after answer, plays each DTMF batch (a pcap from `tests/harness/dtmf.py`) at its offset,
  answers re-INVITEs and UPDATEs from the far end meanwhile (Asterisk sends them when the
  connected line changes), and either hangs up after `hangup_after` seconds or waits for the
  far end's BYE. A BYE from the far end ends the call at any point.

Waiting is a loop of short BYE receives that compares the time since answer with the next
step's offset, so a re-INVITE in the middle of a wait does not shift the schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import secrets
import shutil
import socket
import tempfile
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ivr.config import Settings
from tests.harness import dtmf

HARNESS_DIR = Path(tempfile.gettempdir()) / "winet-harness"
PCAP_DIR = HARNESS_DIR / "dtmf"
SIPP_PORTS = range(5080, 5100)
FIRST_PHONE_PORT = 5070
RTP_BASE_PORT = 40000
RTP_PORTS_PER_PHONE = 100
WAIT_POLL_MS = 50
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
        """The scenario ran to its end (whatever the outcome), with no SIPp error."""
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
    setup_seconds: list[float]
    wall_seconds: float
    exit_code: int
    errors: str = field(repr=False)


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
    """
    scenario = Scenario(
        SipTarget.parse(to or support_number_uri()),
        _batches(dtmf_schedule),
        hangup_after=hangup_after,
        cancel_after=cancel_after,
        extra_headers=dict(extra_headers or {}),
    )
    async with _sipp_run(scenario, [caller_id], trace_messages=True) as run:
        exit_code = await run.wait(timeout)
        events = run.events()
        return _call_result(events, exit_code, run.read("messages.log"), run.read("errors.log"))


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
    scenario = Scenario(
        SipTarget.parse(to or support_number_uri()),
        _batches(dtmf_schedule),
        hangup_after=hangup_after,
        cancel_after=cancel_after,
        extra_headers=dict(extra_headers or {}),
    )
    load = ["-m", str(count), "-l", str(concurrent), "-r", str(rate), "-rp", "1000"]
    async with _sipp_run(scenario, list(caller_ids), extra_args=load) as run:
        started = asyncio.get_running_loop().time()
        exit_code = await run.wait(timeout)
        wall = asyncio.get_running_loop().time() - started
        successful, failed = _final_counts(run.read("stats.csv"))
        return _load_result(
            run.events(), successful, failed, wall, exit_code, run.read("errors.log")
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


class Scenario:
    """The SIPp scenario XML for one kind of call (the caller ID comes from the inject file)."""

    def __init__(
        self,
        target: SipTarget,
        batches: list[DtmfBatch],
        *,
        hangup_after: float | None,
        cancel_after: float,
        extra_headers: dict[str, str],
    ) -> None:
        if hangup_after is not None and batches and hangup_after <= batches[-1].at:
            raise ValueError(
                f"hangup_after={hangup_after}s comes before the DTMF at {batches[-1].at}s"
            )
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
        steps = [
            _wait_then(index, round(batch.at * 1000), self._play(batch, pcap_dir))
            for index, batch in enumerate(self.batches)
        ]
        if self.hangup_after is not None:
            end = _wait_then(len(steps), round(self.hangup_after * 1000), self._hang_up())
        else:
            end = _wait_then(len(steps), None, "")
        body = "\n".join([self._invite(), *steps, end, self._endings()])
        return (
            '<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
            f'<scenario name="winet-caller">\n{body}\n</scenario>\n'
        )

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
            _recv(response=200, rrs=True, **ringing, log=("final", "200")),
        ]
        responses_xml = "\n".join(responses)
        return f"""{_nop(_log("invite", self.target.uri))}
<send retrans="500" start_txn="invite"><![CDATA[
{invite}
]]></send>
{responses_xml}
<send ack_txn="invite"><![CDATA[
{self._ack_2xx()}
]]></send>
<nop><action>
<gettimeofday assign_to="answer_ms,answer_us"/>
<multiply assign_to="answer_ms" value="1000"/>
<divide assign_to="answer_us" value="1000"/>
<add assign_to="answer_ms" variable="answer_us"/>
{_log("answered", "-")}
</action></nop>"""

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

    def _play(self, batch: DtmfBatch, pcap_dir: Path) -> str:
        pcap = dtmf.dtmf_pcap(batch.digits, pcap_dir, start_ms=round(batch.at * 1000))
        action = f'<exec play_pcap_audio="{pcap}"/>{_log("dtmf", batch.digits)}'
        return f"<nop><action>{action}</action></nop>"

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
        )
        return f"""<label id="far_end_bye"/>
<send><![CDATA[
{_reply("200 OK", with_sdp=False)}
]]></send>
{_nop(_log("bye_received", "-"), next_label="ended")}
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
{_nop(_log("answered", "-"))}
{self._hang_up()}
<label id="ended"/>
{_nop(_log("ended", "-"))}"""


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


def _wait_then(index: int, at_ms: int | None, then: str) -> str:
    """Wait until `at_ms` after answer (None: until the far end hangs up), then `then`.

    Re-INVITEs and UPDATEs that arrive meanwhile are answered with our SDP.
    """
    wait, reinvite, update, due = (
        f"{name}_{index}" for name in ("wait", "reinvite", "update", "due")
    )
    if at_ms is None:
        clock = poll = ""
    else:
        clock = f"""<nop><action>
<gettimeofday assign_to="now_ms,now_us"/>
<multiply assign_to="now_ms" value="1000"/>
<divide assign_to="now_us" value="1000"/>
<add assign_to="now_ms" variable="now_us"/>
<subtract assign_to="now_ms" variable="answer_ms"/>
<test assign_to="is_due" variable="now_ms" compare="greater_than_equal" value="{at_ms}"/>
</action></nop>
<nop test="is_due" next="{due}"/>"""
        # SIPp waits on the first receive of the group, so the poll timeout goes there.
        poll = f' timeout="{WAIT_POLL_MS}" ontimeout="{wait}"'
    return f"""<label id="{wait}"/>
{clock}
<recv request="INVITE" optional="true" next="{reinvite}"{poll}/>
<recv request="UPDATE" optional="true" next="{update}"/>
<recv request="BYE" next="far_end_bye"/>
<label id="{reinvite}"/>
<send><![CDATA[
{_reply("200 OK", with_sdp=True)}
]]></send>
<recv request="ACK" next="{wait}"/>
<label id="{update}"/>
<send next="{wait}"><![CDATA[
{_reply("200 OK", with_sdp=True)}
]]></send>
<label id="{due}"/>
{then}"""


def _recv(*, log: tuple[str, str] | None = None, **attributes: object) -> str:
    """A <recv> element; `log` = (event, detail) logs the reception."""
    text = " ".join(
        f'{name}="{str(value).lower() if isinstance(value, bool) else value}"'
        for name, value in attributes.items()
    )
    if log is None:
        return f"<recv {text}/>"
    return f"<recv {text}><action>{_log(*log)}</action></recv>"


def _log(event: str, detail: str) -> str:
    return f'<log message="winet [call_number] {event} {detail} @[timestamp]"/>'


def _nop(actions: str, *, next_label: str | None = None) -> str:
    jump = f' next="{next_label}"' if next_label else ""
    return f"<nop{jump}><action>{actions}</action></nop>"


# -- running SIPp --------------------------------------------------------------------------


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


@contextlib.asynccontextmanager
async def _sipp_run(
    scenario: Scenario,
    caller_ids: list[str | None],
    *,
    trace_messages: bool = False,
    extra_args: Sequence[str] = (),
) -> AsyncIterator[_SippRun]:
    if shutil.which("sipp") is None:
        raise SippError("sipp is not installed (Debian package sip-tester)")
    HARNESS_DIR.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="sipp-", dir=HARNESS_DIR) as work,
        _claimed_port() as port,
    ):
        work_dir = Path(work)
        (work_dir / "scenario.xml").write_text(scenario.xml(PCAP_DIR))
        (work_dir / "callers.csv").write_text(_inject_file(caller_ids))
        args = [
            f"{scenario.target.host}:{scenario.target.port}",
            *("-sf", "scenario.xml", "-inf", "callers.csv"),
            *("-i", "127.0.0.1", "-p", str(port), "-t", "u1"),
            *("-mi", "127.0.0.1", "-mp", str(_media_port(port))),
            *("-cid_str", f"%u-%p-{scenario.token}@%s"),
            *("-nostdin", "-trace_logs", "-log_file", "calls.log"),
            *("-trace_err", "-error_file", "errors.log"),
            *("-trace_stat", "-stf", "stats.csv", "-fd", "1"),
            *(("-trace_msg", "-message_file", "messages.log") if trace_messages else ()),
            *(extra_args or ("-m", "1")),
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
        run = _SippRun(work_dir, process)
        try:
            yield run
        finally:
            if process.returncode is None:
                process.kill()  # by its PID, through the process handle
                await process.wait()
        if run.process.returncode not in (0, 1):
            raise SippError(
                f"sipp exited with {process.returncode}: {run.read('sipp.out')[-2000:]}"
            )


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
def _claimed_port() -> Iterator[int]:
    """A free SIP port for one SIPp run in 5080-5099 (callers; phones use 5070-5079)."""
    for port in SIPP_PORTS:
        if port in _claimed or not _udp_port_free(port) or not _udp_port_free(_media_port(port)):
            continue
        _claimed.add(port)
        try:
            yield port
        finally:
            _claimed.discard(port)
        return
    raise SippError(f"no free UDP port for SIPp in {SIPP_PORTS.start}-{SIPP_PORTS.stop - 1}")


def _media_port(sip_port: int) -> int:
    return RTP_BASE_PORT + RTP_PORTS_PER_PHONE * (sip_port - FIRST_PHONE_PORT)


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
