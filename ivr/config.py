"""Settings of one installation, read from the environment with fixed defaults.

Every port, address and folder the hotline uses is defined here and nowhere else.
State (Redis data, PID files, logs, the Asterisk root, secrets) lives outside the repository.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
# The demo installation's provider trunk (asterisk-config/pjsip.conf, [trunk]): callers from
# the public network send from this address, and callbacks to customers go to its port 5090.
DEMO_TRUNK_HOST = "127.0.0.2"
DEMO_TRUNK_PSTN_PORT = 5090
# What Asterisk does with a call that does not come from the provider trunk (its caller ID is
# anybody's claim): refuse it (403), or, for a lab, take it as an unidentified caller.
UNTRUSTED_CALLERS = ("refuse", "unidentified")


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

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        state_dir = Path(env.get("IVR_STATE_DIR", "/var/lib/winet-hotline"))
        asterisk_root = state_dir / "asterisk-root"
        return cls(
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
        )

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


def _choice(env: dict[str, str], name: str, choices: tuple[str, ...]) -> str:
    """The variable's value, one of `choices`; the first when it is not set."""
    raw = env.get(name, choices[0])
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw
