"""The e-mail that delivers a document, as bytes: headers, the covering words and the files.

The words are ``invoices.mail``'s and the files ``invoices.attachments``'; this module
puts them in a MIME message (``multipart/mixed``: the text and HTML alternatives of the
body, then each file in base64, so its bytes arrive exactly as issued).

The Message-ID is chosen before the first attempt and kept for every retry: it names
the document and its content hash, so anyone can search a mailbox for it, and mail
programs that hide copies by Message-ID show one, should a copy ever be sent twice.
"""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Sequence

from invoices.attachments import CustomerFile
from invoices.mail import CoveringMail


def message_id(number: str, content_sha256: str, sender: str) -> str:
    """The Message-ID of a document's e-mail, on the sender's domain.

    >>> message_id("AV-2026-000001", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    ...            "facturation@hexanuage.example")
    '<AV-2026-000001.9f86d081884c7d659a2f@hexanuage.example>'
    """
    return f"<{number}.{content_sha256[:20]}@{sender.rpartition('@')[2]}>"


def build_message(*, sender: tuple[str, str], to: tuple[str, str], cc: Sequence[str], mail: CoveringMail,
                  files: Sequence[CustomerFile], message_id: str, number: str, date: datetime) -> bytes:
    """The message's bytes, lines ended by CRLF as SMTP carries them.

    ``sender`` and ``to`` are (display name, address).
    """
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(display_name=sender[0], addr_spec=sender[1])
    message["To"] = Address(display_name=to[0], addr_spec=to[1])
    if cc:
        message["Cc"] = [Address(addr_spec=address) for address in cc]
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    # RFC 3834: machines that answer mail (vacation notices) leave it alone.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Slabill-Document"] = number
    message.set_content(mail.text, subtype="plain", charset="utf-8")
    message.add_alternative(mail.html, subtype="html", charset="utf-8")
    for file in files:
        media, _, parameters = file.media_type.partition(";")
        maintype, _, subtype = media.strip().partition("/")
        params = dict(p.strip().split("=", 1) for p in parameters.split(";") if "=" in p)
        message.add_attachment(file.data, maintype=maintype, subtype=subtype, filename=file.name, params=params)
    # Last: setting the content drops Content-* headers, and attaching moves them into the first part.
    message["Content-Language"] = mail.language
    return message.as_bytes()
