"""A real Asterisk 22: the machine's own when installed, else a Debian sid root in a chroot.

Debian 12 has no Asterisk 22, so the launcher builds a sid root filesystem with mmdebstrap once
per machine (cached outside the repository), extracts it into the state folder, installs the
repository's configuration into it and runs `chroot ROOT asterisk -f` as the root's `asterisk`
user (`--userspec`): the folders Asterisk writes in its root are that user's, its configuration
root's with the `asterisk` group reading it. That user gets the uid and gid of the host's system
user `winet-asterisk`, so no host account shares them (`ivr.stack.privileges`).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path

from ivr.config import DEMO_TRUNK_HOST, KAMAILIO_TRUNK_RELAY, REPO_DIR, Settings
from ivr.stack import privileges, processes
from ivr.stack.debian_mirror import debian_mirror
from ivr.stack.privileges import Account
from ivr.stack.processes import LaunchError

ROOTFS_PACKAGES = (
    "asterisk",
    "asterisk-modules",
    "asterisk-core-sounds-en-gsm",
    "asterisk-moh-opsound-gsm",
)
CONFIG_SOURCES = (REPO_DIR / "asterisk-config", REPO_DIR / "dialplan")
# Folders of its root that Asterisk writes to, as its own user.
ASTERISK_WRITES = (
    "var/lib/asterisk",
    "var/spool/asterisk",
    "var/log/asterisk",
    "var/cache/asterisk",
    "run/asterisk",
)
ASTERISK_USER = "asterisk"
NAME = "asterisk"
# Where Asterisk node N of several keeps what is its own, inside the one shared root (its
# sounds, modules and programs are shared): asterisk.conf's [directories].
NODE_DIRECTORIES = {
    "astetcdir": "/etc/asterisk",
    "astdbdir": "/var/lib/asterisk",
    "astspooldir": "/var/spool/asterisk",
    "astrundir": "/run/asterisk",
    "astlogdir": "/var/log/asterisk",
    "astcachedir": "/var/cache/asterisk",
}
# Written by the launcher from the settings, #tryinclude'd by dialplan/extensions.conf.
SETTINGS_INCLUDE = "winet-settings.conf"
# In Asterisk's spool folder, which FILE() does not create: made by prepare().
FAIL_OPEN_LEDGER = "winet-fail-open/ledger.log"


@dataclass(frozen=True)
class Layout:
    """Where this Asterisk keeps its configuration and how to run its binary."""

    etc_dir: Path
    command: tuple[str, ...]
    user: Account | None = None  # whom the chrooted Asterisk runs as (None: as we do)

    def asterisk_command(self, *args: str) -> list[str]:
        return [*self.command, *args]

    def daemon_command(self) -> list[str]:
        """Asterisk in the foreground, without a console: in its root as its user if it has one."""
        if self.user is None:
            return self.asterisk_command("-f", "-n")
        chroot, *inside = self.command
        ids = [f"--userspec={self.user.uid}:{self.user.gid}", f"--groups={self.user.gid}"]
        return [chroot, *ids, *inside, "-f", "-n"]


def name(settings: Settings) -> str:
    """The process name (and PID file) of this Asterisk: `asterisk`, or `asterisk-N` for node N."""
    return f"{NAME}-{settings.node}" if settings.node else NAME


def layout(settings: Settings) -> Layout:
    installed = shutil.which("asterisk")
    if installed and settings.node:
        raise LaunchError("several Asterisk nodes run in the sid root: uninstall asterisk here")
    if installed:
        etc_dir = settings.state_dir / "asterisk-etc"
        return Layout(etc_dir, (installed, "-C", str(etc_dir / "asterisk.conf")))
    root = settings.asterisk_root
    command = ("chroot", str(root), "/usr/sbin/asterisk")
    if not settings.node:
        return Layout(root / "etc/asterisk", command)
    etc = node_directories(settings.node)["astetcdir"]
    return Layout(root / etc.lstrip("/"), (*command, "-C", f"{etc}/asterisk.conf"))


def node_directories(node: int) -> dict[str, str]:
    """asterisk.conf's folders of node `node`, inside the root."""
    return {key: f"{folder}-{node}" for key, folder in NODE_DIRECTORIES.items()}


def writes(settings: Settings) -> tuple[str, ...]:
    """The folders of its root this Asterisk writes to."""
    if not settings.node:
        return ASTERISK_WRITES
    own = node_directories(settings.node)
    return tuple(own[key].lstrip("/") for key in NODE_DIRECTORIES if key != "astetcdir")


