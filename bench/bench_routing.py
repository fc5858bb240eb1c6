"""How fast the routing core is: `decide` over many instants and tiers, and loading the tables.

Run: .venv/bin/python bench/bench_routing.py [TABLES_DIR]
Targets on the project's 2-core machine: decide under 20 µs median, table load under 50 ms.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

_import_began = time.perf_counter()
from ivr.config import Settings  # noqa: E402
from ivr.routing import Contract, decide, load_tables  # noqa: E402

IMPORT_SECONDS = time.perf_counter() - _import_began

DECISIONS = 100_000
LOADS = 200
SPAN_START = datetime(2020, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 16 * 365 * 24 * 3600  # 2020 to 2035


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    """(median, p99) in microseconds."""
    ordered = sorted(samples_ns)
    return statistics.median(ordered) / 1000, ordered[int(len(ordered) * 0.99)] / 1000


def bench_decide(tables_dir: Path, rng: random.Random) -> None:
    tables = load_tables(tables_dir)
    contracts = [Contract(tier_id) for tier_id in tables.tiers] + [None]
    calls = [
        (
            rng.choice(contracts),
            SPAN_START + timedelta(seconds=rng.randrange(SPAN_SECONDS)),
        )
        for _ in range(DECISIONS)
    ]
    # Pass 1 computes each day's intervals; pass 2 finds those still in the bounded cache.
    for label in ("pass 1", "pass 2"):
        samples = []
        for contract, instant in calls:
            began = time.perf_counter_ns()
            decide(tables, contract, instant)
            samples.append(time.perf_counter_ns() - began)
        median, p99 = percentiles(samples)
        print(f"decide, {label}: median {median:.1f} µs, p99 {p99:.1f} µs ({DECISIONS} calls)")
    for tier_id in [*tables.tiers, None]:
        contract = None if tier_id is None else Contract(tier_id)
        samples = []
        for _, instant in calls[:20_000]:
            began = time.perf_counter_ns()
            decide(tables, contract, instant)
            samples.append(time.perf_counter_ns() - began)
        median, p99 = percentiles(samples)
        print(f"  {tier_id or 'unidentified':<12} median {median:.1f} µs, p99 {p99:.1f} µs")


def bench_load(tables_dir: Path) -> None:
    samples = []
    for _ in range(LOADS):
        began = time.perf_counter_ns()
        load_tables(tables_dir)
        samples.append(time.perf_counter_ns() - began)
    print(
        f"import ivr.routing (once per process, mostly the holidays package): "
        f"{IMPORT_SECONDS * 1000:.0f} ms"
    )
    print(f"load_tables, first: {samples[0] / 1e6:.2f} ms")
    median, p99 = percentiles(samples)
    print(f"load_tables: median {median / 1000:.2f} ms, p99 {p99 / 1000:.2f} ms ({LOADS} loads)")


def main() -> None:
    tables_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Settings.from_env().tables_dir
    bench_load(tables_dir)
    bench_decide(tables_dir, random.Random(20261128))


if __name__ == "__main__":
    main()
