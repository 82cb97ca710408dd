"""The benchmark's book generator writes files that slabill reads and evaluates.

A smoke test, not a benchmark: a 20-contract book in a temporary folder, loaded and
evaluated through the engine.  Nothing here reads the clock or asserts on timings.
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

from engine.core.evaluation import evaluate_book
from engine.core.period import Period
from engine.jobs.evaluate import write_json
from engine.loading.contracts import load_book
from engine.loading.measurements import load_measurements
from engine.loading.rulesets import load_rule_sets

GENERATE = Path(__file__).resolve().parent.parent / "bench" / "generate.py"


def _generator():
    spec = importlib.util.spec_from_file_location("bench_generate", GENERATE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "manifest.json"}


def test_a_generated_book_loads_and_evaluates(tmp_path):
    manifest = _generator().generate(tmp_path / "book", contracts=20, incidents=400, seed=7, period="2026-10")
    book_dir = tmp_path / "book"

    rules = load_rule_sets(book_dir / "rules")
    book = load_book(book_dir / "contracts.yaml")
    measurements = load_measurements(book_dir / "data", book)
    evaluations = list(evaluate_book(rules, book, measurements, Period(2026, 10)))

    assert len(book.contracts) == 20
    assert sum(len(rows) for rows in measurements.incidents.values()) == 400
    assert sum(len(rows) for rows in measurements.requests.values()) == manifest["request_rows"]
    assert len(evaluations) == 20
    assert all(len(e.measures) == 3 for e in evaluations)
    assert {e.rule_set.version for e in evaluations} == {"2026.1"}

    out = io.StringIO()
    write_json("2026-10", evaluations, out)
    document = json.loads(out.getvalue())
    assert [r["contract"] for r in document["results"]] == sorted(c.id for c in book.contracts)


def test_the_same_seed_gives_the_same_bytes(tmp_path):
    generator = _generator()
    generator.generate(tmp_path / "a", contracts=20, incidents=400, seed=7)
    generator.generate(tmp_path / "b", contracts=20, incidents=400, seed=7)
    generator.generate(tmp_path / "c", contracts=20, incidents=400, seed=8)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert _files(tmp_path / "a") != _files(tmp_path / "c")
