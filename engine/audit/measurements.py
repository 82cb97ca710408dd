"""Measurements as evidence: the loads on the audit chain, and the stored rows checked against them.

Each load that added or corrected measurement rows is an entry of the audit chain,
between evaluation records (``engine.store.loads``).  ``verify`` walks the chain record by
record; ``LoadsOnChain.follow`` takes it over the loads that were sealed between two
records (or after the last), so the walk stays one chain, and a store whose chain holds
only evaluation records (written before loads were recorded) walks exactly as before.

``check_measurements`` then holds every stored incident and request interval, current
or superseded, to the load that vouches for it: the rows each load added must hash to
the digest it sealed, in the order it inserted them, and the rows it superseded must be
the ones it named.  A row edited, added, removed or un-superseded behind slabill's back
is a finding that names the table, the load and, where its content no longer matches
its own key, the row.
"""

from __future__ import annotations

import json
from decimal import Decimal
from hashlib import sha256
from typing import Any

from ..core.canonical import from_micros, instant_text, sha256_text
from ..core.model import Incident
from ..core.schema import Cause
from ..store import Store
from ..store.loading import incident_key
from ..store.loads import LOAD_KIND, MEASURED, rows_text


class LoadsOnChain:
    """The loads recorded in a store, to be followed along the chain from the hashes they link to."""

    def __init__(self, store: Store) -> None:
        self.rows = store.load_rows()
        self._after: dict[str, Any] = {}
        self.twice: list[int] = []
        """loads that claim the same place in the chain as another"""
        for row in self.rows:
            if row.previous_sha256 in self._after:
                self.twice.append(row.id)
            self._after[row.previous_sha256] = row
        self.followed: list[Any] = []

    def follow(self, head: str, until: str | None) -> str:
        """The head after the loads that follow ``head``, up to the entry that links to ``until``.

        ``until`` is the hash the next record says came before it (None: the chain's end).
        If no load leads there, the head stays where the loads end, and the record is then
        found not to follow it.
        """
        while head != until and head in self._after:
            row = self._after.pop(head)
            self.followed.append(row)
            head = row.entry_sha256
        return head


def check_measurements(store: Store, loads: LoadsOnChain) -> str | None:
    """The loads' entries, and every stored measurement row against the load that vouches for it.

    Returns the first problem, in one sentence, or None.
    """
    if loads.twice:
        return f"load {loads.twice[0]} claims the place of another entry in the chain: a load was inserted"
    followed = {row.id for row in loads.followed}
    for row in loads.rows:
        if row.id not in followed:
            return f"load {row.id} is not on the chain: it was inserted, or the chain re-linked around it"
    entries: dict[int, dict[str, Any]] = {}
    for row in loads.followed:
        if sha256_text(row.entry_json) != row.entry_sha256:
            return f"load {row.id}: its entry no longer matches its hash: it was edited"
        entry = json.loads(row.entry_json)
        if entry.get("kind") != LOAD_KIND or entry.get("load") != row.id or entry.get("previous") != row.previous_sha256:
            return f"load {row.id}: its entry names another load or place in the chain than its row"
        entries[row.id] = {file["table"]: file for file in entry["files"].values()}
    for table in MEASURED:
        problem = _check_table(store, table, entries)
        if problem:
            return problem
    return None


