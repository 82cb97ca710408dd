"""Guards with no way round: no TRUNCATE, no REPLACE, and number sequences and the chain's head
that only move with what was issued.

Migration 0002 refuses UPDATE and DELETE of records, documents and lines, row by row.  That
left three ways round, which this migration closes in the database itself, whoever connects:

* **TRUNCATE** (PostgreSQL) fires no row trigger: a BEFORE TRUNCATE trigger on every table
  that holds evidence or what it was computed from refuses it (a TRUNCATE ... CASCADE fires
  it on each table it reaches).  SQLite has no TRUNCATE: its ``DELETE FROM t`` fires the
  DELETE triggers.
* **REPLACE** (SQLite): ``REPLACE INTO`` and ``INSERT OR REPLACE`` delete the row they clash
  with without firing its DELETE trigger (unless a connection turns recursive triggers on,
  which an insider's does not).  A BEFORE INSERT trigger refuses any insert whose key, or a
  unique column, is already taken, so nothing is ever replaced.  (PostgreSQL's ``INSERT ...
  ON CONFLICT DO UPDATE`` is an UPDATE, which the triggers of 0002 refuse.)
* **The number sequences and the audit chain's head**, which the ledger updates in place:
  a sequence moves only forward, and only to the number of documents of its issuer, kind
  and year that are stored, so it can advance only once the issuing transaction has
  inserted the documents it numbers (the ledger inserts them before it moves the
  sequence), and can never be moved back or on to leave a gap.  The chain's head moves only
  to the newest record's hash, and its length grows by exactly the records added after the
  old head.  Neither row can be deleted.

Dropping a trigger remains possible for the database's owner; that is what the signed
checkpoints outside the database are for (``engine.audit.checkpoints``).

An index on documents by issuer, kind and issue date keeps the sequences' count cheap.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

EVIDENCE = ("evaluations", "documents", "document_lines", "document_renditions", "audit_chain", "number_sequences",
            "runs", "rule_sets", "issuers", "contracts", "contract_versions", "incidents", "request_counts",
            "invoices", "payments", "tickets", "ticket_pauses", "rate_tables", "deliveries", "delivery_attempts",
            "delivery_runs")
"""every table PostgreSQL refuses to TRUNCATE: the records and what they were computed from and sent"""

KEYS = {
    "evaluations": (("id",), ("record_sha256",), ("contract_id", "period", "revision")),
    "documents": (("id",), ("evaluation_id", "kind"), ("issuer_id", "number")),
    "document_lines": (("id",), ("document_id", "position")),
    "document_renditions": (("id",), ("document_id", "format")),
    "number_sequences": (("issuer_id", "kind", "year"),),
    "audit_chain": (("id",),),
    "runs": (("id",),),
}
"""SQLite: each table an insert may not replace a row of, with its key and unique columns"""

_SEQUENCE_COUNT = ("(SELECT count(*) FROM documents WHERE documents.issuer_id = NEW.issuer_id "
                   "AND documents.kind = NEW.kind AND documents.issue_date BETWEEN {first} AND {last})")


def upgrade() -> None:
    op.create_index("ix_documents_sequence", "documents", ["issuer_id", "kind", "issue_date"])
    if op.get_bind().dialect.name == "postgresql":
        _postgresql()
    else:
        _sqlite()


def _postgresql() -> None:
    op.execute("""
        CREATE FUNCTION slabill_refuse_truncate() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'slabill: TRUNCATE on % refused: it holds evidence, which is never deleted',
                TG_TABLE_NAME USING ERRCODE = 'integrity_constraint_violation';
        END
        $$ LANGUAGE plpgsql
    """)
    for table in EVIDENCE:
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                   "FOR EACH STATEMENT EXECUTE FUNCTION slabill_refuse_truncate()")
    count = _SEQUENCE_COUNT.format(first="make_date(NEW.year, 1, 1)", last="make_date(NEW.year, 12, 31)")
    op.execute(f"""
        CREATE FUNCTION slabill_sequence_guard() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'slabill: DELETE on number_sequences refused: a number sequence is never removed'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'UPDATE' AND (NEW.issuer_id, NEW.kind, NEW.year) IS DISTINCT FROM
                                    (OLD.issuer_id, OLD.kind, OLD.year) THEN
                RAISE EXCEPTION 'slabill: a number sequence cannot be moved to another issuer, kind or year'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF TG_OP = 'UPDATE' AND NEW.last_number < OLD.last_number THEN
                RAISE EXCEPTION 'slabill: number sequence moved back from % to % refused: numbers only move forward',
                    OLD.last_number, NEW.last_number USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF NEW.last_number <> {count} THEN
                RAISE EXCEPTION 'slabill: number sequence set to % refused: it may only reach the number of '
                    'documents its issuing transaction stored', NEW.last_number
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
    """)
    op.execute("CREATE TRIGGER number_sequences_guard BEFORE INSERT OR UPDATE OR DELETE ON number_sequences "
               "FOR EACH ROW EXECUTE FUNCTION slabill_sequence_guard()")
    op.execute("""
        CREATE FUNCTION slabill_chain_guard() RETURNS trigger AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'slabill: DELETE on audit_chain refused: the chain''s head is never removed'
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            IF NEW.id <> OLD.id OR NEW.length < OLD.length
               OR NEW.last_sha256 IS DISTINCT FROM (SELECT record_sha256 FROM evaluations ORDER BY id DESC LIMIT 1)
               OR NEW.length <> OLD.length + (SELECT count(*) FROM evaluations WHERE id > coalesce(
                   (SELECT id FROM evaluations WHERE record_sha256 = OLD.last_sha256), 0)) THEN
                RAISE EXCEPTION 'slabill: audit_chain moved to % records refused: its head only moves to the '
                    'newest record, by the records added', NEW.length
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END
        $$ LANGUAGE plpgsql
    """)
    op.execute("CREATE TRIGGER audit_chain_guard BEFORE UPDATE OR DELETE ON audit_chain "
               "FOR EACH ROW EXECUTE FUNCTION slabill_chain_guard()")
    op.execute("CREATE TRIGGER runs_no_delete BEFORE DELETE ON runs FOR EACH ROW EXECUTE FUNCTION slabill_refuse_change()")


def _refuse(name: str, event: str, table: str, when: str, message: str) -> None:
    op.execute(f"CREATE TRIGGER {name} BEFORE {event} ON {table} WHEN {when} "
               f"BEGIN SELECT RAISE(ABORT, '{message}'); END")


def _sqlite() -> None:
    for table, keys in KEYS.items():
        clash = " OR ".join("(" + " AND ".join(f"{column} = NEW.{column}" for column in key) + ")" for key in keys)
        _refuse(f"{table}_no_replace", "INSERT", table, f"EXISTS (SELECT 1 FROM {table} WHERE {clash})",
                f"slabill: INSERT over a stored row of {table} refused: evidence is never replaced")
    count = _SEQUENCE_COUNT.format(first="printf('%04d-01-01', NEW.year)", last="printf('%04d-12-31', NEW.year)")
    _refuse("number_sequences_no_move", "UPDATE", "number_sequences",
            "NEW.issuer_id <> OLD.issuer_id OR NEW.kind <> OLD.kind OR NEW.year <> OLD.year",
            "slabill: a number sequence cannot be moved to another issuer, kind or year")
    _refuse("number_sequences_forward", "UPDATE", "number_sequences", "NEW.last_number < OLD.last_number",
            "slabill: number sequence moved back refused: numbers only move forward")
    # (SQLite fires triggers in no promised order: the one that says "moved back" is the only one
    # that fires for a sequence moved back.)
    for event, when in (("INSERT", f"NEW.last_number <> {count}"),
                        ("UPDATE", f"NEW.last_number >= OLD.last_number AND NEW.last_number <> {count}")):
        _refuse(f"number_sequences_issued_{event.lower()}", event, "number_sequences", when,
                "slabill: number sequence set refused: it may only reach the number of documents its issuing "
                "transaction stored")
    _refuse("number_sequences_no_delete", "DELETE", "number_sequences", "1",
            "slabill: DELETE on number_sequences refused: a number sequence is never removed")
    _refuse("audit_chain_forward", "UPDATE", "audit_chain",
            "NEW.id <> OLD.id OR NEW.length < OLD.length "
            "OR NEW.last_sha256 IS NOT (SELECT record_sha256 FROM evaluations ORDER BY id DESC LIMIT 1) "
            "OR NEW.length <> OLD.length + (SELECT count(*) FROM evaluations WHERE id > coalesce("
            "(SELECT id FROM evaluations WHERE record_sha256 = OLD.last_sha256), 0))",
            "slabill: audit_chain move refused: its head only moves to the newest record, by the records added")
    _refuse("audit_chain_no_delete", "DELETE", "audit_chain", "1",
            "slabill: DELETE on audit_chain refused: the chain''s head is never removed")
    _refuse("runs_no_delete", "DELETE", "runs", "1", "slabill: DELETE on runs refused: a run is never removed")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER runs_no_delete ON runs")
        op.execute("DROP TRIGGER audit_chain_guard ON audit_chain")
        op.execute("DROP FUNCTION slabill_chain_guard()")
        op.execute("DROP TRIGGER number_sequences_guard ON number_sequences")
        op.execute("DROP FUNCTION slabill_sequence_guard()")
        for table in EVIDENCE:
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION slabill_refuse_truncate()")
    else:
        for table in KEYS:
            op.execute(f"DROP TRIGGER {table}_no_replace")
        for name in ("number_sequences_no_move", "number_sequences_forward", "number_sequences_issued_insert",
                     "number_sequences_issued_update", "number_sequences_no_delete", "audit_chain_forward",
                     "audit_chain_no_delete", "runs_no_delete"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_index("ix_documents_sequence", table_name="documents")
