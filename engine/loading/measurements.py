"""Reading a data folder's CSV files (INTERFACE.md section 3) into ``Measurements``.

Every row is checked as it is read; the first bad one raises an ``InputError`` naming
the file, line and column, so nothing half-read is ever evaluated or stored.  Rows are
gathered per (contract, service) as compact tuples, because a month of a large book holds
millions of them, then frozen into ``Measurements``.
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import AbstractSet, Callable, Iterator, Mapping

from ..core.errors import InputError
from ..core.model import Incident, Invoice, Key, Measurements, Payment, RequestCount, Ticket, TicketPause
from ..core.money import decimal_places, minor_digits
from ..core.period import Period
from ..core.quantities import MAX_AMOUNT
from ..core.schema import Cause
from .collector import paused_gc
from .contracts import Book
from .encoding import first_failure, not_utf8

MAX_COUNT = 2**63 - 1
"""the most requests or errors one row may count: what the store keeps in a 64-bit column"""
_AMOUNT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")


class CsvRows:
    """A CSV file read row by row, with the checks every measurement file shares."""

    def __init__(self, path: Path, required: tuple[str, ...], optional: tuple[str, ...] = (),
                 skipped: frozenset[str] = frozenset()) -> None:
        self.path = path
        self.file = str(path)
        self.required = required
        self.optional = optional
        self.skipped = skipped
        """contract ids whose rows another share reads: passed over before any check"""
        self._keys: dict[tuple[str, str], Key | None] = {}

    def error(self, line: int, column: str | None, message: str) -> InputError:
        return InputError(message, file=self.file, line=line, field=column)

    def __iter__(self) -> Iterator[tuple[int, dict[str, str]]]:
        try:
            handle = self.path.open(newline="", encoding="utf-8-sig")
        except OSError as exc:
            raise InputError(f"the file cannot be read ({exc.strerror})", file=self.file) from None
        with handle:
            reader = csv.reader(handle)
            try:
                header = next(reader, None)
                if header is None:
                    return
                header = [h.strip() for h in header]
                self._check_header(header)
                width = len(header)
                skipped = self.skipped
                by_contract = header.index("contract") if skipped and "contract" in header else None
                for row in reader:
                    if not row or (len(row) == 1 and not row[0].strip()):
                        continue
                    if len(row) < width and all(c in self.optional for c in header[len(row):]):
                        # Trailing optional columns may be left off entirely, not only left empty.
                        row = row + [""] * (width - len(row))
                    if len(row) != width:
                        raise self.error(reader.line_num, None,
                                         f"the row has {len(row)} columns but the header has {width}")
                    if by_contract is not None and row[by_contract].strip() in skipped:
                        continue
                    yield reader.line_num, dict(zip(header, row))
            except UnicodeDecodeError:
                raise self._not_utf8() from None
            except csv.Error as exc:
                raise self.error(reader.line_num, None, f"malformed CSV ({exc})") from None

    def _not_utf8(self) -> InputError:
        """The file's first byte that is not UTF-8, at its line and column."""
        raw = self.path.read_bytes()
        failure = first_failure(raw)
        if failure is None:  # the decoder failed on what the file held then; it changed since
            return InputError("the file is not UTF-8", file=self.file)
        column = None
        line_start = raw.rfind(b"\n", 0, failure.start) + 1
        header = next(csv.reader([raw[:raw.find(b"\n")].decode("utf-8-sig", errors="replace")]), [])
        cells = next(csv.reader([raw[line_start:failure.start].decode("utf-8")]), [""])
        if line_start and len(cells) <= len(header):
            column = header[len(cells) - 1].strip()
        return not_utf8(self.file, raw, failure, column)

    def _check_header(self, header: list[str]) -> None:
        import difflib

        known = self.required + self.optional
        for column in header:
            if column not in known:
                close = difflib.get_close_matches(column, known, n=1)
                raise InputError(f"unknown column {column!r}", file=self.file, line=1, field=column,
                                 hint=f"did you mean {close[0]}?" if close else f"expected {', '.join(known)}")
        if len(set(header)) != len(header):
            raise InputError("a column appears twice in the header", file=self.file, line=1)
        missing = [c for c in self.required if c not in header]
        if missing:
            raise InputError(f"the header lacks the column {missing[0]!r}", file=self.file, line=1,
                             field=missing[0])

    # -- cell readers --------------------------------------------------------------------------------

    def instant(self, line: int, column: str, text: str) -> datetime:
        """An ISO 8601 timestamp that states its offset (or Z), as a UTC instant.

        Python reads any character between the date and the time (a NUL byte, a letter);
        ISO 8601 and RFC 3339 write ``T`` (or a space), so nothing else is let through.
        """
        text = text.strip()
        # Only the separator can hide junk from the parser; "...-DDT..." (nearly every row) skips the checks.
        if text[10:11] != "T":
            if not (text.isascii() and text.isprintable()):
                raise self.error(line, column, f"the timestamp {text!r} holds a character that is not printable ASCII")
            if len(text) > 10 and text[4] == "-" and text[10] not in "t ":
                raise self.error(line, column, f"{text!r} is not an ISO 8601 timestamp: write T between date and time")
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise self.error(line, column, f"{text!r} is not an ISO 8601 timestamp") from None
        if value.tzinfo is None:
            raise self.error(line, column, f"the timestamp {text!r} has no offset; add Z or +01:00")
        try:
            return value.astimezone(timezone.utc)
        except OverflowError:
            raise self.error(line, column, f"the timestamp {text!r} is out of range") from None

    def day(self, line: int, column: str, text: str) -> date:
        text = text.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise self.error(line, column, f"{text!r} is not a date written YYYY-MM-DD") from None

    def count(self, line: int, column: str, text: str) -> int:
        text = text.strip()
        if not (text.isascii() and text.isdigit()):
            raise self.error(line, column, f"{text!r} is not a whole number of zero or more")
        value = int(text)
        if value > MAX_COUNT:
            raise self.error(line, column, f"{text} is more than a row can count (at most {MAX_COUNT:,})")
        return value

    def amount(self, line: int, column: str, text: str, currency: str | None = None) -> Decimal:
        """An exact decimal amount, with no more decimals than the currency's minor unit."""
        text = text.strip()
        if not _AMOUNT.match(text):
            raise self.error(line, column, f"{text!r} is not an exact amount such as 1200.00")
        value = Decimal(text)
        if abs(value) >= MAX_AMOUNT:
            raise self.error(line, column, f"{text} is too large an amount (at most 15 digits before the point)")
        if currency is not None and decimal_places(value) > minor_digits(currency):
            raise self.error(line, column, f"{text} has more decimals than {currency} has ({minor_digits(currency)})")
        return value

    def impact(self, line: int, text: str) -> Decimal | None:
        """The percentage of a service an incident affected: above 0, at most 100; 100 is kept as None (all of it)."""
        text = text.strip()
        if not text:
            return None
        if not re.match(r"^\d+(\.\d+)?$", text):
            raise self.error(line, "impact", f"{text!r} is not a percentage such as 25 or 12.5")
        value = Decimal(text)
        if not 0 < value <= 100:
            raise self.error(line, "impact", f"the impact {text} is not above 0 and at most 100")
        return None if value == 100 else value

    def contract_service(self, line: int, row: dict[str, str], book: Book) -> Key | None:
        """The row's (contract, service), checked against the book; None for another share's contract.

        A month holds thousands of rows per (contract, service): each pair is checked once
        and its key kept, as it was written, so later rows cost one dictionary look-up.
        """
        written = (row["contract"], row["service"])
        key = self._keys.get(written, _UNCHECKED)
        if key is not _UNCHECKED:
            return key
        contract_id = written[0].strip()
        contract = book.contract(contract_id)
        if contract is None:
            if contract_id in book.elsewhere:
                self._keys[written] = None
                return None
            raise self.error(line, "contract", f"no contract {contract_id!r} in {book.file}")
        service = written[1].strip()
        if contract.service(service) is None:
            known = ", ".join(s.id for s in contract.services)
            raise self.error(line, "service", f"contract {contract_id} has no service {service!r} (it has {known})")
        key = self._keys[written] = (contract_id, service)
        return key


