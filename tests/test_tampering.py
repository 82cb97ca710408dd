"""Evidence that holds against an insider (issue 17): each kind of tampering, on SQLite and PostgreSQL.

We act as someone with the database in hand: the triggers dropped (SQLite) or switched off
for the session (PostgreSQL's replica role), rows rewritten, and the hash chain re-sealed
the way slabill seals it.  For each kind, ``audit verify`` given the checkpoints the run
wrote exits 1 and names what was broken.  Then the guards the database keeps by itself:
TRUNCATE, REPLACE and a number sequence moved back are refused without any help from slabill.

The kinds: nine that verify caught before (an edited record text, an edited record column,
a record deleted from the middle, the last record deleted, records reordered, an edited
document line, an edited document total, a deleted document, an edited rule set) and
those it missed (a credit note lowered consistently, TRUNCATE with the head reset, the last
records removed with the head and sequences adjusted, a record deleted from the middle and
the chain re-linked, a number sequence moved back, a measurement edited inside a record and
re-sealed, a REPLACE over a document, and no anchor: a forged or unsigned checkpoint).  A
stored incident row edited is part B's (the loads recorded on the chain).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from engine.audit.checkpoints import KEY_FILE, PUBLIC_KEY_FILE, read_checkpoint, signed
from engine.audit.records import GENESIS
from engine.audit.replay import replay
from engine.audit.verify import verify
from engine.cli import app
from engine.core.canonical import canonical, sha256_text
from engine.core.period import Period
from engine.jobs.run import monthly_run
from engine.store import Store
from invoices.derive import documents_problem
from tests.conftest import load_fixtures
from tests.test_audit import readme_checker

OCTOBER = Period(2026, 10)


def clock():
    return datetime(2026, 11, 2, 6, 0, tzinfo=timezone.utc)


@pytest.fixture
def ran(store, tmp_path):
    """The fixture book run for October, its checkpoint signed into tmp_path/anchors."""
    load_fixtures(store)
    summary = monthly_run(store, OCTOBER, as_of=date(2026, 11, 2), now=clock, checkpoints=tmp_path / "anchors")
    assert summary.checkpoint is not None and summary.checkpoint.parent == tmp_path / "anchors"
    store.anchors = [summary.checkpoint]
    return store


class Insider:
    """A connection with the guards off, as the database's owner has one."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.connection = store.engine.connect()
        if store.dialect == "sqlite":
            for (name,) in self.connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).all():
                self.connection.execute(text(f"DROP TRIGGER {name}"))
            self.connection.commit()
        else:
            self.connection.execute(text("SET session_replication_role = replica"))  # triggers off for this session

    def __enter__(self) -> "Insider":
        return self

    def __exit__(self, *exc) -> None:
        self.connection.commit()
        self.connection.close()

    def run(self, statement: str, **parameters):
        return self.connection.execute(text(statement), parameters)

    def rows(self, statement: str, **parameters) -> list:
        return self.run(statement, **parameters).all()

    def reseal(self, first_id: int) -> None:
        """Re-hash every record from ``first_id`` on, each onto the one before, and move the head:
        what slabill does when it seals (``engine.audit.records.seal_parts``)."""
        before = self.rows("SELECT record_sha256 FROM evaluations WHERE id < :id ORDER BY id DESC LIMIT 1", id=first_id)
        previous = before[0][0] if before else GENESIS
        loads = dict(self.rows("SELECT previous_sha256, entry_sha256 FROM loads"))
        while previous in loads:  # a load of measurements sealed after that record comes before this one
            previous = loads[previous]
        for record_id, record_json in self.rows("SELECT id, record_json FROM evaluations WHERE id >= :id ORDER BY id",
                                                id=first_id):
            record = json.loads(record_json)
            record["previous"] = previous
            sealed = canonical(record)
            self.run("UPDATE evaluations SET record_json = :text, record_sha256 = :sha, previous_sha256 = :previous "
                     "WHERE id = :id", text=sealed, sha=sha256_text(sealed), previous=previous, id=record_id)
            previous = sha256_text(sealed)
        self.set_head()

    def set_head(self) -> None:
        """The head where the chain's entries now end: records, and loads of measurements between them,
        followed link by link from the start."""
        following = dict(self.rows("SELECT previous_sha256, record_sha256 FROM evaluations"))
        following.update(self.rows("SELECT previous_sha256, entry_sha256 FROM loads"))
        head, length = GENESIS, 0
        while head in following:
            head, length = following[head], length + 1
        self.run("UPDATE audit_chain SET last_sha256 = :head, length = :length", head=head, length=length)

    def delete_record(self, record_id: int) -> None:
        for statement in ("DELETE FROM document_renditions WHERE document_id IN "
                          "(SELECT id FROM documents WHERE evaluation_id = :id)",
                          "DELETE FROM document_lines WHERE document_id IN "
                          "(SELECT id FROM documents WHERE evaluation_id = :id)",
                          "DELETE FROM documents WHERE evaluation_id = :id",
                          "DELETE FROM evaluations WHERE id = :id"):
            self.run(statement, id=record_id)

    def sequences_to_documents(self) -> None:
        """Each number sequence set to the documents left, as _check_sequence counts them."""
        for issuer, kind in self.rows("SELECT issuer_id, kind FROM number_sequences"):
            count = self.rows("SELECT count(*) FROM documents WHERE issuer_id = :issuer AND kind = :kind",
                              issuer=issuer, kind=kind)[0][0]
            self.run("UPDATE number_sequences SET last_number = :count WHERE issuer_id = :issuer AND kind = :kind",
                     count=count, issuer=issuer, kind=kind)


