"""The routing core: tables and an instant in, a decision out. Pure: no I/O, no clock of its own
(except `load_tables`, which reads a directory)."""

from ivr.routing.decide import Contract, Decision, Span, decide, desk_priority, technicians_on_call
from ivr.routing.explain import explain
from ivr.routing.model import Leg, NoticeTerms, Tables, Tier
from ivr.routing.tables import Problem, TablesError, load_tables, parse_tables, tables_version

__all__ = [
    "Contract",
    "Decision",
    "Leg",
    "NoticeTerms",
    "Problem",
    "Span",
    "Tables",
    "TablesError",
    "Tier",
    "decide",
    "desk_priority",
    "explain",
    "load_tables",
    "parse_tables",
    "tables_version",
    "technicians_on_call",
]
