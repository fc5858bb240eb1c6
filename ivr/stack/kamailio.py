"""Kamailio in front of several Asterisk nodes (`ivr stack up --nodes N`, N > 1).

Kamailio takes the support number on the installation's SIP address (127.0.0.1:5060) and
spreads new calls round robin over the nodes with its dispatcher module. It probes every node
with OPTIONS each second: a node that does not answer within 0.6 s is out (within 2 s of its
death), and back at its next answer. A call offered to a node that has no worker connected
(503, dialplan context from-callers), or that does not answer at all within 5 s (a node that
died before the probes noticed), is offered to the next node. The 5 s are long on purpose: a
node that is only slow answers later, and a call offered twice would be taken twice.

The trunk rules hold here: only calls from the provider trunk are relayed from
KAMAILIO_TRUNK_RELAY, the one address the nodes take as the trunk (and believe the caller ID
of); any other caller is refused with 403, or in lab mode relayed from Kamailio's own address,
where the nodes take it as withheld. Kamailio keeps no dialog state and adds no Record-Route:
the caller and the node talk directly after the INVITE, so a node that dies loses only its own
calls, and Kamailio restarting loses none. A caller that sends its in-dialog requests to
Kamailio anyway (SIPp's built-in scenarios do) has them passed on to the node their request URI
names, or else to the node its call went to: Kamailio remembers that by Call-ID for an hour
after the call's last request through it.
It runs as the hotline's user, from a configuration the launcher renders into the state folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from pathlib import Path

from ivr.config import DEMO_TRUNK_HOST, KAMAILIO_TRUNK_RELAY, Settings, nodes_of
from ivr.stack import privileges, processes
from ivr.stack.processes import LaunchError

NAME = "kamailio"
DISPATCHER_SET = 1
PROBE_SECONDS = 1  # OPTIONS to every node this often ...
PROBE_ANSWER_MS = 600  # ... and one that has not answered within this is out: within 2 s
OFFER_MS = 5000  # a node that has not answered a new call within this is passed over
RING_MS = 120000  # the call may then ring (and the caller stay in the IVR) this long
CALL_MEMORY_SECONDS = 3600  # since the call's last in-dialog request through Kamailio

CONFIG = """#!KAMAILIO
# Rendered by the launcher (ivr/stack/kamailio.py) from the hotline's settings.
debug=2
log_stderror=yes
children={children}
auto_aliases=no
listen=udp:{host}:{port}
listen=udp:{relay}:{port}

loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "textops.so"
loadmodule "xlog.so"
loadmodule "dispatcher.so"
loadmodule "htable.so"

modparam("tm", "fr_timer", {probe_answer_ms})
modparam("tm", "fr_inv_timer", {ring_ms})
modparam("dispatcher", "list_file", "{nodes_file}")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_ping_from", "sip:kamailio@{host}")
modparam("dispatcher", "ds_ping_interval", {probe_seconds})
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
modparam("dispatcher", "ds_inactive_threshold", 1)
# only an answer from the node counts: never class 4, which holds tm's own 408 for no answer
modparam("dispatcher", "ds_ping_reply_codes", "class=2")
# the node each call was relayed to, by Call-ID, for callers that send their in-dialog requests
# to the support address instead of the node's Contact (SIPp's built-in scenarios do)
modparam("htable", "htable", "calls=>size=14;autoexpire={call_memory_seconds};updateexpire=1;")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (has_totag()) {{
        route(IN_DIALOG);
    }}
    t_check_trans();
    if (is_method("OPTIONS") && uri == myself && $rU == $null) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    if (!is_method("INVITE")) {{
        sl_send_reply("405", "Method Not Allowed");
        exit;
    }}
    remove_hf("X-Winet-Retried");
    if ($si == "{trunk}") {{
        $avp(relay) = "udp:{relay}:{port}";
    }} else {{
{untrusted}
    }}
    if (!ds_select_dst("{dispatcher_set}", "4")) {{
        sl_send_reply("503", "No Asterisk node available");
        exit;
    }}
    route(TO_NODE);
}}

# In-dialog requests go from the caller straight to the node (its Contact, the request URI);
# a caller that sends them to us anyway has them passed on to the node its request URI names,
# or else to the node its call was relayed to, and nowhere else.
route[IN_DIALOG] {{
    if (is_method("ACK") && t_check_trans()) {{
        t_relay();  # the ACK of a call refused after it was offered to a node
        exit;
    }}
    if (!ds_is_from_list("{dispatcher_set}", "0", "$ru")) {{
        if ($sht(calls=>$ci) == $null) {{
            sl_send_reply("403", "Not To A Node");  # no relaying anywhere else
            exit;
        }}
        $du = $sht(calls=>$ci);
    }}
    if (is_method("BYE")) {{
        $sht(calls=>$ci) = $null;
    }}
    if (is_method("ACK")) {{
        forward();
    }} else {{
        t_relay();
    }}
    exit;
}}

route[TO_NODE] {{
    $fs = $avp(relay);
    $sht(calls=>$ci) = $du;
    t_set_fr({ring_ms}, {offer_ms});
    t_on_failure("NEXT_NODE");
    if (!t_relay()) {{
        sl_reply_error();
    }}
    exit;
}}

