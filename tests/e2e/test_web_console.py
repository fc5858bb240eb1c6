"""The console in a real browser (headless Chromium through Playwright) against `ivr web serve`
in a subprocess and the test Redis: an admin imports customers, changes a window, sees the
simulator's decision change and rolls back; a desk agent sees a caller ID name with a script
tag as text. Screenshots of both views go to artifacts/screenshots/ (the README shows
copies of them from docs/screenshots/).

These tests use no SIP phone nor the shared ports; the one with a real call is
test_web_desk_call.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    async_playwright,
    expect,
)

from ivr import store
from ivr.config import REPO_DIR, Settings
from ivr.routing import load_tables
from ivr.store.tables import publish_tables
from tests.unit.web.records import SCRIPT_NAME, record_notice_call

SCREENSHOTS = REPO_DIR / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Saturday 28 Nov 2026 in Zurich: pro does not cover Saturdays.
SATURDAY_NIGHT = "2026-11-28T22:14:00+01:00"
PASSWORDS = {"ada": "ada's long password", "dan": "dan's long password"}
START_SECONDS = 15.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class ConsoleServer:
    """`ivr web serve` in a subprocess; users are added with `ivr users add`."""

    redis_url: str
    work_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.work_dir / "web.log"

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "IVR_REDIS_URL": self.redis_url,
            "IVR_WEB_PORT": str(self.port),
            **self.env,
        }

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ivr", "web", "serve"],
                env=self.environment(),
                cwd=REPO_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=1):
                    return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"ivr web serve did not start:\n{self.log.read_text()}")
                time.sleep(0.1)

    def add_user(self, name: str, role: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "ivr", "users", "add", name, "--role", role, "--password-stdin"],
            input=PASSWORDS[name] + "\n",
            text=True,
            env=self.environment(),
            cwd=REPO_DIR,
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Tab:
    """A browser page, with what it showed that nobody asked for."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def log_in(self, base: str, user: str) -> None:
        await self.page.goto(base + "/login")
        await self.page.fill("input[name=user]", user)
        await self.page.fill("input[name=password]", PASSWORDS[user])
        await self.page.click("button:has-text('Log in')")
        await self.page.wait_for_load_state()


async def open_tab(browser: Browser) -> Tab:
    page = await browser.new_page(viewport={"width": 1360, "height": 900})
    tab = Tab(page)

    async def on_dialog(dialog: Dialog) -> None:
        tab.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.accept()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: tab.errors.append(str(error)))
    page.on("console", lambda message: _console_error(tab, message))
    return tab


def _console_error(tab: Tab, message: ConsoleMessage) -> None:
    """Script errors and refused content (CSP); a page answered with 4xx on purpose is not."""
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        tab.errors.append(message.text)


