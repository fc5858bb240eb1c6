"""Several Asterisk nodes behind Kamailio (`ivr stack up --nodes N`): each node's settings
(address, ARI port, RTP range), process names and configuration, and Kamailio's
configuration, checked by the real `kamailio -c`."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import pytest

from ivr.config import REPO_DIR, ConfigError, Settings, node_environment, nodes_of, on_node
from ivr.stack import asterisk, kamailio, launcher, supervisor, worker
from ivr.stack.processes import LaunchError


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"IVR_STATE_DIR": str(tmp_path / "state"), "IVR_WORKERS": "2", **env})


def test_one_node_is_the_single_asterisk_of_the_plain_layout(tmp_path):
    single = settings(tmp_path)
    assert single.nodes == 1
    assert nodes_of(single) == [single]
    assert asterisk.name(single) == "asterisk"
    assert node_environment(single) == {"IVR_NODES": "1"}  # whatever the state folder keeps
    assert launcher.process_names(single) == ["redis", "asterisk", "worker-1", "worker-2", "web"]


def test_each_node_has_its_address_ari_port_and_share_of_the_rtp_range(tmp_path):
    first, second = nodes_of(settings(tmp_path, IVR_NODES="2"))
    assert (first.node, first.sip_host, first.sip_port) == (1, "127.0.1.1", 5060)
    assert (second.node, second.sip_host, second.sip_port) == (2, "127.0.1.2", 5060)
    assert first.ari_url == "http://127.0.1.1:8089/ari"
    assert second.ari_url == "http://127.0.1.2:8090/ari"
    assert (first.rtp_start, first.rtp_end) == (10000, 14999)
    assert (second.rtp_start, second.rtp_end) == (15000, 19999)


def test_rtp_ranges_of_three_nodes_are_even_disjoint_and_inside_the_whole(tmp_path):
    nodes = nodes_of(settings(tmp_path, IVR_NODES="3"))
    ranges = [(node.rtp_start, node.rtp_end) for node in nodes]
    assert all(start % 2 == 0 and start < end for start, end in ranges)
    assert all(end < next_start for (_, end), (next_start, _) in itertools.pairwise(ranges))
    assert ranges[0][0] == 10000 and ranges[-1][1] <= 19999


def test_a_process_started_for_a_node_reads_the_same_node_from_its_environment(tmp_path):
    whole = settings(tmp_path, IVR_NODES="2")
    node = on_node(whole, 2)
    environment = {"IVR_STATE_DIR": str(tmp_path / "state"), **node_environment(node)}
    assert Settings.from_env({**environment, "IVR_WORKERS": "2"}) == node


def test_bad_node_counts_are_refused_with_the_variable_named(tmp_path):
    with pytest.raises(ConfigError, match="IVR_NODES must be 1 or more, not 0"):
        settings(tmp_path, IVR_NODES="0")
    with pytest.raises(ConfigError, match=r"IVR_NODE must be between 0 and IVR_NODES \(2\)"):
        settings(tmp_path, IVR_NODES="2", IVR_NODE="3")


def test_the_node_count_up_started_is_kept_for_the_commands_that_follow(tmp_path):
    fresh = settings(tmp_path)
    kept = launcher.keep_nodes(fresh, 2)
    assert kept.nodes == 2
    assert settings(tmp_path).nodes == 2
    assert settings(tmp_path, IVR_NODES="3").nodes == 3


def test_every_node_has_its_asterisk_and_workers_and_kamailio_runs_in_front(tmp_path):
    two = settings(tmp_path, IVR_NODES="2")
    assert launcher.process_names(two) == [
        "redis",
        "asterisk-1",
        "asterisk-2",
        "kamailio",
        "worker-1-1",
        "worker-1-2",
        "worker-2-1",
        "worker-2-2",
        "web",
    ]
    assert worker.index_of("worker-2-1") == 1


def test_the_supervisor_starts_a_dead_node_again_as_that_node(tmp_path, monkeypatch):
    started: list[Settings] = []
    monkeypatch.setattr(supervisor, "start_asterisk", started.append)
    supervisor.starter(settings(tmp_path, IVR_NODES="2"), "asterisk-2")()
    assert [(node.node, node.sip_host) for node in started] == [(2, "127.0.1.2")]


def node_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, node: int) -> dict[str, str]:
    monkeypatch.setattr(asterisk.shutil, "which", lambda _: None)  # the sid root's layout
    etc = tmp_path / f"etc-{node}"
    asterisk.install_config(on_node(settings(tmp_path, IVR_NODES="2"), node), etc)
    return {path.name: path.read_text() for path in etc.iterdir()}


def test_a_node_listens_on_its_address_and_takes_the_trunk_from_kamailio(tmp_path, monkeypatch):
    files = node_files(tmp_path, monkeypatch, 2)
    assert "bind = 127.0.1.2:5060\n" in files["pjsip.conf"]
    assert "media_address = 127.0.0.1" not in files["pjsip.conf"]
    assert "media_address = 127.0.1.2\n" in files["pjsip.conf"]
    # the trunk's caller ID is believed only from Kamailio's relay address, never the provider's
    assert "match = 127.0.0.3\n" in files["pjsip.conf"]
    assert "match = 127.0.0.2\n" not in files["pjsip.conf"]
    assert "bindaddr = 127.0.1.2\n" in files["http.conf"]
    assert "bindport = 8090\n" in files["http.conf"]
    assert "rtpstart = 15000\nrtpend = 19999\n" in files["rtp.conf"]
    assert "NODE_OF_SEVERAL = yes\n" in files["winet-settings.conf"]
    assert "FAIL_OPEN_LEDGER = /var/spool/asterisk-2/" in files["winet-settings.conf"]


def test_a_node_keeps_its_own_folders_and_names_its_channels(tmp_path, monkeypatch):
    conf = node_files(tmp_path, monkeypatch, 1)["asterisk.conf"]
    assert "astetcdir => /etc/asterisk-1\n" in conf
    assert "astspooldir => /var/spool/asterisk-1\n" in conf
    assert "astrundir => /run/asterisk-1\n" in conf
    assert "astdbdir => /var/lib/asterisk-1\n" in conf
    assert "systemname = node-1\n" in conf  # channel ids of two nodes never collide
    node = on_node(settings(tmp_path, IVR_NODES="2"), 1)
    assert asterisk.layout(node).command[-2:] == ("-C", "/etc/asterisk-1/asterisk.conf")
    assert asterisk.layout(node).etc_dir == node.asterisk_root / "etc/asterisk-1"


def test_the_single_asterisk_gets_no_node_setting(tmp_path, monkeypatch):
    monkeypatch.setattr(asterisk.shutil, "which", lambda _: None)
    assert "NODE_OF_SEVERAL" not in asterisk.dialplan_settings(settings(tmp_path))


def test_a_configuration_without_the_line_to_set_is_refused_by_name():
    with pytest.raises(LaunchError, match=r"no line `bindport = \.\.\.`"):
        asterisk._set("[general]\nenabled = yes\n", "bindport", "8089")


def test_the_dialplan_turns_a_call_away_to_the_next_node_only_once():
    dialplan = (REPO_DIR / "dialplan/extensions.conf").read_text()
    assert '"${NODE_OF_SEVERAL}" = "yes" & "${PJSIP_HEADER(read,X-Winet-Retried)}" = ""' in dialplan
    assert "(another-node),PJSIPHangup(503)" in dialplan


def test_kamailio_lists_every_node(tmp_path):
    assert kamailio.dispatcher_list(settings(tmp_path, IVR_NODES="2")) == (
        "1 sip:127.0.1.1:5060\n1 sip:127.0.1.2:5060\n"
    )


def test_kamailio_refuses_callers_outside_the_trunk_and_relays_the_trunk_apart(tmp_path):
    text = kamailio.config(settings(tmp_path, IVR_NODES="2"), tmp_path / "dispatcher.list")
    assert "listen=udp:127.0.0.1:5060\nlisten=udp:127.0.0.3:5060\n" in text
    assert 'if ($si == "127.0.0.2") {\n        $avp(relay) = "udp:127.0.0.3:5060";' in text
    assert 'sl_send_reply("403", "Forbidden");' in text
    assert 'remove_hf("X-Winet-Retried");' in text  # a caller cannot skip the 503 retry
    assert 'modparam("dispatcher", "ds_ping_interval", 1)' in text
    # a node that does not answer is out: tm's own 408 is no answer
    assert 'modparam("dispatcher", "ds_ping_reply_codes", "class=2")' in text
    assert 'modparam("tm", "fr_timer", 600)' in text  # a silent node is out within 2 s


def test_kamailio_in_lab_mode_relays_other_callers_as_withheld(tmp_path):
    lab = settings(tmp_path, IVR_NODES="2", IVR_UNTRUSTED_CALLERS="unidentified")
    text = kamailio.config(lab, tmp_path / "dispatcher.list")
    assert 'sl_send_reply("403", "Forbidden")' not in text
    assert '$avp(relay) = "udp:127.0.0.1:5060";' in text


def test_kamailio_accepts_the_configuration(tmp_path):
    two = settings(tmp_path, IVR_NODES="2")
    nodes = tmp_path / "dispatcher.list"
    nodes.write_text(kamailio.dispatcher_list(two))
    config = tmp_path / "kamailio.cfg"
    config.write_text(kamailio.config(two, nodes))
    check = subprocess.run(
        ["kamailio", "-c", "-f", str(config)], capture_output=True, text=True, timeout=30
    )
    assert check.returncode == 0, check.stderr[-2000:]
