"""User names and passwords of the web console: the rules, and argon2 hashing.

Hashing and verifying take tens of milliseconds of CPU on purpose: on the event loop, call them
through `asyncio.to_thread`.
"""

from __future__ import annotations

import re
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
USER_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")

_hasher = PasswordHasher()


def check_user_name(name: str) -> None:
    if not USER_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not a user name: use 1-64 of a-z, 0-9, '.', '_' and '-', "
            "starting with a letter or digit"
        )


def check_password(password: str) -> None:
    """The message never repeats the password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches; for an unknown user (None) the same work is done
    against a throwaway hash, so the answer's timing does not tell which names exist."""
    try:
        return _hasher.verify(password_hash or _throwaway_hash(), password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _throwaway_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(24))
