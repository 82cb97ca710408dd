"""What a record's documents must say, derived from the record's own figures: ``audit verify``'s planner.

A record holds what its evaluation found (each objective's credit, the total and its
status, each late invoice's interest and fixed sum) and names its rule set.  The documents
it issued must follow from those figures and from what the documents of the records it
corrects already gave, as the monthly run planned them (``invoices.documents.plan_lines``):
the same kinds, the same lines (kind, objective, amount, VAT rate), the number they
correct, and totals that add up from their lines.  An insider who lowers a credit note
and re-seals its hashes and the chain leaves a note that no longer follows from the
record's ``credit_total``; this is where that shows.

Wording, parties and each line's detail are not derived (they are covered by the
document's hash, which the record seals): only amounts, which is what the customer is owed.
The audit layer may not import documents, so the command line hands this function to
``engine.audit.verify`` (``VerifyJob.planner``); it runs in verify's worker processes, on the
record and contents verify has already parsed.
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

from engine.core.money import Money
from engine.core.schema import RuleSet

from .documents import Issued, Line, Owed, plan_lines, vat_breakdown, without_vat


@lru_cache(maxsize=64)
def _rule_set(canonical_json: str) -> RuleSet:
    return RuleSet.model_validate_json(canonical_json)


class Terms(NamedTuple):
    """What planning reads of a contract (``plan_lines``): its currency and VAT rate, from the record.

    The VAT category is not derived (``None``): categories are not compared, and a document's
    totals are added up per the categories its own lines carry.  Validating the whole contract
    again for every record would cost more than the rest of verify's work on it.
    """

    currency: str
    vat_rate: Decimal
    vat_category: str | None = None


def owed_by_record(record: dict[str, Any], rule_set: RuleSet, contract: Terms) -> Owed:
    """What a record's figures say is owed, as amounts (no wording, no parties)."""
    evaluation = record["result"]["evaluation"]
    currency, rate, category = contract.currency, contract.vat_rate, contract.vat_category
    zero = Money.zero(currency).amount
    total = Decimal(evaluation["credit_total"])
    due = total if evaluation["credit_status"] == "issued" else zero
    credit: list[Line] = []
    subtotal = zero
    for objective in evaluation["objectives"]:
        amount = Decimal(objective["credit"])
        # As on a credit note: objectives that earned nothing, or whose group paid another, have no line.
        if amount == 0 or objective.get("in_total") is False:
            continue
        subtotal += amount
        credit.append(Line("sla_credit", amount, rate, objective["id"], {}, category))
    if evaluation["cap_applied"] and rule_set.cap is not None:
        credit.append(Line("cap", total - subtotal, rate, None, {}, category))
    terms = rule_set.late_payment
    on_interest = terms is not None and terms.vat_on_interest
    interest_vat = rate if on_interest else Decimal(0)
    interest_category = category if on_interest else without_vat(contract)
    late: list[Line] = []
    for fee in evaluation.get("late_fees", []):
        if Decimal(fee["interest"]):
            late.append(Line("late_interest", Decimal(fee["interest"]), interest_vat, None, {}, interest_category))
        if Decimal(fee["compensation"]):
            late.append(Line("late_compensation", Decimal(fee["compensation"]), Decimal(0), None, {},
                             without_vat(contract)))
    return Owed(contract=contract, issuer=None, period=record["period"],  # type: ignore[arg-type]  (see Terms)
                settlement=rule_set.settlement, rounding=rule_set.rounding, notes={}, due=due, credit=tuple(credit),
                late=tuple(late), late_terms=None, interest_vat=interest_vat, interest_category=interest_category)


