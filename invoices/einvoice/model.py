"""An issued document as EN 16931's business terms, once, for every channel to render.

``en16931(document, channel)`` turns a credit note or adjustment into an ``EnInvoice``
whose attributes are named after the business terms (BT-) and groups (BG-) they carry;
``cii`` and ``ubl`` only write it out.  What a channel decides (the type code, the
specification and process identifiers, which notes, which electronic address) is decided
here, per channel:

* ``facturx``: CII in the Factur-X EN 16931 profile, with the French notes (PMT, PMD, AAB,
  BAR) when the issuer is French;
* ``fr_ctc``: UBL for the French e-invoicing flow (BT-23 "S1", services), the same notes;
* ``peppol``: UBL in the Peppol BIS Billing 3.0 flavour: one note, both parties' endpoints;
* ``ubl``: UBL of EN 16931 without a national flavour; in a currency of three decimals,
  which EN 16931 cannot carry, plain UBL 2.1 (no EN 16931 claim).

Signs.  A credit note (381) reads positive and an invoice (380) too:

* a credit note is 381, its lines as they are (the credits positive, a cap line negative);
* an adjustment whose total is zero or more (the customer owes) is an invoice, 380, its
  lines as they are (settled credits negative, late fees positive).  A debit note (383)
  would fit, but the French rules refuse it (BR-FR-04); a 380 naming the invoice does;
* an adjustment whose total is negative (the customer is owed) is a credit note, 381,
  with every sign flipped.

A negative line is quantity -1 at a positive price (BR-27 forbids a negative price), so
BT-131 = BT-129 x BT-146 holds.  Amounts are written with the currency's own decimals,
so the XML's totals are the store's to the minor unit; a zero is never "-0.00".
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from engine.core.money import minor_digits
from engine.core.tax import is_eu_vat_number

from ..documents import ADJUSTMENT, CREDIT_NOTE, Document, Party
from ..formats import Formats, language_of
from ..present import legal_identity, line_description, settlement_terms, statutory_notes, wording

CHANNELS = ("facturx", "ubl", "peppol", "fr_ctc")

EN16931 = "urn:cen.eu:en16931:2017"
"""BT-24 of EN 16931 itself (the Factur-X EN 16931 profile says the same)"""
PEPPOL_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
FR_SERVICES = "S1"
"""BT-23 in the French flow, the "cadre de facturation": S1 is services, a plain invoice"""
CREDIT_NOTE_CODES = ("381", "261", "262", "396", "502", "503")


@dataclass(frozen=True)
class EnId:
    id: str
    scheme: str | None = None


@dataclass(frozen=True)
class EnAddress:
    line1: str | None          # BT-35 / BT-50
    line2: str | None          # BT-36 / BT-51
    city: str | None           # BT-37 / BT-52
    postcode: str | None       # BT-38 / BT-53
    region: str | None         # BT-39 / BT-54
    country: str               # BT-40 / BT-55


@dataclass
class EnParty:
    name: str                                   # BT-27 / BT-44
    address: EnAddress                          # BG-5 / BG-8
    identifiers: list[EnId] = field(default_factory=list)  # BT-29 / BT-46
    legal_id: EnId | None = None                # BT-30 / BT-47
    vat_id: str | None = None                   # BT-31 / BT-48
    legal_info: str | None = None               # BT-33 (seller)
    endpoint: EnId | None = None                # BT-34 / BT-49
    email: str | None = None                    # BT-43 / BT-58


@dataclass(frozen=True)
class EnLine:
    id: str                  # BT-126
    quantity: Decimal        # BT-129: 1 or -1
    price: Decimal           # BT-146, never negative
    net: Decimal             # BT-131
    name: str                # BT-153
    description: str | None  # BT-154
    category: str            # BT-151
    rate: Decimal            # BT-152
    unit: str = "C62"        # BT-130: "one"


@dataclass(frozen=True)
class EnVat:
    category: str            # BT-118
    rate: Decimal            # BT-119
    base: Decimal            # BT-116
    tax: Decimal             # BT-117
    reason: str | None       # BT-120
    reason_code: str | None  # BT-121


@dataclass
class EnInvoice:
    channel: str
    number: str                          # BT-1
    issue_date: date                     # BT-2
    type_code: str                       # BT-3
    currency: str                        # BT-5
    decimals: int                        # the currency's minor digits: how amounts are written
    customization: str | None            # BT-24
    process: str | None                  # BT-23
    buyer_reference: str                 # BT-10
    contract_reference: str              # BT-12
    notes: list[tuple[str | None, str]]  # BG-1: (BT-21, BT-22)
    preceding: list[tuple[str, date]]    # BG-3: (BT-25, BT-26)
    period: tuple[date, date]            # BG-14: BT-73, BT-74
    seller: EnParty                      # BG-4
    buyer: EnParty                       # BG-7
    payment_terms: str                   # BT-20
    payment_means: str | None            # BT-81
    iban: str | None                     # BT-84
    bic: str | None                      # BT-86
    corrects: str | None                 # BG-24 BT-122: the slabill document corrected
    corrects_label: str | None           # BT-123
    lines: list[EnLine]                  # BG-25
    vat: list[EnVat]                     # BG-23
    line_total: Decimal                  # BT-106
    vat_total: Decimal                   # BT-110
    total: Decimal                       # BT-112 (and BT-115, nothing being prepaid)
    sign: int                            # 1: amounts as the document has them; -1: flipped

    @property
    def is_credit_note(self) -> bool:
        return self.type_code in CREDIT_NOTE_CODES

    def amount(self, value: Decimal) -> str:
        """An amount as the XML writes it: the currency's decimals, '.', never "-0.00"."""
        text = f"{value:.{self.decimals}f}"
        return text[1:] if value == 0 and text.startswith("-") else text


