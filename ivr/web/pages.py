"""The page around every view: navigation by role, the account bar, messages, error pages."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web
from yarl import URL

from ivr.web.html import Markup, element, join, render
from ivr.web.security import CSRF_FIELD, SESSION

NAVIGATION = {
    "desk": (
        ("/desk", "Desk"),
        ("/desk/customers", "Customer lookup"),
        ("/desk/agents", "Desk agents"),
        ("/requests/new", "New request"),
        ("/incident", "Incident"),
    ),
    "technician": (("/requests/mine", "My requests"), ("/incident", "Incident")),
    "admin": (
        ("/admin", "Overview"),
        ("/desk", "Desk"),
        ("/desk/agents", "Desk agents"),
        ("/admin/customers", "Customers"),
        ("/admin/tables", "Routing tables"),
        ("/admin/rota", "Rota"),
        ("/admin/simulate", "What happens if"),
        ("/admin/prompts", "Prompts"),
        ("/admin/calls", "Calls"),
        ("/admin/requests", "Requests"),
        ("/incident", "Incident"),
        ("/admin/reports/sla", "First reactions"),
    ),
}

# Messages a redirect may ask for with `?msg=`: only these fixed texts are ever shown.
MESSAGES = {
    "saved": "Saved.",
    "created": "Customer created.",
    "published": "Published: the new version is active and takes effect on the next call.",
    "rolled-back": "Rolled back: the copy of that version is active from the next call on.",
    "closed": "Request closed.",
    "acknowledged": "Acknowledged: the request is yours.",
    "calling": "Your phone rings now: answer it to be put through to the customer.",
    "contacted": "First contact recorded.",
    "resolved": "Resolved.",
    "request-created": "Request created: the technician on standby is being called.",
    "uploaded": "Recording installed: it plays from the next call on.",
    "incident-declared": "Major incident declared: callers hear it from the next call on.",
    "incident-ended": "Major incident ended: callers no longer hear it.",
    "attached": "Attached to the major incident.",
}


def page(
    request: web.Request,
    title: str,
    body: Markup,
    *,
    status: int = 200,
    scripts: Iterable[str] = (),
    message: str | None = None,
) -> web.Response:
    session = request.get(SESSION)
    shown = message or MESSAGES.get(request.query.get("msg", ""))
    text = render(
        "layout",
        title=title,
        body=body,
        csrf=session.csrf_token if session else "",
        nav=_navigation(session.role if session else None, request.path),
        account=_account(session.user, session.csrf_token) if session else "",
        message=element("p", shown, class_="message") if shown else "",
        scripts=join(element("script", "", src=f"/static/{name}", defer=True) for name in scripts),
    )
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        headers={"Cache-Control": "no-store"},
    )


def error_page(request: web.Request, status: int, reason: str, detail: str) -> web.Response:
    body = render("error", detail=detail, back=_back(request))
    return page(request, f"{status} {reason}", body, status=status)


def _back(request: web.Request) -> str:
    """The page the visitor came from, if it is one of ours; else the start page."""
    try:
        referer = URL(request.headers.get("Referer", ""))
    except ValueError:
        return "/"
    if referer.is_absolute() and referer.origin() == request.url.origin():
        return referer.path_qs
    return "/"


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def redirect(location: str) -> web.Response:
    """303: after a change, the browser shows the result with a GET."""
    return web.Response(status=303, headers={"Location": location})


def refused(request: web.Request, status: int, reason: str) -> web.Response:
    """A change refused: JSON for scripts, an error page for forms."""
    if wants_json(request):
        return web.json_response({"error": reason}, status=status)
    return error_page(request, status, "Refused", reason)


def done(request: web.Request, data: dict[str, Any], location: str) -> web.Response:
    """A change made: JSON for scripts, else on to `location`."""
    if wants_json(request):
        return web.json_response({"ok": True, **data})
    return redirect(location)


def csrf_input(csrf_token: str) -> Markup:
    return element("input", type="hidden", name=CSRF_FIELD, value=csrf_token)


def _navigation(role: str | None, path: str) -> Markup:
    links = NAVIGATION.get(role or "", ())
    return join(
        element("a", label, href=href, class_="current" if _is_current(href, path) else None)
        for href, label in links
    )


def _is_current(href: str, path: str) -> bool:
    return path == href or (href != "/admin" and path.startswith(href + "/"))


def _account(user: str, csrf_token: str) -> Markup:
    return render("account", user=user, csrf=csrf_input(csrf_token))
