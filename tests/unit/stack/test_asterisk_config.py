"""The configuration the launcher installs into Asterisk: the repository's files and the
settings the dialplan reads (lab mode for calls from outside the provider trunk)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ivr.asterisk_config import desk_agent_endpoints, dialable_endpoints
from ivr.config import REPO_DIR, ConfigError, Settings
from ivr.stack import asterisk


def settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"IVR_STATE_DIR": str(tmp_path / "state"), **env})


def test_calls_from_outside_the_trunk_are_refused_unless_a_lab_says_otherwise(tmp_path):
    assert settings(tmp_path).untrusted_callers == "refuse"
    lab = settings(tmp_path, IVR_UNTRUSTED_CALLERS="unidentified")
    assert lab.untrusted_callers == "unidentified"
    with pytest.raises(ConfigError, match="IVR_UNTRUSTED_CALLERS must be one of refuse, unid"):
        settings(tmp_path, IVR_UNTRUSTED_CALLERS="trust")


def test_the_installed_configuration_says_whether_anything_changed(tmp_path):
    etc = tmp_path / "etc"
    refuse = settings(tmp_path)

    assert asterisk.install_config(refuse, etc) is True
    assert (etc / "pjsip.conf").read_text() == (REPO_DIR / "asterisk-config/pjsip.conf").read_text()
    ledger, _ = asterisk.fail_open_ledger(refuse)
    assert (etc / "winet-settings.conf").read_text().splitlines() == [
        "UNTRUSTED_CALLERS = refuse",
        f"FAIL_OPEN_LEDGER = {ledger}",
    ]
    # read by the owner and the folder's group (Asterisk's, in its root), nobody else
    assert (etc / "ari-password.conf").stat().st_mode & 0o777 == 0o640
    assert asterisk.install_config(refuse, etc) is False

    lab = dataclasses.replace(refuse, untrusted_callers="unidentified")
    assert asterisk.install_config(lab, etc) is True
    assert "UNTRUSTED_CALLERS = unidentified\n" in (etc / "winet-settings.conf").read_text()


def test_the_dialplan_includes_the_settings_file_the_launcher_writes():
    dialplan = (REPO_DIR / "dialplan/extensions.conf").read_text()
    assert f"#tryinclude {asterisk.SETTINGS_INCLUDE}" in dialplan
    assert '"${UNTRUSTED_CALLERS}" = "unidentified"' in dialplan


def test_asterisk_writes_the_fail_open_ledger_where_the_workers_read_it(tmp_path):
    state = settings(tmp_path)
    as_asterisk_names_it, as_workers_find_it = asterisk.fail_open_ledger(state)
    if asterisk.layout(state).command[0] == "chroot":
        assert as_workers_find_it == state.asterisk_root / as_asterisk_names_it.lstrip("/")
    else:
        assert Path(as_asterisk_names_it) == as_workers_find_it
    assert as_workers_find_it.is_relative_to(state.state_dir)


def test_the_desk_agents_are_the_phones_whose_calls_reach_the_feature_codes():
    agents = desk_agent_endpoints()
    assert agents == ("xy-desk", "xy-desk-2", "xy-desk-3")
    assert set(agents) < dialable_endpoints()
    assert {"tech-anna", "trunk"} <= dialable_endpoints() - set(agents)
    dialplan = (REPO_DIR / "dialplan/extensions.conf").read_text()
    assert "[from-desk-phone]\nexten => *451," in dialplan
