"""The store's tables, as SQLModel models.

Tables hold what validated domain values say, never serve as them: a contract is
stored as the canonical JSON of its validated terms (plus the columns queries need)
and is validated again when read.  Instants are integer microseconds since the Unix
epoch (UTC), exact and portable; money and percentages are decimal text, because
SQLite has no exact decimal type.  Constraints, not code, guarantee that nothing is
issued twice: one evaluation per (contract, period, revision), one document per
(evaluation, kind), one number per issuer.
"""

from __future__ import annotations

from datetime import date
from typing import Optional

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel


def big(**kwargs) -> Column:
    return Column(BigInteger, **kwargs)


class IssuerRow(SQLModel, table=True):
    __tablename__ = "issuers"

    id: Optional[int] = Field(default=None, primary_key=True)
    key: str = Field(sa_column=Column(String(200), unique=True, nullable=False))
    """the VAT id, else the name: what identifies the issuer across loads"""
    terms_json: str = Field(sa_column=Column(Text, nullable=False))
    terms_sha256: str = Field(max_length=64)


class ContractRow(SQLModel, table=True):
    __tablename__ = "contracts"

    id: str = Field(sa_column=Column(String(100), primary_key=True))
    issuer_id: int = Field(sa_column=Column(Integer, ForeignKey("issuers.id"), nullable=False))
    current_sha256: str = Field(max_length=64)
    """the version in force: the last one loaded"""


class ContractVersionRow(SQLModel, table=True):
    __tablename__ = "contract_versions"
    __table_args__ = (UniqueConstraint("contract_id", "sha256"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    contract_id: str = Field(sa_column=Column(String(100), ForeignKey("contracts.id"), nullable=False))
    sha256: str = Field(max_length=64)
    terms_json: str = Field(sa_column=Column(Text, nullable=False))


class RuleSetRow(SQLModel, table=True):
    __tablename__ = "rule_sets"
    __table_args__ = (UniqueConstraint("ruleset", "version"),)

    sha256: str = Field(sa_column=Column(String(64), primary_key=True))
    ruleset: str = Field(max_length=100)
    version: str = Field(max_length=100)
    effective_from: date
    effective_until: Optional[date] = None
    canonical_json: str = Field(sa_column=Column(Text, nullable=False))


class IncidentRow(SQLModel, table=True):
    """An incident as loaded; a correction loaded later supersedes it (it is kept, marked, for the audit)."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_window", "contract_id", "service", "start_us"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    row_key: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    """sha256 of the row's content (``engine.store.loads.incident_key``): the same incident is never stored twice"""
    contract_id: str = Field(max_length=100)
    service: str = Field(max_length=100)
    start_us: int = Field(sa_column=big(nullable=False))
    end_us: int = Field(sa_column=big(nullable=False))
    cause: str = Field(max_length=20)
    announced_us: Optional[int] = Field(default=None, sa_column=big(nullable=True))
    impact: Optional[str] = Field(default=None, max_length=40)
    """the percentage of the service affected, as decimal text; NULL: all of it"""
    source: str = Field(default="", max_length=500)
    """file and line it was first loaded from"""
    incident: Optional[str] = Field(default=None, max_length=100)
    """the incident's own id (incidents.csv's ``id`` column), when the file gives one: its key"""
    load_id: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True, index=True))
    """the load that added the row (``loads``); NULL only in a store no load was recorded in yet"""
    superseded_by: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True))
    """the load whose correction replaced the row; NULL while the row is current"""


class RequestCountRow(SQLModel, table=True):
    """One interval's counts as loaded; a correction loaded later supersedes it (kept, marked, for the audit).

    Only one current row per (contract, service, interval): a partial unique index (migration 0010).
    """

    __tablename__ = "request_counts"
    __table_args__ = (Index("ux_request_counts_current", "contract_id", "service", "interval_us", unique=True,
                            sqlite_where=text("superseded_by IS NULL"),
                            postgresql_where=text("superseded_by IS NULL")),)

    id: Optional[int] = Field(default=None, primary_key=True)
    contract_id: str = Field(max_length=100)
    service: str = Field(max_length=100)
    interval_us: int = Field(sa_column=big(nullable=False))
    requests: int = Field(sa_column=big(nullable=False))
    errors: int = Field(sa_column=big(nullable=False))
    source: str = Field(default="", max_length=500)
    load_id: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True, index=True))
    """the load that added the row (``loads``)"""
    superseded_by: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True))
    """the load whose correction replaced the row; NULL while the row is current"""


