"""``slabill evaluate`` in worker processes: each worker keeps a share of the book, and
the merged JSON is byte for byte what one process writes, errors included."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.core.errors import InputError
from engine.core.period import Period
from engine.jobs import evaluate as shares
from engine.loading.contracts import Share, load_book
from engine.loading.measurements import load_measurements
from tests.conftest import ROOT

GENERATE = ROOT / "bench" / "generate.py"
FIXTURES = ROOT / "fixtures"


def evaluate(rules: Path, contracts: Path, data: Path, *extra: str):
    return CliRunner().invoke(app, ["evaluate", "--rules", str(rules), "--contracts", str(contracts),
                                    "--data", str(data), "--period", "2026-10", *extra])


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A seeded 120-contract book from the benchmark's generator, with every kind of incident."""
    spec = importlib.util.spec_from_file_location("bench_generate", GENERATE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    folder = tmp_path_factory.mktemp("generated") / "book"
    module.generate(folder, contracts=120, incidents=2400, seed=11, period="2026-10")
    return folder


@pytest.mark.parametrize("workers", ["2", "3", "7"])
def test_the_fixture_book_in_shares_gives_the_one_process_bytes(workers):
    alone = evaluate(ROOT / "rules", FIXTURES / "contracts.yaml", FIXTURES / "data", "--workers", "1")
    shared = evaluate(ROOT / "rules", FIXTURES / "contracts.yaml", FIXTURES / "data", "--workers", workers)
    assert alone.exit_code == 0 and shared.exit_code == 0, alone.output + shared.output
    assert shared.stdout == alone.stdout
    active = [c for c in load_book(FIXTURES / "contracts.yaml").contracts if c.active_in(Period.parse("2026-10"))]
    assert [r["contract"] for r in json.loads(shared.stdout)["results"]] == sorted(c.id for c in active)


@pytest.mark.parametrize("workers", ["2", "5"])
def test_a_generated_book_in_shares_gives_the_one_process_bytes(generated, workers):
    alone = evaluate(generated / "rules", generated / "contracts.yaml", generated / "data", "--workers", "1")
    shared = evaluate(generated / "rules", generated / "contracts.yaml", generated / "data", "--workers", workers)
    assert alone.exit_code == 0 and shared.exit_code == 0, alone.output + shared.output
    assert shared.stdout == alone.stdout
    assert alone.stdout.count('"contract": "C-') == 120


def test_shares_split_the_book_and_its_rows(generated):
    whole = load_book(generated / "contracts.yaml")
    everything = load_measurements(generated / "data", whole)
    parts = [load_book(generated / "contracts.yaml", Share(index, 3)) for index in range(3)]
    kept = [[c.id for c in part.contracts] for part in parts]
    assert sorted(sum(kept, [])) == sorted(c.id for c in whole.contracts)
    assert kept[1] == [c.id for c in whole.contracts[1::3]]
    for part in parts:
        assert part.elsewhere == {c.id for c in whole.contracts} - {c.id for c in part.contracts}
        # the rows a share keeps are exactly its contracts' rows
        rows = load_measurements(generated / "data", part)
        mine = {c.id for c in part.contracts}
        assert rows.incidents == {k: v for k, v in everything.incidents.items() if k[0] in mine}
        assert rows.requests == {k: v for k, v in everything.requests.items() if k[0] in mine}


def test_a_kept_contract_is_named_at_its_own_line(generated):
    part = load_book(generated / "contracts.yaml", Share(1, 2))
    second = part.contracts[0]
    error = part.error_at(second.id, "ruleset", "no rule set")
    whole = load_book(generated / "contracts.yaml")
    assert error.line == whole.error_at(second.id, "ruleset", "no rule set").line


def test_a_repeated_contract_id_is_found_across_shares(tmp_path):
    text = (FIXTURES / "contracts.yaml").read_text(encoding="utf-8")
    whole = load_book(FIXTURES / "contracts.yaml")
    first, second = whole.contracts[0].id, whole.contracts[1].id
    (tmp_path / "contracts.yaml").write_text(text.replace(f"id: {second}\n", f"id: {first}\n", 1))
    # contract 0 is share 0's, contract 1 share 1's: each share sees the repeat
    for index in range(2):
        with pytest.raises(InputError, match=f"the contract id '{first}' is used twice") as raised:
            load_book(tmp_path / "contracts.yaml", Share(index, 2))
        with pytest.raises(InputError) as alone:
            load_book(tmp_path / "contracts.yaml")
        assert str(raised.value) == str(alone.value)


def _bad_copy(tmp_path: Path, generated: Path, replace: tuple[str, str], file: str) -> Path:
    book = tmp_path / "book"
    shutil.copytree(generated, book)
    path = book / file
    text = path.read_text(encoding="utf-8")
    assert replace[0] in text
    path.write_text(text.replace(replace[0], replace[1], 1), encoding="utf-8")
    return book


@pytest.mark.parametrize("file, replace", [
    ("contracts.yaml", ("currency: EUR", "currency: EURO")),                       # a contract of some share
    ("data/incidents.csv", ("C-000003,", "C-999999,")),                           # a row of no contract
    ("data/incidents.csv", ("C-000004,compute,", "C-000004,computer,")),          # a row of share 1's contract
])
def test_bad_input_in_shares_gets_the_one_process_error(tmp_path, generated, file, replace):
    book = _bad_copy(tmp_path, generated, replace, file)
    alone = evaluate(book / "rules", book / "contracts.yaml", book / "data", "--workers", "1")
    shared = evaluate(book / "rules", book / "contracts.yaml", book / "data", "--workers", "2")
    assert alone.exit_code == 2 and shared.exit_code == 2
    assert shared.stdout == "" and shared.stderr == alone.stderr
    assert file.split("/")[-1] in shared.stderr and "line" in shared.stderr


def _dies(inputs, share, period, path):
    if share.index == 1:
        os._exit(9)  # as if the kernel had killed it
    return _real_share(inputs, share, period, path)


def _raises(inputs, share, period, path):
    if share.index == 0:
        raise RuntimeError("a bug")
    return _real_share(inputs, share, period, path)


_real_share = shares._evaluate_share


@pytest.mark.parametrize("failure", [_dies, _raises])
def test_a_failed_worker_leaves_the_book_to_one_process(monkeypatch, failure):
    alone = evaluate(ROOT / "rules", FIXTURES / "contracts.yaml", FIXTURES / "data", "--workers", "1")
    monkeypatch.setattr(shares, "_evaluate_share", failure)
    shared = evaluate(ROOT / "rules", FIXTURES / "contracts.yaml", FIXTURES / "data", "--workers", "2")
    assert shared.exit_code == 0, shared.output
    assert shared.stdout == alone.stdout


def test_a_book_with_anchors_is_shared_all_the_same(tmp_path, generated):
    """Another share's contracts are read past, not built; one that holds an anchor cannot
    be, so the file is then read whole, and the shares still add up to the book."""
    text = (generated / "contracts.yaml").read_text(encoding="utf-8")
    # the second contract (share 1's) anchors its customer's address
    at = text.index("id: C-000002")
    anchored = text[:at] + text[at:].replace('address: "', 'address: &where "', 1)
    (tmp_path / "contracts.yaml").write_text(anchored, encoding="utf-8")
    whole = load_book(tmp_path / "contracts.yaml")
    parts = [load_book(tmp_path / "contracts.yaml", Share(index, 2)) for index in range(2)]
    assert {c.id: c for part in parts for c in part.contracts} == {c.id: c for c in whole.contracts}
    assert parts[0].elsewhere == {c.id for c in parts[1].contracts}
