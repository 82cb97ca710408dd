"""An issued document's files, as the customer takes them: each checked against what was issued.

The run (``engine.jobs``), its ``--out``, ``notes render`` and delivery (``engine.delivery``)
hand out a document's files through here, so that every one of them is the bytes issued:

* its HTML, and its e-invoice XML, are checked against the hashes stored at issue (the XML
  is validated too: its schema and every schematron its channel needs);
* its PDF/A-3 is rendered on demand and deterministic: the sha256 of the first one handed
  out is kept (sealed to the document's content), and a later rendering must match it;
* its text is a view, checked where a hash was kept (documents issued before it became one).

Documents issued before e-invoices (no ``e_invoice`` in their content) are handed out as
they were issued, HTML and text; their PDF is rendered on demand like any other.
"""

from __future__ import annotations

import hashlib

from .core.canonical import rendition_seal
from .core.errors import InputError, SlabillError
from .store import Store

FORMATS = ("html", "txt", "pdf", "xml")


class DocumentMismatch(SlabillError):
    """A rendering differs from what was issued, or an e-invoice breaks the rules it must pass."""


def formats_of(document) -> tuple[str, ...]:
    """What the customer of a document receives: HTML and text, and since e-invoices the PDF/A
    and the XML of its channel."""
    from invoices.einvoice import CHANNELS

    if document.e_invoice is None:
        return ("html", "txt")
    return ("html", "txt", "pdf") + (("xml",) if document.e_invoice in CHANNELS else ())


def file_name(document, format: str, locale: str | None = None) -> str:
    from invoices.einvoice import SUFFIX

    if format == "xml":
        return f"{document.number}.{SUFFIX[document.e_invoice]}"
    suffix = f".{locale}" if locale else ""
    return f"{document.number}{suffix}.{format}"


def issued_bytes(store: Store, row, document, format: str, locale: str | None = None) -> bytes:
    """One rendering of an issued document, checked against what was issued (see the module)."""
    from invoices.render import render

    if format in ("html", "txt"):
        data = render(document, format, locale).encode("utf-8")
        expected = None if locale else (row.html_sha256 if format == "html" else row.text_sha256)
        if expected is not None and hashlib.sha256(data).hexdigest() != expected:
            raise DocumentMismatch(f"{row.number} does not render in {format} to the bytes that were issued "
                                   f"(sha256 {expected[:12]}...)")
        return data
    if locale:
        raise InputError(f"a {format.upper()} is rendered as issued, in the customer's language: "
                         "--locale applies to html and txt", field="--locale")
    if format == "xml":
        return issued_xml(row, document)
    if format == "pdf":
        return issued_pdf(store, row, document)
    raise ValueError(f"no format {format!r}")


def issued_xml(row, document) -> bytes:
    """The e-invoice as issued: the bytes hashed at issue, which pass every rule of their channel."""
    from invoices.einvoice import CHANNELS, render_xml, validate_document

    if document.e_invoice not in CHANNELS or row.xml_sha256 is None:
        # Asking for a format the document was never issued in is a question, not a finding.
        raise InputError(f"{row.number} was issued without an e-invoice (its customer's channel is "
                         f"{document.e_invoice or 'none: it was issued before e-invoices'})", field="--format")
    data = render_xml(document, document.e_invoice)
    if hashlib.sha256(data).hexdigest() != row.xml_sha256:
        raise DocumentMismatch(f"{row.number} does not render to the e-invoice that was issued")
    report = validate_document(document, data)
    if not report.ok:
        first = report.errors[0]
        raise DocumentMismatch(f"the {document.e_invoice} e-invoice of {row.number} breaks "
                               f"{', '.join(sorted(report.rules()))}: {first}")
    return data


def issued_pdf(store: Store, row, document) -> bytes:
    """The PDF/A-3b (with its Factur-X XML for a facturx customer); its hash is kept the first time."""
    from invoices.pdf import producer, render_pdf

    xml = issued_xml(row, document) if document.e_invoice == "facturx" else None
    data = render_pdf(document, xml)
    digest = hashlib.sha256(data).hexdigest()
    kept = store.rendition(row.id, "pdf")
    if kept is None:
        made_by = producer()
        store.record_rendition(row.id, "pdf", digest, len(data), made_by,
                               rendition_seal(row.content_sha256, "pdf", digest, made_by))
    elif kept.sha256 != digest:
        raise DocumentMismatch(f"the PDF of {row.number} renders to other bytes than the one first handed out "
                               f"(sha256 {kept.sha256[:12]}, made by {kept.producer}): the renderer or its fonts "
                               "changed; hand out the PDF kept from then")
    return data
