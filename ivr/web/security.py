"""Who may do what: sessions from the cookie, roles on every route, CSRF on every change.

Every handler declares the roles that may call it (`@allow("admin")`, `@allow("admin",
"desk")`, or `@public`); a route without a declaration is refused for everyone, so a handler
that forgot one fails closed. Anonymous visitors are sent to the log-in page (pages) or get
401 (everything else); a user without the role gets 403.

Every request that is not GET/HEAD must carry the session's CSRF token, in the form field
`csrf_token` or the `X-CSRF-Token` header, and must not come from another origin. The
session cookie is HttpOnly and SameSite=Strict; it is Secure when the console is served
over HTTPS (`ivr web serve --secure-cookies`).

Bodies are bounded before anything reads them: public routes (the log-in form) take at most
PUBLIC_MAX_BODY, logged-in users at most MAX_BODY unless the handler declares more
(`@max_body(...)`, checked only after the role). A form that cannot be parsed (bad charset,
invalid UTF-8, broken multipart) is a 400, never a 500.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
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

PUBLIC_MAX_BODY = 16 * 1024  # the log-in form: a user name, a password, a token, a path
MAX_BODY = 4 * 1024 * 1024  # forms, routing tables and customer CSV files of logged-in users
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def allow(*roles: str) -> Callable[[Handler], Handler]:
    for role in roles:
        if role not in users.ROLES:
            raise ValueError(f"unknown role {role!r}")

    def mark(handler: Handler) -> Handler:
        handler.allowed_roles = frozenset(roles)  # type: ignore[attr-defined]
        return handler

    return mark


def max_body(size: int) -> Callable[[Handler], Handler]:
    """A route that takes bodies larger than MAX_BODY (uploads), from logged-in users only."""

    def mark(handler: Handler) -> Handler:
        handler.max_body = size  # type: ignore[attr-defined]
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
        return await handler(await _bounded(request, PUBLIC_MAX_BODY))
    session = await _session(request)
    if session is None:
        if request.method in SAFE_METHODS and _wants_page(request):
            raise web.HTTPSeeOther(f"/login?next={_quoted_path(request)}")
        raise web.HTTPUnauthorized(text="log in first")
    if session.role not in roles:
        raise web.HTTPForbidden(text=f"the {session.role} role may not use this page")
    request = await _bounded(request, getattr(request.match_info.handler, "max_body", MAX_BODY))
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
    if given is None and request.content_type in FORM_TYPES:
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
    """Where to go after logging in: a path on this server, never another site.

    Only printable ASCII: browsers drop tabs and newlines from a URL ("/", a tab,
    "/evil.example" is `//evil.example`), and a control character cannot go into a Location
    header at all.
    """
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or not all("!" <= char <= "~" for char in target)
    ):
        return default
    return target


async def _bounded(request: web.Request, limit: int) -> web.Request:
    """The request with its body limited to `limit` bytes, its form (if any) parsed: a body
    that announces more is refused before a byte of it is read."""
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(
            max_size=limit,
            actual_size=request.content_length,
            text=f"the request body of {request.content_length} bytes is larger than the "
            f"{limit} bytes this page takes",
        )
    bounded = request.clone(client_max_size=limit)
    if request.method not in SAFE_METHODS and bounded.content_type in FORM_TYPES:
        await _read_form(bounded)
    return bounded


async def _read_form(request: web.Request) -> None:
    """Parse the form once (handlers get the parsed copy); a malformed one is a 400."""
    try:
        await request.post()
    except (UnicodeDecodeError, LookupError) as error:
        raise web.HTTPBadRequest(
            text=f"the form is not text in the charset it names: {error}"
        ) from None
    except (ValueError, AssertionError, HttpProcessingError) as error:
        raise web.HTTPBadRequest(text=f"the form cannot be read: {_one_line(error)}") from None


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split()) or type(error).__name__


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
