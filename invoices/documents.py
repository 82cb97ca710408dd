"""Credit notes and invoice adjustments as values, built from evaluations.

A *credit note* gives a customer money back for a missed objective: one line per
breached objective (target, measured attainment, downtime, tier, percentage and the
fee it was taken on), a cap line where the cap applied, and VAT at the contract's
rate.  Its amounts are positive: the whole document is a credit.

An *adjustment statement* lists what the customer's next invoice must change: SLA
credits settled there (negative lines), late-payment fees (positive lines), and
corrections when a re-evaluation finds that less was owed than was credited.

Totals add up by construction: lines are rounded amounts, tax is rounded once per VAT
category and rate on the sum of their lines, and the total is their sum.  A document is
immutable; ``numbered`` returns a copy carrying its number.  It says how it is worded
(``presentation``, see ``invoices.present``), so that it renders as it was issued.

Since December 2026 (INTERFACE.md 6.4) a document also carries what accounting systems
and tax law read: each line's VAT category (UNCL5305) and each category's exemption
reason, the parties' legal identity and electronic addresses, the invoices it credits
(EN 16931 BT-25/BT-26), how it is settled, and the customer's e-invoice channel.  These
keys are written only when set, so a document issued before keeps its content, and its
hashes, as they were.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable, Mapping

from engine.core.evaluation import Evaluation
from engine.core.latefees import margin_of, rate_step, stated_compensation
from engine.core.model import Contract, Customer, Invoice, Issuer
from engine.core.money import Money, Rounding, fixed, format_amount, plain
from engine.core.results import section6_keys

from .formats import language_of, translations
from .present import PRESENTATION, titles, wording_of

CREDIT_NOTE = "credit_note"
ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class Party:
    """Who issues or receives a document, as printed on it, with the identity e-invoices carry."""

    name: str
    address: str
    country: str
    vat_id: str | None
    email: str | None = None
    legal_form: str | None = None
    share_capital: str | None = None
    registration: dict[str, str] | None = field(default=None, compare=False)
    """{scheme, id}: ISO 6523, e.g. 0002 and a SIREN (BT-30 / BT-47)"""
    siret: str | None = None
    trade_register: str | None = None
    endpoint: dict[str, str] | None = field(default=None, compare=False)
    """{scheme, id}: the electronic address (BT-34 / BT-49)"""
    iban: str | None = None
    bic: str | None = None
    vat_on_debits: bool = False
    postal: dict[str, str] | None = field(default=None, compare=False)
    """street, additional, city, postcode, region (BT-35..BT-39 / BT-50..BT-54)"""

    FIRST = ("name", "address", "country", "vat_id", "email")
    """the keys every document has; the others are written only when set"""

    @classmethod
    def of(cls, who: Issuer | Customer) -> "Party":
        def scheme(identifier) -> dict[str, str] | None:
            return {"scheme": identifier.scheme, "id": identifier.id} if identifier is not None else None

        postal = who.postal.model_dump(exclude_none=True) if who.postal is not None else None
        if isinstance(who, Issuer):
            return cls(who.name, who.address, who.country, who.vat_id, who.email, who.legal_form,
                       str(who.share_capital) if who.share_capital is not None else None, scheme(who.registration),
                       who.siret, who.trade_register, scheme(who.endpoint), who.iban, who.bic, who.vat_on_debits,
                       postal)
        return cls(who.name, who.address, who.country, who.vat_id, who.email, registration=scheme(who.registration),
                   siret=who.siret, endpoint=scheme(who.endpoint), postal=postal)

    def to_json(self) -> dict[str, Any]:
        data = vars(self)
        return {key: value for key, value in data.items() if key in self.FIRST or value not in (None, False)}


@dataclass(frozen=True)
class Line:
    """One line of a document; ``net`` is signed as the document reads it."""

    kind: str
    """sla_credit | cap | sla_correction | late_interest | late_compensation | late_correction"""
    net: Decimal
    vat_rate: Decimal
    objective: str | None = None
    detail: dict[str, Any] = field(default_factory=dict, compare=False)
    vat_category: str | None = None
    """UNCL5305 (S, AE, E, O, Z...); None on documents issued before categories"""


@dataclass(frozen=True)
class VatLine:
    rate: Decimal
    base: Decimal
    tax: Decimal
    category: str | None = None
    exemption_reason: str | None = None
    """the mention printed for a category other than S (BT-120)"""
    exemption_code: str | None = None
    """its VATEX code (BT-121)"""

    def to_json(self, money) -> dict[str, Any]:
        data = {"rate": str(self.rate), "base": money(self.base), "tax": money(self.tax)}
        for key in ("category", "exemption_reason", "exemption_code"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


@dataclass(frozen=True)
class Billed:
    """An invoice a document credits or adjusts: the one that billed its period (BT-25, BT-26)."""

    number: str
    issue_date: date


@dataclass(frozen=True)
class Document:
    """A credit note or adjustment statement, before or after it is numbered."""

    kind: str
    number: str | None
    issue_date: date
    period: str
    contract: str
    currency: str
    locale: str
    issuer: Party
    customer: Party
    lines: tuple[Line, ...]
    vat: tuple[VatLine, ...]
    net_total: Decimal
    tax_total: Decimal
    gross_total: Decimal
    notes: dict[str, Any] = field(default_factory=dict, compare=False)
    corrects: str | None = None
    """the number of the document this one corrects, if any"""
    presentation: int = PRESENTATION
    """how the document is worded (``invoices.present``); 1 for documents issued before it was said"""
    invoices: tuple[Billed, ...] = ()
    """the invoices that billed the period (BT-25, BT-26); empty when invoices.csv names none"""
    e_invoice: str | None = None
    """the customer's channel: facturx | ubl | peppol | fr_ctc | none; None on documents issued before"""

    def numbered(self, number: str) -> "Document":
        return replace(self, number=number)

    def to_json(self) -> dict[str, Any]:
        """The document as data; the canonical form is what its hash covers and what renders it."""
        money = lambda amount: format_amount(amount, self.currency)  # noqa: E731
        data = {
            "kind": self.kind, "number": self.number, "issue_date": self.issue_date.isoformat(),
            "period": self.period, "contract": self.contract, "currency": self.currency, "locale": self.locale,
            "issuer": self.issuer.to_json(), "customer": self.customer.to_json(),
            "lines": [_line_json(l, money) for l in self.lines],
            "vat": [v.to_json(money) for v in self.vat],
            "net_total": money(self.net_total), "tax_total": money(self.tax_total),
            "gross_total": money(self.gross_total), "notes": self.notes, "corrects": self.corrects,
        }
        # Documents issued before presentations were numbered have no such key; their content,
        # and so its hash, stays as it was.
        if self.presentation != 1:
            data["presentation"] = self.presentation
        # Written only when set: a document issued before them keeps its content, and its hash.
        if self.e_invoice is not None:
            data["e_invoice"] = self.e_invoice
            data["invoices"] = [{"number": b.number, "issue_date": b.issue_date.isoformat()} for b in self.invoices]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Document":
        return cls(
            kind=data["kind"], number=data["number"], issue_date=date.fromisoformat(data["issue_date"]),
            period=data["period"], contract=data["contract"], currency=data["currency"], locale=data["locale"],
            issuer=Party(**data["issuer"]), customer=Party(**data["customer"]),
            lines=tuple(Line(l["kind"], Decimal(l["net"]), Decimal(l["vat_rate"]), l["objective"], l["detail"],
                             l.get("vat_category")) for l in data["lines"]),
            vat=tuple(VatLine(Decimal(v["rate"]), Decimal(v["base"]), Decimal(v["tax"]), v.get("category"),
                              v.get("exemption_reason"), v.get("exemption_code")) for v in data["vat"]),
            net_total=Decimal(data["net_total"]), tax_total=Decimal(data["tax_total"]),
            gross_total=Decimal(data["gross_total"]), notes=data["notes"], corrects=data["corrects"],
            presentation=data.get("presentation", 1),
            invoices=tuple(Billed(b["number"], date.fromisoformat(b["issue_date"])) for b in data.get("invoices", ())),
            e_invoice=data.get("e_invoice"),
        )

    def canonical_json(self) -> str:
        return canonical(self.to_json())

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def _line_json(line: Line, money) -> dict[str, Any]:
    data = {"kind": line.kind, "objective": line.objective, "net": money(line.net), "vat_rate": str(line.vat_rate),
            "detail": line.detail}
    if line.vat_category is not None:
        data["vat_category"] = line.vat_category
    return data


