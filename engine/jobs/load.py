"""``slabill load``: the files of a book of business brought into the store, all or nothing.

Every file is read and checked before anything is written: rule sets (and the rate
tables beside them), the contracts, then the measurements of a data folder, whose
payments and pauses may name invoices and tickets loaded earlier.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ..core.rulesets import RuleBook, check_partial_impacts
from ..loading.contracts import load_book
from ..loading.measurements import load_measurements
from ..loading.rates import load_rates
from ..loading.rulesets import load_rule_files, rule_set_files
from ..store import LoadReport, Store


def load_files(open_store: Callable[[], Store], contracts: Path, data: Path | None = None,
               rules: Path | None = None) -> LoadReport:
    """Read the files, then load them into the store in one transaction.

    The store is opened (``open_store``, which may create it) only once the rule sets and
    the contracts have been read: a book that fails to read leaves no database behind.
    """
    loaded = load_rule_files(rule_set_files(rules)) if rules is not None else []
    rates = load_rates(rules) if rules is not None else None
    book = load_book(contracts)
    store = open_store()
    measurements = (load_measurements(data, book, store.invoice_currencies(), store.known_tickets())
                    if data is not None else None)
    if measurements is not None and any(i.impact is not None for rows in measurements.incidents.values() for i in rows):
        known = {(r.rules.ruleset, r.rules.version) for r in loaded}
        stored = [r for r in store.rule_book().loaded if (r.rules.ruleset, r.rules.version) not in known]
        check_partial_impacts(RuleBook(loaded + stored), {c.id: c for c in book.contracts}, measurements)
    return store.load(book=book, rule_sets=loaded, measurements=measurements, rates=rates)
