"""The ARI client, call object and Stasis app against the real Asterisk.

Calls come from a "far" client in a Stasis app of its own: it originates
`Local/stasis-winet-test-ari@ari-test/n`, whose `;2` half enters our app exactly like a SIP
caller (unanswered, then answered by us), while the far client holds the `;1` half and can send
DTMF into the call or hang it up. The helper extensions are added to the running dialplan at
start (`dialplan add extension`), so they survive neither a dialplan reload nor a restart.

Run with the e2e lock: `flock /tmp/winet-e2e.lock .venv/bin/pytest tests/e2e/test_ari_client.py`.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ivr.ari import AriClient, Call, CallerHungUp, DialFailed, NotFound, PlaybackReport, StasisApp
from ivr.ari.app import abandon
from ivr.ari.client import in_stasis_app
from ivr.config import REPO_DIR, Settings
from ivr.stack import asterisk
from ivr.stack.launcher import start_components
from tests.harness.proxy import CuttableProxy

pytestmark = pytest.mark.e2e

APP = "winet-test-ari"
FAR_APP = "winet-test-ari-far"
CALLER_NUMBER = "+41441234567"
TEST_EXTENSIONS = (
    "ring,1,Ringing()",
    "ring,2,Wait(60)",
    "busy,1,Busy(5)",
    "declined,1,Hangup(21)",
    f"_stasis-.,1,Stasis(${{EXTEN:{len('stasis-')}}})",
)
LONG_SOUND = "sound:demo-instruct"  # about 70 s
RECONNECT_LIMIT = 5.0


def add_test_extensions(settings: Settings) -> None:
    for extension in TEST_EXTENSIONS:
        asterisk.cli(settings, f"dialplan add extension {extension} into ari-test replace")


@pytest.fixture(scope="module")
def settings() -> Settings:
    settings = Settings.from_env()
    if asterisk.ari_problem(settings):
        start_components(settings, ("asterisk",))
    add_test_extensions(settings)
    return settings


class Harness:
    """Our StasisApp under test, the far end that places calls, and the leftover check."""

    def __init__(self, settings: Settings, far: AriClient) -> None:
        self.settings = settings
        self.far = far
        self.apps: list[StasisApp] = []
        self.reports: list[PlaybackReport] = []
        self.far_events: dict[str, list[dict[str, Any]]] = {}

    def client(self, app: str = APP, base_url: str | None = None) -> AriClient:
        url = base_url or self.settings.ari_url
        return AriClient(url, self.settings.ari_user, self.settings.ari_password, app)

    async def start_app(
        self,
        handler: Callable[[Call], Awaitable[None]],
        *,
        base_url: str | None = None,
        on_orphan: Callable[[Call], Awaitable[None]] = abandon,
    ) -> StasisApp:
        client = self.client(base_url=base_url)
        app = StasisApp(client, handler, on_orphan=on_orphan, on_playback=self.reports.append)
        self.apps.append(app)
        await app.start()
        return app

    async def place_call(self, extension: str = f"stasis-{APP}") -> str:
        """Originate into `extension`; the id of the far end, which answers when we answer."""
        phone_id = str(uuid.uuid4())
        events = self.far_events[phone_id] = []
        self.far.watch(phone_id, events.append)
        await self.far.request(
            "POST",
            "/channels",
            params={
                "endpoint": f"Local/{extension}@ari-test/n",
                "app": FAR_APP,
                "channelId": phone_id,
                "otherChannelId": phone_id + "-caller",
                "callerId": f"Test Caller <{CALLER_NUMBER}>",
                "timeout": 30,
            },
        )
        return phone_id

    async def far_answered(self, phone_id: str, within: float = 5.0) -> None:
        await self._far_event(phone_id, "StasisStart", within)

    async def far_hung_up(self, phone_id: str, within: float = 5.0) -> None:
        await self._far_event(phone_id, "ChannelDestroyed", within)

    async def send_dtmf(self, phone_id: str, digits: str) -> None:
        params = {"dtmf": digits, "between": 100, "duration": 100}
        await self.far.request("POST", f"/channels/{phone_id}/dtmf", params=params)

    async def hang_up_far(self, phone_id: str) -> None:
        try:
            await self.far.request("DELETE", f"/channels/{phone_id}")
        except NotFound:
            pass

    async def _far_event(self, phone_id: str, kind: str, within: float) -> None:
        events = self.far_events[phone_id]
        await until(lambda: any(e["type"] == kind for e in events), within)

    async def leftovers(self) -> list[str]:
        """Channels of our two apps, or Local channels into ari-test, still alive."""
        channels = await self.far.request("GET", "/channels")
        return [
            channel["name"]
            for channel in channels
            if in_stasis_app(channel, APP)
            or in_stasis_app(channel, FAR_APP)
            or "@ari-test" in channel["name"]
        ]


@pytest.fixture
async def ari(settings: Settings) -> AsyncIterator[Harness]:
    far = AriClient(settings.ari_url, settings.ari_user, settings.ari_password, FAR_APP)
    await far.connect()
    harness = Harness(settings, far)
    bridges_before = {b["id"] for b in await far.request("GET", "/bridges")}
    try:
        yield harness
    finally:
        for app in harness.apps:
            await app.stop()
        for phone_id in harness.far_events:
            await harness.hang_up_far(phone_id)
        left = await eventually_empty(harness.leftovers)

        async def new_bridges() -> list[str]:
            return sorted({b["id"] for b in await far.request("GET", "/bridges")} - bridges_before)

        bridges = await eventually_empty(new_bridges)
        await far.close()
    assert left == [], f"channels left behind: {left}"
    assert bridges == [], f"bridges left behind: {bridges}"


async def eventually_empty(
    probe: Callable[[], Awaitable[list[str]]], within: float = 2.0
) -> list[str]:
    """What `probe` finds once it finds nothing, or at the deadline: a hang-up that was
    asked for completes a moment after the request returns."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    found = await probe()
    while found and loop.time() < deadline:
        await asyncio.sleep(0.05)
        found = await probe()
    return found


async def until(condition: Callable[[], Any], within: float = 5.0) -> None:
    """Poll state that has no event to wait on (what the far end saw, what a handler did)."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def gone(client: AriClient, *resources: str) -> bool:
    """Our hang-up returns at StasisEnd; Asterisk destroys the channel a moment later."""

    async def still_there() -> list[str]:
        return [resource for resource in resources if await _exists(client, resource)]

    return await eventually_empty(still_there, within=5.0) == []


async def _exists(client: AriClient, resource: str) -> bool:
    try:
        await client.request("GET", resource)
    except NotFound:
        return False
    return True


# -- verbs -------------------------------------------------------------------------------------


async def test_answer_play_and_hang_up_a_call(ari):
    seen: dict[str, Any] = {}

    async def handler(call: Call) -> None:
        seen["caller"] = (call.caller_number, call.caller_name, call.dialed_extension)
        await call.answer()
        seen["interrupt"] = await call.play("sound:beep", "sound:hello-world")
        await call.set_variable("WINET_TEST", "yes")
        variable = await ari.far.request(
            "GET", f"/channels/{call.channel_id}/variable", params={"variable": "WINET_TEST"}
        )
        seen["variable"] = variable["value"]
        await call.hangup()
        seen["ended"] = call.ended

    await ari.start_app(handler)
    phone = await ari.place_call()
    await ari.far_answered(phone)
    await ari.far_hung_up(phone, within=10.0)
    await until(lambda: "ended" in seen)
    assert seen["caller"] == (CALLER_NUMBER, "Test Caller", f"stasis-{APP}")
    assert seen["interrupt"] is None
    assert seen["variable"] == "yes"
    assert seen["ended"] is True
    [report] = ari.reports
    assert report.outcome == "done"
    assert report.started == ("sound:beep", "sound:hello-world")


async def test_originating_into_our_app_gives_the_handler_a_call(ari):
    handled = asyncio.get_running_loop().create_future()

    async def handler(call: Call) -> None:
        await call.answer()
        await call.play("sound:beep")
        await call.hangup()
        handled.set_result(call.channel_id)

    await ari.start_app(handler)
    channel_id = str(uuid.uuid4())
    await ari.far.request(
        "POST",
        "/channels",
        params={"endpoint": "Local/answer@ari-test", "app": APP, "channelId": channel_id},
    )
    assert await asyncio.wait_for(handled, 5.0) == channel_id
    assert ari.reports[0].outcome == "done"
    assert await gone(ari.far, f"/channels/{channel_id}")


async def test_collect_digits_hears_keys_pressed_during_the_prompt(ari):
    result = asyncio.get_running_loop().create_future()

    async def handler(call: Call) -> None:
        await call.answer()
        digits = await call.collect_digits(
            max_digits=6,
            first_digit_timeout=5.0,
            inter_digit_timeout=2.0,
            prompt=(LONG_SOUND,),
        )
        result.set_result(digits)

    await ari.start_app(handler)
    phone = await ari.place_call()
    await ari.far_answered(phone)
    await asyncio.sleep(0.3)
    await ari.send_dtmf(phone, "4711#")
    assert await asyncio.wait_for(result, 10.0) == "4711"
    [report] = ari.reports
    assert (report.outcome, report.digit) == ("interrupted", "4")


async def test_play_stops_on_an_interrupt_key_only(ari):
    result = asyncio.get_running_loop().create_future()

    async def handler(call: Call) -> None:
        await call.answer()
        result.set_result(await call.play(LONG_SOUND, "sound:beep", interrupt_keys="12"))

    await ari.start_app(handler)
    phone = await ari.place_call()
    await ari.far_answered(phone)
    await ari.send_dtmf(phone, "92")
    assert await asyncio.wait_for(result, 10.0) == "2"
    assert ari.reports[0].started == (LONG_SOUND,)


async def test_caller_hanging_up_during_play_raises_caller_hung_up(ari):
    raised = asyncio.get_running_loop().create_future()

    async def handler(call: Call) -> None:
        await call.answer()
        try:
            await call.play(LONG_SOUND)
        except CallerHungUp as error:
            raised.set_result(error)

    await ari.start_app(handler)
    phone = await ari.place_call()
    await ari.far_answered(phone)
    await ari.hang_up_far(phone)
    error = await asyncio.wait_for(raised, 5.0)
    assert error.channel_id == phone + "-caller"
    assert "hung up" in str(error) and phone in str(error)
    assert ari.reports[0].outcome == "hung_up"


async def test_dial_a_second_leg_and_bridge_it(ari):
    seen: dict[str, Any] = {}

    async def handler(call: Call) -> None:
        await call.answer()
        await call.hold()
        leg = await call.dial("Local/answer@ari-test", timeout=5, variables={"WINET_LEG": "1"})
        seen["leg"] = leg.channel_id
        bridge = await call.bridge(leg)
        seen["bridge"] = bridge.bridge_id
        described = await ari.far.request("GET", f"/bridges/{bridge.bridge_id}")
        seen["bridged"] = set(described["channels"])
        seen["hung_up"] = await bridge.wait_hangup()
        seen["caller"] = call

    await ari.start_app(handler)
    phone = await ari.place_call()
    await ari.far_answered(phone)
    await until(lambda: "bridged" in seen)
    assert seen["bridged"] == {phone + "-caller", seen["leg"]}
    await ari.hang_up_far(phone)
    await until(lambda: "hung_up" in seen)
    assert seen["hung_up"] is seen["caller"]
    await until(lambda: not ari.apps[0].active_calls)
    assert await gone(ari.far, f"/channels/{seen['leg']}", f"/bridges/{seen['bridge']}")


@pytest.mark.parametrize(
    ("extension", "reason"),
    [("ring", "no_answer"), ("busy", "busy"), ("declined", "declined")],
)
async def test_dial_failures_carry_their_reason(ari, extension, reason):
    failure = asyncio.get_running_loop().create_future()

    async def handler(call: Call) -> None:
        await call.answer()
        await call.ring()
        started = asyncio.get_running_loop().time()
        try:
            await call.dial(f"Local/{extension}@ari-test", timeout=2)
        except DialFailed as error:
            failure.set_result((error, asyncio.get_running_loop().time() - started))

    await ari.start_app(handler)
    phone = await ari.place_call()
    error, elapsed = await asyncio.wait_for(failure, 10.0)
    assert error.reason == reason
    assert elapsed < 3.5
    if reason == "no_answer":
        assert elapsed > 1.8
    await ari.hang_up_far(phone)


async def test_dial_to_an_unknown_endpoint_is_unreachable(ari):
    failure = asyncio.get_running_loop().create_future()

    async def handler(call: Call) -> None:
        await call.answer()
        try:
            await call.dial("PJSIP/no-such-endpoint", timeout=2)
        except DialFailed as error:
            failure.set_result(error)

    await ari.start_app(handler)
    await ari.place_call()
    assert (await asyncio.wait_for(failure, 5.0)).reason == "unreachable"


async def test_caller_hanging_up_while_a_leg_rings_hangs_the_leg_up(ari):
    raised = asyncio.get_running_loop().create_future()

    async def handler(call: Call) -> None:
        await call.answer()
        try:
            await call.dial("Local/ring@ari-test", timeout=30)
        except CallerHungUp as error:
            raised.set_result(error)

    await ari.start_app(handler)
    phone = await ari.place_call()
    await ari.far_answered(phone)
    await asyncio.sleep(0.5)
    await ari.hang_up_far(phone)
    await asyncio.wait_for(raised, 5.0)
    await until(lambda: not ari.apps[0].active_calls)

    async def ringing_legs() -> list[str]:
        channels = await ari.far.request("GET", "/channels")
        return [c["name"] for c in channels if c["name"].startswith("Local/ring@ari-test")]

    assert await eventually_empty(ringing_legs) == []


async def test_continue_in_dialplan_leaves_the_app_without_hanging_up(ari):
    seen: dict[str, Any] = {}

    async def handler(call: Call) -> None:
        await call.answer()
        await call.continue_in_dialplan("ari-test", "answer")
        seen["ended"] = call.ended
        seen["id"] = call.channel_id

    await ari.start_app(handler)
    phone = await ari.place_call()
    await until(lambda: "ended" in seen)
    await until(lambda: not ari.apps[0].active_calls)
    channel = await ari.far.request("GET", f"/channels/{seen['id']}")
    assert seen["ended"] is True
    assert channel["dialplan"]["exten"] == "answer"  # alive, in the dialplan, not in our app
    await ari.hang_up_far(phone)


# -- connection faults -------------------------------------------------------------------------


async def test_websocket_drop_reconnects_fast_and_calls_survive(ari, settings):
    proxy = CuttableProxy(int(settings.ari_url.split(":")[2].split("/")[0]))
    await proxy.start()
    digits = asyncio.get_running_loop().create_future()
    handled: list[str] = []

    async def handler(call: Call) -> None:
        handled.append(call.channel_id)
        await call.answer()
        if len(handled) == 1:
            digits.set_result(
                await call.collect_digits(
                    max_digits=3, first_digit_timeout=15.0, inter_digit_timeout=3.0
                )
            )
        else:
            await call.play("sound:beep")

    try:
        app = await ari.start_app(handler, base_url=f"http://127.0.0.1:{proxy.port}/ari")
        phone = await ari.place_call()
        await ari.far_answered(phone)
        proxy.cut()
        started = asyncio.get_running_loop().time()
        await until(lambda: not app.client.connected, 2.0)
        await app.client.wait_connected(within=RECONNECT_LIMIT)
        reconnect = asyncio.get_running_loop().time() - started
        print(f"\nwebsocket drop: reconnected in {reconnect:.2f} s")
        assert reconnect < RECONNECT_LIMIT
        await asyncio.sleep(0.3)  # let the resync settle
        await ari.send_dtmf(phone, "123")
        assert await asyncio.wait_for(digits, 5.0) == "123"  # the call survived the drop
        await ari.place_call()
        await until(lambda: len(handled) == 2)
    finally:
        await proxy.close()


async def test_asterisk_restart_reconnects_fast_and_the_next_call_works(ari, settings):
    outcomes: list[str] = []

    async def handler(call: Call) -> None:
        await call.answer()
        try:
            await call.play(LONG_SOUND)
            outcomes.append("played")
        except CallerHungUp:
            outcomes.append("hung up")

    app = await ari.start_app(handler)
    await ari.far_answered(await ari.place_call())
    restart_began = asyncio.get_running_loop().time()
    restart = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ivr", "stack", "restart", "asterisk"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
    )
    assert restart.returncode == 0, restart.stderr
    ari_back = asyncio.get_running_loop().time()
    await app.client.wait_connected(within=RECONNECT_LIMIT)
    reconnect = asyncio.get_running_loop().time() - ari_back
    whole = asyncio.get_running_loop().time() - restart_began
    print(f"\nAsterisk restart: reconnected {reconnect:.2f} s after ARI answered again")
    print(f"(stop, start and reconnect took {whole:.2f} s in all)")
    assert reconnect < RECONNECT_LIMIT
    await until(lambda: outcomes == ["hung up"])  # the call in progress died with Asterisk
    await asyncio.to_thread(add_test_extensions, settings)
    await ari.far.wait_connected(within=RECONNECT_LIMIT)
    await ari.far_answered(await ari.place_call())
    await until(lambda: app.active_calls == 1)