def verified(store: Store, *checkpoints: Path, code: int = 1):
    arguments = ["audit", "verify", "--db", store.url, "--workers", "1"]
    for path in checkpoints:
        arguments += ["--checkpoint", str(path)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == code, result.output
    return result


def caught(store: Store, *expected: str) -> str:
    """verify, given the run's checkpoints, exits 1 and names what was broken."""
    result = verified(store, *store.anchors)
    for words in expected:
        assert words in result.stderr, result.stderr
    return result.stderr


# --- the nine kinds verify caught before ---------------------------------------------------------------------

def test_an_edited_record_text(ran):
    with Insider(ran) as insider:
        [(record_json,)] = insider.rows("SELECT record_json FROM evaluations WHERE id = 1")
        edited = record_json.replace('"credit_total":"224.58"', '"credit_total":"24.58"')
        assert edited != record_json
        insider.run("UPDATE evaluations SET record_json = :text WHERE id = 1", text=edited)
    caught(ran, "record 1 (C-1001 2026-10 revision 0): its text no longer matches its hash")


def test_an_edited_record_column(ran):
    with Insider(ran) as insider:
        insider.run("UPDATE evaluations SET credit_total = '0.00' WHERE id = 2")
    caught(ran, "record 2 (C-1002 2026-10 revision 0): its column credit_total says '0.00'")


def test_a_record_deleted_from_the_middle(ran):
    with Insider(ran) as insider:
        insider.delete_record(4)
    caught(ran, "record 5 (C-4001 2026-10 revision 0): it does not follow the record before it")


def test_the_last_record_deleted(ran):
    with Insider(ran) as insider:
        insider.delete_record(8)
    caught(ran, "records at the end were deleted")


def test_records_reordered(ran):
    with Insider(ran) as insider:
        rows = {row.id: row for row in insider.rows("SELECT * FROM evaluations WHERE id IN (3, 4)")}
        columns = ("contract_id", "revision", "input_digest", "ruleset_sha256", "credit_total", "credit_status",
                   "record_json", "record_sha256", "previous_sha256")
        assignments = ", ".join(f"{c} = :{c}" for c in columns)
        insider.run("UPDATE evaluations SET record_sha256 = 'parked', contract_id = 'parked' WHERE id = 4")
        insider.run(f"UPDATE evaluations SET {assignments} WHERE id = 3", **{c: getattr(rows[4], c) for c in columns})
        insider.run(f"UPDATE evaluations SET {assignments} WHERE id = 4", **{c: getattr(rows[3], c) for c in columns})
    caught(ran, "record 3 (C-3001 2026-10 revision 0): it does not follow the record before it")


def test_an_edited_document_line(ran):
    note = ran.document("AV-2026-000001")
    with Insider(ran) as insider:
        insider.run("UPDATE document_lines SET net_amount = '12.45' WHERE document_id = :id", id=note.id)
    caught(ran, "document AV-2026-000001: its lines in the store differ from the lines it was issued with")


def test_an_edited_document_total(ran):
    with Insider(ran) as insider:
        insider.run("UPDATE documents SET gross_total = '14.95' WHERE number = 'AV-2026-000001'")
    caught(ran, "document AV-2026-000001: its column gross_total says '14.95'")


def test_a_deleted_document(ran):
    note = ran.document("AV-2026-000002")
    with Insider(ran) as insider:
        insider.run("DELETE FROM document_lines WHERE document_id = :id", id=note.id)
        insider.run("DELETE FROM documents WHERE id = :id", id=note.id)
    caught(ran, f"record {note.evaluation_id} (C-1002 2026-10 revision 0): it lists documents ['AV-2026-000002'] "
                "but the store holds [] for it")


def test_the_last_records_deleted_and_a_document_left(ran):
    # Records 7 (C-6001, which issued ADJ-2026-000004) and 8 (C-7001, which issued nothing) removed,
    # the adjustment kept, the chain's head set back: the chain itself is whole.
    with Insider(ran) as insider:
        if ran.dialect == "sqlite":  # the database's owner turns the foreign keys off too
            insider.connection.commit()
            insider.connection.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")
        insider.run("DELETE FROM evaluations WHERE id IN (7, 8)")
        insider.set_head()
    caught(ran, "document(s) ADJ-2026-000004 belong to no record in the chain")


def test_the_orphaned_documents_are_found_by_an_anti_join(ran):
    # NOT IN (subquery) was: once the records' ids outgrow work_mem PostgreSQL cannot hash them and
    # rescans them for each document, O(documents x records); audit verify at 1,000,000 records had
    # spent 15 minutes there when stopped.  With a work_mem far too small for them, the plan stays a join.
    from engine.store.reading import ORPHANS

    if ran.dialect != "postgresql":
        pytest.skip("SQLite runs NOT IN and NOT EXISTS alike, through the primary key")
    with ran.engine.begin() as connection:
        connection.execute(text("SET LOCAL work_mem = '64kB'"))
        query = str(ORPHANS.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
        plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {query}")))
    assert "Anti Join" in plan and "SubPlan" not in plan, plan


def test_an_edited_rule_set(ran):
    with Insider(ran) as insider:
        insider.run("UPDATE rule_sets SET canonical_json = replace(canonical_json, '\"cap\":\"50\"', '\"cap\":\"5\"')")
    caught(ran, "no longer hashes to", "it was edited")


# --- the kinds it missed ------------------------------------------------------------------------------------------

def lower(insider: Insider, number: str, net: str) -> None:
    """Rewrite a credit note to one line of ``net``, its VAT, totals and hash, the record's entry for it,
    and re-seal the chain from that record: a consistent forgery of everything but the record's figures."""
    [(document_id, evaluation_id, content_json)] = insider.rows(
        "SELECT id, evaluation_id, content_json FROM documents WHERE number = :number", number=number)
    content = json.loads(content_json)
    line = {**content["lines"][0], "net": net}
    tax = (Decimal(net) * Decimal(line["vat_rate"]) / 100).quantize(Decimal("0.01"))
    gross = str(Decimal(net) + tax)
    content.update(lines=[line], net_total=net, tax_total=str(tax), gross_total=gross,
                   vat=[{**content["vat"][0], "base": net, "tax": str(tax)}])
    text_ = canonical(content)
    insider.run("DELETE FROM document_lines WHERE document_id = :id", id=document_id)
    insider.run("INSERT INTO document_lines (document_id, position, kind, objective, net_amount, vat_rate, detail_json) "
                "VALUES (:id, 1, :kind, :objective, :net, :rate, :detail)", id=document_id, kind=line["kind"],
                objective=line["objective"], net=net, rate=line["vat_rate"], detail=canonical(line["detail"]))
    insider.run("UPDATE documents SET content_json = :text, content_sha256 = :sha, net_total = :net, "
                "tax_total = :tax, gross_total = :gross WHERE id = :id", text=text_, sha=sha256_text(text_), net=net,
                tax=str(tax), gross=gross, id=document_id)
    [(record_json,)] = insider.rows("SELECT record_json FROM evaluations WHERE id = :id", id=evaluation_id)
    record = json.loads(record_json)
    for listed in record["documents"]:
        if listed["number"] == number:
            listed.update(gross_total=gross, content_sha256=sha256_text(text_))
    insider.run("UPDATE evaluations SET record_json = :text WHERE id = :id", text=canonical(record), id=evaluation_id)
    insider.reseal(evaluation_id)


def test_a_credit_note_lowered_consistently(ran):
    # AV-2026-000001 credits C-1001 224.58 (124.58 for availability, 100.00 for two late P1 tickets);
    # lowered to 0.01, with its lines, totals, hash, the record's entry and the chain all rewritten.
    with Insider(ran) as insider:
        lower(insider, "AV-2026-000001", "0.01")
    # Without the checkpoint, the record's own figures still give the note away...
    alone = verified(ran)
    assert ("record 1 (C-1001 2026-10 revision 0): document AV-2026-000001: its lines come to 0.01 EUR net, but the "
            "record's figures give 224.58: its lines do not follow from the record") in alone.stderr
    # ...which replay, re-evaluating the figures from the inputs, cannot: they were not touched.
    assert [o.differences for o in replay(ran, evaluation_id=1)] == [[]]
    caught(ran, "document AV-2026-000001: its lines come to 0.01 EUR net")


def test_truncation_with_the_head_reset(ran):
    with Insider(ran) as insider:
        if ran.dialect == "postgresql":
            insider.run("TRUNCATE document_renditions, document_lines, documents, evaluations CASCADE")
        else:  # SQLite has no TRUNCATE: an unqualified DELETE is its truncation
            for table in ("document_renditions", "document_lines", "documents", "evaluations"):
                insider.run(f"DELETE FROM {table}")
        insider.set_head()
    assert ran.chain().length == 1  # the fixtures' load, the chain's first entry, is left
    caught(ran, "saw 9 entries of the chain", "but the store holds 1: records were removed")
    # Without a checkpoint, the run's summary still counts what it recorded.
    assert "run 1 of 2026-10 recorded 8 evaluation(s), but the store holds 0 of it" in verified(ran).stderr


def test_the_last_records_removed_with_head_and_sequences_adjusted(ran):
    with Insider(ran) as insider:
        for record_id in (8, 7, 6):
            insider.delete_record(record_id)
        insider.set_head()
        insider.sequences_to_documents()
    caught(ran, "saw 9 entries of the chain", "but the store holds 6: records were removed")
    assert "run 1 of 2026-10 recorded 8 evaluation(s), but the store holds 5 of it" in verified(ran).stderr


def test_a_record_deleted_from_the_middle_and_the_chain_relinked(ran):
    # C-3001 (record 4) issued ADJ-2026-000002, its late fees: the adjustments now skip 2.
    with Insider(ran) as insider:
        insider.delete_record(4)
        insider.reseal(5)
        insider.sequences_to_documents()
    caught(ran, "saw 9 entries of the chain", "but the store holds 8: records were removed")
    assert "run 1 of 2026-10 recorded 8 evaluation(s), but the store holds 7 of it" in verified(ran).stderr


def test_a_number_sequence_moved_back(ran):
    with Insider(ran) as insider:
        insider.run("UPDATE number_sequences SET last_number = last_number - 3 WHERE kind = 'credit_note'")
    caught(ran, "saw the credit_note numbers of 2026 (issuer 1) at 4, but the store's sequence is at 1: "
                "it was moved back")
    assert ("the credit_note numbers of 2026 (issuer 1) end at 4, but their sequence says 1: it was moved back"
            in verified(ran).stderr)


def test_a_measurement_edited_inside_a_record_and_resealed(ran):
    # C-1001's record: one incident made shorter, its inputs' digest recomputed, the chain re-sealed.
    # The record's figures and documents are untouched, so only the checkpoint can tell.
    with Insider(ran) as insider:
        [(record_json,)] = insider.rows("SELECT record_json FROM evaluations WHERE id = 1")
        record = json.loads(record_json)
        incident = record["inputs"]["incidents"][0]
        incident["end"] = incident["start"]
        record["input_digest"] = sha256_text(canonical(record["inputs"]))
        insider.run("UPDATE evaluations SET record_json = :text, input_digest = :digest WHERE id = 1",
                    text=canonical(record), digest=record["input_digest"])
        insider.reseal(1)
    verified(ran, code=0)  # the chain holds, links and figures: only an anchor kept outside tells
    caught(ran, "saw entry 9 of the chain with hash", "the chain was rewritten")


def test_an_amount_edited_inside_a_record_and_resealed(ran):
    # C-1001's total lowered from 224.58 to 24.58 in its record and its column, the chain re-sealed;
    # its objectives' credits (124.58 and 100.00, no cap) still add up to 224.58.
    with Insider(ran) as insider:
        [(record_json,)] = insider.rows("SELECT record_json FROM evaluations WHERE id = 1")
        record = json.loads(record_json)
        record["result"]["evaluation"]["credit_total"] = "24.58"
        insider.run("UPDATE evaluations SET record_json = :text, credit_total = '24.58' WHERE id = 1",
                    text=canonical(record))
        insider.reseal(1)
    caught(ran, "record 1 (C-1001 2026-10 revision 0): its credit_total 24.58 does not follow from its objectives' "
                "credits, which come to 224.58: a figure in it was edited")


def test_a_document_replaced(ran):
    # REPLACE INTO (SQLite) or INSERT ... ON CONFLICT DO UPDATE (PostgreSQL) over a stored document.
    row = ran.document("AV-2026-000001")
    columns = ("id", "number", "kind", "issue_date", "issuer_id", "contract_id", "period", "evaluation_id",
               "currency", "locale", "net_total", "tax_total", "gross_total", "corrects_id", "content_json",
               "content_sha256", "html_sha256", "text_sha256", "e_invoice", "xml_sha256")
    values = {c: getattr(row, c) for c in columns} | {"gross_total": "0.01"}
    names, placeholders = ", ".join(columns), ", ".join(f":{c}" for c in columns)
    with Insider(ran) as insider:
        if ran.dialect == "sqlite":
            insider.run(f"REPLACE INTO documents ({names}) VALUES ({placeholders})", **values)
        else:
            insider.run(f"INSERT INTO documents ({names}) VALUES ({placeholders}) "
                        "ON CONFLICT (id) DO UPDATE SET gross_total = excluded.gross_total", **values)
    caught(ran, "document AV-2026-000001: its column gross_total says '0.01'")


def test_no_anchor_a_forged_or_unsigned_checkpoint(ran, tmp_path):
    """verify prints the head it verified; a checkpoint signed by another key, or by none, is a finding."""
    [checkpoint] = ran.anchors
    result = verified(ran, checkpoint, code=0)
    data = json.loads(checkpoint.read_text())
    assert f"extending 1 checkpoint; head {data['chain_head']}." in result.stdout
    assert data["chain_length"] == 9 and data["chain_head"] == ran.chain().last_sha256  # the load and 8 records
    forged = {key: value for key, value in data.items() if key not in ("signature", "key")}
    for name, body in (("forged.json", signed(forged, Ed25519PrivateKey.generate())), ("unsigned.json", forged)):
        path = checkpoint.parent / name
        path.write_text(json.dumps(body))
        result = verified(ran, path)
        expected = "it is not signed" if name == "unsigned.json" else f"it is not signed by the key of {checkpoint.parent}"
        assert f"checkpoint {name}: {expected}" in result.stderr
    data["chain_length"] = 7  # altered after signing
    (checkpoint.parent / "altered.json").write_text(json.dumps(data))
    assert "its signature does not match its content" in verified(ran, checkpoint.parent / "altered.json").stderr


# --- what the database refuses by itself ------------------------------------------------------------------------

def refused(store: Store, statement: str, words: str, **parameters) -> None:
    with pytest.raises(DBAPIError) as raised:
        with store.engine.begin() as connection:
            connection.execute(text(statement), parameters)
    assert words in str(raised.value)


EVIDENCE = ("evaluations", "documents", "document_lines", "document_renditions", "audit_chain", "number_sequences",
            "runs", "incidents", "rule_sets")


@pytest.mark.parametrize("table", EVIDENCE)
def test_truncate_is_refused(ran, table):
    if ran.dialect != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE fires the DELETE triggers")
    refused(ran, f"TRUNCATE {table} CASCADE", f"TRUNCATE on {table} refused")


@pytest.mark.parametrize("table, key", [("evaluations", "id = 1"), ("documents", "number = 'AV-2026-000001'"),
                                        ("document_lines", "id = 1"), ("number_sequences", "kind = 'credit_note'"),
                                        ("audit_chain", "id = 1"), ("runs", "id = 1")])
@pytest.mark.parametrize("verb", ["REPLACE", "INSERT OR REPLACE"])
def test_replace_is_refused(ran, table, key, verb):
    if ran.dialect != "sqlite":
        pytest.skip("PostgreSQL has no REPLACE; its INSERT ... ON CONFLICT DO UPDATE is an UPDATE, refused")
    refused(ran, f"{verb} INTO {table} SELECT * FROM {table} WHERE {key}",
            f"INSERT over a stored row of {table} refused")
    assert verify(ran, planner=documents_problem).ok


def test_the_number_sequence_only_moves_with_the_documents_issued(ran):
    refused(ran, "UPDATE number_sequences SET last_number = last_number - 5 WHERE kind = 'credit_note'",
            "moved back")
    refused(ran, "UPDATE number_sequences SET last_number = last_number + 1 WHERE kind = 'credit_note'",
            "it may only reach the number of documents")
    refused(ran, "DELETE FROM number_sequences", "never removed")
    refused(ran, "UPDATE audit_chain SET length = 0, last_sha256 = :genesis", "audit_chain", genesis=GENESIS)
    refused(ran, "DELETE FROM audit_chain", "never removed")
    refused(ran, "DELETE FROM runs", "refused")
    # ...and the store goes on issuing: a late incident issues a delta credit note, numbered 5.
    from tests.test_audit import load_late

    load_late(ran, Path(ran.anchors[0]).parent.parent, "C-1001,compute,2026-10-12T08:00:00Z,2026-10-12T13:00:00Z,,\n")
    summary = monthly_run(ran, OCTOBER, as_of=date(2026, 12, 1), now=clock, checkpoints=ran.anchors[0].parent)
    assert summary.numbers == ["AV-2026-000005"]
    result = verified(ran, *ran.anchors, summary.checkpoint, code=0)
    assert "extending 2 checkpoints" in result.stdout


FORGED = ("INSERT INTO documents (number, kind, issuer_id, contract_id, period, evaluation_id, issue_date, currency, "
          "locale, net_total, tax_total, gross_total, corrects_id, content_json, content_sha256, html_sha256, "
          "text_sha256, e_invoice, xml_sha256) "
          "SELECT :number, kind, issuer_id, contract_id, period, (SELECT min(id) FROM evaluations WHERE id NOT IN "
          "(SELECT evaluation_id FROM documents WHERE kind = 'credit_note')), :issued, currency, locale, net_total, "
          "tax_total, gross_total, corrects_id, content_json, content_sha256, html_sha256, text_sha256, e_invoice, "
          "xml_sha256 FROM documents WHERE number = 'AV-2026-000001'")
"""a credit note added by hand, a copy of the first under another number, for a record that issued none"""


def moved_with(store: Store, numbers: list[str], last_number: int, issued: date = date(2026, 11, 2)) -> None:
    """Insert credit notes numbered ``numbers``, issued on ``issued``, and move the sequence of 2026 to
    ``last_number``, in one transaction that is then rolled back."""
    with store.engine.connect() as connection:
        with connection.begin() as transaction:
            for number in numbers:
                connection.execute(text(FORGED), {"number": number, "issued": issued})
            connection.execute(text("UPDATE number_sequences SET last_number = :last WHERE kind = 'credit_note'"),
                               {"last": last_number})
            transaction.rollback()


@pytest.mark.parametrize("numbers, last_number", [
    (["AV-2026-000007"], 5),                    # as many documents as the move, but 5 and 6 are missing
    (["AV-2026-000005", "XX-2026-000005"], 6),  # two documents for two numbers, but 5 twice and 6 never
    (["AV-2026-000005", "AV-2026-000006"], 5),  # a document past where the sequence stops
])
def test_a_sequence_moved_over_forged_numbers_is_refused_though_the_count_agrees(ran, numbers, last_number):
    # The credit notes are numbered 1 to 4.  Migration 0009 compared counts and let the first two through.
    with pytest.raises(DBAPIError) as raised:
        moved_with(ran, numbers, last_number)
    assert "it may only reach the number of documents" in str(raised.value)


def test_a_sequence_moved_over_the_numbers_it_issued_is_allowed(ran):
    # What the ledger does: the documents numbered 5 and 6 inserted, then the sequence moved to 6.
    moved_with(ran, ["AV-2026-000005", "AV-2026-000006"], 6)
    moved_with(ran, ["AV-2027-000005"], 4, issued=date(2027, 1, 4))  # another year's, not this sequence's


def _migration(name: str):
    import importlib.util

    path = Path(__file__).parent.parent / "engine" / "store" / "migrations" / "versions" / name
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sequence_guard_reads_only_the_numbers_of_the_move(ran):
    # The guard runs on every batch's move; counting the whole year there made a run O(n^2).  Its query
    # is answered from the index on (issuer, kind, year, number), so it reads the batch's documents only.
    migration = _migration("0012_sequence_guard_counts_the_move.py")
    query = migration.series_moved(ran.dialect, "1", "'credit_note'", "2026", "4")
    with ran.engine.begin() as connection:
        if ran.dialect == "postgresql":
            connection.execute(text("SET LOCAL enable_seqscan = off"))  # a few rows: a scan would win otherwise
            plan = "\n".join(row[0] for row in connection.execute(text(f"EXPLAIN {query}")))
        else:
            plan = "\n".join(str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {query}")))
        assert migration.INDEX in plan, plan
        assert connection.execute(text(query)).one() == (0, 0, None)
        assert connection.execute(text(migration.series_moved(ran.dialect, "1", "'credit_note'", "2026", "2"))
                                  ).one() == (2, 2, 4)


# --- checkpoints ------------------------------------------------------------------------------------------------

def test_a_run_signs_a_checkpoint_with_a_key_only_its_owner_reads(ran):
    folder = ran.anchors[0].parent
    assert stat.S_IMODE(os.stat(folder / KEY_FILE).st_mode) == 0o600
    assert (folder / PUBLIC_KEY_FILE).read_text().startswith("-----BEGIN PUBLIC KEY-----")
    checkpoint = read_checkpoint(ran.anchors[0])
    assert checkpoint.signature_problem is None
    # 4 credit notes and 4 adjustments (2 SLA, 2 late fees) numbered for issuer 1 in 2026.
    assert checkpoint.data["sequences"] == [{"issuer": 1, "kind": "adjustment", "year": 2026, "last_number": 4},
                                            {"issuer": 1, "kind": "credit_note", "year": 2026, "last_number": 4}]
    assert (checkpoint.data["run"], checkpoint.data["period"]) == (1, "2026-10")


def test_the_command_line_signs_beside_a_sqlite_store_and_verifies_an_exports_header(tmp_path, monkeypatch):
    monkeypatch.delenv("SLABILL_CHECKPOINTS")
    store = Store(f"sqlite:///{tmp_path / 'books.db'}")
    load_fixtures(store)
    result = CliRunner().invoke(app, ["run", "--period", "2026-10", "--as-of", "2026-11-02", "--db", store.url,
                                      "--format", "json"])
    assert result.exit_code == 0, result.output
    written = Path(json.loads(result.stdout)["checkpoint"])
    assert written.parent == tmp_path / "books-checkpoints" and written.name == "checkpoint-0000000009-run-1.json"
    exported = tmp_path / "audit.jsonl"
    assert CliRunner().invoke(app, ["audit", "export", "--out", str(exported), "--db", store.url]).exit_code == 0
    header = json.loads(exported.read_text().split("\n", 1)[0])
    assert header["checkpoint"]["chain_head"] == header["chain_head"] == store.chain().last_sha256
    checked = subprocess.run([sys.executable, "-I", str(readme_checker(tmp_path)), str(exported)],
                             capture_output=True, text=True)
    assert (checked.returncode, checked.stdout.strip()) == (0, "8 records and 5 rule sets verified; loads on the chain: 1"), checked.stderr
    # the export's header is a checkpoint verify accepts, with the public key given
    result = CliRunner().invoke(app, ["audit", "verify", "--db", store.url, "--checkpoint", str(exported),
                                      "--checkpoint", str(written), "--public-key",
                                      str(written.parent / PUBLIC_KEY_FILE), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"ok": True, "records": 8, "documents": 8, "head": store.chain().last_sha256,
                                         "checkpoints": 2, "problem": None}
    store.close()


def test_a_folder_that_cannot_keep_checkpoints_is_refused_before_the_run(store, tmp_path):
    load_fixtures(store)
    (tmp_path / "taken").write_text("a file, not a folder")
    result = CliRunner().invoke(app, ["run", "--period", "2026-10", "--as-of", "2026-11-02", "--db", store.url,
                                      "--checkpoints", str(tmp_path / "taken")])
    assert result.exit_code == 2 and "field --checkpoints: cannot keep checkpoints in" in result.stderr, result.output
    assert store.runs() == [] and store.chain().length == 1  # the fixtures' load alone


def test_a_file_that_is_not_a_checkpoint_is_bad_input(ran, tmp_path):
    (tmp_path / "notes.txt").write_text("hello\n")
    result = verified(ran, tmp_path / "notes.txt", code=2)
    assert "notes.txt: this is not a slabill checkpoint (nor an export carrying one)." in result.stderr
    result = verified(ran, tmp_path / "missing.json", code=2)
    assert "missing.json: cannot read the checkpoint" in result.stderr
