"""A real call on the notice path, seen on a desk agent's screen (issue 6).

SIPp calls the support number as a pro customer on Saturday morning (not covered), presses 1
during the cost notice, and the call goes to the xy AG desk phone. Meanwhile a desk agent is
logged in to `ivr web serve` in headless Chromium: the call must show there within one second
of each change of its record, with its tier and the caller's consent.

Uses the shared Asterisk and test phones: run under the e2e lock,
`flock /tmp/winet-e2e.lock .venv/bin/pytest tests/e2e/test_web_desk_call.py`.
"""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from playwright.async_api import expect

from ivr.store.calls import subscribe_calls
from tests.e2e.conftest import SATURDAY_MORNING, prompt_seconds
from tests.e2e.test_web_console import (
    ConsoleServer,
    headless_chromium,
    open_tab,
    screenshot_path,
)

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("worker", "clean_asterisk")]

PRO = "+41912345678"  # studio-lugano, pro, it: not covered on Saturday morning
WITHIN_SECONDS = 1.0


class RecordWatch:
    """When (monotonic, in this process) the call's record first showed each fact."""

    def __init__(self) -> None:
        self.seen: dict[str, float] = {}
        self.subscribed = asyncio.Event()

    async def follow(self, redis) -> None:
        async with subscribe_calls(redis) as changes:
            self.subscribed.set()
            async for change in changes:
                summary = change.summary
                if summary.get("caller_number") != PRO:
                    continue
                if summary.get("destination") == "desk":
                    self.seen.setdefault("routed to the desk", time.monotonic())
                if summary.get("consent") == "accepted":
                    self.seen.setdefault("consent", time.monotonic())


async def test_a_notice_call_shows_on_the_desk_within_a_second_with_tier_and_consent(
    worker, phones, sipp, redis, stack_settings, tmp_path
):
    server = ConsoleServer(
        stack_settings.redis_url,
        tmp_path,
        {"IVR_ALLOW_FAKE_CLOCK": "1", "IVR_NOW": SATURDAY_MORNING, "IVR_LOG_LEVEL": "INFO"},
    )
    server.add_user("dan", "desk")
    server.start()
    watch = RecordWatch()
    watcher = asyncio.create_task(watch.follow(redis))
    try:
        async with headless_chromium() as browser:
            await watch_a_notice_call(browser, server, watch, phones, sipp, stack_settings)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
        server.stop()


async def watch_a_notice_call(browser, server, watch, phones, sipp, stack_settings) -> None:
    desk = await open_tab(browser)
    await desk.log_in(server.url, "dan")
    await expect(desk.page.locator("#live-state")).to_have_text("live")
    await watch.subscribed.wait()
    await phones.configure("xy-desk", answer_after=0.5, hangup_after=3)
    during_notice = prompt_seconds(stack_settings, "de", "greeting") + 3.0

    call = asyncio.create_task(sipp(PRO, [(during_notice, "1")]))
    card = desk.page.locator("article.card", has_text="+41 91 234 56 78")
    await card.wait_for(timeout=30_000)
    shown = time.monotonic()
    await expect(card.locator(".tier")).to_have_text("winCall pro, 5x12h (pro)")
    await expect(card.locator(".covered")).to_have_text("no")
    await card.locator(".consent:has-text('accepted')").wait_for(timeout=30_000)
    consent_shown = time.monotonic()
    result = await call

    assert result.answered
    delays = (shown - watch.seen["routed to the desk"], consent_shown - watch.seen["consent"])
    print(f"\nrecord to screen: card {delays[0] * 1000:.0f} ms, consent {delays[1] * 1000:.0f} ms")
    assert max(delays) < WITHIN_SECONDS
    consent = await card.locator(".consent").inner_text()
    assert re.fullmatch(r"accepted, key 1, at 1\d:\d\d:\d\d", consent), consent  # clock runs on
    await expect(card.locator(".customer")).to_have_text("Studio Lugano Sagl (studio-lugano)")
    await expect(card.locator(".script")).to_contain_text(
        "The caller's contract (winCall pro, 5x12h) does not cover Saturday 1"
    )
    await expect(card.locator("form.forward button")).to_have_text(
        "Forward to the technician on standby (Marco Bernasconi)"
    )
    await expect(card.locator(".status")).to_contain_text("ended", timeout=15_000)
    await desk.page.screenshot(path=screenshot_path("desk-real-call.png"), full_page=True)
    assert desk.dialogs == [] and desk.errors == []
