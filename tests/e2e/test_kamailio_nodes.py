"""Several Asterisk nodes behind Kamailio (issue 16), in the test's own stack beside the
session's single Asterisk: Kamailio on 127.0.0.4:5060 in front of node 1 (127.0.1.1) and node 2
(127.0.1.2), one worker each, all on the session's Redis. A premium caller through Kamailio
reaches the standby technician; a caller outside the trunk is refused by Kamailio itself; a
node killed with SIGKILL is out for new calls within 2 s, and once started again (as the
supervisor does) takes calls again."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from ivr.config import Settings, nodes_of
from ivr.stack import asterisk, kamailio, processes, supervisor
from ivr.stack.launcher import start_asterisk
from ivr.store import calls
from tests.e2e.conftest import SATURDAY_MORNING, wait_for_record
from tests.e2e.test_call_flow import PREMIUM, PRO, routed
from tests.harness.worker import Worker, app_registered

pytestmark = [pytest.mark.e2e]

KAMAILIO_HOST = "127.0.0.4"  # the session's single Asterisk holds 127.0.0.1:5060
OUT_WITHIN = 2.0


@pytest.fixture(scope="module")
def two_nodes(stack_settings: Settings, tmp_path_factory) -> Iterator[Settings]:
    """Kamailio, two Asterisk nodes and a worker on each, on the session's test database."""
    settings = dataclasses.replace(stack_settings, nodes=2, sip_host=KAMAILIO_HOST, workers=1)
    nodes = nodes_of(settings)
    workers: list[Worker] = []
    try:
        with ThreadPoolExecutor(len(nodes)) as pool:
            list(pool.map(start_asterisk, nodes))
        kamailio.start(settings)
        for node in nodes:
            work_dir = tmp_path_factory.mktemp(f"node-{node.node}")
            workers.append(Worker(node, SATURDAY_MORNING, work_dir))
            workers[-1].start()
        yield settings
    finally:
        for handle in workers:
            handle.stop()
        kamailio.stop(settings)
        for node in nodes:
            asterisk.stop(node)


def support(settings: Settings) -> str:
    return f"sip:{settings.support_number}@{settings.sip_host}:{settings.sip_port}"


def node_of(call_id: str) -> int:
    """The node whose Asterisk took the call: channel ids start with its system name."""
    assert call_id.startswith("node-"), f"{call_id} is not a node's channel"
    return int(call_id.split("-")[1])


def started(call_id: str) -> int:
    """The second Asterisk made the call's channel: node-N-<epoch>.<sequence>."""
    return int(call_id.rsplit("-", 1)[1].split(".")[0])


async def short_calls(settings: Settings, sipp, count: int) -> list:
    """`count` callers at once who hang up a second after the hotline answers."""
    return await asyncio.gather(
        *(sipp(PRO, to=support(settings), hangup_after=1.0) for _ in range(count))
    )


async def records_of(redis, count: int, since: int) -> list[dict]:
    """The `count` newest records of calls started in the second `since` (epoch) or later."""
    for _ in range(100):
        newest = await calls.list_calls(redis, limit=count)
        fresh = [s for s in newest if started(s["call_id"]) >= since]
        if len(fresh) == count:
            return fresh
        await asyncio.sleep(0.1)
    raise AssertionError(f"not {count} records of calls since {since}")


async def test_a_caller_reaches_the_technician_through_kamailio(two_nodes, phones, sipp, redis):
    standby = routed("premium").standby
    tech = standby.dial.removeprefix("PJSIP/")
    await phones.configure(tech, answer_after=0.2, dtmf=[(0.3, "1")], hangup_after=1)

    call, refused = await asyncio.gather(
        sipp(PREMIUM, to=support(two_nodes)),
        sipp(PREMIUM, to=support(two_nodes), source="127.0.0.1"),
    )

    assert call.answered and call.hangup_by == "far_end"
    incoming = await phones.wait_for(tech, "incoming")
    assert incoming["x_headers"]["X-Winet-Customer"] == "klinik-seefeld"
    record = await wait_for_record(redis, caller=PREMIUM)
    assert node_of(record.call_id) in (1, 2)
    assert record.summary["identified"] == "caller_id", "the trunk's caller ID was believed"
    assert record.summary["outcome"] == "technician"
    assert record.summary["bridged_to"] == standby.id
    assert refused.status == 403 and not refused.answered, "Kamailio refused the untrusted call"
    assert len(await calls.list_calls(redis, limit=10)) == 1, "the refused call has no record"


async def test_a_killed_node_is_taken_out_and_back(two_nodes, sipp, redis):
    first, second = nodes_of(two_nodes)
    os.kill(processes.running_pid(second, asterisk.name(second)), signal.SIGKILL)
    killed = int(time.time())
    await asyncio.sleep(OUT_WITHIN)

    while_out = await short_calls(two_nodes, sipp, 2)

    assert all(call.answered for call in while_out)
    setup = [call.setup_seconds for call in while_out]
    assert max(setup) < OUT_WITHIN, f"a call was offered to the dead node first: {setup}"
    assert [node_of(s["call_id"]) for s in await records_of(redis, 2, killed)] == [1, 1]

    await asyncio.to_thread(supervisor.starter(two_nodes, asterisk.name(second)))
    for _ in range(50):  # its worker connects again (backoff at most 2 s)
        if await asyncio.to_thread(app_registered, second):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(kamailio.PROBE_SECONDS + 0.5)  # Kamailio's next probe finds it
    back = int(time.time())

    after = await short_calls(two_nodes, sipp, 2)

    assert all(call.answered for call in after)
    assert sorted(node_of(s["call_id"]) for s in await records_of(redis, 2, back)) == [1, 2]
    assert app_registered(first)
