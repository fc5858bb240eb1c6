"""The console as an aiohttp application: routes, middlewares, start and stop.

`create_app(settings, redis, clock)` builds it; `ivr web serve` (`ivr.web.serve`) serves it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from aiohttp import web
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ivr.clock import Clock
from ivr.config import Settings
from ivr.web import (
    admin_calls,
    admin_customers,
    admin_prompts,
    admin_tables,
    desk,
    desk_agents_page,
    desk_customers,
    incident_pages,
    login,
    overview,
    requests_pages,
    simulate,
)
from ivr.web.active_tables import ActiveTables
from ivr.web.board import DeskBoard
from ivr.web.console import CONSOLE, Console
from ivr.web.pages import error_page, wants_json
from ivr.web.security import MAX_BODY, guard

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "media-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(
    settings: Settings, redis: Redis, clock: Clock, *, secure_cookies: bool = False
) -> web.Application:
    app = web.Application(middlewares=[error_pages, guard], client_max_size=MAX_BODY)
    tables = ActiveTables(redis, settings)
    app[CONSOLE] = Console(
        settings=settings,
        redis=redis,
        clock=clock,
        tables=tables,
        board=DeskBoard(redis, clock, lambda: tables.zone),
        secure_cookies=secure_cookies,
    )
    add_routes(app)
    app.on_response_prepare.append(_security_headers)
    app.on_shutdown.append(_stop_board)
    return app


def add_routes(app: web.Application) -> None:
    app.add_routes(
        [
            web.get("/", login.home),
            web.get("/login", login.login_form),
            web.post("/login", login.login),
            web.post("/logout", login.logout),
            web.get("/desk", desk.desk_page),
            web.get("/desk/events", desk.desk_events),
            web.post("/desk/calls/{call_id}/outcome", desk.record_outcome),
            web.post("/desk/calls/{call_id}/forward", desk.forward_to_standby),
            web.get("/admin", overview.overview),
            web.get("/admin/rota", overview.rota),
            *admin_customers.ROUTES,
            *desk_customers.ROUTES,
            *desk_agents_page.ROUTES,
            *admin_tables.ROUTES,
            *simulate.ROUTES,
            *admin_prompts.ROUTES,
            *admin_calls.ROUTES,
            *requests_pages.ROUTES,
            *incident_pages.ROUTES,
            web.static("/static", STATIC_DIR),
        ]
    )


@web.middleware
async def error_pages(request: web.Request, handler) -> web.StreamResponse:
    """Errors as pages people can read (or JSON for scripts); Redis trouble is a 503."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or wants_json(request):
            raise
        return error_page(request, error.status, error.reason, error.text or error.reason)
    except RedisError as error:
        log.error("%s %s: Redis: %s", request.method, request.path, error)
        detail = "The data store (Redis) does not answer; try again in a moment."
        if wants_json(request):
            return web.json_response({"error": detail}, status=503)
        return error_page(request, 503, "Service Unavailable", detail)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(SECURITY_HEADERS)


async def _stop_board(app: web.Application) -> None:
    await app[CONSOLE].board.stop()
