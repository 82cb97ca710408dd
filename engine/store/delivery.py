"""The delivery log: what is to be sent, which run is sending it, and every attempt.

A delivery is one document on one channel: its e-mail, or one event to one webhook
endpoint.  The protocol that keeps each one sent at most once per channel:

1. A run of ``slabill deliver`` writes its row (``delivery_runs``) and takes a lock on
   its id for as long as it lives (``Lease``): an advisory lock on PostgreSQL, a
   byte-range lock of a file beside a SQLite store.  The operating system or the
   server frees it when the process dies, even by ``kill -9``.
2. It *claims* due deliveries in one short transaction: ``status = 'sending'``,
   ``owner = run``.  PostgreSQL picks them ``FOR UPDATE SKIP LOCKED``, so two runs
   claim different rows without waiting on each other; SQLite's writers queue
   (``BEGIN IMMEDIATE``), which gives the same.
3. Before the part of a message that lets the server take it (the end of an e-mail's
   data, a webhook's request) is sent, the attempt is written and committed (phase
   ``sending``); its outcome is committed as soon as the reply is read.
4. A delivery found ``sending`` under a run whose lock is free was left by a run that
   died: ``reconcile`` settles it by the rule the caller gives (``engine.delivery``
   decides what an interrupted attempt means).

This module only keeps the log; it sends nothing.
"""

from __future__ import annotations

import fcntl
import os
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import func, update
from sqlmodel import select

from .database import StoreError, sqlite_file
from .tables import DeliveryAttemptRow, DeliveryRow, DeliveryRunRow, DocumentRow

DUE = ("pending", "retry")
"""statuses a run may claim, once ``next_attempt_us`` has passed"""

_ADVISORY_CLASS = 7301956
"""the first key of PostgreSQL's two-key advisory locks that delivery runs hold (the second is the run's id)"""


class LeaseLost(StoreError):
    """This run's claim on a delivery is gone: another run took it as abandoned."""


@dataclass(frozen=True)
class Claim:
    """A delivery this run claimed: what to send, and its history so far."""

    delivery_id: int
    document_id: int
    channel: str
    event: str
    endpoint: str
    message_id: str
    payload_json: str | None
    attempts: int
    failures: int


@dataclass(frozen=True)
class Settlement:
    """How an attempt ended and what becomes of its delivery."""

    outcome: str
    """delivered | transient | permanent | interrupted | unknown"""
    status: str
    """the delivery's status after it"""
    code: str | None = None
    detail: str | None = None
    failures: int = 0
    next_attempt_us: int | None = None


@dataclass(frozen=True)
class Reconciled:
    """A delivery a dead run left claimed, and what became of it."""

    delivery_id: int
    document_id: int
    channel: str
    phase: str | None
    """the open attempt's phase, or None when nothing was being sent"""
    status: str


@dataclass(frozen=True)
class DeliveryState:
    """A line of ``slabill deliver --status``: a document on a channel, and where it stands."""

    number: str
    contract: str
    period: str
    channel: str
    event: str
    endpoint: str
    status: str
    attempts: int
    message_id: str
    last_code: str | None
    last_detail: str | None
    delivered_us: int | None
    next_attempt_us: int | None


# --- the lock a live run holds --------------------------------------------------------------------------

class Lease(AbstractContextManager):
    """The lock a live delivery run holds on its id; ``is_free`` tells whether another run is still alive."""

    def hold(self, run_id: int) -> None:
        raise NotImplementedError

    def is_free(self, run_id: int) -> bool:
        raise NotImplementedError

    def check(self) -> None:
        """Raise ``LeaseLost`` when this run's lock is gone (its server connection broke)."""

    def release(self) -> None:
        raise NotImplementedError

    def __exit__(self, *exc) -> None:
        self.release()


class _AdvisoryLease(Lease):
    """PostgreSQL: a session advisory lock on a connection of its own, freed when the connection ends."""

    def __init__(self, engine) -> None:
        self._connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        self._held: int | None = None

    def hold(self, run_id: int) -> None:
        self._connection.exec_driver_sql("SELECT pg_advisory_lock(%s, %s)", (_ADVISORY_CLASS, run_id))
        self._held = run_id

    def is_free(self, run_id: int) -> bool:
        taken = self._connection.exec_driver_sql("SELECT pg_try_advisory_lock(%s, %s)",
                                                 (_ADVISORY_CLASS, run_id)).scalar_one()
        if taken:
            self._connection.exec_driver_sql("SELECT pg_advisory_unlock(%s, %s)", (_ADVISORY_CLASS, run_id))
        return bool(taken)

    def check(self) -> None:
        try:
            self._connection.exec_driver_sql("SELECT 1").scalar_one()
        except Exception as exc:
            raise LeaseLost(f"the connection that holds delivery run {self._held}'s lock broke: {exc}") from None

    def release(self) -> None:
        # Unlocked, then discarded rather than pooled: a session lock outlives a rollback, so a
        # pooled connection would carry it into whatever used the connection next.
        try:
            if self._held is not None:
                self._connection.exec_driver_sql("SELECT pg_advisory_unlock(%s, %s)", (_ADVISORY_CLASS, self._held))
            self._connection.invalidate()
        except Exception:
            pass  # the connection is gone already, and its locks with it
        self._held = None


