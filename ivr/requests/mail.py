"""The e-mails that tell a technician of a request, and the chief technician and the admins
of its escalation, sent through the installation's SMTP server
(`IVR_SMTP_HOST`, `IVR_SMTP_PORT`, `IVR_MAIL_SENDER`)."""

from __future__ import annotations

import asyncio
import smtplib
from datetime import datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from ivr.config import Settings
from ivr.requests.model import Request
from ivr.routing import Leg

SMTP_TIMEOUT_SECONDS = 10.0


def request_mail(
    request: Request, technician: Leg, tier_name: str | None, zone: ZoneInfo, settings: Settings
) -> EmailMessage:
    """The message to `technician` (who has an e-mail address) about `request`."""
    assert technician.email is not None
    customer = request.customer_name or "caller not identified"
    due = _when(request.first_reaction_due, zone) or "none (best effort)"
    return _message(
        settings,
        [f"{technician.name} <{technician.email}>"],
        f"Winet hotline request #{request.id}: {customer}, first reaction {due}",
        [
            f"Request #{request.id} is waiting for the technician on standby.",
            "",
            *_facts(request, tier_name, zone),
            "",
            "Take it: answer the call and press 1 (2 calls the customer back at once), or",
            f"  http://{settings.web_host}:{settings.web_port}/requests/{request.id}",
            f"  ivr requests ack {request.id} --technician {technician.id}",
        ],
    )


def escalation_mail(
    request: Request,
    recipients: list[str],
    headline: str,
    tier_name: str | None,
    zone: ZoneInfo,
    settings: Settings,
) -> EmailMessage:
    """The message to the chief technician (and the admins) that `request` is escalated:
    `headline` says why ("first reaction breached: ...")."""
    customer = request.customer_name or "caller not identified"
    return _message(
        settings,
        recipients,
        f"Winet hotline request #{request.id} escalated: {customer}, {headline}",
        [
            f"Request #{request.id}: {headline}.",
            "",
            *_facts(request, tier_name, zone),
            f"State:               {request.state}, with {request.holder or 'nobody'}",
            "",
            f"  http://{settings.web_host}:{settings.web_port}/requests/{request.id}",
        ],
    )


def _facts(request: Request, tier_name: str | None, zone: ZoneInfo) -> list[str]:
    customer = request.customer_name or "caller not identified"
    due = _when(request.first_reaction_due, zone) or "none (best effort)"
    contract = f"{tier_name} ({request.tier})" if tier_name else (request.tier or "unknown")
    return [
        f"Customer:            {customer} ({request.customer_id or '-'})",
        f"Contract:            {contract}",
        f"Call back on:        {request.callback_number or 'unknown'}",
        f"First reaction due:  {due}",
        f"Created:             {_when(request.created_at, zone)} by "
        f"{request.created_by} ({request.source})",
        f"Call:                {request.call_id or '-'}",
        "",
        "Summary:",
        request.summary,
    ]


def _message(settings: Settings, to: list[str], subject: str, lines: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content("\n".join(lines))
    return message


async def send_mail(settings: Settings, message: EmailMessage) -> None:
    """Hand the message to the SMTP server; OSError or smtplib.SMTPException when it fails."""
    await asyncio.to_thread(_send, settings, message)


def _send(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        smtp.send_message(message)


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")
