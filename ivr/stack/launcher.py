"""Starting the hotline's processes in order, and how to call the hotline once they run."""

from __future__ import annotations

import csv
import os
import re
import sys

from ivr.config import DEMO_TRUNK_HOST, DEMO_TRUNK_PSTN_PORT, REPO_DIR, Settings
from ivr.customers.demo import DEMO_CUSTOMERS_CSV
from ivr.customers.numbers import caller_number
from ivr.stack import asterisk, processes, redis, web, worker
from ivr.stack.setup import prepare_data

COMPONENTS = ("redis", "asterisk", "worker", "web")
SUPERVISOR = "supervisor"


def process_names(settings: Settings, components: tuple[str, ...] = COMPONENTS) -> list[str]:
    """The processes behind the components, in start order: `worker` is worker-1, -2, ..."""
    names: list[str] = []
    for component in components:
        names += worker.names(settings) if component == "worker" else [component]
    return names


def start_supervisor(settings: Settings) -> int:
    """The supervisor that starts again whatever dies (`ivr stack supervise`)."""
    pid = processes.running_pid(settings, SUPERVISOR)
    if pid:
        return pid
    argv = [sys.executable, "-m", "ivr", "stack", "supervise"]
    return processes.start(settings, SUPERVISOR, argv, env=os.environ, cwd=REPO_DIR)


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
        asterisk.start(settings, asterisk.prepare(settings))
        asterisk.wait_ready(settings)
    if "worker" in components:
        for line in prepare_data(settings, demo=demo, demo_closures=demo_closures):
            print(line)
        worker.start(settings)
    if "web" in components:
        web.start(settings)


def how_to_call(settings: Settings) -> str:
    support = f"sip:{settings.support_number}@{settings.sip_host}:{settings.sip_port}"
    lines = [
        "",
        f"The hotline answers {support}",
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


def _untrusted_callers(settings: Settings) -> list[str]:
    if settings.untrusted_callers == "unidentified":
        return ["  Lab mode: calls from anywhere else are taken as withheld numbers."]
    return [
        "  Calls from anywhere else are refused with 403 Forbidden (for a lab,",
        "  IVR_UNTRUSTED_CALLERS=unidentified takes them as withheld numbers).",
    ]
