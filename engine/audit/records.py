"""Evaluation records: what an auditor needs to replay an evaluation, as canonical JSON.

A record holds the inputs the evaluation used (the contract's terms, every measurement
row passed to it, reference rates), their digest, the rule set's content hash, the
engine versions, the fact posted to the rule engine and the rules that fired, every
computed figure (including what each incident did and why), and the numbers and
hashes of the documents issued from it.  Records are chained: each one's hash covers
the hash of the record before it, so an edited, deleted or reordered record breaks the
chain.  Everything here is pure: the monthly run (``engine.jobs.run``) encodes and seals
records, the store keeps them, and ``verify`` and ``replay`` read them back.

The monthly run encodes a record for every contract, so the parts with many rows (the
incident and request inputs, each incident's outcome) are written as JSON text directly
(``inputs_text``, ``result_text``) rather than built as dicts for ``json.dumps``.  The
dict forms (``inputs_of``, ``result_of``) stay the definition: the texts are exactly
their canonical JSON, byte for byte, which the tests check, since stored records are
hashed and replayed as text.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .. import __version__
from ..core.canonical import canonical, canonical_object, instant_text, sha256_text
from ..core.evaluation import Evaluation
from ..core.matching import ADAPTER_VERSION, durable_rules_version
from ..core.measure import Measure
from ..core.model import Incident, Invoice, Measurements, Payment, RequestCount, Ticket, TicketPause
from ..core.money import plain
from ..core.period import minutes
from ..core.results import evaluation_json
from ..core.schema import TICKET_METRICS, Cause, Metric

if TYPE_CHECKING:
    from ..core.rates import RateBook

GENESIS = "0" * 64


def incident_json(service: str, row: Incident) -> dict[str, Any]:
    data = {"service": service, "start": instant_text(row.start), "end": instant_text(row.end), "cause": row.cause.value,
            "announced_at": instant_text(row.announced_at), "line": row.line}
    if row.impact is not None:  # only then: every record written before has no such key
        data["impact"] = str(row.impact)
    return data


def request_json(service: str, row: RequestCount) -> dict[str, Any]:
    return {"service": service, "interval_start": instant_text(row.interval_start), "requests": row.requests,
            "errors": row.errors, "line": row.line}


# The row texts below are canonical() of the dicts above, written out: keys in sorted
# order, no spaces.  Only the caller's strings (service, objective ids) can need escaping
# and come in already encoded; instants, cause and status names are fixed ASCII words,
# counts and lines are ints (written by int.__repr__, as json writes them, so anything
# else fails loudly rather than reads differently), minutes are plain() text.
_CAUSE_TEXT = {cause: canonical(cause.value) for cause in Cause}
_CAUSE_VALUE = {cause: cause.value for cause in Cause}  # a look-up, cheaper than the enum's .value
_int = int.__repr__


def _quoted_instant(value: datetime | None) -> str:
    return "null" if value is None else '"' + instant_text(value) + '"'


def _incident_text(service_text: str, start: str, end: str, row: Incident) -> str:
    # "impact" sorts between "end" and "line"; a Decimal's text is plain ASCII digits.
    impact = "" if row.impact is None else f'"impact":"{row.impact}",'
    return (f'{{"announced_at":{_quoted_instant(row.announced_at)},"cause":{_CAUSE_TEXT[row.cause]},'
            f'"end":"{end}",{impact}"line":{_int(row.line)},"service":{service_text},"start":"{start}"}}')


def _request_text(service_text: str, interval_start: str, row: RequestCount) -> str:
    return (f'{{"errors":{_int(row.errors)},"interval_start":"{interval_start}","line":{_int(row.line)},'
            f'"requests":{_int(row.requests)},"service":{service_text}}}')


@lru_cache(maxsize=1)
def _versions() -> tuple[tuple[str, str], ...]:
    # Reading package metadata costs a millisecond; it cannot change while a process runs.
    return (("slabill", __version__), ("durable_rules", durable_rules_version()), ("adapter", ADAPTER_VERSION))


def engine_versions() -> dict[str, str]:
    return dict(_versions())



def inputs_of(evaluation: Evaluation, measurements: Measurements, rates: "RateBook | None" = None) -> dict[str, Any]:
    """Every input the evaluation used, as data: enough to evaluate it again without files."""
    contract = evaluation.contract
    services_measured = {(o.metric, o.service) for o, _ in evaluation.measures}
    incidents = []
    requests = []
    for service in sorted({s for m, s in services_measured if m is Metric.availability}):
        incidents += [incident_json(service, row) for row in measurements.incidents_of(contract.id, service)]
    for service in sorted({s for m, s in services_measured if m is Metric.error_rate}):
        requests += [request_json(service, row) for row in measurements.requests_of(contract.id, service)]
    incidents.sort(key=lambda r: (r["service"], r["start"], r["end"], r["cause"], r["line"]))
    requests.sort(key=lambda r: (r["service"], r["interval_start"]))
    inputs: dict[str, Any] = {
        "contract": contract.model_dump(mode="json"),
        "period": str(evaluation.period),
        "incidents": incidents,
        "requests": requests,
    }
    inputs.update(_ticket_and_invoice_inputs(evaluation, measurements, rates, services_measured))
    return inputs


def inputs_text(evaluation: Evaluation, measurements: Measurements, rates: "RateBook | None" = None) -> str:
    """``canonical(inputs_of(...))``, the incident and request rows written as text directly."""
    contract = evaluation.contract
    services_measured = {(o.metric, o.service) for o, _ in evaluation.measures}
    # Services are taken in sorted order and each one's rows sorted by the rest of
    # inputs_of's key (stably, as there), which gives the order of the whole list.
    incidents: list[str] = []
    for service in sorted({s for m, s in services_measured if m is Metric.availability}):
        service_text = canonical(service)
        rows = []
        for row in measurements.incidents_of(contract.id, service):
            start, end = instant_text(row.start), instant_text(row.end)
            rows.append(((start, end, _CAUSE_VALUE[row.cause], row.line), _incident_text(service_text, start, end, row)))
        rows.sort(key=_first)
        incidents += [text for _, text in rows]
    requests: list[str] = []
    for service in sorted({s for m, s in services_measured if m is Metric.error_rate}):
        service_text = canonical(service)
        timed = [(instant_text(row.interval_start), row) for row in measurements.requests_of(contract.id, service)]
        timed.sort(key=_first)
        requests += [_request_text(service_text, interval_start, row) for interval_start, row in timed]
    members = {
        "contract": canonical(contract.model_dump(mode="json")),
        "period": canonical(str(evaluation.period)),
        "incidents": "[" + ",".join(incidents) + "]",
        "requests": "[" + ",".join(requests) + "]",
    }
    # Few contracts have these, with few rows: they go through the dicts.
    extra = _ticket_and_invoice_inputs(evaluation, measurements, rates, services_measured)
    members.update((key, canonical(value)) for key, value in extra.items())
    return canonical_object(members)


def _first(item: tuple) -> Any:
    return item[0]


def _ticket_and_invoice_inputs(evaluation: Evaluation, measurements: Measurements, rates: "RateBook | None",
                               services_measured: set[tuple[Metric, str]]) -> dict[str, Any]:
    """The tickets and pauses of ticket objectives, the invoices, payments and rates of late fees."""
    contract = evaluation.contract
    inputs: dict[str, Any] = {}
    if any(m in TICKET_METRICS for m, _ in services_measured):
        tickets = sorted(measurements.tickets_of(contract.id), key=lambda t: t.ticket)
        inputs["tickets"] = [ticket_json(t) for t in tickets]
        inputs["ticket_pauses"] = [pause_json(p) for t in tickets
                                   for p in sorted(measurements.pauses_of(t.ticket), key=lambda p: (p.start, p.end))]
    if evaluation.late_fees is not None:
        invoices = sorted(measurements.invoices_of(contract.id), key=lambda i: i.number)
        inputs["invoices"] = [invoice_json(i) for i in invoices]
        inputs["payments"] = [payment_json(p) for i in invoices
                              for p in sorted(measurements.payments_of(i.number), key=lambda p: (p.paid_on, p.amount))]
        inputs["rates"] = rates.rows(evaluation.late_fees.rates_used) if rates is not None else {}
    return inputs


def ticket_json(row: Ticket) -> dict[str, Any]:
    return {"ticket": row.ticket, "priority": row.priority, "created": instant_text(row.created),
            "first_response": instant_text(row.first_response), "resolved": instant_text(row.resolved), "line": row.line}


def pause_json(row: TicketPause) -> dict[str, Any]:
    return {"ticket": row.ticket, "start": instant_text(row.start), "end": instant_text(row.end), "line": row.line}


def invoice_json(row: Invoice) -> dict[str, Any]:
    encoded = {"number": row.number, "issued": row.issued.isoformat(), "due": row.due.isoformat(),
               "net": str(row.net), "tax": str(row.tax), "gross": str(row.gross), "currency": row.currency,
               "line": row.line}
    if row.period is not None:  # records written before invoices had a period keep their text
        encoded["period"] = row.period
    return encoded


def payment_json(row: Payment) -> dict[str, Any]:
    return {"invoice": row.invoice, "paid_on": row.paid_on.isoformat(), "amount": str(row.amount), "line": row.line}


def measurements_from(inputs: dict[str, Any]) -> Measurements:
    """The measurements a record holds, ready to evaluate again."""
    contract = inputs["contract"]["id"]
    parse = lambda text: datetime.fromisoformat(text) if text else None  # noqa: E731
    incidents: dict = {}
    for row in inputs["incidents"]:
        incidents.setdefault((contract, row["service"]), []).append(Incident(
            parse(row["start"]), parse(row["end"]), Cause(row["cause"]), parse(row["announced_at"]), row["line"],
            Decimal(row["impact"]) if "impact" in row else None))
    requests: dict = {}
    for row in inputs["requests"]:
        requests.setdefault((contract, row["service"]), []).append(RequestCount(
            parse(row["interval_start"]), row["requests"], row["errors"], row["line"]))
    tickets: dict = {}
    for row in inputs.get("tickets", []):
        tickets.setdefault(contract, []).append(Ticket(
            contract, row["ticket"], row["priority"], parse(row["created"]), parse(row["first_response"]),
            parse(row["resolved"]), row["line"]))
    pauses: dict = {}
    for row in inputs.get("ticket_pauses", []):
        pauses.setdefault(row["ticket"], []).append(
            TicketPause(row["ticket"], parse(row["start"]), parse(row["end"]), row["line"]))
    invoices: dict = {}
    for row in inputs.get("invoices", []):
        invoices.setdefault(contract, []).append(Invoice(
            contract, row["number"], date.fromisoformat(row["issued"]), date.fromisoformat(row["due"]),
            Decimal(row["net"]), Decimal(row["tax"]), Decimal(row["gross"]), row["currency"], row["line"],
            row.get("period")))
    payments: dict = {}
    for row in inputs.get("payments", []):
        payments.setdefault(row["invoice"], []).append(Payment(
            row["invoice"], date.fromisoformat(row["paid_on"]), Decimal(row["amount"]), row["line"]))
    return Measurements(folder="record", incidents=incidents, requests=requests, invoices=invoices,
                        payments=payments, tickets=tickets, pauses=pauses)


def rates_from(inputs: dict[str, Any]) -> "RateBook":
    from ..core.rates import RateBook

    return RateBook.from_rows(inputs.get("rates", {}))


def outcomes_json(evaluation: Evaluation) -> list[dict[str, Any]]:
    """Per objective, what each incident did: counted, excluded and why."""
    result = []
    for objective, measure in evaluation.measures:
        if measure.tickets:
            result.append(_tickets_outcome(objective.id, measure))
            continue
        if not measure.incidents:
            continue
        result.append({"objective": objective.id, "incidents": [_outcome_json(o) for o in measure.incidents]})
    return result


def _outcome_json(o) -> dict[str, Any]:
    data = {"line": o.line, "start": instant_text(o.start), "end": instant_text(o.end), "cause": o.cause,
            "status": o.status, "counted_minutes": plain(o.counted_minutes), "excluded_minutes": plain(o.excluded_minutes)}
    if o.impact is not None:
        data["impact"] = str(o.impact)
    return data


def _tickets_outcome(objective: str, measure: Measure) -> dict[str, Any]:
    return {"objective": objective, "tickets": [
        {"ticket": t.ticket, "priority": t.priority, "created": instant_text(t.created), "ended": instant_text(t.ended),
         "elapsed_minutes": plain(minutes(t.elapsed)), "status": t.status} for t in measure.tickets]}


def outcomes_text(evaluation: Evaluation) -> str:
    """``canonical(outcomes_json(evaluation))``, each incident's outcome written as text directly."""
    entries = []
    for objective, measure in evaluation.measures:
        if measure.tickets:  # a few per contract at most: through the dicts
            entries.append(canonical(_tickets_outcome(objective.id, measure)))
            continue
        if not measure.incidents:
            continue
        # cause and status are fixed ASCII words (a Cause value, an IncidentOutcome status)
        rows = ",".join(
            f'{{"cause":"{o.cause}","counted_minutes":"{plain(o.counted_minutes)}","end":"{instant_text(o.end)}",'
            f'"excluded_minutes":"{plain(o.excluded_minutes)}",'
            + ("" if o.impact is None else f'"impact":"{o.impact}",')
            + f'"line":{_int(o.line)},"start":"{instant_text(o.start)}","status":"{o.status}"}}'
            for o in measure.incidents)
        entries.append(f'{{"incidents":[{rows}],"objective":{canonical(objective.id)}}}')
    return "[" + ",".join(entries) + "]"