@asynccontextmanager
async def headless_chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium, driven by Playwright (which cannot download its own here)."""
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    async with headless_chromium() as chromium:
        yield chromium


@pytest.fixture
def console_server(redis_server, redis_client, tmp_path) -> Iterator[ConsoleServer]:
    """The console on a free port with its clock at Saturday night, users ada and dan."""
    server = ConsoleServer(
        redis_server.url,
        tmp_path,
        {
            "IVR_STATE_DIR": str(tmp_path / "state"),
            "IVR_ALLOW_FAKE_CLOCK": "1",
            "IVR_NOW": SATURDAY_NIGHT,
            "IVR_LOG_LEVEL": "INFO",
        },
    )
    server.add_user("ada", "admin")
    server.add_user("dan", "desk")
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def redis(redis_server):
    client = store.connect(Settings.from_env({"IVR_REDIS_URL": redis_server.url}))
    yield client
    await client.aclose()


def screenshot_path(name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / name


CUSTOMERS_WITH_A_MISTAKE = (
    "id,name,language,numbers,tier,free_units_per_month\n"
    "acme,ACME Holding AG,de,044 123 45 67,pro,2\n"
    "bank,Bank am See,fr,031 555 66 77,gold,x\n"
)
CUSTOMERS = CUSTOMERS_WITH_A_MISTAKE.replace("gold,x", "basic,0")
PRO_FRIDAY = 'covered.fri = ["07:00-19:00"]\n\n[[tier]]\nid = "basic-plus"'
PRO_FRIDAY_AND_SATURDAY = PRO_FRIDAY.replace("\n\n", '\ncovered.sat = ["07:00-19:00"]\n\n', 1)


async def upload_customers(tab: Tab, base: str, text: str) -> None:
    await tab.page.goto(base + "/admin/customers/import")
    await tab.page.set_input_files(
        "input[name=file]",
        files=[{"name": "customers.csv", "mimeType": "text/csv", "buffer": text.encode()}],
    )
    await tab.page.click("button:has-text('Import')")
    await tab.page.wait_for_load_state()


async def simulated_destination(tab: Tab, base: str) -> str:
    await tab.page.goto(base + "/admin/simulate")
    await ask_the_simulator(tab)
    await tab.page.click("button:has-text('Show the decision')")
    return await tab.page.inner_text(".decision-destination")


async def ask_the_simulator(tab: Tab) -> None:
    await tab.page.select_option("select[name=who]", "customer")
    await tab.page.fill("input[name=customer]", "acme")
    await tab.page.fill("input[name=at]", "2026-11-28T10:00")


async def test_admin_imports_changes_a_window_sees_the_decision_change_and_rolls_back(
    console_server, browser, redis
):
    base = console_server.url
    await publish_tables(redis, dict(load_tables(REPO_DIR / "routing").files), "setup", "initial")
    admin = await open_tab(browser)
    await admin.log_in(base, "ada")
    assert admin.page.url == base + "/admin"
    await admin.page.screenshot(path=screenshot_path("admin-overview.png"), full_page=True)

    # a CSV with a mistake imports nothing and says which row and column
    await upload_customers(admin, base, CUSTOMERS_WITH_A_MISTAKE)
    await expect(admin.page.locator(".report h2")).to_have_text("2 problems: nothing was imported")
    rows = await admin.page.locator("table.problems tbody tr").all_inner_texts()
    assert [row.split("\t")[:2] for row in rows] == [["3", "free_units_per_month"], ["3", "tier"]]
    await upload_customers(admin, base, CUSTOMERS)
    await expect(admin.page.locator(".report h2")).to_have_text("Imported 2 customers")
    await admin.page.goto(base + "/admin/customers")
    await expect(admin.page.locator("table.customers tbody tr")).to_have_count(2)
    await admin.page.screenshot(path=screenshot_path("admin-customers.png"), full_page=True)

    # Saturday 10:00: pro is not covered, so the cost notice and the desk
    assert await simulated_destination(admin, base) == "desk"

    # add Saturday to pro's windows, try it unsaved, then publish it
    await admin.page.goto(base + "/admin/tables")
    await admin.page.click("a[href='/admin/tables/edit/tiers.toml']")
    tiers = await admin.page.input_value("textarea[name=text]")
    assert PRO_FRIDAY in tiers
    await admin.page.fill("textarea[name=text]", tiers.replace(PRO_FRIDAY, PRO_FRIDAY_AND_SATURDAY))
    await ask_the_simulator(admin)
    await admin.page.click("button:has-text('Try this edit')")
    destinations = await admin.page.locator(".decision-destination").all_inner_texts()
    assert destinations == ["desk", "technician"]
    await admin.page.screenshot(path=screenshot_path("admin-try-an-edit.png"), full_page=True)
    await admin.page.fill("input[name=comment]", "pro covers Saturdays too")
    await admin.page.click("button:has-text('Publish')")
    await expect(admin.page.locator(".message")).to_contain_text("Published")
    assert await simulated_destination(admin, base) == "technician"

    # the history shows the change; rolling back restores the decision
    await admin.page.goto(base + "/admin/tables/versions/2")
    await expect(admin.page.locator("pre.diff .added")).to_have_text(
        '+covered.sat = ["07:00-19:00"]'
    )
    await admin.page.screenshot(path=screenshot_path("admin-tables-diff.png"), full_page=True)
    await admin.page.goto(base + "/admin/tables/history")
    await admin.page.click("button:has-text('Roll back to version 1')")
    await expect(admin.page.locator(".message")).to_contain_text("Rolled back")
    assert admin.dialogs == [
        "confirm: Make version 1 active again? It becomes a new version and takes effect "
        "on the next call."
    ]
    assert await simulated_destination(admin, base) == "desk"
    await admin.page.goto(base + "/admin/rota")
    await admin.page.screenshot(path=screenshot_path("admin-rota.png"), full_page=True)
    assert admin.errors == []


async def test_a_script_tag_caller_name_is_text_on_the_desk(console_server, browser, redis):
    base = console_server.url
    await record_notice_call(redis, "earlier", datetime.fromisoformat("2026-11-28T21:40:00+01:00"))
    await record_notice_call(
        redis,
        "unidentified",
        datetime.fromisoformat("2026-11-28T22:02:00+01:00"),
        customer=None,
        caller_number="+41227001122",
        caller_name="",
        consent=None,
    )
    desk = await open_tab(browser)
    await desk.log_in(base, "dan")
    assert desk.page.url == base + "/desk"
    await expect(desk.page.locator("#live-state")).to_have_text("live")

    # a new call arrives while the agent looks: through the live events
    arrived = time.monotonic()
    await record_notice_call(
        redis,
        "script-tag",
        datetime.fromisoformat("2026-11-28T22:14:00+01:00"),
        caller_name=SCRIPT_NAME,
    )
    card = desk.page.locator("[id='call-script-tag']")
    await expect(card.locator(".caller-name")).to_have_text(SCRIPT_NAME, timeout=2000)
    assert time.monotonic() - arrived < 2.0
    assert await card.locator("script").count() == 0
    await expect(card.locator(".consent")).to_contain_text("accepted, key 1")

    # the agent forwards the problem and records the outcome, without reloading
    forward = card.locator("form.forward button")
    await expect(forward).to_have_text("Forward to the technician on standby (Marco Bernasconi)")
    await card.locator("textarea[name=problem]").fill("No dial tone on the main line since 21:00")
    await forward.click()
    await expect(card.locator(".desk-outcome")).to_contain_text("callback request #1")
    await card.locator("select[name=outcome]").select_option("forwarded")
    await card.locator("input[name=note]").fill("customer will keep the line free")
    await card.locator("button:has-text('Record outcome')").click()
    await expect(card.locator(".desk-outcome")).to_contain_text("Forwarded to the technician")
    await desk.page.screenshot(path=screenshot_path("desk-view.png"), full_page=True)

    # rendered by the server on a reload: still text
    await desk.page.reload()
    await expect(card.locator(".caller-name")).to_have_text(SCRIPT_NAME)
    assert await desk.page.locator("script:not([src])").count() == 0
    assert desk.dialogs == [] and desk.errors == []

    # the admin sees the active request
    admin = await open_tab(browser)
    await admin.log_in(base, "ada")
    await admin.page.goto(base + "/admin/requests")
    await expect(admin.page.locator("table.active-requests tbody tr")).to_have_count(1)
    await expect(admin.page.locator("table.active-requests")).to_contain_text(
        "No dial tone on the main line since 21:00"
    )
    await admin.page.goto(base + "/admin/calls")
    await expect(admin.page.locator("table.calls")).to_contain_text(SCRIPT_NAME)
    assert admin.dialogs == []
