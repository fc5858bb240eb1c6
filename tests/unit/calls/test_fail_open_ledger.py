"""The calls Asterisk took while no worker was connected get their records from its ledger."""

from datetime import UTC, datetime

from ivr.store import calls
from ivr.worker.fail_open import REASON, FailOpenLedger, parse_line

STARTED = "started 1764842400.17 1764842400 +41441234567\n"
ENDED = "ended 1764842400.17 1764842431 16 xy-desk-2\n"


async def test_a_call_taken_by_the_dialplan_gets_one_complete_record(redis_client, tmp_path):
    ledger = tmp_path / "fail-open.log"
    ledger.write_text(STARTED + ENDED)

    assert await FailOpenLedger(redis_client, ledger).read() == 2

    record = await calls.get_call(redis_client, "1764842400.17")
    summary = record.summary
    assert summary["caller_number"] == "+41441234567"
    assert summary["outcome"] == "desk_fallback"
    assert summary["desk_agent_line"] == "xy-desk-2"
    assert summary["hangup_cause"] == "16"
    assert summary["started_at"] == datetime.fromtimestamp(1764842400, UTC).isoformat()
    assert summary["ended_at"] == datetime.fromtimestamp(1764842431, UTC).isoformat()
    assert [e["reason"] for e in record.events if e["kind"] == "fail_open"] == [REASON]
    assert not await calls.open_calls(redis_client)


async def test_a_call_still_at_the_desk_stays_open_until_its_end_is_written(redis_client, tmp_path):
    ledger = tmp_path / "fail-open.log"
    ledger.write_text(STARTED)
    reader = FailOpenLedger(redis_client, ledger)

    await reader.read()
    assert "1764842400.17" in await calls.open_calls(redis_client)

    ledger.write_text(ENDED)  # Asterisk starts a new ledger once the first was taken
    assert await reader.read() == 1, "only the new line is read"
    assert not await calls.open_calls(redis_client)


async def test_of_two_workers_one_takes_the_ledger_and_nothing_is_left_behind(
    redis_client, tmp_path
):
    ledger = tmp_path / "fail-open.log"
    ledger.write_text(STARTED + ENDED)
    workers = [FailOpenLedger(redis_client, ledger) for _ in range(2)]

    assert sorted([await workers[0].read(), await workers[1].read()]) == [0, 2]

    events = (await calls.get_call(redis_client, "1764842400.17")).events
    assert [e["kind"] for e in events].count("ended") == 1
    assert list(tmp_path.iterdir()) == []


async def test_a_ledger_whose_taker_died_is_taken_over_once_it_is_old(redis_client, tmp_path):
    ledger = tmp_path / "fail-open.log"
    (tmp_path / "fail-open.log.dead-0").write_text(STARTED + ENDED)
    assert await FailOpenLedger(redis_client, ledger).read() == 0, "its taker may be at it"

    assert await FailOpenLedger(redis_client, ledger, abandoned_after=0.0).read() == 2
    assert not await calls.open_calls(redis_client)
    assert list(tmp_path.iterdir()) == []


async def test_no_ledger_yet_is_nothing_to_read(redis_client, tmp_path):
    assert await FailOpenLedger(redis_client, tmp_path / "none.log").read() == 0


def test_lines_that_are_not_ledger_lines_are_left_out():
    assert parse_line("started 1.2 notanumber +41") is None
    assert parse_line("rubbish") is None
    assert parse_line("started 1.2 1764842400 ").detail == ""
    assert parse_line("ended 1.2 1764842400 16 ").agent == ""
