"""Who the stack's processes run as: the users' files, Asterisk's command, a launcher not root."""

from __future__ import annotations

from pathlib import Path

from ivr.config import Settings
from ivr.stack import asterisk, privileges
from ivr.stack.privileges import Account

PASSWD = (
    "root:x:0:0:root:/root:/bin/bash\n"
    "asterisk:x:101:101:Asterisk PBX daemon:/var/lib/asterisk:/usr/sbin/nologin\n"
)


def test_a_user_is_read_from_a_passwd_file(tmp_path):
    passwd = tmp_path / "passwd"
    passwd.write_text(PASSWD)
    found = privileges.account_in(passwd, "asterisk")
    assert found == Account("asterisk", 101, 101, Path("/var/lib/asterisk"))
    assert privileges.account_in(passwd, "nobody") is None


def test_asterisk_starts_in_its_root_as_its_user_and_as_we_do_without_one(tmp_path):
    root = tmp_path / "root"
    chrooted = asterisk.Layout(root / "etc/asterisk", ("chroot", str(root), "/usr/sbin/asterisk"))
    assert chrooted.daemon_command() == ["chroot", str(root), "/usr/sbin/asterisk", "-f", "-n"]
    as_user = asterisk.Layout(
        chrooted.etc_dir, chrooted.command, Account("asterisk", 995, 994, root)
    )
    assert as_user.daemon_command() == [
        "chroot",
        "--userspec=995:994",
        "--groups=994",
        str(root),
        "/usr/sbin/asterisk",
        "-f",
        "-n",
    ]
    # the CLI (`asterisk -rx`) stays ours: it only talks to the control socket
    assert as_user.asterisk_command("-rx", "core show uptime")[:2] == ["chroot", str(root)]


def test_a_launcher_that_is_not_root_hands_nothing_over(tmp_path, monkeypatch):
    monkeypatch.setattr(privileges.os, "geteuid", lambda: 1000)
    settings = Settings.from_env({"IVR_STATE_DIR": str(tmp_path / "state")})
    assert privileges.hand_over(settings) is None
    assert not (tmp_path / "state").exists()
