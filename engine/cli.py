"""The ``slabill`` command line: parse, call the library once, print.

Every command turns a ``SlabillError`` into one sentence on stderr and exit code 2;
nothing is printed on stdout before the whole result exists.
"""

from __future__ import annotations

import io
import json
import sys
from enum import Enum
from functools import wraps
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from .errors import SlabillError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="SLA penalty and service-credit billing: measured breaches in, credit notes out.")
rules_app = typer.Typer(no_args_is_help=True, help="Validate rule sets and print their schema.")
app.add_typer(rules_app, name="rules")

err = Console(stderr=True, highlight=False, soft_wrap=True)


class Format(str, Enum):
    json = "json"
    table = "table"


def reports_errors(command):
    """Say a SlabillError in one sentence on stderr and exit 2."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SlabillError as exc:
            err.print(f"slabill: {exc}", markup=False)
            raise typer.Exit(2) from None

    return wrapper


@app.command()
@reports_errors
def evaluate(
    rules: Path = typer.Option(..., "--rules", help="a rule-set file, or a folder of *.yaml rule sets"),
    contracts: Path = typer.Option(..., "--contracts", help="contracts.yaml"),
    data: Path = typer.Option(..., "--data", help="folder of measurement CSV files"),
    period: str = typer.Option(..., "--period", help="the month to evaluate, YYYY-MM"),
    contract: Optional[str] = typer.Option(None, "--contract", help="evaluate only this contract"),
    format: Format = typer.Option(Format.json, "--format", help="json for scripts, table for people"),
) -> None:
    """Evaluate a month statelessly and print the result; writes nothing."""
    from .book import load_book, load_measurements
    from .evaluation import evaluate_book
    from .period import Period
    from .results import render_table, write_json
    from .rulesets import load_rule_sets

    month = Period.parse(period)
    rule_book = load_rule_sets(rules)
    book = load_book(contracts)
    measurements = load_measurements(data, book)
    evaluations = list(evaluate_book(rule_book, book, measurements, month, contract))
    if format is Format.table:
        render_table(str(month), evaluations, Console())
        return
    buffer = io.StringIO()
    write_json(str(month), evaluations, buffer)
    sys.stdout.write(buffer.getvalue())


@rules_app.command("check")
@reports_errors
def rules_check(
    files: list[Path] = typer.Argument(..., help="rule-set files or folders"),
    strict: bool = typer.Option(False, "--strict", help="exit 1 when a tier overlaps or leaves a gap"),
) -> None:
    """Validate rule sets; report tiers that overlap or leave a gap, per objective."""
    from .rulesets import RuleBook, check_tiers, load_rule_files, rule_set_files

    paths = [p for f in files for p in rule_set_files(f)]
    loaded = load_rule_files(paths)
    RuleBook(loaded)
    findings = 0
    console = Console(highlight=False, soft_wrap=True)
    for item in loaded:
        rule_set = item.rules
        problems = [(o, f) for o in rule_set.objectives for f in check_tiers(o)]
        status = "ok" if not problems else f"{len(problems)} finding(s)"
        console.print(f"{item.file}: {rule_set.ruleset} {rule_set.version} "
                      f"(sha256 {rule_set.sha256[:12]}): {status}", markup=False)
        for objective, finding in problems:
            line = item.document.line_of(("objectives", rule_set.objectives.index(objective), "credit", "tiers"))
            console.print(f"  {item.file}, line {line}, objective {objective.id}: {finding.message}", markup=False)
        findings += len(problems)
    if findings and strict:
        raise typer.Exit(1)


@rules_app.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of rule-set files, for editors."""
    from .schema import RuleSet

    schema = RuleSet.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "slabill rule set"
    sys.stdout.write(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
