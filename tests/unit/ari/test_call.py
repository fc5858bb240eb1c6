"""The call object's protocol handling against the fake ARI server (Asterisk itself: e2e)."""

from __future__ import annotations

import asyncio

import pytest

from ivr.ari.call import (
    DIAL_FAILURES,
    Call,
    CallerHungUp,
    DialFailed,
    dial_failure_reason,
    originate,
)
from ivr.ari.client import AriError


@pytest.fixture
async def call(fake, client):
    await client.connect()
    reports = []
    call = Call(client, fake.channel("c1"), on_playback=reports.append)
    call.reports = reports
    yield call
    await call.close()


def playback_events(fake, recorded, state="done", dtmf=""):
    """What Asterisk sends for POST /channels/c1/play/ID: start, optional keys, finish."""
    playback = {"id": recorded.path.rsplit("/", 1)[1], "target_uri": "channel:c1"}
    media = recorded.query["media"].split(",")
    events = [
        {"type": "PlaybackStarted", "playback": {**playback, "media_uri": uri, "state": "playing"}}
        for uri in media
    ]
    events += [fake.event("ChannelDtmfReceived", "c1", digit=digit) for digit in dtmf]
    if state:
        events.append(
            {
                "type": "PlaybackFinished",
                "playback": {**playback, "media_uri": media[-1], "state": state},
            }
        )
    return events


def script_playback(fake, **options):
    """Answer plays as Asterisk would; a stopped playback finishes at once."""

    def script(recorded):
        if recorded.method == "POST" and "/play/" in recorded.path:
            return playback_events(fake, recorded, **options)
        if recorded.method == "DELETE" and recorded.path.startswith("/playbacks/"):
            playback_id = recorded.path.rsplit("/", 1)[1]
            stopped = {"id": playback_id, "target_uri": "channel:c1", "state": "done"}
            return [{"type": "PlaybackFinished", "playback": stopped}]
        return []

    fake.script = script


async def test_a_verb_on_a_channel_that_is_gone_raises_caller_hung_up(fake, call):
    fake.replies[("POST", "/channels/c1/answer")] = (404, {"message": "Channel not found"})
    with pytest.raises(CallerHungUp) as caught:
        await call.answer()
    assert caught.value.channel_id == "c1"
    assert "c1" in str(caught.value) and "Channel not found" in str(caught.value)
    assert call.ended


async def test_hanging_up_a_channel_that_is_gone_is_quiet(fake, call):
    fake.replies[("DELETE", "/channels/c1")] = (404, {"message": "Channel not found"})
    await call.hangup()
    assert call.ended


async def test_play_reports_what_was_played(fake, call):
    script_playback(fake)
    assert await call.play("sound:a", "sound:b", lang="de") is None
    request = await fake.wait_request_matching(lambda r: "/play/" in r.path)
    assert request.query == {"media": "sound:a,sound:b", "lang": "de"}
    [report] = call.reports
    assert (report.started, report.outcome, report.digit) == (("sound:a", "sound:b"), "done", None)


async def test_play_returns_the_interrupting_key_and_stops_the_playback(fake, call):
    script_playback(fake, state="", dtmf="93")
    started = asyncio.get_running_loop().time()
    assert await call.play("sound:menu", interrupt_keys="123") == "3"
    assert asyncio.get_running_loop().time() - started < 0.5  # did not wait out the stop
    playback_id = call.reports[0].playback_id
    await fake.wait_request("DELETE", f"/playbacks/{playback_id}")
    assert call.reports[0].outcome == "interrupted"


async def test_hang_up_during_play_raises_caller_hung_up(fake, call):
    def script(recorded):
        if "/play/" in recorded.path:
            return [
                *playback_events(fake, recorded, state="failed"),
                fake.event("ChannelHangupRequest", "c1", cause=16),
            ]
        return []

    fake.script = script
    with pytest.raises(CallerHungUp, match="cause 16"):
        await call.play("sound:long")
    assert call.reports[0].outcome == "hung_up"


async def test_a_missing_sound_is_reported_not_raised(fake, call):
    script_playback(fake, state="failed")
    assert await call.play("sound:no-such-file") is None
    assert call.reports[0].outcome == "failed"


async def test_collect_digits_counts_keys_pressed_during_the_prompt(fake, call):
    script_playback(fake, state="", dtmf="12")
    task = asyncio.create_task(
        call.collect_digits(
            max_digits=4, first_digit_timeout=1.0, inter_digit_timeout=1.0, prompt="sound:p"
        )
    )
    await fake.wait_request("DELETE", f"/playbacks/{await _playback_id(fake)}")
    await fake.push(*(fake.event("ChannelDtmfReceived", "c1", digit=d) for d in "3#4"))
    assert await asyncio.wait_for(task, 2.0) == "123"


async def test_collect_digits_stops_at_max_digits(fake, call):
    task = asyncio.create_task(
        call.collect_digits(max_digits=2, first_digit_timeout=1.0, inter_digit_timeout=1.0)
    )
    await asyncio.sleep(0.05)
    await fake.push(*(fake.event("ChannelDtmfReceived", "c1", digit=d) for d in "567"))
    assert await asyncio.wait_for(task, 2.0) == "56"


async def test_collect_digits_ends_at_the_inter_digit_timeout(fake, call):
    task = asyncio.create_task(
        call.collect_digits(max_digits=6, first_digit_timeout=1.0, inter_digit_timeout=0.1)
    )
    await asyncio.sleep(0.05)
    await fake.push(fake.event("ChannelDtmfReceived", "c1", digit="8"))
    started = asyncio.get_running_loop().time()
    assert await asyncio.wait_for(task, 2.0) == "8"
    assert asyncio.get_running_loop().time() - started < 0.5


async def test_collect_digits_gives_nothing_after_the_first_digit_timeout(call):
    digits = await call.collect_digits(
        max_digits=4, first_digit_timeout=0.1, inter_digit_timeout=5.0
    )
    assert digits == ""


async def test_keys_pressed_before_collecting_count_in_order(fake, call):
    await fake.push(*(fake.event("ChannelDtmfReceived", "c1", digit=d) for d in "98"))
    await asyncio.sleep(0.05)
    task = asyncio.create_task(
        call.collect_digits(max_digits=3, first_digit_timeout=1.0, inter_digit_timeout=1.0)
    )
    await asyncio.sleep(0.05)
    await fake.push(fake.event("ChannelDtmfReceived", "c1", digit="1"))
    assert await asyncio.wait_for(task, 2.0) == "981"


async def test_a_key_pressed_between_two_prompts_answers_the_next_question(fake, call):
    script_playback(fake)
    await call.play("sound:greeting")  # not listening: the key waits for a question
    await fake.push(fake.event("ChannelDtmfReceived", "c1", digit="1"))
    await asyncio.sleep(0.05)
    script_playback(fake, state="")
    assert await call.play("sound:notice", interrupt_keys="12") == "1"


async def test_a_key_the_question_does_not_accept_waits_for_one_that_does(fake, call):
    await fake.push(*(fake.event("ChannelDtmfReceived", "c1", digit=d) for d in "72"))
    await asyncio.sleep(0.05)
    script_playback(fake, state="")
    assert await call.play("sound:notice", interrupt_keys="12") == "2"
    digits = await call.collect_digits(
        max_digits=1, first_digit_timeout=0.5, inter_digit_timeout=0.5
    )
    assert digits == "7"


@pytest.mark.parametrize(
    ("call_verb", "message"),
    [
        (lambda c: c.play(), "nothing to play"),
        (lambda c: c.play("hello-world"), "must start with one of sound:"),
        (lambda c: c.play("sound:a", interrupt_keys="1x"), "interrupt_keys"),
        (
            lambda c: c.collect_digits(max_digits=0, first_digit_timeout=1, inter_digit_timeout=1),
            "max_digits",
        ),
        (lambda c: c.dial("PJSIP/x", timeout=0), "timeout must be positive"),
        (lambda c: c.dial("PJSIP/x", timeout=5, headers={"X Bad": "1"}), "X Bad"),
    ],
)
async def test_bad_arguments_are_refused_with_a_clear_error(fake, call, call_verb, message):
    with pytest.raises(ValueError, match=message):
        await call_verb(call)
    assert fake.requests == []


