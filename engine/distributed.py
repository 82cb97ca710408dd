"""Dask workers on other machines: a job's batches worked out on a cluster, results in order.

``slabill run --scheduler tcp://HOST:8786`` hands the batches of the monthly run to the
workers of a Dask scheduler instead of this machine's processes (``engine.processes``).
The job and its batch travel to a worker like they travel to a local worker process: the
job is a frozen value, and the worker opens the store for itself from its URL
(``Store.opened``), so a worker reads its contracts and measurements from the shared
PostgreSQL store and keeps no state of the command.  This process stays the one
coordinator: it takes the results back in the batches' order, whatever order the workers
finish in, and writes them itself (the numbers, the chain, one transaction per batch).

Batches only compute, so a batch worked twice gives the same result: when a worker dies,
Dask works its batches again on another worker (up to ``distributed.scheduler.allowed-failures``
deaths per batch), and the run goes on.  When the cluster cannot finish (the scheduler is
gone, a batch outlived its retries, no worker has been connected for ``patience`` seconds)
the batches raise ``ClusterLost``: the run stops, and running it again finishes it.

At most a couple of batches per worker thread are handed out ahead of the coordinator, so
the memory the results hold stays bounded, whatever the size of the book.

Dask is imported here and nowhere else (pyproject.toml, import-linter), and only when a
cluster is used: a run on local processes never loads it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import time
import uuid
from collections import deque
from typing import Any, Callable, Iterator, Sequence, TypeVar
from urllib.parse import urlsplit

from .core.errors import InputError

__all__ = ["Cluster", "ClusterLost", "is_loopback"]

B = TypeVar("B")
R = TypeVar("R")

PATIENCE = 300.0
"""seconds a run waits with no worker connected before it gives up (workers may be restarting)"""
CONNECT_TIMEOUT = 30.0
"""seconds to reach the scheduler (Dask's own default: a busy scheduler may take a while to answer)"""
POLL = 1.0
"""how often, while waiting for a batch, the coordinator checks that the cluster still has workers"""


class ClusterLost(RuntimeError):
    """The Dask cluster could not finish the batches (the scheduler is gone, a batch outlived its
    retries, or no worker was left); the batches taken back before it stand."""


def is_loopback(address: str) -> bool:
    """Whether a scheduler address is on this machine's loopback (127.0.0.0/8, ::1, localhost).

    >>> is_loopback("tcp://127.0.0.1:8786"), is_loopback("tcp://localhost:8786"), is_loopback("tcp://db1:8786")
    (True, True, False)
    """
    try:
        host = urlsplit(address if "://" in address else f"tcp://{address}").hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def store_for_workers(store_url: str, address: str, field: str = "--scheduler") -> str:
    """The store URL the workers open: a PostgreSQL URL as it is; a SQLite file only with a
    scheduler on this machine, named by its absolute path (a worker's working folder is its own).

    A SQLite database is one file on one machine: workers elsewhere cannot read it, so a
    scheduler that is not on loopback is refused rather than failing in every worker.

    >>> store_for_workers("sqlite:////srv/slabill.db", "tcp://127.0.0.1:8786")
    'sqlite:////srv/slabill.db'
    """
    if not store_url.startswith("sqlite"):
        return store_url
    name = store_url[len("sqlite:///"):].split("?", 1)[0] if store_url.startswith("sqlite:///") else ""
    if name in ("", ":memory:"):
        raise InputError("a SQLite database in memory cannot be shared with Dask workers; give --db a "
                         "PostgreSQL URL (or a SQLite file, with a scheduler on this machine)", field=field)
    if not is_loopback(address):
        raise InputError(f"the store is the SQLite file {name}, which workers on other machines cannot read; "
                         "give --db the PostgreSQL URL the workers reach, or use a scheduler on this machine "
                         "(tcp://127.0.0.1:PORT)", field=field)
    query = store_url[len("sqlite:///") + len(name):]
    return "sqlite:///" + os.path.abspath(name) + query


class Cluster:
    """A connection to a Dask scheduler, whose workers work a job's batches (``in_order``)."""

    def __init__(self, client: Any, address: str, patience: float = PATIENCE) -> None:
        self.client = client
        """the ``distributed.Client`` connected to the scheduler"""
        self.address = address
        self.patience = patience
        """seconds without any worker after which ``in_order`` gives up (``ClusterLost``)"""

    @classmethod
    def connect(cls, address: str, store_url: str | None = None, *, field: str = "--scheduler",
                timeout: float = CONNECT_TIMEOUT, patience: float = PATIENCE) -> "Cluster":
        """A connection to the scheduler at ``address``, for a store the workers can open.

        A store the workers cannot reach, or a scheduler that does not answer within
        ``timeout`` seconds, is bad input (``InputError`` naming ``field``), found before
        anything is asked of the store.
        """
        if store_url is not None:
            store_for_workers(store_url, address, field)
        from distributed import Client

        _quiet()
        try:
            client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, ValueError, TypeError) as problem:
            reason = str(problem).splitlines()[0].rstrip(".") if str(problem) else type(problem).__name__
            raise InputError(f"cannot reach the Dask scheduler at {address} ({reason})", field=field) from None
        return cls(client, address, patience)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def threads(self) -> int:
        """The worker threads the scheduler has now (0 when no worker is connected)."""
        return sum(self.client.nthreads().values())

    def in_order(self, job: Callable[[B, Any], R], batches: Sequence[B], *, store: Any = None,
                 prepare: Callable[[B], B] = lambda batch: batch, fail_fast: bool = False) -> Iterator[R]:
        """``job(prepare(batch), store)`` for each batch, on the cluster's workers, in the batches' order.

        As ``engine.processes.in_order``: ``prepare`` runs here just before its batch is
        handed out, and each worker opens the store for itself (``Store.opened`` of the URL).
        A batch whose job raises gives its exception here; with ``fail_fast`` the first to
        fail stops the others.
        """
        from distributed import CancelledError
        from distributed.scheduler import KilledWorker

        opening = (type(store), store_for_workers(store.url, self.address)) if store is not None else None
        run = f"slabill-{type(job).__name__}-{uuid.uuid4().hex[:12]}"
        ahead: deque = deque(enumerate(batches))
        in_flight: deque = deque()

        def hand_out() -> None:
            # A couple of batches per worker thread ahead of the coordinator: enough to keep
            # every worker busy while a batch is written, few enough to bound memory.
            try:
                room = max(2, 2 * self.threads())
            except Exception:  # the scheduler does not answer now: waiting for the head batch will tell
                room = 2
            while ahead and len(in_flight) < room:
                index, batch = ahead.popleft()
                in_flight.append(self.client.submit(_on_worker, job, prepare(batch), opening, key=f"{run}-{index}",
                                                    priority=-index, pure=False))

        try:
            hand_out()
            while in_flight:
                head = in_flight[0]
                self._wait_for(head, in_flight if fail_fast else (head,))
                if fail_fast:
                    failed = next((f for f in in_flight if f.status == "error"), None)
                    if failed is not None:
                        failed.result()
                result = head.result()
                in_flight.popleft()
                head.release()
                hand_out()
                yield result
        except (KilledWorker, CancelledError) as lost:
            raise ClusterLost(_why(lost, self.address)) from lost
        finally:
            for future in in_flight:
                future.cancel()

    def _wait_for(self, head: Any, watched: Sequence[Any]) -> None:
        """Wait until ``head`` is done or one of ``watched`` failed, as long as the cluster has
        workers to do it: ``ClusterLost`` after ``patience`` seconds without any."""
        from distributed import TimeoutError as NotYet
        from distributed import wait

        alone_since = None
        while not head.done() and not any(future.status == "error" for future in watched):
            try:
                with self.client.as_current():  # distributed.wait asks for "the current client"
                    wait([future for future in watched if not future.done()], timeout=POLL,
                         return_when="FIRST_COMPLETED")
                continue
            except NotYet:
                pass
            if self.client.status in ("closing", "closed"):
                raise ClusterLost(f"the connection to the Dask scheduler at {self.address} was closed")
            try:
                threads = self.threads()
            except Exception as problem:  # the scheduler does not answer: the cluster cannot finish
                raise ClusterLost(f"the Dask scheduler at {self.address} does not answer ({problem})") from None
            if threads:
                alone_since = None
                continue
            alone_since = alone_since or time.monotonic()
            if time.monotonic() - alone_since >= self.patience:
                raise ClusterLost(f"no Dask worker has been connected to the scheduler at {self.address} "
                                  f"for {self.patience:g} s")


def _why(lost: BaseException, address: str) -> str:
    from distributed.scheduler import KilledWorker

    if isinstance(lost, KilledWorker):
        return (f"every Dask worker that took batch {lost.task} died ({lost.allowed_failures + 1} of them); "
                "see the workers' logs")
    return f"the connection to the Dask scheduler at {address} was lost"


def _quiet() -> None:
    """Dask's own log lines (a worker lost, a reconnection) stay out of slabill's stderr, which says
    what happened in one sentence; the scheduler's and workers' logs keep them."""
    for name in ("distributed", "distributed.client", "distributed.worker", "distributed.scheduler"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _on_worker(job: Callable, batch: Any, opening: tuple[type, str] | None) -> Any:
    """A batch on a Dask worker: the worker's own store, opened once per process."""
    if opening is None:
        return job(batch, None)
    store_class, url = opening
    return job(batch, store_class.opened(url))
