"""Who may reach what: every route's roles, log-in, sessions, CSRF, throttling, headers."""

import re
from datetime import timedelta

import pytest
from aiohttp import CookieJar, web
from aiohttp.test_utils import TestClient, TestServer
from aiohttp.web_urldispatcher import StaticResource
from yarl import URL

from ivr.store import users
from ivr.web.app import create_app
from ivr.web.security import allowed_roles, guard
from tests.unit.web.conftest import CSRF_FIELD, PASSWORDS

SAMPLE_VALUES = {
    "customer_id": "acme",
    "file": "tiers.toml",
    "version": "1",
    "call_id": "c1",
    "request_id": "1",
    "lang": "de",
    "prompt_id": "greeting",
    "endpoint": "xy-desk-2",
}


def routes(app: web.Application) -> list[tuple[str, str, frozenset[str] | None]]:
    """(method, sample path, roles) of every route but the static files."""
    found = []
    for route in app.router.routes():
        if isinstance(route.resource, StaticResource) or route.method == "HEAD":
            continue
        path = re.sub(r"\{(\w+)\}", lambda m: SAMPLE_VALUES[m.group(1)], route.resource.canonical)
        found.append((route.method, path, allowed_roles(route)))
    return found


REQUEST_ROLES = {
    ("GET", "/requests/mine"): {"technician"},
    ("GET", "/requests/new"): {"admin", "desk"},
    ("POST", "/requests/new"): {"admin", "desk"},
    ("GET", "/requests/1"): {"admin", "desk", "technician"},
    ("POST", "/requests/1/ack"): {"admin", "technician"},
    ("POST", "/requests/1/contact"): {"admin", "technician"},
    ("POST", "/requests/1/resolve"): {"admin", "technician"},
    ("POST", "/requests/1/cancel"): {"admin"},
    ("POST", "/requests/1/callback"): {"admin", "technician"},
    ("POST", "/requests/1/incident"): {"admin", "technician"},
}
# declaring and ending: admins and the chief technician (a technician account), checked inside
INCIDENT_ROLES = {
    ("GET", "/incident"): {"admin", "desk", "technician"},
    ("POST", "/incident/declare"): {"admin", "technician"},
    ("POST", "/incident/end"): {"admin", "technician"},
}


def admin_only(app):
    return [(m, p) for m, p, roles in routes(app) if roles == {"admin"}]


async def test_every_route_declares_its_roles(console):
    declared = {(method, path): roles for method, path, roles in routes(console.app)}
    assert None not in declared.values()
    for (method, path), roles in declared.items():
        if path.startswith("/admin"):
            assert roles == {"admin"}, (method, path)
        elif path.startswith("/desk"):
            assert roles == {"admin", "desk"}, (method, path)
        elif path == "/login":
            assert roles == {"*"}
        elif path.startswith("/requests"):
            assert roles == REQUEST_ROLES[(method, path)], (method, path)
        elif path.startswith("/incident"):
            assert roles == INCIDENT_ROLES[(method, path)], (method, path)
        else:
            assert roles == {"admin", "desk", "technician"}, (method, path)
    assert len(admin_only(console.app)) >= 25


async def test_a_route_without_roles_is_refused_to_everyone():
    async def undeclared(request):
        return web.Response(text="secret")

    app = web.Application(middlewares=[guard])
    app.router.add_get("/undeclared", undeclared)
    async with TestClient(TestServer(app)) as client:
        response = await client.get("/undeclared")
        assert response.status == 403
        assert "secret" not in await response.text()


async def test_anonymous_pages_redirect_to_log_in_and_changes_are_unauthorised(console, anonymous):
    for method, path, roles in routes(console.app):
        if roles == {"*"}:
            continue
        if method == "GET":
            response = await anonymous.get(path)
            assert response.status == 303, path
            location = URL(response.headers["Location"])
            assert (location.path, location.query["next"]) == ("/login", path)
        else:
            response = await anonymous.post(path, {"x": "1"})
            assert response.status == 401, (method, path)


async def test_anonymous_scripts_get_401_not_a_redirect(anonymous):
    response = await anonymous.get("/desk/events", headers={"Accept": "text/event-stream"})
    assert response.status == 401


async def test_desk_cannot_reach_any_admin_page_or_api(console, desk):
    for method, path in admin_only(console.app):
        if method == "GET":
            response = await desk.get(path)
        else:
            response = await desk.post(path, {"resolution": "x", "text": "x"})
        assert response.status == 403, (method, path)
        assert "desk role may not use this page" in await response.text()


