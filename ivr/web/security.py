"""Who may do what: sessions from the cookie, roles on every route, CSRF on every change.

Every handler declares the roles that may call it (`@allow("admin")`, `@allow("admin",
"desk")`, or `@public`); a route without a declaration is refused for everyone, so a handler
that forgot one fails closed. Anonymous visitors are sent to the log-in page (pages) or get
401 (everything else); a user without the role gets 403.

Every request that is not GET/HEAD must carry the session's CSRF token, in the form field
`csrf_token` or the `X-CSRF-Token` header, and must not come from another origin. The
session cookie is HttpOnly and SameSite=Strict; it is Secure when the console is served
over HTTPS (`ivr web serve --secure-cookies`).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web
from aiohttp.web_urldispatcher import StaticResource

from ivr.store import users
from ivr.store.users import Session
from ivr.web.console import console_of

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

SESSION_COOKIE = "winet_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD"})
SESSION = web.RequestKey("session", Session)
_PUBLIC = frozenset({"*"})


def allow(*roles: str) -> Callable[[Handler], Handler]:
    for role in roles:
        if role not in users.ROLES:
            raise ValueError(f"unknown role {role!r}")

    def mark(handler: Handler) -> Handler:
        handler.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return handler

    return mark


def public(handler: Handler) -> Handler:
    """Reachable without logging in (the log-in page itself)."""
    handler.allowed_roles = _PUBLIC  # type: ignore[attr-defined]
    return handler


def allowed_roles(route: web.AbstractRoute) -> frozenset[str] | None:
    """The roles a route admits; `{"*"}` for everyone, None when it declares nothing."""
    if isinstance(route.resource, StaticResource):
        return _PUBLIC
    return getattr(route.handler, "allowed_roles", None)


def session_of(request: web.Request) -> Session:
    """The session of a request that passed the guard (for handlers that require a role)."""
    session = request.get(SESSION)
    if session is None:
        raise web.HTTPUnauthorized(text="log in first")
    return session


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.match_info.http_exception is not None:
        return await handler(request)  # 404, 405: nothing to protect
    roles = allowed_roles(request.match_info.route)
    if roles is None:
        raise web.HTTPForbidden(text="this route declares no roles, so nobody may use it")
    if roles is _PUBLIC:
        return await handler(request)
    session = await _session(request)
    if session is None:
        if request.method in SAFE_METHODS and _wants_page(request):
            raise web.HTTPSeeOther(f"/login?next={_quoted_path(request)}")
        raise web.HTTPUnauthorized(text="log in first")
    if session.role not in roles:
        raise web.HTTPForbidden(text=f"the {session.role} role may not use this page")
    request[SESSION] = session
    if request.method not in SAFE_METHODS:
        await check_csrf(request, session.csrf_token)
    return await handler(request)


async def current_session(request: web.Request) -> Session | None:
    """The session of the request's cookie, also on public pages."""
    if SESSION not in request:
        session = await _session(request)
        if session is not None:
            request[SESSION] = session
    return request.get(SESSION)


async def check_csrf(request: web.Request, expected: str) -> None:
    """Refuse (403) a change without the expected token or from another origin."""
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"{request.scheme}://{request.host}":
        raise web.HTTPForbidden(text=f"refused: the request comes from another origin ({origin})")
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        value = (await request.post()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise web.HTTPForbidden(
            text="refused: the form has expired or did not come from this console (CSRF); "
            "reload the page and try again"
        )


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=console_of(request).secure_cookies,
        path="/",
    )


def clear_session_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(SESSION_COOKIE, path="/")


def safe_next(target: str | None, default: str) -> str:
    """Where to go after logging in: a path on this server, never another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def home_of(role: str) -> str:
    return {"admin": "/admin", "technician": "/requests/mine"}.get(role, "/desk")


async def _session(request: web.Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    console = console_of(request)
    return await users.get_session(console.redis, token, now=console.clock())


def _wants_page(request: web.Request) -> bool:
    return "text/html" in request.headers.get("Accept", "text/html")


def _quoted_path(request: web.Request) -> str:
    return quote(request.path_qs, safe="")
