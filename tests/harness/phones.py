"""Answering (and calling) SIP phones for tests: a pjsua2 agent process and its controller.

The agent (`phone_agent.py`) runs the phones; `Phones` starts it, tells each phone how to
behave in the next calls, places calls from a phone, and keeps every event the phones report
so a test can wait for one or read them all:

    await phones.configure("tech-anna", answer_after=1, dtmf=[(0.5, "1")])
    incoming = await phones.wait_for("tech-anna", "incoming")
    assert incoming["x_headers"]["X-Winet-Tier"] == "pro"

Events (`PhoneEvent.kind`, and what `data` holds):
- `incoming`: request_uri, from, from_user, from_display, to, call_id, p_asserted_identity,
  privacy, x_headers (every X- header of the INVITE), message (the whole INVITE);
- `ringing` (status: the 180 the phone sent, or received for a call it placed), `answered`,
  `media` (audio flows), `dtmf` (digit), `dtmf_sent` (digits);
- `disconnected`: answered, by ("local" or "remote"), status, reason, connected_seconds,
  total_seconds, recording (WAV path or None);
- `error`: a callback in the agent failed (what, traceback).

The agent takes at most 4 calls at once (pjsua2's build limit); beyond that pjsua itself
answers 486. For load, use `tests.harness.sipp.answering_phone`.

The controller is not tied to an event loop: a reader thread receives the agent's lines and
resolves thread-safe futures, which the async methods await. So one agent can serve a whole
test session while each test runs in its own loop.
"""

from __future__ import annotations

import array
import asyncio
import concurrent.futures
import itertools
import json
import math
import subprocess
import sys
import threading
import wave
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ivr.config import DEMO_TRUNK_HOST, DEMO_TRUNK_PSTN_PORT

AGENT_SCRIPT = Path(__file__).with_name("phone_agent.py")

# The phones Asterisk dials (asterisk-config/pjsip.conf) and a phone that places calls.
DESK_AND_TECHNICIANS = {
    "tech-anna": 5071,
    "tech-marco": 5072,
    "tech-lea": 5073,
    "xy-desk": 5074,
    "xy-desk-2": 5075,
    "xy-desk-3": 5076,
}
CALLER = {"caller": 5070}
# A customer's phone on the public network, which Asterisk reaches through the provider trunk.
PSTN = {"pstn": DEMO_TRUNK_PSTN_PORT}
ALL_PHONES = {**CALLER, **DESK_AND_TECHNICIANS, **PSTN}
# The caller and the customer's phone stand for the public network: they send from the demo
# provider trunk's address. The others are on 127.0.0.1.
PUBLIC_NETWORK = {*CALLER, *PSTN}

COMMAND_TIMEOUT = 10.0


class PhoneAgentError(Exception):
    """The phone agent failed to start, refused a command or died; the message says why."""