def result_of(evaluation: Evaluation) -> dict[str, Any]:
    """Every computed figure of an evaluation: what replay compares."""
    return {"evaluation": evaluation_json(evaluation), "outcomes": outcomes_json(evaluation),
            "fact": evaluation.fact, "fired": sorted(evaluation.fired)}


def result_text(evaluation: Evaluation) -> str:
    """``canonical(result_of(evaluation))``, with the outcomes written as text directly."""
    return canonical_object({"evaluation": canonical(evaluation_json(evaluation)),
                             "outcomes": outcomes_text(evaluation),
                             "fact": canonical(evaluation.fact), "fired": canonical(sorted(evaluation.fired))})


@lru_cache(maxsize=64)
def _ruleset_text(ruleset: str, version: str, sha256: str) -> str:
    # The same few rule sets for every contract of a run.
    return canonical({"id": ruleset, "version": version, "sha256": sha256})


@lru_cache(maxsize=1)
def _engine_text() -> str:
    return canonical(engine_versions())


def record_parts(evaluation: Evaluation, inputs_text: str, input_digest: str) -> dict[str, str]:
    """The parts of a record known before the ledger, each already in canonical JSON.

    Encoding a record is most of the cost of sealing it; the monthly run's workers do it,
    and the ledger only adds the run, revision, supersedes, documents and previous hash.
    """
    rule_set = evaluation.rule_set
    return {
        "contract": canonical(evaluation.contract.id),
        "period": canonical(str(evaluation.period)),
        "inputs": inputs_text,
        "input_digest": canonical(input_digest),
        "ruleset": _ruleset_text(rule_set.ruleset, rule_set.version, rule_set.sha256),
        "engine": _engine_text(),
        "result": result_text(evaluation),
    }


def seal_parts(parts: dict[str, str], rest: dict[str, Any], previous: str) -> tuple[str, str]:
    """Chain a record, given as canonical parts plus the ledger's own fields, to the one before it.

    Returns its canonical text and its hash.  canonical() writes a mapping as its keys in
    order, each with its value's canonical text, so joining the parts in key order gives
    exactly the bytes canonical() would give the whole record.
    """
    text = canonical_object({**parts, **{key: canonical(value) for key, value in rest.items()},
                             "previous": canonical(previous)})
    return text, sha256_text(text)
