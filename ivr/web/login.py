"""Logging in and out.

The log-in form has its own CSRF token (a cookie and the same value in the form), since there
is no session yet. Failed log-ins are counted per (user name, client address), per address
and per user name (`ivr.store.users`); past a limit, log-ins are refused without checking the
password. A browser that logged in as a user gets a device cookie, and failures for that user
name from other addresses never hold that browser back: nobody can lock an admin out.
"""

from __future__ import annotations

import asyncio
import math
import secrets
from datetime import timedelta

from aiohttp import web

from ivr.store import users
from ivr.web.accounts import verify_password
from ivr.web.console import console_of
from ivr.web.html import element, render
from ivr.web.pages import csrf_input, page, redirect
from ivr.web.security import (
    SESSION_COOKIE,
    allow,
    check_csrf,
    clear_session_cookie,
    current_session,
    home_of,
    public,
    safe_next,
    session_of,
    set_session_cookie,
)

LOGIN_COOKIE = "winet_login"
DEVICE_COOKIE = "winet_device"
MAX_NAME_LENGTH = 100


@public
async def login_form(request: web.Request) -> web.StreamResponse:
    session = await current_session(request)
    if session is not None:
        return redirect(safe_next(request.query.get("next"), home_of(session.role)))
    next_page = safe_next(request.query.get("next"), "")
    return _login_page(request, user="", error=None, next_page=next_page)


@public
async def login(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(LOGIN_COOKIE)
    if not token:
        raise web.HTTPForbidden(text="refused: reload the log-in page and try again (CSRF)")
    await check_csrf(request, token)
    form = await request.post()
    user = str(form.get("user", "")).strip().lower()[:MAX_NAME_LENGTH]
    password = str(form.get("password", ""))
    next_page = safe_next(str(form.get("next", "")), "")
    console = console_of(request)
    address = request.remote or "unknown"
    known_device = await users.is_known_device(
        console.redis, user, request.cookies.get(DEVICE_COOKIE), console.clock()
    )
    wait = await users.login_retry_after(
        console.redis, user, address, console.clock(), known_device=known_device
    )
    if wait is not None:
        minutes = math.ceil(wait.total_seconds() / 60)
        error = (
            "Too many failed log-ins for this user name or from this address: try again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}, or from a browser that has "
            "logged in as this user before."
        )
        response = _login_page(request, user=user, error=error, next_page=next_page, status=429)
        response.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
        return response
    record = await users.get_user(console.redis, user)
    stored_hash = record.password_hash if record else None
    if not await asyncio.to_thread(verify_password, stored_hash, password) or record is None:
        await users.record_login_failure(console.redis, user, address, console.clock())
        error = "Wrong user name or password."
        return _login_page(request, user=user, error=error, next_page=next_page, status=401)
    await users.clear_login_failures(console.redis, user, address)
    await _end_cookie_session(request)
    session_token, session = await users.create_session(console.redis, record, now=console.clock())
    response = redirect(safe_next(next_page, home_of(session.role)))
    set_session_cookie(request, response, session_token)
    response.del_cookie(LOGIN_COOKIE, path="/login")
    if not known_device:
        device_token = await users.remember_device(console.redis, user, console.clock())
        _set_login_cookie(request, response, DEVICE_COOKIE, device_token, users.DEVICE_LIFETIME)
    return response


@allow("admin", "desk", "technician")
async def logout(request: web.Request) -> web.StreamResponse:
    session_of(request)
    await _end_cookie_session(request)
    response = redirect("/login")
    clear_session_cookie(response)
    return response


@allow("admin", "desk", "technician")
async def home(request: web.Request) -> web.StreamResponse:
    return redirect(home_of(session_of(request).role))


async def _end_cookie_session(request: web.Request) -> None:
    session = await current_session(request)
    token = request.cookies.get(SESSION_COOKIE)
    if session is not None and token:
        await users.end_session(console_of(request).redis, token, session.user)


def _login_page(
    request: web.Request, *, user: str, error: str | None, next_page: str, status: int = 200
) -> web.Response:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
    body = render(
        "login",
        csrf=csrf_input(token),
        user=user,
        next=next_page,
        error=element("p", error, class_="error") if error else "",
    )
    response = page(request, "Log in", body, status=status)
    _set_login_cookie(request, response, LOGIN_COOKIE, token)
    return response


def _set_login_cookie(
    request: web.Request,
    response: web.StreamResponse,
    name: str,
    value: str,
    lifetime: timedelta | None = None,
) -> None:
    """A cookie only the log-in form sees."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="Strict",
        secure=console_of(request).secure_cookies,
        path="/login",
        max_age=int(lifetime.total_seconds()) if lifetime else None,
    )
