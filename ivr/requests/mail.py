"""The e-mail that tells a technician of a request, sent through the installation's SMTP server
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
    message = EmailMessage()
    message["From"] = settings.mail_sender
    message["To"] = f"{technician.name} <{technician.email}>"
    message["Subject"] = f"Winet hotline request #{request.id}: {customer}, first reaction {due}"
    contract = f"{tier_name} ({request.tier})" if tier_name else (request.tier or "unknown")
    message.set_content(
        "\n".join(
            [
                f"Request #{request.id} is waiting for the technician on standby.",
                "",
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
                "",
                "Take it: answer the call and press 1 (2 calls the customer back at once), or",
                f"  http://{settings.web_host}:{settings.web_port}/requests/{request.id}",
                f"  ivr requests ack {request.id} --technician {technician.id}",
            ]
        )
    )
    return message


async def send_mail(settings: Settings, message: EmailMessage) -> None:
    """Hand the message to the SMTP server; OSError or smtplib.SMTPException when it fails."""
    await asyncio.to_thread(_send, settings, message)


def _send(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        smtp.send_message(message)


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")
