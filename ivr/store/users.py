"""Users of the web console, their sessions, and the throttling of failed log-ins.

Keys:
- `winet:web:users`                        hash  user name -> JSON {name, role, password_hash,
                                                 created_at, technician}
- `winet:web:session:<sha256(token)>`      hash  user, role, csrf, created_at, technician;
                                                 expires when idle
- `winet:web:user-sessions:<name>`         set   the user's session keys, ended with the user
- `winet:web:login-failures:pair:<name>:<ip>`  sorted set of failed log-ins by time (epoch
                                                 seconds), per user name and client address
- `winet:web:login-failures:address:<ip>`  the same per client address (any user name)
- `winet:web:login-failures:user:<name>`   the same per user name (any address)
- `winet:web:devices:<name>`               sorted set sha256(device token) -> expiry (epoch s):
                                                 browsers that logged in as the user before

Throttling never gives an attacker a switch that turns a user off: failures lock out only the
(user name, address) pair and the address. Failures for one user name from everywhere only
stop log-ins from browsers that never logged in as that user (no device cookie), so the
user's own browser still gets in with the right password during a distributed attack.

Only a hash of a session token is stored: a copy of the database does not let anyone in.
Passwords arrive here already hashed (argon2, `ivr.web.accounts`); the store only stores.
`now` is passed in wherever time matters, so tests may fix it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis

from ivr.store import key

ROLES = ("admin", "desk", "technician")
USERS = key("web", "users")

SESSION_IDLE = timedelta(hours=8)  # a session unused this long ends
SESSION_LIFETIME = timedelta(hours=24)  # and none lasts longer than this

LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_PAIR = 5  # one user name from one address
MAX_FAILURES_PER_ADDRESS = 20  # any user names from one address
MAX_FAILURES_PER_USER = 20  # one user name from anywhere: only known browsers may try
DEVICE_LIFETIME = timedelta(days=90)
MAX_DEVICES_PER_USER = 20


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str
    created_at: datetime
    technician: str | None = None  # a technician user's id in the rota (routing/rota.toml)


@dataclass(frozen=True)
class Session:
    user: str
    role: str
    csrf_token: str
    created_at: datetime
    technician: str | None = None


class UnknownUser(LookupError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no user {name!r}")


async def save_user(
    redis: Redis,
    name: str,
    role: str,
    password_hash: str,
    *,
    now: datetime,
    technician: str | None = None,
) -> bool:
    """Create the user, or replace its role and password (ending its sessions). True when
    created. A technician user names its technician id in the rota; other roles none."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (use {', '.join(ROLES)})")
    if (role == "technician") != (technician is not None):
        raise ValueError("a technician user needs its technician id, and only it has one")
    record = {"name": name, "role": role, "password_hash": password_hash, "created_at": now}
    if technician is not None:
        record["technician"] = technician
    created = bool(await redis.hsetnx(USERS, name, _dumps(record)))
    if not created:
        await end_sessions(redis, name)
        await redis.hset(USERS, name, _dumps(record))
    return created


async def get_user(redis: Redis, name: str) -> User | None:
    record = await redis.hget(USERS, name)
    return None if record is None else _user(record)


async def list_users(redis: Redis) -> list[User]:
    """All users, by name."""
    return sorted((_user(record) for record in await redis.hvals(USERS)), key=lambda u: u.name)


async def remove_user(redis: Redis, name: str) -> None:
    """Remove the user and end every session it has; UnknownUser when there is none."""
    if not await redis.hdel(USERS, name):
        raise UnknownUser(name)
    await end_sessions(redis, name)


async def end_sessions(redis: Redis, name: str) -> int:
    """End all of the user's sessions; returns how many were open."""
    index = _user_sessions_key(name)
    keys = await redis.smembers(index)
    pipe = redis.pipeline(transaction=True)
    if keys:
        pipe.delete(*keys)
    pipe.delete(index)
    results = await pipe.execute()
    return results[0] if keys else 0


async def create_session(redis: Redis, user: User, *, now: datetime) -> tuple[str, Session]:
    """A new session for the user: the token for the cookie, and the session."""
    token = secrets.token_urlsafe(32)
    session = Session(user.name, user.role, secrets.token_urlsafe(32), now, user.technician)
    session_key = _session_key(token)
    index = _user_sessions_key(user.name)
    pipe = redis.pipeline(transaction=True)
    pipe.hset(
        session_key,
        mapping={
            "user": session.user,
            "role": session.role,
            "csrf": session.csrf_token,
            "created_at": now.isoformat(),
            "technician": session.technician or "",
        },
    )
    pipe.expire(session_key, SESSION_IDLE)
    pipe.sadd(index, session_key)
    pipe.expire(index, SESSION_LIFETIME)
    await pipe.execute()
    return token, session