async def test_dial_originates_a_marked_leg_with_headers_and_returns_it_answered(fake, call):
    def script(recorded):
        if recorded.path == "/channels" and recorded.method == "POST":
            return [fake.event("StasisStart", recorded.query["channelId"], args=["leg"])]
        return []

    fake.script = script
    leg = await call.dial(
        "PJSIP/tech-anna",
        timeout=20,
        caller_id="Winet <0800100200>",
        variables={"WINET_CALL": "42"},
        headers={"X-Winet-Tier": "pro"},
    )
    originate = fake.requested("POST", "/channels")[0]
    assert originate.query == {
        "endpoint": "PJSIP/tech-anna",
        "app": "test-app",
        "appArgs": "leg",
        "channelId": leg.channel_id,
        "originator": "c1",
        "timeout": "20",
        "callerId": "Winet <0800100200>",
    }
    assert originate.body == {
        "variables": {"WINET_CALL": "42", "PJSIP_HEADER(add,X-Winet-Tier)": "pro"}
    }
    await call.close()
    await fake.wait_request("DELETE", f"/channels/{leg.channel_id}")


@pytest.mark.parametrize(
    ("cause", "dialstatus", "reason"),
    [(17, "", "busy"), (21, "NOANSWER", "declined"), (19, "", "no_answer"), (0, "BUSY", "busy")],
)
async def test_a_leg_that_ends_before_answering_fails_the_dial(
    fake, call, cause, dialstatus, reason
):
    def script(recorded):
        if recorded.path == "/channels" and recorded.method == "POST":
            leg_id = recorded.query["channelId"]
            return [
                {"type": "Dial", "peer": fake.channel(leg_id), "dialstatus": dialstatus},
                fake.event("ChannelDestroyed", leg_id, cause=cause, cause_txt="x"),
            ]
        return []

    fake.script = script
    with pytest.raises(DialFailed) as caught:
        await call.dial("PJSIP/tech-anna", timeout=5)
    assert caught.value.reason == reason


async def test_an_originate_asterisk_refuses_is_unreachable(fake, call):
    fake.replies[("POST", "/channels")] = (500, {"error": "Allocation failed"})
    with pytest.raises(DialFailed, match="Allocation failed") as caught:
        await call.dial("PJSIP/nobody", timeout=5)
    assert caught.value.reason == "unreachable"


async def test_the_caller_hanging_up_while_a_leg_rings_hangs_the_leg_up(fake, call):
    task = asyncio.create_task(call.dial("PJSIP/tech-anna", timeout=30))
    originate = await fake.wait_request("POST", "/channels")
    await fake.push(fake.event("ChannelHangupRequest", "c1", cause=16))
    with pytest.raises(CallerHungUp):
        await asyncio.wait_for(task, 2.0)
    await fake.wait_request("DELETE", f"/channels/{originate.query['channelId']}")


async def test_bridge_waits_for_both_sides_and_close_destroys_it(fake, call, client):
    other = Call(client, fake.channel("c2"))

    def script(recorded):
        if recorded.path.endswith("/addChannel"):
            bridge = {"id": recorded.path.split("/")[2]}
            return [
                fake.event("ChannelEnteredBridge", channel_id, bridge=bridge)
                for channel_id in ("c1", "c2")
            ]
        return []

    fake.script = script
    bridge = await call.bridge(other)
    assert bridge.connected
    assert fake.requested("POST", f"/bridges/{bridge.bridge_id}")[0].query == {"type": "mixing"}
    add = fake.requested("POST", f"/bridges/{bridge.bridge_id}/addChannel")[0]
    assert add.query == {"channel": "c1,c2"}
    await fake.push(fake.event("ChannelHangupRequest", "c2", cause=16))
    assert await asyncio.wait_for(bridge.wait_hangup(), 2.0) is other
    await call.close()
    await other.close()
    assert fake.requested("DELETE", f"/bridges/{bridge.bridge_id}")
    assert fake.requested("DELETE", "/channels/c1")


def refuse_the_add(fake, *trailing: dict) -> None:
    """Asterisk answers addChannel with 422 (a channel leaving the application); `trailing`
    events follow it."""

    def script(recorded):
        if recorded.path.endswith("/addChannel"):
            refusal = (422, {"message": "Channel not in Stasis application"})
            fake.replies[("POST", recorded.path)] = refusal
            return list(trailing)
        return []

    fake.script = script


