"""A scripted call: the verbs of `ivr.ari.call.Call`, answered by a script instead of Asterisk.

A flow test says what the caller does (keys pressed at which prompt, when they hang up) and
what each leg does when dialled (accepts, stays silent, declines, is busy, ...); the call keeps
what the flow played, dialled and bridged, and time passes on a clock of its own as prompts
play and waits run out. It runs every path of the flow in milliseconds; the end-to-end tests
show the same paths on the real stack.

The script is strict: keys are given in the order the flow will ask for them, each tied to
the prompt that must be playing (or have just played) when they are pressed.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from ivr.ari.call import CallerHungUp, DialFailed
from ivr.conversation import DESK_CONTEXT_HEADERS

T = TypeVar("T")
MEDIA_PREFIX = "sound:winet/"
PROMPT_SECONDS = 2.0  # how long any prompt plays on the scripted clock

ACCEPTS = "accepts"  # answers and presses 1 during the whisper
SILENT = "silent"  # answers and never presses a key
DECLINES = "declines"  # answers and presses 2
HANGS_UP = "hangs up"  # answers and hangs up during the whisper
GONE_AT_ONCE = "gone at once"  # presses 1, and the leg is gone before the bridge joins them
# the ways a leg is not answered, as `DialFailed` reasons
NOT_ANSWERED = ("no_answer", "busy", "declined", "failed", "unreachable")

# WINET_DESK, the call's context for the dialplan's desk queue, as its ARRAY() splits it
# (the headers' order is checked on the real stack: tests/e2e/test_call_flow.py)
DESK_CONTEXT_FIELDS = (*DESK_CONTEXT_HEADERS, "priority", "language", "offer_after", "application")
DESK_OFFER_ARGS = ("desk-offer",)  # the queue hands a caller back to hear the call-back offer

_ids = itertools.count(1)


def desk_context(call: ScriptedCall) -> dict[str, str]:
    """What the dialplan's desk queue reads from the call's WINET_DESK."""
    values = call.variables["WINET_DESK"].split(",")
    assert len(values) == len(DESK_CONTEXT_FIELDS), values
    return dict(zip(DESK_CONTEXT_FIELDS, values, strict=True))


def _headers_of(variables: Mapping[str, str]) -> dict[str, str]:
    """The X-Winet-* headers a leg's inheritable WINET_* variables become in the dialplan."""
    return {
        "X-Winet-" + name.removeprefix("__WINET_").title(): value
        for name, value in variables.items()
        if name.startswith("__WINET_")
    }


