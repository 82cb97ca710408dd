"""Worker processes for the commands that go through a whole store: run, replay, verify.

A store of 100,000 contracts keeps one core busy for minutes, and the machines slabill
runs on have two or more.  Each of these commands cuts its work into batches that need
nothing from one another (a batch of contracts to work out, of records to replay or
check), has worker processes do them, and keeps in the parent what must happen in
order: the ledger, the links of the chain, the order of the output.

Workers are forked, so they start with what the parent set up (the rule sets, the
period, the batches' plan) without pickling it.  Each opens its own connection to the
store; the parent closes its pooled connections before the fork so that no connection
is ever shared by two processes.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

if TYPE_CHECKING:
    from .store import Store

__all__ = ["BrokenProcessPool", "InProcess", "can_fork", "chunked", "default_workers", "executor", "in_order", "store_for"]


class InProcess:
    """An executor's interface, worked in the calling process (one worker, or no fork)."""

    class _Done:
        def __init__(self, value: Any) -> None:
            self.value = value

        def result(self) -> Any:
            return self.value

    def submit(self, function: Callable, *arguments: Any) -> "_Done":
        return self._Done(function(*arguments))

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


def can_fork() -> bool:
    """Workers are forked: they start with what the parent set up, without pickling it."""
    return "fork" in multiprocessing.get_all_start_methods()


def default_workers() -> int:
    """One worker per core this process may run on, at most eight."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8))


def executor(workers: int, store: "Store"):
    """``workers`` processes forked now, while the parent holds no database connection.

    A process pool from concurrent.futures rather than multiprocessing.Pool: when a
    worker dies (durable-rules can crash a process, see engine/matching.py) the pool
    breaks and the caller gets ``BrokenProcessPool``, where multiprocessing.Pool would
    replace the worker and wait forever for the lost batch.
    """
    if workers <= 1 or not can_fork() or store.url in ("sqlite://", "sqlite:///:memory:"):
        return InProcess()
    # A forked child must not share the parent's pooled connections (SQLite's locks and a
    # PostgreSQL socket would be used by two processes); the parent reconnects on demand.
    store.engine.dispose()
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    pool.submit(os.getpid).result()  # with fork, the first task forks every worker
    return pool


def chunked(values: list, size: int) -> list[list]:
    """Values cut into consecutive batches of at most ``size``."""
    return [values[start:start + size] for start in range(0, len(values), size)]


def in_order(store: "Store", work: Callable[[Any], Any], chunks: Sequence, workers: int,
             prepare: Callable[[Any], Any] = lambda chunk: chunk) -> Iterator:
    """``work(prepare(chunk))`` for each chunk, by up to ``workers`` processes, results in the chunks' order.

    Workers are kept a couple of chunks ahead of the caller.  ``prepare`` runs in this
    process just before its chunk is handed over, so it can read what the caller wrote
    while the chunks before were being worked (the run's ledger does).  The pool is shut
    when the caller has all results or stops early.
    """
    pool = executor(min(workers, len(chunks)), store)
    try:
        ahead: deque = deque(chunks)
        in_flight: deque = deque()
        while ahead and len(in_flight) < max(2, 2 * workers):
            in_flight.append(pool.submit(work, prepare(ahead.popleft())))
        while in_flight:
            done = in_flight.popleft().result()
            if ahead:
                in_flight.append(pool.submit(work, prepare(ahead.popleft())))
            yield done
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_OPENED: dict[str, tuple[int, "Store"]] = {}
"""the store each forked worker opened for itself, by URL, with the process it belongs to"""


def store_for(parent: "Store", parent_pid: int) -> "Store":
    """The store of this process: the parent's own, or one a forked worker opens for itself."""
    if os.getpid() == parent_pid:
        return parent
    from .store import Store

    opened = _OPENED.get(parent.url)
    if opened is None or opened[0] != os.getpid():
        opened = _OPENED[parent.url] = (os.getpid(), Store(parent.url, upgrade=False))
    return opened[1]
