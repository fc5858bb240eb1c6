"""Starting the hotline's processes in order, and how to call the hotline once they run."""

from __future__ import annotations

import csv
import os
import re
import sys
from dataclasses import replace

from ivr.config import (
    DEMO_TRUNK_HOST,
    DEMO_TRUNK_PSTN_PORT,
    NODES_FILE,
    REPO_DIR,
    Settings,
    node_environment,
    nodes_of,
)
from ivr.customers.demo import DEMO_CUSTOMERS_CSV
from ivr.customers.numbers import caller_number
from ivr.stack import asterisk, kamailio, processes, redis, web, worker
from ivr.stack.setup import prepare_data

COMPONENTS = ("redis", "asterisk", "kamailio", "worker", "web")
SUPERVISOR = "supervisor"


def process_names(settings: Settings, components: tuple[str, ...] = COMPONENTS) -> list[str]:
    """The processes behind the components, in start order: `worker` is worker-1, -2, ...;
    with several nodes `asterisk` is asterisk-1, -2, ..., `worker` worker-1-1, ..., and
    `kamailio` runs in front of them (with one node there is no Kamailio)."""
    names: list[str] = []
    for component in components:
        if component == "asterisk":
            names += [asterisk.name(node) for node in nodes_of(settings)]
        elif component == "worker":
            names += [name for node in nodes_of(settings) for name in worker.names(node)]
        elif component != kamailio.NAME or settings.nodes > 1:
            names.append(component)
    return names


def keep_nodes(settings: Settings, nodes: int) -> Settings:
    """Settings for `nodes` Asterisk nodes, kept in the state folder for later commands;
    refused while the stack runs with another count."""
    if nodes != settings.nodes and any(
        processes.running_pid(settings, name) for name in [SUPERVISOR, *process_names(settings)]
    ):
        raise processes.LaunchError(
            f"the hotline runs with {settings.nodes} node(s): run `./hotline down` before "
            f"starting it with {nodes}"
        )
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    (settings.state_dir / NODES_FILE).write_text(f"{nodes}\n")
    return replace(settings, nodes=nodes)


def start_asterisk(settings: Settings) -> None:
    """Start this Asterisk (the single one, or one node) and wait until ARI answers."""
    asterisk.start(settings, asterisk.prepare(settings))
    asterisk.wait_ready(settings)


def start_supervisor(settings: Settings) -> int:
    """The supervisor that starts again whatever dies (`ivr stack supervise`)."""
    pid = processes.running_pid(settings, SUPERVISOR)
    if pid:
        return pid
    argv = [sys.executable, "-m", "ivr", "stack", "supervise"]
    env = {**os.environ, **node_environment(settings)}
    return processes.start(settings, SUPERVISOR, argv, env=env, cwd=REPO_DIR)


def start_components(
    settings: Settings,
    components: tuple[str, ...],
    *,
    demo: bool = True,
    demo_closures: bool = False,
) -> None:
    """Start the components; `demo` and `demo_closures` count on a fresh installation only."""
    if "redis" in components:
        redis.start(settings)
    if "asterisk" in components:
        for node in nodes_of(settings):
            asterisk.start(node, asterisk.prepare(node))
        for node in nodes_of(settings):
            asterisk.wait_ready(node)
    if "kamailio" in components and settings.nodes > 1:
        kamailio.start(settings)
    if "worker" in components:
        for line in prepare_data(settings, demo=demo, demo_closures=demo_closures):
            print(line)
        for node in nodes_of(settings):
            worker.start(node)
    if "web" in components:
        web.start(nodes_of(settings)[0])


def how_to_call(settings: Settings) -> str:
    support = f"sip:{settings.support_number}@{settings.sip_host}:{settings.sip_port}"
    lines = [
        "",
        f"The hotline answers {support}",
        *_nodes(settings),
        f"  Call through the demo provider trunk: send from {DEMO_TRUNK_HOST} (any port) with",
        "  the caller's number in P-Asserted-Identity (or From); Privacy: id withholds it.",
        *_untrusted_callers(settings),
        f"  Demo customers ({DEMO_CUSTOMERS_CSV.name}); withheld: type number, #, PIN:",
    ]
    with DEMO_CUSTOMERS_CSV.open(newline="") as rows:
        for row in csv.DictReader(rows):
            number = caller_number(re.split(r"[;|]", row["numbers"])[0])
            about = f"{row['name']} ({row['tier']}, {row['language']})"
            lines.append(f"    {number:14} PIN {row['pin']}  {about}")
    lines += [
        "  Asterisk dials technicians and the xy AG desk queue's agents (asterisk-config):",
        "    tech-anna 127.0.0.1:5071, tech-marco :5072, tech-lea :5073, xy-desk :5074",
        "    desk agents xy-desk-2 :5075, xy-desk-3 :5076 log in by dialling *451 (out: *452),",
        "    on the console's /desk/agents page, or with `ivr desk login`",
        "  Callbacks to customers leave through the trunk to "
        f"sip:<number>@{DEMO_TRUNK_HOST}:{DEMO_TRUNK_PSTN_PORT}",
        f"  Scripted call:   sipp -sn uac -i {DEMO_TRUNK_HOST} -s {settings.support_number} "
        f"{settings.sip_host}:{settings.sip_port} -m 1",
        f"  Web console:     {web.url(settings)} (desk view and admin console; the first",
        f"                   users' passwords are in {settings.state_dir / 'secrets'})",
        "  Calls so far:    .venv/bin/ivr calls list",
        "  Stop it all:     ./hotline down",
    ]
    return "\n".join(lines)


def _nodes(settings: Settings) -> list[str]:
    if settings.nodes == 1:
        return []
    nodes = ", ".join(f"{node.sip_host}:{node.sip_port}" for node in nodes_of(settings))
    return [f"  Kamailio spreads the calls over {settings.nodes} Asterisk nodes: {nodes}"]


def _untrusted_callers(settings: Settings) -> list[str]:
    if settings.untrusted_callers == "unidentified":
        return ["  Lab mode: calls from anywhere else are taken as withheld numbers."]
    return [
        "  Calls from anywhere else are refused with 403 Forbidden (for a lab,",
        "  IVR_UNTRUSTED_CALLERS=unidentified takes them as withheld numbers).",
    ]
