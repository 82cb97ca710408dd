"""``slabill evaluate`` of a whole book, in worker processes that each evaluate a share of it.

A book of 100,000 contracts keeps one core busy for more than a minute: reading the
YAML and the CSV files, then measuring, matching and pricing each contract.  The
machines slabill runs on have two cores or more, so the command forks one worker per
core.  Each worker reads the whole contracts file but validates and keeps only its
share (every n-th contract of the file), reads only its share's measurement rows, and
writes one result line per contract to a file of its own.  The parent then merges the
files in contract order into exactly the JSON that one process writes.

The book is in memory once, spread over the workers, rather than once per worker: a
worker forked after reading would copy most of what it touched.

When a worker fails, whatever the reason (bad input, a bug, a crash), the parent stops
the others and evaluates the book itself.  The error a user sees is then the one the
single-process evaluation raises, the first problem in reading order, however the book
was shared; bad input is rare enough that reading it twice costs nothing that matters.
"""

from __future__ import annotations

import gc
import heapq
import multiprocessing
import tempfile
import traceback
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path
from typing import IO, Iterator

from .book import Book, Measurements, Share, load_book, load_measurements
from .evaluation import evaluate_book
from .period import Period
from .rates import RateBook, load_rates
from .results import evaluation_text, write_results
from .rulesets import RuleBook, load_rule_sets


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


def settle_loaded_data() -> None:
    """Move what was loaded out of the garbage collector's sight: it lives until the command
    ends, and full collections walking millions of loaded rows cost a third of a large run.

    No collection first: loading leaves almost no cyclic garbage (289 objects in half the
    100,000-contract book), and a full pass over the loaded rows to find them took 1 s.
    """
    gc.freeze()


def read_inputs(inputs: Inputs, share: Share | None = None) -> Loaded:
    """Rule sets, the book (or one share of it), its measurements and, when a rule set needs them, rates."""
    rule_book = load_rule_sets(inputs.rules)
    book = load_book(inputs.contracts, share)
    measurements = load_measurements(inputs.data, book)
    rates = load_rates(inputs.rules) if any(r.rules.late_payment for r in rule_book.loaded) else None
    settle_loaded_data()
    return Loaded(rule_book, book, measurements, rates)


def evaluate_in_shares(inputs: Inputs, period: Period, workers: int, out: IO[str]) -> bool:
    """Evaluate the book in ``workers`` processes and write the JSON document to ``out``.

    Returns False, having written nothing, when a worker failed: the caller then
    evaluates in one process, which raises the error to report (or, were the failure a
    worker's alone, gives the result).
    """
    context = multiprocessing.get_context("fork")
    with tempfile.TemporaryDirectory(prefix="slabill-evaluate-") as folder:
        paths = [Path(folder) / f"share-{index}.tsv" for index in range(workers)]
        started = []
        for index, path in enumerate(paths):
            receiving, sending = context.Pipe(duplex=False)
            worker = context.Process(target=_evaluate_share, daemon=True,
                                     args=(inputs, Share(index, workers), period, path, sending))
            worker.start()
            sending.close()
            started.append((worker, receiving))
        if not _all_done(started):
            return False
        write_results(str(period), _merged(paths), out)
        return True


def _all_done(started: list) -> bool:
    """Wait for every worker's word; on the first failure, stop the rest."""
    waiting = {receiving: worker for worker, receiving in started}
    ok = True
    while waiting and ok:
        for receiving in wait(list(waiting)):
            try:
                ok = receiving.recv() == "done" and ok
            except EOFError:  # the worker died without a word
                ok = False
            waiting.pop(receiving).join()
    for worker in waiting.values():
        worker.terminate()
        worker.join()
    for _, receiving in started:
        receiving.close()
    return ok


def _evaluate_share(inputs: Inputs, share: Share, period: Period, path: Path, sending) -> None:
    """In a worker: evaluate the share into ``path``, one ``contract<TAB>result`` line each, in contract order."""
    try:
        loaded = read_inputs(inputs, share)
        with path.open("w", encoding="utf-8") as handle:
            for evaluation in evaluate_book(loaded.rule_book, loaded.book, loaded.measurements, period,
                                            rates=loaded.rates):
                handle.write(evaluation.contract.id + "\t" + evaluation_text(evaluation) + "\n")
        sending.send("done")
    except BaseException:
        # The parent evaluates again in one process, which reports the problem properly;
        # the traceback is only for whoever debugs a failure that happens in a worker alone.
        sending.send("failed: " + traceback.format_exc())
    finally:
        sending.close()


def _merged(paths: list[Path]) -> Iterator[str]:
    """Every share's result lines, in contract order (each share's file is in contract order already)."""
    handles = [path.open(encoding="utf-8") for path in paths]
    try:
        for line in heapq.merge(*handles, key=lambda line: line[:line.index("\t")]):
            yield line[line.index("\t") + 1:-1]
    finally:
        for handle in handles:
            handle.close()