def canonical(data: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the form every hash in slabill is taken over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def vat_breakdown(lines: Iterable[Line], currency: str, rounding: Rounding,
                  reasons: Mapping[str, tuple[str | None, str | None]] | None = None,
                  ) -> tuple[tuple[VatLine, ...], Decimal, Decimal, Decimal]:
    """VAT per category and rate (rounded once each), and the net, tax and gross totals.

    ``reasons`` gives each category but S its exemption reason and VATEX code.

    >>> lines = [Line("sla_credit", Decimal("120.00"), Decimal("20")), Line("sla_credit", Decimal("0.05"), Decimal("20"))]
    >>> vat, net, tax, gross = vat_breakdown(lines, "EUR", Rounding.half_up)
    >>> [(str(v.base), str(v.tax)) for v in vat], str(net), str(tax), str(gross)
    ([('120.05', '24.01')], '120.05', '24.01', '144.06')
    >>> lines = [Line("sla_credit", Decimal("-12.50"), Decimal("20"), vat_category="S"),
    ...          Line("late_interest", Decimal("18.37"), Decimal("0"), vat_category="E")]
    >>> vat, net, tax, gross = vat_breakdown(lines, "EUR", Rounding.half_up, {"E": ("no VAT", None)})
    >>> [(v.category, str(v.base), str(v.tax), v.exemption_reason) for v in vat], str(gross)
    ([('S', '-12.50', '-2.50', None), ('E', '18.37', '0.00', 'no VAT')], '3.37')
    """
    zero = Money.zero(currency).amount
    reasons = reasons or {}
    bases: dict[tuple[Decimal, str], Decimal] = {}
    categories: dict[tuple[Decimal, str], str | None] = {}
    for line in lines:
        key = (line.vat_rate, line.vat_category or "")
        bases[key] = bases.get(key, zero) + line.net
        categories[key] = line.vat_category
    # Highest rate first, as documents always listed them; a category only on documents that have them.
    vat = tuple(VatLine(rate, base, Money.round(Fraction(base) * Fraction(rate) / 100, currency, rounding).amount,
                        categories[(rate, category)], *reasons.get(category, (None, None)))
                for (rate, category), base in sorted(bases.items(), reverse=True))
    net = sum((v.base for v in vat), zero)
    tax = sum((v.tax for v in vat), zero)
    return vat, net, tax, net + tax


def _assemble(kind: str, owed: "Owed", issue_date: date, lines: list[Line], notes: dict[str, Any],
              corrects: str | None = None) -> Document:
    contract, issuer, period = owed.contract, owed.issuer, owed.period
    vat, net, tax, gross = vat_breakdown(lines, contract.currency, owed.rounding, owed.reasons)
    # The minimum credit governs a period's SLA credit total; on a document without an SLA credit
    # line (late fees only, or a correction, which is issued whatever its size) the note
    # "Credits below ... are not issued" would state a rule that does not apply to it.
    if not any(line.kind == "sla_credit" for line in lines):
        notes = {key: value for key, value in notes.items() if key != "minimum_credit"}
    # How the document is settled (refunded, or on the next invoice), for the customer's books.
    notes = {**notes, "settlement": "refund" if kind == CREDIT_NOTE else "next_invoice"}
    return Document(kind=kind, number=None, issue_date=issue_date, period=period, contract=contract.id,
                    currency=contract.currency, locale=contract.customer.locale, issuer=Party.of(issuer),
                    customer=Party.of(contract.customer), lines=tuple(lines), vat=vat, net_total=net,
                    tax_total=tax, gross_total=gross, notes=notes, corrects=corrects, invoices=owed.billed,
                    e_invoice=contract.e_invoice)


# --- what an evaluation says is owed ----------------------------------------------------------------

def credit_lines(evaluation: Evaluation) -> list[Line]:
    """One line per objective that earned a credit, then the cap line if the cap applied.

    A line carries what titles it: the objective's display name, or whether its id must
    tell it from another objective worded alike (``invoices.present.titles``, over all the
    evaluation's objectives, as the report and the explanation of the evaluation do it).
    """
    contract, pricing = evaluation.contract, evaluation.pricing
    lines_by_objective = {line.objective: line for line in pricing.lines}
    vat_rate = contract.vat_rate
    lines: list[Line] = []
    named = None
    for objective, measure in evaluation.measures:
        priced = lines_by_objective[objective.id]
        # A grouped objective whose credit is not the group's largest earns nothing on the document.
        if priced.amount.amount == 0 or priced.in_total is False:
            continue
        if named is None:
            named = titles((o.id, o.name, wording_of(o.metric.value, m.downtime_minutes is not None), o.service)
                           for o, m in evaluation.measures)
        promised = objective.promised
        detail: dict[str, Any] = {
            "service": objective.service, "metric": objective.metric.value,
            "target": str(promised) if promised is not None else None,
            "attainment": fixed(measure.attainment, 6),
            "period_minutes": plain(measure.period_minutes),
            "form": priced.form, "credit_percent": plain(priced.credit_percent),
            "fee": format_amount(priced.fee, contract.currency),
        }
        if measure.downtime_minutes is not None:
            detail["downtime_minutes"] = plain(measure.downtime_minutes)
        if measure.excluded_minutes is not None:
            detail["excluded_minutes"] = plain(measure.excluded_minutes)
        if promised is not None and measure.downtime_minutes is not None:
            detail["allowed_minutes"] = plain(measure.base_minutes * (100 - Fraction(promised)) / 100)
        if priced.tier is not None:
            tier = objective.credit.tiers[priced.tier]  # type: ignore[index]
            detail["tier"] = priced.tier
            detail["tier_range"] = tier.describe()
            symbols = {"at_least": ">=", "above": ">", "at_most": "<=", "below": "<"}
            detail["tier_bounds"] = [[symbols[kind], str(value)] for kind, value in
                                     sorted(tier.bounds(), key=lambda b: b[0] in ("below", "at_most"))]
        if priced.units is not None:
            detail["units"] = plain(priced.units)
        if priced.form == "per_breach":
            # A fixed sum per late ticket, not a share of the fee: the document says so, and
            # shows the per-ticket time promised instead of an attainment target it has not.
            detail["per_breach"] = format_amount(objective.credit.per_breach, contract.currency)
            detail["target_time_minutes"] = plain(Fraction(int(objective.target_time.total_seconds()), 60))
        for key in ("intervals", "error_intervals", "tickets", "tickets_within_target", "late_tickets"):
            if key in measure.figures:
                detail[key] = measure.figures[key]
        if objective.name is not None:
            detail["name"] = objective.name
        elif named[objective.id].with_id:
            detail["with_id"] = True
        _section6_detail(detail, objective, measure, priced, evaluation)
        lines.append(Line("sla_credit", priced.amount.amount, vat_rate, objective.id, detail, contract.vat_category))
    if pricing.cap_applied and pricing.cap is not None:
        cut = pricing.cap.amount - pricing.subtotal.amount
        lines.append(Line("cap", cut, vat_rate, None, {
            "cap_percent": str(evaluation.rule_set.cap), "cap": str(pricing.cap), "subtotal": str(pricing.subtotal)},
            contract.vat_category))
    return lines


def _section6_detail(detail: dict[str, Any], objective, measure, priced, evaluation: Evaluation) -> None:
    """What a credit line adds for the terms of INTERFACE.md section 6, with the JSON's own keys.

    Only lines under such terms get any of them, so documents of other rule sets keep the
    content (and hash) they always had.
    """
    if objective.uses_additions:
        section6_keys(detail, objective, measure, priced, evaluation)
        if "outages" in detail:
            detail["timezone"] = evaluation.contract.timezone  # the outages are worded in the contract's time
    if objective.credit.on_count:
        detail["tiers_on"] = objective.credit.tiers_on
        if "counted_outages" in measure.figures:
            detail["counted_outages"] = measure.figures["counted_outages"]
    assessment = evaluation.assessment
    if assessment is not None and assessment.quarterly:
        detail["fee_months"] = assessment.months


def _notes(evaluation: Evaluation) -> dict[str, Any]:
    rule_set, pricing = evaluation.rule_set, evaluation.pricing
    notes: dict[str, Any] = {"ruleset": rule_set.ruleset, "ruleset_version": rule_set.version,
                             "rounding": rule_set.rounding.value}
    if pricing.cap is not None:
        notes["cap"] = str(pricing.cap)
        notes["cap_applied"] = pricing.cap_applied
    if pricing.minimum is not None:
        notes["minimum_credit"] = str(pricing.minimum)
    assessment = evaluation.assessment
    if assessment is not None and assessment.quarterly:
        notes.update(assessment="quarter", assessed_from=assessment.first.first_day.isoformat(),
                     assessed_to=assessment.last.last_day.isoformat())
    return notes


def late_payment_terms(evaluation: Evaluation) -> dict[str, Any] | None:
    """The penalty terms a document states (France requires them, L441-10 and D441-5)."""
    terms = evaluation.rule_set.late_payment
    if terms is None:
        return None
    stated: dict[str, Any] = {"regime": terms.regime, "country": evaluation.contract.customer.country}
    if terms.regime == "contractual":
        stated["annual_rate"] = str(terms.annual_rate)
    else:
        stated["margin_points"] = str(margin_of(terms))
    step = rate_step(terms)
    if step is not None:  # only then: documents of other terms keep the content they were issued with
        stated["rate_rounding"] = str(step)
    stated.update(stated_compensation(terms, evaluation.currency))
    return stated


@dataclass(frozen=True)
class Issued:
    """What documents already gave or charged a contract for a period, per kind of charge."""

    sla_credit: Decimal = Decimal(0)
    """net SLA credits granted so far (credit notes and adjustment credits), positive"""
    late_interest: Decimal = Decimal(0)
    late_compensation: Decimal = Decimal(0)
    documents: tuple[str, ...] = ()
    credit_notes: tuple[str, ...] = ()
    adjustments: tuple[str, ...] = ()

    @classmethod
    def of(cls, documents: Iterable[Document]) -> "Issued":
        credited = interest = compensation = Decimal(0)
        numbers, notes, adjustments = [], [], []
        for document in documents:
            numbers.append(document.number)
            (notes if document.kind == CREDIT_NOTE else adjustments).append(document.number)
            for line in document.lines:
                if line.kind in ("sla_credit", "cap", "sla_correction"):
                    credited += line.net if document.kind == CREDIT_NOTE else -line.net
                elif line.kind == "late_interest" or (line.kind == "late_correction" and line.detail.get("of") == "interest"):
                    interest += line.net
                elif line.kind in ("late_compensation", "late_correction"):
                    compensation += line.net
        return cls(credited, interest, compensation, tuple(numbers), tuple(notes), tuple(adjustments))


def sla_credit_due(evaluation: Evaluation) -> Decimal:
    """The net credit an evaluation says the customer should have: nothing below the minimum."""
    pricing = evaluation.pricing
    return pricing.total.amount if pricing.status == "issued" else Money.zero(evaluation.currency).amount


def without_vat(contract: Contract) -> str:
    """The VAT category of late-payment charges that carry no VAT: they are not the price of a
    supply, so outside the scope of VAT; but EN 16931 allows O only on a document that is O
    throughout (BR-O-11), so beside other categories they are E, exempt, with the reason."""
    return "O" if contract.vat_category == "O" else "E"


def late_fee_reason(locale: str) -> str:
    """Why late-payment interest and the fixed sum carry no VAT, in the customer's language."""
    _ = translations(language_of(locale)).gettext
    return _("Late-payment interest and the fixed compensation for recovery costs are not the price of a "
             "supply: no VAT is charged on them.")


def exemption_reasons(contract: Contract) -> dict[str, tuple[str | None, str | None]]:
    """Each category a contract's documents may hold, but S, with its exemption reason and VATEX code."""
    reasons: dict[str, tuple[str | None, str | None]] = {}
    if without_vat(contract) == "E":
        reasons["E"] = (late_fee_reason(contract.customer.locale), None)
    if contract.vat is not None and contract.vat.category not in ("S", "Z"):
        reasons[contract.vat.category] = (contract.vat.exemption_reason, contract.vat.exemption_code)
    return reasons


def late_lines(evaluation: Evaluation) -> list[Line]:
    """Per late invoice: the interest (VAT as the rule set says) and the fixed sum (never VAT)."""
    fees, terms = evaluation.late_fees, evaluation.rule_set.late_payment
    if fees is None or terms is None:
        return []
    currency, rounding = evaluation.currency, evaluation.rule_set.rounding
    contract = evaluation.contract
    interest_vat = contract.vat_rate if terms.vat_on_interest else Decimal(0)
    interest_category = contract.vat_category if terms.vat_on_interest else without_vat(contract)
    lines = []
    for fee in fees.fees:
        if fee.interest.amount:
            lines.append(Line("late_interest", fee.interest.amount, interest_vat, None, {
                "invoice": fee.invoice, "base": format_amount(fee.base, currency), "regime": terms.regime,
                "day_count": terms.day_count, "first_late_day": fee.first_late_day.isoformat(),
                "days_late": fee.days_late, "rate_percent": str(fee.rate_percent),
                "segments": [{"from": seg.start.isoformat(), "to": seg.end.isoformat(), "days": seg.days,
                              "rate_percent": str(seg.rate_percent),
                              "outstanding": str(Money.round(seg.outstanding, currency, rounding)),
                              "interest": str(Money.round(seg.interest, currency, rounding))} for seg in fee.segments],
            }, interest_category))
        if fee.compensation.amount:
            lines.append(Line("late_compensation", fee.compensation.amount, Decimal(0), None, {
                "invoice": fee.invoice, "regime": terms.regime, "base": format_amount(fee.base, currency)},
                without_vat(contract)))
    return lines


@dataclass(frozen=True)
class Owed:
    """What an evaluation says is owed, in the form documents are planned from.

    Plain values only, so the monthly run can work it out in a worker process and plan
    the documents wherever the ledger is.
    """

    contract: Contract
    issuer: Issuer
    period: str
    settlement: str
    rounding: Rounding
    notes: dict[str, Any]
    due: Decimal
    """the SLA credit due (nothing below the minimum)"""
    credit: tuple[Line, ...]
    """the credit lines, as a credit note shows them (positive)"""
    late: tuple[Line, ...]
    """late-payment lines (positive: the customer owes them)"""
    late_terms: dict[str, Any] | None
    interest_vat: Decimal
    interest_category: str = "E"
    """the VAT category of late-payment interest (the contract's when ``vat_on_interest``)"""
    billed: tuple[Billed, ...] = ()
    """the invoices that billed the period (invoices.csv's ``period``): BT-25 and BT-26"""
    reasons: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)
    """exemption reason and VATEX code per VAT category (``exemption_reasons``)"""


