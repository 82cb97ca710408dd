"""Issuing: the monthly run's rows, and the ledger transaction that numbers and chains what it issues.

``ledger`` is the issuing transaction of the monthly run.  It first locks the head of
the audit chain (``SELECT ... FOR UPDATE`` on PostgreSQL; ``BEGIN IMMEDIATE`` on
SQLite), so writers append one after the other, then reads what was already evaluated
and issued, allocates document numbers from gap-free sequences, and writes records and
documents.  A crash rolls everything back: no number is burned.

A sequence is gap-free, so it must say exactly how many documents of its kind the
issuer issued that year.  Before a ledger first numbers from a sequence it counts them:
a sequence changed behind slabill's back (reset, or moved on) is refused in one sentence
that says what it should say, before any number is given twice or skipped.

A run's row says where it stands: ``running`` while it works (with the host and process
that run it), then ``done``, ``held`` (finished, but held back contracts it could not
evaluate), ``stopped`` (ended by an error it reported; its batches before stand) or
``interrupted`` (its process was killed: the next run finds it gone and says so).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterator

from sqlalchemy import func, insert, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from ..core.canonical import canonical, latest_revisions
from ..core.period import Period
from .database import StoreError, insert_rows, new_ids
from .tables import ChainHeadRow, DocumentLineRow, DocumentRow, EvaluationRow, NumberSequenceRow, RenditionRow, RunRow

FINISHED = ("done", "held", "stopped", "interrupted")

STATISTICS_STEP = 1000
"""records a run adds before the planner is first told (``Issuing._keep_statistics``)"""


class SequenceError(StoreError):
    """A number sequence disagrees with the documents issued: it was changed outside slabill."""


@dataclass(frozen=True)
class Latest:
    """The latest evaluation of a contract for a period, and what its documents gave."""

    evaluation_id: int
    revision: int
    input_digest: str
    ruleset_sha256: str
    record_sha256: str
    documents: tuple[DocumentRow, ...]


class Issuing:
    """The store's runs and issuing transaction (a part of ``Store``)."""

    # -- runs -------------------------------------------------------------------------------------------------------

    def start_run(self, period: Period, as_of: date, started_at: datetime, runner: dict | None = None) -> int:
        """A new run's row, ``running``; ``runner`` says which process runs it (``engine.processes.this_process``)."""
        with self.atomic() as session:
            row = RunRow(period=str(period), as_of=as_of, started_at=started_at.isoformat(timespec="seconds"),
                         summary_json=canonical({"runner": runner} if runner else {}))
            session.add(row)
            session.flush()
            return row.id

    def finish_run(self, run_id: int, summary: dict, finished_at: datetime, status: str = "done") -> None:
        """The run's row once it ended: ``status`` is one of ``FINISHED``; the summary replaces what it said."""
        assert status in FINISHED, status
        with self.atomic() as session:
            session.execute(update(RunRow).where(RunRow.id == run_id).values(
                status=status, finished_at=finished_at.isoformat(timespec="seconds"), summary_json=canonical(summary)))

    def runs(self, period: str | None = None, status: str | None = None) -> list[RunRow]:
        """The runs, oldest first, of a period and with a status where given."""
        with self.reading() as session:
            query = select(RunRow).order_by(RunRow.id)
            if period is not None:
                query = query.where(RunRow.period == period)
            if status is not None:
                query = query.where(RunRow.status == status)
            return list(session.exec(query))

    def mark_interrupted(self, run_id: int, found_at: datetime, found_by: int | None) -> bool:
        """Say that a run still ``running`` was interrupted (its process is gone); False if it ended meanwhile."""
        with self.atomic() as session:
            row = session.get(RunRow, run_id)
            if row is None or row.status != "running":
                return False
            summary = json.loads(row.summary_json or "{}")
            summary["interrupted"] = {"found_at": found_at.isoformat(timespec="seconds"), "found_by_run": found_by}
            session.execute(update(RunRow).where(RunRow.id == run_id, RunRow.status == "running").values(
                status="interrupted", summary_json=canonical(summary)))
            return True

    def check_sequences(self, issuers: set[int], year: int, checked: set) -> None:
        """Before a run starts: the number sequences it will number from agree with the documents issued.

        Checked with the chain's head locked, as a ledger would, so no run issues meanwhile;
        ``checked`` gets each sequence that agrees (``SequenceError`` if one does not).
        """
        with self.atomic() as session:
            query = select(ChainHeadRow).where(ChainHeadRow.id == 1)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            session.exec(query).one()
            Ledger(session, "", 0, checked).check_sequences(issuers, year)

    @contextmanager
    def ledger(self, checked: set | None = None) -> Iterator["Ledger"]:
        """The issuing transaction, with the audit chain's head locked.

        ``checked`` holds the sequences already found to agree with the documents issued
        (a run passes the same set to each of its ledgers, so each is counted once a run).
        """
        numbers: list[str] = []
        try:
            with self.atomic() as session:
                query = select(ChainHeadRow).where(ChainHeadRow.id == 1)
                if self.dialect == "postgresql":
                    query = query.with_for_update()
                head = session.exec(query).one()
                before = head.length
                ledger = Ledger(session, head.last_sha256, head.length, set() if checked is None else checked)
                yield ledger
                numbers = ledger.numbers()
                ledger.write()
                if ledger.length != head.length:
                    session.execute(update(ChainHeadRow).where(ChainHeadRow.id == 1).values(
                        last_sha256=ledger.head, length=ledger.length))
                ledger.flush_numbers()
        except IntegrityError:
            # The sequences were checked when first used; a number can still clash if one was
            # changed since, behind slabill's back (the batch is rolled back: nothing recorded).
            with self.reading() as session:
                taken = session.exec(select(DocumentRow.number).where(DocumentRow.number.in_(numbers))).first() \
                    if numbers else None
            if taken is None:
                raise
            raise SequenceError(f"document number {taken} is already issued: a number sequence was changed outside "
                                "slabill while the run was issuing; nothing of this batch was recorded") from None
        self._keep_statistics(before, ledger.length)

    def _keep_statistics(self, before: int, after: int) -> None:
        """On PostgreSQL, have the planner know how many records and documents there are as a run adds them.

        Each batch reads the latest records and documents of its contracts by contract and
        period.  A planner that still believes the tables empty (no statistics yet, and
        autovacuum off or not come round) reads every record of the period for it instead of
        probing the index: O(n) a batch, O(n^2) a run (measured: 19 ms a batch at 30,000
        records, and most of the server's time in the coordinator benchmark).  So once the
        chain has grown past twice what the planner last counted (and by at least
        ``STATISTICS_STEP``), the two tables are analysed: about log2(n) times in a run, each a
        sample of a few seconds at most.  Where autovacuum keeps the counts up, it seldom fires.
        """
        if self.dialect != "postgresql" or after == before:
            return
        with self.reading() as session:
            counted = session.execute(text("SELECT reltuples FROM pg_class WHERE oid = 'evaluations'::regclass")
                                      ).scalar_one()
        if after >= 2 * max(counted, 0) + STATISTICS_STEP:
            self.analyze(EvaluationRow.__tablename__, DocumentRow.__tablename__)

    def anchor(self) -> tuple[int, str, list[tuple[int, str, int, int]]]:
        """The chain's length and head and every number sequence's (issuer, kind, year, last number),
        read together with the head locked as a writer locks it, so they describe one moment."""
        with self.atomic() as session:
            query = select(ChainHeadRow).where(ChainHeadRow.id == 1)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            head = session.exec(query).one()
            sequences = session.execute(select(NumberSequenceRow.issuer_id, NumberSequenceRow.kind,
                                               NumberSequenceRow.year, NumberSequenceRow.last_number)
                                        .order_by(NumberSequenceRow.issuer_id, NumberSequenceRow.kind,
                                                  NumberSequenceRow.year)).all()
            return head.length, head.last_sha256, [tuple(row) for row in sequences]

    def record_rendition(self, document_id: int, format: str, sha256: str, size: int, producer: str,
                         seal: str) -> None:
        """Keep the hash of a rendering first handed out (a PDF); once kept, never changed."""
        with self.atomic() as session:
            session.add(RenditionRow(document_id=document_id, format=format, sha256=sha256, size=size,
                                     producer=producer, seal=seal))

    def latest(self, contract_ids: list[str], period: Period) -> dict[str, Latest]:
        """Outside a ledger: the latest evaluation per contract (for dry runs and summaries)."""
        with self.reading() as session:
            return Ledger(session, "", 0).latest(contract_ids, period)