async def test_admin_may_use_the_desk_view(admin):
    page = await admin.page("/desk")
    assert 'id="desk-calls"' in page


async def test_the_home_page_leads_each_role_to_its_view(admin, desk):
    assert (await admin.get("/")).headers["Location"] == "/admin"
    assert (await desk.get("/")).headers["Location"] == "/desk"


async def test_every_change_without_the_csrf_token_is_refused(console, admin):
    for method, path, roles in routes(console.app):
        if method != "POST" or roles == {"*"}:
            continue
        missing = await admin.post(path, {"resolution": "x"}, csrf=False)
        wrong = await admin.post(path, {"csrf_token": "forged", "resolution": "x"}, csrf=False)
        for response in (missing, wrong):
            assert response.status == 403, path
            assert "CSRF" in await response.text()


async def test_the_csrf_token_may_come_in_a_header(admin, redis_client):
    response = await admin.post(
        "/requests/new",
        {"customer": "nobody", "summary": "x"},
        csrf=False,
        headers={"X-CSRF-Token": admin.csrf, "Accept": "application/json"},
    )
    assert response.status == 422  # past the guard: there is no such customer
    assert "no customer 'nobody'" in (await response.json())["error"]


async def test_a_change_from_another_origin_is_refused(admin):
    response = await admin.post(
        "/requests/7/cancel", {"note": "x"}, headers={"Origin": "http://evil.example"}
    )
    assert response.status == 403
    assert "another origin" in await response.text()


async def test_the_log_in_form_has_its_own_csrf_token(anonymous):
    await anonymous.page("/login")
    response = await anonymous.post(
        "/login", {"csrf_token": "forged", "user": "ada", "password": PASSWORDS["ada"]}, csrf=False
    )
    assert response.status == 403


async def test_wrong_password_and_unknown_user_get_the_same_answer(anonymous):
    wrong = await anonymous.log_in("ada", "not the password")
    unknown = await anonymous.log_in("nobody", "not the password")
    assert wrong.status == unknown.status == 401
    assert "Wrong user name or password." in await wrong.text()
    assert "Wrong user name or password." in await unknown.text()
    assert "winet_session" not in wrong.cookies and "winet_session" not in unknown.cookies


