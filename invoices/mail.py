"""The covering e-mail of a delivered document: its subject and a short body, in the customer's language.

The body says what the document is, its amount and its period, and lists the files
attached; it comes as HTML and as plain text (the two alternatives of one message),
laid out by ``templates/mail.html.j2`` and ``mail.txt.j2``.  Labels are translated with
the documents' catalogs (``make catalogs``), amounts and months written by the locale's
``Formats``.  Rendering is pure: the same document and files give the same words.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Sequence

from .attachments import CustomerFile
from .documents import CREDIT_NOTE, Document
from .formats import Formats, direction, language_of
from .present import wording
from .render import template


@dataclass(frozen=True)
class CoveringMail:
    subject: str
    text: str
    html: str
    language: str
    """the language of its words (English where the customer's language has no catalog)"""


def covering_mail(document: Document, files: Sequence[CustomerFile]) -> CoveringMail:
    """The subject and body of the e-mail that delivers ``document`` with ``files``.

    >>> from datetime import date
    >>> from invoices.documents import Party, vat_breakdown
    >>> from engine.core.money import Rounding
    >>> party = Party("Hostco SAS", "", "FR", None, "billing@hostco.example")
    >>> vat, net, tax, gross = vat_breakdown([], "EUR", Rounding.half_up)
    >>> note = Document("credit_note", "AV-2026-000001", date(2026, 11, 2), "2026-10", "C-1001", "EUR", "fr_FR",
    ...                 party, party, (), vat, Decimal("100.00"), Decimal("20.00"), Decimal("120.00"))
    >>> covering_mail(note, []).subject
    'Avoir n° AV-2026-000001 – octobre 2026'
    """
    language = language_of(document.locale)
    formats = Formats.of(document.locale, document.currency)
    month = formats.month(document.period)
    bodies = {}
    for format in ("txt", "html"):
        words = wording(language, format == "html")
        _ = words._
        amount = formats.money(abs(document.gross_total))
        if document.kind == CREDIT_NOTE:
            intro = [_("Please find attached our credit note %(number)s for %(month)s, contract %(contract)s: "
                       "%(amount)s, VAT included.", number=document.number, month=month, contract=document.contract,
                       amount=amount)]
        else:
            intro = [_("Please find attached our invoice adjustment statement %(number)s for %(month)s, "
                       "contract %(contract)s.", number=document.number, month=month, contract=document.contract)]
            if document.gross_total < Decimal(0):
                intro.append(_("Your next invoice will be lower by %(amount)s, VAT included.", amount=amount))
            elif document.gross_total > Decimal(0):
                intro.append(_("Your next invoice will be higher by %(amount)s, VAT included.", amount=amount))
            else:
                intro.append(_("Its total is %(amount)s, VAT included.", amount=amount))
        if document.corrects:
            intro.append(_("It corrects %(number)s.", number=document.corrects))
        if any(f.stored_as is None and f.name.endswith("-report.html") for f in files):
            intro.append(_("The service-level report for %(month)s is attached too.", month=month))
        bodies[format] = template(f"mail.{format}.j2", language, format == "html").render(
            issuer=document.issuer.name, intro=intro,
            files=[f.name for f in files], lang=language, direction=direction(document.locale))
    words = wording(language, False)
    title = (words._("Credit note no. %(number)s", number=document.number) if document.kind == CREDIT_NOTE
             else words._("Invoice adjustment no. %(number)s", number=document.number))
    subject = words._("%(document)s – %(month)s", document=title, month=month)
    return CoveringMail(subject, bodies["txt"], bodies["html"], language)