_CAUSES = {c.value: c for c in Cause}
_UNCHECKED = object()


INCIDENT_COLUMNS = (("contract", "service", "start", "end"), ("cause", "announced_at", "impact", "id"))
REQUEST_COLUMNS = (("contract", "service", "interval_start", "requests", "errors"), ())
INVOICE_COLUMNS = (("contract", "number", "issued", "due", "net", "tax", "gross", "currency"), ("period",))
PAYMENT_COLUMNS = (("invoice", "paid_on", "amount"), ())
TICKET_COLUMNS = (("contract", "ticket", "priority", "created", "first_response"), ("resolved",))
PAUSE_COLUMNS = (("ticket", "start", "end"), ())

# --- one row each: the checks a row passes, shared by the readers below and the streamed load ----


def incident_row(rows: CsvRows, line: int, row: dict[str, str], book: Book) -> tuple[Key, Incident] | None:
    key = rows.contract_service(line, row, book)
    if key is None:
        return None
    start = rows.instant(line, "start", row["start"])
    end = rows.instant(line, "end", row["end"])
    if end <= start:
        raise rows.error(line, "end", f"the end {row['end'].strip()} is not after the start {row['start'].strip()}")
    cause_text = (row.get("cause") or "").strip() or "outage"
    cause = _CAUSES.get(cause_text)
    if cause is None:
        raise rows.error(line, "cause", f"{cause_text!r} is not a cause; use {', '.join(_CAUSES)} or leave it empty")
    announced_text = (row.get("announced_at") or "").strip()
    announced = None
    if announced_text:
        if cause is not Cause.maintenance:
            raise rows.error(line, "announced_at", "only maintenance is announced; leave announced_at empty")
        announced = rows.instant(line, "announced_at", announced_text)
    impact_text = row.get("impact")  # most books have no such column, and most rows no impact
    impact = rows.impact(line, impact_text) if impact_text else None
    ident = (row.get("id") or "").strip() or None
    if ident is not None and len(ident) > 100:
        raise rows.error(line, "id", "an incident id is at most 100 characters")
    return key, Incident(start, end, cause, announced, line, impact, ident)