def prepare(settings: Settings) -> Layout:
    """Everything short of starting: the root filesystem (if needed) and our configuration."""
    where = layout(settings)
    if where.command[0] == "chroot":
        extract_root(settings, rootfs_tarball(settings))
        # the machine's own name must resolve inside the root as it does outside
        shutil.copyfile("/etc/hosts", settings.asterisk_root / "etc/hosts")
        where = replace(where, user=own_user(settings.asterisk_root))
    else:
        _prepare_host_etc(settings, where.etc_dir)
    if install_config(settings, where.etc_dir) and processes.running_pid(settings, name(settings)):
        print(f"{name(settings)}'s configuration changed: restarting it to load it all")
        stop(settings)
    if where.user:
        _hand_over_root(settings, where.user)
    native_hold_music(settings.sounds_dir.parent / "moh")
    _share_fail_open_ledger(settings, where.user)
    return where


def _share_fail_open_ledger(settings: Settings, asterisk_user: Account | None) -> None:
    """Asterisk creates the ledger in its folder; the workers take it away (rename, delete):
    the folder is Asterisk's and the hotline group's, and the workers may pass into the
    spool folder that holds it."""
    folder = fail_open_ledger(settings)[1].parent
    folder.mkdir(parents=True, exist_ok=True)
    if asterisk_user is None:
        return
    workers = privileges.system_account(privileges.HOTLINE_USER, settings.state_dir)
    os.chown(folder, asterisk_user.uid, workers.gid)
    folder.chmod(0o2770)  # set-group-id: every ledger is the hotline group's too
    privileges.let_pass(folder.parent, workers)


def own_user(root: Path) -> Account:
    """The root's `asterisk` user, given the ids of the host's `winet-asterisk` (created when
    missing): the root's own ids may be a host account's (uid 101 is postgres on many hosts)."""
    home = root / "var/lib/asterisk"
    host = privileges.system_account(privileges.ASTERISK_HOST_USER, home)
    _set_ids(root / "etc/passwd", ASTERISK_USER, {2: host.uid, 3: host.gid})
    _set_ids(root / "etc/group", ASTERISK_USER, {2: host.gid})
    user = privileges.account_in(root / "etc/passwd", ASTERISK_USER)
    if user is None:
        raise LaunchError(f"the Asterisk root {root} has no user {ASTERISK_USER}")
    return user


def _set_ids(database: Path, name: str, ids: dict[int, int]) -> None:
    """Set the numeric fields (position: value) of the entry `name` in a passwd/group file."""
    lines = database.read_text().splitlines(keepends=True)
    for number, line in enumerate(lines):
        fields = line.rstrip("\n").split(":")
        if fields[0] == name:
            for position, value in ids.items():
                fields[position] = str(value)
            lines[number] = ":".join(fields) + "\n"
    text = "".join(lines)
    if database.read_text() != text:
        database.write_text(text)


def _hand_over_root(settings: Settings, user: Account) -> None:
    """Asterisk's user owns the folders it writes; its configuration is root's, read by its
    group (also in a root an older version made all root's)."""
    root = settings.asterisk_root
    (root / _spool(settings).lstrip("/") / "recording").mkdir(parents=True, exist_ok=True)
    for folder in writes(settings):
        (root / folder).mkdir(parents=True, exist_ok=True)
        privileges.chown_tree(root / folder, user.uid, user.gid)
    privileges.chown_tree(layout(settings).etc_dir, 0, user.gid)


def native_hold_music(moh_dir: Path) -> None:
    """μ-law copies of the GSM hold music, made once: Asterisk plays the format that costs a
    caller's channel least, and μ-law needs no decoding for every caller on hold."""
    for gsm in sorted(moh_dir.glob("*.gsm")):
        ulaw = gsm.with_suffix(".ulaw")
        if ulaw.exists():
            continue
        partial = ulaw.with_suffix(".ulaw.part")
        command = ["ffmpeg", "-loglevel", "error", "-y", "-f", "gsm", "-i", str(gsm)]
        command += ["-f", "mulaw", "-ar", "8000", "-ac", "1", str(partial)]
        try:
            subprocess.run(command, check=True, capture_output=True, text=True)
        except (OSError, subprocess.CalledProcessError) as error:
            raise LaunchError(f"cannot convert the hold music {gsm.name}: {error}") from None
        partial.rename(ulaw)


def download(settings: Settings) -> Path | None:
    """The root filesystem's tarball, built when missing; None where Asterisk is installed on
    the host and needs none."""
    return rootfs_tarball(settings) if layout(settings).command[0] == "chroot" else None


def rootfs_tarball(settings: Settings) -> Path:
    """The cached sid root with Asterisk, built with mmdebstrap when missing. Launchers that
    start together (the test shards) wait for the one that builds it."""
    digest = hashlib.sha256(" ".join(ROOTFS_PACKAGES).encode()).hexdigest()[:10]
    tarball = settings.cache_dir / f"asterisk-sid-{digest}.tar"
    if tarball.exists():
        return tarball
    settings.cache_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.cache_dir / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.exists():
            _build_rootfs(tarball)
    return tarball