def rate_text(rate: Decimal) -> str:
    """A VAT rate as every rule set accepts it: 20, 5.5, 0.

    >>> rate_text(Decimal("20.00")), rate_text(Decimal("5.5")), rate_text(Decimal("0"))
    ('20', '5.5', '0')
    """
    text = f"{rate.normalize():f}"
    return text


def in_french_flow(document: Document) -> bool:
    """Domestic French B2B: issuer and customer in France, the customer with a SIREN (given or in its
    French VAT number).  The French CTC rules (BR-FR) apply to these documents."""
    return (document.issuer.country == "FR" and document.customer.country == "FR"
            and siren(document.customer) is not None)


def siren(party: Party) -> str | None:
    if party.registration and party.registration.get("scheme") == "0002":
        return party.registration["id"]
    vat_id = (party.vat_id or "").replace(" ", "")
    if party.country == "FR" and len(vat_id) == 13 and vat_id.startswith("FR") and vat_id[4:].isdigit():
        return vat_id[4:]
    return None


def _address(party: Party) -> EnAddress:
    postal = party.postal or {}
    if postal:
        return EnAddress(postal.get("street"), postal.get("additional"), postal.get("city"), postal.get("postcode"),
                         postal.get("region"), party.country)
    # Without parts, the address as printed is the first line; the country always has its own term.
    return EnAddress(party.address or None, None, None, None, None, party.country)


def _endpoint(party: Party, channel: str, french_flow: bool) -> EnId | None:
    endpoint = EnId(party.endpoint["id"], party.endpoint["scheme"]) if party.endpoint else None
    number = siren(party)
    if endpoint is None and french_flow and number:
        # Every company in the French e-invoicing directory is addressed by its SIREN at least.
        endpoint = EnId(number, "0225")
    if channel == "peppol" and party.siret and (endpoint is None or endpoint.scheme == "0225"):
        # The Peppol rules shipped on PyPI (2024) predate scheme 0225: a French participant is
        # reached by its SIRET (0009) there.
        endpoint = EnId(party.siret, "0009")
    return endpoint


def _party(party: Party, channel: str, french_flow: bool, legal_info: str | None) -> EnParty:
    identifiers = []
    if party.siret:
        identifiers.append(EnId(party.siret, "0009"))
    vat_id = party.vat_id
    if vat_id and not is_eu_vat_number(vat_id):
        # BR-CO-09: a VAT identifier starts with its country's ISO code.  A tax number of another
        # kind (Japan's T-number, Bahrain's TRN) identifies the party instead (BT-29 / BT-46).
        identifiers.append(EnId(vat_id))
        vat_id = None
    number = siren(party)
    legal_id = None
    if party.registration:
        legal_id = EnId(party.registration["id"], party.registration["scheme"])
    elif number:
        legal_id = EnId(number, "0002")
    return EnParty(party.name, _address(party), identifiers, legal_id, vat_id, legal_info,
                   _endpoint(party, channel, french_flow), party.email)