@dataclass(frozen=True)
class Behaviour:
    """How a phone handles its next calls (incoming), or the plan of a call it places.

    answer_after: seconds of ringing before answering; None never answers (rings until the
    caller gives up). reject: answer with this SIP status instead (486 busy, 603 decline),
    after reject_after seconds. dtmf: (seconds after answer, digits) to send (RFC 4733).
    hangup_after: seconds after answer; None stays until the far end hangs up.
    record: record what the phone hears to a WAV. play: a WAV played (looped) to the far end.
    """

    answer_after: float | None = 0.2
    reject: int | None = None
    reject_after: float = 0.0
    dtmf: tuple[tuple[float, str], ...] = ()
    hangup_after: float | None = None
    record: bool = False
    play: Path | None = None

    def __post_init__(self) -> None:
        if self.reject is not None and not 400 <= self.reject <= 699:
            raise ValueError(f"reject must be a SIP failure status (400-699), not {self.reject}")
        for name in ("answer_after", "reject_after", "hangup_after"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative, not {value}")
        for at, digits in self.dtmf:
            if at < 0 or not digits or set(digits) - set("0123456789*#ABCD"):
                raise ValueError(f"bad DTMF step ({at}, {digits!r}): seconds >= 0, digits 0-9*#A-D")
        if self.play is not None and not Path(self.play).is_file():
            raise ValueError(f"no audio file to play at {self.play}")

    def to_json(self) -> dict[str, Any]:
        plan = asdict(self)
        plan["dtmf"] = [list(step) for step in self.dtmf]
        plan["play"] = str(self.play) if self.play else None
        return plan


def phone_host(name: str) -> str:
    """The address phone `name` binds to."""
    return DEMO_TRUNK_HOST if name in PUBLIC_NETWORK else "127.0.0.1"


def behaviour(**settings: Any) -> Behaviour:
    """A Behaviour from keyword arguments, with DTMF steps given as any iterable of pairs."""
    if "dtmf" in settings:
        settings["dtmf"] = tuple((float(at), str(digits)) for at, digits in settings["dtmf"])
    try:
        return Behaviour(**settings)
    except TypeError as error:
        raise ValueError(f"unknown phone behaviour: {error}") from None


@dataclass(frozen=True)
class PhoneEvent:
    phone: str
    kind: str
    call: str | None
    time: float  # epoch seconds, in the agent
    data: dict[str, Any] = field(repr=False)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


@dataclass(frozen=True)
class RecordedCall:
    call: str
    answered: bool
    hung_up_by: str  # "local" (this phone) or "remote"
    status: int
    connected_seconds: float
    recording: Path | None  # None when no media ever flowed
    events: list[PhoneEvent]


@dataclass
class _Waiter:
    matches: Callable[[list[PhoneEvent]], PhoneEvent | None]
    future: concurrent.futures.Future[PhoneEvent]


class Phones:
    """Controller of one running phone agent."""

    def __init__(self, process: subprocess.Popen[str], record_dir: Path, stderr_path: Path):
        self._process = process
        self.record_dir = record_dir
        self._stderr_path = stderr_path
        self._lock = threading.Lock()
        self._events: list[PhoneEvent] = []
        self._waiters: list[_Waiter] = []
        self._replies: dict[int, concurrent.futures.Future[dict[str, Any]]] = {}
        self._ids = itertools.count(1)
        self._ready: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self._dead: PhoneAgentError | None = None
        self.phones: dict[str, int] = {}
        self._reader = threading.Thread(target=self._read, name="phone-agent-reader", daemon=True)
        self._reader.start()

    # -- life cycle (blocking: for fixtures, outside any event loop) ---------------------

    @classmethod
    def start(
        cls,
        phones: Mapping[str, int] = ALL_PHONES,
        *,
        work_dir: Path,
        pjsua_log: bool = False,
        startup_timeout: float = 15.0,
        host: str = "127.0.0.1",
    ) -> Phones:
        """Start the agent with these phones (name -> SIP port on `host`) and wait until they
        listen."""
        record_dir = work_dir / "recordings"
        record_dir.mkdir(parents=True, exist_ok=True)
        stderr_path = work_dir / "phone-agent.stderr"
        command = [sys.executable, str(AGENT_SCRIPT), "--record-dir", str(record_dir)]
        if pjsua_log:
            command += ["--log-file", str(work_dir / "pjsua.log")]
        with stderr_path.open("w") as stderr:
            process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True
            )
        phones_agent = cls(process, record_dir, stderr_path)
        try:
            phones_agent._ready.result(startup_timeout)
            for name, port in phones.items():
                host = phone_host(name)
                phones_agent._request_blocking("add_phone", phone=name, host=host, port=port)
                phones_agent.phones[name] = port
        except (concurrent.futures.TimeoutError, PhoneAgentError) as error:
            phones_agent.stop()
            raise PhoneAgentError(
                f"phone agent did not start: {error}{phones_agent._stderr_tail()}"
            ) from None
        return phones_agent

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the agent to quit (it hangs up its calls), then end it by its PID if it must."""
        if self._process.poll() is None:
            try:
                self._process.stdin.close()  # the agent quits when stdin closes
                self._process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()
        self._reader.join(timeout)

    def uri(self, name: str) -> str:
        """The SIP URI that reaches phone `name` directly, as Asterisk dials it."""
        return f"sip:{name}@{phone_host(name)}:{self.phones[self._known(name)]}"

    # -- commands ------------------------------------------------------------------------

    async def configure(self, name: str, **settings: Any) -> Behaviour:
        """Set how `name` handles its next incoming calls (see `Behaviour`); returns it."""
        plan = behaviour(**settings)
        await self._request("configure", phone=self._known(name), behaviour=plan.to_json())
        return plan

    async def dial(
        self,
        name: str,
        to: str,
        *,
        caller_id: str | None,
        headers: Mapping[str, str] | None = None,
        **settings: Any,
    ) -> str:
        """Place a call from phone `name` to the SIP URI `to`; returns the call's label.

        caller_id None withholds the number (anonymous, Privacy: id). `settings` are the call's
        plan after answer: dtmf, hangup_after, record, play (see `Behaviour`).
        """
        plan = behaviour(**settings)
        reply = await self._request(
            "dial",
            phone=self._known(name),
            uri=to,
            caller_id=caller_id,
            headers=dict(headers or {}),
            behaviour=plan.to_json(),
        )
        return reply["call"]

    async def hangup(self, name: str | None = None) -> list[str]:
        """Hang up the calls of one phone (or of all); returns the calls' labels."""
        reply = await self._request("hangup", phone=self._known(name) if name else None)
        return reply["calls"]

    async def reoffer(self, name: str, method: str = "INVITE") -> list[str]:
        """Make `name` send a re-INVITE (or an UPDATE) on its answered calls."""
        reply = await self._request("reoffer", phone=self._known(name), method=method)
        return reply["calls"]

    async def record_call(
        self,
        to: str,
        *,
        caller_id: str | None,
        dtmf: Iterable[tuple[float, str]] = (),
        hangup_after: float | None = None,
        headers: Mapping[str, str] | None = None,
        within: float = 120.0,
        phone: str = "caller",
    ) -> RecordedCall:
        """Call `to` from a pjsua2 phone, send DTMF, and record what it hears until the end.

        Returns once the call is over (either side hung up), with the WAV.
        """
        call = await self.dial(
            phone,
            to,
            caller_id=caller_id,
            headers=headers,
            dtmf=dtmf,
            hangup_after=hangup_after,
            record=True,
        )
        end = await self.wait_for(phone, "disconnected", call=call, timeout=within)
        return RecordedCall(
            call=call,
            answered=end["answered"],
            hung_up_by=end["by"],
            status=end["status"],
            connected_seconds=end["connected_seconds"],
            recording=Path(end["recording"]) if end["recording"] else None,
            events=self.events(phone, call=call),
        )

    async def reset(self) -> None:
        """Between tests: hang up every call, default behaviours, forget all events."""
        await self._request("reset")
        with self._lock:
            self._events.clear()

    # -- events --------------------------------------------------------------------------

    def events(
        self, name: str | None = None, kind: str | None = None, call: str | None = None
    ) -> list[PhoneEvent]:
        """The events so far, oldest first, of one phone / kind / call (None: any)."""
        with self._lock:
            return [event for event in self._events if _matches(event, name, kind, call)]

    def digits(self, name: str, call: str | None = None) -> str:
        """The DTMF digits `name` received, in order."""
        return "".join(event["digit"] for event in self.events(name, "dtmf", call))

    async def wait_for(
        self,
        name: str,
        kind: str,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - the test's own bound on the far process
        call: str | None = None,
        count: int = 1,
    ) -> PhoneEvent:
        """The `count`-th event of that kind at phone `name` (already seen or yet to come)."""
        self._known(name)

        def matches(events: list[PhoneEvent]) -> PhoneEvent | None:
            found = [event for event in events if _matches(event, name, kind, call)]
            return found[count - 1] if len(found) >= count else None

        future: concurrent.futures.Future[PhoneEvent] = concurrent.futures.Future()
        with self._lock:
            if self._dead:
                raise self._dead
            found = matches(self._events)
            if found:
                return found
            waiter = _Waiter(matches, future)
            self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError:
            seen = [f"{e.kind}({e.call})" for e in self.events(name)]
            raise TimeoutError(
                f"{name}: no {kind!r} event #{count} within {timeout}s; it saw: {seen}"
            ) from None
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def errors(self) -> list[PhoneEvent]:
        """Callbacks that failed inside the agent; a test can assert there are none."""
        return self.events(kind="error")

    # -- plumbing ------------------------------------------------------------------------

    def _known(self, name: str) -> str:
        if name not in self.phones:
            raise ValueError(f"no phone named {name!r} (have: {sorted(self.phones)})")
        return name

    def _send(self, command: str, **fields: Any) -> concurrent.futures.Future[dict[str, Any]]:
        request_id = next(self._ids)
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        with self._lock:
            if self._dead:
                raise self._dead
            self._replies[request_id] = future
            # One short line into a pipe that the agent drains at once: does not block.
            self._process.stdin.write(
                json.dumps({"id": request_id, "cmd": command, **fields}) + "\n"
            )
            self._process.stdin.flush()
        return future

    async def _request(self, command: str, **fields: Any) -> dict[str, Any]:
        future = self._send(command, **fields)
        try:
            reply = await asyncio.wait_for(asyncio.wrap_future(future), COMMAND_TIMEOUT)
        except TimeoutError:
            raise PhoneAgentError(
                f"phone agent gave no answer to {command!r} in {COMMAND_TIMEOUT}s"
            ) from None
        return _checked(command, reply)

    def _request_blocking(self, command: str, **fields: Any) -> dict[str, Any]:
        return _checked(command, self._send(command, **fields).result(COMMAND_TIMEOUT))

    def _read(self) -> None:
        for line in self._process.stdout:
            message = json.loads(line)
            if message["type"] == "event":
                self._add_event(message)
            elif message["type"] == "reply":
                with self._lock:
                    future = self._replies.pop(message["id"], None)
                if future:
                    future.set_result(message)
            elif message["type"] == "ready":
                self._ready.set_result(message)
        self._died()

    def _add_event(self, message: dict[str, Any]) -> None:
        data = {
            k: v for k, v in message.items() if k not in ("type", "phone", "event", "call", "time")
        }
        event = PhoneEvent(
            message["phone"], message["event"], message["call"], message["time"], data
        )
        with self._lock:
            self._events.append(event)
            for waiter in list(self._waiters):
                found = waiter.matches(self._events)
                if found and not waiter.future.done():
                    waiter.future.set_result(found)
                    self._waiters.remove(waiter)

    def _died(self) -> None:
        code = self._process.wait()
        error = PhoneAgentError(f"phone agent exited with code {code}{self._stderr_tail()}")
        with self._lock:
            self._dead = error
            pending = [*self._replies.values(), *(w.future for w in self._waiters), self._ready]
            self._replies.clear()
            self._waiters.clear()
        for future in pending:
            if not future.done():
                future.set_exception(error)

    def _stderr_tail(self) -> str:
        text = self._stderr_path.read_text(errors="replace") if self._stderr_path.exists() else ""
        return f"\n--- phone agent stderr ---\n{text[-3000:]}" if text.strip() else ""