def request_row(rows: CsvRows, line: int, row: dict[str, str], book: Book) -> tuple[Key, RequestCount] | None:
    """A request count; an interval counted twice is found by the caller (it needs the other rows)."""
    key = rows.contract_service(line, row, book)
    if key is None:
        return None
    start = rows.instant(line, "interval_start", row["interval_start"])
    requests = rows.count(line, "requests", row["requests"])
    errors = rows.count(line, "errors", row["errors"])
    if errors > requests:
        raise rows.error(line, "errors", f"{errors} errors out of {requests} requests")
    return key, RequestCount(start, requests, errors, line)


def invoice_row(rows: CsvRows, line: int, row: dict[str, str], book: Book, seen: dict[str, int],
                elsewhere: set[str]) -> Invoice | None:
    """An invoice; ``seen`` holds the numbers read so far (at their lines), the numbers of
    another share's invoices are added to ``elsewhere``."""
    contract_id = row["contract"].strip()
    contract = book.contract(contract_id)
    if contract is None and contract_id not in book.elsewhere:
        raise rows.error(line, "contract", f"no contract {contract_id!r} in {book.file}")
    number = row["number"].strip()
    if not number:
        raise rows.error(line, "number", "an invoice needs a number")
    if number in seen:
        raise rows.error(line, "number", f"invoice {number} is already listed on line {seen[number]}")
    seen[number] = line
    if contract is None:
        elsewhere.add(number)
        return None
    currency = row["currency"].strip()
    if currency != contract.currency:
        raise rows.error(line, "currency", f"invoice {number} is in {currency!r} but contract {contract_id} "
                                           f"is in {contract.currency}")
    issued = rows.day(line, "issued", row["issued"])
    due = rows.day(line, "due", row["due"])
    if due < issued:
        raise rows.error(line, "due", f"the due date {due} is before the issue date {issued}")
    net, tax, gross = (rows.amount(line, column, row[column], currency) for column in ("net", "tax", "gross"))
    if net + tax != gross:
        raise rows.error(line, "gross", f"net {net} plus tax {tax} is {net + tax}, not {gross}")
    if gross <= 0:
        raise rows.error(line, "gross", "an invoice's gross amount must be more than zero")
    period = (row.get("period") or "").strip() or None
    if period is not None:
        try:
            period = str(Period.parse(period))
        except ValueError:
            raise rows.error(line, "period", f"{period!r} is not a month written YYYY-MM") from None
    return Invoice(contract_id, number, issued, due, net, tax, gross, currency, line, period)