def _build_rootfs(tarball: Path) -> None:
    if not shutil.which("mmdebstrap"):
        raise LaunchError("mmdebstrap is not installed (apt-get install mmdebstrap)")
    partial = tarball.with_suffix(".partial.tar")
    mirror = debian_mirror()
    print(f"building the Asterisk root filesystem from {mirror} (once per machine) ...")
    command = [
        "mmdebstrap",
        "--variant=apt",
        "--aptopt=Acquire::Check-Valid-Until false",
        "--include=" + ",".join(ROOTFS_PACKAGES),
        "sid",
        str(partial),
        mirror,
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        tail = "\n".join((result.stderr or result.stdout).splitlines()[-15:])
        raise LaunchError(f"mmdebstrap failed (exit {result.returncode}):\n{tail}")
    partial.rename(tarball)


def extract_root(settings: Settings, tarball: Path) -> None:
    """Extract the tarball into the state folder unless that exact tarball is already there."""
    root = settings.asterisk_root
    stamp = root / ".winet-rootfs"
    wanted = f"{tarball.name} {tarball.stat().st_mtime_ns}"
    if stamp.exists() and stamp.read_text() == wanted:
        return
    if processes.running_pid(settings, name(settings)):
        raise LaunchError("Asterisk is running from the old root; run `ivr stack down` first")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(root, filter="fully_trusted")
    (root / "var/spool/asterisk/recording").mkdir(parents=True, exist_ok=True)
    _relink_sounds(root)
    stamp.write_text(wanted)


def install_config(settings: Settings, etc_dir: Path) -> bool:
    """Copy the repository's configuration over the package defaults, plus the ARI secret and
    the settings the dialplan reads; True when any file changed."""
    etc_dir.mkdir(parents=True, exist_ok=True)
    files = {
        path.name: path.read_text() for source in CONFIG_SOURCES for path in source.glob("*.conf")
    }
    files["ari-password.conf"] = f"password = {settings.ari_password}\n"
    files[SETTINGS_INCLUDE] = dialplan_settings(settings)
    if settings.node:
        files = node_config(files, settings)
    changed = False
    for name, text in sorted(files.items()):
        target = etc_dir / name
        if not target.exists() or target.read_text() != text:
            target.write_text(text)
            changed = True
    (etc_dir / "ari-password.conf").chmod(0o640)  # the folder's group: Asterisk's, in its root
    return changed


def node_config(files: dict[str, str], settings: Settings) -> dict[str, str]:
    """The configuration of node `settings.node` of several, from the single Asterisk's: its
    own SIP and ARI address, RTP range and folders; its system name, which every channel id
    starts with (no two nodes make the same); the provider trunk's calls come from Kamailio."""
    host = settings.sip_host
    ari_port = settings.ari_url.rsplit(":", 1)[1].split("/", 1)[0]
    pjsip = _set(files["pjsip.conf"], "bind", f"{host}:{settings.sip_port}")
    pjsip = _set(pjsip, "media_address", host)
    pjsip = pjsip.replace(f"match = {DEMO_TRUNK_HOST}\n", f"match = {KAMAILIO_TRUNK_RELAY}\n")
    folders = "".join(f"{key} => {path}\n" for key, path in node_directories(settings.node).items())
    return {
        **files,
        "pjsip.conf": pjsip,
        "http.conf": _set(_set(files["http.conf"], "bindaddr", host), "bindport", ari_port),
        "rtp.conf": _set(
            _set(files["rtp.conf"], "rtpstart", str(settings.rtp_start)),
            "rtpend",
            str(settings.rtp_end),
        ),
        "asterisk.conf": (
            f"[directories]\n{folders}[options]\nsystemname = node-{settings.node}\n"
        ),
    }


def _set(text: str, key: str, value: str) -> str:
    """`text` with every `key = ...` line set to `value`; the key must be there."""
    changed, count = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.MULTILINE)
    if not count:
        raise LaunchError(f"the Asterisk configuration has no line `{key} = ...` to set")
    return changed


def dialplan_settings(settings: Settings) -> str:
    """The dialplan globals that come from the settings (included by extensions.conf)."""
    as_asterisk_names_it, _ = fail_open_ledger(settings)
    return (
        f"UNTRUSTED_CALLERS = {settings.untrusted_callers}\n"
        f"FAIL_OPEN_LEDGER = {as_asterisk_names_it}\n"
        + ("NODE_OF_SEVERAL = yes\n" if settings.node else "")
    )


def fail_open_ledger(settings: Settings) -> tuple[str, Path]:
    """The ledger of the calls taken while no worker was connected (ivr/worker/fail_open.py):
    its path as Asterisk names it (inside its root), and as the workers find it."""
    if layout(settings).command[0] == "chroot":
        inside = f"{_spool(settings)}/{FAIL_OPEN_LEDGER}"
        return inside, settings.asterisk_root / inside.lstrip("/")
    path = settings.state_dir / "asterisk-var/spool" / FAIL_OPEN_LEDGER
    return str(path), path


