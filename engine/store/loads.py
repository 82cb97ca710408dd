"""Loads of measurements as evidence: the text of a stored row, the digests a load seals onto the chain.

A load that adds or corrects measurement rows is recorded on the audit chain, between
evaluation records, as an entry that names, per file, how many rows it added and the
sha256 of their content (``rows_digest``), and how many stored rows its corrections
superseded and which (``ids_digest``).  ``slabill audit verify`` recomputes both from the
stored rows (``engine.audit.measurements``), so a stored row edited, added, removed or
un-superseded behind slabill's back no longer matches the load that vouches for it.

A row's text is its stored columns, written so that no two rows share one: strings with
their length in front, numbers as digits, NULL as ``-``.  It is the stored form, so the
loader and verify compute it alike, and an old store's rows can be vouched for by the
load recorded when it was upgraded (migration 0010).
"""

from __future__ import annotations

from datetime import date
from hashlib import sha256
from typing import Any, Iterable, Sequence

from ..core.canonical import canonical, sha256_text

LOAD_KIND = "load"
"""what an entry of the chain that records a load says it is (an evaluation record says nothing of the kind)"""

MEASURED = {
    # table: (the file its rows come from, the columns a row's text is made of, in order)
    "incidents": ("incidents.csv", ("contract_id", "service", "incident", "start_us", "end_us", "cause",
                                    "announced_us", "impact", "source")),
    "request_counts": ("requests.csv", ("contract_id", "service", "interval_us", "requests", "errors", "source")),
    "tickets": ("tickets.csv", ("ticket", "contract_id", "priority", "created_us", "first_response_us", "resolved_us",
                                "source")),
    "ticket_pauses": ("ticket_pauses.csv", ("row_key", "ticket", "start_us", "end_us", "source")),
    "invoices": ("invoices.csv", ("number", "contract_id", "issued", "due", "net", "tax", "gross", "currency",
                                  "period", "source")),
    "payments": ("payments.csv", ("row_key", "invoice_number", "paid_on", "amount", "source")),
}


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, date):  # as its ISO text, which is what SQLite hands back to a plain query
        value = value.isoformat()
    if isinstance(value, str):
        return f"{len(value)}:{value}"
    return str(int(value))


def row_text(values: Sequence[Any]) -> str:
    """One stored row's columns (in ``MEASURED``'s order) as one unambiguous line.

    >>> row_text(["C-1", "compute", None, 1, 2, "outage", None, None, "a.csv:2"])
    '3:C-1|7:compute|-|1|2|6:outage|-|-|7:a.csv:2'
    """
    # verify writes the text of every stored row: strings and ints, the most of them, first
    return "|".join([f"{len(v)}:{v}" if v.__class__ is str else str(v) if v.__class__ is int else _cell(v)
                     for v in values])


def rows_text(rows: Iterable[Sequence[Any]]) -> bytes:
    """Rows' texts, one per line: what a digest of rows hashes."""
    return "".join([row_text(values) + "\n" for values in rows]).encode("utf-8")


def rows_digest(rows: Iterable[Sequence[Any]]) -> str:
    """The sha256 of rows' texts, one per line, in the order given (the order the load inserted them)."""
    return sha256(rows_text(rows)).hexdigest()


def ids_digest(ids: Iterable[int]) -> str:
    """The sha256 of row ids in ascending order, one per line: which rows a load superseded."""
    return sha256_text("".join(f"{i}\n" for i in sorted(ids)))


def load_entry(load_id: int, files: dict[str, dict[str, Any]], previous: str) -> tuple[str, str]:
    """A load's entry on the chain, as canonical JSON, and its hash.

    ``files`` holds, per file name, the table, ``added`` and ``added_sha256``, and
    ``superseded`` and ``superseded_sha256``.
    """
    text = canonical({"kind": LOAD_KIND, "load": load_id, "files": files, "previous": previous})
    return text, sha256_text(text)


def file_entry(table: str, added: list[Sequence[Any]], superseded: list[int]) -> dict[str, Any]:
    return {"table": table, "added": len(added), "added_sha256": rows_digest(added),
            "superseded": len(superseded), "superseded_sha256": ids_digest(superseded)}
