"""``slabill load``: the files of a book of business brought into the store, all or nothing.

Every file is read and checked before anything is written: rule sets (and the rate
tables beside them), the contracts, then the measurements of a data folder, whose
payments and pauses may name invoices and tickets loaded earlier.

A load that fails leaves the store as it was; a load that was to create a new SQLite
file leaves no file at all, so that no command later finds an empty store and reports
on it as if it were a book.

A contract naming a rule set that neither the store nor this load holds is loaded all
the same, with a warning: its rule set may come in a later load, and one contract must
not keep a month of the book's measurements out.  The monthly run holds such a contract
(exit code 4, named on stderr) until its rule set is loaded.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

from ..core.rulesets import RuleBook, check_partial_impacts
from ..loading.contracts import load_book
from ..loading.measurements import load_measurements
from ..loading.rates import load_rates
from ..loading.rulesets import load_rule_files, rule_set_files
from ..store import LoadReport, Store, sqlite_file


@dataclass
class Loaded:
    """What a load did: rows read and added, and what the user should know about what was loaded."""

    report: LoadReport
    warnings: list[str] = field(default_factory=list)
    """one sentence each, naming file, line and field"""


def load_files(url: str, contracts: Path, data: Path | None = None, rules: Path | None = None) -> Loaded:
    """Read the files, then load them into the store at ``url`` in one transaction.

    The store is opened (and created, when it does not exist) only once the rule sets and
    the contracts have been read; if anything fails after that, a SQLite file this load
    created is removed again.
    """
    loaded = load_rule_files(rule_set_files(rules)) if rules is not None else []
    rates = load_rates(rules) if rules is not None else None
    book = load_book(contracts)
    new_file = sqlite_file(url)
    if new_file is not None and new_file.exists():
        new_file = None
    store = None
    try:
        store = Store(url)
        measurements = (load_measurements(data, book, store.invoice_currencies(), store.known_tickets())
                        if data is not None else None)
        if measurements is not None and any(i.impact is not None for rows in measurements.incidents.values()
                                            for i in rows):
            # A partial impact is refused under an objective that does not count exact downtime.
            known = {(r.rules.ruleset, r.rules.version) for r in loaded}
            stored = [r for r in store.rule_book().loaded if (r.rules.ruleset, r.rules.version) not in known]
            check_partial_impacts(RuleBook(loaded + stored), {c.id: c for c in book.contracts}, measurements)
        report = store.load(book=book, rule_sets=loaded, measurements=measurements, rates=rates)
        known = set(store.rule_book().ids())
    except BaseException:
        if new_file is not None:
            if store is not None:
                store.close()
            for path in (new_file, *(new_file.with_name(new_file.name + end) for end in ("-wal", "-shm", "-journal"))):
                path.unlink(missing_ok=True)
        raise
    warnings = []
    for position, contract in enumerate(book.contracts):
        if contract.ruleset not in known:
            close = difflib.get_close_matches(contract.ruleset, sorted(known), n=1)
            warning = book.document.error_at(
                ("contracts", position, "ruleset"),
                f"contract {contract.id} names the rule set {contract.ruleset!r}, which is not loaded; it was loaded "
                f"all the same, and runs hold it until that rule set is loaded",
                f"did you mean {close[0]}?" if close else None)
            warnings.append(str(warning))
    return Loaded(report, warnings)

