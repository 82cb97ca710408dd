"""Evaluation records: what an auditor needs to replay an evaluation, as canonical JSON.

A record holds the inputs the evaluation used (the contract's terms, every measurement
row passed to it, reference rates), their digest, the rule set's content hash, the
engine versions, the fact posted to the rule engine and the rules that fired, every
computed figure (including what each incident did and why), and the numbers and
hashes of the documents issued from it.  Records are chained: each one's hash covers
the hash of the record before it, so an edited, deleted or reordered record breaks the
chain.  Everything here is pure; the store writes records, ``audit`` reads them.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Iterable

from . import __version__
from .book import Incident, Measurements, RequestCount
from .evaluation import Evaluation
from .matching import ADAPTER_VERSION, durable_rules_version
from .money import plain
from .results import evaluation_json
from .schema import Metric

GENESIS = "0" * 64


def canonical(data: Any) -> str:
    import json

    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def instant(value: datetime | None) -> str | None:
    """An instant as fixed-width UTC text, so equal instants always read the same."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def incident_json(service: str, row: Incident) -> dict[str, Any]:
    return {"service": service, "start": instant(row.start), "end": instant(row.end), "cause": row.cause.value,
            "announced_at": instant(row.announced_at), "line": row.line}


def request_json(service: str, row: RequestCount) -> dict[str, Any]:
    return {"service": service, "interval_start": instant(row.interval_start), "requests": row.requests,
            "errors": row.errors, "line": row.line}


def engine_versions() -> dict[str, str]:
    return {"slabill": __version__, "durable_rules": durable_rules_version(), "adapter": ADAPTER_VERSION}


def inputs_of(evaluation: Evaluation, measurements: Measurements) -> dict[str, Any]:
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
    return {
        "contract": contract.model_dump(mode="json"),
        "period": str(evaluation.period),
        "incidents": incidents,
        "requests": requests,
    }


def measurements_from(inputs: dict[str, Any]) -> Measurements:
    """The measurements a record holds, ready to evaluate again."""
    from .schema import Cause

    contract = inputs["contract"]["id"]
    result = Measurements(folder="record")
    parse = lambda text: datetime.fromisoformat(text) if text else None  # noqa: E731
    for row in inputs["incidents"]:
        result.incidents.setdefault((contract, row["service"]), []).append(Incident(
            parse(row["start"]), parse(row["end"]), Cause(row["cause"]), parse(row["announced_at"]), row["line"]))
    for row in inputs["requests"]:
        result.requests.setdefault((contract, row["service"]), []).append(RequestCount(
            parse(row["interval_start"]), row["requests"], row["errors"], row["line"]))
    return result


def outcomes_json(evaluation: Evaluation) -> list[dict[str, Any]]:
    """Per objective, what each incident did: counted, excluded and why."""
    result = []
    for objective, measure in evaluation.measures:
        if not measure.incidents:
            continue
        result.append({"objective": objective.id, "incidents": [
            {"line": o.line, "start": instant(o.start), "end": instant(o.end), "cause": o.cause, "status": o.status,
             "counted_minutes": plain(o.counted_minutes), "excluded_minutes": plain(o.excluded_minutes)}
            for o in measure.incidents]})
    return result


def result_of(evaluation: Evaluation) -> dict[str, Any]:
    """Every computed figure of an evaluation: what replay compares."""
    return {"evaluation": evaluation_json(evaluation), "outcomes": outcomes_json(evaluation),
            "fact": evaluation.fact, "fired": sorted(evaluation.fired)}


def build_record(evaluation: Evaluation, inputs: dict[str, Any], *, run_id: int | None, revision: int,
                 supersedes: str | None, documents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The record, without its place in the chain (``seal`` adds that)."""
    rule_set = evaluation.rule_set
    return {
        "contract": evaluation.contract.id,
        "period": str(evaluation.period),
        "run": run_id,
        "revision": revision,
        "supersedes": supersedes,
        "inputs": inputs,
        "input_digest": sha256_text(canonical(inputs)),
        "ruleset": {"id": rule_set.ruleset, "version": rule_set.version, "sha256": rule_set.sha256},
        "engine": engine_versions(),
        "result": result_of(evaluation),
        "documents": list(documents),
    }


def seal(record: dict[str, Any], previous: str) -> tuple[str, str]:
    """Chain a record to the one before it: its canonical text and its hash."""
    text = canonical({**record, "previous": previous})
    return text, sha256_text(text)
