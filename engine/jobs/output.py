"""Writing a period's issued documents and monthly reports into a folder.

``slabill run --out``, ``slabill notes render``, ``slabill report`` and the demo read the
store and write files; the rendering is ``invoices``'.  A document is written only as the
bytes it was issued with:

* its HTML, and its e-invoice XML, are checked against the hashes stored at issue (the
  XML is validated too: its schema and every schematron its channel needs);
* its PDF/A-3 is rendered on demand and deterministic: the sha256 of the first one handed
  out is kept (sealed to the document's content), and a later rendering must match it;
* its text is a view, checked where a hash was kept (documents issued before it became one).

Documents issued before e-invoices (no ``e_invoice`` in their content) are written as
they were issued, HTML and text; their PDF is rendered on demand like any other.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..core.canonical import rendition_seal
from ..core.errors import SlabillError
from ..store import Store

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
            raise DocumentMismatch(f"{row.number} does not render to the bytes that were issued ({format})")
        return data
    if locale:
        raise DocumentMismatch(f"a {format.upper()} is rendered as issued, in the customer's language: "
                               "--locale applies to html and txt", )
    if format == "xml":
        return issued_xml(row, document)
    if format == "pdf":
        return issued_pdf(store, row, document)
    raise ValueError(f"no format {format!r}")


def issued_xml(row, document) -> bytes:
    """The e-invoice as issued: the bytes hashed at issue, which pass every rule of their channel."""
    from invoices.einvoice import CHANNELS, render_xml, validate_document

    if document.e_invoice not in CHANNELS or row.xml_sha256 is None:
        raise DocumentMismatch(f"{row.number} was issued without an e-invoice (its customer's channel is "
                               f"{document.e_invoice or 'none: it was issued before e-invoices'})")
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


def check_files(store: Store, folder: Path) -> tuple[int, str | None]:
    """``audit verify --files``: each file named after an issued document (``<number>.html``,
    ``.pdf``, ``.<channel>.xml``, ``.txt`` where its hash was kept) must hash to what was issued.
    Returns the files checked, and the first that is not what was issued; a file slabill has no
    hash for is left alone."""
    from invoices.einvoice import SUFFIX

    kept = {(number, r.format): r.sha256 for r, number, _ in store.renditions()}
    checked = 0
    for row in store.documents():
        expected = {f"{row.number}.html": row.html_sha256, f"{row.number}.pdf": kept.get((row.number, "pdf"))}
        if row.text_sha256:
            expected[f"{row.number}.txt"] = row.text_sha256
        if row.e_invoice in SUFFIX and row.xml_sha256:
            expected[f"{row.number}.{SUFFIX[row.e_invoice]}"] = row.xml_sha256
        for name, digest in expected.items():
            path = folder / name
            if digest is None or not path.is_file():
                continue
            if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                return checked, f"{path}: it is not the file issued as {row.number} (its sha256 differs): it was edited"
            checked += 1
    return checked, None


def write_document(store: Store, row, out: Path, formats: tuple[str, ...] | None = None,
                   locale: str | None = None) -> list[Path]:
    """An issued document's files in ``out`` (every format its customer receives, or those asked)."""
    from invoices.documents import Document

    document = Document.from_json(json.loads(row.content_json))
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for format in formats or formats_of(document):
        data = issued_bytes(store, row, document, format, locale)
        path = out / file_name(document, format, locale)
        path.write_bytes(data)
        paths.append(path)
    return paths


def write_documents(store: Store, out: Path, run_id: int | None) -> list[Path]:
    """Every document a run issued, in every format its customer receives, checked against what was issued."""
    files: list[Path] = []
    if run_id is None:
        return files
    for row in store.documents(run_id=run_id):
        files += write_document(store, row, out)
    return files


def write_reports(store: Store, period: str, out: Path, contract: str | None = None,
                  formats: tuple[str, ...] = ("html", "txt")) -> list[Path]:
    """The monthly SLA report of every contract evaluated for ``period`` (or of one), from its latest record.

    Each report lists every document issued for the contract and period, whichever revision
    issued it, and words the ticket objectives from the rule set the record names.  Files are
    ``<out>/<contract>-<period>-report.<format>``; returns them, none when nothing is recorded.
    """
    from invoices.report import documents_from_rows, render_report, report_name

    latest = store.latest_records(period, contract)
    documents: dict[str, list[Any]] = {}
    for row in store.documents(period=period, contract=contract):
        documents.setdefault(row.contract_id, []).append(row)
    rule_sets: dict[str, Any] = {}
    paths = []
    for contract_id in sorted(latest):
        row = latest[contract_id]
        record = json.loads(row.record_json)
        sha = record["ruleset"]["sha256"]
        if sha not in rule_sets:
            rule_sets[sha] = store.rule_set(sha)
        for format in formats:
            text = render_report(record, format, documents=documents_from_rows(documents.get(contract_id, [])),
                                 rule_set=rule_sets[sha])
            out.mkdir(parents=True, exist_ok=True)
            path = out / report_name(contract_id, period, format)
            path.write_text(text, encoding="utf-8")
            paths.append(path)
    return paths
