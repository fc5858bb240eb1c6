"""The bench's two call paths as plain dialplan, to measure what Asterisk alone spends on such a
call in the same hour as the hotline (`bench_load --flow dialplan`).

The issue compares the hotline with a pure-dialplan version of its flow. This one does what the
hotline does on the bench's two paths, with Asterisk's own applications and no worker:

- premium: the greeting and "connecting you to the technician" in German, then the standby
  technician of the routing tables is rung with hold music for the caller; the technician hears
  the whisper (without the customer's rendered name) and must press 1; then both talk;
- pro: the greeting in German (the key the caller presses during it is what the hotline takes
  as consent), "connecting you to the desk" in Italian, then the desk queue with the same
  pre-dial handler for the agents' headers.

It identifies nobody, decides nothing and writes no record. It is added to the running Asterisk
from its command line for the run (`dialplan add extension`) and removed afterwards, so the
hotline's dialplan never carries it.
"""

from __future__ import annotations

from ivr.clock import parse_instant
from ivr.config import REPO_DIR, Settings
from ivr.routing import Contract, decide, load_tables
from ivr.stack import asterisk

NUMBER = "0800100299"  # reached like the support number: from-trunk, called-number, from-callers
ENTRY = "from-callers"
CONTEXT = "bench-reference"
WHISPER = "bench-reference-whisper"
WHISPER_PROMPTS = ("whisper/intro", "whisper/customer", "whisper/tier", "tier/premium")
ACCEPT_SECONDS = 5


def install(node: Settings, at: str, pro_caller: str) -> None:
    """Add the reference flow to the running Asterisk; the standby technician as at `at`."""
    asterisk.cli(node, "module load app_read.so")  # the hotline does not load Read()
    lines = _lines(_standby_dial(at), pro_caller)
    for exten, priority, application, context in lines:
        asterisk.cli(
            node, f"dialplan add extension {exten},{priority},{application} into {context} replace"
        )
    shown = "".join(asterisk.cli(node, f"dialplan show {c}") for c in (CONTEXT, WHISPER))
    missing = [line for line in lines if line[3] != ENTRY and line[2] not in shown]
    if missing:  # the command line says nothing when it cannot parse a line
        raise RuntimeError(f"Asterisk did not take these reference dialplan lines: {missing}")


def remove(node: Settings) -> None:
    asterisk.cli(node, f"dialplan remove extension {NUMBER}@{ENTRY}")
    for context in (CONTEXT, WHISPER):
        asterisk.cli(node, f"dialplan remove context {context}")
    asterisk.cli(node, "module unload app_read.so")


def _standby_dial(at: str) -> str:
    tables = load_tables(REPO_DIR / "routing")
    return decide(tables, Contract("premium"), parse_instant(at, tables.zone)).standby.dial


def _lines(standby: str, pro_caller: str) -> list[tuple[str, int, str, str]]:
    """(extension, priority, application, context). No spaces: the command line splits at them."""
    whisper = "&".join(f"de/winet/{prompt}" for prompt in (*WHISPER_PROMPTS, "whisper/accept"))
    return [
        (NUMBER, 1, f"Goto({CONTEXT},s,1)", ENTRY),
        # No language of its own: every prompt names its language's folder, as the hotline's do.
        ("s", 1, "Answer()", CONTEXT),
        ("s", 2, "Set(CHANNEL(language)=none)", CONTEXT),
        # digits only: a + would be an operator
        ("s", 3, f"GotoIf($[x${{CALLERID(num):1}}=x{pro_caller[1:]}]?10)", CONTEXT),
        ("s", 4, "Playback(de/winet/greeting&de/winet/connecting_technician)", CONTEXT),
        ("s", 5, f"Dial({standby},20,m(default)U({WHISPER}^s^1))", CONTEXT),
        ("s", 6, "Hangup()", CONTEXT),
        ("s", 10, "Playback(de/winet/greeting&it/winet/connecting_desk)", CONTEXT),
        ("s", 11, "Queue(xy-desk,b(desk-headers^s^1))", CONTEXT),
        ("s", 12, "Hangup()", CONTEXT),
        ("s", 1, f"Read(ACCEPT,{whisper},1,,1,{ACCEPT_SECONDS})", WHISPER),
        ("s", 2, "GotoIf($[x${ACCEPT}=x1]?4)", WHISPER),
        ("s", 3, "Set(GOSUB_RESULT=ABORT)", WHISPER),
        ("s", 4, "Return()", WHISPER),
    ]
