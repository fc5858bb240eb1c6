"""The hour everybody calls: SIPp load through the whole supervised hotline, with a fault.

It brings the hotline up the way `./hotline up` does (Redis, Asterisk, one worker per core,
the web console, the supervisor), on a Redis database of its own and with the service clock
at Saturday 28 Nov 2026 10:15, where premium is covered and pro is not. Then, per step, SIPp
places calls at `--rate` per second for `--seconds`:

- half from Klinik Seefeld (premium, covered): the standby technician (a SIPp phone) answers,
  presses 1 one second later and hangs up 2 s after that;
- half from Studio Lugano (pro, not covered): the caller presses 1 during the notice and is put
  through to the desk queue, whose agent (a SIPp phone) hangs up after 3 s.

The desk is an app_queue queue whose members take one call at a time. At 10 desk calls a
second and 3 s each, xy AG would need 30 agents on the line; the bench stands one SIPp phone in
for that call centre: it adds `--desk-agents` members (by default enough for the highest rate)
that all ring that phone, each whatever else it carries (`ringinuse`), so that what it
measures is the hotline, not xy AG's staffing. The count matters: app_queue lets a waiting
caller ring only while fewer callers ahead of it wait unserved than it has members free, and a
caller looks again once a second, so a queue of one member serves about one caller a second
once callers wait in it.

Per step it prints: offered, answered, reached the right person (by the call record:
technician bridged, or consent and desk), failed, records complete, and the CPU milliseconds per
call of Asterisk, each worker, Redis and the web console (from /proc). With `--fault` it breaks
something halfway through the step and prints: callers left silent more than 5 s (channels in
the application of a worker that is gone), calls sent to the desk because of it, records lost
(calls Asterisk answered that have no finished record), and seconds until the hotline routes
every new call right again, counted from the fault and, for one that lasts (Redis frozen for
10 s, Asterisk restarting), from its end too.

With several Asterisk nodes (`./hotline up --nodes 2`) the calls go to Kamailio (`--target`,
by default the installation's SIP address), every node gets the bench's workers, and
`--fault node-kill` kills node 1's Asterisk with SIGKILL: it prints the calls node 1 carried
then, the calls that started 2 s after the kill or later and did not reach the right person
(the target is none), and when node 1, started again by the supervisor, took a call again.

As root, with the machine to itself (hold the e2e lock when tests share it):
    flock /tmp/winet-e2e.lock .venv/bin/python -m bench.bench_load --rate 20,40,50,60 --seconds 20
    flock /tmp/winet-e2e.lock .venv/bin/python -m bench.bench_load --rate 20 --fault worker-kill
    .venv/bin/python -m bench.bench_load --target 127.0.0.1:5060 --rate 20 --fault node-kill
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import math
import os
import re
import signal
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field

from bench import reference_flow
from ivr import store
from ivr.config import Settings, nodes_of
from ivr.stack import asterisk, processes, worker
from ivr.stack.launcher import SUPERVISOR, process_names, start_components, start_supervisor
from ivr.store import calls as call_records
from tests.harness.sipp import answering_phone, place_calls
from tests.harness.sipp.calls import AnsweringPhone
from tests.harness.worker import prepare_stack

BENCH_REDIS_DB = 2
SATURDAY_MORNING = "2026-11-28T10:15:00+01:00"
PREMIUM, PRO = "+41441234567", "+41912345678"
TECHNICIAN_PORTS = {"tech-anna": 5071, "tech-marco": 5072, "tech-lea": 5073}
DESK_PORT = 5074
DESK_QUEUE, DESK_PHONE = "xy-desk", "PJSIP/xy-desk"
TECHNICIAN_TALK = 2.0  # after pressing 1
DESK_TALK = 3.0
FAULTS = ("worker-kill", "redis-stop", "asterisk-restart", "ari-drop", "node-kill")
KILLED_NODE = 1
SETTLE_SECONDS = 2.0  # a call starting this long after a node's kill must not notice it
# Asterisk's channel ids: [system name-]creation epoch.sequence (a node's system name: node-N)
ASTERISK_ID = re.compile(r"(?:node-(\d+)-)?(\d+\.\d+)")
REDIS_STOP_SECONDS = 10.0
SILENT_SECONDS = 5.0
GIVE_UP = 60.0  # a caller hangs up after this long, whatever happens
OCCUPANCY_EVERY = 4  # CPU samples
USER_HZ = os.sysconf("SC_CLK_TCK")


@dataclass
class CpuMeter:
    """CPU seconds of the stack's processes, by process name, across restarts (new PIDs)."""

    settings: Settings
    last: dict[int, float] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    def sample(self) -> None:
        for name in process_names(self.settings):
            pid = processes.running_pid(self.settings, name)
            if pid:
                seconds = _cpu_seconds(pid)
                if seconds is not None:
                    seconds += sum(filter(None, map(_cpu_seconds, _children(pid))))
                    self.last[pid], self.names[pid] = seconds, name

    def totals(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for pid, seconds in self.last.items():
            total[_group(self.names[pid])] += seconds
        return total


@dataclass
class Occupancy:
    """The most calls (channels from the trunk) and SIP channels each Asterisk carried at once;
    every SIP channel takes an RTP and an RTCP port."""

    settings: Settings
    calls: Counter[int] = field(default_factory=Counter)
    sip_channels: Counter[int] = field(default_factory=Counter)

    def sample(self) -> None:
        for node in nodes_of(self.settings):
            try:
                channels = asterisk.ari_get(node, "/channels") or []
            except OSError:  # a node starting again
                continue
            names = [channel["name"] for channel in channels]
            calls = sum(name.startswith("PJSIP/trunk-") for name in names)
            sip = sum(name.startswith("PJSIP/") for name in names)
            self.calls[node.node] = max(self.calls[node.node], calls)
            self.sip_channels[node.node] = max(self.sip_channels[node.node], sip)

    def text(self) -> str:
        per_node = ", ".join(
            f"{'node ' + str(node) if node else 'Asterisk'}: {self.calls[node]} calls, "
            f"{self.sip_channels[node]} SIP channels"
            for node in sorted(self.calls)
        )
        ports = 2 * sum(self.sip_channels.values()) / max(1, sum(self.calls.values()))
        return f"at most at once: {per_node}; RTP+RTCP ports per call at the peak {ports:.1f}"


@dataclass
class FaultReport:
    at: float = 0.0
    over: float = 0.0  # when the fault ended: Redis running again, Asterisk up again
    silent_callers: int = 0
    back_to_normal: float | None = None
    calls_on_killed_node: int = 0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", default="20", help="calls per second; several: 20,40,60")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each step")
    parser.add_argument("--fault", choices=FAULTS, help="inject this fault halfway through")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="per node")
    parser.add_argument(
        "--target", help="HOST:PORT the calls go to (default: the hotline's SIP address)"
    )
    parser.add_argument(
        "--desk-agents", type=int, help="the stand-in call centre's agents (default: enough)"
    )
    parser.add_argument(
        "--flow",
        choices=("hotline", "dialplan"),
        default="hotline",
        help="dialplan: the same two paths in plain dialplan, for Asterisk's own cost (no fault)",
    )
    options = parser.parse_args()
    rates = [float(rate) for rate in options.rate.split(",")]
    agents = options.desk_agents or agents_needed(max(rates))

    settings = await asyncio.to_thread(bring_up, options.workers, agents)
    if options.fault == "node-kill" and settings.nodes == 1:
        parser.error("--fault node-kill needs several nodes: ./hotline up --nodes 2")
    if options.flow == "dialplan" and (options.fault or settings.nodes > 1):
        parser.error("--flow dialplan runs on one node, without a fault")
    reference = options.flow == "dialplan"
    if reference:
        await asyncio.to_thread(reference_flow.install, settings, SATURDAY_MORNING, PRO)
    target = options.target or f"{settings.sip_host}:{settings.sip_port}"
    number = reference_flow.NUMBER if reference else settings.support_number
    to = f"sip:{number}@{target}"
    redis = store.connect(settings)
    try:
        async with AsyncExitStack() as phones:
            answering = [
                await phones.enter_async_context(
                    answering_phone(
                        name,
                        port,
                        answer_after=0.2,
                        dtmf_schedule=[(1.0, "1")],
                        hangup_after=1.0 + TECHNICIAN_TALK,
                    )
                )
                for name, port in TECHNICIAN_PORTS.items()
            ]
            answering.append(
                await phones.enter_async_context(
                    answering_phone("xy-desk", DESK_PORT, answer_after=0.2, hangup_after=DESK_TALK)
                )
            )
            print(
                f"{settings.nodes} node(s), {options.workers} workers each, calls to {target}; "
                f"{options.seconds:.0f} s per step; {agents} desk agents"
                + (f"; fault: {options.fault}" if options.fault else "")
                + ("; the plain-dialplan reference flow" if reference else "")
            )
            print(
                f"{'rate':>5} {'offered':>7} {'answered':>8} {'right':>6} {'failed':>6} "
                f"{'records':>7}  CPU ms/call: asterisk workers redis web kamailio = total"
            )
            for rate in rates:
                if reference:
                    await reference_step(settings, to, rate, options.seconds, answering)
                else:
                    await run_step(
                        settings, redis, to, rate, options.seconds, options.fault, agents
                    )
    finally:
        if reference:
            await asyncio.to_thread(reference_flow.remove, settings)
        await redis.aclose()
        await asyncio.to_thread(bring_down, settings, agents)


