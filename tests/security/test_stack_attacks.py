"""Attacks from another local user on the machine's Redis, and what Asterisk is allowed to dial.

Redis holds password hashes, session and CSRF tokens, PIN HMACs and every customer: without
its password nobody may read or write it, and its files and configuration are private. No
process of the stack runs as root (the tests run as root, as CI does): Redis, the workers and
the console as the hotline's user, Asterisk as its root's `asterisk`.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.asterisk_config import dialable_endpoints
from ivr.config import REPO_DIR, Settings
from ivr.stack import asterisk, privileges, processes, web, worker
from ivr.store.tables import active_tables

pytestmark = pytest.mark.e2e


def redis_says(settings, *commands: bytes) -> bytes:
    """What the stack's Redis answers a client that knows no password."""
    with socket.create_connection(("127.0.0.1", settings.redis_port), timeout=2) as connection:
        connection.sendall(b"".join(commands))
        return connection.recv(4096)


@pytest.mark.parametrize(
    "command",
    [
        b"PING\r\n",
        b"KEYS *\r\n",
        b"HGETALL winet:web:users\r\n",
        b"HSET winet:web:users mallory x\r\n",
        b"CONFIG GET requirepass\r\n",
    ],
)
def test_redis_answers_nothing_without_its_password(stack_settings, command):
    assert redis_says(stack_settings, command).startswith(b"-NOAUTH")


def test_a_wrong_password_is_refused(stack_settings):
    reply = redis_says(stack_settings, b"AUTH guess\r\n")
    assert reply.startswith((b"-WRONGPASS", b"-ERR invalid password"))


def test_redis_files_are_private_and_its_password_is_not_on_the_command_line(stack_settings):
    data_dir = stack_settings.state_dir / "redis"
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    files = [path for path in data_dir.rglob("*")]
    assert any(path.name.endswith(".aof") for path in files), files
    for path in files:
        wanted = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == wanted, path
    secret = stack_settings.state_dir / "secrets" / "redis-password"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(secret.parent.stat().st_mode) == 0o750  # the hotline's group enters
    pid = processes.running_pid(stack_settings, "redis")
    assert pid is not None, "the stack's Redis is not the launcher's"
    command_line = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert stack_settings.redis_password.encode() not in command_line


def test_dial_strings_name_only_endpoints_the_running_asterisk_has(stack_settings):
    shown = asterisk.cli(stack_settings, "pjsip show endpoints")
    running = set(re.findall(r"Endpoint:\s+([^\s/]+)", shown))
    assert dialable_endpoints() <= running
    assert "anonymous" not in dialable_endpoints()  # the inbound endpoint is never dialled


async def test_the_published_tables_dial_only_known_endpoints(redis):
    _, bundle = await active_tables(redis)
    dials = re.findall(r'dial\s*=\s*"([^"]*)"', bundle["rota.toml"] + bundle["destinations.toml"])
    # the desk is the queue of agents: the one Local channel, into the desk-queue context
    endpoints = {dial for dial in dials if dial != "Local/xy-desk@desk-queue/n"}
    assert endpoints and {dial.removeprefix("PJSIP/") for dial in endpoints} <= dialable_endpoints()
    assert all(dial.startswith("PJSIP/") for dial in endpoints)


@pytest.mark.parametrize(
    "dial", ["PJSIP/tech-anna&PJSIP/tech-lea", "Local/0900123456@default", ",,U(evil)", "PJSIP/x"]
)
def test_tables_check_refuses_dial_strings_asterisk_would_misread(tmp_path, dial):
    tables = tmp_path / "routing"
    shutil.copytree(REPO_DIR / "routing", tables)
    rota = tables / "rota.toml"
    rota.write_text(rota.read_text().replace('"PJSIP/tech-lea"', f'"{dial}"'))
    result = subprocess.run(
        [sys.executable, "-m", "ivr", "tables", "check", str(tables)],
        capture_output=True,
        text=True,
        cwd=REPO_DIR,
        env={**os.environ},
    )
    assert result.returncode == 1
    assert "rota.toml: technician[2].dial:" in result.stdout


NOBODY = pwd.getpwnam("nobody")
LAUNCHED = ("worker-2", "web")  # worker-2: the tests' own worker may hold worker-1's app


@pytest.fixture
def launched(stack_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A worker and the console started by the launcher, as `./hotline up` starts them; the
    names of all the stack's processes. Those it started are stopped afterwards."""
    monkeypatch.setenv("IVR_REDIS_URL", stack_settings.redis_url)
    ran_before = {name for name in LAUNCHED if processes.running_pid(stack_settings, name)}
    try:
        worker.start_one(stack_settings, 2)
        web.start(stack_settings)
        yield ["redis", "asterisk", *LAUNCHED]
    finally:
        for name in set(LAUNCHED) - ran_before:
            processes.stop(stack_settings, name)


def proc_status(pid: int, field: str) -> list[int]:
    """The numbers of a field of /proc/PID/status (Uid: real, effective, saved, filesystem)."""
    line = next(
        line
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith(f"{field}:")
    )
    return [int(number) for number in line.split()[1:]]


def test_no_process_of_the_stack_runs_as_root(stack_settings, launched):
    hotline = pwd.getpwnam(privileges.HOTLINE_USER)
    root_passwd = stack_settings.asterisk_root / "etc/passwd"
    asterisk_user = privileges.account_in(root_passwd, asterisk.ASTERISK_USER)
    assert asterisk_user is not None and asterisk_user.uid != 0
    # the root's asterisk is no host account but the hotline's own winet-asterisk
    assert pwd.getpwuid(asterisk_user.uid).pw_name == privileges.ASTERISK_HOST_USER
    wanted = {name: hotline.pw_uid for name in launched} | {"asterisk": asterisk_user.uid}
    for name in launched:
        pid = processes.running_pid(stack_settings, name)
        assert pid is not None, f"{name} is not the launcher's"
        assert proc_status(pid, "Uid") == [wanted[name]] * 4, name
        assert 0 not in proc_status(pid, "Gid") + proc_status(pid, "Groups"), name


def reads_as(user: pwd.struct_passwd, path: Path) -> subprocess.CompletedProcess[str]:
    """`cat path` as `user`, with its group and no other."""
    return subprocess.run(
        ["cat", str(path)],
        user=user.pw_uid,
        group=user.pw_gid,
        extra_groups=[],
        capture_output=True,
        text=True,
    )


def test_other_users_read_neither_the_secrets_nor_redis_files(stack_settings):
    secrets = sorted((stack_settings.state_dir / "secrets").iterdir())
    redis_files = list((stack_settings.state_dir / "redis").rglob("*"))
    targets = secrets + [path for path in redis_files if path.is_file()]
    assert {path.name for path in secrets} >= set(privileges.PROCESS_SECRETS), secrets
    assert any(path.name == "redis.conf" for path in targets), targets
    for path in targets:
        result = reads_as(NOBODY, path)
        assert result.returncode != 0 and "Permission denied" in result.stderr, path


def test_the_hotline_user_reads_its_secrets_and_not_the_first_users_passwords(stack_settings):
    hotline = pwd.getpwnam(privileges.HOTLINE_USER)
    folder = stack_settings.state_dir / "secrets"
    for name in privileges.PROCESS_SECRETS:
        assert (
            reads_as(hotline, folder / name).stdout.strip() == (folder / name).read_text().strip()
        )
    admin_password = folder / "web-admin-password"
    assert admin_password.exists()
    assert "Permission denied" in reads_as(hotline, admin_password).stderr
