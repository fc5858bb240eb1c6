"""The unprivileged users the hotline's processes run as, when the launcher runs as root.

Redis, the IVR workers and the web console run as the system user `winet-hotline` (no login
shell, its home the state folder); Asterisk runs as the `asterisk` user of its own root, whose
uid is that of the host's system user `winet-asterisk`, so no host account (postgres, say)
shares it. The launcher and the supervisor stay root: they chroot Asterisk and keep the PID
files, which the hotline's user must not be able to point at other processes.

Run by anyone else (a developer's machine) every process runs as that user, as the launcher.

`hand_over` gives the hotline's user what it reads and writes: the secrets its processes need
(each 0600, its own; the others stay root's), its uploaded recordings and the installed prompt
sounds. The folders of an older version that ran everything as root are taken over the same way.
"""

from __future__ import annotations

import fcntl
import functools
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ivr.config import REPO_DIR, Settings, secret
from ivr.prompts.installed import LOCK_FILE, language_dir
from ivr.prompts.speech import LANGUAGES
from ivr.prompts.uploaded import uploads_dir
from ivr.stack.processes import LaunchError

HOTLINE_USER = "winet-hotline"
ASTERISK_HOST_USER = "winet-asterisk"
# What the workers and the console read; the first users' passwords only the launcher does.
PROCESS_SECRETS = ("ari-password", "redis-password", "pin-key")
HOST_PASSWD = Path("/etc/passwd")
ACCOUNTS_LOCK = Path("/run/winet-hotline-accounts.lock")


@dataclass(frozen=True)
class Account:
    name: str
    uid: int
    gid: int
    home: Path


def switching() -> bool:
    """True when the launcher runs as root and so starts its processes as users of their own."""
    return os.geteuid() == 0


def hand_over(settings: Settings) -> Account | None:
    """The hotline's user (created when missing) after giving it the secrets and folders its
    processes use; None when not root: the processes then run as we do."""
    if not switching():
        return None
    account = system_account(HOTLINE_USER, settings.state_dir)
    _make_code_reachable(account)
    _hand_over_secrets(settings, account)
    recordings = uploads_dir(settings)
    recordings.mkdir(mode=0o700, exist_ok=True)
    chown_tree(recordings, account.uid, account.gid)
    _hand_over_sounds(settings.sounds_dir, account)
    return account


def system_account(name: str, home: Path) -> Account:
    """The system user and group `name`, created (without a login shell) when missing, by one
    launcher at a time (the test shards start together)."""
    found = account_in(HOST_PASSWD, name)
    if found:
        return found
    with open(ACCOUNTS_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return account_in(HOST_PASSWD, name) or _create_account(name, home)


def _create_account(name: str, home: Path) -> Account:
    command = ["useradd", "--system", "--user-group", "--no-create-home"]
    command += ["--home-dir", str(home), "--shell", "/usr/sbin/nologin", name]
    result = subprocess.run(command, capture_output=True, text=True)
    found = account_in(HOST_PASSWD, name)
    if found is None:
        raise LaunchError(f"cannot create the system user {name}: {result.stderr.strip()}")
    return found


def account_in(passwd: Path, name: str) -> Account | None:
    """The user `name` of a passwd file (the host's, or the one of Asterisk's root)."""
    for line in passwd.read_text().splitlines():
        fields = line.split(":")
        if len(fields) >= 6 and fields[0] == name:
            return Account(name, int(fields[2]), int(fields[3]), Path(fields[5]))
    return None


def chown_tree(top: Path, uid: int, gid: int) -> None:
    """`top` and everything in it belongs to uid:gid (links themselves, never what they name)."""
    os.chown(top, uid, gid, follow_symlinks=False)
    for parent, folders, files in os.walk(top):
        for name in folders + files:
            os.chown(os.path.join(parent, name), uid, gid, follow_symlinks=False)


def _hand_over_secrets(settings: Settings, account: Account) -> None:
    """The secrets folder is root's, 0750 with the hotline's group: its user reads the secrets
    of its own (0600) but cannot add, remove or replace any, nor read root's."""
    for name in PROCESS_SECRETS:
        secret(settings, name)  # created now, by us, unless the environment holds it
    folder = settings.state_dir / "secrets"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chown(folder, 0, account.gid)
    folder.chmod(0o750)
    for name in PROCESS_SECRETS:
        path = folder / name
        if path.exists():
            os.chown(path, account.uid, account.gid)
            path.chmod(0o600)


def _hand_over_sounds(sounds_dir: Path, account: Account) -> None:
    """The prompt sounds the console rebuilds and installs (`<sounds>/<lang>/winet`) and their
    lock; Asterisk reads them as any other user (files 0644)."""
    lock = sounds_dir / LOCK_FILE
    if lock.exists():
        os.chown(lock, account.uid, account.gid)
    for lang in LANGUAGES:
        folder = language_dir(sounds_dir, lang)
        if folder.is_dir():
            chown_tree(folder, account.uid, account.gid)


@functools.cache
def _make_code_reachable(account: Account) -> None:
    """The hotline's user must run our Python and read our code. A folder on the way that only
    its owner may enter (a Python under /root, as pyenv installs it) gets an ACL entry letting
    this one user pass through (search only: it cannot list the folder)."""
    for folder in _closed_folders(account):
        let_pass(folder, account)
    check = subprocess.run(
        [sys.executable, "-c", "import ivr.cli"],
        cwd=REPO_DIR,
        user=account.uid,
        group=account.gid,
        extra_groups=[],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(account.home)},
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        raise LaunchError(
            f"{account.name} cannot run {sys.executable} with the code in {REPO_DIR}; "
            f"put both where that user may read them:\n{check.stderr.strip()}"
        )


def let_pass(folder: Path, account: Account) -> None:
    """An ACL entry that lets `account` pass through `folder` (search only: no listing)."""
    try:
        subprocess.run(
            ["setfacl", "-m", f"u:{account.name}:x", str(folder)],
            check=True,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError:
        raise LaunchError(
            f"{account.name} cannot enter {folder}: install setfacl (apt-get install acl), "
            "or put Python and the repository where every user may read them"
        ) from None
    except subprocess.CalledProcessError as error:
        raise LaunchError(f"setfacl on {folder} failed: {error.stderr.strip()}") from None


def _closed_folders(account: Account) -> list[Path]:
    """The folders on the way to our interpreter, its libraries and our code that the hotline's
    user may not enter (no search permission for others)."""
    interpreter = Path(sys.executable)
    targets = {interpreter, interpreter.resolve(), Path(sys.base_prefix), Path(sys.prefix)}
    targets.add(REPO_DIR)
    folders = {parent for target in targets for parent in target.parents}
    return sorted(folder for folder in folders if not _enterable(folder, account))


def _enterable(folder: Path, account: Account) -> bool:
    mode = folder.stat()
    if mode.st_uid == account.uid:
        return bool(mode.st_mode & stat.S_IXUSR)
    return bool(mode.st_mode & stat.S_IXOTH)