def bring_up(workers: int, agents: int) -> Settings:
    """The stack on the bench's database, its clock set, supervised; what ran before is kept."""
    base = prepare_stack(BENCH_REDIS_DB, Settings.from_env().nodes)
    os.environ.update(
        IVR_REDIS_URL=base.redis_url,
        IVR_ALLOW_FAKE_CLOCK="1",
        IVR_NOW=SATURDAY_MORNING,
        IVR_WORKERS=str(workers),
        IVR_LOG_LEVEL="WARNING",
    )
    settings = dataclasses.replace(base, workers=workers)
    start_components(settings, ("kamailio", "worker", "web"))
    start_supervisor(settings)
    for node in nodes_of(settings):
        seat_desk_agents(node, agents)
    return settings


def agents_needed(rate: float) -> int:
    """Agents for the desk calls of the rate (half the calls), each about DESK_TALK + 1 s."""
    return math.ceil(rate / 2 * (DESK_TALK + 1))


def seat_desk_agents(node: Settings, agents: int) -> None:
    """The stand-in call centre in the node's desk queue (runtime only: a restart drops it)."""
    for name, dial in desk_agents(agents):
        asterisk.cli(
            node,
            f"queue add member {dial} to {DESK_QUEUE} penalty 0 as {name} "
            f"state_interface {DESK_PHONE}",
        )
        asterisk.cli(node, f"queue set ringinuse yes on {dial} in {DESK_QUEUE}")


