"""Admins see a burst of failed PIN calls on the overview."""

from ivr.store import pins


async def test_a_burst_of_failed_pin_calls_shows_on_the_overview(console, admin):
    assert "pin-alert" not in await admin.page("/admin")
    for caller in range(pins.BURST_ALERT):
        await pins.record_failed_pin_call(
            console.redis, f"+4121555{caller:04d}", now=console.clock()
        )
    page = await admin.page("/admin")
    assert "pin-alert" in page
    assert f"{pins.BURST_ALERT} calls failed the PIN check in the last hour" in page
    console.clock.advance(hours=1, seconds=1)
    assert "pin-alert" not in await admin.page("/admin")
