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
immutable; ``numbered`` returns a copy carrying its number.  It says how it is worded
(``presentation``, see ``invoices.present``), so that it renders as it was issued.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any, Iterable

from engine.core.evaluation import Evaluation
from engine.core.latefees import margin_of, rate_step, stated_compensation
from engine.core.model import Contract, Customer, Issuer
from engine.core.money import Money, Rounding, fixed, format_amount, plain
from engine.core.results import section6_keys

from .present import PRESENTATION, titles, wording_of

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
    presentation: int = PRESENTATION
    """how the document is worded (``invoices.present``); 1 for documents issued before it was said"""

    def numbered(self, number: str) -> "Document":
        return replace(self, number=number)

    def to_json(self) -> dict[str, Any]:
        """The document as data; the canonical form is what its hash covers and what renders it."""
        money = lambda amount: format_amount(amount, self.currency)  # noqa: E731
        data = {
            "kind": self.kind, "number": self.number, "issue_date": self.issue_date.isoformat(),
            "period": self.period, "contract": self.contract, "currency": self.currency, "locale": self.locale,
            "issuer": vars(self.issuer), "customer": vars(self.customer),
            "lines": [{"kind": l.kind, "objective": l.objective, "net": money(l.net), "vat_rate": str(l.vat_rate),
                       "detail": l.detail} for l in self.lines],
            "vat": [{"rate": str(v.rate), "base": money(v.base), "tax": money(v.tax)} for v in self.vat],
            "net_total": money(self.net_total), "tax_total": money(self.tax_total),
            "gross_total": money(self.gross_total), "notes": self.notes, "corrects": self.corrects,
        }
        # Documents issued before presentations were numbered have no such key; their content,
        # and so its hash, stays as it was.
        if self.presentation != 1:
            data["presentation"] = self.presentation
        return data

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
            presentation=data.get("presentation", 1),
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
    # The minimum credit governs a period's SLA credit total; on a document without an SLA credit
    # line (late fees only, or a correction, which is issued whatever its size) the note
    # "Credits below ... are not issued" would state a rule that does not apply to it.
    if not any(line.kind == "sla_credit" for line in lines):
        notes = {key: value for key, value in notes.items() if key != "minimum_credit"}
    return Document(kind=kind, number=None, issue_date=issue_date, period=period, contract=contract.id,
                    currency=contract.currency, locale=contract.customer.locale, issuer=Party.of(issuer),
                    customer=Party.of(contract.customer), lines=tuple(lines), vat=vat, net_total=net,
                    tax_total=tax, gross_total=gross, notes=notes, corrects=corrects)


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
        lines.append(Line("sla_credit", priced.amount.amount, vat_rate, objective.id, detail))
    if pricing.cap_applied and pricing.cap is not None:
        cut = pricing.cap.amount - pricing.subtotal.amount
        lines.append(Line("cap", cut, vat_rate, None, {
            "cap_percent": str(evaluation.rule_set.cap), "cap": str(pricing.cap), "subtotal": str(pricing.subtotal)}))
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


def late_lines(evaluation: Evaluation) -> list[Line]:
    """Per late invoice: the interest (VAT as the rule set says) and the fixed sum (never VAT)."""
    fees, terms = evaluation.late_fees, evaluation.rule_set.late_payment
    if fees is None or terms is None:
        return []
    currency, rounding = evaluation.currency, evaluation.rule_set.rounding
    interest_vat = evaluation.contract.vat_rate if terms.vat_on_interest else Decimal(0)
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
            }))
        if fee.compensation.amount:
            lines.append(Line("late_compensation", fee.compensation.amount, Decimal(0), None, {
                "invoice": fee.invoice, "regime": terms.regime, "base": format_amount(fee.base, currency)}))
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


def owed_by(evaluation: Evaluation, issuer: Issuer) -> Owed:
    terms = evaluation.rule_set.late_payment
    return Owed(
        contract=evaluation.contract, issuer=issuer, period=str(evaluation.period),
        settlement=evaluation.rule_set.settlement, rounding=evaluation.rule_set.rounding,
        notes=_notes(evaluation), due=sla_credit_due(evaluation), credit=tuple(credit_lines(evaluation)),
        late=tuple(late_lines(evaluation)), late_terms=late_payment_terms(evaluation),
        interest_vat=evaluation.contract.vat_rate if terms is not None and terms.vat_on_interest else Decimal(0),
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
    contract, issuer, period, rounding = owed.contract, owed.issuer, owed.period, owed.rounding
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
                note_lines.append(Line("sla_correction", difference, contract.vat_rate, None, detail))
            else:
                # On the next invoice a further credit is a negative line; credit given back a positive one.
                adjustment_lines.append(Line("sla_correction", -difference, contract.vat_rate, None, detail))
        adjustment_lines += _late_corrections(owed, issued)
    documents: list[Document] = []
    if note_lines:
        corrects = issued.credit_notes[-1] if issued and issued.credit_notes else None
        documents.append(_assemble(CREDIT_NOTE, contract, issuer, period, issue_date, note_lines, rounding,
                                   owed.notes, corrects))
    if adjustment_lines:
        corrects = None
        if issued is not None:
            corrects = (issued.adjustments or issued.credit_notes or (None,))[-1]
        notes = {**owed.notes, **({"late_payment": owed.late_terms} if owed.late_terms else {})}
        documents.append(_assemble(ADJUSTMENT, contract, issuer, period, issue_date, adjustment_lines, rounding,
                                   notes, corrects))
    return documents


def _late_corrections(owed: Owed, issued: Issued) -> list[Line]:
    due_interest = sum((l.net for l in owed.late if l.kind == "late_interest"), Decimal(0))
    due_compensation = sum((l.net for l in owed.late if l.kind == "late_compensation"), Decimal(0))
    currency = owed.contract.currency
    corrections = []
    for of, due, before, vat in (("interest", due_interest, issued.late_interest, owed.interest_vat),
                                 ("compensation", due_compensation, issued.late_compensation, Decimal(0))):
        if due != before:
            corrections.append(Line("late_correction", due - before, vat, None, {
                "of": of, "previously_charged": format_amount(before, currency), "now_due": format_amount(due, currency),
                "documents": list(issued.documents)}))
    return corrections


def vars_of(line: Line) -> dict[str, Any]:
    return {"kind": line.kind, "objective": line.objective, "net": str(line.net), "detail": line.detail}
