"""SIPp scenarios as XML: the caller's and the answering phone's, and the inject file.

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
"""

from __future__ import annotations

import contextlib
import itertools
import re
import secrets
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.harness import dtmf
from tests.harness.sipp.processes import PCAP_DIR, SippRun, sipp_run

ACK_WAIT_MS = 2000
# Final responses the scenario takes (and ACKs) instead of failing on an unexpected message.
FAILURE_STATUSES = (
    *(300, 301, 302, 305, 380),
    *(400, 401, 402, 403, 404, 405, 406, 407, 408, 410, 413, 414, 415, 416, 420, 421, 423),
    *(480, 481, 482, 483, 484, 485, 486, 487, 488, 489, 491, 493),
    *(500, 501, 502, 503, 504, 505, 513, 580),
    *(600, 603, 604, 606),
)


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


def dtmf_batches(schedule: Sequence[tuple[float, str]]) -> list[DtmfBatch]:
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
        self,
        caller_ids: list[str | None],
        *,
        address: str,
        from_user: str | None = None,
        **options: Any,
    ) -> contextlib.AbstractAsyncContextManager[SippRun]:
        """Run SIPp from `address`, taking the caller IDs in turn (see `inject_file`)."""

        def files() -> tuple[str, str]:
            return self.xml(PCAP_DIR), inject_file(caller_ids, address, from_user)

        return sipp_run(files, token=self.token, remote=self.target, address=address, **options)

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

    def run(self, name: str, port: int) -> contextlib.AbstractAsyncContextManager[SippRun]:
        if not re.fullmatch(r"[A-Za-z0-9.\-]+", name):
            raise ValueError(f"phone name must be a SIP user name, not {name!r}")

        def files() -> tuple[str, str]:
            return self.xml(PCAP_DIR), f"SEQUENTIAL\n{name}\n"

        return sipp_run(files, token=self.token, remote=None, port=port)

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


def inject_file(caller_ids: list[str | None], host: str, from_user: str | None = None) -> str:
    """SIPp's inject rows: per caller, the From user, its display name, the From host and the
    identity header.

    A number is asserted in P-Asserted-Identity and shown in From, unless `from_user` (e.g.
    `anonymous`) takes its place there; None withholds the number: `anonymous` in From and
    `Privacy: id`. Spaces in a number (`044 123 45 67`) are sent %-escaped, as SIP wants them.
    """
    if from_user is not None:
        _check_sip_user(from_user)
    rows = ["SEQUENTIAL"]
    for caller_id in caller_ids:
        if caller_id is None:
            rows.append("anonymous;Anonymous;anonymous.invalid;Privacy: id")
            continue
        _check_sip_user(caller_id)
        user = quote(caller_id, safe="+*#.-")
        shown = (from_user, from_user) if from_user else (user, caller_id)
        rows.append(f"{shown[0]};{shown[1]};{host};P-Asserted-Identity: <sip:{user}@{host}>")
    return "\n".join(rows) + "\n"


def _check_sip_user(caller_id: str) -> None:
    if not re.fullmatch(r"\+?[0-9A-Za-z*#.\- ]+", caller_id):
        raise ValueError(f"caller ID must be a number or a SIP user name, not {caller_id!r}")