def _figures_problem(evaluation: dict[str, Any]) -> str | None:
    """The record's total against its objectives' credits, as pricing adds them: the sum of the credits in
    the total, or the cap below that sum (``engine.core.pricing``)."""
    subtotal = sum((Decimal(o["credit"]) for o in evaluation["objectives"] if o.get("in_total") is not False),
                   Decimal(0))
    total = Decimal(evaluation["credit_total"])
    if (total != subtotal) if not evaluation["cap_applied"] else (total >= subtotal):
        return (f"its credit_total {evaluation['credit_total']} does not follow from its objectives' credits, which "
                f"come to {subtotal}{' under a cap' if evaluation['cap_applied'] else ''}: a figure in it was edited")
    return None


def _lines(content: dict[str, Any]) -> list[Line]:
    return [Line(line["kind"], Decimal(line["net"]), Decimal(line["vat_rate"]), line["objective"], {},
                 line.get("vat_category")) for line in content["lines"]]


def _issued(contents: list[dict[str, Any]]) -> Issued:
    """What documents gave, from their content (``Issued.of`` reads only kinds, numbers and lines)."""
    from .documents import Document

    return Issued.of(Document.from_json(content) for content in contents)


def _sum(lines) -> Decimal:
    return sum((line.net for line in lines), Decimal(0))


def documents_problem(record: dict[str, Any], rule_set_json: str, documents: list[dict[str, Any]],
                      earlier: list[dict[str, Any]]) -> str | None:
    """Why a record's documents do not follow from its figures, or None.

    ``documents`` are the contents of the documents the record issued, ``earlier`` those of
    the records it corrects (the earlier revisions of its contract and period), each in the
    order they were issued.
    """
    evaluation = record["result"]["evaluation"]
    problem = _figures_problem(evaluation)
    if problem:
        return problem
    if (not documents and record["revision"] == 0 and evaluation["credit_status"] != "issued"
            and not any(Decimal(fee["interest"]) or Decimal(fee["compensation"])
                        for fee in evaluation.get("late_fees", []))):
        return None  # nothing owed, nothing issued: no planning needed
    rule_set = _rule_set(rule_set_json)
    terms = record["inputs"]["contract"]
    contract = Terms(terms["currency"], Decimal(terms["vat_rate"]))
    owed = owed_by_record(record, rule_set, contract)
    planned = plan_lines(owed, _issued(earlier) if record["revision"] > 0 else None)
    kinds = [kind for kind, _, _ in planned]
    if [d["kind"] for d in documents] != kinds:
        found = ", ".join(f"{d['number']} ({d['kind']})" for d in documents) or "none"
        return (f"its figures call for {', '.join(kinds) or 'no document'}, but it issued {found}: "
                "its documents do not follow from its figures")
    for content, (kind, lines, corrects) in zip(documents, planned):
        number = content["number"]
        stored = _lines(content)
        if content["contract"] != record["contract"] or content["period"] != record["period"]:
            return f"document {number} is for {content['contract']} {content['period']}, not for this record's"
        if content["currency"] != contract.currency:
            return f"document {number} is in {content['currency']}, the contract in {contract.currency}"
        expected = [(l.kind, l.objective, l.net, l.vat_rate) for l in lines]
        if [(l.kind, l.objective, l.net, l.vat_rate) for l in stored] != expected:
            return (f"document {number}: its lines come to {_sum(stored)} {contract.currency} net, but the record's "
                    f"figures give {_sum(lines)}: its lines do not follow from the record")
        if content["corrects"] != corrects:
            return f"document {number} says it corrects {content['corrects']}, but it corrects {corrects}"
        vat, net, tax, gross = vat_breakdown(stored, contract.currency, rule_set.rounding)
        said = [(Decimal(v["rate"]), Decimal(v["base"]), Decimal(v["tax"])) for v in content["vat"]]
        if ([(v.rate, v.base, v.tax) for v in vat] != said
                or (net, tax, gross) != tuple(Decimal(content[k]) for k in ("net_total", "tax_total", "gross_total"))):
            return (f"document {number}: its totals ({content['net_total']} net, {content['tax_total']} VAT, "
                    f"{content['gross_total']} in all) do not add up from its lines ({net}, {tax}, {gross})")
    return None