def desk_agents(agents: int) -> list[tuple[str, str]]:
    """(member name, dial string): the endpoint of the desk's phone, an agent's address."""
    return [
        (f"agent{n}", f"{DESK_PHONE}/sip:agent{n}@127.0.0.1:{DESK_PORT}")
        for n in range(1, agents + 1)
    ]


def unseat_desk_agents(node: Settings, agents: int) -> None:
    for _, dial in desk_agents(agents):
        asterisk.cli(node, f"queue remove member {dial} from {DESK_QUEUE}")


def bring_down(settings: Settings, agents: int) -> None:
    for node in nodes_of(settings):
        unseat_desk_agents(node, agents)
    processes.stop(settings, SUPERVISOR)
    worker.stop(settings)
    processes.stop(settings, "web")


async def run_step(
    settings, redis, to: str, rate: float, seconds: float, fault: str | None, agents: int
) -> None:
    meter = CpuMeter(settings)
    meter.sample()
    before = meter.totals()
    occupancy = Occupancy(settings)
    commands_before = await _redis_commands(redis)
    report = FaultReport()
    started = time.time()
    load = _both_paths(to, rate, seconds)
    sampler = asyncio.create_task(_sample(meter, occupancy))
    faulting = None
    if fault:
        faulting = asyncio.create_task(inject(settings, fault, seconds / 2, report, agents))
    premium, pro = await load
    if faulting is not None:
        await faulting
    await _until_quiet(settings)
    sampler.cancel()
    meter.sample()
    commands = await _redis_commands(redis) - commands_before
    records = await _records_since(redis, started - 1)
    offered, answered = premium.calls + pro.calls, premium.answered + pro.answered
    right = [r for r in records if _routed_right(r)]
    complete = [r for r in records if r.get("ended_at")]
    _print_step(rate, offered, answered, len(right), str(len(complete)), meter.totals() - before)
    _print_records_per_call(records)
    _print_not_right(records)
    print(f"      {occupancy.text()}; Redis commands per call {commands / offered:.0f}")
    if fault == "node-kill":
        _print_node_kill(records, report)
    elif fault:
        normal = _back_to_normal(records, report.at)
        to_desk = [r for r in records if _sent_to_desk_by_fault(r)]
        print(
            f"      fault {fault} at +{report.at - started:.1f} s: "
            f"{report.silent_callers} caller(s) silent > {SILENT_SECONDS:.0f} s, "
            f"{len(to_desk)} sent to the desk by it, "
            f"{_records_lost(answered, records)} record(s) lost, routing normal again after "
            + (_after_fault(normal, report) if normal is not None else "never (within the step)")
        )


