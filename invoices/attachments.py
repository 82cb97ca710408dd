"""The files a customer takes for a document: what the e-mail that delivers it attaches.

``customer_files`` is the one place that says which files go with a document: the
document's HTML, the very bytes issued (the store keeps their sha256 as ``html_sha256``);
since e-invoices its PDF/A-3 (with the Factur-X XML inside for a facturx customer) and
the XML of its channel (``xml_sha256``); and, for a period with a monthly report, that
report.  Each names the stored hash it must match: delivery attaches what this returns
and refuses to send a file whose bytes differ from the hash stored at issue (or, for the
PDF, kept when it was first handed out).
"""

from __future__ import annotations

from dataclasses import dataclass

from .documents import Document
from .einvoice import SUFFIX
from .render import render
from .report import report_name


@dataclass(frozen=True)
class CustomerFile:
    """One file a customer receives."""

    name: str
    media_type: str
    data: bytes
    stored_as: str | None
    """the format whose sha256 the store kept ("html", "xml", "pdf"), or None when it keeps none (the report)"""


def customer_files(document: Document, report_html: str | None = None, pdf: bytes | None = None,
                   xml: bytes | None = None) -> tuple[CustomerFile, ...]:
    """The files a customer takes for ``document``: its HTML, its PDF/A and its e-invoice XML when
    given (rendered and checked by the caller, who holds the store), then the period's monthly report.

    >>> from engine.core.money import Rounding
    >>> from invoices.documents import Party, vat_breakdown
    >>> from datetime import date
    >>> party = Party("Hostco SAS", "1 rue X, 75001 Paris", "FR", None, "billing@hostco.example")
    >>> vat, net, tax, gross = vat_breakdown([], "EUR", Rounding.half_up)
    >>> note = Document("credit_note", "AV-2026-000001", date(2026, 11, 2), "2026-10", "C-1001", "EUR", "fr_FR",
    ...                 party, party, (), vat, net, tax, gross, {"ruleset": "standard-hosting", "ruleset_version": "1"})
    >>> [(f.name, f.media_type, f.stored_as) for f in customer_files(note, "<html>...</html>")]
    [('AV-2026-000001.html', 'text/html; charset=utf-8', 'html'), ('C-1001-2026-10-report.html', 'text/html; charset=utf-8', None)]
    """
    files = [CustomerFile(f"{document.number}.html", "text/html; charset=utf-8",
                          render(document, "html").encode("utf-8"), "html")]
    if pdf is not None:
        files.append(CustomerFile(f"{document.number}.pdf", "application/pdf", pdf, "pdf"))
    if xml is not None:
        files.append(CustomerFile(f"{document.number}.{SUFFIX[document.e_invoice]}", "application/xml", xml, "xml"))
    if report_html is not None:
        files.append(CustomerFile(report_name(document.contract, document.period, "html"), "text/html; charset=utf-8",
                                  report_html.encode("utf-8"), None))
    return tuple(files)
