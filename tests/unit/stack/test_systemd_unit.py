"""The systemd unit runs the commands the launcher has, and keeps the supervisor running."""

from __future__ import annotations

import configparser

from ivr.cli import build_parser
from ivr.config import REPO_DIR

UNIT = REPO_DIR / "deploy" / "systemd" / "winet-hotline.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read_string(UNIT.read_text())
    return parser


def test_the_unit_restarts_the_supervisor_always():
    service = unit()["Service"]
    assert service["Restart"] == "always"
    assert service["ExecStart"].endswith("ivr stack supervise")


def test_every_command_of_the_unit_is_one_the_launcher_knows():
    service = unit()["Service"]
    for key in ("ExecStartPre", "ExecStart", "ExecStopPost"):
        argv = service[key].split()
        assert argv[0] == "@REPO@/.venv/bin/ivr", key
        build_parser().parse_args(argv[1:])  # exits (fails the test) on an unknown command
