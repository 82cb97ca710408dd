"""Reading reference-rate tables from files (INTERFACE.md section 1, "Reference-rate tables").

Each table is read from ``rates/`` beside the rule files given when that folder holds
it, else from the shipped ``rules/rates/``: table by table, so a user folder that only
extends the ECB table still gets the shipped legal-rate and Bank Rate tables.  A table
is taken whole from one place; values are never mixed across two files of one table.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ..core.errors import InputError
from ..core.rates import RateBook, RateTable
from .yamlsource import read_yaml, translate

SHIPPED = Path(__file__).resolve().parent.parent.parent / "rules" / "rates"


def read_rate_table(path: Path) -> RateTable:
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputError("a rate table is a mapping with rate_table, unit and values", file=str(path), line=1)
    try:
        table = RateTable.model_validate(doc.data)
    except ValidationError as exc:
        raise translate(doc, exc, {"rate_table", "unit", "values", "from", "rate", "confirmed_until"}) from None
    if table.rate_table != path.stem:
        raise doc.error_at(("rate_table",), f"the table is named {table.rate_table!r} but its file is {path.name}")
    return table


def load_rates(rules: Path | None = None) -> RateBook:
    """Each table from ``rates/`` beside the rule files (a folder, or a file's folder) when that folder
    has it, else the shipped one."""
    folders = [SHIPPED]
    if rules is not None:
        beside = (rules if rules.is_dir() else rules.parent) / "rates"
        if beside.is_dir() and beside.resolve() != SHIPPED:
            folders.append(beside)
    chosen: dict[str, Path] = {}
    for folder in folders:
        # The user's folder comes last, so its file of a table replaces the shipped one.
        for path in sorted(folder.glob("*.yaml")):
            chosen[path.stem] = path
    tables = {name: read_rate_table(path) for name, path in sorted(chosen.items())}
    return RateBook(tables, " or ".join(str(folder) for folder in reversed(folders)))