async def test_a_leg_leaving_as_it_is_added_to_the_bridge_is_no_error(fake, call, client):
    other = Call(client, fake.channel("c2"))
    refuse_the_add(fake, fake.event("StasisEnd", "c2"))

    bridge = await asyncio.wait_for(call.bridge(other), 2.0)

    assert not bridge.connected
    assert await asyncio.wait_for(bridge.wait_hangup(), 1.0) is other


async def test_a_refused_add_with_both_calls_still_there_is_an_error(fake, call, client):
    other = Call(client, fake.channel("c2"))
    refuse_the_add(fake)

    with pytest.raises(AriError, match="not in Stasis"):
        await asyncio.wait_for(call.bridge(other), 2.0)


async def test_originate_places_a_call_of_its_own_and_returns_it_answered(fake, client):
    def script(recorded):
        if recorded.path == "/channels" and recorded.method == "POST":
            return [fake.event("StasisStart", recorded.query["channelId"], args=["leg"])]
        return []

    fake.script = script
    await client.connect()
    placed = await originate(client, "PJSIP/tech-lea", timeout=15, caller_id="Winet <0800>")
    request = fake.requested("POST", "/channels")[0]
    assert request.query == {
        "endpoint": "PJSIP/tech-lea",
        "app": "test-app",
        "appArgs": "leg",
        "channelId": placed.channel_id,
        "timeout": "15",
        "callerId": "Winet <0800>",
    }
    assert not placed.ended
    await placed.close()
    assert fake.requested("DELETE", f"/channels/{placed.channel_id}")


async def test_originate_not_answered_says_why(fake, client):
    def script(recorded):
        if recorded.path == "/channels" and recorded.method == "POST":
            leg_id = recorded.query["channelId"]
            return [fake.event("ChannelDestroyed", leg_id, cause=17, cause_txt="busy")]
        return []

    fake.script = script
    await client.connect()
    with pytest.raises(DialFailed) as caught:
        await originate(client, "PJSIP/tech-lea", timeout=5)
    assert caught.value.reason == "busy"


def test_dial_failure_reasons_come_from_cause_then_dialstatus():
    every_cause = {dial_failure_reason(cause, None) for cause in range(128)}
    every_status = {dial_failure_reason(0, s) for s in ("BUSY", "NOANSWER", "CHANUNAVAIL", "X")}
    assert every_cause | every_status <= set(DIAL_FAILURES)
    assert dial_failure_reason(17, None) == "busy"
    assert dial_failure_reason(21, "NOANSWER") == "declined"
    assert dial_failure_reason(3, None) == "unreachable"
    assert dial_failure_reason(0, "CHANUNAVAIL") == "unreachable"
    assert dial_failure_reason(0, "") == "failed"


async def _playback_id(fake) -> str:
    recorded = await fake.wait_request_matching(lambda r: "/play/" in r.path)
    return recorded.path.rsplit("/", 1)[1]


async def test_a_successor_stops_what_a_dead_worker_left_playing(fake, client, call):
    script_playback(fake, state="")
    task = asyncio.create_task(call.play("sound:long-notice"))
    await fake.wait_request_matching(lambda r: "/play/" in r.path)
    task.cancel()  # the worker dies mid-prompt; its playback goes on in Asterisk

    successor = Call(client, fake.channel("c1"))
    await successor.stop_playbacks_left(most=3)

    deleted = [r.path for r in fake.requests if r.method == "DELETE"]
    assert "/playbacks/c1-play-1" in deleted, "the id the first worker used"
    assert {"/playbacks/c1-play-2", "/playbacks/c1-play-3"} <= set(deleted)


def script_visits(fake):
    """Asterisk ends the channel's Stasis at once when it is sent to the dialplan."""

    def script(recorded):
        if recorded.method == "POST" and recorded.path == "/channels/c1/continue":
            return [fake.event("StasisEnd", "c1")]
        return []

    fake.script = script


def queue_dial(fake, status, member="PJSIP/xy-desk-2-0000002a"):
    """app_queue on the caller's channel ringing (or connecting) a member."""
    peer = {"id": "member-leg", "name": member}
    return fake.event("Dial", caller=fake.channel("c1"), peer=peer, dialstatus=status)