def payment_row(rows: CsvRows, line: int, row: dict[str, str], invoices: Mapping[str, str],
                seen: dict[tuple[str, date, Decimal], int], elsewhere: AbstractSet[str] = frozenset()) -> Payment | None:
    """A payment; ``invoices`` maps the known invoice numbers to their currencies, ``seen``
    holds the payments read so far (at their lines)."""
    number = row["invoice"].strip()
    if number in elsewhere and number not in invoices:
        return None
    if number not in invoices:
        raise rows.error(line, "invoice", f"no invoice {number!r} is known (in invoices.csv or the store)")
    paid_on = rows.day(line, "paid_on", row["paid_on"])
    amount = rows.amount(line, "amount", row["amount"], invoices[number])
    if amount <= 0:
        raise rows.error(line, "amount", "a payment must be more than zero")
    key = (number, paid_on, amount)
    if key in seen:
        raise rows.error(line, "amount", f"the same payment is already listed on line {seen[key]}; "
                                         "write two payments of one day as one row")
    seen[key] = line
    return Payment(number, paid_on, amount, line)


def ticket_row(rows: CsvRows, line: int, row: dict[str, str], book: Book, seen: dict[str, int],
               elsewhere: set[str]) -> Ticket | None:
    """A ticket; ``seen`` holds the ids read so far (at their lines), the ids of another
    share's tickets are added to ``elsewhere``."""
    contract_id = row["contract"].strip()
    kept = book.contract(contract_id) is not None
    if not kept and contract_id not in book.elsewhere:
        raise rows.error(line, "contract", f"no contract {contract_id!r} in {book.file}")
    ticket = row["ticket"].strip()
    if not ticket:
        raise rows.error(line, "ticket", "a ticket needs an id")
    if ticket in seen:
        raise rows.error(line, "ticket", f"ticket {ticket} is already listed on line {seen[ticket]}")
    seen[ticket] = line
    if not kept:
        elsewhere.add(ticket)
        return None
    created = rows.instant(line, "created", row["created"])
    answered = rows.instant(line, "first_response", row["first_response"]) if row["first_response"].strip() else None
    resolved = rows.instant(line, "resolved", row["resolved"]) if (row.get("resolved") or "").strip() else None
    if answered is not None and answered < created:
        raise rows.error(line, "first_response", f"ticket {ticket} is answered before it was created")
    if resolved is not None and resolved < created:
        raise rows.error(line, "resolved", f"ticket {ticket} is resolved before it was created")
    return Ticket(contract_id, ticket, row["priority"].strip(), created, answered, resolved, line)


def pause_row(rows: CsvRows, line: int, row: dict[str, str], tickets: Mapping[str, Ticket],
              elsewhere: AbstractSet[str] = frozenset()) -> TicketPause | None:
    """A pause; ``tickets`` maps the known ticket ids to their tickets (a pause must lie in its life)."""
    ticket_id = row["ticket"].strip()
    ticket = tickets.get(ticket_id)
    if ticket is None and ticket_id in elsewhere:
        return None
    if ticket is None:
        raise rows.error(line, "ticket", f"no ticket {ticket_id!r} is known (in tickets.csv or the store)")
    start = rows.instant(line, "start", row["start"])
    end = rows.instant(line, "end", row["end"])
    if end <= start:
        raise rows.error(line, "end", "the pause ends before it starts")
    if start < ticket.created:
        raise rows.error(line, "start", f"the pause starts before ticket {ticket_id} was created")
    if ticket.resolved is not None and end > ticket.resolved:
        raise rows.error(line, "end", f"the pause ends after ticket {ticket_id} was resolved")
    return TicketPause(ticket_id, start, end, line)


# --- whole files, for evaluate ---------------------------------------------------------------------


def read_incidents(path: Path, book: Book) -> dict[Key, list[Incident]]:
    rows = CsvRows(path, *INCIDENT_COLUMNS, book.elsewhere)
    result: dict[Key, list[Incident]] = {}
    for line, row in rows:
        read = incident_row(rows, line, row, book)
        if read is not None:
            result.setdefault(read[0], []).append(read[1])
    for (contract, service), incidents in result.items():
        _check_incident_keys(rows, contract, service, incidents)
    return result


def _check_incident_keys(rows: CsvRows, contract: str, service: str, incidents: list[Incident]) -> None:
    """An incident's key (its id, else its start) names one incident: two rows with one key must say the same.

    A later load that gives a key other content corrects the stored incident; within one file
    there is nothing to correct, so the file contradicts itself.  Found by sorting, as repeated
    request intervals are, not with a set of every row.
    """
    keyed = sorted(incidents, key=lambda i: (i.incident is None, i.incident or "", i.start, i.line))
    for earlier, later in zip(keyed, keyed[1:]):
        if earlier.incident != later.incident or (later.incident is None and earlier.start != later.start):
            continue
        if earlier._replace(line=later.line) != later:
            what = f"the id {later.incident}" if later.incident is not None else "this start"
            field = "id" if later.incident is not None else "start"
            raise rows.error(later.line, field, f"an incident of {contract} {service} with {what} is already listed "
                                                f"on line {earlier.line} with other content; an incident's key "
                                                "(contract, service and id, else start) names one incident")


