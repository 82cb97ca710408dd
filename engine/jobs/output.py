"""Writing a period's issued documents and monthly reports into a folder.

``slabill run --out``, ``slabill notes render``, ``slabill report`` and the demo read the
store and write files; the rendering is ``invoices``'.  A document is written only as the
bytes it was issued with, in every format its customer takes, or those asked for
(``engine.issued`` checks each: HTML, text, the e-invoice XML and the PDF/A-3); a document
that no longer renders to them is refused, never written.  ``check_files`` is
``audit verify --files``.

Nothing here is ever lost for good: the documents of a period can be written again at
any time, from the store.  A folder is checked before a run issues anything
(``check_folder``), and each file is written whole or not at all (to a temporary name,
then renamed), so a failure leaves no half-written document behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from ..core.errors import InputError, SlabillError
from ..issued import DocumentMismatch, file_name, formats_of, issued_bytes
from ..store import Store
from .formats import REPORT_FORMATS

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


IssuedBytesError = DocumentMismatch
"""a stored document no longer renders to the bytes it was issued with: it is not written"""


class WriteError(SlabillError):
    """A file could not be written (the folder vanished, the disk is full); what was issued stands."""


def check_folder(out: Path, option: str = "--out") -> None:
    """Refuse a folder that cannot be written into, before anything is issued or written.

    The folder is made if it does not exist; a file is then created in it and removed,
    which is the one test every system answers truthfully (permissions, read-only
    mounts, quotas, and being root all included).
    """
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file, not a folder to write into", field=option)
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out, prefix=".slabill-check-"):
            pass
    except OSError as exc:
        raise InputError(f"cannot write into the folder {out} ({exc.strerror or exc})", field=option) from None


def check_file(path: Path, option: str = "--out") -> None:
    """Refuse a file path that cannot be written, before anything is written."""
    if path.is_dir():
        raise InputError(f"{path} is a folder; give the name of the file to write", field=option)
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"cannot write the file {path} (it is read-only)", field=option)
    check_folder(path.parent if str(path.parent) else Path("."), option)


def write_file(path: Path, data: bytes | Callable[[Any], None]) -> None:
    """Write ``path`` whole or not at all: to a temporary file beside it, renamed into place.

    ``data`` is the bytes, or a function that writes text to the open file (a large export).
    """
    # Beside the file, so the rename stays on one file system; opened as any new file is
    # (the umask decides who may read it), under a name no other process uses.
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            with open(temporary, "wb") as handle:
                handle.write(data)
        else:
            with open(temporary, "w", encoding="utf-8") as handle:
                data(handle)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise WriteError(f"cannot write {path} ({exc.strerror or exc}); nothing issued is lost: write the "
                         "period's documents again with slabill notes render --period") from None


def write_document(store: Store, row, out: Path, formats: tuple[str, ...] | None = None,
                   locale: str | None = None, *, only_its_own: bool = False) -> list[Path]:
    """An issued document's files in ``out``: every format its customer receives, or those asked.

    With ``only_its_own`` (a whole period asked in one format), a format the document was not
    issued in (an XML of a document without an e-invoice) is passed over instead of refused."""
    from invoices.documents import Document

    document = Document.from_json(json.loads(row.content_json))
    paths = []
    for format in formats or formats_of(document):
        if only_its_own and format not in formats_of(document):
            continue
        try:
            data = issued_bytes(store, row, document, format, locale)
        except DocumentMismatch as exc:
            raise DocumentMismatch(f"{str(exc).rstrip('.')}; it was not written") from None
        path = out / file_name(document, format, locale)
        write_file(path, data)
        paths.append(path)
    return paths


def write_documents(store: Store, out: Path, run_id: int | None = None, *, period: str | None = None,
                    contract: str | None = None, formats: tuple[str, ...] | None = None,
                    locale: str | None = None) -> list[Path]:
    """Documents as files, in every format their customers take (or in ``formats``): those a run
    issued (``run_id``), or every document of ``period`` (of one ``contract``) whichever run issued
    it.  Returns the files, in number order of issue."""
    if run_id is None and period is None:
        return []
    files: list[Path] = []
    for row in store.documents(period=period, contract=contract, run_id=run_id):
        files += write_document(store, row, out, formats, locale, only_its_own=True)
    return files


def write_reports(store: Store, period: str, out: Path, contract: str | None = None,
                  formats: tuple[str, ...] = REPORT_FORMATS) -> list[Path]:
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
            path = out / report_name(contract_id, period, format)
            write_file(path, text.encode("utf-8"))
            paths.append(path)
    return paths
