"""Settings of one installation, read from the environment with fixed defaults.

Every port, address and folder the hotline uses is defined here and nowhere else.
State (Redis data, PID files, logs, the Asterisk root, secrets) lives outside the repository.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
# The demo installation's provider trunk (asterisk-config/pjsip.conf, [trunk]): callers from
# the public network send from this address, and callbacks to customers go to its port 5090.
DEMO_TRUNK_HOST = "127.0.0.2"
DEMO_TRUNK_PSTN_PORT = 5090
# What Asterisk does with a call that does not come from the provider trunk (its caller ID is
# anybody's claim): refuse it (403), or, for a lab, take it as an unidentified caller.
UNTRUSTED_CALLERS = ("refuse", "unidentified")
# Several Asterisk nodes behind Kamailio (`ivr stack up --nodes N`): node N listens on
# 127.0.1.N with ARI on port ARI_BASE_PORT + N; Kamailio takes the support number on the
# settings' own SIP address and relays the provider trunk's calls to the nodes from
# KAMAILIO_TRUNK_RELAY, the one address the nodes believe a caller ID from.
NODE_NETWORK = "127.0.1."
ARI_BASE_PORT = 8088
KAMAILIO_TRUNK_RELAY = "127.0.0.3"
# `ivr stack up --nodes N` keeps N here, in the state folder, for the commands that follow.
NODES_FILE = "nodes"


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    cache_dir: Path
    tables_dir: Path
    prompts_dir: Path
    redis_url: str
    ari_url: str
    ari_user: str
    ari_app: str
    workers: int
    overload_lag_ms: int
    sip_host: str
    sip_port: int
    untrusted_callers: str
    rtp_start: int
    rtp_end: int
    web_host: str
    web_port: int
    support_number: str
    sounds_dir: Path
    smtp_host: str
    smtp_port: int
    mail_sender: str
    nodes: int = 1  # Asterisk nodes; 1: the single Asterisk of the plain layout, no Kamailio
    node: int = 0  # the node these settings are for (1..nodes); 0: the installation as a whole

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        state_dir = Path(env.get("IVR_STATE_DIR", "/var/lib/winet-hotline"))
        asterisk_root = state_dir / "asterisk-root"
        settings = cls(
            state_dir=state_dir,
            cache_dir=Path(env.get("IVR_CACHE_DIR", "/var/cache/winet-hotline")),
            tables_dir=Path(env.get("IVR_TABLES_DIR", REPO_DIR / "routing")),
            prompts_dir=Path(env.get("IVR_PROMPTS_DIR", REPO_DIR / "prompts")),
            redis_url=env.get("IVR_REDIS_URL", "redis://127.0.0.1:6399/0"),
            ari_url=env.get("IVR_ARI_URL", "http://127.0.0.1:8088/ari"),
            ari_user=env.get("IVR_ARI_USER", "winet-ivr"),
            ari_app=env.get("IVR_ARI_APP", worker_app(1)),
            workers=_int(env, "IVR_WORKERS", os.cpu_count() or 1),
            overload_lag_ms=_int(env, "IVR_OVERLOAD_LAG_MS", 500),
            sip_host=env.get("IVR_SIP_HOST", "127.0.0.1"),
            sip_port=_int(env, "IVR_SIP_PORT", 5060),
            untrusted_callers=_choice(env, "IVR_UNTRUSTED_CALLERS", UNTRUSTED_CALLERS),
            rtp_start=_int(env, "IVR_RTP_START", 10000),
            rtp_end=_int(env, "IVR_RTP_END", 19999),
            web_host=env.get("IVR_WEB_HOST", "127.0.0.1"),
            web_port=_int(env, "IVR_WEB_PORT", 8080),
            support_number=env.get("IVR_SUPPORT_NUMBER", "0800100200"),
            sounds_dir=Path(env.get("IVR_SOUNDS_DIR", asterisk_root / "usr/share/asterisk/sounds")),
            smtp_host=env.get("IVR_SMTP_HOST", "127.0.0.1"),
            smtp_port=_int(env, "IVR_SMTP_PORT", 25),
            mail_sender=env.get("IVR_MAIL_SENDER", "Winet hotline <hotline@winet.example>"),
            nodes=_positive(env, "IVR_NODES", _nodes_kept(state_dir)),
        )
        node = _int(env, "IVR_NODE", 0)
        if not 0 <= node <= settings.nodes:
            raise ConfigError(f"IVR_NODE must be between 0 and IVR_NODES ({settings.nodes})")
        return on_node(settings, node) if node else settings

    @property
    def redis_port(self) -> int:
        return int(self.redis_url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])

    @property
    def run_dir(self) -> Path:
        """PID files of the processes the launcher started."""
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "log"

    @property
    def asterisk_root(self) -> Path:
        """The extracted Debian sid root filesystem that Asterisk runs in (chroot)."""
        return self.state_dir / "asterisk-root"

    @property
    def ari_password(self) -> str:
        return secret(self, "ari-password")

    @property
    def redis_password(self) -> str:
        """The password of the launcher's Redis (`requirepass`), used unless the URL has one."""
        return secret(self, "redis-password")

    @property
    def pin_key(self) -> bytes:
        """The server secret that keys the PIN hashes."""
        return secret(self, "pin-key").encode()


def on_node(settings: Settings, node: int) -> Settings:
    """The settings of Asterisk node `node` (1, 2, ...) of several: its SIP address, its ARI
    port and its share of the RTP range."""
    size = (settings.rtp_end - settings.rtp_start + 1) // settings.nodes // 2 * 2
    rtp_start = settings.rtp_start + (node - 1) * size
    host = f"{NODE_NETWORK}{node}"
    return replace(
        settings,
        node=node,
        sip_host=host,
        ari_url=f"http://{host}:{ARI_BASE_PORT + node}/ari",
        rtp_start=rtp_start,
        rtp_end=rtp_start + size - 1,
    )


def nodes_of(settings: Settings) -> list[Settings]:
    """The settings of every Asterisk node: the installation's own with a single node."""
    if settings.nodes == 1:
        return [settings]
    return [on_node(settings, node) for node in range(1, settings.nodes + 1)]


def node_environment(settings: Settings) -> dict[str, str]:
    """The variables that give a process started for these settings the same nodes and node
    (whatever count the state folder keeps)."""
    node = {"IVR_NODE": str(settings.node)} if settings.node else {}
    return {"IVR_NODES": str(settings.nodes), **node}


def _nodes_kept(state_dir: Path) -> int:
    """The node count `ivr stack up --nodes N` kept in the state folder (1 when none)."""
    try:
        return int((state_dir / NODES_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return 1


def worker_app(index: int) -> str:
    """The Stasis application of worker `index` (1, 2, ...); the dialplan spreads calls over
    them (`dialplan/extensions.conf`, context `to-worker`)."""
    return f"winet-hotline-{index}"


def secret(settings: Settings, name: str) -> str:
    """A random secret kept in the state folder, created on first use.

    `IVR_SECRET_<NAME>` in the environment wins, for installations that manage secrets elsewhere.
    """
    env_name = "IVR_SECRET_" + name.upper().replace("-", "_")
    if os.environ.get(env_name):
        return os.environ[env_name]
    path = settings.state_dir / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it a moment ago
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _positive(env: dict[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if value < 1:
        raise ConfigError(f"{name} must be 1 or more, not {value}")
    return value


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...]) -> str:
    """The variable's value, one of `choices`; the first when it is not set."""
    raw = env.get(name, choices[0])
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw
