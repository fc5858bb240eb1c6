"""The desk: one order for live calls and open requests, contact persons on the call card, and
desk agents logging in and out from the console (the ARI side faked: tests/e2e covers it)."""

import re
from datetime import timedelta

import pytest

from ivr.customers.model import Contact, Contract, Customer
from ivr.requests.model import NewRequest, Request
from ivr.routing import desk_priority
from ivr.store import requests
from ivr.store.customers import save_customer
from ivr.web.desk_cards import desk_card, desk_order
from ivr.web.desk_requests import requests_in_desk_order
from tests.unit.web.conftest import NOW
from tests.unit.web.records import default_tables, record_notice_call

TIERS = {"premium", "pro-plus", "pro", "basic-plus", "basic"}
# tier (None: unidentified caller), minutes after NOW the caller started waiting
WAITING = {
    "basic-early": ("basic", 0),
    "unidentified-early": (None, -5),
    "premium-late": ("premium", 9),
    "pro-early": ("pro", 1),
    "pro-late": ("pro", 4),
    "basic-plus": ("basic-plus", 6),
    "pro-plus": ("pro-plus", 8),
}
DESK_ORDER = [
    "premium-late",
    "pro-plus",
    "pro-early",
    "pro-late",
    "basic-plus",
    "basic-early",
    "unidentified-early",
]


def waiting_request(request_id: int, name: str):
    tier, minutes = WAITING[name]
    return Request(
        id=request_id,
        summary=name,
        source="desk",
        created_by="dan",
        created_at=NOW + timedelta(minutes=minutes),
        state="open",
        customer_id=None if tier is None else f"customer-{name}",
        tier=tier,
    )


def waiting_card(name: str):
    tier, minutes = WAITING[name]
    tables = default_tables()
    summary = {
        "call_id": name,
        "started_at": (NOW + timedelta(minutes=minutes)).isoformat(),
        "destination": "desk",
        "desk_priority": desk_priority(tables, tier),
    }
    return desk_card(summary, [], default_tables().hotline.zone)


def test_open_requests_and_live_calls_follow_the_same_order():
    found = [waiting_request(n, name) for n, name in enumerate(WAITING, start=1)]
    by_request = [r.summary for r in requests_in_desk_order(found, default_tables())]
    by_call = [c.call_id for c in sorted(map(waiting_card, WAITING), key=desk_order)]
    assert by_request == DESK_ORDER
    assert by_call == DESK_ORDER


def test_without_valid_tables_open_requests_are_in_waiting_order():
    found = [waiting_request(n, name) for n, name in enumerate(WAITING, start=1)]
    ordered = [r.summary for r in requests_in_desk_order(found, None)]
    assert ordered == sorted(WAITING, key=lambda name: WAITING[name][1])


async def test_the_desk_view_lists_open_requests_in_the_desks_order(console, desk):
    for name in ("basic-early", "unidentified-early", "premium-late"):
        tier, minutes = WAITING[name]
        new = NewRequest(
            summary=name,
            source="desk",
            created_by="dan",
            customer_id=None if tier is None else name,
            customer_name=None if tier is None else name.upper(),
            tier=tier,
        )
        await requests.create_request(console.redis, new, now=NOW + timedelta(minutes=minutes))

    page = await desk.page("/desk")

    listed = re.findall(r'<span class="problem">([^<]*)</span>', page)
    assert listed == ["premium-late", "basic-early", "unidentified-early"]
    assert "winCall premium" in page


async def test_the_call_card_shows_the_customers_contact_persons(console, desk):
    acme = Customer(
        id="acme",
        name="ACME Holding AG",
        language="de",
        numbers=("+41441234567",),
        contract=Contract("pro"),
        contacts=(
            Contact("Vera Keller", ("+41441234568", "+41791234567"), True),
            Contact("Urs Frei", ("+41441234569",), False),
        ),
    )
    await save_customer(console.redis, acme, pin_key=console.settings.pin_key, known_tiers=TIERS)
    await record_notice_call(console.redis, "desk-call", NOW)

    page = await desk.page("/desk")

    card = page[page.index('id="call-desk-call"') :]
    contacts = card[card.index('<dd class="contacts">') :]
    contacts = contacts[: contacts.index("</dd>")]
    assert "Vera Keller" in contacts and "+41 79 123 45 67" in contacts
    assert re.search(r"Vera Keller</td><td>[^<]*</td><td>yes</td>", contacts)
    assert re.search(r"Urs Frei</td><td>[^<]*</td><td>no</td>", contacts)


class FakeQueue:
    """The desk queue's members as ivr.ari.desk_queue would read and change them."""

    def __init__(self) -> None:
        self.members = ["xy-desk"]

    async def logged_in(self, client):
        return list(self.members)

    async def log_in(self, client, endpoint):
        self.members.append(endpoint)
        return list(self.members)

    async def log_out(self, client, endpoint):
        self.members.remove(endpoint)
        return list(self.members)


@pytest.fixture
def queue(monkeypatch) -> FakeQueue:
    fake = FakeQueue()
    for name in ("logged_in", "log_in", "log_out"):
        monkeypatch.setattr(f"ivr.ari.desk_queue.{name}", getattr(fake, name))
    return fake


def agent_state(page: str, endpoint: str) -> str:
    row = re.search(rf'<tr id="agent-{endpoint}">.*?</tr>', page, re.S)
    assert row, f"{endpoint} is not listed"
    return re.search(r'class="state">([^<]*)<', row.group(0)).group(1)


async def test_the_console_lists_the_desk_agents_and_logs_one_in_and_out(console, desk, queue):
    page = await desk.page("/desk/agents")
    assert [agent_state(page, e) for e in ("xy-desk", "xy-desk-2", "xy-desk-3")] == [
        "logged in",
        "logged out",
        "logged out",
    ]
    assert "*451" in page and "*452" in page
    assert "tech-anna" not in page

    response = await desk.post("/desk/agents/xy-desk-2", {"action": "login"})
    assert response.status == 303 and response.headers["Location"] == "/desk/agents"
    assert queue.members == ["xy-desk", "xy-desk-2"]
    assert agent_state(await desk.page("/desk/agents"), "xy-desk-2") == "logged in"

    response = await desk.post("/desk/agents/xy-desk-2", {"action": "logout"})
    assert response.status == 303
    assert queue.members == ["xy-desk"]


async def test_the_login_form_needs_the_csrf_token(console, desk, queue):
    response = await desk.post("/desk/agents/xy-desk-2", {"action": "login"}, csrf=False)
    assert response.status == 403
    assert queue.members == ["xy-desk"]


@pytest.mark.parametrize(
    ("endpoint", "action", "status", "named"),
    [
        ("tech-anna", "login", 404, "'tech-anna' is not a desk agent's phone"),
        ("trunk", "login", 404, "the desk agents are xy-desk, xy-desk-2, xy-desk-3"),
        ("xy-desk-2", "join", 422, "Unknown action 'join'"),
    ],
)
async def test_a_wrong_agent_or_action_is_refused_by_name(
    console, desk, queue, endpoint, action, status, named
):
    response = await desk.post(
        f"/desk/agents/{endpoint}", {"action": action}, headers={"Accept": "application/json"}
    )
    assert response.status == status
    assert named in (await response.json())["error"]
    assert queue.members == ["xy-desk"]
