"""Writing a period's issued documents and monthly reports into a folder.

``slabill run --out``, ``slabill notes render``, ``slabill report`` and the demo read the
store and write files; the rendering is ``invoices``'.  A document is written only as the
bytes it was issued with, in every format its customer takes (``engine.issued`` checks
each); ``check_files`` is ``audit verify --files``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..issued import FORMATS, DocumentMismatch, file_name, formats_of, issued_bytes  # noqa: F401 (FORMATS for the CLI)
from ..store import Store

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
