from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.routing import Tables, load_tables

DEFAULT_TABLES = Path(__file__).resolve().parents[3] / "routing"
ZURICH = ZoneInfo("Europe/Zurich")


def default_bundle() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(DEFAULT_TABLES.glob("*.toml"))}


def edited(bundle: dict[str, str], file: str, old: str, new: str) -> dict[str, str]:
    """A copy of the bundle with `old` replaced by `new` in one file; `old` must occur."""
    assert old in bundle[file], f"{old!r} not in {file}"
    return {**bundle, file: bundle[file].replace(old, new, 1)}


@pytest.fixture(scope="session")
def tables() -> Tables:
    return load_tables(DEFAULT_TABLES)


@pytest.fixture
def bundle() -> dict[str, str]:
    return default_bundle()


@pytest.fixture
def edit() -> Callable[..., dict[str, str]]:
    return edited
