"""``slabill evaluate``: a book evaluated from files, written as the JSON of INTERFACE.md section 5.

A book of 100,000 contracts keeps one core busy for 40 s to more than a minute,
depending on the machine: reading the YAML and the CSV files, then measuring,
matching and pricing each contract.  The
machines slabill runs on have two cores or more, so a whole book is shared among
worker processes (``engine.processes``), one share per worker.  Each worker reads
the whole contracts file but validates and keeps only its share (every n-th contract of
the file), reads only its share's measurement rows, and writes one result line per
contract to a file of its own.  The parent then merges the files in contract order
into exactly the JSON that one process writes.

The book is in memory once, spread over the workers, rather than once per worker: a
worker forked after reading would copy most of what it touched.

When a worker fails, whatever the reason (bad input, a bug, a crash), the parent stops
the others and evaluates the book itself.  The error a user sees is then the one the
single-process evaluation raises, the first problem in reading order, however the book
was shared; bad input is rare enough that reading it twice costs nothing that matters.
"""

from __future__ import annotations

import heapq
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable, Iterator

from ..core.evaluation import Evaluation, evaluate_book
from ..core.model import Measurements
from ..core.period import Period
from ..core.rates import RateBook
from ..core.results import evaluation_text
from ..core.rulesets import RuleBook
from ..loading.collector import settle_loaded_data
from ..loading.contracts import Book, Share, load_book
from ..loading.measurements import load_measurements
from ..loading.rates import load_rates
from ..loading.rulesets import load_rule_sets
from ..processes import BrokenProcessPool, can_fork, in_order


@dataclass(frozen=True)
class Inputs:
    """Where an evaluation's files are."""

    rules: Path
    contracts: Path
    data: Path


@dataclass(frozen=True)
class Loaded:
    rule_book: RuleBook
    book: Book
    measurements: Measurements
    rates: RateBook | None


def read_inputs(inputs: Inputs, share: Share | None = None) -> Loaded:
    """Rule sets, the book (or one share of it), its measurements and, when a rule set needs them, rates."""
    rule_book = load_rule_sets(inputs.rules)
    book = load_book(inputs.contracts, share)
    measurements = load_measurements(inputs.data, book)
    rates = load_rates(inputs.rules) if any(r.rules.late_payment for r in rule_book.loaded) else None
    settle_loaded_data()
    return Loaded(rule_book, book, measurements, rates)


def evaluate_to(out: IO[str], inputs: Inputs, period: Period, workers: int, contract: str | None = None) -> None:
    """Evaluate the book (or one contract) and write the JSON document to ``out``.

    Nothing reaches ``out`` unless every contract evaluates: a whole book shared among
    workers writes only once every share is done, and one process writes into a spooled
    file (memory up to 32 MiB, then disk) that is copied out at the end.  A whole book
    is shared among ``workers`` processes; one contract is not worth a fork.
    """
    if contract is None and workers > 1 and can_fork() and evaluate_in_shares(inputs, period, workers, out):
        return
    loaded = read_inputs(inputs)
    evaluations = evaluate_book(loaded.rule_book, loaded.book, loaded.measurements, period, contract,
                                rates=loaded.rates)
    with tempfile.SpooledTemporaryFile(max_size=32 * 2**20, mode="w+", encoding="utf-8") as buffer:
        write_json(str(period), evaluations, buffer)
        buffer.seek(0)
        shutil.copyfileobj(buffer, out)


def evaluations_of(inputs: Inputs, period: Period, contract: str | None = None) -> list[Evaluation]:
    """The evaluations of the book (or of one contract), in one process, for a table to show."""
    loaded = read_inputs(inputs)
    return list(evaluate_book(loaded.rule_book, loaded.book, loaded.measurements, period, contract,
                              rates=loaded.rates))


@dataclass(frozen=True)
class ShareJob:
    """Evaluate share ``index`` of the book into its own file of result lines, in a worker."""

    inputs: Inputs
    period: Period
    workers: int
    folder: Path

    def path(self, index: int) -> Path:
        return self.folder / f"share-{index}.tsv"

    def __call__(self, index: int, store: None = None) -> Path:
        path = self.path(index)
        _evaluate_share(self.inputs, Share(index, self.workers), self.period, path)
        return path


def _evaluate_share(inputs: Inputs, share: Share, period: Period, path: Path) -> None:
    """Evaluate a share into ``path``, one ``contract<TAB>result`` line each, in contract order."""
    loaded = read_inputs(inputs, share)
    with path.open("w", encoding="utf-8") as handle:
        for evaluation in evaluate_book(loaded.rule_book, loaded.book, loaded.measurements, period,
                                        rates=loaded.rates):
            handle.write(evaluation.contract.id + "\t" + evaluation_text(evaluation) + "\n")


def evaluate_in_shares(inputs: Inputs, period: Period, workers: int, out: IO[str]) -> bool:
    """Evaluate the book in ``workers`` processes and write the JSON document to ``out``.

    Returns False, having written nothing, when a worker failed: the caller then
    evaluates in one process, which raises the error to report (or, were the failure a
    worker's alone, gives the result).
    """
    with tempfile.TemporaryDirectory(prefix="slabill-evaluate-") as folder:
        job = ShareJob(inputs, period, workers, Path(folder))
        try:
            paths = list(in_order(job, range(workers), workers, fail_fast=True))
        except (Exception, BrokenProcessPool):
            # The traceback is not shown: the evaluation in one process reports the problem properly.
            return False
        write_results(str(period), _merged(paths), out)
        return True


def _merged(paths: list[Path]) -> Iterator[str]:
    """Every share's result lines, in contract order (each share's file is in contract order already)."""
    handles = [path.open(encoding="utf-8") for path in paths]
    try:
        for line in heapq.merge(*handles, key=lambda line: line[:line.index("\t")]):
            yield line[line.index("\t") + 1:-1]
    finally:
        for handle in handles:
            handle.close()


def write_json(period: str, evaluations: Iterable[Evaluation], out: IO[str]) -> None:
    """The whole document, each result written as soon as it is evaluated so memory stays flat."""
    write_results(period, (evaluation_text(evaluation) for evaluation in evaluations), out)


def write_results(period: str, results: Iterable[str], out: IO[str]) -> None:
    """The document around results already turned into text by ``evaluation_text``.

    One result per line: pretty-printing with ``indent`` would switch json to its
    pure-Python encoder, a third of the time of a 100,000-contract evaluation; pipe the
    output through ``python -m json.tool`` to read it indented.
    """
    out.write('{"period": ' + json.dumps(period) + ', "results": [')
    count = 0
    for text in results:
        out.write(("," if count else "") + "\n  " + text)
        count += 1
    out.write(("\n" if count else "") + "]}\n")


