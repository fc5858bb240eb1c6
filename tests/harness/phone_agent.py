"""Test phones in their own process: pjsua2 user agents on loopback, driven over JSON lines.

pjsua2 runs its own threads and C callbacks, so it lives here and not in the pytest process.
`tests/harness/phones.py` starts this script and speaks to it:

- stdin, one command a line: `{"id": 7, "cmd": "configure", "phone": "tech-anna", ...}`;
- stdout, one message a line: `{"type": "reply", "id": 7, "ok": true, ...}` for each command,
  and `{"type": "event", "phone": ..., "event": ..., "call": ..., "time": ..., ...}` for what
  the phones see. Nothing else is written to stdout: pjsua's own output goes to stderr.

Everything pjsua2 does runs on the main thread (`mainThreadOnly`): one loop polls pjsua's
events, runs the timers of the phones' behaviours and the commands a reader thread queues.
The script ends when stdin closes, so it never outlives the process that started it.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import json
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import pjsua2 as pj

SIP_HOST = "127.0.0.1"
FIRST_PHONE_PORT = 5070
RTP_BASE_PORT = 40000
RTP_PORTS_PER_PHONE = 100
# The pjsua2 wheel is built with PJSUA_MAX_CALLS = 4: beyond 4 calls at once in this agent,
# pjsua itself answers 486 Busy Here (no `incoming` event). Load needs SIPp on both ends.
MAX_CALLS = 4
POLL_MS = 5
RECORDER_CLOSE_SECONDS = 3.0

DEFAULT_BEHAVIOUR: dict[str, Any] = {
    "answer_after": 0.2,  # seconds of ringing; None: never answers
    "reject": None,  # a SIP status (486, 603, ...) to refuse the call with
    "reject_after": 0.0,
    "dtmf": [],  # [[seconds after answer, digits], ...]
    "hangup_after": None,  # seconds after answer; None: stays until the far end hangs up
    "record": False,
    "play": None,  # a WAV file played (looped) to the far end once media flows
}


def rtp_port_for(sip_port: int) -> int:
    """Each phone gets its own block of RTP ports, derived from its SIP port."""
    return RTP_BASE_PORT + RTP_PORTS_PER_PHONE * (sip_port - FIRST_PHONE_PORT)


class Timers:
    """Callbacks due at a monotonic time, run from the main loop."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def after(self, seconds: float, callback: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (time.monotonic() + seconds, next(self._order), callback))

    def run_due(self) -> None:
        now = time.monotonic()
        while self._heap and self._heap[0][0] <= now:
            _, _, callback = heapq.heappop(self._heap)
            callback()

    def clear(self) -> None:
        self._heap.clear()


