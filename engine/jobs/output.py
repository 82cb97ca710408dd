"""Writing a period's issued documents and monthly reports into a folder.

``slabill run --out``, ``slabill report`` and the demo read the store and write files;
the rendering is ``invoices``'.  A document's HTML, the document the customer received,
is written only as the bytes it was issued with: it is checked against the hash stored
at issue (and so is the text, for documents issued when its hash was stored too).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..store import Store


def write_documents(store: Store, out: Path, run_id: int | None) -> list[Path]:
    """Every document a run issued, as HTML and text, checked against the bytes recorded at issue."""
    from invoices.documents import Document
    from invoices.render import render

    files = []
    if run_id is None:
        return files
    out.mkdir(parents=True, exist_ok=True)
    for row in store.documents(run_id=run_id):
        document = Document.from_json(json.loads(row.content_json))
        for format, expected in (("html", row.html_sha256), ("txt", row.text_sha256)):
            data = render(document, format).encode("utf-8")
            # The HTML's hash was stored at issue (the text's too, for documents issued
            # before text became a view made on demand): what is written must be those bytes.
            if expected is not None and hashlib.sha256(data).hexdigest() != expected:
                raise RuntimeError(f"{row.number} does not render to the bytes that were issued")
            path = out / f"{row.number}.{format}"
            path.write_bytes(data)
            files.append(path)
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