def owed_by(evaluation: Evaluation, issuer: Issuer, invoices: Iterable[Invoice] = ()) -> Owed:
    """What an evaluation says is owed; ``invoices`` are the contract's, of which those that
    billed the evaluated period are named on its documents."""
    terms = evaluation.rule_set.late_payment
    contract = evaluation.contract
    on_interest = terms is not None and terms.vat_on_interest
    period = str(evaluation.period)
    billed = tuple(Billed(i.number, i.issued) for i in sorted(invoices, key=lambda i: (i.issued, i.number))
                   if i.period == period)
    return Owed(
        contract=contract, issuer=issuer, period=period,
        settlement=evaluation.rule_set.settlement, rounding=evaluation.rule_set.rounding,
        notes=_notes(evaluation), due=sla_credit_due(evaluation), credit=tuple(credit_lines(evaluation)),
        late=tuple(late_lines(evaluation)), late_terms=late_payment_terms(evaluation),
        interest_vat=contract.vat_rate if on_interest else Decimal(0),
        interest_category=contract.vat_category if on_interest else without_vat(contract),
        billed=billed, reasons=exemption_reasons(contract),
    )


def plan_documents(owed: Owed, issue_date: date, issued: Issued | None = None) -> list[Document]:
    """The documents to issue, given what earlier documents of the period already gave.

    First evaluation of a period: a credit note for the SLA credit (``settlement:
    credit_note``), and an adjustment statement for what the next invoice must change:
    SLA credits settled there (negative lines) and late-payment fees (positive lines,
    kept apart from the credits).  A re-evaluation issues only differences: more credit
    owed gives an additional credit note (or adjustment credit); less owed, or a change
    in late fees, gives an adjustment, never an edit of what was issued.
    """
    documents: list[Document] = []
    for kind, lines, corrects in plan_lines(owed, issued):
        notes = owed.notes
        if kind == ADJUSTMENT:
            notes = {**owed.notes, **({"late_payment": owed.late_terms} if owed.late_terms else {})}
        documents.append(_assemble(kind, owed, issue_date, lines, notes, corrects))
    return documents


