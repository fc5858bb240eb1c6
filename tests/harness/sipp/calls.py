"""Placing and answering calls with SIPp: the harness's public API.

`place_call` writes a SIPp scenario for the call (`scenario.py`), runs `sipp` as a subprocess
(`processes.py`) and reads back what happened from the scenario's own log lines
(`winet <call> <event> <detail> @<epoch>`, `logs.py`).

`place_calls` runs the same scenario for many calls (SIPp's -m/-l/-r); `answering_phone`
runs SIPp as a server that rings, answers (or refuses), sends DTMF and hangs up on schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Mapping, Sequence

from ivr.config import DEMO_TRUNK_HOST, Settings
from tests.harness.sipp import logs
from tests.harness.sipp.logs import AnswerSummary, CallResult, LoadResult, LogEvent
from tests.harness.sipp.processes import SippError, SippRun, udp_port_bound
from tests.harness.sipp.scenario import AnswererScenario, CallerScenario, SipTarget, dtmf_batches

ANSWERER_STOP_SECONDS = 10.0


def support_number_uri(settings: Settings | None = None) -> str:
    settings = settings or Settings.from_env()
    return f"sip:{settings.support_number}@{settings.sip_host}:{settings.sip_port}"


class AnsweringPhone:
    def __init__(self, run: SippRun, port: int) -> None:
        self._run = run
        self.port = port

    async def wait_listening(self, within: float = 5.0) -> None:
        """Return once SIPp holds its port; fail with its output if it exits or never does."""
        deadline = asyncio.get_running_loop().time() + within
        while not await asyncio.to_thread(udp_port_bound, self.port):
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
        events = _events(self._run)
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
            errors=_errors(self._run),
        )


async def place_call(
    caller_id: str | None,
    dtmf_schedule: Sequence[tuple[float, str]] = (),
    *,
    to: str | None = None,
    hangup_after: float | None = None,
    cancel_after: float = 30.0,
    extra_headers: Mapping[str, str] | None = None,
    source: str = DEMO_TRUNK_HOST,
    from_user: str | None = None,
    timeout: float = 120.0,  # noqa: ASYNC109 - a test states how long a call may take
) -> CallResult:
    """Call `to` (the support number by default) as `caller_id` (None: withheld).

    The call comes from `source`: the demo provider trunk by default, which asserts the
    caller ID in P-Asserted-Identity and shows it in From (`from_user`, e.g. `anonymous`,
    shows that instead); any other address stands for a caller outside the trunk.
    `dtmf_schedule` lists (seconds after answer, digits) batches, e.g. `[(4, "123456#"),
    (20, "1")]`. With `hangup_after` the caller hangs up that many seconds after answer;
    without it the call lasts until the far end hangs up, or `timeout` seconds at most.
    `cancel_after`: CANCEL when no final response came for that long after the last
    provisional one.
    """
    scenario = _caller_scenario(to, dtmf_schedule, hangup_after, cancel_after, extra_headers)
    one_call = {"trace_messages": True, "extra_args": ("-m", "1")}
    async with scenario.run([caller_id], address=source, from_user=from_user, **one_call) as run:
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
    source: str = DEMO_TRUNK_HOST,
    timeout: float = 300.0,  # noqa: ASYNC109 - a benchmark states how long the load may take
) -> LoadResult:
    """Load mode: `count` calls, at most `concurrent` at once, started at `rate` per second.

    Caller IDs are taken in turn from `caller_ids`. Every call follows the same schedule and
    comes from `source` (see `place_call`).
    """
    if count < 1 or concurrent < 1 or rate <= 0:
        raise ValueError(f"need count, concurrent >= 1 and rate > 0: {count}, {concurrent}, {rate}")
    if not caller_ids:
        raise ValueError("caller_ids is empty (use [None] for withheld numbers)")
    scenario = _caller_scenario(to, dtmf_schedule, hangup_after, cancel_after, extra_headers)
    load = ("-m", str(count), "-l", str(concurrent), "-r", str(rate), "-rp", "1000")
    async with scenario.run(list(caller_ids), address=source, extra_args=load) as run:
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
        dtmf_batches(dtmf_schedule),
        answer_after=answer_after,
        reject=reject,
        hangup_after=hangup_after,
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
        dtmf_batches(dtmf_schedule),
        hangup_after=hangup_after,
        cancel_after=cancel_after,
        extra_headers=dict(extra_headers or {}),
    )


def _call_outcome(run: SippRun, exit_code: int) -> CallResult:
    return logs.call_result(_events(run), exit_code, run.read("messages.log"), _errors(run))


def _load_outcome(run: SippRun, wall: float, exit_code: int) -> LoadResult:
    successful, failed = logs.final_counts(run.read("stats.csv"))
    return logs.load_result(_events(run), successful, failed, wall, exit_code, _errors(run))


def _events(run: SippRun) -> list[LogEvent]:
    return logs.parse_log(run.read("calls.log"))


def _errors(run: SippRun) -> str:
    return logs.sipp_errors(run.read("errors.log"))
