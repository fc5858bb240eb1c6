"""Desk agents logging in and out of the desk queue from the console: every desk agent's phone,
whether it is in the queue now, and a button to change that (`ivr.desk_agents`, the same
functions as `ivr desk login|logout`; the phones' feature codes run the same dialplan)."""

from __future__ import annotations

from aiohttp import web

from ivr import desk_agents
from ivr.ari.client import AriError
from ivr.web.console import console_of
from ivr.web.html import Markup, element, join, render, url_part
from ivr.web.pages import csrf_input, done, page, refused
from ivr.web.security import allow, session_of

ACTIONS = {"login": desk_agents.log_in, "logout": desk_agents.log_out}
ASTERISK_DOWN = "Asterisk (ARI) does not answer, so the desk queue cannot be read or changed: "


@allow("desk", "admin")
async def agents_page(request: web.Request) -> web.StreamResponse:
    try:
        agents = await desk_agents.agents(console_of(request).settings)
    except AriError as error:
        return refused(request, 503, ASTERISK_DOWN + str(error))
    csrf = csrf_input(session_of(request).csrf_token)
    body = render(
        "desk_agents",
        rows=join(_agent_row(agent, csrf) for agent in agents),
        login_code=desk_agents.LOGIN_CODE,
        logout_code=desk_agents.LOGOUT_CODE,
    )
    return page(request, "Desk agents", body)


@allow("desk", "admin")
async def change_agent(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    action = str(form.get("action", ""))
    if action not in ACTIONS:
        return refused(request, 422, f"Unknown action {action!r}: choose login or logout.")
    endpoint = request.match_info["endpoint"]
    try:
        members = await ACTIONS[action](console_of(request).settings, endpoint)
    except desk_agents.NotADeskAgent as error:
        return refused(request, 404, f"{error}.")
    except AriError as error:
        return refused(request, 503, ASTERISK_DOWN + str(error))
    if (endpoint in members) != (action == "login"):
        in_queue = ", ".join(members) or "nobody"
        return refused(request, 409, f"{endpoint} did not {action}; in the desk queue: {in_queue}.")
    return done(request, {"endpoint": endpoint, "logged_in": action == "login"}, "/desk/agents")


def _agent_row(agent: desk_agents.Agent, csrf: Markup) -> Markup:
    action, label = ("logout", "Log out") if agent.logged_in else ("login", "Log in")
    button = element(
        "form",
        join(
            [
                csrf,
                element("input", type="hidden", name="action", value=action),
                element("button", label, type="submit"),
            ]
        ),
        method="post",
        action=f"/desk/agents/{url_part(agent.endpoint)}",
        class_="agent-login",
    )
    state = "logged in" if agent.logged_in else "logged out"
    cells = [
        element("td", agent.endpoint),
        element("td", state, class_="state"),
        element("td", button),
    ]
    return element("tr", join(cells), id=f"agent-{agent.endpoint}")


ROUTES = [
    web.get("/desk/agents", agents_page),
    web.post("/desk/agents/{endpoint}", change_agent),
]
