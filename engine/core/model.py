"""The book of business as domain values: who issues, who is billed, what was measured.

A contract is a customer's agreement (currency, time zone, rule set, priced services),
validated once, when it is read, and frozen.  Measurements are the rows of a period
(incidents, request counts, invoices, payments, tickets and pauses) grouped by what they
belong to, as immutable tuples: the evaluation reads them and never changes them.
Where these values come from (YAML and CSV files, the store, an evaluation record) is
the business of ``engine.loading``, ``engine.store`` and ``engine.audit``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar, Iterable, Mapping, NamedTuple

from pydantic import field_validator, model_serializer, model_validator

from .errors import KeyedValueError
from .locales import check_locale
from .money import decimal_places, is_currency, minor_digits
from .period import Period
from .schema import Amount, Cause, Frozen, Percent, check_timezone
from .tax import EInvoice, Identifier, PostalAddress, VatTreatment, check_party_identifiers

# --- contracts --------------------------------------------------------------------------------------

_CONTRACT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def mail_address(text: str) -> str:
    """``text`` if it is one plain e-mail address (``local@domain``, ASCII), else ValueError.

    >>> mail_address("billing@acme.example")
    'billing@acme.example'
    >>> mail_address("Billing <billing@acme.example>")
    Traceback (most recent call last):
    ...
    ValueError: 'Billing <billing@acme.example>' is not an e-mail address (write it as name@domain)
    """
    from email.headerregistry import Address

    try:
        parsed = Address(addr_spec=text)
    except Exception:  # the parser's several defects and errors all mean the same here
        parsed = None
    if parsed is None or parsed.addr_spec != text or not parsed.domain:
        raise ValueError(f"{text!r} is not an e-mail address (write it as name@domain)")
    return text


EVENTS = ("document.issued", "document.delivered", "delivery.failed")
"""the events a webhook endpoint can receive"""


class WebhookEndpoint(Frozen):
    """An endpoint of the issuer's own systems that receives delivery events (an extension of INTERFACE.md)."""

    url: str
    """where events are POSTed, http:// or https://"""
    secret_env: str
    """the name of the environment variable holding the signing secret: the secret itself is
    never written in a file or stored"""
    events: tuple[str, ...] = EVENTS
    """which events it receives (default: all)"""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
            raise ValueError("a webhook url is http:// or https://, with a host and no user or password in it")
        return value

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value):
            raise ValueError("secret_env names an environment variable (letters, digits and '_'), "
                             "never the secret itself")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for event in value:
            if event not in EVENTS:
                raise ValueError(f"{event!r} is not an event; the events are {', '.join(EVENTS)}")
        if not value:
            raise ValueError("an endpoint receives at least one event")
        return value


class _Documented(Frozen):
    """A party or contract whose optional keys (delivery's webhooks and copies, the legal identity
    and tax terms of INTERFACE.md 6.4) are left out of its stored terms while unset, so that terms
    written before them keep their text and hash: adding such a key re-evaluates nothing."""

    OPTIONAL_KEYS: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _leave_out_unset(self, handler) -> dict[str, Any]:
        data = handler(self)
        for key in self.OPTIONAL_KEYS:
            if key in data and data[key] in (None, False, [], ()):
                del data[key]
        return data


