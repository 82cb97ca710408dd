"""The number sequence guard checks the numbers a move issues, not the whole year's documents.

Migration 0009 lets a number sequence move only to the number of documents of its issuer,
kind and year that are stored.  It counted them all on every move, and the ledger moves each
sequence once per batch, so a run paid for the year's documents on every batch: O(N²) over a
run.  At 1,000,000 contracts that was about 90 s on SQLite and, on PostgreSQL, a parallel
sequential scan of 322 ms per batch at 295,000 credit notes, the run's main slowdown.

The guard now looks only at the documents of the series numbered above where the sequence
stood (``OLD.last_number``): a move from ``old`` to ``new`` is allowed when those documents
carry exactly the numbers ``old + 1`` to ``new``, each once.  That is the same promise,
checked by induction instead of by recount (each move was checked, so the documents up to
``old`` are those of the earlier moves), and it is stricter: 0009 compared a count, this
compares the numbers, so a forged document with a number past the sequence, or a sequence
pushed on over a gap, is refused even where the counts agree.  A new sequence row (INSERT)
is still checked against the whole count, which is cheap once a year.

The number is the run of digits at the end of the printed number (``AV-2026-000123``:
``invoices.numbering.format_number``), read in SQL as what ``rtrim`` of the digits leaves
off; the year is the issue date's.  An index on (issuer, kind, year, number) over those two
expressions makes the check an index range of the batch's own documents, whatever the
year's size.  On PostgreSQL the guard function plans its query for each call's values
(``plan_cache_mode``): a generic plan cannot know that ``number > old`` selects a batch and
not a third of the table.

What stays as it was: a sequence never moves back, never changes issuer, kind or year, is
never deleted, and the ledger's own check before numbering (``Ledger._check_sequence``)
still counts the year's documents, once per series and run.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

INDEX = "ix_documents_series_number"

SEQUENCE_NUMBER = {
    "postgresql": "CAST(NULLIF(substr(number, length(rtrim(number, '0123456789')) + 1), '') AS bigint)",
    "sqlite": "CAST(substr(number, length(rtrim(number, '0123456789')) + 1) AS INTEGER)",
}
"""the number within its sequence: the digits that end the printed number"""

ISSUE_YEAR = {
    "postgresql": "CAST(EXTRACT(YEAR FROM issue_date) AS integer)",
    "sqlite": "CAST(substr(issue_date, 1, 4) AS INTEGER)",
}
"""the calendar year of issue, the sequence's year (SQLite keeps dates as YYYY-MM-DD text)"""


def series_moved(dialect: str, issuer: str, kind: str, year: str, above: str) -> str:
    """SQL: count, distinct numbers and highest number of a series' documents numbered above ``above``."""
    number = SEQUENCE_NUMBER[dialect]
    return (f"SELECT count(*) AS moved, count(DISTINCT {number}) AS different, max({number}) AS highest FROM documents "
            f"WHERE issuer_id = {issuer} AND kind = {kind} AND {ISSUE_YEAR[dialect]} = {year} AND {number} > {above}")


_REFUSED = ("slabill: number sequence set to % refused: it may only reach the number of documents its issuing "
            "transaction stored")

_COUNT_ALL = ("(SELECT count(*) FROM documents WHERE documents.issuer_id = NEW.issuer_id "
              "AND documents.kind = NEW.kind AND documents.issue_date BETWEEN {first} AND {last})")

_POSTGRESQL_GUARD = """
    CREATE OR REPLACE FUNCTION slabill_sequence_guard() RETURNS trigger AS $$
    DECLARE
        n_moved bigint;
        n_different bigint;
        n_highest bigint;
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
        {check}
        RETURN NEW;
    END
    $$ LANGUAGE plpgsql {settings}
"""

_POSTGRESQL_MOVE = f"""
        IF TG_OP = 'INSERT' AND NEW.last_number <> {_COUNT_ALL.format(first="make_date(NEW.year, 1, 1)",
                                                                    last="make_date(NEW.year, 12, 31)")} THEN
            RAISE EXCEPTION '{_REFUSED}', NEW.last_number USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        IF TG_OP = 'UPDATE' THEN
            {series_moved("postgresql", "NEW.issuer_id", "NEW.kind", "NEW.year", "OLD.last_number")}
                INTO n_moved, n_different, n_highest;
            IF n_moved <> NEW.last_number - OLD.last_number OR n_different <> n_moved
               OR coalesce(n_highest, OLD.last_number) <> NEW.last_number THEN
                RAISE EXCEPTION '{_REFUSED}', NEW.last_number USING ERRCODE = 'integrity_constraint_violation';
            END IF;
        END IF;"""

_POSTGRESQL_COUNT = f"""
        IF NEW.last_number <> {_COUNT_ALL.format(first="make_date(NEW.year, 1, 1)",
                                                 last="make_date(NEW.year, 12, 31)")} THEN
            RAISE EXCEPTION '{_REFUSED}', NEW.last_number USING ERRCODE = 'integrity_constraint_violation';
        END IF;"""
"""0009's check, put back by the downgrade"""

_SQLITE_TRIGGER = "number_sequences_issued_update"
_SQLITE_REFUSED = ("slabill: number sequence set refused: it may only reach the number of documents its issuing "
                   "transaction stored")


def _sqlite_update_trigger(when: str) -> None:
    op.execute(f"DROP TRIGGER {_SQLITE_TRIGGER}")
    op.execute(f"CREATE TRIGGER {_SQLITE_TRIGGER} BEFORE UPDATE ON number_sequences "
               f"WHEN NEW.last_number >= OLD.last_number AND {when} "
               f"BEGIN SELECT RAISE(ABORT, '{_SQLITE_REFUSED}'); END")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.execute(f"CREATE INDEX {INDEX} ON documents "
               f"(issuer_id, kind, ({ISSUE_YEAR[dialect]}), ({SEQUENCE_NUMBER[dialect]}))")
    if dialect == "postgresql":
        op.execute(_POSTGRESQL_GUARD.replace("{check}", _POSTGRESQL_MOVE)
                   .replace("{settings}", "SET plan_cache_mode = force_custom_plan"))
    else:
        moved = series_moved("sqlite", "NEW.issuer_id", "NEW.kind", "NEW.year", "OLD.last_number")
        _sqlite_update_trigger(f"NOT EXISTS (SELECT 1 FROM ({moved}) WHERE moved = NEW.last_number - OLD.last_number "
                               "AND different = moved AND coalesce(highest, OLD.last_number) = NEW.last_number)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(_POSTGRESQL_GUARD.replace("{check}", _POSTGRESQL_COUNT).replace("{settings}", ""))
    else:
        _sqlite_update_trigger("NEW.last_number <> " + _COUNT_ALL.format(first="printf('%04d-01-01', NEW.year)",
                                                                         last="printf('%04d-12-31', NEW.year)"))
    op.execute(f"DROP INDEX {INDEX}")