class _FileLease(Lease):
    """SQLite: a one-byte lock at offset ``run id`` of ``<store>-deliver.lock``, freed when the process ends.

    POSIX record locks belong to a process, and closing any descriptor of the file drops
    them all, so each process opens the file once and keeps it open.
    """

    _files: dict[tuple[int, str], int] = {}

    def __init__(self, path: str) -> None:
        key = (os.getpid(), path)
        if key not in self._files:
            self._files[key] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._fd = self._files[key]
        self._held: int | None = None

    def hold(self, run_id: int) -> None:
        fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, run_id)
        self._held = run_id

    def is_free(self, run_id: int) -> bool:
        try:
            fcntl.lockf(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, run_id)
        except OSError:  # EAGAIN or EACCES: a live process holds it
            return False
        fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, run_id)
        return True

    def release(self) -> None:
        if self._held is not None:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, 1, self._held)
            self._held = None


class _ProcessLease(Lease):
    """A SQLite store in memory: no other process can see it, so every other run is over."""

    def hold(self, run_id: int) -> None:
        pass

    def is_free(self, run_id: int) -> bool:
        return True

    def release(self) -> None:
        pass


# --- the store's part ---------------------------------------------------------------------------------------

class Delivering:
    """The delivery log's units of work (a part of ``Store``)."""

    # -- runs ----------------------------------------------------------------------------------------------------

    def open_delivery_run(self, now_us: int, host: str, pid: int) -> tuple[int, Lease]:
        """Record a run and take its lock; the lock is released by ``close_delivery_run`` or by death."""
        with self.atomic() as session:
            row = DeliveryRunRow(started_us=now_us, host=host[:200], pid=pid)
            session.add(row)
            session.flush()
            run_id = row.id
        if self.dialect == "postgresql":
            lease: Lease = _AdvisoryLease(self.engine)
        elif (path := sqlite_file(self.url)) is not None:
            lease = _FileLease(f"{path}-deliver.lock")
        else:
            lease = _ProcessLease()
        lease.hold(run_id)
        return run_id, lease

    def close_delivery_run(self, run_id: int, lease: Lease, now_us: int, summary: str) -> None:
        with self.atomic() as session:
            session.execute(update(DeliveryRunRow).where(DeliveryRunRow.id == run_id)
                            .values(finished_us=now_us, summary_json=summary))
        lease.release()

    # -- what is to be delivered ------------------------------------------------------------------------------------

    def documents_without_delivery(self, period: str | None, after_id: int, limit: int) -> list[DocumentRow]:
        """Issued documents (of ``period``) no run has taken yet, in the order they were issued."""
        taken = select(DeliveryRow.id).where(DeliveryRow.document_id == DocumentRow.id,
                                             DeliveryRow.channel == "email")
        query = select(DocumentRow).where(DocumentRow.id > after_id, ~taken.exists()).order_by(DocumentRow.id)
        if period:
            query = query.where(DocumentRow.period == period)
        with self.reading() as session:
            return list(session.exec(query.limit(limit)))

    def documents_by_id(self, ids: list[int]) -> dict[int, DocumentRow]:
        with self.reading() as session:
            return {row.id: row for row in session.exec(select(DocumentRow).where(DocumentRow.id.in_(ids)))}

    def add_deliveries(self, *groups: list[dict]) -> list[int]:
        """Add deliveries not there yet, every group in one transaction (two runs may add the same at
        once: the second adds nothing); returns how many of each group were new."""
        with self.atomic() as session:
            return [self._add_deliveries(session, rows) for rows in groups]

    def _add_deliveries(self, session, rows: list[dict]) -> int:
        if not rows:
            return 0
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        # The ids of the rows added come back (a count of rows of many inserts is not known to every driver).
        statement = insert(DeliveryRow).on_conflict_do_nothing(
            index_elements=["document_id", "channel", "event", "endpoint"]).returning(DeliveryRow.id)
        added = 0
        # Rows with and without a payload are inserted apart: one statement takes one set of columns.
        for shape in sorted({tuple(sorted(row)) for row in rows}):
            chosen = [row for row in rows if tuple(sorted(row)) == shape]
            added += len(session.connection().execute(statement, chosen).all())
        return added

    # -- claims and attempts --------------------------------------------------------------------------------------------

    def claim(self, run_id: int, channel: str, now_us: int, limit: int, period: str | None = None) -> list[Claim]:
        """Take up to ``limit`` due deliveries of ``channel`` for this run, oldest first."""
        query = (select(DeliveryRow).where(DeliveryRow.channel == channel, DeliveryRow.status.in_(DUE),
                                           (DeliveryRow.next_attempt_us.is_(None))
                                           | (DeliveryRow.next_attempt_us <= now_us))
                 .order_by(DeliveryRow.id).limit(limit))
        if period:
            query = query.where(DeliveryRow.document_id.in_(select(DocumentRow.id).where(DocumentRow.period == period)))
        if self.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True, of=DeliveryRow)
        with self.atomic() as session:
            rows = list(session.exec(query))
            if not rows:
                return []
            session.execute(update(DeliveryRow).where(DeliveryRow.id.in_([r.id for r in rows]))
                            .values(status="sending", owner=run_id))
            return [Claim(r.id, r.document_id, r.channel, r.event, r.endpoint, r.message_id, r.payload_json,
                          r.attempts, r.failures) for r in rows]

    def begin_attempt(self, run_id: int, claim: Claim, now_us: int, recipients: str, files_json: str = "[]") -> int:
        """Write the attempt (phase ``sending``) and commit it, before the server can take the message."""
        with self.atomic() as session:
            owned = session.execute(update(DeliveryRow).where(
                DeliveryRow.id == claim.delivery_id, DeliveryRow.owner == run_id, DeliveryRow.status == "sending")
                .values(attempts=claim.attempts + 1)).rowcount
            if owned != 1:
                raise LeaseLost(f"delivery {claim.delivery_id} is no longer this run's")
            row = DeliveryAttemptRow(delivery_id=claim.delivery_id, run_id=run_id, number=claim.attempts + 1,
                                     started_us=now_us, phase="sending", message_id=claim.message_id,
                                     recipients=recipients, files_json=files_json)
            session.add(row)
            session.flush()
            return row.id

    def settle(self, run_id: int, claim: Claim, attempt_id: int | None, now_us: int, settlement: Settlement, *,
               recipients: str = "", files_json: str = "[]", follow_ups: list[dict] = ()) -> None:
        """Close the attempt (or record one that failed before anything could be taken) and set the
        delivery's status, with the deliveries it gives rise to (webhook events), in one transaction."""
        with self.atomic() as session:
            values = {"status": settlement.status, "owner": None, "last_code": settlement.code,
                      "last_detail": settlement.detail, "failures": settlement.failures,
                      "next_attempt_us": settlement.next_attempt_us}
            if settlement.status == "delivered":
                values["delivered_us"] = now_us
            if attempt_id is None:
                values["attempts"] = claim.attempts + 1
            owned = session.execute(update(DeliveryRow).where(
                DeliveryRow.id == claim.delivery_id, DeliveryRow.owner == run_id, DeliveryRow.status == "sending")
                .values(**values)).rowcount
            if owned != 1:
                raise LeaseLost(f"delivery {claim.delivery_id} is no longer this run's")
            if attempt_id is None:
                session.add(DeliveryAttemptRow(
                    delivery_id=claim.delivery_id, run_id=run_id, number=claim.attempts + 1, started_us=now_us,
                    phase="claimed", finished_us=now_us, outcome=settlement.outcome, code=settlement.code,
                    message_id=claim.message_id, recipients=recipients, files_json=files_json,
                    detail=settlement.detail))
            else:
                session.execute(update(DeliveryAttemptRow).where(DeliveryAttemptRow.id == attempt_id).values(
                    finished_us=now_us, outcome=settlement.outcome, code=settlement.code, detail=settlement.detail))
            self._add_deliveries(session, list(follow_ups))

    # -- runs that died ----------------------------------------------------------------------------------------------

    def claimed_by_others(self, run_id: int) -> list[int]:
        """The runs other than this one that hold deliveries claimed (alive or not)."""
        with self.reading() as session:
            return list(session.execute(select(DeliveryRow.owner).where(
                DeliveryRow.status == "sending", DeliveryRow.owner != run_id).distinct()).scalars())

    def reconcile(self, owner: int, now_us: int,
                  after: Callable[[str, str | None, int], Settlement]) -> list[Reconciled]:
        """Settle what the run ``owner`` left claimed; call only when its lock is free (it died or ended).

        ``after(channel, phase, failures)`` says what an interruption means: ``phase`` is
        None when no attempt was open (nothing of the message had been sent), else the
        open attempt's phase.
        """
        settled = []
        with self.atomic() as session:
            query = select(DeliveryRow).where(DeliveryRow.status == "sending", DeliveryRow.owner == owner)
            if self.dialect == "postgresql":
                query = query.with_for_update()
            rows = list(session.exec(query))
            if not rows:
                return []
            open_attempts = {a.delivery_id: a for a in session.exec(select(DeliveryAttemptRow).where(
                DeliveryAttemptRow.delivery_id.in_([r.id for r in rows]), DeliveryAttemptRow.outcome.is_(None)))}
            for row in rows:
                attempt = open_attempts.get(row.id)
                outcome = after(row.channel, attempt.phase if attempt else None, row.failures)
                if attempt is not None:
                    session.execute(update(DeliveryAttemptRow).where(DeliveryAttemptRow.id == attempt.id).values(
                        finished_us=now_us, outcome=outcome.outcome, detail=outcome.detail))
                values = {"status": outcome.status, "owner": None}
                if attempt is not None:
                    values.update(last_code=None, last_detail=outcome.detail)
                session.execute(update(DeliveryRow).where(DeliveryRow.id == row.id).values(**values))
                settled.append(Reconciled(row.id, row.document_id, row.channel,
                                          attempt.phase if attempt else None, outcome.status))
        return settled

    # -- what finance asks -------------------------------------------------------------------------------------------

    def delivery_states(self, period: str | None = None) -> list[DeliveryState]:
        """Every document's deliveries, in the order documents were issued; a document no run
        has taken yet shows as a pending e-mail."""
        query = (select(DocumentRow.number, DocumentRow.contract_id, DocumentRow.period, DeliveryRow.channel,
                        DeliveryRow.event, DeliveryRow.endpoint, DeliveryRow.status, DeliveryRow.attempts,
                        DeliveryRow.message_id, DeliveryRow.last_code, DeliveryRow.last_detail,
                        DeliveryRow.delivered_us, DeliveryRow.next_attempt_us)
                 .join(DeliveryRow, DeliveryRow.document_id == DocumentRow.id, isouter=True)
                 .order_by(DocumentRow.id, DeliveryRow.id))
        if period:
            query = query.where(DocumentRow.period == period)
        with self.reading() as session:
            rows = session.execute(query).all()
        return [DeliveryState(r.number, r.contract_id, r.period, r.channel or "email", r.event or "",
                              r.endpoint or "", r.status or "pending", r.attempts or 0, r.message_id or "",
                              r.last_code, r.last_detail, r.delivered_us, r.next_attempt_us) for r in rows]

    def delivery_attempts(self, number: str) -> list[tuple[DeliveryRow, list[DeliveryAttemptRow]]]:
        """A document's deliveries, each with its attempts in order."""
        with self.reading() as session:
            deliveries = list(session.exec(select(DeliveryRow).join(
                DocumentRow, DocumentRow.id == DeliveryRow.document_id).where(DocumentRow.number == number)
                .order_by(DeliveryRow.id)))
            attempts: dict[int, list[DeliveryAttemptRow]] = {}
            if deliveries:
                for attempt in session.exec(select(DeliveryAttemptRow).where(
                        DeliveryAttemptRow.delivery_id.in_([d.id for d in deliveries]))
                        .order_by(DeliveryAttemptRow.number)):
                    attempts.setdefault(attempt.delivery_id, []).append(attempt)
        return [(delivery, attempts.get(delivery.id, [])) for delivery in deliveries]

    def requeue_email(self, number: str) -> str | None:
        """Queue a document's e-mail again, due now: after a permanent failure, an unknown outcome, or
        to retry it before its backoff ends.

        Returns the status it had (None when no run has taken it yet); a delivery in any
        other status is left as it is.
        """
        with self.atomic() as session:
            query = select(DeliveryRow).join(DocumentRow, DocumentRow.id == DeliveryRow.document_id).where(
                DocumentRow.number == number, DeliveryRow.channel == "email")
            if self.dialect == "postgresql":
                query = query.with_for_update(of=DeliveryRow)
            row = session.exec(query).first()
            if row is None:
                return None
            before = row.status
            if before in ("failed", "unknown", "retry"):
                session.execute(update(DeliveryRow).where(DeliveryRow.id == row.id).values(
                    status="pending", failures=0, next_attempt_us=None, owner=None))
            return before

    def delivery_counts(self, period: str | None = None) -> dict[str, int]:
        """How many deliveries stand in each status (documents no run has taken yet count as pending)."""
        counts: dict[str, int] = {}
        with self.reading() as session:
            query = select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)
            untaken = select(func.count()).select_from(DocumentRow).where(~select(DeliveryRow.id).where(
                DeliveryRow.document_id == DocumentRow.id, DeliveryRow.channel == "email").exists())
            if period:
                query = query.where(DeliveryRow.document_id.in_(
                    select(DocumentRow.id).where(DocumentRow.period == period)))
                untaken = untaken.where(DocumentRow.period == period)
            for status, count in session.execute(query):
                counts[status] = count
            counts["pending"] = counts.get("pending", 0) + session.execute(untaken).scalar_one()
        return counts

