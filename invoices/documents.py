"""Credit notes and invoice adjustments as values, built from evaluations.

A *credit note* gives a customer money back for a missed objective: one line per
breached objective (target, measured attainment, downtime, tier, percentage and the
fee it was taken on), a cap line where the cap applied, and VAT at the contract's
rate.  Its amounts are positive: the whole document is a credit.

An *adjustment statement* lists what the customer's next invoice must change: SLA
credits settled there (negative lines), late-payment fees (positive lines), and
corrections when a re-evaluation finds that less was owed than was credited.

Totals add up by construction: lines are rounded amounts, tax is rounded once per VAT
rate on the sum of that rate's lines, and the total is their sum.  A document is
immutable; ``numbered`` returns a copy carrying its number.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable

from engine.book import Contract, Customer, Issuer
from engine.evaluation import Evaluation
from engine.money import Money, Rounding, fixed, format_amount, plain

CREDIT_NOTE = "credit_note"
ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class Party:
    """Who issues or receives a document, as printed on it."""

    name: str
    address: str
    country: str
    vat_id: str | None
    email: str | None = None

    @classmethod
    def of(cls, who: Issuer | Customer) -> "Party":
        return cls(who.name, who.address, who.country, who.vat_id, who.email)


@dataclass(frozen=True)
class Line:
    """One line of a document; ``net`` is signed as the document reads it."""

    kind: str
    """sla_credit | cap | sla_correction | late_interest | late_compensation | late_correction"""
    net: Decimal
    vat_rate: Decimal
    objective: str | None = None
    detail: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class VatLine:
    rate: Decimal
    base: Decimal
    tax: Decimal


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

    def numbered(self, number: str) -> "Document":
        return replace(self, number=number)

    def to_json(self) -> dict[str, Any]:
        """The document as data; the canonical form is what its hash covers and what renders it."""
        money = lambda amount: format_amount(amount, self.currency)  # noqa: E731
        return {
            "kind": self.kind, "number": self.number, "issue_date": self.issue_date.isoformat(),
            "period": self.period, "contract": self.contract, "currency": self.currency, "locale": self.locale,
            "issuer": vars(self.issuer), "customer": vars(self.customer),
            "lines": [{"kind": l.kind, "objective": l.objective, "net": money(l.net), "vat_rate": str(l.vat_rate),
                       "detail": l.detail} for l in self.lines],
            "vat": [{"rate": str(v.rate), "base": money(v.base), "tax": money(v.tax)} for v in self.vat],
            "net_total": money(self.net_total), "tax_total": money(self.tax_total),
            "gross_total": money(self.gross_total), "notes": self.notes, "corrects": self.corrects,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Document":
        return cls(
            kind=data["kind"], number=data["number"], issue_date=date.fromisoformat(data["issue_date"]),
            period=data["period"], contract=data["contract"], currency=data["currency"], locale=data["locale"],
            issuer=Party(**data["issuer"]), customer=Party(**data["customer"]),
            lines=tuple(Line(l["kind"], Decimal(l["net"]), Decimal(l["vat_rate"]), l["objective"], l["detail"])
                        for l in data["lines"]),
            vat=tuple(VatLine(Decimal(v["rate"]), Decimal(v["base"]), Decimal(v["tax"])) for v in data["vat"]),
            net_total=Decimal(data["net_total"]), tax_total=Decimal(data["tax_total"]),
            gross_total=Decimal(data["gross_total"]), notes=data["notes"], corrects=data["corrects"],
        )

    def canonical_json(self) -> str:
        return canonical(self.to_json())

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


def canonical(data: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the form every hash in slabill is taken over."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def vat_breakdown(lines: Iterable[Line], currency: str, rounding: Rounding) -> tuple[tuple[VatLine, ...], Decimal, Decimal, Decimal]:
    """VAT per rate (rounded once per rate), and the net, tax and gross totals.

    >>> lines = [Line("sla_credit", Decimal("120.00"), Decimal("20")), Line("sla_credit", Decimal("0.05"), Decimal("20"))]
    >>> vat, net, tax, gross = vat_breakdown(lines, "EUR", Rounding.half_up)
    >>> [(str(v.base), str(v.tax)) for v in vat], str(net), str(tax), str(gross)
    ([('120.05', '24.01')], '120.05', '24.01', '144.06')
    """
    zero = Money.zero(currency).amount
    bases: dict[Decimal, Decimal] = {}
    for line in lines:
        bases[line.vat_rate] = bases.get(line.vat_rate, zero) + line.net
    vat = tuple(VatLine(rate, base, Money.round(Fraction(base) * Fraction(rate) / 100, currency, rounding).amount)
                for rate, base in sorted(bases.items(), reverse=True))
    net = sum((v.base for v in vat), zero)
    tax = sum((v.tax for v in vat), zero)
    return vat, net, tax, net + tax


def _assemble(kind: str, contract: Contract, issuer: Issuer, period: str, issue_date: date, lines: list[Line],
              rounding: Rounding, notes: dict[str, Any], corrects: str | None = None) -> Document:
    vat, net, tax, gross = vat_breakdown(lines, contract.currency, rounding)
    return Document(kind=kind, number=None, issue_date=issue_date, period=period, contract=contract.id,
                    currency=contract.currency, locale=contract.customer.locale, issuer=Party.of(issuer),
                    customer=Party.of(contract.customer), lines=tuple(lines), vat=vat, net_total=net,
                    tax_total=tax, gross_total=gross, notes=notes, corrects=corrects)


# --- what an evaluation says is owed ----------------------------------------------------------------

def credit_lines(evaluation: Evaluation, sign: int = 1) -> list[Line]:
    """One line per objective that earned a credit, then the cap line if the cap applied."""
    contract, pricing = evaluation.contract, evaluation.pricing
    lines_by_objective = {line.objective: line for line in pricing.lines}
    vat_rate = contract.vat_rate
    lines: list[Line] = []
    for objective, measure in evaluation.measures:
        priced = lines_by_objective[objective.id]
        if priced.amount.amount == 0:
            continue
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
        for key in ("intervals", "error_intervals", "tickets", "tickets_within_target", "late_tickets"):
            if key in measure.figures:
                detail[key] = measure.figures[key]
        lines.append(Line("sla_credit", sign * priced.amount.amount, vat_rate, objective.id, detail))
    if pricing.cap_applied and pricing.cap is not None:
        cut = pricing.cap.amount - pricing.subtotal.amount
        lines.append(Line("cap", sign * cut, vat_rate, None, {
            "cap_percent": str(evaluation.rule_set.cap), "cap": str(pricing.cap), "subtotal": str(pricing.subtotal)}))
    return lines


def _notes(evaluation: Evaluation) -> dict[str, Any]:
    rule_set, pricing = evaluation.rule_set, evaluation.pricing
    notes: dict[str, Any] = {"ruleset": rule_set.ruleset, "ruleset_version": rule_set.version,
                             "rounding": rule_set.rounding.value}
    if pricing.cap is not None:
        notes["cap"] = str(pricing.cap)
        notes["cap_applied"] = pricing.cap_applied
    if pricing.minimum is not None:
        notes["minimum_credit"] = str(pricing.minimum)
    return notes


@dataclass(frozen=True)
class Issued:
    """What documents already gave a contract for a period, per kind of charge."""

    sla_credit: Decimal = Decimal(0)
    """net SLA credits granted so far (credit notes and adjustment credits), positive"""
    documents: tuple[str, ...] = ()


def sla_credit_due(evaluation: Evaluation) -> Decimal:
    """The net credit an evaluation says the customer should have: nothing below the minimum."""
    pricing = evaluation.pricing
    return pricing.total.amount if pricing.status == "issued" else Money.zero(evaluation.currency).amount


def plan_documents(evaluation: Evaluation, issuer: Issuer, issue_date: date,
                   issued: Issued | None = None) -> list[Document]:
    """The documents to issue for an evaluation, given what earlier ones already gave.

    First evaluation of a period: a credit note for the credit (``settlement:
    credit_note``) or an adjustment statement with negative lines (``next_invoice``).
    A re-evaluation issues only the difference: more owed gives an additional credit
    note (or adjustment credit); less owed gives an adjustment the customer pays,
    never an edit of what was issued.
    """
    contract, rule_set = evaluation.contract, evaluation.rule_set
    period = str(evaluation.period)
    settle_on_invoice = rule_set.settlement == "next_invoice"
    notes = _notes(evaluation)
    rounding = rule_set.rounding
    due = sla_credit_due(evaluation)
    documents: list[Document] = []
    if issued is None:
        if due > 0:
            if settle_on_invoice:
                documents.append(_assemble(ADJUSTMENT, contract, issuer, period, issue_date,
                                           credit_lines(evaluation, sign=-1), rounding, notes))
            else:
                documents.append(_assemble(CREDIT_NOTE, contract, issuer, period, issue_date,
                                           credit_lines(evaluation), rounding, notes))
        return documents
    difference = due - issued.sla_credit
    if difference == 0:
        return documents
    corrects = issued.documents[-1] if issued.documents else None
    detail = {"previously_credited": format_amount(issued.sla_credit, contract.currency),
              "now_due": format_amount(due, contract.currency), "documents": list(issued.documents),
              "lines": [vars_of(line) for line in credit_lines(evaluation)]}
    if difference > 0 and not settle_on_invoice:
        line = Line("sla_correction", difference, contract.vat_rate, None, detail)
        documents.append(_assemble(CREDIT_NOTE, contract, issuer, period, issue_date, [line], rounding, notes, corrects))
    else:
        # On the next invoice: a further credit is a negative line; credit given back is a positive one.
        line = Line("sla_correction", -difference, contract.vat_rate, None, detail)
        documents.append(_assemble(ADJUSTMENT, contract, issuer, period, issue_date, [line], rounding, notes, corrects))
    return documents


def vars_of(line: Line) -> dict[str, Any]:
    return {"kind": line.kind, "objective": line.objective, "net": str(line.net), "detail": line.detail}


def credited_by(document: Document) -> Decimal:
    """The net SLA credit a document gave (positive), for working out later differences."""
    total = Decimal(0)
    for line in document.lines:
        if line.kind in ("sla_credit", "cap", "sla_correction"):
            total += line.net if document.kind == CREDIT_NOTE else -line.net
    return total