class Ledger:
    """The issuing transaction: numbers, records and documents, appended to the chain in order."""

    def __init__(self, session: Session, head: str, length: int, checked: set | None = None) -> None:
        self.session = session
        self.head = head
        self.length = length
        self._sequences: dict[tuple[int, str, int], list[int]] = {}
        self._pending: list[tuple[dict, list[dict], int]] = []
        self._checked = set() if checked is None else checked

    def latest(self, contract_ids: list[str], period: Period) -> dict[str, Latest]:
        result: dict[str, Latest] = {}
        rows: list[EvaluationRow] = []
        for start in range(0, len(contract_ids), 2000):
            chunk = contract_ids[start:start + 2000]
            rows += self.session.exec(select(EvaluationRow).where(
                EvaluationRow.period == str(period), EvaluationRow.contract_id.in_(chunk))).all()
        newest = latest_revisions(rows, lambda row: row.contract_id, lambda row: row.revision)
        documents: dict[str, list[DocumentRow]] = {}
        ids = list(newest)
        for start in range(0, len(ids), 2000):
            for doc in self.session.exec(select(DocumentRow).where(
                    DocumentRow.period == str(period), DocumentRow.contract_id.in_(ids[start:start + 2000]))
                    .order_by(DocumentRow.id)):
                documents.setdefault(doc.contract_id, []).append(doc)
        for contract_id, row in newest.items():
            result[contract_id] = Latest(row.id, row.revision, row.input_digest, row.ruleset_sha256,
                                         row.record_sha256, tuple(documents.get(contract_id, ())))
        return result

    def next_number(self, issuer_id: int, kind: str, year: int) -> int:
        """The next number of a gap-free sequence; the sequence row stays locked until commit."""
        key = (issuer_id, kind, year)
        if key not in self._sequences:
            query = select(NumberSequenceRow).where(NumberSequenceRow.issuer_id == issuer_id,
                                                    NumberSequenceRow.kind == kind, NumberSequenceRow.year == year)
            if self.session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update()
            row = self.session.exec(query).first()
            last = 0 if row is None else row.last_number
            if key not in self._checked:
                self._check_sequence(issuer_id, kind, year, last)
                self._checked.add(key)
            if row is None:
                self.session.add(NumberSequenceRow(issuer_id=issuer_id, kind=kind, year=year, last_number=0))
                self.session.flush()
            self._sequences[key] = [last, last]
        self._sequences[key][1] += 1
        return self._sequences[key][1]

    def _check_sequence(self, issuer_id: int, kind: str, year: int, last: int) -> None:
        """A gap-free sequence's last number is how many documents of its kind the issuer issued that year."""
        issued = self.session.execute(select(func.count()).select_from(DocumentRow).where(
            DocumentRow.issuer_id == issuer_id, DocumentRow.kind == kind,
            DocumentRow.issue_date >= date(year, 1, 1), DocumentRow.issue_date <= date(year, 12, 31))).scalar_one()
        if issued != last:
            what = {"credit_note": "credit notes", "adjustment": "adjustment statements"}.get(kind, kind)
            harm = "give numbers twice" if last < issued else "leave a gap"
            raise SequenceError(f"the number sequence of {what} of {year} (issuer {issuer_id}) says {last}, but "
                                f"{issued} are issued: it was changed outside slabill, and numbering from it would "
                                f"{harm}; set its last_number back to {issued} (nothing was recorded)")

    def check_sequences(self, issuers: set[int], year: int) -> None:
        """Check the sequences of every document kind of these issuers for ``year``, before numbering from them."""
        for issuer_id in sorted(issuers):
            for kind in ("credit_note", "adjustment"):
                if (issuer_id, kind, year) in self._checked:
                    continue
                last = self.session.exec(select(NumberSequenceRow.last_number).where(
                    NumberSequenceRow.issuer_id == issuer_id, NumberSequenceRow.kind == kind,
                    NumberSequenceRow.year == year)).first()
                self._check_sequence(issuer_id, kind, year, last or 0)
                self._checked.add((issuer_id, kind, year))

    def numbers(self) -> list[str]:
        """The numbers of the documents waiting to be written."""
        return [document["number"] for _, documents, _ in self._pending for document in documents]

    def flush_numbers(self) -> None:
        for (issuer_id, kind, year), (first, last) in self._sequences.items():
            if last != first:
                self.session.execute(update(NumberSequenceRow).where(
                    NumberSequenceRow.issuer_id == issuer_id, NumberSequenceRow.kind == kind,
                    NumberSequenceRow.year == year).values(last_number=last))
        self._sequences = {key: [last, last] for key, (_, last) in self._sequences.items()}

    def append(self, *, run_id: int, record_text: str, record_sha256: str, contract_id: str, period: str,
               revision: int, supersedes_id: int | None, input_digest: str, ruleset_sha256: str, credit_total: str,
               credit_status: str, documents: list[dict], issuer_id: int) -> None:
        """Queue one sealed record and its documents; ``write`` inserts the batch in order."""
        self._pending.append(({
            "run_id": run_id, "contract_id": contract_id, "period": period, "revision": revision,
            "supersedes_id": supersedes_id, "input_digest": input_digest, "ruleset_sha256": ruleset_sha256,
            "credit_total": credit_total, "credit_status": credit_status, "record_json": record_text,
            "record_sha256": record_sha256, "previous_sha256": self.head}, documents, issuer_id))
        self.head = record_sha256
        self.length += 1

    def write(self) -> None:
        """Insert the queued records, documents and lines: a few bulk statements per batch
        instead of one statement per row.

        On PostgreSQL the rows' ids are taken from their sequences first and the rows COPYed
        with them; elsewhere a multi-row INSERT gives the ids back in the order of the rows.
        Either way the ids increase in chain order: the head is locked, so no other
        transaction takes ids between this ledger's.
        """
        if not self._pending:
            return
        records = [row for row, _, _ in self._pending]
        ids = new_ids(self.session, EvaluationRow, len(records))
        if ids is None:
            ids = self.session.execute(insert(EvaluationRow).returning(EvaluationRow.id, sort_by_parameter_order=True),
                                       records).scalars().all()
        else:
            insert_rows(self.session, EvaluationRow, [{"id": id_, **row} for id_, row in zip(ids, records)])
        documents, lines = [], []
        for evaluation_id, (_, issued, issuer_id) in zip(ids, self._pending):
            for document in issued:
                lines.append(document["lines"])
                documents.append({key: value for key, value in document.items() if key != "lines"}
                                 | {"evaluation_id": evaluation_id, "issuer_id": issuer_id})
        if documents:
            document_ids = new_ids(self.session, DocumentRow, len(documents))
            if document_ids is None:
                document_ids = self.session.execute(
                    insert(DocumentRow).returning(DocumentRow.id, sort_by_parameter_order=True),
                    documents).scalars().all()
            else:
                insert_rows(self.session, DocumentRow, [{"id": id_, **row} for id_, row in zip(document_ids, documents)])
            rows = [{"document_id": document_id, **line}
                    for document_id, document_lines in zip(document_ids, lines) for line in document_lines]
            if rows:
                insert_rows(self.session, DocumentLineRow, rows)
        self._pending = []