async def test_a_visit_to_the_dialplan_keeps_following_the_channel(fake, call):
    script_visits(fake)

    await call.visit_dialplan("desk-queue", "xy-desk")

    [subscribed] = fake.requested("POST", f"/applications/{call.application}/subscription")
    assert subscribed.query["eventSource"] == "channel:c1", "its events outside the application"
    [sent] = fake.requested("POST", "/channels/c1/continue")
    assert (sent.query["context"], sent.query["extension"], sent.query["priority"]) == (
        "desk-queue",
        "xy-desk",
        "1",
    )
    assert call.in_dialplan and not call.ended, "leaving on a visit is not the end"

    await call.close()
    assert fake.requested("DELETE", "/channels/c1") == [], "the dialplan's now: it stays up"


async def test_who_answered_a_call_the_channel_placed_in_the_dialplan(fake, call):
    script_visits(fake)
    await call.visit_dialplan("desk-queue", "xy-desk")
    waiting = asyncio.ensure_future(call.answered_in_dialplan())
    await fake.push(queue_dial(fake, ""), queue_dial(fake, "RINGING"))
    await asyncio.sleep(0.05)
    assert not waiting.done(), "ringing a member is not an answer"

    await fake.push(queue_dial(fake, "ANSWER"))

    assert await asyncio.wait_for(waiting, 1.0) == "xy-desk-2"


async def test_an_answer_in_the_dialplan_before_anyone_waits_is_not_missed(fake, call):
    script_visits(fake)
    await call.visit_dialplan("desk-queue", "xy-desk")
    await fake.push(queue_dial(fake, "ANSWER"))
    await asyncio.sleep(0.05)

    assert await asyncio.wait_for(call.answered_in_dialplan(), 1.0) == "xy-desk-2"


async def test_a_channel_comes_back_from_the_dialplan_with_its_arguments(fake, call):
    script_visits(fake)
    await call.visit_dialplan("desk-queue", "xy-desk")
    back = asyncio.ensure_future(call.back_from_dialplan())
    await asyncio.sleep(0.05)
    assert not back.done()

    await fake.push(fake.event("StasisStart", "c1", args=["desk-offer"]))

    assert await asyncio.wait_for(back, 1.0) == ("desk-offer",)
    assert not call.in_dialplan
    await call.visit_dialplan("desk-queue", "xy-desk", label="rejoin")
    rejoin = fake.requested("POST", "/channels/c1/continue")[-1]
    assert rejoin.query["label"] == "rejoin" and "priority" not in rejoin.query
    subscriptions = fake.requested("POST", f"/applications/{call.application}/subscription")
    assert len(subscriptions) == 1, "subscribed once for the channel's life"


@pytest.mark.parametrize(
    ("hangup", "by_far_end"),
    [
        ({"cause": 16}, True),  # the caller's BYE
        ({"cause": 16, "soft": True}, False),  # the dialplan's Hangup() after the agent left
    ],
)
async def test_who_ended_a_channel_in_the_dialplan(fake, call, hangup, by_far_end):
    script_visits(fake)
    await call.visit_dialplan("desk-queue", "xy-desk")
    back = asyncio.ensure_future(call.back_from_dialplan())
    ended = asyncio.ensure_future(call.wait_ended())

    await fake.push(fake.event("ChannelHangupRequest", "c1", **hangup))
    await fake.push(fake.event("ChannelDestroyed", "c1", cause=16))

    await asyncio.wait_for(ended, 1.0)
    assert call.hung_up_by_far_end is by_far_end
    with pytest.raises(CallerHungUp):
        await asyncio.wait_for(back, 1.0)


async def test_a_variable_the_channel_does_not_have_reads_empty(fake, call):
    fake.replies[("GET", "/channels/c1/variable")] = (
        404,
        {"message": "Provided variable was not found"},
    )
    assert await call.variable("WINET_DESK_AGENT") == ""
    assert not call.ended

    fake.replies[("GET", "/channels/c1/variable")] = (
        404,
        {"message": "Provided channel was not found"},
    )
    with pytest.raises(CallerHungUp):
        await call.variable("WINET_DESK_AGENT")
    assert call.ended


async def test_a_visit_asterisk_refused_leaves_the_channel_ours(fake, call):
    fake.replies[("POST", "/channels/c1/continue")] = (500, {"message": "Internal Server Error"})

    with pytest.raises(AriError):
        await call.visit_dialplan("desk-queue", "xy-desk")

    assert not call.in_dialplan and not call.ended
    await call.close()
    assert fake.requested("DELETE", "/channels/c1"), "still ours: hung up at the end"
