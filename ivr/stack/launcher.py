"""Starting the hotline's processes in order, and how to call the hotline once they run."""

from __future__ import annotations

import csv
import os
import re
import sys

from ivr.config import REPO_DIR, Settings
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


def start_components(settings: Settings, components: tuple[str, ...]) -> None:
    if "redis" in components:
        redis.start(settings)
    if "asterisk" in components:
        asterisk.start(settings, asterisk.prepare(settings))
        asterisk.wait_ready(settings)
    if "worker" in components:
        for line in prepare_data(settings):
            print(line)
        worker.start(settings)
    if "web" in components:
        web.start(settings)


def how_to_call(settings: Settings) -> str:
    support = f"sip:{settings.support_number}@{settings.sip_host}:{settings.sip_port}"
    lines = [
        "",
        f"The hotline answers {support}",
        "  Call from a SIP phone on this machine; the caller ID is the From header's user.",
        f"  Demo customers ({DEMO_CUSTOMERS_CSV.name}); a withheld number is asked for the PIN:",
    ]
    with DEMO_CUSTOMERS_CSV.open(newline="") as rows:
        for row in csv.DictReader(rows):
            number = caller_number(re.split(r"[;|]", row["numbers"])[0])
            about = f"{row['name']} ({row['tier']}, {row['language']})"
            lines.append(f"    {number:14} PIN {row['pin']}  {about}")
    lines += [
        "  Asterisk dials technicians and the xy AG desk (asterisk-config/pjsip.conf):",
        "    tech-anna 127.0.0.1:5071, tech-marco :5072, tech-lea :5073, xy-desk :5074",
        f"  Scripted call:   sipp -sn uac -s {settings.support_number} 127.0.0.1:5060 -m 1",
        f"  Web console:     {web.url(settings)} (desk view and admin console; the first",
        f"                   users' passwords are in {settings.state_dir / 'secrets'})",
        "  Calls so far:    .venv/bin/ivr calls list",
        "  Stop it all:     ./hotline down",
    ]
    return "\n".join(lines)