class InvoiceRow(SQLModel, table=True):
    """An invoice the provider issued; never changed once stored."""

    __tablename__ = "invoices"
    __table_args__ = (Index("ix_invoices_contract", "contract_id"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    number: str = Field(sa_column=Column(String(100), unique=True, nullable=False))
    contract_id: str = Field(max_length=100)
    issued: date
    due: date
    net: str = Field(max_length=40)
    tax: str = Field(max_length=40)
    gross: str = Field(max_length=40)
    currency: str = Field(max_length=3)
    source: str = Field(default="", max_length=500)
    period: Optional[str] = Field(default=None, max_length=7)
    """the service period the invoice bills (YYYY-MM), when invoices.csv says"""
    load_id: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True, index=True))
    """the load that added the row (``loads``)"""
    superseded_by: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True))
    """the load whose correction replaced the row; NULL while the row is current"""


class PaymentRow(SQLModel, table=True):
    __tablename__ = "payments"

    id: Optional[int] = Field(default=None, primary_key=True)
    row_key: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    invoice_number: str = Field(sa_column=Column(String(100), ForeignKey("invoices.number"), nullable=False))
    paid_on: date
    amount: str = Field(max_length=40)
    source: str = Field(default="", max_length=500)
    load_id: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True, index=True))
    """the load that added the row (``loads``)"""
    superseded_by: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True))
    """the load whose correction replaced the row; NULL while the row is current"""


class TicketRow(SQLModel, table=True):
    """A support ticket; loaded again with a response or resolution that arrived since, the new row
    supersedes it (one current row per ticket: a partial unique index, migration 0010)."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_contract", "contract_id", "created_us"),
                      Index("ux_tickets_current", "ticket", unique=True, sqlite_where=text("superseded_by IS NULL"),
                            postgresql_where=text("superseded_by IS NULL")))

    id: Optional[int] = Field(default=None, primary_key=True)
    ticket: str = Field(sa_column=Column(String(100), nullable=False))
    contract_id: str = Field(max_length=100)
    priority: str = Field(max_length=50)
    created_us: int = Field(sa_column=big(nullable=False))
    first_response_us: Optional[int] = Field(default=None, sa_column=big(nullable=True))
    resolved_us: Optional[int] = Field(default=None, sa_column=big(nullable=True))
    source: str = Field(default="", max_length=500)
    load_id: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True, index=True))
    """the load that added the row (``loads``)"""
    superseded_by: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True))
    """the load whose correction replaced the row; NULL while the row is current"""


class TicketPauseRow(SQLModel, table=True):
    __tablename__ = "ticket_pauses"

    id: Optional[int] = Field(default=None, primary_key=True)
    row_key: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    ticket: str = Field(max_length=100)
    """the ticket it pauses (no foreign key since 0010: a ticket's id names its current row and those it replaced)"""
    start_us: int = Field(sa_column=big(nullable=False))
    end_us: int = Field(sa_column=big(nullable=False))
    source: str = Field(default="", max_length=500)
    load_id: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True, index=True))
    """the load that added the row (``loads``)"""
    superseded_by: Optional[int] = Field(default=None, sa_column=Column(Integer, nullable=True))
    """the load whose correction replaced the row; NULL while the row is current"""


