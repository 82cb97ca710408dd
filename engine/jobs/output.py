"""Writing a period's issued documents and monthly reports into a folder.

``slabill run --out``, ``slabill notes render``, ``slabill report`` and the demo read the
store and write files; the rendering is ``invoices``'.  A document's HTML, the document
the customer received, is written only as the bytes it was issued with (and so is the
text, for documents issued when its hash was stored too): in the customer's own locale
each rendering is checked against the hash stored at issue, and a document that no
longer renders to them is refused, never written.

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
from ..store import Store
from .formats import DOCUMENT_FORMATS, OUT_FORMATS, REPORT_FORMATS


class IssuedBytesError(SlabillError):
    """A stored document no longer renders to the bytes it was issued with: it is not written."""


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


def rendered(row, format: str, locale: str | None = None) -> bytes:
    """A stored document's bytes in ``format``; in the customer's own locale, checked against the hash issued."""
    from invoices.documents import Document
    from invoices.render import render

    document = Document.from_json(json.loads(row.content_json))
    data = render(document, format, locale).encode("utf-8")
    column = DOCUMENT_FORMATS.get(format)
    expected = getattr(row, column, None) if column else None
    # The HTML's hash was stored at issue (the text's too, for documents issued before text
    # became a view made on demand): in the customer's locale, these must be those bytes.
    if expected is not None and locale in (None, document.locale) and hashlib.sha256(data).hexdigest() != expected:
        raise IssuedBytesError(f"{row.number} does not render in {format} to the bytes that were issued "
                               f"(sha256 {expected[:12]}...); it was not written")
    return data


def document_file(out: Path, number: str, format: str, locale: str | None = None) -> Path:
    """``<out>/<number>.<format>``, or ``<out>/<number>.<locale>.<format>`` in a locale asked for."""
    return out / (f"{number}.{locale}.{format}" if locale else f"{number}.{format}")


def write_documents(store: Store, out: Path, run_id: int | None = None, *, period: str | None = None,
                    contract: str | None = None, formats: tuple[str, ...] = OUT_FORMATS,
                    locale: str | None = None) -> list[Path]:
    """Documents as files, in each of ``formats``: those a run issued (``run_id``), or every document
    of ``period`` (of one ``contract``) whichever run issued it.  Returns the files, in number order
    of issue."""
    if run_id is None and period is None:
        return []
    rows = store.documents(period=period, contract=contract, run_id=run_id)
    files = []
    for row in rows:
        for format in formats:
            data = rendered(row, format, locale)
            path = document_file(out, row.number, format, locale)
            write_file(path, data)
            files.append(path)
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