failure_route[NEXT_NODE] {{
    if (t_is_canceled()) {{
        exit;
    }}
    if (t_check_status("503") || (t_branch_timeout() && !t_branch_replied())) {{
        xlog("L_WARN", "node $du did not take call $ci ($T_reply_code): the next one\\n");
        ds_mark_dst("ip");
        if (ds_next_dst()) {{
            append_hf("X-Winet-Retried: yes\\r\\n");
            route(TO_NODE);
        }}
    }}
}}
"""

REFUSE = """        xlog("L_NOTICE", "Not from the provider trunk: $fu from $si\\n");
        sl_send_reply("403", "Forbidden");
        exit;"""
TAKE_AS_WITHHELD = """        $avp(relay) = "udp:{host}:{port}";"""


def config(settings: Settings, nodes_file: Path) -> str:
    """Kamailio's configuration for the installation's settings."""
    address = {"host": settings.sip_host, "port": settings.sip_port}
    untrusted = REFUSE if settings.untrusted_callers == "refuse" else TAKE_AS_WITHHELD
    return CONFIG.format(
        **address,
        children=2,
        relay=KAMAILIO_TRUNK_RELAY,
        trunk=DEMO_TRUNK_HOST,
        untrusted=untrusted.format(**address),
        nodes_file=nodes_file,
        dispatcher_set=DISPATCHER_SET,
        probe_seconds=PROBE_SECONDS,
        probe_answer_ms=PROBE_ANSWER_MS,
        offer_ms=OFFER_MS,
        ring_ms=RING_MS,
        call_memory_seconds=CALL_MEMORY_SECONDS,
    )


def dispatcher_list(settings: Settings) -> str:
    """The nodes, one line each: set, SIP URI of the node."""
    return "".join(
        f"{DISPATCHER_SET} sip:{node.sip_host}:{node.sip_port}\n" for node in nodes_of(settings)
    )


def folder(settings: Settings) -> Path:
    return settings.state_dir / "kamailio"


def start(settings: Settings) -> int:
    """Start Kamailio as the hotline's user unless it runs; its PID once it answers."""
    binary = shutil.which("kamailio")
    if binary is None:
        raise LaunchError("kamailio is not installed (apt-get install kamailio)")
    account = privileges.hand_over(settings)
    pid = processes.running_pid_as(settings, NAME, account)
    if pid:
        return pid
    config_file = _install(settings, account)
    argv = [binary, "-DD", "-E", "-f", str(config_file), "-Y", str(folder(settings) / "run")]
    argv += ["-m", "128", "-M", "8"]  # shared memory: the call table
    pid = processes.start(settings, NAME, argv, account=account)
    if not processes.wait_until(lambda: _answers(settings, pid), 10.0, interval=0.1):
        raise LaunchError(
            f"Kamailio did not answer on {settings.sip_host}:{settings.sip_port}; "
            "its log ends with:\n" + processes.log_tail(settings, NAME)
        )
    return pid


def _install(settings: Settings, account: privileges.Account | None) -> Path:
    """Write the configuration and the node list into Kamailio's folder: the launcher's, which
    Kamailio's user reads and cannot change; its runtime folder `run/` is that user's."""
    here = folder(settings)
    runtime = here / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    here.chmod(0o755)
    nodes_file = here / "dispatcher.list"
    nodes_file.write_text(dispatcher_list(settings))
    config_file = here / "kamailio.cfg"
    config_file.write_text(config(settings, nodes_file))
    for written in (nodes_file, config_file):
        written.chmod(0o644)
    if account is not None:
        privileges.chown_tree(here, os.geteuid(), os.getegid())  # also one an older run gave away
        privileges.chown_tree(runtime, account.uid, account.gid)
        privileges.let_pass(settings.state_dir, account)
    return config_file


def stop(settings: Settings) -> bool:
    return processes.stop(settings, NAME)


def problem(settings: Settings) -> str:
    """Empty when Kamailio answers an OPTIONS on the support address, else what went wrong."""
    call_id = uuid.uuid4().hex
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((settings.sip_host, 0))
        here = f"{settings.sip_host}:{probe.getsockname()[1]}"
        target = f"{settings.sip_host}:{settings.sip_port}"
        probe.settimeout(1.0)
        probe.sendto(
            _options(target, here, call_id).encode(), (settings.sip_host, settings.sip_port)
        )
        try:
            while True:
                answer = probe.recv(4096).decode(errors="replace")
                if call_id in answer:
                    status = answer.split("\r\n", 1)[0]
                    return "" if " 200 " in status else f"answered {status!r}"
        except OSError as error:
            return f"no answer to OPTIONS at {target} ({error})"


def _options(target: str, here: str, call_id: str) -> str:
    return (
        f"OPTIONS sip:{target} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {here};branch=z9hG4bK{call_id[:16]};rport\r\n"
        "Max-Forwards: 5\r\n"
        f"From: <sip:status@{here}>;tag={call_id[:8]}\r\n"
        f"To: <sip:{target}>\r\n"
        f"Call-ID: {call_id}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    )


def _answers(settings: Settings, pid: int) -> bool:
    if processes.running_pid(settings, NAME) != pid:
        raise LaunchError(
            "Kamailio exited during start-up; its log ends with:\n"
            + processes.log_tail(settings, NAME)
        )
    return problem(settings) == ""
