"""Reading YAML files so that every later error can name the file, line and key.

Plain Python data is built straight from PyYAML's parser events (for speed; a
100,000-contract book is almost five million events), with YAML numbers that have a
fraction turned into exact ``Decimal`` values (PyYAML would make floats of them).  The
line of every key and list item is worked out only when an error needs it, by
composing the file's nodes again.  A pydantic
validation error is then translated into one ``InputError`` at the right line, with a
"did you mean ...?" hint for a misspelt key.
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import yaml
from pydantic import ValidationError

from ..core.errors import InputError, KeyedValueError
from .collector import paused_gc

Path_ = tuple[str | int, ...]

_NO_KEY = object()  # a mapping waiting for its next key

# libyaml's parser when PyYAML was built with it (it nearly always is), else the pure-Python one.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_FLOAT = "tag:yaml.org,2002:float"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STR = "tag:yaml.org,2002:str"


@dataclass
class YamlDocument:
    """Plain data read from one YAML file; the line of every key and item is found when asked.

    The lines are only needed to report an error, so they are worked out then, by
    reading the text again: a large valid file never pays for them.
    """

    file: str
    data: Any
    text: str | None = field(default=None, repr=False)
    """the text, when it did not come from a file (a file is read again when lines are needed)"""
    _lines: dict[Path_, int] | None = field(default=None, repr=False)

    @property
    def lines(self) -> dict[Path_, int]:
        if self._lines is None:
            builder = _Builder(self.file, record_lines=True)
            text = self.text if self.text is not None else Path(self.file).read_text(encoding="utf-8")
            with paused_gc():
                node = yaml.compose(text, Loader=_LOADER)
                builder.build(node, ())
            builder.lines.setdefault((), node.start_mark.line + 1)
            self._lines = builder.lines
        return self._lines

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

    def __init__(self, file: str, record_lines: bool = False) -> None:
        self.file = file
        self.record_lines = record_lines
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
                if self.record_lines:
                    self.lines[path + (key,)] = key_node.start_mark.line + 1
                result[key] = self.build(value_node, path + (key,))
            return result
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                if self.record_lines:
                    self.lines[path + (index,)] = item.start_mark.line + 1
                items.append(self.build(item, path + (index,)))
            return items
        return self._scalar(node, path)

    def build_events(self, events: Iterable[yaml.Event], completed: Callable[[Path_, Any], Any] | None = None,
                     skipped: Callable[[Path_], bool] | None = None) -> Any:
        """Build the data of one document straight from the parser's events.

        Composing a node tree first costs about 1.5 GB for a 43 MB file (every node keeps
        two marks); events are dropped as soon as they are read.  Lines are not recorded
        here: ``YamlDocument.lines`` composes the tree only when an error needs them.
        ``completed(path, value)`` may replace each mapping or list as soon as it is
        complete (a contract validated at once frees its raw data at once).

        This loop runs for every event of a 100,000-contract book (almost five million),
        so it does its own dispatch: a quoted scalar is a string without asking the
        resolver, and a plain scalar's tag is looked up once per distinct short text.
        ``events`` is best libyaml's own (``iter(loader.get_event, None)``): a generator
        in between cost 2.7 s of a 100,000-contract book.  A second document is refused.

        A mapping for which ``skipped(path)`` is true is read past without being built:
        only its ``id`` (as written) is kept, and ``completed`` gets ``{"id": ...}``.
        """
        resolver = yaml.resolver.Resolver()
        resolved: dict[str, str] = {}
        anchors: dict[str, Any] = {}
        stack: list[list] = []  # [container, pending key, path], the innermost last
        result: Any = None
        no_key = _NO_KEY
        scalar_event, mapping_start, sequence_start = yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent
        ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
        intern = sys.intern
        documents = 0

        def place(value: Any, mark: yaml.Mark, anchor: str | None) -> None:
            nonlocal result
            if anchor:
                anchors[anchor] = value
            if not stack:
                result = value
                return
            top = stack[-1]
            container = top[0]
            if type(container) is list:
                container.append(value)
            elif top[1] is no_key:
                if isinstance(value, (dict, list, Decimal)):
                    value = str(value)
                if value in container:
                    raise self._error(mark, f"the key {value!r} appears twice", top[2] + (value,))
                top[1] = value
            else:
                container[top[1]] = value
                top[1] = no_key

        for event in events:
            kind = type(event)
            if kind is scalar_event:
                text, tag = event.value, event.tag
                if tag is None:
                    if not event.implicit[0]:  # quoted or block text: always a string
                        tag = _STR
                    elif len(text) <= 32:
                        tag = resolved.get(text)
                        if tag is None:
                            tag = resolved[text] = resolver.resolve(yaml.ScalarNode, text, (True, False))
                    else:
                        tag = resolver.resolve(yaml.ScalarNode, text, event.implicit)
                elif tag == "!":
                    tag = resolver.resolve(yaml.ScalarNode, text, event.implicit)
                if tag == _STR:
                    value = intern(text) if len(text) <= 32 else text
                elif tag == "tag:yaml.org,2002:merge":
                    raise self._error(event.start_mark, "merge keys (<<) are not supported in slabill files")
                else:
                    value = self._scalar(yaml.ScalarNode(tag, text, event.start_mark, event.end_mark, event.style),
                                         stack[-1][2] if stack else ())
                if stack and not event.anchor:
                    # the common case of place(), inline
                    top = stack[-1]
                    container = top[0]
                    if type(container) is list:
                        container.append(value)
                    elif top[1] is no_key and type(value) is str:
                        if value in container:
                            raise self._error(event.start_mark, f"the key {value!r} appears twice", top[2] + (value,))
                        top[1] = value
                    elif top[1] is no_key:
                        place(value, event.start_mark, None)
                    else:
                        container[top[1]] = value
                        top[1] = no_key
                else:
                    place(value, event.start_mark, event.anchor)
            elif kind is mapping_start or kind is sequence_start:
                container: Any = {} if kind is mapping_start else []
                path: Path_ = ()
                if stack:
                    parent, key, path = stack[-1]
                    path = path + ((len(parent),) if type(parent) is list else (key,))
                if skipped is not None and kind is mapping_start and skipped(path):
                    value = _identity_only(events, event)
                    place(completed(path, value) if completed is not None else value, event.start_mark, None)
                    continue
                place(container, event.start_mark, event.anchor)
                stack.append([container, no_key, path])
            elif kind in ends:
                container, _, path = stack.pop()
                if completed is not None:
                    replacement = completed(path, container)
                    if replacement is not container:
                        if stack:
                            stack[-1][0][path[-1]] = replacement
                        else:
                            result = replacement
            elif kind is yaml.AliasEvent:
                if event.anchor not in anchors:
                    raise self._error(event.start_mark, f"unknown alias *{event.anchor}")
                place(anchors[event.anchor], event.start_mark, None)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise InputError("the file must hold exactly one YAML document", file=self.file,
                                     line=event.start_mark.line + 1)
            elif kind is yaml.StreamEndEvent:
                break
        if documents == 0:
            raise InputError("the file must hold exactly one YAML document", file=self.file)
        return result

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
            # Short texts repeat across a book (currencies, zones, locales, service ids):
            # one shared object each keeps 100,000 contracts in a few dozen MB less.
            return sys.intern(node.value) if len(node.value) <= 32 else node.value
        raise self._error(node, f"the YAML tag {node.tag} is not supported", path)

    def _error(self, where: "yaml.Node | yaml.Mark", message: str, path: Path_ = ()) -> InputError:
        mark = where.start_mark if isinstance(where, yaml.Node) else where
        return InputError(message, file=self.file, line=mark.line + 1, field=dotted(path) or None)


class NotSkippable(Exception):
    """A mapping to be read past holds an anchor or an alias: it must be built after all."""


def _identity_only(events: Iterator[yaml.Event], start: yaml.MappingStartEvent) -> dict:
    """Read past one mapping, keeping only the text of its own ``id`` key, if it has one."""
    if start.anchor:
        raise NotSkippable
    depth, nodes, wanted, identity = 1, 0, False, None
    scalar_event, starts = yaml.ScalarEvent, (yaml.MappingStartEvent, yaml.SequenceStartEvent)
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    for event in events:
        kind = type(event)
        if kind is scalar_event:
            if event.anchor:
                raise NotSkippable
            if depth == 1:  # the mapping's own keys and values alternate
                if nodes % 2 == 0:
                    wanted = event.value == "id"
                elif wanted:
                    identity, wanted = event.value, False
                nodes += 1
        elif kind in starts:
            if event.anchor:
                raise NotSkippable
            nodes += depth == 1
            depth += 1
        elif kind in ends:
            depth -= 1
            if depth == 0:
                return {} if identity is None else {"id": identity}
        elif kind is yaml.AliasEvent:
            raise NotSkippable
    return {}


def read_yaml(path: str | Path, completed: Callable[[Path_, Any], Any] | None = None,
              skipped: Callable[[Path_], bool] | None = None) -> YamlDocument:
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
    document = parse_yaml(text, name, completed, skipped)
    document.text = None  # a large file is not kept in memory; it is read again if an error needs a line
    return document


def parse_yaml(text: str, name: str, completed: Callable[[Path_, Any], Any] | None = None,
               skipped: Callable[[Path_], bool] | None = None) -> YamlDocument:
    """Like ``read_yaml`` for text already in memory."""
    builder = _Builder(name)
    loader = _LOADER(text)
    try:
        with paused_gc():
            data = builder.build_events(iter(loader.get_event, None), completed, skipped)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "malformed YAML").strip()
        raise InputError(f"malformed YAML: {problem}", file=name,
                         line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {exc}", file=name) from None
    finally:
        loader.dispose()
    return YamlDocument(name, data, text)


def _strip_prefix(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def translate(doc: YamlDocument, error: ValidationError, vocabulary: Iterable[str],
              prefix: Path_ = ()) -> InputError:
    """The first problem pydantic found, said once, at its line, with a hint for typos.

    ``vocabulary`` holds every key the schema knows, so a misspelt key gets a
    suggestion wherever it stands.
    """
    first = error.errors(include_url=False)[0]
    loc = prefix + tuple(part for part in first["loc"] if isinstance(part, (str, int)))
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
