"""The SIPp scenario, the inject file and the reading of SIPp's logs, without running SIPp."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.harness.sipp import DtmfBatch, LogEvent, SippError, SipTarget
from tests.harness.sipp.logs import call_result, final_counts, parse_log
from tests.harness.sipp.scenario import (
    AnswererScenario,
    CallerScenario,
    dtmf_batches,
    first_wait_index,
    inject_file,
)

TARGET = SipTarget.parse("sip:0800100200@127.0.0.1:5060")


def scenario(tmp_path: Path, **options: object) -> ElementTree.Element:
    settings = {"hangup_after": None, "cancel_after": 30.0, "extra_headers": {}, **options}
    batches = settings.pop("batches", [])
    return ElementTree.fromstring(
        CallerScenario(TARGET, batches, **settings).xml(tmp_path).encode()
    )


def invite_text(root: ElementTree.Element) -> str:
    return next(s.text for s in root.iter("send") if s.text.strip().startswith("INVITE"))


def answerer(tmp_path: Path, **options: object) -> ElementTree.Element:
    settings = {"answer_after": 0.5, "reject": None, "hangup_after": None, **options}
    batches = settings.pop("batches", [])
    return ElementTree.fromstring(AnswererScenario(batches, **settings).xml(tmp_path).encode())


def jumps(root: ElementTree.Element) -> set[str]:
    return {
        element.get(attribute)
        for element in root.iter()
        for attribute in ("next", "ontimeout")
        if element.get(attribute)
    }


def test_every_jump_lands_on_a_label(tmp_path: Path) -> None:
    batches = [DtmfBatch(1.0, "123456#"), DtmfBatch(5.0, "1")]
    for root in (
        scenario(tmp_path, batches=batches),
        scenario(tmp_path, batches=batches, hangup_after=9),
        answerer(tmp_path, batches=batches, hangup_after=9),
        answerer(tmp_path, reject=486),
        answerer(tmp_path, answer_after=None),
    ):
        assert jumps(root) <= {label.get("id") for label in root.iter("label")}
    assert {"far_end_bye", "cancel", "rejected", "ended"} <= jumps(scenario(tmp_path))


def steps(root: ElementTree.Element) -> list[ElementTree.Element]:
    return [element for element in root if element.tag != "label"]


def test_in_dialog_requests_are_answered_and_the_wait_resumes(tmp_path: Path) -> None:
    """A re-INVITE, an UPDATE or a BYE at any moment after answer goes to `_unexp.main`,
    which answers it and jumps back to the wait the call was in (or to the first wait)."""
    for root in (
        scenario(tmp_path, batches=[DtmfBatch(1.0, "1")], hangup_after=3),
        answerer(tmp_path, batches=[DtmfBatch(1.0, "1")], hangup_after=3),
    ):
        children = list(root)
        handler = [e.get("id") for e in children].index("_unexp.main")
        requests = [e.get("request") for e in children[handler + 1 : handler + 5]]
        assert requests == ["INVITE", "UPDATE", "ACK", "BYE"]
        assert children[handler - 1].get("next") == "ended"  # no call runs into the handler
        assert "ended" in ElementTree.tostring(children[-1]).decode()  # the end comes last
        first_wait = first_wait_index(ElementTree.tostring(root).decode())
        resume = next(a for a in root.iter("assign") if a.get("assign_to") == "resume_at")
        assert int(resume.get("value")) == first_wait
        assert steps(root)[first_wait].find("action/index") is not None


def test_the_answerer_rings_then_answers_refuses_or_waits_for_cancel(tmp_path: Path) -> None:
    def statuses(root: ElementTree.Element) -> list[str]:
        return [s.text.strip().splitlines()[0] for s in root.iter("send")]

    answering = answerer(tmp_path, answer_after=1.5)
    assert statuses(answering)[:2] == ["SIP/2.0 180 Ringing", "SIP/2.0 200 OK"]
    cancel_wait = next(r for r in answering.iter("recv") if r.get("request") == "CANCEL")
    assert (cancel_wait.get("timeout"), cancel_wait.get("ontimeout")) == ("1500", "respond")
    assert statuses(answerer(tmp_path, reject=486))[:2] == [
        "SIP/2.0 180 Ringing",
        "SIP/2.0 486 Busy Here",
    ]
    never = next(
        r
        for r in answerer(tmp_path, answer_after=None).iter("recv")
        if r.get("request") == "CANCEL"
    )
    assert never.get("timeout") is None
    refusing = answerer(tmp_path, reject=603)
    assert "_unexp.main" not in [label.get("id") for label in refusing.iter("label")]  # no dialog
    with pytest.raises(ValueError, match="SIP failure status"):
        AnswererScenario([], answer_after=0, reject=180, hangup_after=None)


def test_the_invite_has_no_empty_header_line_and_offers_pcmu_with_telephone_events(
    tmp_path: Path,
) -> None:
    invite = invite_text(scenario(tmp_path, extra_headers={"X-Winet-Test": "yes"})).strip()
    headers, body = invite.split("\n\n")
    assert "" not in headers.splitlines()
    assert "X-Winet-Test: yes" in headers.splitlines()
    assert "[field3]" in headers.splitlines()  # P-Asserted-Identity or Privacy: id
    assert headers.startswith("INVITE sip:0800100200@127.0.0.1:5060 SIP/2.0")
    assert "m=audio [media_port] RTP/AVP 0 101" in body
    assert "a=rtpmap:101 telephone-event/8000" in body


def test_dtmf_batches_are_played_from_pcaps_made_for_their_offsets(tmp_path: Path) -> None:
    root = scenario(tmp_path, batches=[DtmfBatch(2.0, "42"), DtmfBatch(6.5, "#")])
    plays = [e.get("play_pcap_audio") for e in root.iter("exec")]
    assert [Path(play).name.split("ms-")[0] for play in plays] == [
        "dtmf-42-at-2000",
        "dtmf-h-at-6500",
    ]
    assert all(Path(play).exists() for play in plays)
    assert wait_offsets(root) == [2000, 6500, None]  # the last wait: for the far end's BYE


def wait_offsets(root: ElementTree.Element) -> list[int | None]:
    """The offset after answer that each wait waits for (None: no time, the far end's BYE)."""
    waits = [
        nop
        for nop in root.iter("nop")
        if nop.find("action/index[@assign_to='resume_at']") is not None
    ]
    return [
        int(wait.findall("action/add")[-1].get("value"))
        if wait.find("action/gettimeofday") is not None
        else None
        for wait in waits
    ]


def test_hanging_up_sends_a_bye_at_its_offset(tmp_path: Path) -> None:
    root = scenario(tmp_path, hangup_after=12.5)
    assert wait_offsets(root) == [12500]
    assert any(s.text.strip().startswith("BYE [next_url]") for s in root.iter("send"))


def test_without_a_hang_up_the_caller_waits_for_the_far_end(tmp_path: Path) -> None:
    root = scenario(tmp_path)
    assert wait_offsets(root) == [None]
    assert not list(root.iter("pause"))
    bye_waits = [r for r in root.iter("recv") if r.get("request") == "BYE"]
    assert bye_waits and all(r.get("next") == "far_end_bye" for r in bye_waits)


def test_every_response_to_the_invite_carries_the_cancel_timeout(tmp_path: Path) -> None:
    root = scenario(tmp_path, cancel_after=7)
    ringing = [r for r in root.iter("recv") if r.get("timeout") == "7000"]
    statuses = {int(r.get("response")) for r in ringing}
    assert {100, 180, 183, 200, 486, 603} <= statuses
    assert {r.get("ontimeout") for r in ringing} == {"cancel"}


def test_overlapping_dtmf_batches_are_refused() -> None:
    with pytest.raises(ValueError, match="starts before '123456#'"):
        dtmf_batches([(1.0, "123456#"), (2.0, "1")])
    assert dtmf_batches([(5, "1"), (1, "42")]) == [DtmfBatch(1.0, "42"), DtmfBatch(5.0, "1")]


def test_a_hang_up_before_the_last_dtmf_is_refused() -> None:
    with pytest.raises(ValueError, match="comes before the DTMF"):
        CallerScenario(
            TARGET, [DtmfBatch(3.0, "1")], hangup_after=2, cancel_after=30, extra_headers={}
        )


def test_a_header_that_would_break_the_message_is_refused() -> None:
    with pytest.raises(ValueError, match="bad SIP header"):
        CallerScenario(
            TARGET, [], hangup_after=None, cancel_after=30, extra_headers={"X-A": "1\r\nB: 2"}
        )


def test_caller_ids_become_inject_rows_and_withheld_numbers_anonymous() -> None:
    rows = inject_file(["+41441234567", None, "044 123 45 67"], "127.0.0.2").splitlines()
    assert rows == [
        "SEQUENTIAL",
        "+41441234567;+41441234567;127.0.0.2;P-Asserted-Identity: <sip:+41441234567@127.0.0.2>",
        "anonymous;Anonymous;anonymous.invalid;Privacy: id",
        "044%20123%2045%2067;044 123 45 67;127.0.0.2;"
        "P-Asserted-Identity: <sip:044%20123%2045%2067@127.0.0.2>",
    ]
    with pytest.raises(ValueError, match="caller ID"):
        inject_file(["044 123;45"], "127.0.0.2")


def test_the_asserted_number_can_stand_behind_an_anonymous_from() -> None:
    rows = inject_file(["+41441234567"], "127.0.0.2", from_user="anonymous").splitlines()
    assert (
        rows[1] == "anonymous;anonymous;127.0.0.2;P-Asserted-Identity: <sip:+41441234567@127.0.0.2>"
    )
    with pytest.raises(ValueError, match="caller ID"):
        inject_file(["+41441234567"], "127.0.0.2", from_user="a;b")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("sip:0800100200@127.0.0.1:5060", SipTarget("0800100200", "127.0.0.1", 5060)),
        ("sip:tech-anna@127.0.0.1", SipTarget("tech-anna", "127.0.0.1", 5060)),
    ],
)
def test_sip_targets_parse(uri: str, expected: SipTarget) -> None:
    assert SipTarget.parse(uri) == expected


