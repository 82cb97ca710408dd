"""The store: the book of business, measurements, runs, evaluation records and documents.

All of slabill's SQL lives in this package, one module per job:

* ``database``: the engine, sessions and migrations (SQLite by default, PostgreSQL too);
* ``loading``: files brought into the store in one transaction;
* ``reading``: stored rows validated back into the core's values;
* ``ledger``: the monthly run's issuing transaction, gap-free numbers and the audit chain;
* ``delivery``: the delivery log: what is to be sent, which run sends it, every attempt.

``Store`` joins them: one object per database.
"""

import os

from .database import Database, ImmutableRecordError, StoreError, database_url, schema_head, sqlite_file
from .delivery import Claim, Delivering, DeliveryState, Lease, LeaseLost, Reconciled, Settlement
from .ledger import FINISHED, Issuing, Latest, Ledger, SequenceError
from .loading import Loading, LoadReport
from .reading import Reading, StoredContract


class Store(Database, Loading, Reading, Issuing, Delivering):
    """A slabill database: open it once, then load, read and issue through it."""

    _opened: dict[str, tuple[int, "Store"]] = {}
    """the store each process opened for itself, by URL, with the process it belongs to"""

    @classmethod
    def opened(cls, url: str) -> "Store":
        """This process's own store at ``url``, opened on first use (a worker process's connection)."""
        known = cls._opened.get(url)
        if known is None or known[0] != os.getpid():
            known = cls._opened[url] = (os.getpid(), cls(url, upgrade=False))
        return known[1]


__all__ = ["FINISHED", "Claim", "DeliveryState", "ImmutableRecordError", "Latest", "Lease", "LeaseLost", "Ledger",
           "LoadReport", "Reconciled", "SequenceError", "Settlement", "Store", "StoreError", "StoredContract",
           "database_url", "schema_head", "sqlite_file"]
