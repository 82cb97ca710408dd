"""``slabill audit export``: the rule sets used and every record, as JSON Lines an auditor can check without slabill.

The first line describes the export (its period, whether it holds the whole chain, the
chain's length and head, and a checkpoint of that head signed with the key of the
checkpoints' folder, ``engine.audit.checkpoints``); then one line per rule set used, then
one per record with its documents, in chain order.  A whole-chain export also holds, in
their places, the loads of measurements sealed between the records (``load`` lines), which
are entries of the chain too.  A whole-chain export can be checked link by link, up to the
signed head; a period's records are a subset of the chain, so only each record's own
hashes can be checked.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import IO, Any

from ..store import Store
from .checkpoints import checkpoint_of
from .measurements import LoadsOnChain
from .records import GENESIS


def export(store: Store, out: IO[str], period: str | None = None, key: Any = None,
           written_at: datetime | None = None) -> tuple[int, int]:
    """Write the export; returns how many rule sets and records it holds.

    With ``key`` (the checkpoints' Ed25519 key, ``checkpoints.signing_key``) and ``written_at``, the header carries a signed checkpoint of the chain's
    head as exported; without, its ``checkpoint`` is null.
    """
    checkpoint = checkpoint_of(store, key, written_at, export=period or "complete") if key is not None else None
    records = [row for row in store.record_rows() if period is None or row.period == period]
    used = sorted({row.ruleset_sha256 for row in records})
    if checkpoint is not None:
        length, head = checkpoint["chain_length"], checkpoint["chain_head"]
    else:
        chain = store.chain()
        length, head = chain.length, chain.last_sha256
    out.write(json.dumps({"type": "export", "period": period, "complete": period is None,
                          "chain_length": length, "chain_head": head, "checkpoint": checkpoint}) + "\n")
    for sha in used:
        rule = store.stored_rule_set_row(sha)
        out.write(json.dumps({"type": "ruleset", "sha256": sha, "ruleset": rule.ruleset, "version": rule.version,
                              "canonical_json": rule.canonical_json}, ensure_ascii=False) + "\n")
    by_record = store.documents_by_record()
    # A whole-chain export holds the loads between the records, so each link can be followed.
    loads = LoadsOnChain(store) if period is None else None
    head = GENESIS
    for row in records:
        if loads is not None:
            head = _write_loads(out, loads, head, row.previous_sha256)
        head = row.record_sha256
        out.write(json.dumps({
            "type": "record", "id": row.id, "record_sha256": row.record_sha256,
            "previous_sha256": row.previous_sha256, "record_json": row.record_json,
            "documents": [{"number": d.number, "content_sha256": d.content_sha256, "content_json": d.content_json}
                          for d in by_record.get(row.id, [])],
        }, ensure_ascii=False) + "\n")
    if loads is not None:
        _write_loads(out, loads, head, None)
    return len(used), len(records)


def _write_loads(out: IO[str], loads: LoadsOnChain, head: str, until: str | None) -> str:
    """The loads sealed after ``head``, up to the entry ``until`` links to, each as a ``load`` line."""
    before = len(loads.followed)
    head = loads.follow(head, until)
    for row in loads.followed[before:]:
        out.write(json.dumps({"type": "load", "id": row.id, "entry_sha256": row.entry_sha256,
                              "previous_sha256": row.previous_sha256, "entry_json": row.entry_json},
                             ensure_ascii=False) + "\n")
    return head
