"""``slabill load``: the files of a book of business brought into the store, all or nothing.

Rule sets (and the rate tables beside them) are read and checked first; then the
contracts and the measurements of a data folder are streamed: read, checked and written a
chunk at a time, all in one transaction, so that a bad row anywhere still leaves nothing
written.  Payments and pauses may name invoices and tickets loaded earlier.

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

from ..core.rulesets import RuleBook
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
    """Read the files and load them into the store at ``url`` in one transaction.

    The book is streamed: each contract and each chunk of measurement rows is checked and
    written as it is read (see ``Store.load_streamed``), so the memory a load needs grows
    with the number of contracts, not with the measurement rows.  If anything fails, the
    transaction is rolled back, and a SQLite file this load created is removed again.
    """
    loaded = load_rule_files(rule_set_files(rules)) if rules is not None else []
    rates = load_rates(rules) if rules is not None else None
    new_file = sqlite_file(url)
    if new_file is not None and new_file.exists():
        new_file = None
    store = None
    unknown: list[tuple[int, str, str]] = []  # contracts naming a rule set neither stored nor loaded
    try:
        store = Store(url)
        stored_rules = store.rule_book()
        known = set(stored_rules.ids()) | {item.rules.ruleset for item in loaded}

        def rule_book() -> RuleBook:
            # A partial impact is refused under an objective that does not count exact downtime.
            names = {(r.rules.ruleset, r.rules.version) for r in loaded}
            return RuleBook(loaded + [r for r in stored_rules.loaded if (r.rules.ruleset, r.rules.version) not in names])

        def contract_read(position: int, contract) -> None:
            if contract.ruleset not in known:
                unknown.append((position, contract.id, contract.ruleset))

        report, index = store.load_streamed(contracts=Path(contracts), data=Path(data) if data is not None else None,
                                            rule_sets=loaded, rates=rates, rules=_Lazy(rule_book),
                                            contract_read=contract_read)
    except BaseException:
        if new_file is not None:
            if store is not None:
                store.close()
            for path in (new_file, *(new_file.with_name(new_file.name + end) for end in ("-wal", "-shm", "-journal"))):
                path.unlink(missing_ok=True)
        raise
    warnings = []
    for position, contract_id, ruleset in unknown:
        close = difflib.get_close_matches(ruleset, sorted(known), n=1)
        warning = index.document.error_at(
            ("contracts", position, "ruleset"),
            f"contract {contract_id} names the rule set {ruleset!r}, which is not loaded; it was loaded "
            f"all the same, and runs hold it until that rule set is loaded",
            f"did you mean {close[0]}?" if close else None)
        warnings.append(str(warning))
    return Loaded(report, warnings)


class _Lazy:
    """A rule book built the first time it is asked for (only a partial impact asks)."""

    def __init__(self, build) -> None:
        self._build = build
        self._book: RuleBook | None = None

    def versions(self, ruleset: str):
        if self._book is None:
            self._book = self._build()
        return self._book.versions(ruleset)
