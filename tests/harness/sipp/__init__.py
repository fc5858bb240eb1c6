"""Scripted SIP user agents with SIPp: a caller with a caller ID and DTMF, a load of calls,
and an answering phone that takes any number of calls at once.

The public API is re-exported here. The package holds: `calls` (placing and answering calls),
`scenario` (the SIPp scenario XML and inject file), `processes` (running SIPp, its ports) and
`logs` (reading what SIPp did).
"""

from tests.harness.sipp.calls import (
    AnsweringPhone,
    answering_phone,
    place_call,
    place_calls,
    support_number_uri,
)
from tests.harness.sipp.logs import AnswerSummary, CallResult, LoadResult, LogEvent
from tests.harness.sipp.processes import SippError
from tests.harness.sipp.scenario import DtmfBatch, SipTarget

__all__ = [
    "AnswerSummary",
    "AnsweringPhone",
    "CallResult",
    "DtmfBatch",
    "LoadResult",
    "LogEvent",
    "SipTarget",
    "SippError",
    "answering_phone",
    "place_call",
    "place_calls",
    "support_number_uri",
]
