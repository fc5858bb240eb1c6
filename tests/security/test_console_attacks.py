"""Attacks on the real console (`ivr web serve`) over HTTP, from several client addresses:
redirects, log-in throttling, bodies and forms that cannot be parsed, and what holds today
(access control, CSRF, cookies, headers). Each must end in a clear 4xx, never a 500 or a
dropped connection.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from yarl import URL

from ivr.store import users
from tests.e2e.test_web_console import PASSWORDS

pytestmark = pytest.mark.e2e

EVIL_NEXT = "%2F%09%2Fevil.example"  # "/\t/evil.example": browsers drop the tab: //evil.example


def log_of(console) -> str:
    return Path(console.log).read_text(errors="replace")


async def test_a_next_with_a_tab_never_leaves_the_site(visitor):
    ada = await visitor()
    form = await ada.get(f"/login?next={EVIL_NEXT}")
    assert "evil.example" not in await form.text()  # not carried into the hidden field
    token = await ada.login_token()
    posted = await ada.post(
        "/login",
        {
            "csrf_token": token,
            "user": "ada",
            "password": PASSWORDS["ada"],
            "next": "/\t/evil.example",
        },
        csrf=False,
    )
    assert posted.status == 303 and posted.headers["Location"] == "/admin"
    # logged in, the log-in page sends on to `next` at once
    again = await ada.get(URL(f"/login?next={EVIL_NEXT}", encoded=True))
    assert again.status == 303 and again.headers["Location"] == "/admin"
    fine = await ada.get("/login?next=/admin/calls")
    assert fine.headers["Location"] == "/admin/calls"


@pytest.mark.parametrize("target", ["%2F%0D%0ASet-Cookie:%20x=1", "%2Fa%00b", "%2F%1B%5B31m"])
async def test_control_characters_in_next_get_an_answer_not_a_dropped_connection(visitor, target):
    ada = await visitor()
    assert (await ada.log_in("ada")).status == 303
    response = await ada.get(URL(f"/login?next={target}", encoded=True))
    assert response.status == 303 and response.headers["Location"] == "/admin"
    assert "x" not in response.cookies


async def test_wrong_passwords_from_one_address_never_lock_the_admin_out_elsewhere(visitor):
    attacker = await visitor("127.0.0.2")
    for _ in range(users.MAX_FAILURES_PER_PAIR):
        assert (await attacker.log_in("ada", "guess")).status == 401
    assert (await attacker.log_in("ada")).status == 429  # that address is throttled
    admin = await visitor("127.0.0.3")
    assert (await admin.log_in("ada")).status == 303


async def test_a_distributed_guess_never_locks_out_the_admins_own_browser(visitor):
    admin = await visitor("127.0.0.3")
    assert (await admin.log_in("ada")).status == 303
    assert (await admin.post("/logout", {})).status == 303
    for machine in range(4):  # 4 x 5 failures: the user name's limit across addresses
        attacker = await visitor(f"127.0.1.{machine + 1}")
        for _ in range(users.MAX_FAILURES_PER_PAIR):
            assert (await attacker.log_in("ada", "guess")).status == 401
    stranger = await visitor("127.0.0.4")
    assert (await stranger.log_in("ada")).status == 429  # a new browser must wait
    assert (await admin.log_in("ada")).status == 303  # the admin's own browser gets in


async def test_a_huge_password_is_refused_before_it_is_read(console, visitor):
    stranger = await visitor()
    token = await stranger.login_token()
    before = _peak_memory_kb(console.process.pid)
    response = await stranger.post(
        "/login",
        {"csrf_token": token, "user": "ada", "password": "x" * 30_000_000},
        csrf=False,
    )
    assert response.status == 413
    assert "larger than" in await response.text()
    assert _peak_memory_kb(console.process.pid) - before < 20_000


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("application/x-www-form-urlencoded", b"user=ad\xffa&password=x", "charset"),
        ("application/x-www-form-urlencoded; charset=klingon", b"user=ada", "charset"),
        ("multipart/form-data; boundary=zzz", b"--zzz\r\nbroken", "cannot be read"),
        ("multipart/form-data", b"--zzz\r\n\r\n", "cannot be read"),
    ],
)
async def test_malformed_log_in_forms_get_a_400(console, visitor, content_type, body, reason):
    stranger = await visitor()
    await stranger.login_token()  # the log-in cookie, so the form gets as far as parsing
    response = await stranger.post("/login", body, headers={"Content-Type": content_type})
    assert response.status == 400, await response.text()
    assert reason in await response.text()
    assert "Traceback" not in log_of(console)


async def test_raw_control_characters_in_the_request_line_get_a_400(console):
    reply = await asyncio.to_thread(
        _raw_request, console.port, b"GET /login?next=/\x01\x7f HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    status_line = reply.split(b"\r\n", 1)[0]
    assert status_line.split()[1] == b"400", reply


async def test_deeply_nested_toml_is_a_problem_not_a_crash(console, visitor):
    ada = await visitor()
    assert (await ada.log_in("ada")).status == 303
    nested = "x = " + "[" * 50_000 + "]" * 50_000 + "\n"
    response = await ada.post(
        "/admin/tables/edit/hotline.toml", {"text": nested, "action": "check", "comment": ""}
    )
    assert response.status == 422
    assert "nested too deeply" in await response.text()
    assert "Traceback" not in log_of(console) and "RecursionError" not in log_of(console)


async def test_bodies_of_logged_in_users_are_bounded_too(visitor):
    ada = await visitor()
    assert (await ada.log_in("ada")).status == 303
    response = await ada.post(
        "/admin/tables/edit/hotline.toml", {"text": "#" * 6_000_000, "action": "check"}
    )
    assert response.status == 413


async def test_access_control_csrf_and_headers_hold(visitor):
    """What held in the first test of the console, so that it keeps holding."""
    stranger = await visitor()
    page = await stranger.get("/admin/customers")
    assert page.status == 303 and page.headers["Location"].startswith("/login?next=")
    assert (await stranger.post("/admin/tables/edit/hotline.toml", {"text": ""})).status == 401
    dan = await visitor()
    assert (await dan.log_in("dan")).status == 303
    assert (await dan.get("/admin/customers")).status == 403
    ada = await visitor()
    response = await ada.log_in("ada")
    cookie = response.cookies["winet_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    no_token = await ada.post("/admin/customers/new", {"id": "x"}, csrf=False)
    assert no_token.status == 403
    foreign = await ada.post("/admin/customers/new", {"id": "x"}, headers={"Origin": "http://e.x"})
    assert foreign.status == 403
    headers = (await ada.get("/admin")).headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert (await ada.get("/admin/customers/%3Cscript%3E")).status == 404


def _raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(request)
        return connection.recv(4096)


def _peak_memory_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/PID/status")
