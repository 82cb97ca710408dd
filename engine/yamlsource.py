"""Reading YAML files so that every later error can name the file, line and key.

PyYAML composes the file into nodes; we build plain Python data from them while
remembering the line of every key and list item, and we turn YAML numbers with a
fraction into exact ``Decimal`` values (PyYAML would make floats of them).  A pydantic
validation error is then translated into one ``InputError`` at the right line, with a
"did you mean ...?" hint for a misspelt key.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Iterable

import yaml
from pydantic import ValidationError

from .errors import InputError

Path_ = tuple[str | int, ...]

_FLOAT = "tag:yaml.org,2002:float"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STR = "tag:yaml.org,2002:str"


@dataclass
class YamlDocument:
    """Plain data read from one YAML file, with the line of every key and item."""

    file: str
    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Iterable[str | int]) -> int | None:
        """The line of the deepest part of ``path`` that the file contains."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)

    def error_at(self, path: Iterable[str | int], message: str, hint: str | None = None) -> InputError:
        path = tuple(path)
        return InputError(message, file=self.file, line=self.line_of(path),
                          field=dotted(path) or None, hint=hint)


def dotted(path: Iterable[str | int]) -> str:
    """A path as a user reads it.

    >>> dotted(("objectives", 0, "credit", "tiers", 2, "below"))
    'objectives[0].credit.tiers[2].below'
    """
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


class _Builder:
    """Turns composed YAML nodes into data, recording lines as it goes."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[Path_, int] = {}
        self._scalars = yaml.constructor.SafeConstructor()

    def build(self, node: yaml.Node, path: Path_) -> Any:
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise self._error(key_node, "merge keys (<<) are not supported in slabill files")
                key = self.build(key_node, path)
                if isinstance(key, Decimal) or not isinstance(key, (str, int)):
                    key = str(key_node.value)
                if key in result:
                    raise self._error(key_node, f"the key {key!r} appears twice", path + (key,))
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.lines[path + (index,)] = item.start_mark.line + 1
                items.append(self.build(item, path + (index,)))
            return items
        return self._scalar(node, path)

    def _scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        if node.tag == _FLOAT:
            text = node.value.replace("_", "")
            try:
                value = Decimal(text)
            except InvalidOperation:
                raise self._error(node, f"{node.value!r} is not an exact number", path) from None
            if not value.is_finite():
                raise self._error(node, f"{node.value!r} is not a finite number", path)
            return value
        if node.tag == _INT:
            return self._scalars.construct_yaml_int(node)
        if node.tag == _BOOL:
            return self._scalars.construct_yaml_bool(node)
        if node.tag == _NULL:
            return None
        if node.tag == _TIMESTAMP:
            return self._scalars.construct_yaml_timestamp(node)
        if node.tag == _STR:
            return node.value
        raise self._error(node, f"the YAML tag {node.tag} is not supported", path)

    def _error(self, node: yaml.Node, message: str, path: Path_ = ()) -> InputError:
        return InputError(message, file=self.file, line=node.start_mark.line + 1,
                          field=dotted(path) or None)


def read_yaml(path: str | Path) -> YamlDocument:
    """Read one YAML file into a ``YamlDocument``; unreadable or malformed files raise ``InputError``."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("the file does not exist", file=name) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"the file is not UTF-8 ({exc.reason})", file=name) from None
    except OSError as exc:
        raise InputError(f"the file cannot be read ({exc.strerror})", file=name) from None
    return parse_yaml(text, name)


def parse_yaml(text: str, name: str) -> YamlDocument:
    """Like ``read_yaml`` for text already in memory."""
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "malformed YAML").strip()
        raise InputError(f"malformed YAML: {problem}", file=name,
                         line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}", file=name) from None
    if len(nodes) != 1 or nodes[0] is None:
        raise InputError("the file must hold exactly one YAML document", file=name)
    builder = _Builder(name)
    data = builder.build(nodes[0], ())
    builder.lines.setdefault((), nodes[0].start_mark.line + 1)
    return YamlDocument(name, data, builder.lines)


def _strip_prefix(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def translate(doc: YamlDocument, error: ValidationError, vocabulary: Iterable[str]) -> InputError:
    """The first problem pydantic found, said once, at its line, with a hint for typos.

    ``vocabulary`` holds every key the schema knows, so a misspelt key gets a
    suggestion wherever it stands.
    """
    first = error.errors(include_url=False)[0]
    loc = tuple(part for part in first["loc"] if isinstance(part, (str, int)))
    kind = first["type"]
    ctx = first.get("ctx") or {}
    cause = ctx.get("error")
    if isinstance(cause, KeyedValueError):
        loc = loc + cause.keys
        return doc.error_at(loc, str(cause), cause.hint)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        close = difflib.get_close_matches(key, sorted(set(vocabulary)), n=1, cutoff=0.6)
        return doc.error_at(loc, f"unknown key {key!r}", f"did you mean {close[0]}?" if close else None)
    if kind == "missing":
        return doc.error_at(loc, f"the key {loc[-1]!r} is required")
    if kind in ("literal_error", "enum"):
        expected = ctx.get("expected", "")
        given = first.get("input")
        choices = [c.strip().strip("'") for c in str(expected).replace(" or ", ",").split(",") if c.strip()]
        close = difflib.get_close_matches(str(given), choices, n=1, cutoff=0.5)
        return doc.error_at(loc, f"{given!r} is not one of {expected}",
                            f"did you mean {close[0]}?" if close else None)
    return doc.error_at(loc, _strip_prefix(first["msg"]))


class KeyedValueError(ValueError):
    """A validation problem that belongs to a key below the model that found it.

    Model validators raise it so that the error points at the exact key (and line),
    not at the whole block.
    """

    def __init__(self, keys: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.keys = keys
        self.hint = hint