def _checked(command: str, reply: dict[str, Any]) -> dict[str, Any]:
    if not reply.get("ok"):
        raise PhoneAgentError(f"phone agent refused {command!r}: {reply.get('error')}")
    return reply


def _matches(event: PhoneEvent, name: str | None, kind: str | None, call: str | None) -> bool:
    return (
        (name is None or event.phone == name)
        and (kind is None or event.kind == kind)
        and (call is None or event.call == call)
    )


@dataclass(frozen=True)
class AudioLevel:
    seconds: float
    rms: float  # root mean square of the 16-bit samples, 0..32767
    peak: int
    voiced_seconds: float  # time in 20 ms frames louder than the silence threshold


SILENCE_RMS = 100.0  # about -50 dBFS


def audio_level(path: Path, *, silence_rms: float = SILENCE_RMS) -> AudioLevel:
    """How long and how loud a 16-bit PCM WAV is, and how much of it is not silence."""
    with wave.open(str(path), "rb") as recording:
        if recording.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit samples, got {recording.getsampwidth() * 8}")
        rate, channels = recording.getframerate(), recording.getnchannels()
        samples = array.array("h", recording.readframes(recording.getnframes()))
    if sys.byteorder == "big":
        samples.byteswap()
    frame = max(1, rate * channels // 50)
    voiced = sum(
        1
        for start in range(0, len(samples), frame)
        if _rms(samples[start : start + frame]) > silence_rms
    )
    return AudioLevel(
        seconds=len(samples) / (rate * channels) if rate else 0.0,
        rms=_rms(samples),
        peak=max((abs(s) for s in samples), default=0),
        voiced_seconds=voiced * frame / (rate * channels) if rate else 0.0,
    )


def tone(seconds: float, frequency: float = 440.0, *, rate: int = 8000) -> list[int]:
    """16-bit samples of a sine tone at about -9 dBFS."""
    return [
        int(12000 * math.sin(2 * math.pi * frequency * n / rate))
        for n in range(int(seconds * rate))
    ]


def write_wav(path: Path, samples: Iterable[int], *, rate: int = 8000) -> Path:
    """A 16-bit mono WAV of the samples (for a phone to play, or to test `audio_level`)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(s.to_bytes(2, "little", signed=True) for s in samples))
    return path


def _rms(samples: Iterable[int]) -> float:
    values = list(samples)
    return (sum(v * v for v in values) / len(values)) ** 0.5 if values else 0.0