class RateTableRow(SQLModel, table=True):
    """A version of a reference-rate table, by content; the run uses the latest loaded."""

    __tablename__ = "rate_tables"
    __table_args__ = (UniqueConstraint("name", "sha256"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    sha256: str = Field(max_length=64)
    canonical_json: str = Field(sa_column=Column(Text, nullable=False))


class RunRow(SQLModel, table=True):
    __tablename__ = "runs"

    id: Optional[int] = Field(default=None, primary_key=True)
    period: str = Field(max_length=7)
    as_of: date
    started_at: str = Field(max_length=40)
    finished_at: Optional[str] = Field(default=None, max_length=40)
    status: str = Field(default="running", max_length=20)
    summary_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class EvaluationRow(SQLModel, table=True):
    """The evaluation record: everything needed to replay it, chained to the one before."""

    __tablename__ = "evaluations"
    __table_args__ = (UniqueConstraint("contract_id", "period", "revision"),
                      Index("ix_evaluations_period", "period", "contract_id"))

    id: Optional[int] = Field(default=None, primary_key=True)
    run_id: int = Field(sa_column=Column(Integer, ForeignKey("runs.id"), nullable=False))
    contract_id: str = Field(max_length=100)
    period: str = Field(max_length=7)
    revision: int
    supersedes_id: Optional[int] = Field(default=None, sa_column=Column(Integer, ForeignKey("evaluations.id")))
    input_digest: str = Field(max_length=64)
    ruleset_sha256: str = Field(sa_column=Column(String(64), ForeignKey("rule_sets.sha256"), nullable=False))
    credit_total: str = Field(max_length=40)
    credit_status: str = Field(max_length=20)
    record_json: str = Field(sa_column=Column(Text, nullable=False))
    record_sha256: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    previous_sha256: str = Field(max_length=64)
    """the record_sha256 of the record before this one in the store's chain"""


class DocumentRow(SQLModel, table=True):
    """An issued document; never updated, never deleted."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("evaluation_id", "kind"), UniqueConstraint("issuer_id", "number"),
                      Index("ix_documents_sequence", "issuer_id", "kind", "issue_date"),
                      Index("ix_documents_contract_period", "contract_id", "period"))

    id: Optional[int] = Field(default=None, primary_key=True)
    number: str = Field(max_length=40)
    kind: str = Field(max_length=20)
    """credit_note | adjustment"""
    issuer_id: int = Field(sa_column=Column(Integer, ForeignKey("issuers.id"), nullable=False))
    contract_id: str = Field(max_length=100)
    period: str = Field(max_length=7)
    evaluation_id: int = Field(sa_column=Column(Integer, ForeignKey("evaluations.id"), nullable=False))
    issue_date: date
    currency: str = Field(max_length=3)
    locale: str = Field(max_length=20)
    net_total: str = Field(max_length=40)
    tax_total: str = Field(max_length=40)
    gross_total: str = Field(max_length=40)
    corrects_id: Optional[int] = Field(default=None, sa_column=Column(Integer, ForeignKey("documents.id")))
    content_json: str = Field(sa_column=Column(Text, nullable=False))
    content_sha256: str = Field(max_length=64)
    html_sha256: str = Field(max_length=64)
    """sha256 of the HTML the customer receives, rendered at issue"""
    text_sha256: Optional[str] = Field(default=None, max_length=64)
    """the plain text is rendered on demand; kept for documents issued before that"""
    e_invoice: Optional[str] = Field(default=None, max_length=20)
    """the customer's e-invoice channel at issue (facturx, ubl, peppol, fr_ctc); None: none, or issued before"""
    xml_sha256: Optional[str] = Field(default=None, max_length=64)
    """sha256 of the e-invoice XML rendered at issue"""


class RenditionRow(SQLModel, table=True):
    """A rendering made on demand (a PDF) whose bytes were handed out: its sha256, sealed to the document."""

    __tablename__ = "document_renditions"
    __table_args__ = (UniqueConstraint("document_id", "format"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    document_id: int = Field(sa_column=Column(Integer, ForeignKey("documents.id"), nullable=False))
    format: str = Field(max_length=20)
    sha256: str = Field(max_length=64)
    size: int = Field(sa_column=big(nullable=False))
    producer: str = Field(max_length=200)
    """the renderer's and fonts' versions, since another version may give other bytes"""
    seal: str = Field(max_length=64)
    """sha256 of the document's content hash, the format, the bytes' hash and the producer"""


class DocumentLineRow(SQLModel, table=True):
    __tablename__ = "document_lines"
    __table_args__ = (UniqueConstraint("document_id", "position"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    document_id: int = Field(sa_column=Column(Integer, ForeignKey("documents.id"), nullable=False))
    position: int
    kind: str = Field(max_length=30)
    objective: Optional[str] = Field(default=None, max_length=100)
    net_amount: str = Field(max_length=40)
    vat_rate: str = Field(max_length=20)
    detail_json: str = Field(sa_column=Column(Text, nullable=False))


class NumberSequenceRow(SQLModel, table=True):
    """The last number given per issuer, document kind and calendar year (gap-free)."""

    __tablename__ = "number_sequences"

    issuer_id: int = Field(sa_column=Column(Integer, ForeignKey("issuers.id"), primary_key=True))
    kind: str = Field(sa_column=Column(String(20), primary_key=True))
    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    last_number: int


class LoadRow(SQLModel, table=True):
    """A load of measurements, sealed onto the audit chain: what it added and what it superseded.

    Its entry (canonical JSON) holds, per file, how many rows it added and the digest of
    their content, and which stored rows its corrections superseded; ``previous_sha256`` is
    the chain's head when it was sealed, as an evaluation record's is.  A load that
    changed nothing is not recorded.
    """

    __tablename__ = "loads"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    entry_json: str = Field(sa_column=Column(Text, nullable=False))
    entry_sha256: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    previous_sha256: str = Field(max_length=64)


class ChainHeadRow(SQLModel, table=True):
    """The head of the store's audit chain; locked by each writer so records chain in order."""

    __tablename__ = "audit_chain"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    last_sha256: str = Field(max_length=64)
    length: int


# --- delivery ---------------------------------------------------------------------------------------

class DeliveryRunRow(SQLModel, table=True):
    """One ``slabill deliver`` (or ``run --deliver``): who claims deliveries, and what it did.

    Its id is also the lock a live run holds for as long as it works (an advisory lock
    on PostgreSQL, a byte-range lock of a file beside a SQLite store): a delivery left
    ``sending`` by a run whose lock is free belongs to a run that died.
    """

    __tablename__ = "delivery_runs"

    id: Optional[int] = Field(default=None, primary_key=True)
    started_us: int = Field(sa_column=big(nullable=False))
    finished_us: Optional[int] = Field(default=None, sa_column=big(nullable=True))
    host: str = Field(default="", max_length=200)
    pid: int = 0
    summary_json: str = Field(default="{}", sa_column=Column(Text, nullable=False))


class DeliveryRow(SQLModel, table=True):
    """A document to deliver once on one channel: its e-mail, or one event to one webhook endpoint.

    ``status`` is pending (never tried, or interrupted before anything was sent), sending
    (claimed by the run ``owner``), retry (a transient failure; due again at
    ``next_attempt_us``), delivered, failed (permanent, or retries exhausted) or unknown
    (a run died while the server may have taken the message: never sent again
    automatically).  The attempts are its log.
    """

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("document_id", "channel", "event", "endpoint"),
                      Index("ix_deliveries_due", "channel", "status", "next_attempt_us"))

    id: Optional[int] = Field(default=None, primary_key=True)
    document_id: int = Field(sa_column=Column(Integer, ForeignKey("documents.id"), nullable=False))
    channel: str = Field(max_length=10)
    """email | webhook"""
    event: str = Field(default="", max_length=40)
    """the webhook event (document.issued, document.delivered, delivery.failed); empty for e-mail"""
    endpoint: str = Field(default="", max_length=500)
    """the webhook's url; empty for e-mail"""
    status: str = Field(max_length=12)
    owner: Optional[int] = Field(default=None, sa_column=Column(Integer, ForeignKey("delivery_runs.id"),
                                                                nullable=True))
    """the run that claimed it, while sending"""
    attempts: int = 0
    failures: int = 0
    """transient failures in a row: the backoff before the next attempt grows with them"""
    next_attempt_us: Optional[int] = Field(default=None, sa_column=big(nullable=True))
    message_id: str = Field(max_length=300)
    """the e-mail's Message-ID, or the event's id (its idempotency key), chosen before any attempt"""
    payload_json: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    """the event's body, fixed when the event is made, so every retry sends the same bytes"""
    created_us: int = Field(sa_column=big(nullable=False))
    delivered_us: Optional[int] = Field(default=None, sa_column=big(nullable=True))
    last_code: Optional[str] = Field(default=None, max_length=20)
    """the SMTP reply code or HTTP status of the last attempt"""
    last_detail: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))


class DeliveryAttemptRow(SQLModel, table=True):
    """One attempt to deliver: written before anything is sent, closed with what came back."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (UniqueConstraint("delivery_id", "number"),)

    id: Optional[int] = Field(default=None, primary_key=True)
    delivery_id: int = Field(sa_column=Column(Integer, ForeignKey("deliveries.id"), nullable=False))
    run_id: int = Field(sa_column=Column(Integer, ForeignKey("delivery_runs.id"), nullable=False))
    number: int
    started_us: int = Field(sa_column=big(nullable=False))
    phase: str = Field(max_length=12)
    """claimed (nothing sent yet) | sending (the end of the message, or the request, may reach the server)"""
    finished_us: Optional[int] = Field(default=None, sa_column=big(nullable=True))
    outcome: Optional[str] = Field(default=None, max_length=12)
    """None while open; delivered | transient | permanent | interrupted | unknown"""
    code: Optional[str] = Field(default=None, max_length=20)
    message_id: str = Field(max_length=300)
    recipients: str = Field(default="", sa_column=Column(Text, nullable=False))
    """the addresses (e-mail) or the url (webhook) it went to"""
    files_json: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    """what was attached: name, media type, size and sha256 of each file"""
    detail: Optional[str] = Field(default=None, sa_column=Column(Text, nullable=True))
    """the server's reply or the error, never a password or a secret"""


IMMUTABLE_TABLES = ("evaluations", "documents", "document_lines", "document_renditions", "loads")
MEASURED_TABLES = ("incidents", "request_counts", "tickets", "ticket_pauses", "invoices", "payments")
"""rows a load adds, a later load may supersede (only ``superseded_by`` changes), none deleted"""