async def test_the_session_cookie_is_httponly_and_samesite_strict(console):
    browser = await console.client()
    response = await browser.log_in("ada")
    cookie = response.cookies["winet_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    assert not cookie["secure"]  # plain HTTP on loopback by default


async def test_secure_cookies_when_asked(console, settings):
    app = create_app(settings, console.redis, console.clock, secure_cookies=True)
    async with TestClient(TestServer(app), cookie_jar=CookieJar(unsafe=True)) as client:
        form = await client.get("/login")
        assert form.cookies["winet_login"]["secure"] is True
        token = CSRF_FIELD.search(await form.text()).group(1)
        response = await client.post(
            "/login",
            data={"csrf_token": token, "user": "ada", "password": PASSWORDS["ada"]},
            headers={"Cookie": f"winet_login={token}"},  # a browser sends it over HTTPS only
            allow_redirects=False,
        )
        assert response.status == 303
        assert response.cookies["winet_session"]["secure"] is True


async def test_failed_log_ins_are_throttled_per_user_name_and_address(console, anonymous):
    for _ in range(users.MAX_FAILURES_PER_PAIR):
        assert (await anonymous.log_in("ada", "guess")).status == 401
    blocked = await anonymous.log_in("ada")  # even the right password is not checked now
    assert blocked.status == 429
    assert "try again in 15 minutes" in await blocked.text()
    assert 0 < int(blocked.headers["Retry-After"]) <= 15 * 60
    other = await console.client()
    assert (await other.log_in("dan")).status == 303  # another user is not affected
    console.clock.advance(minutes=15, seconds=1)
    assert (await anonymous.log_in("ada")).status == 303


async def test_failed_log_ins_are_throttled_per_client_address(anonymous):
    for number in range(users.MAX_FAILURES_PER_ADDRESS):
        assert (await anonymous.log_in(f"guess{number}", "guess")).status == 401
    assert (await anonymous.log_in("dan")).status == 429


async def test_a_distributed_guess_never_locks_out_the_users_own_browser(console, anonymous):
    assert (await anonymous.log_in("ada")).status == 303  # this browser is now known
    assert (await anonymous.post("/logout", {})).status == 303
    for number in range(users.MAX_FAILURES_PER_USER):
        await users.record_login_failure(console.redis, "ada", f"10.0.2.{number}", console.clock())
    stranger = await console.client()
    assert (await stranger.log_in("ada")).status == 429
    assert (await anonymous.log_in("ada")).status == 303


async def test_a_successful_log_in_restarts_the_count_of_its_address(console, anonymous):
    for _ in range(users.MAX_FAILURES_PER_PAIR - 1):
        await anonymous.log_in("ada", "guess")
    assert (await anonymous.log_in("ada")).status == 303
    other = await console.client()
    for _ in range(users.MAX_FAILURES_PER_PAIR - 1):
        assert (await other.log_in("ada", "guess")).status == 401
    assert (await other.log_in("ada")).status == 303


async def test_log_out_ends_the_session_on_the_server(console, admin):
    token = admin.client.session.cookie_jar.filter_cookies(admin.client.make_url("/"))[
        "winet_session"
    ].value
    response = await admin.post("/logout", {})
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert await users.get_session(console.redis, token, now=console.clock()) is None
    assert (await admin.get("/admin")).status == 303


async def test_removing_a_user_ends_its_sessions(console, desk):
    await users.remove_user(console.redis, "dan")
    response = await desk.get("/desk")
    assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_no_session_outlives_its_lifetime(console, admin):
    console.clock.advance(seconds=users.SESSION_LIFETIME.total_seconds() + 1)
    assert (await admin.get("/admin")).status == 303


async def test_log_in_returns_to_the_page_asked_for_but_never_to_another_site(anonymous, console):
    await anonymous.page("/login")
    form = await anonymous.page("/login?next=/admin/calls")
    token = CSRF_FIELD.search(form).group(1)
    assert 'name="next" value="/admin/calls"' in form
    response = await anonymous.post(
        "/login",
        {"csrf_token": token, "user": "ada", "password": PASSWORDS["ada"], "next": "/admin/calls"},
        csrf=False,
    )
    assert response.headers["Location"] == "/admin/calls"
    other = await console.client()
    form = await other.page("/login")
    token = CSRF_FIELD.search(form).group(1)
    response = await other.post(
        "/login",
        {
            "csrf_token": token,
            "user": "ada",
            "password": PASSWORDS["ada"],
            "next": "//evil.example",
        },
        csrf=False,
    )
    assert response.headers["Location"] == "/admin"


@pytest.mark.parametrize(
    ("who", "path"), [("anonymous", "/login"), ("admin", "/admin"), ("admin", "/static/style.css")]
)
async def test_every_response_carries_the_security_headers(anonymous, admin, who, path):
    response = await {"anonymous": anonymous, "admin": admin}[who].get(path)
    assert response.status == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


async def test_pages_are_not_cached(admin):
    response = await admin.get("/admin")
    assert response.headers["Cache-Control"] == "no-store"


async def test_the_session_idle_timeout_is_set_in_redis(console, admin, redis_client):
    keys = [k async for k in redis_client.scan_iter("winet:web:session:*")]
    assert len(keys) == 1
    ttl = await redis_client.ttl(keys[0])
    assert users.SESSION_IDLE - timedelta(seconds=5) <= timedelta(seconds=ttl) <= users.SESSION_IDLE


async def test_an_error_page_links_back_only_to_this_console(console, admin):
    here = str(admin.client.make_url("/admin/customers?q=x"))
    for referer, back in [
        (here, "/admin/customers?q=x"),
        ("javascript:alert(1)", "/"),
        ("http://evil.example/x", "/"),
    ]:
        response = await admin.get("/admin/customers/nobody", headers={"Referer": referer})
        assert response.status == 404
        assert f'<a href="{back}">Back</a>' in (await response.text()).replace("&amp;", "&")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"user=ad\xffa&password=x"),
        ("application/x-www-form-urlencoded; charset=klingon", b"user=ada"),
        ("multipart/form-data; boundary=zzz", b"--zzz\r\nbroken"),
    ],
)
async def test_a_log_in_form_that_cannot_be_parsed_is_a_400(anonymous, content_type, body):
    await anonymous.page("/login")
    response = await anonymous.post("/login", body, headers={"Content-Type": content_type})
    assert response.status == 400


async def test_a_log_in_body_is_bounded_before_it_is_read(anonymous):
    response = await anonymous.post("/login", {"password": "x" * 100_000}, csrf=False)
    assert response.status == 413
