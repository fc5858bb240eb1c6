"""One channel in our Stasis application, with the verbs a call flow awaits.

Every verb returns when its result is known and raises `CallerHungUp` (naming the channel)
when the channel hangs up, or leaves the application, meanwhile. A channel sent on a visit to
the dialplan (`visit_dialplan`) is still followed: its hang-up, the calls it places there and its
return into the application reach the Call. A call knows nothing of customers or tiers. Legs and
bridges a call creates are hung up and destroyed by `close()`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from ivr.ari.client import (
    RESYNC_EVENT,
    AriClient,
    AriError,
    AriUnavailable,
    Conflict,
    Event,
    NotFound,
    QueryValue,
    in_stasis_app,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

LEG_ARG = "leg"
"""appArgs of the legs we originate, so their StasisStart is not taken for a new caller."""
DTMF_KEYS = "0123456789*#ABCD"
MEDIA_SCHEMES = ("sound:", "recording:", "number:", "digits:", "characters:", "tone:")
DIAL_FAILURES = ("no_answer", "busy", "declined", "failed", "unreachable")
# The events a Call acts on; an application of Calls need receive no others.
EVENT_TYPES = (
    "StasisStart",
    "StasisEnd",
    "ChannelDtmfReceived",
    "PlaybackStarted",
    "PlaybackFinished",
    "ChannelEnteredBridge",
    "ChannelHangupRequest",
    "ChannelDestroyed",
    "Dial",
    "ApplicationReplaced",
)

_CONFIRM_WAIT = 2.0  # seconds to wait for Asterisk's event after a stop, hang-up or continue
_HANGUP_SETTLE = 0.2  # seconds a hang-up event may trail a failed playback
_DIAL_GRACE = 2.0  # beyond the ring timeout that Asterisk enforces itself
PLAYBACKS_PROBED = 64  # a call's playbacks a successor looks for (a call plays a dozen or so)
KEYS_KEPT = 32  # keys pressed ahead of the question that takes them (type-ahead)
UNSET_VARIABLE = "variable was not found"  # ARI's 404 for a variable the channel does not have
_CHANNEL_NAME = re.compile(r"[^/]+/(.+)-[0-9a-f]{8}")  # technology/endpoint-sequence
_HEADER_NAME = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")

# Q.850 hang-up causes, then Dial events' DIALSTATUS, to the reasons a flow acts on.
_REASON_BY_CAUSE = {
    1: "unreachable",  # unallocated number
    2: "unreachable",  # no route to network
    3: "unreachable",  # no route to destination
    17: "busy",
    18: "no_answer",  # no user responding
    19: "no_answer",
    20: "unreachable",  # subscriber absent (e.g. no registered contact)
    21: "declined",
    27: "unreachable",  # destination out of order
    38: "unreachable",  # network out of order
}
_REASON_BY_DIALSTATUS = {
    "BUSY": "busy",
    "NOANSWER": "no_answer",
    "CHANUNAVAIL": "unreachable",
    "CONGESTION": "failed",
}


class CallerHungUp(Exception):
    """The channel hung up (or left the Stasis application) while a verb waited on it."""

    def __init__(self, channel_id: str, detail: str) -> None:
        self.channel_id = channel_id
        self.detail = detail
        super().__init__(f"channel {channel_id} {detail}")


class DialFailed(Exception):
    """A second leg was not answered; `reason` is one of DIAL_FAILURES."""

    def __init__(self, reason: str, endpoint: str, detail: str = "") -> None:
        self.reason = reason
        self.endpoint = endpoint
        self.detail = detail
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"dialling {endpoint} failed: {reason}{suffix}")


def dial_failure_reason(cause: int | None, dialstatus: str | None) -> str:
    if cause in _REASON_BY_CAUSE:
        return _REASON_BY_CAUSE[cause]
    return _REASON_BY_DIALSTATUS.get(dialstatus or "", "failed")


@dataclass(frozen=True)
class PlaybackReport:
    """What one `play` (or a prompt of `collect_digits`) did, for the call record."""

    channel_id: str
    playback_id: str
    media: tuple[str, ...]
    started: tuple[str, ...]
    """The media Asterisk actually started, in order."""
    outcome: str
    """done, failed (Asterisk could not play it), interrupted (by `digit`), hung_up, unknown."""
    digit: str | None


PlaybackObserver = Callable[[PlaybackReport], None]


class _Playback:
    __slots__ = ("finished", "media", "started", "state")

    def __init__(self, media: tuple[str, ...], finished: asyncio.Future[None]) -> None:
        self.media = media
        self.finished = finished
        self.started: list[str] = []
        self.state: str | None = None

    def finish(self, state: str) -> None:
        self.state = state
        if not self.finished.done():
            self.finished.set_result(None)


class Call:
    """A channel in our Stasis application."""

    def __init__(
        self,
        client: AriClient,
        channel: Mapping[str, Any],
        *,
        args: Sequence[str] = (),
        on_playback: PlaybackObserver | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self.channel_id: str = channel["id"]
        self.args = tuple(args)
        self.on_playback = on_playback
        self._client = client
        self._channel = channel
        self._ended: asyncio.Future[str] = loop.create_future()
        self._in_stasis: asyncio.Future[None] = loop.create_future()
        self._end_waiters: list[asyncio.Future[None]] = []
        self._hangup_requested = False
        self._cause: int | None = None
        self._dialstatus: str | None = None
        self._playbacks: dict[str, _Playback] = {}
        self._entering: dict[str, asyncio.Future[None]] = {}
        self._answered_in_dialplan: asyncio.Future[str] = loop.create_future()
        self._leaving: asyncio.Future[None] | None = None  # a visit to the dialplan starting
        self._visit: asyncio.Future[tuple[str, ...]] | None = None  # args when it comes back
        self._subscribed = False  # to the channel's events outside the application
        self._hung_up_by_far_end = False
        self._digit_keys = ""
        self._digits: deque[str] = deque(maxlen=KEYS_KEPT)
        self._digit_waiter: asyncio.Future[str] | None = None
        self._ringing = False
        self._on_hold = False
        self._legs: list[Call] = []
        self._bridges: list[Bridge] = []
        self._closed = False
        self._released = False
        self._playbacks_started = 0
        # Asterisk's own timestamps (ISO 8601), to measure how soon a caller hears us
        self.stasis_start_at: str | None = None
        self.first_playback_at: str | None = None
        client.watch(self.channel_id, self._on_event)

    def __repr__(self) -> str:
        return f"<Call {self.channel_id} from {self.caller_number!r}>"

    # -- what the channel says about itself --------------------------------------------------

    @property
    def up(self) -> bool:
        """Answered, as Asterisk last described the channel."""
        return self._channel.get("state") == "Up"

    @property
    def caller_number(self) -> str:
        return (self._channel.get("caller") or {}).get("number", "")

    @property
    def caller_name(self) -> str:
        return (self._channel.get("caller") or {}).get("name", "")

    @property
    def dial_string(self) -> str:
        """What dials the channel's endpoint ("PJSIP/tech-anna" for PJSIP/tech-anna-0000002a)."""
        name = self._channel.get("name", "")
        return f"{name.split('/', 1)[0]}/{_endpoint_of(name)}" if "/" in name else name

    @property
    def dialed_extension(self) -> str:
        return (self._channel.get("dialplan") or {}).get("exten", "")

    @property
    def language(self) -> str:
        return self._channel.get("language", "")

    @property
    def ended(self) -> bool:
        """True once the channel hung up, or left the Stasis application other than on a visit
        to the dialplan."""
        return self._ended.done()

    @property
    def application(self) -> str:
        """The Stasis application the channel is (or comes back) in."""
        return self._client.app

    @property
    def in_dialplan(self) -> bool:
        """On a visit to the dialplan, not back in the application yet."""
        return self._visit is not None and not self._visit.done() and not self.ended

    @property
    def hung_up_by_far_end(self) -> bool:
        """The channel ended because its far end hung up (not we, not the dialplan)."""
        return self._hung_up_by_far_end

    @property
    def hangup_cause(self) -> int | None:
        return self._cause

    @property
    def first_prompt_delay(self) -> float | None:
        """Seconds from entering our application to the first sound played, by Asterisk's
        clock; None until both happened."""
        if not (self.stasis_start_at and self.first_playback_at):
            return None
        entered = datetime.fromisoformat(self.stasis_start_at)
        return (datetime.fromisoformat(self.first_playback_at) - entered).total_seconds()

    # -- verbs -------------------------------------------------------------------------------

    async def answer(self) -> None:
        await self._channel_request("POST", "/answer")

    async def ring(self) -> None:
        """Ringing tone to the caller (in-band once answered), replacing music on hold."""
        if self._on_hold:
            await self._channel_request("DELETE", "/moh")
            self._on_hold = False
        await self._channel_request("POST", "/ring")
        self._ringing = True

    async def hold(self, moh_class: str = "default") -> None:
        """Music on hold to the caller, replacing a ringing tone."""
        if self._ringing:
            await self._channel_request("DELETE", "/ring")
            self._ringing = False
        await self._channel_request("POST", "/moh", {"mohClass": moh_class})
        self._on_hold = True

    async def stop_hold(self) -> None:
        """Stop music on hold or ringing, whichever `hold()` or `ring()` started."""
        if self._on_hold:
            await self._channel_request("DELETE", "/moh")
            self._on_hold = False
        if self._ringing:
            await self._channel_request("DELETE", "/ring")
            self._ringing = False

    async def play(
        self, *media: str, lang: str | None = None, interrupt_keys: str = ""
    ) -> str | None:
        """Play the media in order; the key in `interrupt_keys` that stopped it, else None."""
        _check_media(media)
        _check_keys(interrupt_keys, "interrupt_keys")
        if not interrupt_keys:
            await self._play(media, lang, interruptible=False)
            return None
        self._listen_for_digits(interrupt_keys)
        try:
            return await self._play(media, lang, interruptible=True)
        finally:
            self._stop_listening()

    async def collect_digits(
        self,
        *,
        max_digits: int,
        first_digit_timeout: float,
        inter_digit_timeout: float,
        terminator: str = "#",
        prompt: Sequence[str] = (),
        lang: str | None = None,
    ) -> str:
        """Read up to `max_digits` keys; the first key stops the prompt and counts.

        The first-digit timeout starts when the prompt has finished. Returns the digits without
        the terminator; an empty string when nothing was pressed in time.
        """
        if max_digits < 1:
            raise ValueError(f"max_digits must be at least 1, not {max_digits}")
        if first_digit_timeout <= 0 or inter_digit_timeout <= 0:
            raise ValueError("first_digit_timeout and inter_digit_timeout must be positive")
        if len(terminator) > 1:
            raise ValueError(f"terminator must be one key or empty, not {terminator!r}")
        _check_keys(terminator, "terminator")
        prompt = (prompt,) if isinstance(prompt, str) else tuple(prompt)
        if prompt:
            _check_media(prompt)
        self._listen_for_digits(DTMF_KEYS)
        try:
            first = await self._play(prompt, lang, interruptible=True) if prompt else None
            return await self._read_digits(
                first, max_digits, first_digit_timeout, inter_digit_timeout, terminator
            )
        finally:
            self._stop_listening()

    async def dial(
        self,
        endpoint: str,
        *,
        timeout: float,  # noqa: ASYNC109 - the ring time Asterisk enforces, not a wrapper
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Call:
        """Originate a second leg into our application; the answered leg as a Call.

        Raises DialFailed when it is not answered within `timeout` seconds or fails, and
        CallerHungUp (after hanging the leg up) when this channel hangs up meanwhile.
        """
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        channel_variables = _channel_variables(variables, headers)
        if self.ended:
            raise self._hung_up()
        leg = Call(self._client, {"id": _new_id()}, args=(LEG_ARG,), on_playback=self.on_playback)
        self._legs.append(leg)
        try:
            try:
                await _originate(
                    leg, endpoint, timeout, caller_id, channel_variables, self.channel_id
                )
            except DialFailed:
                if self.ended:
                    raise self._hung_up() from None
                raise
            answered = await self._first(leg._in_stasis, leg._ended, limit=timeout + _DIAL_GRACE)
        except BaseException:
            await self._drop_leg(leg)
            raise
        if answered is leg._in_stasis:
            return leg
        await self._drop_leg(leg)
        raise leg._dial_failure(endpoint, timeout, answered is None)

    async def adopt_bridge(self) -> Bridge | None:
        """The bridge a worker that died left this channel talking in: ours from now on, with
        the other channel in it as our leg (hung up when we close). None when it is in none."""
        held = await self._bridge_holding()
        if held is None:
            return None
        bridge_id, other_id = held
        leg = Call(self._client, {"id": other_id}, args=(LEG_ARG,), on_playback=self.on_playback)
        self._legs.append(leg)
        bridge = Bridge(self._client, bridge_id, (self, leg))
        self._bridges.append(bridge)
        try:  # it may have hung up before we listened
            leg._channel = await self._client.request("GET", f"/channels/{other_id}")
        except NotFound:
            leg._end("hung up before it was taken over")
        return bridge

    async def in_bridge_with_another(self) -> bool:
        return await self._bridge_holding() is not None

    def release(self) -> None:
        """Let the channel be without hanging it up when this Call closes: another Call of
        ours follows it (a leg that `adopt_bridge` took on)."""
        self._released = True

    async def _bridge_holding(self) -> tuple[str, str] | None:
        """(bridge id, another channel in it) of the bridge this channel is in with another."""
        for bridge in await self._client.listing("/bridges") or []:
            channels = bridge.get("channels", [])
            others = [channel for channel in channels if channel != self.channel_id]
            if self.channel_id in channels and others:
                return bridge["id"], others[0]
        return None

    async def bridge(self, other: Call) -> Bridge:
        """Put this channel and `other` into a new mixing bridge; returns when both are in.

        If `other` hangs up meanwhile, the bridge is still returned and its `wait_hangup()`
        answers at once with `other`; `connected` says whether both were ever in it. Asterisk
        refuses to add a channel that is leaving our application; the hang-up that trails that
        refusal is waited for, so that a leg gone just then is not an error.
        """
        await self.stop_hold()
        bridge = Bridge(self._client, _new_id(), (self, other))
        self._bridges.append(bridge)
        await self._client.request(
            "POST", f"/bridges/{bridge.bridge_id}", params={"type": "mixing"}
        )
        entered = [call._expect_bridge(bridge.bridge_id) for call in (self, other)]
        channels = f"{self.channel_id},{other.channel_id}"
        try:
            await self._client.request(
                "POST", f"/bridges/{bridge.bridge_id}/addChannel", params={"channel": channels}
            )
        except AriUnavailable:
            raise
        except AriError:
            await self._first(self._ended, other._ended, limit=_HANGUP_SETTLE)
            if not (self.ended or other.ended):
                raise
        both_in = asyncio.gather(*entered)
        if await self._first(both_in, other._ended, limit=_CONFIRM_WAIT) is None:
            log.warning("%s and %s did not both enter bridge %s", self, other, bridge.bridge_id)
        bridge.connected = both_in.done() and not both_in.cancelled()
        both_in.cancel()
        both_in.add_done_callback(_read_outcome)
        for call in (self, other):
            call._entering.pop(bridge.bridge_id, None)
        return bridge

    async def hangup(self, reason: str = "normal") -> None:
        """Hang the channel up; returns once Asterisk confirms (or it was gone already)."""
        try:
            await self._client.request(
                "DELETE", f"/channels/{self.channel_id}", params={"reason": reason}
            )
        except NotFound:
            self._end("was gone already")
            return
        await self._until_ended(_CONFIRM_WAIT)

    async def continue_in_dialplan(self, context: str, extension: str, priority: int = 1) -> None:
        """Leave our application for the dialplan; returns once the channel has left."""
        params = {"context": context, "extension": extension, "priority": priority}
        await self._channel_request("POST", "/continue", params)
        await self._until_ended(_CONFIRM_WAIT)

    async def visit_dialplan(
        self, context: str, extension: str, *, label: str | None = None
    ) -> None:
        """Hand the channel to the dialplan (at `label`, else priority 1) and keep following it:
        its hang-up, who answers the calls it places there (`answered_in_dialplan`) and its
        return into our application (`back_from_dialplan`) still reach this Call. Returns once
        it has left the application."""
        loop = asyncio.get_running_loop()
        await self._subscribe()
        params: dict[str, QueryValue] = {"context": context, "extension": extension}
        params.update({"label": label} if label else {"priority": 1})
        self._leaving = loop.create_future()
        self._visit = loop.create_future()
        try:
            await self._channel_request("POST", "/continue", params)
        except BaseException:
            self._leaving = self._visit = None  # still ours, in the application
            raise
        self._on_hold = self._ringing = False  # the dialplan plays what it wants
        await self._first(self._leaving, limit=_CONFIRM_WAIT)

    async def follow_in_dialplan(self) -> None:
        """Follow a channel that another Call sent to the dialplan (its worker died), as if this
        one had: its hang-up, calls answered there and its return reach this Call."""
        await self._subscribe()
        self._visit = asyncio.get_running_loop().create_future()

    async def variable(self, name: str) -> str:
        """A channel variable's value ('' when unset). CallerHungUp when the channel is gone."""
        try:
            answer = await self._client.request(
                "GET", f"/channels/{self.channel_id}/variable", params={"variable": name}
            )
        except NotFound as error:
            if UNSET_VARIABLE in error.message:
                return ""
            self._end(f"hung up ({error.message})")
            raise self._hung_up() from None
        return (answer or {}).get("value", "")

    async def wait_ended(self) -> None:
        """Wait until the channel hangs up (or leaves the application other than on a visit)."""
        await self._until_ended(None)

    async def back_from_dialplan(self) -> tuple[str, ...]:
        """Wait until the channel, on a visit to the dialplan, enters our application again;
        the arguments it came with. CallerHungUp when it ends first."""
        if self._visit is None:
            raise RuntimeError(f"{self} was not sent to the dialplan")
        visit = self._visit
        await self._first(visit)
        return visit.result()

    async def answered_in_dialplan(self) -> str:
        """The endpoint of whoever answered a call this channel placed from the dialplan (e.g.
        the queue member app_queue connected it with), waiting until one does; an answer that
        came before the wait counts. CallerHungUp when the channel ends first."""
        await self._first(self._answered_in_dialplan)
        return self._answered_in_dialplan.result()

    async def stop_playbacks_left(self, most: int = PLAYBACKS_PROBED) -> None:
        """Stop what another Call object of this channel (a worker that died) left playing.

        Asterisk runs a channel's ARI commands one after the other, a playback included: until
        it ends, nothing else happens to the channel. Playback ids are the channel's id and a
        count, so the one that takes over can name them without being told."""
        ids = [playback_id_of(self.channel_id, n) for n in range(1, most + 1)]
        await asyncio.gather(*(self._stop_if_playing(playback_id) for playback_id in ids))

    async def _stop_if_playing(self, playback_id: str) -> None:
        try:
            await self._client.request("DELETE", f"/playbacks/{playback_id}")
        except NotFound:
            pass

    async def set_variable(self, name: str, value: str) -> None:
        await self._channel_request("POST", "/variable", {"variable": name, "value": value})

    async def unless_hung_up(self, awaitable: Awaitable[T]) -> T:
        """Await work on another channel (e.g. a whisper to a second leg) while this one
        stays up; cancel it and raise CallerHungUp if this channel hangs up first."""
        task = asyncio.ensure_future(awaitable)
        try:
            if await self._first(task) is task:
                return task.result()
        finally:
            task.cancel()
        raise self._hung_up()

    async def close(self) -> None:
        """Destroy our bridges, hang up our legs and, if still in our application, ourselves
        (a channel on a visit to the dialplan is the dialplan's, and a released one another
        Call's: they stay up)."""
        if self._closed:
            return
        self._closed = True
        for bridge in self._bridges:
            await bridge.destroy()
        for leg in self._legs:
            await leg.close()
        if not (self.ended or self.in_dialplan or self._released):
            try:
                await self._client.request("DELETE", f"/channels/{self.channel_id}")
            except NotFound:
                pass
            except AriError as error:
                log.warning("could not hang up %s at the end of the call: %s", self, error)
        self._client.unwatch(self.channel_id, self._on_event)

    # -- events ------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> Awaitable[None] | None:
        kind = event["type"]
        channel = event.get("channel")
        if channel is not None and channel["id"] == self.channel_id and len(channel) > 1:
            self._channel = channel  # a synthetic hang-up carries only the id: keep the last state
        if kind == "ChannelDtmfReceived":
            self._on_digit(event["digit"])
        elif kind == "PlaybackStarted":  # once for each media of the list
            self.first_playback_at = self.first_playback_at or event.get("timestamp")
            playback = self._playbacks.get(event["playback"]["id"])
            if playback is not None:
                playback.started.append(event["playback"]["media_uri"])
        elif kind == "PlaybackFinished":
            playback = self._playbacks.get(event["playback"]["id"])
            if playback is not None:
                playback.finish(event["playback"].get("state", "done"))
        elif kind == "ChannelEnteredBridge":
            entering = self._entering.pop(event["bridge"]["id"], None)
            if entering is not None and not entering.done():
                entering.set_result(None)
        elif kind == "StasisStart":
            self.stasis_start_at = self.stasis_start_at or event.get("timestamp")
            _resolve(self._in_stasis)
            self._came_back(event.get("args") or [])
        elif kind == "Dial":
            self._on_dial(event)
        elif kind == "ChannelHangupRequest":
            self._cause = event.get("cause", self._cause)
            if event.get("soft"):
                # Our own DELETE arrives as a soft request; StasisEnd follows at once.
                self._hangup_requested = True
            else:
                self._hung_up_by_far_end = True
                self._end(_hangup_detail(event))
        elif kind == "ChannelDestroyed":
            self._cause = event.get("cause", self._cause)
            self._end(_hangup_detail(event))
        elif kind == "StasisEnd":
            if self._leaving is not None and not self._leaving.done():
                self._leaving.set_result(None)  # a visit to the dialplan
            else:
                self._end("hung up" if self._hangup_requested else "left the Stasis application")
        elif kind == RESYNC_EVENT:
            return self._after_resync(event["channel"])
        return None

    async def _subscribe(self) -> None:
        """Leaving Stasis ends the application's interest in the channel; this keeps it."""
        if self._subscribed:
            return
        await self._client.request(
            "POST",
            f"/applications/{self._client.app}/subscription",
            params={"eventSource": f"channel:{self.channel_id}"},
        )
        self._subscribed = True

    def _on_dial(self, event: Event) -> None:
        """A leg we originated being dialled, or this channel dialling from the dialplan."""
        self._dialstatus = event.get("dialstatus") or self._dialstatus
        dialling = (event.get("caller") or {}).get("id")
        if dialling == self.channel_id and event.get("dialstatus") == "ANSWER":
            answered = _endpoint_of((event.get("peer") or {}).get("name", ""))
            if not self._answered_in_dialplan.done():
                self._answered_in_dialplan.set_result(answered)

    def _came_back(self, args: Sequence[str]) -> None:
        if self._visit is not None and not self._visit.done():
            self._visit.set_result(tuple(args))

    def _end(self, detail: str) -> None:
        if self._ended.done():
            return
        self._ended.set_result(detail)
        for waiter in self._end_waiters:
            _resolve(waiter)

    async def _until_ended(self, limit: float | None) -> None:
        """Wait at most `limit` s (None: as long as it takes) for the channel to end.

        A waiter of its own, resolved by `_end`, wakes this task in one turn of the loop
        (`asyncio.wait` takes two), and the timeout cancels only that waiter.
        """
        if self._ended.done():
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._end_waiters.append(waiter)
        try:
            async with asyncio.timeout(limit):
                await waiter
        except TimeoutError:
            pass
        finally:
            self._end_waiters.remove(waiter)

    async def _after_resync(self, channel: Mapping[str, Any]) -> None:
        """Catch up on what the websocket may have missed while it was down."""
        if channel.get("state") == "Up" and in_stasis_app(channel, self._client.app):
            _resolve(self._in_stasis)
            if self.in_dialplan and not (self._leaving is not None and not self._leaving.done()):
                self._came_back(channel["dialplan"]["app_data"].split(",")[1:])
        for playback_id, playback in list(self._playbacks.items()):
            try:
                await self._client.request("GET", f"/playbacks/{playback_id}")
            except NotFound:
                playback.finish("unknown")
            except AriError as error:
                log.warning("could not check playback %s after a reconnect: %s", playback_id, error)

    # -- helpers -----------------------------------------------------------------------------

    def _hung_up(self) -> CallerHungUp:
        detail = self._ended.result() if self._ended.done() else "hung up"
        return CallerHungUp(self.channel_id, detail)

    async def _channel_request(
        self, method: str, suffix: str, params: Mapping[str, QueryValue] | None = None
    ) -> Any:
        """A request on this channel; a channel that is gone or out of Stasis is a hang-up."""
        try:
            return await self._client.request(
                method, f"/channels/{self.channel_id}{suffix}", params=params
            )
        except (NotFound, Conflict) as error:
            self._end(f"hung up ({error.message})")
            raise self._hung_up() from None

    async def _first(
        self, *futures: asyncio.Future[Any], limit: float | None = None
    ) -> asyncio.Future[Any] | None:
        """The first of `futures` to complete; None on timeout; CallerHungUp if we end first."""
        for future in futures:
            if future.done():
                return future
        if self._ended.done():
            raise self._hung_up()
        await asyncio.wait((*futures, self._ended), timeout=limit, return_when="FIRST_COMPLETED")
        for future in futures:
            if future.done():
                return future
        if self._ended.done():
            raise self._hung_up()
        return None

    async def _play(
        self, media: tuple[str, ...], lang: str | None, *, interruptible: bool
    ) -> str | None:
        """Play media; while listening for digits, the first one stops it and is returned (a
        key pressed ahead answers before the media even starts)."""
        loop = asyncio.get_running_loop()
        self._playbacks_started += 1
        playback_id = playback_id_of(self.channel_id, self._playbacks_started)
        playback = self._playbacks[playback_id] = _Playback(media, loop.create_future())
        digit = None
        try:
            heard = self._next_digit() if interruptible else None
            if heard is not None and heard.done():
                digit = heard.result()
                return digit
            await self._channel_request(
                "POST", f"/play/{playback_id}", {"media": ",".join(media), "lang": lang}
            )
            waited = (heard, playback.finished) if heard is not None else (playback.finished,)
            if await self._first(*waited) is heard:
                digit = heard.result()
                await self._stop_playback(playback_id, playback)
                return digit
            if self._digit_waiter is heard:
                self._digit_waiter = None
            await self._raise_if_hung_up_during(playback)
            return None
        except asyncio.CancelledError:
            # the flow no longer wants it (e.g. a desk agent answered): stop it for the caller
            if not playback.finished.done() and not self.ended:
                await asyncio.shield(self._stop_playback(playback_id, playback))
            raise
        finally:
            del self._playbacks[playback_id]
            self._report(playback_id, playback, digit)

    async def _raise_if_hung_up_during(self, playback: _Playback) -> None:
        if playback.state == "failed":
            # Asterisk also says "failed" when the channel hangs up mid-playback, and the
            # hang-up event can come just after: give it a moment to tell the two apart.
            await self._until_ended(_HANGUP_SETTLE)
        if self.ended:
            raise self._hung_up()

    async def _stop_playback(self, playback_id: str, playback: _Playback) -> None:
        try:
            await self._client.request("DELETE", f"/playbacks/{playback_id}")
        except NotFound:
            return  # it had just finished
        await asyncio.wait(
            (playback.finished, self._ended), timeout=_CONFIRM_WAIT, return_when="FIRST_COMPLETED"
        )

    def _report(self, playback_id: str, playback: _Playback, digit: str | None) -> None:
        if digit is not None:
            outcome = "interrupted"
        elif self.ended and playback.state in (None, "failed"):
            outcome = "hung_up"
        else:
            outcome = playback.state or "unknown"
        if outcome == "failed":
            log.warning("Asterisk could not play %s on %s", playback.media, self)
        if self.on_playback is not None:
            started = tuple(playback.started)
            report = PlaybackReport(
                self.channel_id, playback_id, playback.media, started, outcome, digit
            )
            self.on_playback(report)

    async def _read_digits(
        self,
        first: str | None,
        max_digits: int,
        first_timeout: float,
        inter_timeout: float,
        terminator: str,
    ) -> str:
        digits: list[str] = []
        digit = first
        while True:
            if digit is None:
                heard = self._next_digit()
                timeout = inter_timeout if digits else first_timeout
                if await self._first(heard, limit=timeout) is None:
                    self._digit_waiter = None
                    break
                digit = heard.result()
            if digit == terminator:
                break
            digits.append(digit)
            digit = None
            if len(digits) >= max_digits:
                break
        return "".join(digits)

    def _listen_for_digits(self, keys: str) -> None:
        """From now on a key in `keys` answers; keys pressed earlier and not yet taken by a
        question (between two prompts, or during one that did not listen) still count."""
        self._digit_keys = keys

    def _stop_listening(self) -> None:
        self._digit_keys = ""
        self._digit_waiter = None

    def _next_digit(self) -> asyncio.Future[str]:
        """The first key kept or pressed from now on that the current question accepts."""
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        for index, digit in enumerate(self._digits):
            if digit in self._digit_keys:
                del self._digits[index]
                future.set_result(digit)
                return future
        self._digit_waiter = future
        return future

    def _on_digit(self, digit: str) -> None:
        if not digit:
            return
        waiter = self._digit_waiter
        if waiter is not None and not waiter.done() and digit in self._digit_keys:
            self._digit_waiter = None
            waiter.set_result(digit)
        else:
            self._digits.append(digit)

    def _expect_bridge(self, bridge_id: str) -> asyncio.Future[None]:
        future = self._entering[bridge_id] = asyncio.get_running_loop().create_future()
        return future

    def _dial_failure(self, endpoint: str, timeout: float, timed_out: bool) -> DialFailed:
        """Why this leg was not answered."""
        if timed_out:
            return DialFailed("no_answer", endpoint, f"no answer within {timeout} s")
        reason = dial_failure_reason(self._cause, self._dialstatus)
        return DialFailed(reason, endpoint, self._ended.result())

    async def _drop_leg(self, leg: Call) -> None:
        self._legs.remove(leg)
        await leg.close()


async def originate(
    client: AriClient,
    endpoint: str,
    *,
    timeout: float,  # noqa: ASYNC109 - the ring time Asterisk enforces, not a wrapper
    caller_id: str | None = None,
    variables: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    on_playback: PlaybackObserver | None = None,
) -> Call:
    """Place a call of our own, tied to no other channel, into our application.

    Returns the answered channel as a Call, which the caller closes when done (`close()`);
    raises DialFailed when it is not answered within `timeout` seconds or fails.
    """
    if timeout <= 0:
        raise ValueError(f"timeout must be positive, not {timeout}")
    channel_variables = _channel_variables(variables, headers)
    call = Call(client, {"id": _new_id()}, args=(LEG_ARG,), on_playback=on_playback)
    try:
        await _originate(call, endpoint, timeout, caller_id, channel_variables, None)
        await asyncio.wait(
            (call._in_stasis, call._ended),
            timeout=timeout + _DIAL_GRACE,
            return_when="FIRST_COMPLETED",
        )
    except BaseException:
        await call.close()
        raise
    if call._in_stasis.done() and not call.ended:
        return call
    await call.close()
    raise call._dial_failure(endpoint, timeout, not call.ended)


async def _originate(
    leg: Call,
    endpoint: str,
    ring_seconds: float,
    caller_id: str | None,
    variables: dict[str, str],
    originator: str | None,
) -> None:
    """Ask Asterisk to ring `endpoint` as the channel of `leg`, into our application."""
    client = leg._client
    params: dict[str, QueryValue] = {
        "endpoint": endpoint,
        "app": client.app,
        "appArgs": LEG_ARG,
        "channelId": leg.channel_id,
        "originator": originator,
        "timeout": math.ceil(ring_seconds),
        "callerId": caller_id,
    }
    body = {"variables": variables} if variables else None
    try:
        await client.request("POST", "/channels", params=params, body=body)
    except AriUnavailable:
        raise
    except AriError as error:
        # Asterisk could not even create the channel (e.g. 500 "Allocation failed").
        raise DialFailed("unreachable", endpoint, error.message) from None


class Bridge:
    """A mixing bridge holding two calls; destroyed when the call that made it closes."""

    def __init__(self, client: AriClient, bridge_id: str, calls: tuple[Call, Call]) -> None:
        self.bridge_id = bridge_id
        self.calls = calls
        self.connected = False  # both calls were in it at once
        self._client = client
        self._destroyed = False

    async def wait_hangup(self) -> Call:
        """Wait until either side hangs up (or leaves our application); that side."""
        ended = [call._ended for call in self.calls]
        await asyncio.wait(ended, return_when="FIRST_COMPLETED")
        return next(call for call in self.calls if call.ended)

    async def destroy(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        try:
            await self._client.request("DELETE", f"/bridges/{self.bridge_id}")
        except NotFound:
            pass
        except AriError as error:
            log.warning("could not destroy bridge %s: %s", self.bridge_id, error)


def playback_id_of(channel_id: str, count: int) -> str:
    """The id of the `count`th playback a Call starts on a channel."""
    return f"{channel_id}-play-{count}"


def _new_id() -> str:
    return str(uuid.uuid4())


def _endpoint_of(channel_name: str) -> str:
    """ "PJSIP/xy-desk-0000002a" -> "xy-desk": the endpoint a channel driver's channel is of."""
    match = _CHANNEL_NAME.fullmatch(channel_name)
    return match.group(1) if match else channel_name


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _hangup_detail(event: Event) -> str:
    cause = event.get("cause")
    text = event.get("cause_txt")
    if cause is None:
        return "hung up"
    return f"hung up (cause {cause}{', ' + text if text else ''})"


def _check_media(media: Sequence[str]) -> None:
    if not media:
        raise ValueError("nothing to play: give at least one media URI such as sound:hello-world")
    for item in media:
        if not isinstance(item, str) or not item.startswith(MEDIA_SCHEMES):
            raise ValueError(f"media {item!r} must start with one of {', '.join(MEDIA_SCHEMES)}")
        if "," in item:
            raise ValueError(f"media {item!r} must not contain a comma")


def _check_keys(keys: str, what: str) -> None:
    unknown = sorted(set(keys) - set(DTMF_KEYS))
    if unknown:
        raise ValueError(f"{what} may only hold the keys {DTMF_KEYS}, not {''.join(unknown)!r}")


def _channel_variables(
    variables: Mapping[str, str] | None, headers: Mapping[str, str] | None
) -> dict[str, str]:
    channel_variables = {name: str(value) for name, value in (variables or {}).items()}
    channel_variables.update(_header_variables(headers or {}))
    return channel_variables


def _header_variables(headers: Mapping[str, str]) -> dict[str, str]:
    variables = {}
    for name, value in headers.items():
        if not _HEADER_NAME.fullmatch(name):
            raise ValueError(f"SIP header name {name!r} is not a valid token")
        if "\r" in value or "\n" in value:
            raise ValueError(f"SIP header {name} must not contain a line break")
        variables[f"PJSIP_HEADER(add,{name})"] = value
    return variables


def _read_outcome(gathered: asyncio.Future[Any]) -> None:
    """A gather cancelled keeps a CancelledError as its exception; read it, or asyncio logs it
    as never retrieved."""
    if not gathered.cancelled():
        gathered.exception()