class Issuer(_Documented):
    """The provider that issues credit notes, with the legal identity its documents state."""

    name: str
    vat_id: str | None = None
    country: str
    address: str = ""
    email: str | None = None
    """also the sender of the e-mails that deliver documents"""
    credit_note_prefix: str = "CN"
    adjustment_prefix: str = "ADJ"
    """numbers of invoice-adjustment statements start with this"""
    webhooks: tuple[WebhookEndpoint, ...] = ()
    """endpoints that receive delivery events (an extension)"""
    legal_form: str | None = None
    """e.g. SAS (BT-33, with the share capital and the trade register)"""
    share_capital: Amount | None = None
    """in EUR for a French company, as its documents must state it"""
    registration: Identifier | None = None
    """the legal registration (BT-30), e.g. {scheme: "0002", id: SIREN}"""
    siret: str | None = None
    """the establishment's SIRET (BT-29, scheme 0009); also its Peppol address under rules without 0225"""
    trade_register: str | None = None
    """e.g. RCS Paris 832 476 915"""
    endpoint: Identifier | None = None
    """the electronic address for e-invoices (BT-34), e.g. {scheme: "0225", id: SIREN}"""
    iban: str | None = None
    """where customers pay what an adjustment charges (BT-84)"""
    bic: str | None = None
    vat_on_debits: bool = False
    """the issuer opted to pay VAT on debits (a mention French invoices carry since September 2026)"""
    postal: PostalAddress | None = None
    """the address in parts (street, city, postcode) for e-invoices; ``address`` stays what is printed"""

    OPTIONAL_KEYS: ClassVar[frozenset[str]] = frozenset({
        "webhooks", "legal_form", "share_capital", "registration", "siret", "trade_register", "endpoint", "iban",
        "bic", "vat_on_debits", "postal"})

    @field_validator("credit_note_prefix", "adjustment_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.match(r"^[A-Z0-9]{1,8}$", value):
            raise ValueError("a number prefix is 1 to 8 capital letters or digits, e.g. AV")
        return value

    @model_validator(mode="after")
    def _distinct_endpoints(self) -> "Issuer":
        seen: set[str] = set()
        for index, endpoint in enumerate(self.webhooks):
            if endpoint.url in seen:
                raise KeyedValueError(("webhooks", index, "url"), f"the webhook {endpoint.url} is listed twice")
            seen.add(endpoint.url)
        check_party_identifiers(self)
        return self

    @property
    def key(self) -> str:
        """What identifies the issuer across loads: its VAT id, else its name."""
        return self.vat_id or self.name


class Customer(_Documented):
    """Who receives the credit notes, in which language, and through which e-invoice channel."""

    id: str
    name: str
    locale: str
    """a CLDR locale such as fr_FR, en_GB, ja_JP, ar_BH"""
    country: str
    vat_id: str | None = None
    address: str = ""
    email: str | None = None
    """the billing address documents are delivered to"""
    cc: tuple[str, ...] = ()
    """more addresses that receive a copy of each document (an extension)"""
    registration: Identifier | None = None
    """the legal registration (BT-47), e.g. {scheme: "0002", id: SIREN}"""
    siret: str | None = None
    """the establishment's SIRET (BT-46, scheme 0009)"""
    endpoint: Identifier | None = None
    """the electronic address for e-invoices (BT-49)"""
    e_invoice: EInvoice | None = None
    """facturx | ubl | peppol | fr_ctc | none; unset: facturx (ubl in a currency of three decimals)"""
    postal: PostalAddress | None = None
    """the address in parts for e-invoices; ``address`` stays what is printed"""

    OPTIONAL_KEYS: ClassVar[frozenset[str]] = frozenset({"cc", "registration", "siret", "endpoint", "e_invoice",
                                                         "postal"})

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        return check_locale(value)

    @field_validator("cc")
    @classmethod
    def _cc(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for address in value:
            mail_address(address)
        if len(set(value)) != len(value):
            raise ValueError("an address is listed twice")
        return value

    @model_validator(mode="after")
    def _identity(self) -> "Customer":
        check_party_identifiers(self)
        return self


class Service(Frozen):
    """A priced service of a contract; its fee is the basis of its objectives' credits."""

    id: str
    monthly_fee: Amount


class Contract(_Documented):
    """One customer's agreement: currency, time zone, rule set, VAT treatment and services."""

    id: str
    customer: Customer
    currency: str
    timezone: str
    """periods are calendar months in this zone"""
    ruleset: str
    start: date
    end: date | None = None
    vat_rate: Percent
    """percent applied to credit notes and adjustments (the rate of ``vat`` when only that is given)"""
    services: tuple[Service, ...]
    vat: VatTreatment | None = None
    """the VAT category (UNCL5305) and, but for S, the exemption reason; unset: S at ``vat_rate``"""

    OPTIONAL_KEYS: ClassVar[frozenset[str]] = frozenset({"vat"})

    @model_validator(mode="before")
    @classmethod
    def _rate_from_vat(cls, data: Any) -> Any:
        # `vat: {category: AE, rate: "0", ...}` says the rate: vat_rate may then be left out.
        if isinstance(data, dict) and "vat_rate" not in data and isinstance(data.get("vat"), dict) \
                and data["vat"].get("rate") is not None:
            data = {**data, "vat_rate": data["vat"]["rate"]}
        return data

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _CONTRACT_ID.match(value):
            raise ValueError("a contract id uses letters, digits, '.', '_' and '-'")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if not is_currency(value):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code known to CLDR")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Contract":
        if self.end is not None and self.end < self.start:
            raise KeyedValueError(("end",), "the end is before the start")
        if not 0 <= self.vat_rate <= 100:
            raise KeyedValueError(("vat_rate",), "vat_rate must be between 0 and 100 percent")
        if self.vat is not None:
            self.vat.check_against(self.vat_rate)
        self._check_e_invoice()
        if not self.services:
            raise KeyedValueError(("services",), "a contract needs at least one service")
        seen: set[str] = set()
        for index, service in enumerate(self.services):
            if service.id in seen:
                raise KeyedValueError(("services", index, "id"), f"the service {service.id!r} is listed twice")
            seen.add(service.id)
            if service.monthly_fee < 0:
                raise KeyedValueError(("services", index, "monthly_fee"), "a fee cannot be negative")
            if decimal_places(service.monthly_fee) > minor_digits(self.currency):
                raise KeyedValueError(("services", index, "monthly_fee"),
                                      f"{self.currency} has {minor_digits(self.currency)} decimals, "
                                      f"but the fee is {service.monthly_fee}")
        return self

    def _check_e_invoice(self) -> None:
        """What the customer's channel needs that the currency or the parties cannot give."""
        channel = self.customer.e_invoice
        if channel in ("facturx", "peppol", "fr_ctc") and minor_digits(self.currency) > 2:
            raise KeyedValueError(("customer", "e_invoice"),
                                  f"EN 16931 e-invoices carry at most 2 decimals, and {self.currency} has "
                                  f"{minor_digits(self.currency)}: choose e_invoice ubl (UBL 2.1 to the "
                                  f"{self.currency} minor unit) or none")
        if channel == "fr_ctc":
            if self.currency != "EUR":
                raise KeyedValueError(("customer", "e_invoice"),
                                      "the French e-invoicing flow (fr_ctc) wants VAT in EUR (BR-FR-CO-12) and "
                                      f"slabill holds no exchange rate: a {self.currency} contract cannot use it")
            if self.customer.country != "FR":
                raise KeyedValueError(("customer", "e_invoice"),
                                      "fr_ctc is the French domestic e-invoicing flow: the customer's country must "
                                      "be FR (use peppol or facturx abroad)")
        if channel == "peppol" and self.customer.endpoint is None:
            raise KeyedValueError(("customer", "endpoint"),
                                  "a Peppol customer needs its electronic address: endpoint: {scheme: ..., id: ...}")
        if self.vat is not None and self.vat.category == "K":
            raise KeyedValueError(("vat", "category"),
                                  "K is the intra-EU supply of goods; SLA credits are services (use AE)")

    @property
    def vat_category(self) -> str:
        """The UNCL5305 category of the contract's services: S unless ``vat`` says otherwise;
        a rate of 0 without ``vat`` is Z (zero rated), since EN 16931 has no standard rate of 0 %."""
        if self.vat is not None:
            return self.vat.category
        return "S" if self.vat_rate > 0 else "Z"

    @property
    def e_invoice(self) -> str:
        """The e-invoice channel: as the customer says, else facturx, or ubl where EN 16931 cannot
        carry the currency's decimals."""
        if self.customer.e_invoice is not None:
            return self.customer.e_invoice
        return "facturx" if minor_digits(self.currency) <= 2 else "ubl"

    def active_in(self, period: Period) -> bool:
        """Whether any day of the period lies in [start, end]."""
        return self.start <= period.last_day and (self.end is None or self.end >= period.first_day)

    def service(self, service_id: str) -> Service | None:
        for service in self.services:  # two or three: a loop, not a generator, for every objective
            if service.id == service_id:
                return service
        return None

    @property
    def monthly_fees(self) -> Decimal:
        return sum((s.monthly_fee for s in self.services), Decimal(0))


# --- measurement rows -------------------------------------------------------------------------------

class Incident(NamedTuple):
    """A stretch of time in which a service was down, and why."""

    start: datetime
    end: datetime
    cause: Cause
    announced_at: datetime | None
    line: int
    impact: Decimal | None = None
    """the percentage of the service affected, above 0 and below 100; None: all of it (100)"""
    incident: str | None = None
    """its own id (incidents.csv's ``id`` column), when the file gives one: then its key, else its start"""


class RequestCount(NamedTuple):
    """Requests and errors counted in one interval."""

    interval_start: datetime
    requests: int
    errors: int
    line: int


class Invoice(NamedTuple):
    """An invoice the provider issued; late payment of it may cost the customer interest."""

    contract: str
    number: str
    issued: date
    due: date
    net: Decimal
    tax: Decimal
    gross: Decimal
    currency: str
    line: int
    period: str | None = None
    """the service period the invoice bills (YYYY-MM): a credit note for it names this invoice"""


class Payment(NamedTuple):
    """Money received against an invoice, on a day."""

    invoice: str
    paid_on: date
    amount: Decimal
    line: int


class Ticket(NamedTuple):
    """A support ticket: when it was opened, first answered and resolved (None: not yet)."""

    contract: str
    ticket: str
    priority: str
    created: datetime
    first_response: datetime | None
    resolved: datetime | None
    line: int


class TicketPause(NamedTuple):
    """Time a ticket waited on the customer; it never counts against the provider."""

    ticket: str
    start: datetime
    end: datetime
    line: int


Key = tuple[str, str]  # (contract, service)


def _frozen(groups: Mapping[Any, Iterable]) -> Mapping[Any, tuple]:
    """Rows grouped by key, as a read-only mapping of tuples."""
    if type(groups) is MappingProxyType:
        return groups
    return MappingProxyType({key: tuple(rows) for key, rows in groups.items()})


@dataclass(frozen=True)
class Measurements:
    """Every measured row of a period, grouped by contract and service; never changed once made.

    Readers gather rows in plain dicts of lists and hand them over: each group becomes a
    tuple and each mapping read-only, so no step of an evaluation can change what the
    next step, or the evaluation record, sees.
    """

    folder: str = ""
    """where the rows came from, for messages: a data folder, the store or a record"""
    incidents: Mapping[Key, tuple[Incident, ...]] = field(default_factory=dict)
    requests: Mapping[Key, tuple[RequestCount, ...]] = field(default_factory=dict)
    invoices: Mapping[str, tuple[Invoice, ...]] = field(default_factory=dict)
    """per contract"""
    payments: Mapping[str, tuple[Payment, ...]] = field(default_factory=dict)
    """per invoice number"""
    tickets: Mapping[str, tuple[Ticket, ...]] = field(default_factory=dict)
    """per contract"""
    pauses: Mapping[str, tuple[TicketPause, ...]] = field(default_factory=dict)
    """per ticket id"""

    def __post_init__(self) -> None:
        for kind in fields(self)[1:]:
            object.__setattr__(self, kind.name, _frozen(getattr(self, kind.name)))

    def __reduce__(self):
        # A read-only mapping cannot be pickled; its plain copy can, and is frozen again.
        return (Measurements, (self.folder, *(dict(getattr(self, f.name)) for f in fields(self)[1:])))

    def incidents_of(self, contract: str, service: str) -> tuple[Incident, ...]:
        return self.incidents.get((contract, service), ())

    def requests_of(self, contract: str, service: str) -> tuple[RequestCount, ...]:
        return self.requests.get((contract, service), ())

    def invoices_of(self, contract: str) -> tuple[Invoice, ...]:
        return self.invoices.get(contract, ())

    def payments_of(self, invoice: str) -> tuple[Payment, ...]:
        return self.payments.get(invoice, ())

    def tickets_of(self, contract: str) -> tuple[Ticket, ...]:
        return self.tickets.get(contract, ())

    def pauses_of(self, ticket: str) -> tuple[TicketPause, ...]:
        return self.pauses.get(ticket, ())
