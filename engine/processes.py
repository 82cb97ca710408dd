"""Worker processes: the one way slabill runs a job's batches in parallel, results in order.

A book or store of 100,000 contracts keeps one core busy for minutes, and the machines
slabill runs on have two or more.  Each command that goes through a whole book or store
(``evaluate``, ``run``, ``replay``, ``audit verify``) cuts its work into batches that need
nothing from one another and describes the work as a *job*: a frozen value, called as
``job(batch, store)``.  ``in_order`` hands each batch with the job to a worker process and
gives the results back in the batches' order, so the caller keeps what must happen in
order (the ledger, the links of the chain, the order of the output).

A job carries everything its batches need (the period, the rule sets, the rates), so a
worker holds no state of the command: the job travels with each batch.  What a worker
keeps is its own connection to the store, opened on its first batch (``opened``):
the parent closes its pooled connections before forking, so that no connection is ever
shared by two processes.  With one worker, or where processes cannot be forked, the
batches are worked in the calling process on the caller's own store.

With a cluster (``engine.distributed``: ``slabill run --scheduler``), the batches go to
Dask workers on other machines instead, the same way: the job travels with its batch, the
worker opens the store for itself, and the results come back in the batches' order.

A run also says which process runs it (``this_process``), so that a later run can tell
a run still working from one whose process was killed (``gone``).

This module knows nothing of slabill's domain: the audit and the jobs use it alike.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import socket
from collections import deque
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable, Iterator, Protocol, Sequence, TypeVar

__all__ = ["BrokenProcessPool", "can_fork", "chunked", "default_workers", "gone", "in_order", "this_process"]

B = TypeVar("B")
R = TypeVar("R")


class Cluster(Protocol):
    """Workers elsewhere that work a job's batches in order (``engine.distributed.Cluster`` does)."""

    def in_order(self, job: "Job", batches: Sequence[B], *, store: "Shared | None" = None,
                 prepare: Callable[[B], B] = ..., fail_fast: bool = False) -> Iterator[R]:
        """``job(prepare(batch), store)`` for each batch, on the cluster, in the batches' order."""


class Shared(Protocol):
    """What a store offers to be shared with worker processes (``engine.store.Store`` does)."""

    url: str

    @property
    def shareable(self) -> bool:
        """Whether other processes can open it too."""

    def release_connections(self) -> None:
        """Close pooled connections before a fork."""

    @classmethod
    def opened(cls, url: str) -> "Shared":
        """This process's own connection to the store at ``url``."""


Job = Callable[[B, "Shared | None"], R]


def can_fork() -> bool:
    """Workers are forked: they start with the parent's imports and caches, at no cost."""
    return "fork" in multiprocessing.get_all_start_methods()


def default_workers() -> int:
    """One worker per core this process may run on, at most eight."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 8))


def this_process() -> dict:
    """Which process this is, in a form another process can check later: host, pid, and when it started.

    The start time (Linux's /proc, in clock ticks since boot) tells this process from a
    later one that was given the same pid.
    """
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": _started(os.getpid())}


def gone(process: dict) -> bool | None:
    """Whether the process ``this_process`` described has ended: True, False, or None when this
    machine cannot tell (it ran on another host).

    >>> gone(this_process())
    False
    """
    if not process or process.get("host") != socket.gethostname():
        return None
    pid = process.get("pid")
    if not isinstance(pid, int):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        pass
    started = process.get("started")
    return started is not None and _started(pid) not in (None, started)


def _started(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            # the command name (field 2) may hold spaces and parentheses: count from its end
            return int(stat.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def chunked(values: list, size: int) -> list[list]:
    """Values cut into consecutive batches of at most ``size``.

    >>> chunked([1, 2, 3, 4, 5], 2)
    [[1, 2], [3, 4], [5]]
    """
    return [values[start:start + size] for start in range(0, len(values), size)]


def in_order(job: Job, batches: Sequence[B], workers: int, *, store: Shared | None = None,
             prepare: Callable[[B], B] = lambda batch: batch, fail_fast: bool = False,
             cluster: Cluster | None = None) -> Iterator[R]:
    """``job(prepare(batch), store)`` for each batch, by up to ``workers`` processes, in the batches' order.

    Workers are kept a couple of batches ahead of the caller.  ``prepare`` runs in this
    process just before its batch is handed over, so it can read what the caller wrote
    while the batches before were being worked (the run's ledger does).  A worker that
    dies breaks the pool: the caller gets ``BrokenProcessPool``.  With ``fail_fast``, the
    first batch to fail stops the others at once, even one that comes before it.  With a
    ``cluster``, its workers work the batches and ``workers`` is not used.
    """
    if cluster is not None:
        yield from cluster.in_order(job, batches, store=store, prepare=prepare, fail_fast=fail_fast)
        return
    workers = min(workers, len(batches))
    if workers <= 1 or not can_fork() or (store is not None and not store.shareable):
        for batch in batches:
            yield job(prepare(batch), store)
        return
    # What a worker needs to open the store for itself: its class and URL, not the parent's connections.
    opening = (type(store), store.url) if store is not None else None
    if store is not None:
        # A forked child must not share the parent's pooled connections (SQLite's locks and
        # a PostgreSQL socket would be used by two processes); the parent reconnects on demand.
        store.release_connections()
    # A process pool from concurrent.futures rather than multiprocessing.Pool: when a
    # worker dies (durable-rules can crash a process, see engine/core/matching.py) the
    # pool breaks and the caller hears of it, where multiprocessing.Pool would replace
    # the worker and wait for ever for the lost batch.
    # What the parent holds when it forks (a large run's plan: an id per contract) is shared
    # with the workers until written to; the collector's passes in a worker would write to
    # every object they visit and so copy it.  Frozen objects are never visited.
    gc.freeze()
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    stopped = False
    try:
        ahead: deque = deque(batches)
        in_flight: deque = deque()
        while ahead and len(in_flight) < max(2, 2 * workers):
            in_flight.append(pool.submit(_in_worker, job, prepare(ahead.popleft()), opening))
        while in_flight:
            if fail_fast:
                done, _ = wait(in_flight, return_when=FIRST_EXCEPTION)
                failed = next((future for future in done if future.exception() is not None), None)
                if failed is not None:
                    _stop(pool)
                    stopped = True
                    failed.result()
            result = in_flight.popleft().result()
            if ahead:
                in_flight.append(pool.submit(_in_worker, job, prepare(ahead.popleft()), opening))
            yield result
    except BaseException:
        if not stopped:
            _stop(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        gc.unfreeze()


def _stop(pool: ProcessPoolExecutor) -> None:
    """End a pool's workers now, whatever they are doing (the caller gave up on their batches)."""
    # The executor has no public way to end busy workers before Python 3.14.
    for process in list(getattr(pool, "_processes", {}).values()):
        process.terminate()


def _in_worker(job: Job, batch: Any, opening: tuple[type, str] | None) -> Any:
    if opening is None:
        return job(batch, None)
    store_class, url = opening
    return job(batch, store_class.opened(url))