def test_a_target_that_is_no_sip_uri_is_refused() -> None:
    with pytest.raises(ValueError, match="not a SIP URI"):
        SipTarget.parse("0800100200")


def test_log_lines_are_read_with_their_call_and_time() -> None:
    text = (
        "winet 3 invite sip:x@127.0.0.1:5060 @2026-11-26\t04:08:16.514148\t1795666096.514148\n"
        "2026-11-26 04:08:16 some other SIPp line\n"
        "winet 3 final 486 @2026-11-26\t04:08:16.600000\t1795666096.600000\n"
    )
    assert parse_log(text) == [
        LogEvent(3, "invite", "sip:x@127.0.0.1:5060", 1795666096.514148),
        LogEvent(3, "final", "486", 1795666096.6),
    ]


def events(*items: tuple[str, str, float]) -> list[LogEvent]:
    return [LogEvent(1, name, detail, time) for name, detail, time in items]


def test_an_answered_call_that_the_far_end_ends() -> None:
    result = call_result(
        events(
            ("invite", "sip:x", 100.0),
            ("provisional", "180", 100.1),
            ("final", "200", 100.5),
            ("answered", "-", 100.5),
            ("dtmf", "123#", 102.5),
            ("bye_received", "-", 110.5),
            ("ended", "-", 110.5),
        ),
        0,
        "",
        "",
    )
    assert result.answered and result.completed
    assert (result.status, result.provisional, result.hangup_by) == (200, [180], "far_end")
    assert result.setup_seconds == pytest.approx(0.5)
    assert result.talk_seconds == pytest.approx(10.0)
    assert result.dtmf_sent == [(2.0, "123#")]


def test_a_call_cancelled_while_ringing() -> None:
    result = call_result(
        events(
            ("invite", "sip:x", 100.0),
            ("provisional", "180", 100.1),
            ("cancel", "-", 130.1),
            ("final", "487", 130.2),
            ("ended", "-", 130.2),
        ),
        0,
        "",
        "",
    )
    assert not result.answered and result.cancelled
    assert (result.status, result.hangup_by, result.talk_seconds) == (487, None, None)


def test_sipp_statistics_give_the_final_counts() -> None:
    csv = (
        "StartTime;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);\n"
        "x;1;1;0;0;\n"
        "y;3;49;1;1;\n"
    )
    assert final_counts(csv) == (49, 1)
    with pytest.raises(SippError, match="no statistics"):
        final_counts("")