async def get_session(redis: Redis, token: str, *, now: datetime) -> Session | None:
    """The session of a cookie's token, its idle time restarted; None when it ended."""
    session_key = _session_key(token)
    pipe = redis.pipeline(transaction=True)
    pipe.hgetall(session_key)
    pipe.expire(session_key, SESSION_IDLE)
    fields, _ = await pipe.execute()
    if not fields:
        return None
    session = Session(
        fields["user"],
        fields["role"],
        fields["csrf"],
        datetime.fromisoformat(fields["created_at"]),
        fields.get("technician") or None,
    )
    if now - session.created_at >= SESSION_LIFETIME:
        await end_session(redis, token, session.user)
        return None
    return session


async def end_session(redis: Redis, token: str, user: str) -> None:
    session_key = _session_key(token)
    pipe = redis.pipeline(transaction=True)
    pipe.delete(session_key)
    pipe.srem(_user_sessions_key(user), session_key)
    await pipe.execute()


async def record_login_failure(redis: Redis, user: str, address: str, now: datetime) -> None:
    moment = now.timestamp()
    pipe = redis.pipeline(transaction=True)
    for failures in _failure_keys(user, address):
        # A random member keeps two failures at the same instant apart.
        pipe.zadd(failures, {f"{moment}:{secrets.token_hex(4)}": moment})
        pipe.zremrangebyscore(failures, "-inf", moment - LOGIN_WINDOW.total_seconds())
        pipe.expire(failures, LOGIN_WINDOW)
    await pipe.execute()


async def login_retry_after(
    redis: Redis, user: str, address: str, now: datetime, *, known_device: bool = False
) -> timedelta | None:
    """How long until a log-in as `user` from `address` may be tried again; None: now.

    `known_device`: the browser has logged in as `user` before, so failures for the user name
    from other addresses do not hold it back."""
    moment = now.timestamp()
    low = f"({moment - LOGIN_WINDOW.total_seconds()}"
    pair, by_address, by_user = _failure_keys(user, address)
    limits = [(pair, MAX_FAILURES_PER_PAIR), (by_address, MAX_FAILURES_PER_ADDRESS)]
    if not known_device:
        limits.append((by_user, MAX_FAILURES_PER_USER))
    pipe = redis.pipeline(transaction=False)
    for failures, _ in limits:
        pipe.zrangebyscore(failures, low, moment, withscores=True)
    waits = []
    for (_, limit), recent in zip(limits, await pipe.execute(), strict=True):
        if len(recent) >= limit:
            # allowed again once fewer than `limit` failures remain in the window
            lifting = recent[len(recent) - limit][1] + LOGIN_WINDOW.total_seconds()
            waits.append(timedelta(seconds=max(lifting - moment, 1)))
    return max(waits) if waits else None


async def clear_login_failures(redis: Redis, user: str, address: str) -> None:
    """After a successful log-in: the count of this user name from this address starts again
    (the address's and the user name's do not)."""
    await redis.delete(_failure_keys(user, address)[0])


async def remember_device(redis: Redis, user: str, now: datetime) -> str:
    """A token for the browser that just logged in as `user`: a known device from now on."""
    token = secrets.token_urlsafe(32)
    devices = _devices_key(user)
    pipe = redis.pipeline(transaction=True)
    pipe.zremrangebyscore(devices, "-inf", now.timestamp())
    pipe.zadd(devices, {_digest(token): (now + DEVICE_LIFETIME).timestamp()})
    pipe.zremrangebyrank(devices, 0, -MAX_DEVICES_PER_USER - 1)  # the oldest go first
    pipe.expire(devices, DEVICE_LIFETIME)
    await pipe.execute()
    return token


async def is_known_device(redis: Redis, user: str, token: str | None, now: datetime) -> bool:
    if not token:
        return False
    expires = await redis.zscore(_devices_key(user), _digest(token))
    return expires is not None and expires > now.timestamp()


def _user(record: str) -> User:
    data = json.loads(record)
    return User(
        data["name"],
        data["role"],
        data["password_hash"],
        datetime.fromisoformat(data["created_at"]),
        data.get("technician"),
    )


def _dumps(record: dict) -> str:
    return json.dumps(
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in record.items()}
    )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _session_key(token: str) -> str:
    return key("web", "session", _digest(token))


def _user_sessions_key(name: str) -> str:
    return key("web", "user-sessions", name)


def _failure_keys(user: str, address: str) -> tuple[str, str, str]:
    """The failure counts of (the pair, the address, the user name)."""
    return (
        key("web", "login-failures", "pair", user, address),
        key("web", "login-failures", "address", address),
        key("web", "login-failures", "user", user),
    )


def _devices_key(user: str) -> str:
    return key("web", "devices", user)