async def reference_step(
    settings, to: str, rate: float, seconds: float, answering: list[AnsweringPhone]
) -> None:
    """A step of the plain-dialplan reference. It writes no records: a call was right when a
    technician or the desk talked with the caller and hung up, as on the hotline's paths."""
    meter = CpuMeter(settings)
    meter.sample()
    before = meter.totals()
    occupancy = Occupancy(settings)
    talked_before = await _talked(answering)
    sampler = asyncio.create_task(_sample(meter, occupancy))  # the same listings as the hotline's
    premium, pro = await _both_paths(to, rate, seconds)
    await _until_quiet(settings)
    sampler.cancel()
    meter.sample()
    offered, answered = premium.calls + pro.calls, premium.answered + pro.answered
    right = await _talked(answering) - talked_before
    _print_step(rate, offered, answered, right, "-", meter.totals() - before)
    print(f"      {occupancy.text()}")


async def _talked(phones: list[AnsweringPhone]) -> int:
    return sum([(await phone.summary()).hung_up_here for phone in phones])


def _both_paths(to: str, rate: float, seconds: float) -> asyncio.Future:
    """The step's SIPp callers, half on each path: (premium, pro) load results."""
    count = max(2, round(rate * seconds / 2))  # per path
    paths = (([PREMIUM], ()), ([PRO], [(2.0, "1")]))
    return asyncio.gather(
        *(
            place_calls(
                count,
                concurrent=count,
                rate=rate / 2,
                caller_ids=callers,
                dtmf_schedule=keys,
                to=to,
                hangup_after=GIVE_UP,
                timeout=seconds + 2 * GIVE_UP,
            )
            for callers, keys in paths
        )
    )


def _print_step(
    rate: float, offered: int, answered: int, right: int, records: str, cpu: Counter[str]
) -> None:
    groups = ("asterisk", "worker", "redis", "web", "kamailio")
    per_call = {name: cpu[name] / offered * 1000 for name in groups}
    print(
        f"{rate:5.0f} {offered:7} {answered:8} {right:6} {offered - right:6} "
        f"{records:>7}  {per_call['asterisk']:8.1f} {per_call['worker']:7.1f} "
        f"{per_call['redis']:5.1f} {per_call['web']:3.1f} {per_call['kamailio']:8.1f} "
        f"= {sum(per_call.values()):5.1f}"
    )


