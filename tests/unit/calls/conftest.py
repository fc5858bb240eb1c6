from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

START = datetime(2026, 11, 28, 9, 15, tzinfo=UTC)


@pytest.fixture
def clock():
    """A clock one second later at every reading."""
    now = [START]

    def read() -> datetime:
        now[0] += timedelta(seconds=1)
        return now[0]

    return read
