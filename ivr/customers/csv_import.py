"""Customers from a CSV file: every row checked, then all imported or none.

The header names the columns (any order): id, name, language, numbers (several separated by
";" or "|"), pin, pin_required, tier, valid_from, valid_to, free_units_per_month. The first
five are required. An empty pin keeps a customer's PIN when `update_existing` allows
updates.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence, Set
from dataclasses import dataclass
from datetime import date

from redis.asyncio import Redis

from ivr.customers.model import (
    FIELDS,
    REQUIRED_FIELDS,
    Customer,
    InvalidCustomer,
    customer_from_fields,
)
from ivr.store.customers import CustomerConflict, save_customers

HEADER_LINE = 1


@dataclass(frozen=True)
class RowError:
    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class CustomerRow:
    line: int
    customer: Customer
    pin: str | None


@dataclass(frozen=True)
class ParsedCsv:
    rows: list[CustomerRow]
    errors: list[RowError]


@dataclass(frozen=True)
class ImportReport:
    """What an import did, or, when `errors` is not empty, why it did nothing."""

    created: list[str]
    updated: list[str]
    errors: list[RowError]


def parse_customers_csv(text: str, known_tiers: Set[str]) -> ParsedCsv:
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(reader, None)
    if header is None:
        return ParsedCsv([], [RowError(HEADER_LINE, None, "the file is empty: no header row")])
    columns = [name.strip().lower() for name in header]
    errors = _header_errors(columns)
    if errors:
        return ParsedCsv([], errors)
    rows: list[CustomerRow] = []
    first_lines: dict[tuple[str, str], int] = {}  # (column, value) -> line first seen
    line = reader.line_num + 1
    for values in reader:
        row_line, line = line, reader.line_num + 1
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(columns):
            reason = f"{len(values)} values, but the header has {len(columns)} columns"
            errors.append(RowError(row_line, None, reason))
            continue
        fields = dict(zip(columns, values, strict=True))
        duplicates = _duplicates(fields, row_line, first_lines)
        try:
            customer, pin = customer_from_fields(fields, known_tiers)
        except InvalidCustomer as error:
            errors += [RowError(row_line, field, reason) for field, reason in error.problems]
            errors += duplicates
            continue
        errors += duplicates
        rows.append(CustomerRow(row_line, customer, pin))
    return ParsedCsv(rows, errors)


async def import_customers(
    redis: Redis,
    rows: Sequence[CustomerRow],
    *,
    pin_key: bytes,
    known_tiers: Set[str],
    update_existing: bool = False,
) -> ImportReport:
    """Save all rows in one transaction, or none when any conflicts with the stored customers
    (an existing id unless `update_existing`, ...)."""
    try:
        result = await save_customers(
            redis,
            [(row.customer, row.pin) for row in rows],
            pin_key=pin_key,
            known_tiers=known_tiers,
            allow_update=update_existing,
        )
    except CustomerConflict as conflict:
        lines = {row.customer.id: row.line for row in rows}
        errors = [RowError(lines[c.customer_id], c.field, c.reason) for c in conflict.conflicts]
        return ImportReport([], [], sorted(errors, key=lambda e: e.line))
    return ImportReport(result.created, result.updated, [])


@dataclass(frozen=True)
class Attention:
    """An imported row that works but needs a look: callers it cannot identify, a contract
    already over."""

    line: int
    customer_id: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.customer_id}: {self.reason}"


def rows_needing_attention(
    rows: Sequence[CustomerRow], stored: Sequence[Customer], today: date
) -> list[Attention]:
    """What the admin should look at after an import, from the customers as now stored."""
    holders: dict[str, list[str]] = {}
    for customer in stored:
        for number in customer.numbers:
            holders.setdefault(number, []).append(customer.id)
    by_id = {customer.id: customer for customer in stored}
    notes = []
    for row in rows:
        customer = by_id.get(row.customer.id, row.customer)
        if not customer.has_pin:
            notes.append(
                Attention(
                    row.line,
                    customer.id,
                    "no PIN: a caller with a withheld or shared "
                    "number cannot be identified (ivr customers reset-pin)",
                )
            )
        for number in customer.numbers:
            others = [other for other in holders.get(number, []) if other != customer.id]
            if others:
                notes.append(
                    Attention(
                        row.line,
                        customer.id,
                        f"{number} is also the number of "
                        f"{', '.join(others)}: callers from it are asked for their PIN",
                    )
                )
        valid_to = customer.contract.valid_to
        if valid_to is not None and valid_to < today:
            notes.append(
                Attention(
                    row.line,
                    customer.id,
                    f"the contract ended on {valid_to}: calls get the fallback tier",
                )
            )
    return notes


def _header_errors(columns: list[str]) -> list[RowError]:
    errors = []
    for index, name in enumerate(columns):
        if name not in FIELDS:
            reason = f"unknown column (the columns are {', '.join(FIELDS)})"
            errors.append(RowError(HEADER_LINE, name or f"#{index + 1}", reason))
        elif name in columns[:index]:
            errors.append(RowError(HEADER_LINE, name, "the column is given twice"))
    errors += [
        RowError(HEADER_LINE, name, "missing column")
        for name in REQUIRED_FIELDS
        if name not in columns
    ]
    return errors


def _duplicates(
    fields: dict[str, str], line: int, first_lines: dict[tuple[str, str], int]
) -> list[RowError]:
    """An id seen on an earlier row. (PINs may repeat: a PIN identifies nobody alone.)"""
    value = fields.get("id", "").strip()
    if not value:
        return []
    first = first_lines.setdefault(("id", value), line)
    if first == line:
        return []
    return [RowError(line, "id", f"duplicate id, first on line {first}")]