def plan_lines(owed: Owed, issued: Issued | None = None) -> list[tuple[str, list[Line], str | None]]:
    """What ``plan_documents`` issues, as amounts: each document's kind, lines and the number it corrects.

    The planning itself, apart from wording and parties, so that ``audit verify`` can derive
    what a record's documents must say from the record's figures (``invoices.derive``).  Of
    ``owed.contract`` it reads only the currency, the VAT rate and the VAT category.
    """
    contract = owed.contract
    settle_on_invoice = owed.settlement == "next_invoice"
    currency = contract.currency
    note_lines: list[Line] = []
    adjustment_lines: list[Line] = []
    if issued is None:
        if owed.due > 0:
            if settle_on_invoice:
                adjustment_lines += [replace(line, net=-line.net) for line in owed.credit]
            else:
                note_lines += owed.credit
        adjustment_lines += owed.late
    else:
        difference = owed.due - issued.sla_credit
        if difference:
            detail = {"previously_credited": format_amount(issued.sla_credit, currency),
                      "now_due": format_amount(owed.due, currency), "documents": list(issued.documents),
                      "lines": [vars_of(line) for line in owed.credit]}
            if difference > 0 and not settle_on_invoice:
                note_lines.append(Line("sla_correction", difference, contract.vat_rate, None, detail,
                                       contract.vat_category))
            else:
                # On the next invoice a further credit is a negative line; credit given back a positive one.
                adjustment_lines.append(Line("sla_correction", -difference, contract.vat_rate, None, detail,
                                             contract.vat_category))
        adjustment_lines += _late_corrections(owed, issued)
    planned: list[tuple[str, list[Line], str | None]] = []
    if note_lines:
        corrects = issued.credit_notes[-1] if issued and issued.credit_notes else None
        planned.append((CREDIT_NOTE, note_lines, corrects))
    if adjustment_lines:
        corrects = None
        if issued is not None:
            corrects = (issued.adjustments or issued.credit_notes or (None,))[-1]
        planned.append((ADJUSTMENT, adjustment_lines, corrects))
    return planned


def _late_corrections(owed: Owed, issued: Issued) -> list[Line]:
    due_interest = sum((l.net for l in owed.late if l.kind == "late_interest"), Decimal(0))
    due_compensation = sum((l.net for l in owed.late if l.kind == "late_compensation"), Decimal(0))
    currency = owed.contract.currency
    corrections = []
    for of, due, before, vat, category in (
            ("interest", due_interest, issued.late_interest, owed.interest_vat, owed.interest_category),
            ("compensation", due_compensation, issued.late_compensation, Decimal(0), without_vat(owed.contract))):
        if due != before:
            corrections.append(Line("late_correction", due - before, vat, None, {
                "of": of, "previously_charged": format_amount(before, currency), "now_due": format_amount(due, currency),
                "documents": list(issued.documents)}, category))
    return corrections


def vars_of(line: Line) -> dict[str, Any]:
    return {"kind": line.kind, "objective": line.objective, "net": str(line.net), "detail": line.detail}