class Agent:
    def __init__(self, output: TextIO, record_dir: Path, log_file: str | None) -> None:
        self.output = output
        self.record_dir = record_dir
        self.timers = Timers()
        self.phones: dict[str, Phone] = {}
        self.calls: dict[str, PhoneCall] = {}
        self.finished: list[PhoneCall] = []
        self.endpoint = _start_endpoint(log_file)

    # -- output --------------------------------------------------------------------------

    def emit(self, phone: str, event: str, call: str | None = None, **data: Any) -> None:
        message = {"type": "event", "phone": phone, "event": event, "call": call}
        self._write({**message, "time": time.time(), **data})

    def _write(self, message: dict[str, Any]) -> None:
        self.output.write(json.dumps(message) + "\n")
        self.output.flush()

    def guarded(self, phone: str, what: str, action: Callable[[], None]) -> None:
        """Run a callback; report an exception as an `error` event instead of losing it."""
        try:
            action()
        except Exception:
            self.emit(phone, "error", what=what, traceback=traceback.format_exc())

    # -- commands ------------------------------------------------------------------------

    def handle(self, line: str) -> bool:
        """Run one command line; False when the agent should stop."""
        try:
            command = json.loads(line)
        except json.JSONDecodeError as error:
            self._write({"type": "reply", "id": None, "ok": False, "error": f"bad JSON: {error}"})
            return True
        name = command.get("cmd")
        handler = getattr(self, f"cmd_{name}", None)
        if handler is None:
            reply: dict[str, Any] = {"ok": False, "error": f"unknown command {name!r}"}
        else:
            try:
                reply = {"ok": True, **(handler(command) or {})}
            except (KeyError, ValueError, pj.Error) as error:
                reply = {"ok": False, "error": _describe(error)}
        self._write({"type": "reply", "id": command.get("id"), **reply})
        return name != "quit"

    def cmd_add_phone(self, command: dict[str, Any]) -> dict[str, Any]:
        name, port = command["phone"], int(command["port"])
        if name in self.phones:
            raise ValueError(f"phone {name!r} exists already")
        self.phones[name] = Phone(self, name, port, command.get("host") or SIP_HOST)
        return {"rtp_port": rtp_port_for(port)}

    def cmd_configure(self, command: dict[str, Any]) -> None:
        self.phone(command["phone"]).behaviour = {**DEFAULT_BEHAVIOUR, **command["behaviour"]}

    def cmd_dial(self, command: dict[str, Any]) -> dict[str, Any]:
        phone = self.phone(command["phone"])
        plan = {**DEFAULT_BEHAVIOUR, **command.get("behaviour", {})}
        call = phone.dial(
            command["uri"], command.get("caller_id"), command.get("headers", {}), plan
        )
        return {"call": call.label}

    def cmd_hangup(self, command: dict[str, Any]) -> dict[str, Any]:
        phone = command.get("phone")
        calls = [c for c in self.calls.values() if phone is None or c.phone.name == phone]
        for call in calls:
            call.hang_up()
        return {"calls": [call.label for call in calls]}

    def cmd_reoffer(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send a re-INVITE or an UPDATE with a new offer on the phone's answered calls."""
        method = command["method"]
        if method not in ("INVITE", "UPDATE"):
            raise ValueError(f"method must be INVITE or UPDATE, not {method!r}")
        phone = self.phone(command["phone"])
        calls = [c for c in self.calls.values() if c.phone is phone and c.answered]
        for call in calls:
            param = pj.CallOpParam(True)
            if method == "INVITE":
                call.reinvite(param)
            else:
                call.update(param)
        return {"calls": [call.label for call in calls]}

    def cmd_reset(self, command: dict[str, Any]) -> dict[str, Any]:
        """Hang up every call, forget pending timers, and give every phone the default."""
        hung_up = self.cmd_hangup({})
        self.timers.clear()
        for phone in self.phones.values():
            phone.behaviour = dict(DEFAULT_BEHAVIOUR)
        deadline = time.monotonic() + 5
        while self.calls and time.monotonic() < deadline:
            self.poll()
        if self.calls:
            raise ValueError(f"calls still up after reset: {sorted(self.calls)}")
        return hung_up

    def cmd_ping(self, command: dict[str, Any]) -> None:
        return None

    def cmd_quit(self, command: dict[str, Any]) -> None:
        return None

    def phone(self, name: str) -> Phone:
        try:
            return self.phones[name]
        except KeyError:
            raise ValueError(f"no phone named {name!r} (have: {sorted(self.phones)})") from None

    # -- main loop -----------------------------------------------------------------------

    def poll(self) -> None:
        self.endpoint.libHandleEvents(POLL_MS)
        self.timers.run_due()
        # pjsua2 call objects must outlive their DISCONNECTED callback; drop them here.
        self.finished.clear()

    def run(self, commands: queue.Queue[str]) -> None:
        self._write({"type": "ready", "pid": os.getpid()})
        running = True
        while running:
            while running:
                try:
                    line = commands.get_nowait()
                except queue.Empty:
                    break
                running = self.handle(line)
            self.poll()
        self.shutdown()

    def shutdown(self) -> None:
        self.cmd_hangup({})
        deadline = time.monotonic() + 2
        while self.calls and time.monotonic() < deadline:
            self.poll()
        self.endpoint.libDestroy()


class Phone(pj.Account):
    """One SIP phone: its own UDP port on loopback (127.0.0.1 unless told, e.g. 127.0.0.2 for
    the public network behind the trunk), no registration."""

    def __init__(self, agent: Agent, name: str, port: int, host: str = SIP_HOST) -> None:
        super().__init__()
        self.agent = agent
        self.name = name
        self.port = port
        self.behaviour = dict(DEFAULT_BEHAVIOUR)
        self.numbering = itertools.count(1)
        transport = pj.TransportConfig()
        transport.boundAddress = host
        transport.port = port
        self.transport_id = agent.endpoint.transportCreate(pj.PJSIP_TRANSPORT_UDP, transport)
        self.create(self._account_config(f"sip:{name}@{host}:{port}"))

    def _account_config(self, id_uri: str) -> pj.AccountConfig:
        config = pj.AccountConfig()
        config.idUri = id_uri
        config.sipConfig.transportId = self.transport_id
        media = config.mediaConfig.transportConfig
        media.boundAddress = SIP_HOST
        media.port = rtp_port_for(self.port)
        media.portRange = RTP_PORTS_PER_PHONE
        # Our phones answer with one codec; no re-INVITE to "lock" it on the far end.
        config.mediaConfig.lockCodecEnabled = False
        return config

    def next_label(self) -> str:
        return f"{self.name}-{next(self.numbering)}"

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        self.agent.guarded(self.name, "incoming call", lambda: self._take_call(prm))

    def _take_call(self, prm: pj.OnIncomingCallParam) -> None:
        call = PhoneCall(self, dict(self.behaviour), call_id=prm.callId)
        self.agent.emit(self.name, "incoming", call.label, **invite_summary(prm.rdata.wholeMsg))
        plan = call.plan
        call.respond(180)
        if plan["reject"] is not None:
            self.agent.timers.after(plan["reject_after"], lambda: call.refuse(plan["reject"]))
        elif plan["answer_after"] is not None:
            self.agent.timers.after(plan["answer_after"], lambda: call.respond(200))

    def dial(
        self, uri: str, caller_id: str | None, headers: dict[str, str], plan: dict[str, Any]
    ) -> PhoneCall:
        """Place a call showing `caller_id` (None: withheld, anonymous with Privacy: id)."""
        if caller_id is None:
            identity = '"Anonymous" <sip:anonymous@anonymous.invalid>'
            headers = {"Privacy": "id", **headers}
        else:
            identity = f'"{caller_id}" <sip:{caller_id}@{SIP_HOST}:{self.port}>'
            headers = {"P-Asserted-Identity": f"<sip:{caller_id}@{SIP_HOST}>", **headers}
        call = PhoneCall(self, plan)
        param = pj.CallOpParam(True)
        param.txOption.localUri = identity
        for name, value in headers.items():
            header = pj.SipHeader()
            header.hName = name
            header.hValue = value
            param.txOption.headers.append(header)
        call.makeCall(uri, param)
        return call


class PhoneCall(pj.Call):
    def __init__(self, phone: Phone, plan: dict[str, Any], call_id: int = pj.PJSUA_INVALID_ID):
        super().__init__(phone, call_id)
        self.phone = phone
        self.agent = phone.agent
        self.plan = plan
        self.label = phone.next_label()
        self.hung_up_here = False
        self.answered = False
        self.media_reported = False
        self.recorder: pj.AudioMediaRecorder | None = None
        self.player: pj.AudioMediaPlayer | None = None
        self.recording: Path | None = None
        self.agent.calls[self.label] = self

    def emit(self, event: str, **data: Any) -> None:
        self.agent.emit(self.phone.name, event, self.label, **data)

    def alive(self) -> bool:
        return self.label in self.agent.calls

    # -- actions -------------------------------------------------------------------------

    def respond(self, status: int) -> None:
        if self.alive():
            param = pj.CallOpParam(True)
            param.statusCode = status
            self.answer(param)

    def refuse(self, status: int) -> None:
        if self.alive():
            self.hung_up_here = True
            param = pj.CallOpParam(True)
            param.statusCode = status
            self.hangup(param)

    def hang_up(self) -> None:
        if self.alive():
            self.hung_up_here = True
            self.hangup(pj.CallOpParam(True))

    def send_dtmf(self, digits: str) -> None:
        if self.alive():
            self.dialDtmf(digits)
            self.emit("dtmf_sent", digits=digits)

    # -- callbacks -----------------------------------------------------------------------

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        self.agent.guarded(self.phone.name, "call state", self._state_changed)

    def _state_changed(self) -> None:
        info = self.getInfo()
        if info.state == pj.PJSIP_INV_STATE_EARLY and not self.answered:
            self.emit("ringing", status=info.lastStatusCode)
        elif info.state == pj.PJSIP_INV_STATE_CONFIRMED and not self.answered:
            self.answered = True
            self.emit("answered")
            self._schedule_after_answer()
        elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self._finish(info)

    def _schedule_after_answer(self) -> None:
        for seconds, digits in self.plan["dtmf"]:
            self.agent.timers.after(seconds, lambda digits=digits: self.send_dtmf(digits))
        if self.plan["hangup_after"] is not None:
            self.agent.timers.after(self.plan["hangup_after"], self.hang_up)

    def _finish(self, info: pj.CallInfo) -> None:
        self.recorder = None  # destroying the recorder writes the WAV's final header
        self.player = None
        del self.agent.calls[self.label]
        self.agent.finished.append(self)
        outcome = {
            "answered": self.answered,
            "by": "local" if self.hung_up_here else "remote",
            "status": info.lastStatusCode,
            "reason": info.lastReason,
            "connected_seconds": _seconds(info.connectDuration),
            "total_seconds": _seconds(info.totalDuration),
            "recording": str(self.recording) if self.recording else None,
        }
        self._report_when_recorded(outcome, deadline=time.monotonic() + RECORDER_CLOSE_SECONDS)

    def _report_when_recorded(self, outcome: dict[str, Any], deadline: float) -> None:
        """Report the end once the WAV is complete: pjsua closes recorders asynchronously."""
        if self.recording and not wav_complete(self.recording) and time.monotonic() < deadline:
            self.agent.timers.after(0.02, lambda: self._report_when_recorded(outcome, deadline))
            return
        self.emit("disconnected", **outcome)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        self.agent.guarded(self.phone.name, "media state", self._media_changed)

    def _media_changed(self) -> None:
        info = self.getInfo()  # keep it: its media vector dies with it
        for media in info.media:
            if media.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            if media.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                continue
            # The audio media changes with each offer/answer (pjsua sends an UPDATE right
            # after answer): connect the recorder and player again every time.
            audio = self.getAudioMedia(media.index)
            # A stream not connected in the conference bridge is never clocked: it sends no
            # RTP at all, and so no RFC 4733 DTMF either. The null sound device is a phone's
            # microphone and loudspeaker.
            devices = self.agent.endpoint.audDevManager()
            devices.getCaptureDevMedia().startTransmit(audio)
            audio.startTransmit(devices.getPlaybackDevMedia())
            if self.plan["record"]:
                audio.startTransmit(self._recorder())
            if self.plan["play"]:
                self._player().startTransmit(audio)
            if not self.media_reported:
                self.media_reported = True
                self.emit("media", active=True)

    def _recorder(self) -> pj.AudioMediaRecorder:
        if self.recorder is None:
            self.recording = self.agent.record_dir / f"{self.label}-{int(time.time())}.wav"
            self.recorder = pj.AudioMediaRecorder()
            self.recorder.createRecorder(str(self.recording))
        return self.recorder

    def _player(self) -> pj.AudioMediaPlayer:
        if self.player is None:
            self.player = pj.AudioMediaPlayer()
            self.player.createPlayer(self.plan["play"])
        return self.player

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:
        self.agent.guarded(self.phone.name, "dtmf", lambda: self.emit("dtmf", digit=prm.digit))


def invite_summary(message: str) -> dict[str, Any]:
    """What a test asserts about an INVITE: request URI, From, caller ID, the X- headers."""
    head = message.split("\r\n\r\n", 1)[0]
    request_line, *lines = head.split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        name = _COMPACT_FORMS.get(name.strip().lower(), name.strip())
        headers.setdefault(name.lower(), value.strip())
        if name.lower().startswith("x-"):
            headers.setdefault(f"x:{name}", value.strip())
    sender = headers.get("from", "")
    return {
        "request_uri": request_line.split(" ")[1] if " " in request_line else "",
        "from": sender,
        "from_user": _uri_user(sender),
        "from_display": sender.split("<", 1)[0].strip().strip('"') if "<" in sender else "",
        "to": headers.get("to", ""),
        "call_id": headers.get("call-id", ""),
        "p_asserted_identity": headers.get("p-asserted-identity"),
        "privacy": headers.get("privacy"),
        "x_headers": {key[2:]: value for key, value in headers.items() if key.startswith("x:")},
        "message": message,
    }


_COMPACT_FORMS = {"f": "From", "t": "To", "i": "Call-ID", "m": "Contact", "v": "Via"}


def _uri_user(header: str) -> str:
    uri = header.split("<", 1)[1].split(">", 1)[0] if "<" in header else header.split(";")[0]
    scheme_less = uri.split(":", 1)[1] if ":" in uri else uri
    return scheme_less.split("@", 1)[0] if "@" in scheme_less else ""


def wav_complete(path: Path) -> bool:
    """The WAV's RIFF header counts every byte of the file: the writer has closed it."""
    try:
        with path.open("rb") as wav:
            header = wav.read(12)
            size = os.fstat(wav.fileno()).st_size
    except FileNotFoundError:
        return False
    return (
        len(header) == 12
        and header[:4] == b"RIFF"
        and header[8:12] == b"WAVE"
        and int.from_bytes(header[4:8], "little") == size - 8
    )


def _seconds(duration: pj.TimeVal) -> float:
    return duration.sec + duration.msec / 1000


def _describe(error: Exception) -> str:
    if isinstance(error, pj.Error):
        return f"pjsua2: {error.info()}"
    if isinstance(error, KeyError):
        return f"missing field {error.args[0]!r}"
    return str(error)


def _start_endpoint(log_file: str | None) -> pj.Endpoint:
    endpoint = pj.Endpoint()
    endpoint.libCreate()
    config = pj.EpConfig()
    config.uaConfig.threadCnt = 0
    config.uaConfig.mainThreadOnly = True
    config.uaConfig.maxCalls = MAX_CALLS
    config.uaConfig.userAgent = "winet-test-phone"
    config.logConfig.consoleLevel = 0
    if log_file:
        config.logConfig.level = 5
        config.logConfig.filename = log_file
    else:
        config.logConfig.level = 0
    config.medConfig.noVad = True
    endpoint.libInit(config)
    endpoint.audDevManager().setNullDev()
    for codec in endpoint.codecEnum2():
        priority = {"PCMU/8000/1": 255, "PCMA/8000/1": 254}.get(codec.codecId, 0)
        endpoint.codecSetPriority(codec.codecId, priority)
    endpoint.libStart()
    return endpoint


def _read_commands(commands: queue.Queue[str]) -> None:
    for line in sys.stdin:
        if line.strip():
            commands.put(line)
    commands.put('{"cmd": "quit"}')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--record-dir", type=Path, required=True)
    parser.add_argument("--log-file", help="pjsua's own log (level 5), for debugging")
    args = parser.parse_args()
    args.record_dir.mkdir(parents=True, exist_ok=True)
    # The protocol gets its own copy of stdout; anything the C library prints goes to stderr.
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    agent = Agent(protocol, args.record_dir, args.log_file)
    commands: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_read_commands, args=(commands,), daemon=True).start()
    agent.run(commands)
    return 0


if __name__ == "__main__":
    sys.exit(main())