class ScriptClock:
    """The scripted call's time: it passes only when the call plays or waits."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Press:
    """Keys the caller presses while `prompt` plays (or right after it)."""

    prompt: str
    keys: str


@dataclass
class Script:
    """What the caller and the phones do."""

    caller_number: str = ""
    presses: list[Press] = field(default_factory=list)
    legs: Mapping[str, str] = field(default_factory=dict)  # endpoint -> ACCEPTS, busy, ...
    hang_up_at: str | None = None  # the caller hangs up when a prompt starting so starts
    bridged_seconds: float = 30.0  # talk time once bridged
    leg_hangs_up_first: bool = False  # in the bridge, the other side ends the call
    # the desk queue: the agent whose phone answers after `queue_seconds`, unless the queue
    # hands the caller back for the call-back offer first; None: nobody does (the caller waits
    # until they hang up or ask for a call back)
    desk_agent: str | None = "xy-desk"
    queue_seconds: float = 20.0
    # an orphan: the phone a worker that died left the caller talking with, in a bridge
    talking_with: str | None = None


class ScriptedCall:
    """The caller's channel, as the flow sees it."""

    def __init__(self, script: Script, clock: ScriptClock, *, name: str = "") -> None:
        self.script = script
        self.clock = clock
        self.channel_id = f"scripted-{next(_ids)}"
        self.caller_number = script.caller_number
        self.caller_name = name
        self.args: tuple[str, ...] = ()  # Stasis arguments: a channel back from a dialplan visit
        self.first_prompt_delay = 0.05
        self.hangup_cause: int | None = None
        self.heard: list[tuple[tuple[str, ...], str | None]] = []  # (prompt ids, language)
        # (endpoint, X-Winet-* headers), those of the desk queue's leg from its variables
        self.dialled: list[tuple[str, Mapping[str, str]]] = []
        self.dial_variables: list[Mapping[str, str]] = []
        self.bridged_with: list[str] = []
        self.variables: dict[str, str] = {}
        self.left_for: tuple[str, str, int] | None = None
        # visits to the dialplan: context, extension, label
        self.visits: list[tuple[str, str, str | None]] = []
        self.application = "winet-hotline-scripted"
        self.followed_on = False
        self.hung_up_by_far_end = False
        self._back: asyncio.Future[tuple[str, ...]] | None = None
        self._answered_in_dialplan: asyncio.Future[str] | None = None
        self.answered = False
        self.taken_over = False
        self.on_hold = False
        self._presses = list(script.presses)
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def in_dialplan(self) -> bool:
        return self._back is not None and not self._back.done() and not self._ended

    @property
    def prompts_heard(self) -> list[str]:
        return [prompt_id for ids, _ in self.heard for prompt_id in ids]

    @property
    def up(self) -> bool:
        return self.answered

    async def answer(self) -> None:
        self.answered = True

    async def hold(self, moh_class: str = "default") -> None:
        self.on_hold = True

    async def stop_hold(self) -> None:
        self.on_hold = False

    async def play(
        self, *media: str, lang: str | None = None, interrupt_keys: str = ""
    ) -> str | None:
        self._played(media, lang)
        return self._key_for(media, interrupt_keys) if interrupt_keys else None

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
        if prompt:
            self._played(tuple(prompt), lang)
        keys = self._pressed(self.heard[-1][0] if self.heard else ())
        if keys is None:
            self.clock.advance(first_digit_timeout)
            return ""
        if terminator and terminator in keys:
            keys = keys[: keys.index(terminator)]
        return keys[:max_digits]

    async def dial(
        self,
        endpoint: str,
        *,
        timeout: float,  # noqa: ASYNC109 - mirrors Call.dial
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ScriptedLeg:
        self._check_up()
        self.dialled.append((endpoint, dict(headers or _headers_of(variables or {}))))
        self.dial_variables.append(dict(variables or {}))
        behaviour = self.script.legs.get(endpoint, "no_answer")
        if behaviour in NOT_ANSWERED:
            self.clock.advance(timeout if behaviour == "no_answer" else 1.0)
            raise DialFailed(behaviour, endpoint)
        self.clock.advance(3.0)
        return ScriptedLeg(endpoint, behaviour, self)

    async def adopt_bridge(self) -> ScriptedBridge | None:
        if self.script.talking_with is None:
            return None
        return ScriptedBridge(self, ScriptedLeg(self.script.talking_with, "talking", self))

    async def bridge(self, other: ScriptedLeg) -> ScriptedBridge:
        self._check_up()
        self.on_hold = False
        self.bridged_with.append(other.endpoint)
        bridge = ScriptedBridge(self, other)
        if other.behaviour == GONE_AT_ONCE:
            other.ended, bridge.connected = True, False
        return bridge

    async def hangup(self, reason: str = "normal") -> None:
        self._end(16)

    async def continue_in_dialplan(self, context: str, extension: str, priority: int = 1) -> None:
        self._check_up()
        self.left_for = (context, extension, priority)
        self._ended = True

    async def set_variable(self, name: str, value: str) -> None:
        self.variables[name] = value

    async def variable(self, name: str) -> str:
        return self.variables.get(name, "")

    async def visit_dialplan(
        self, context: str, extension: str, *, label: str | None = None
    ) -> None:
        """The desk queue: the scripted agent answers after `queue_seconds`, unless the queue
        hands the caller back first (after WINET_DESK's offer_after, on the first visit)."""
        self._check_up()
        self.visits.append((context, extension, label))
        self._wait_in_queue(0 if label else int(desk_context(self)["offer_after"] or 0))

    async def follow_in_dialplan(self) -> None:
        """A caller a dead worker left in the queue (without the offer: it came before)."""
        self._check_up()
        self.followed_on = True
        self._wait_in_queue(0)

    def _wait_in_queue(self, offer_after: int) -> None:
        loop = asyncio.get_running_loop()
        self._back = loop.create_future()
        self._answered_in_dialplan = self._answered_in_dialplan or loop.create_future()
        agent, waited = self.script.desk_agent, self.script.queue_seconds
        if agent is not None and not (offer_after and offer_after <= waited):
            self.clock.advance(waited)
            self._answered_in_dialplan.set_result(agent)
        elif offer_after:
            self.clock.advance(offer_after)
            self._back.set_result(DESK_OFFER_ARGS)

    async def back_from_dialplan(self) -> tuple[str, ...]:
        return await asyncio.shield(self._back)

    async def answered_in_dialplan(self) -> str:
        return await asyncio.shield(self._answered_in_dialplan)

    async def wait_ended(self) -> None:
        """Talk time with the desk agent, then one side hangs up."""
        self.clock.advance(self.script.bridged_seconds)
        self.hung_up_by_far_end = not self.script.leg_hangs_up_first
        self._end(16)

    async def unless_hung_up(self, awaitable: Awaitable[T]) -> T:
        return await awaitable

    async def close(self) -> None:
        self._ended = True

    async def stop_playbacks_left(self) -> None:
        self.taken_over = True

    def _played(self, media: tuple[str, ...], lang: str | None) -> None:
        ids = tuple(uri.removeprefix(MEDIA_PREFIX) for uri in media)
        hang_up_at = self.script.hang_up_at
        if hang_up_at is not None and any(prompt_id.startswith(hang_up_at) for prompt_id in ids):
            self._end(16)
        self._check_up()
        self.heard.append((ids, lang))
        self.clock.advance(PROMPT_SECONDS)

    def _key_for(self, media: tuple[str, ...], keys: str) -> str | None:
        ids = tuple(uri.removeprefix(MEDIA_PREFIX) for uri in media)
        pressed = self._pressed(ids, peek=True)
        if pressed and pressed[0] in keys:
            self._presses.pop(0)
            return pressed[0]
        return None

    def _pressed(self, ids: Sequence[str], *, peek: bool = False) -> str | None:
        """The next scripted keys if they belong to one of the prompts `ids`."""
        if not self._presses or not any(
            prompt_id.startswith(self._presses[0].prompt) for prompt_id in ids
        ):
            return None
        return self._presses[0].keys if peek else self._presses.pop(0).keys

    def _check_up(self) -> None:
        if self._ended:
            raise CallerHungUp(self.channel_id, "hung up (scripted)")

    def _end(self, cause: int) -> None:
        self.hangup_cause = self.hangup_cause or cause
        self._ended = True


class ScriptedLeg:
    """A technician's or the desk's phone that answered."""

    def __init__(self, endpoint: str, behaviour: str, dialler: ScriptedCall) -> None:
        self.endpoint = endpoint
        self.behaviour = behaviour
        self.channel_id = f"leg-{next(_ids)}"
        self.dialler = dialler
        self.clock = dialler.clock
        self.heard: list[tuple[str, ...]] = []
        self.ended = False

    @property
    def dial_string(self) -> str:
        return self.endpoint

    async def play(
        self, *media: str, lang: str | None = None, interrupt_keys: str = ""
    ) -> str | None:
        self.heard.append(tuple(uri.removeprefix(MEDIA_PREFIX) for uri in media))
        if self.behaviour == HANGS_UP:
            self.ended = True
            raise CallerHungUp(self.channel_id, "hung up (scripted)")
        self.clock.advance(PROMPT_SECONDS)
        key = {ACCEPTS: "1", GONE_AT_ONCE: "1", DECLINES: "2"}.get(self.behaviour)
        return key if key and key in interrupt_keys else None

    async def collect_digits(self, *, first_digit_timeout: float, **_: object) -> str:
        self.clock.advance(first_digit_timeout)
        return ""

    async def hangup(self, reason: str = "normal") -> None:
        self.ended = True


class ScriptedBridge:
    def __init__(self, call: ScriptedCall, leg: ScriptedLeg) -> None:
        self.call = call
        self.leg = leg
        self.calls = (call, leg)
        self.connected = True
        self.destroyed = False

    async def destroy(self) -> None:
        self.destroyed = True

    async def wait_hangup(self) -> ScriptedCall | ScriptedLeg:
        await asyncio.sleep(0)
        self.call.clock.advance(self.call.script.bridged_seconds)
        if self.call.script.leg_hangs_up_first:
            self.leg.ended = True
            return self.leg
        self.call._end(16)
        return self.call