def _spool(settings: Settings) -> str:
    """Asterisk's spool folder inside its root."""
    if settings.node:
        return node_directories(settings.node)["astspooldir"]
    return NODE_DIRECTORIES["astspooldir"]


def reload_dialplan(settings: Settings) -> None:
    """Install the configuration and make the running Asterisk read its dialplan again."""
    install_config(settings, layout(settings).etc_dir)
    cli(settings, "dialplan reload")


def start(settings: Settings, where: Layout) -> int:
    """Start Asterisk unless it runs as its user (one that runs as another, root, is restarted)."""
    pid = processes.running_pid_as(settings, name(settings), where.user)
    if pid:
        return pid
    return processes.start(settings, name(settings), where.daemon_command())


def wait_ready(settings: Settings, timeout: float = 60.0) -> None:
    """Wait until ARI answers with our credentials; explain what failed otherwise."""
    last_problem = "no answer yet"

    def ready() -> bool:
        nonlocal last_problem
        if processes.running_pid(settings, name(settings)) is None:
            raise LaunchError(
                f"{name(settings)} exited during start-up; its log ends with:\n"
                + processes.log_tail(settings, name(settings))
            )
        last_problem = ari_problem(settings)
        return last_problem == ""

    if not processes.wait_until(ready, timeout, interval=0.25):
        raise LaunchError(
            f"ARI at {settings.ari_url} did not answer within {timeout:.0f} s ({last_problem}); "
            "Asterisk's log ends with:\n" + processes.log_tail(settings, name(settings))
        )


def ari_problem(settings: Settings) -> str:
    """Empty when ARI answers GET /asterisk/info with our credentials, else what went wrong."""
    try:
        if ari_get(settings, "/asterisk/info") is None:
            return "ARI answered HTTP 404 (are the res_ari modules loaded?)"
    except urllib.error.HTTPError as error:
        if error.code == 401:
            return "ARI refused our user and password (is ari-password.conf installed?)"
        return f"ARI answered HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return f"no connection: {getattr(error, 'reason', error)}"
    return ""


def ari_get(settings: Settings, path: str) -> dict | list | None:
    """GET an ARI resource with our credentials: its JSON, None when it does not exist (404)."""
    return ari_request(settings, "GET", path)


def ari_request(settings: Settings, method: str, path: str) -> dict | list | None:
    """One ARI request from synchronous code (the launcher, test set-up): JSON or None (404)."""
    request = urllib.request.Request(settings.ari_url + path, method=method)
    token = base64.b64encode(f"{settings.ari_user}:{settings.ari_password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def stop(settings: Settings) -> bool:
    return processes.stop(settings, name(settings), timeout=20.0)


def cli(settings: Settings, command: str) -> str:
    """Run an Asterisk CLI command (`asterisk -rx`) and return its output."""
    argv = layout(settings).asterisk_command("-rx", command)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        raise LaunchError(f"asterisk -rx {command!r} failed: {result.stderr.strip()}")
    return result.stdout


def _prepare_host_etc(settings: Settings, etc_dir: Path) -> None:
    """An installed Asterisk keeps its own /etc/asterisk; ours lives in the state folder."""
    if not (etc_dir / "asterisk.conf").exists() and Path("/etc/asterisk").is_dir():
        shutil.copytree("/etc/asterisk", etc_dir, dirs_exist_ok=True)
    state = settings.state_dir / "asterisk-var"
    for folder in ("run", "log", "spool/recording", "lib"):
        (state / folder).mkdir(parents=True, exist_ok=True)
    (etc_dir / "asterisk.conf").write_text(
        "[directories]\n"
        f"astetcdir => {etc_dir}\n"
        f"astrundir => {state / 'run'}\n"
        f"astlogdir => {state / 'log'}\n"
        f"astspooldir => {state / 'spool'}\n"
        "[options]\n"
    )


def _relink_sounds(root: Path) -> None:
    """Make the sound folder's absolute links (en -> /etc/alternatives/...) relative.

    Absolute links resolve against the host outside the chroot, so the prompt build, which
    writes into <sounds>/<lang>/winet from outside, would follow them to nowhere.
    """
    sounds = root / "usr/share/asterisk/sounds"
    for link in sounds.iterdir():
        if not link.is_symlink() or not os.readlink(link).startswith("/"):
            continue
        inside = "/" + str(link.relative_to(root))
        resolved = subprocess.run(
            ["chroot", str(root), "readlink", "-f", inside], capture_output=True, text=True
        ).stdout.strip()
        if resolved:
            link.unlink()
            link.symlink_to(os.path.relpath(root / resolved.lstrip("/"), sounds))
