"""The demo customers the set-up command loads: one per tier, one that must always give its
PIN, and two sharing one number (`routing/demo-customers.csv`)."""

from __future__ import annotations

import asyncio
from collections.abc import Set
from pathlib import Path

from redis.asyncio import Redis

from ivr.config import REPO_DIR
from ivr.customers.csv_import import (
    ImportReport,
    RowError,
    import_customers,
    parse_customers_csv,
)

DEMO_CUSTOMERS_CSV = REPO_DIR / "routing" / "demo-customers.csv"


async def load_demo_customers(
    redis: Redis,
    *,
    pin_key: bytes,
    known_tiers: Set[str],
    path: Path = DEMO_CUSTOMERS_CSV,
) -> ImportReport:
    """Create or refresh the demo customers (their PINs included); safe to run again."""
    parsed = parse_customers_csv(await asyncio.to_thread(path.read_text), known_tiers)
    if parsed.errors:
        raise _broken(path, parsed.errors)
    report = await import_customers(
        redis, parsed.rows, pin_key=pin_key, known_tiers=known_tiers, update_existing=True
    )
    if report.errors:
        raise _broken(path, report.errors)
    return report


def _broken(path: Path, errors: list[RowError]) -> ValueError:
    return ValueError(f"{path}: " + "; ".join(str(error) for error in errors))