async def inject(
    settings: Settings, fault: str, after: float, report: FaultReport, agents: int
) -> None:
    await asyncio.sleep(after)
    report.at = time.time()
    watching = asyncio.create_task(_count_silent(settings, report))
    if fault == "worker-kill":
        os.kill(processes.running_pid(settings, "worker-1"), signal.SIGKILL)
    elif fault == "redis-stop":
        pid = processes.running_pid(settings, "redis")
        os.kill(pid, signal.SIGSTOP)
        await asyncio.sleep(REDIS_STOP_SECONDS)
        os.kill(pid, signal.SIGCONT)
    elif fault == "asterisk-restart":
        await asyncio.to_thread(asterisk.cli, settings, "core restart now")
        await asyncio.sleep(2)  # gone by then; wait_ready waits for the new one
        await asyncio.to_thread(asterisk.wait_ready, settings)
        await asyncio.to_thread(seat_desk_agents, settings, agents)
    elif fault == "ari-drop":
        await asyncio.to_thread(asterisk.cli, settings, "module reload res_http_websocket.so")
    elif fault == "node-kill":
        await asyncio.to_thread(_kill_node, nodes_of(settings)[KILLED_NODE - 1], report, agents)
    report.over = time.time()
    await watching


def _kill_node(node: Settings, report: FaultReport, agents: int) -> None:
    """SIGKILL to the node's Asterisk, counting the callers it carries (their channels from the
    trunk, through Kamailio); once the supervisor has started it again, the stand-in call
    centre's agents are seated in its desk queue again."""
    channels = asterisk.ari_get(node, "/channels") or []
    report.calls_on_killed_node = sum(c["name"].startswith("PJSIP/trunk-") for c in channels)
    report.at = time.time()
    os.kill(processes.running_pid(node, asterisk.name(node)), signal.SIGKILL)
    time.sleep(1.0)
    asterisk.wait_ready(node)
    seat_desk_agents(node, agents)


def _print_node_kill(records: list[dict], report: FaultReport) -> None:
    after = [r for r in records if _epoch(r) >= report.at + SETTLE_SECONDS]
    wrong = [r for r in after if not _routed_right(r)]
    back = [r for r in records if _epoch(r) > report.at and _node_of(r["call_id"]) == KILLED_NODE]
    first_back = min((_epoch(r) for r in back), default=None)
    # channel ids count whole seconds: the call started in the second that began then
    taken = f"in the second from {first_back - report.at:+.1f} s" if first_back else "never"
    print(
        f"      node-kill of node {KILLED_NODE}: it carried {report.calls_on_killed_node} "
        f"call(s) then; {len(wrong)} of {len(after)} calls started {SETTLE_SECONDS:.0f} s or "
        f"more after the kill did not reach the right person; node {KILLED_NODE} took a call "
        f"again {taken}, and {len(back)} in all"
    )


def _print_not_right(records: list[dict]) -> None:
    """Where the calls that were not routed right went, by the outcome in their record
    (`desk_overload`: admission control; `desk_fallback`: an error or a fault)."""
    outcomes = Counter(r.get("outcome") or "unfinished" for r in records if not _routed_right(r))
    if outcomes:
        print("      not routed right: " + ", ".join(f"{n} {o}" for o, n in outcomes.most_common()))


def _print_records_per_call(records: list[dict]) -> None:
    """How many records each node's calls made (one per call: compare with offered)."""
    per_node = Counter(_node_of(r["call_id"]) for r in records)
    nodes = ", ".join(f"node {node}: {count}" for node, count in sorted(per_node.items()) if node)
    if nodes:
        print(f"      {len(records)} records, by node: {nodes}")


async def _count_silent(settings: Settings, report: FaultReport, window: float = 30.0) -> None:
    """Callers in the application of a worker that is not connected, for more than 5 s."""
    first_seen: dict[str, float] = {}
    silent: set[str] = set()
    deadline = time.monotonic() + window
    while time.monotonic() < deadline:
        orphaned = await asyncio.to_thread(_orphaned_channels, settings)
        now = time.monotonic()
        for channel_id in orphaned:
            first_seen.setdefault(channel_id, now)
            if now - first_seen[channel_id] > SILENT_SECONDS:
                silent.add(channel_id)
        await asyncio.sleep(0.25)
    report.silent_callers = len(silent)


def _orphaned_channels(settings: Settings) -> set[str]:
    return {channel for node in nodes_of(settings) for channel in _orphaned_on(node)}