def _period(period: str) -> tuple[date, date]:
    year, month = (int(part) for part in period.split("-"))
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def en16931(document: Document, channel: str, locale: str | None = None) -> EnInvoice:
    """The document as EN 16931's business terms, for ``channel``, worded in ``locale``
    (default: the customer's)."""
    if channel not in CHANNELS:
        raise ValueError(f"no e-invoice channel {channel!r}")
    if document.number is None:
        raise ValueError("a document is rendered as an e-invoice once it has its number")
    locale = locale or document.locale
    words = wording(language_of(locale), False)
    f = Formats.of(locale, document.currency)
    if document.kind == CREDIT_NOTE:
        type_code, sign = "381", 1
    elif document.gross_total >= 0:
        type_code, sign = "380", 1
    else:
        type_code, sign = "381", -1
    french_flow = in_french_flow(document)
    doc = document.to_json()
    lines = []
    for index, (line, data) in enumerate(zip(document.lines, doc["lines"]), start=1):
        net = line.net * sign
        lines.append(EnLine(str(index), Decimal(1) if net >= 0 else Decimal(-1), abs(net), net,
                            str(words.line_label(f, data, legacy=False)), line_description(f, words, data) or None,
                            line.vat_category or "S", line.vat_rate))
    vat = [EnVat(v.category or "S", v.rate, v.base * sign, v.tax * sign,
                 v.exemption_reason if v.category not in ("S", "Z") else None,
                 v.exemption_code if v.category not in ("S", "Z") else None) for v in document.vat]
    categories = {v.category for v in vat}
    seller = _party(document.issuer, channel, french_flow, legal_identity(f, words, doc["issuer"]) or None)
    buyer = _party(document.customer, channel, french_flow, None)
    if "O" in categories:
        # BR-O-02..04: a document "not subject to VAT" carries no VAT identifier at all.
        seller.vat_id = buyer.vat_id = None
    notes = _notes(document, doc, channel, french_flow, f, words)
    if channel == "peppol":
        customization, process = PEPPOL_CUSTOMIZATION, PEPPOL_PROFILE
    elif channel == "fr_ctc":
        customization, process = EN16931, FR_SERVICES
    elif channel == "ubl" and minor_digits(document.currency) > 2:
        customization, process = None, None  # plain UBL 2.1: EN 16931 allows two decimals at most
    else:
        customization, process = EN16931, (FR_SERVICES if french_flow else None)
    owes = type_code == "380" and document.gross_total > 0
    issuer = document.issuer
    return EnInvoice(
        channel=channel, number=document.number, issue_date=document.issue_date, type_code=type_code,
        currency=document.currency, decimals=minor_digits(document.currency), customization=customization,
        process=process, buyer_reference=document.contract, contract_reference=document.contract, notes=notes,
        preceding=[(b.number, b.issue_date) for b in document.invoices], period=_period(document.period),
        seller=seller, buyer=buyer, payment_terms=str(settlement_terms(words, doc, owes)),
        payment_means="58" if owes and issuer.iban else None, iban=issuer.iban if owes else None,
        bic=issuer.bic if owes else None, corrects=document.corrects,
        corrects_label=str(words._("Document corrected by this one")) if document.corrects else None,
        lines=lines, vat=vat, line_total=document.net_total * sign, vat_total=document.tax_total * sign,
        total=document.gross_total * sign, sign=sign,
    )


def _notes(document: Document, doc: dict, channel: str, french_flow: bool, f, words) -> list[tuple[str | None, str]]:
    """BG-1: the French mentions (late-payment penalties PMT and PMD, discount AAB) of a French
    issuer, and BAR, the flow's treatment, in the French flow; Peppol takes one note, uncoded."""
    notes: list[tuple[str | None, str]] = []
    if document.issuer.country == "FR":
        notes += [(code, str(text)) for code, text in statutory_notes(f, words, doc)]
    if french_flow and channel in ("facturx", "fr_ctc"):
        notes.append(("BAR", "B2B"))
    if channel == "peppol" and notes:
        # PEPPOL-EN16931-R002: at most one note, and subject codes are not used.
        return [(None, " ".join(text for _, text in notes))]
    return notes


__all__ = ["ADJUSTMENT", "CHANNELS", "EnInvoice", "en16931", "in_french_flow", "rate_text"]