def read_requests(path: Path, book: Book) -> dict[Key, list[RequestCount]]:
    rows = CsvRows(path, *REQUEST_COLUMNS, skipped=book.elsewhere)
    result: dict[Key, list[RequestCount]] = {}
    for line, row in rows:
        read = request_row(rows, line, row, book)
        if read is not None:
            result.setdefault(read[0], []).append(read[1])
    # A repeated interval is found by sorting each service's rows, not with a set of every
    # row read (which cost a quarter of the memory of a large file).
    for counts in result.values():
        counts.sort(key=lambda r: (r.interval_start, r.line))
        for earlier, later in zip(counts, counts[1:]):
            if earlier.interval_start == later.interval_start:
                raise rows.error(later.line, "interval_start",
                                 f"this interval is already counted on line {earlier.line}")
    return result


def read_invoices(path: Path, book: Book, elsewhere: set[str]) -> dict[str, list[Invoice]]:
    """Invoices per contract; the numbers of another share's invoices are added to ``elsewhere``."""
    rows = CsvRows(path, *INVOICE_COLUMNS)
    result: dict[str, list[Invoice]] = {}
    seen: dict[str, int] = {}
    for line, row in rows:
        invoice = invoice_row(rows, line, row, book, seen, elsewhere)
        if invoice is not None:
            result.setdefault(invoice.contract, []).append(invoice)
    return result


def read_payments(path: Path, invoices: dict[str, str], elsewhere: AbstractSet[str] = frozenset()) -> dict[str, list[Payment]]:
    """Payments; ``invoices`` maps every known invoice number to its currency, ``elsewhere``
    holds the numbers of another share's invoices, whose payments are skipped."""
    rows = CsvRows(path, *PAYMENT_COLUMNS)
    result: dict[str, list[Payment]] = {}
    seen: dict[tuple[str, date, Decimal], int] = {}
    for line, row in rows:
        payment = payment_row(rows, line, row, invoices, seen, elsewhere)
        if payment is not None:
            result.setdefault(payment.invoice, []).append(payment)
    return result


def read_tickets(path: Path, book: Book, elsewhere: set[str]) -> dict[str, list[Ticket]]:
    """Tickets per contract; the ids of another share's tickets are added to ``elsewhere``."""
    rows = CsvRows(path, *TICKET_COLUMNS)
    result: dict[str, list[Ticket]] = {}
    seen: dict[str, int] = {}
    for line, row in rows:
        ticket = ticket_row(rows, line, row, book, seen, elsewhere)
        if ticket is not None:
            result.setdefault(ticket.contract, []).append(ticket)
    return result


def read_pauses(path: Path, tickets: dict[str, Ticket], elsewhere: AbstractSet[str] = frozenset()) -> dict[str, list[TicketPause]]:
    """Pauses; ``tickets`` maps every known ticket id to its ticket (a pause must lie in its life),
    ``elsewhere`` holds the ids of another share's tickets, whose pauses are skipped."""
    rows = CsvRows(path, *PAUSE_COLUMNS)
    result: dict[str, list[TicketPause]] = {}
    for line, row in rows:
        pause = pause_row(rows, line, row, tickets, elsewhere)
        if pause is not None:
            result.setdefault(pause.ticket, []).append(pause)
    return result


# --- a file in chunks, for the streamed load --------------------------------------------------------

CHUNK_ROWS = 10_000
"""rows read before the load writes them: what a streamed load holds of a measurement file"""