def _orphaned_on(node: Settings) -> set[str]:
    try:
        dead = set(worker.unregistered(node))
        channels = asterisk.ari_get(node, "/channels") or []
    except Exception:
        return set()
    return {
        channel["id"]
        for channel in channels
        if channel.get("dialplan", {}).get("app_name") == "Stasis"
        and channel["dialplan"].get("app_data", "").split(",")[0] in dead
    }


def _records_lost(answered: int, records: list[dict]) -> int:
    """Records left unfinished, and answered calls with none (a call whose answer the fault
    cut off on its way to the caller has a record but does not count as answered)."""
    unfinished = sum(not r.get("ended_at") for r in records)
    return unfinished + max(0, answered - len(records))


def _routed_right(record: dict) -> bool:
    if record.get("caller_number") == PREMIUM:
        return record.get("outcome") == "technician" and record.get("bridged_kind") == "technician"
    return record.get("consent") == "accepted" and record.get("outcome") == "desk"


def _sent_to_desk_by_fault(record: dict) -> bool:
    return record.get("outcome") in ("desk_fallback", "lost") or (
        record.get("caller_number") == PREMIUM and record.get("outcome") == "desk"
    )


def _after_fault(normal: float, report: FaultReport) -> str:
    """ "6.4 s (0.0 s after it ended)" for a fault that lasts (Redis frozen for 10 s)."""
    lasted = report.over - report.at
    if lasted < 1.0:
        return f"{normal:.1f} s"
    return f"{normal:.1f} s ({max(0.0, normal - lasted):.1f} s after it ended, {lasted:.1f} s in)"


def _back_to_normal(records: list[dict], fault_at: float) -> float | None:
    """Seconds from the fault to the start of the first call from which on every call
    started was routed right (call ids are Asterisk's: creation time in epoch seconds)."""
    after = sorted((r for r in records if _epoch(r) >= fault_at), key=_epoch)
    if not after:
        return None
    last_wrong = max((i for i, r in enumerate(after) if not _routed_right(r)), default=-1)
    if last_wrong == len(after) - 1:
        return None
    return max(0.0, _epoch(after[last_wrong + 1]) - fault_at) if last_wrong >= 0 else 0.0


def _epoch(record: dict) -> float:
    return float(ASTERISK_ID.fullmatch(record["call_id"])[2])


def _node_of(channel_id: str) -> int | None:
    """The node whose Asterisk made the channel (None: the single Asterisk, or not Asterisk's)."""
    match = ASTERISK_ID.fullmatch(channel_id)
    return int(match[1]) if match and match[1] else None


async def _records_since(redis, epoch: float) -> list[dict]:
    summaries = await call_records.list_calls(redis, limit=10**6)
    return [s for s in summaries if ASTERISK_ID.fullmatch(s["call_id"]) and _epoch(s) >= epoch]


async def _until_quiet(settings: Settings, within: float = 60.0) -> None:
    """No channel left in any Asterisk, then time for the sweep of lost records."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not await asyncio.to_thread(_channels_anywhere, settings):
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(12)


def _channels_anywhere(settings: Settings) -> bool:
    try:
        return any(asterisk.ari_get(node, "/channels") for node in nodes_of(settings))
    except OSError:  # a node starting again
        return True


async def _sample(meter: CpuMeter, occupancy: Occupancy) -> None:
    """CPU from /proc every half second (free); occupancy every two seconds, because listing the
    channels costs Asterisk about 6 ms at 300 channels, charged to the calls measured."""
    for turn in itertools.count():
        await asyncio.to_thread(meter.sample)
        if turn % OCCUPANCY_EVERY == 0:
            await asyncio.to_thread(occupancy.sample)
        await asyncio.sleep(0.5)


async def _redis_commands(redis) -> int:
    """Commands Redis has processed so far (all clients: workers, console, this bench)."""
    return int((await redis.info("stats"))["total_commands_processed"])


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / USER_HZ  # utime, stime


def _children(pid: int) -> list[int]:
    """The processes `pid` started (Kamailio's SIP workers do its work)."""
    children = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = open(f"/proc/{entry.name}/stat").read()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def _group(name: str) -> str:
    """The column of a process: asterisk-N are Asterisk, worker-... workers."""
    return name.split("-", 1)[0]


if __name__ == "__main__":
    asyncio.run(main())