def _check_table(store: Store, table: str, entries: dict[int, dict[str, Any]]) -> str | None:
    name = MEASURED[table][0]
    added: dict[int, list] = {}  # load -> [count, digest of rows]
    superseded: dict[int, list] = {}  # load -> [count, digest of ids]
    end = 3 + len(MEASURED[table][1])
    for chunk in store.measured_rows(table):
        # Rows of one load come one after the other: each run of them is hashed in one go.
        start = 0
        for index in range(1, len(chunk) + 1):
            if index < len(chunk) and chunk[index][1] == chunk[start][1]:
                continue
            load_id = chunk[start][1]
            if load_id not in entries:
                row = chunk[start]
                return (f"{table} row {row[0]} ({_who(table, row)}) was added by no load on the chain"
                        + (f" (it names load {load_id})" if load_id is not None else "") + ": it was inserted")
            found = added.setdefault(load_id, [0, sha256()])
            found[0] += index - start
            found[1].update(rows_text(row[3:end] for row in chunk[start:index]))
            start = index
        for row in chunk:
            if row[2] is not None:
                problem = _mark(table, row, entries, superseded)
                if problem:
                    return problem
    for load_id, files in entries.items():
        vouched = files.get(table, {"added": 0, "added_sha256": sha256().hexdigest(), "superseded": 0,
                                    "superseded_sha256": sha256().hexdigest()})
        count, digest = added.get(load_id, [0, sha256()])
        if (count, digest.hexdigest()) != (vouched["added"], vouched["added_sha256"]):
            edited = _edited_row(store, table, load_id)
            what = f"{table} row {edited[0]} ({edited[1]}) no longer matches its key: it was edited; " if edited else ""
            return (f"{what}the {table} rows load {load_id} added from {name} ({count} stored) no longer match the "
                    f"{vouched['added']} it recorded: a row was edited, added or removed")
        count, digest = superseded.get(load_id, [0, sha256()])
        if (count, digest.hexdigest()) != (vouched["superseded"], vouched["superseded_sha256"]):
            return (f"the {table} rows marked superseded by load {load_id} ({count}) are not the {vouched['superseded']} "
                    "it superseded: a mark was removed or added")
    return None


def _mark(table: str, row: tuple, entries: dict[int, dict[str, Any]], superseded: dict[int, list]) -> str | None:
    row_id, superseded_by = row[0], row[2]
    if superseded_by not in entries:
        return (f"{table} row {row_id} ({_who(table, row)}) says load {superseded_by} superseded it, "
                "but no such load is on the chain")
    marked = superseded.setdefault(superseded_by, [0, sha256()])
    marked[0] += 1
    marked[1].update(f"{row_id}\n".encode())
    return None


def _who(table: str, row: tuple) -> str:
    """A few words that say which row: its contract and service, ticket, invoice..."""
    if table == "incidents":
        return f"{row[3]} {row[4]} from {instant_text(from_micros(row[6]))}"
    if table in ("ticket_pauses", "payments"):
        return f"{row[4]} {row[5]}"
    return f"{row[3]} {row[4]}"


def _edited_row(store: Store, table: str, load_id: int) -> tuple[int, str] | None:
    """A row of the load whose content no longer hashes to its own key (incidents, pauses and payments
    have one), so the finding can name it."""
    if table not in _KEYED:
        return None
    for row in (row for chunk in store.measured_rows(table) for row in chunk):
        if row[1] == load_id and _KEYED[table](row, load_id):
            return row[0], _who(table, row)
    return None


def _incident_edited(row: tuple, load_id: int) -> bool:
    (_, _, _, contract, service, incident, start, end, cause, announced, impact, _source, key) = row
    try:
        content = Incident(from_micros(start), from_micros(end), Cause(cause),
                           from_micros(announced) if announced is not None else None, 0,
                           Decimal(impact) if impact is not None else None, incident)
        expected = incident_key(contract, service, content)
    except (ValueError, ArithmeticError):
        return True
    # an earlier content that came back has the load that brought it back in its key
    return key != expected and key != sha256_text(f"{expected}|load={load_id}")


_KEYED = {
    "incidents": _incident_edited,
    # (their keys as engine.store.loading makes them; a date is its ISO text, as SQLite hands it back)
    "ticket_pauses": lambda row, _: row[3] != sha256_text(f"{row[4]}|{row[5]}|{row[6]}"),
    "payments": lambda row, _: row[3] != sha256_text(f"{row[4]}|{row[5]}|{row[6]}"),
}