def raw_chunks(rows: CsvRows, size: int = CHUNK_ROWS) -> Iterator[list[tuple[int, dict[str, str]]]]:
    """The file's rows, ``size`` at a time, as (line, row) pairs not yet checked."""
    chunk: list[tuple[int, dict[str, str]]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
            if len(rows._keys) > 100_000:  # the (contract, service) pairs checked: kept bounded too
                rows._keys.clear()
    if chunk:
        yield chunk


def stream_incidents(path: Path, book: Book, size: int = CHUNK_ROWS) -> Iterator[list[tuple[Key, Incident]]]:
    rows = CsvRows(path, *INCIDENT_COLUMNS)
    for chunk in raw_chunks(rows, size):
        yield [read for line, row in chunk if (read := incident_row(rows, line, row, book)) is not None]


def stream_requests(path: Path, book: Book, size: int = CHUNK_ROWS) -> Iterator[list[tuple[Key, RequestCount]]]:
    """Request counts, checked row by row; an interval counted twice is the store's to find,
    among the rows this load wrote before (see ``engine.store.loading``)."""
    rows = CsvRows(path, *REQUEST_COLUMNS)
    for chunk in raw_chunks(rows, size):
        yield [read for line, row in chunk if (read := request_row(rows, line, row, book)) is not None]


def stream_invoices(path: Path, book: Book, size: int = CHUNK_ROWS) -> Iterator[list[Invoice]]:
    """Invoices; a number listed twice within a chunk is refused here, across chunks by the store."""
    rows = CsvRows(path, *INVOICE_COLUMNS)
    for chunk in raw_chunks(rows, size):
        seen: dict[str, int] = {}
        yield [read for line, row in chunk if (read := invoice_row(rows, line, row, book, seen, set())) is not None]


def stream_tickets(path: Path, book: Book, size: int = CHUNK_ROWS) -> Iterator[list[Ticket]]:
    rows = CsvRows(path, *TICKET_COLUMNS)
    for chunk in raw_chunks(rows, size):
        seen: dict[str, int] = {}
        yield [read for line, row in chunk if (read := ticket_row(rows, line, row, book, seen, set())) is not None]


def stream_payments(path: Path, invoices: Callable[[set[str]], Mapping[str, str]],
                    size: int = CHUNK_ROWS) -> Iterator[list[Payment]]:
    """Payments; ``invoices(numbers)`` gives the currency of each of those numbers the store
    knows (this load's invoices are written before its payments are read)."""
    rows = CsvRows(path, *PAYMENT_COLUMNS)
    for chunk in raw_chunks(rows, size):
        known = invoices({row["invoice"].strip() for _, row in chunk})
        seen: dict[tuple[str, date, Decimal], int] = {}
        yield [read for line, row in chunk if (read := payment_row(rows, line, row, known, seen)) is not None]


def stream_pauses(path: Path, tickets: Callable[[set[str]], Mapping[str, Ticket]],
                  size: int = CHUNK_ROWS) -> Iterator[list[TicketPause]]:
    """Pauses; ``tickets(ids)`` gives each of those tickets the store knows."""
    rows = CsvRows(path, *PAUSE_COLUMNS)
    for chunk in raw_chunks(rows, size):
        known = tickets({row["ticket"].strip() for _, row in chunk})
        yield [read for line, row in chunk if (read := pause_row(rows, line, row, known)) is not None]


def load_measurements(folder: str | Path, book: Book, known_invoices: dict[str, str] | None = None,
                      known_tickets: dict[str, Ticket] | None = None) -> Measurements:
    """Read the data folder; a missing file means no rows of that kind.

    ``known_invoices`` (number -> currency) and ``known_tickets`` let payments and pauses
    name invoices and tickets loaded earlier.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("the data folder does not exist", file=str(folder))
    with paused_gc():
        return _read_folder(folder, book, known_invoices, known_tickets)


def _read_folder(folder: Path, book: Book, known_invoices: dict[str, str] | None,
                 known_tickets: dict[str, Ticket] | None) -> Measurements:
    rows: dict[str, dict] = {}
    elsewhere_invoices: set[str] = set()
    elsewhere_tickets: set[str] = set()
    if (folder / "incidents.csv").exists():
        rows["incidents"] = read_incidents(folder / "incidents.csv", book)
    if (folder / "requests.csv").exists():
        rows["requests"] = read_requests(folder / "requests.csv", book)
    if (folder / "invoices.csv").exists():
        rows["invoices"] = read_invoices(folder / "invoices.csv", book, elsewhere_invoices)
    if (folder / "payments.csv").exists():
        numbers = dict(known_invoices or {})
        numbers.update({i.number: i.currency for invoices in rows.get("invoices", {}).values() for i in invoices})
        rows["payments"] = read_payments(folder / "payments.csv", numbers, elsewhere_invoices)
    if (folder / "tickets.csv").exists():
        rows["tickets"] = read_tickets(folder / "tickets.csv", book, elsewhere_tickets)
    if (folder / "ticket_pauses.csv").exists():
        known = dict(known_tickets or {})
        known.update({t.ticket: t for tickets in rows.get("tickets", {}).values() for t in tickets})
        rows["pauses"] = read_pauses(folder / "ticket_pauses.csv", known, elsewhere_tickets)
    return Measurements(folder=str(folder), **rows)
