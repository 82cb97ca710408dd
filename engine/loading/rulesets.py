"""Reading rule-set files (INTERFACE.md section 1) into validated rule sets.

``load_rule_sets`` reads ``*.yaml`` files (directly in a folder, not its subfolders),
validates each against the schema, and gathers them in a ``RuleBook``, which refuses
two versions of one rule set that apply on the same day.  Every error names the file,
line and key.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from ..core.errors import InputError
from ..core.rulesets import LoadedRuleSet, RuleBook
from ..core.schema import RuleSet
from .yamlsource import YamlDocument, read_yaml, translate


def parse_rule_set(doc: YamlDocument) -> RuleSet:
    """Validate one YAML document as a rule set."""
    if not isinstance(doc.data, dict):
        raise InputError("a rule set is a mapping of keys (ruleset, version, objectives, ...)",
                         file=doc.file, line=doc.line_of(()))
    try:
        return RuleSet.model_validate(doc.data)
    except ValidationError as exc:
        raise translate(doc, exc, RuleSet.vocabulary()) from None


def rule_set_files(path: str | Path) -> list[Path]:
    """The rule files named by ``--rules``: a file, or the ``*.yaml`` directly in a folder."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.glob("*.yaml") if p.is_file())
        if not files:
            raise InputError("the folder holds no *.yaml rule set", file=str(path))
        return files
    if not path.exists():
        raise InputError("no such file or folder", file=str(path))
    return [path]


def load_rule_files(paths: list[Path]) -> list[LoadedRuleSet]:
    """Read and validate each file, stopping at the first broken one."""
    loaded = []
    for file in paths:
        doc = read_yaml(file)
        loaded.append(LoadedRuleSet(parse_rule_set(doc), str(file), doc.line_of))
    return loaded


def load_rule_sets(path: str | Path) -> RuleBook:
    """Read ``--rules DIR|FILE`` into a ``RuleBook``."""
    return RuleBook(load_rule_files(rule_set_files(path)))
