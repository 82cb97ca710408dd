"""Reading YAML files so that every later error can name the file, line and key.

Plain Python data is built straight from PyYAML's parser events (for speed; a
100,000-contract book is almost five million events), with YAML numbers that have a
fraction turned into exact ``Decimal`` values (PyYAML would make floats of them).  The
line of every key and list item is worked out only when an error needs it, by
composing the file's nodes again.  A pydantic
validation error is then translated into one ``InputError`` at the right line, with a
"did you mean ...?" hint for a misspelt key.

What a plain value means is YAML 1.2's core schema, not PyYAML's YAML 1.1: ``true`` and
``false`` are the only booleans, a number is written in decimal digits (``12``, ``-3``,
``99.9``), and everything else is text, so that what INTERFACE.md writes bare keeps the
type it documents: ``day_count: 30_360`` is the word 30_360, not the number 30360;
``holidays: NO`` is Norway, not false; ``version: 1:30`` is not 90.  Plain dates
(``2026-01-01``) are dates, as the rule files write them.

The files come from users, so the reader refuses what only an attacker or an accident
writes: every YAML tag (``!!python/object/apply:...`` on a mapping is as refused as
``!!str`` on a text), nesting deeper than ``MAX_DEPTH``, an alias inside what it names,
and aliases that would expand the file many times over (an "alias bomb" of a few hundred
bytes that PyYAML would blow up into gigabytes).
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import yaml
from pydantic import ValidationError

from ..core.errors import InputError, KeyedValueError
from .collector import paused_gc
from .encoding import not_utf8

Path_ = tuple[str | int, ...]

_NO_KEY = object()  # a mapping waiting for its next key

_FLOAT = "tag:yaml.org,2002:float"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_STR = "tag:yaml.org,2002:str"
_MERGE = "tag:yaml.org,2002:merge"

MAX_DEPTH = 32
"""mappings and lists nest at most this deep (a rule set needs six levels)"""
ALIAS_FACTOR = 10
ALIAS_ALLOWANCE = 100_000
"""aliases may add at most ALIAS_FACTOR times the file's size plus this many characters"""


class _CoreResolver(yaml.resolver.BaseResolver):
    """Plain values as YAML 1.2's core schema reads them, with plain dates as dates.

    Only what reads as one thing in every YAML version gets a type of its own: a decimal
    number with at most one point (no ``1_000``, no ``1:30``, no ``0x1F``, no ``010``, no
    exponent), ``true``/``false``, ``null``/``~``/nothing, and dates.  The rest is text,
    and the fields that want a number read the text exactly.  ``.inf`` and ``.nan`` are
    recognised only to be refused at their key.
    """


for _tag, _pattern, _first in (
    (_BOOL, r"(?:true|True|TRUE|false|False|FALSE)", "tTfF"),
    (_INT, r"[-+]?(?:0|[1-9][0-9]*)", "-+0123456789"),
    (_FLOAT, r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)", "-+0123456789."),
    (_NULL, r"(?:~|null|Null|NULL|)", ["~", "n", "N", ""]),
    (_TIMESTAMP, r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
                 r"(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?", "0123456789"),
    (_MERGE, r"<<", "<"),  # recognised to be refused with a message of its own
):
    _CoreResolver.add_implicit_resolver(_tag, re.compile(f"^(?:{_pattern})$"), list(_first))

if yaml.__with_libyaml__:  # libyaml's parser when PyYAML was built with it (it nearly always is)
    class _Loader(yaml.cyaml.CParser, yaml.constructor.SafeConstructor, _CoreResolver):
        def __init__(self, stream) -> None:
            yaml.cyaml.CParser.__init__(self, stream)
            yaml.constructor.SafeConstructor.__init__(self)
            _CoreResolver.__init__(self)
else:  # pragma: no cover - the pure-Python parser
    class _Loader(yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser,  # type: ignore[no-redef]
                  yaml.composer.Composer, yaml.constructor.SafeConstructor, _CoreResolver):
        def __init__(self, stream) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            _CoreResolver.__init__(self)


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
                node = yaml.compose(text, Loader=_Loader)
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
        """Data from composed nodes (only for a file that ``build_events`` read whole already)."""
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:
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
        try:
            return self._scalar(node)
        except _BadScalar as bad:
            raise self._error(node, str(bad), path) from None

    def build_events(self, events: Iterable[yaml.Event], completed: Callable[[Path_, Any], Any] | None = None,
                     skipped: Callable[[Path_], bool] | None = None, size: int = 0) -> Any:
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

        An alias is the very object its anchor names, so aliases cost no memory here; but
        whatever reads the data afterwards walks every alias as a copy.  So each anchor's
        *weight* is measured (the characters of its text, plus the weight of the aliases
        inside it), every alias adds its anchor's weight, and the whole may not pass
        ``ALIAS_FACTOR`` times ``size`` (the file's length) plus ``ALIAS_ALLOWANCE``.
        Only anchors and aliases pay for this; the rest of the loop is untouched.

        A mapping for which ``skipped(path)`` is true is read past without being built:
        only its ``id`` (as written) is kept, and ``completed`` gets ``{"id": ...}``.
        """
        resolver = _CoreResolver()
        resolved: dict[str, str] = {}
        anchors: dict[str, Any] = {}
        weights: dict[str, int] = {}  # each anchor's weight, once its node is complete
        budget = ALIAS_FACTOR * size + ALIAS_ALLOWANCE
        expanded = 0  # the weight every alias read so far adds
        stack: list[list] = []  # [container, pending key, path, anchor or None], the innermost last
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
                if tag is not None:
                    raise self._error(event.start_mark, _tag_refused(tag), _here(stack))
                if not event.implicit[0]:  # quoted or block text: always a string
                    tag = _STR
                elif len(text) <= 32:
                    tag = resolved.get(text)
                    if tag is None:
                        if len(resolved) >= 20_000:
                            # Keys and words repeat; ids, names and e-mail addresses do not, and
                            # kept, they would cost 400 bytes a contract of a streamed book.
                            resolved.clear()
                        tag = resolved[text] = resolver.resolve(yaml.ScalarNode, text, (True, False))
                else:
                    tag = resolver.resolve(yaml.ScalarNode, text, event.implicit)
                if tag == _STR:
                    value = intern(text) if len(text) <= 32 else text
                elif tag == _MERGE:
                    raise self._error(event.start_mark, "merge keys (<<) are not supported in slabill files")
                else:
                    try:
                        value = self._scalar(yaml.ScalarNode(tag, text, event.start_mark, event.end_mark, event.style))
                    except _BadScalar as bad:
                        raise self._error(event.start_mark, str(bad), _here(stack)) from None
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
                    if event.anchor:
                        weights[event.anchor] = event.end_mark.index - event.start_mark.index
                    place(value, event.start_mark, event.anchor)
            elif kind is mapping_start or kind is sequence_start:
                if event.tag is not None:
                    raise self._error(event.start_mark, _tag_refused(event.tag), _here(stack))
                container: Any = {} if kind is mapping_start else []
                path: Path_ = ()
                if stack:
                    if len(stack) >= MAX_DEPTH:
                        raise self._error(event.start_mark, f"mappings and lists nest more than {MAX_DEPTH} deep here",
                                          _here(stack))
                    parent, key, path = stack[-1][:3]
                    path = path + ((len(parent),) if type(parent) is list else (key,))
                if skipped is not None and kind is mapping_start and skipped(path):
                    value = _identity_only(events, event)
                    place(completed(path, value) if completed is not None else value, event.start_mark, None)
                    continue
                anchor = event.anchor
                place(container, event.start_mark, anchor)
                if anchor:
                    # Its weight so far: where it starts, and what aliases weighed before it.
                    weights.pop(anchor, None)
                    stack.append([container, no_key, path, (anchor, event.start_mark.index, expanded)])
                else:
                    stack.append([container, no_key, path, None])
            elif kind in ends:
                container, _, path, anchored = stack.pop()
                if anchored is not None:
                    anchor, start, before = anchored
                    weights[anchor] = event.end_mark.index - start + expanded - before
                if completed is not None:
                    replacement = completed(path, container)
                    if replacement is not container:
                        if stack:
                            stack[-1][0][path[-1]] = replacement
                        else:
                            result = replacement
            elif kind is yaml.AliasEvent:
                anchor = event.anchor
                if anchor not in anchors:
                    raise self._error(event.start_mark, f"unknown alias *{anchor}", _here(stack))
                if anchor not in weights:  # named by a mapping or list not yet complete: the alias is inside it
                    raise self._error(event.start_mark, f"the alias *{anchor} stands inside what it names, "
                                      "which would never end", _here(stack))
                expanded += weights[anchor]
                if expanded > budget:
                    raise self._error(event.start_mark, f"the aliases expand the file to more than {ALIAS_FACTOR} "
                                      "times its size; write the values out, or use fewer aliases", _here(stack))
                place(anchors[anchor], event.start_mark, None)
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

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        """A plain value of the type its tag says; a value that cannot be one raises ``_BadScalar``."""
        if node.tag == _FLOAT:
            if node.value.lstrip("+-").startswith(".") and node.value[-1].isalpha():  # .inf, -.Inf, .nan
                raise _BadScalar(f"{node.value!r} is not a finite number; write a number such as 100")
            try:
                return Decimal(node.value)
            except InvalidOperation:
                raise _BadScalar(f"{node.value!r} is not an exact number") from None
        if node.tag == _INT:
            return int(node.value)
        if node.tag == _BOOL:
            return node.value in ("true", "True", "TRUE")
        if node.tag == _NULL:
            return None
        if node.tag == _TIMESTAMP:
            try:
                return self._scalars.construct_yaml_timestamp(node)
            except (ValueError, OverflowError) as exc:
                raise _BadScalar(f"{node.value!r} is not a date that exists ({exc})") from None
        if node.tag == _STR:
            # Short texts repeat across a book (currencies, zones, locales, service ids):
            # one shared object each keeps 100,000 contracts in a few dozen MB less.
            return sys.intern(node.value) if len(node.value) <= 32 else node.value
        raise _BadScalar(_tag_refused(node.tag))

    def _error(self, where: "yaml.Node | yaml.Mark", message: str, path: Path_ = ()) -> InputError:
        mark = where.start_mark if isinstance(where, yaml.Node) else where
        return InputError(message, file=self.file, line=mark.line + 1, field=dotted(path) or None)


class _BadScalar(ValueError):
    """A plain value that cannot be what it reads as (a 30 February, an infinite number)."""


def _here(stack: list[list]) -> Path_:
    """The path of the node about to be placed: the pending key of a mapping, the next index of a list."""
    if not stack:
        return ()
    container, key, path = stack[-1][:3]
    if type(container) is list:
        return path + (len(container),)
    return path if key is _NO_KEY else path + (key,)


def _tag_refused(tag: str) -> str:
    shown = tag.replace("tag:yaml.org,2002:", "!!")
    return f"YAML tags such as {shown} are not read in slabill files; write the plain value"


class NotSkippable(Exception):
    """A mapping to be read past holds an anchor, an alias or a tag: it must be built after all."""


def _identity_only(events: Iterator[yaml.Event], start: yaml.MappingStartEvent) -> dict:
    """Read past one mapping, keeping only the text of its own ``id`` key, if it has one."""
    if start.anchor or start.tag is not None:
        raise NotSkippable
    depth, nodes, wanted, identity = 1, 0, False, None
    scalar_event, starts = yaml.ScalarEvent, (yaml.MappingStartEvent, yaml.SequenceStartEvent)
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    for event in events:
        kind = type(event)
        if kind is scalar_event:
            if event.anchor or event.tag is not None:
                raise NotSkippable
            if depth == 1:  # the mapping's own keys and values alternate
                if nodes % 2 == 0:
                    wanted = event.value == "id"
                elif wanted:
                    identity, wanted = event.value, False
                nodes += 1
        elif kind in starts:
            if event.anchor or event.tag is not None:
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
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError("the file does not exist", file=name) from None
    except OSError as exc:
        raise InputError(f"the file cannot be read ({exc.strerror})", file=name) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise not_utf8(name, raw, exc) from None
    del raw
    document = parse_yaml(text, name, completed, skipped)
    document.text = None  # a large file is not kept in memory; it is read again if an error needs a line
    return document


def stream_yaml(path: str | Path, completed: Callable[[Path_, Any], Any],
                skipped: Callable[[Path_], bool] | None = None) -> YamlDocument:
    """Like ``read_yaml``, but the parser reads the file in small pieces as it goes.

    ``read_yaml`` holds the file's whole text while it builds the data, which for a
    1,000,000-contract book is 430 MB before a single contract is read.  Here libyaml pulls
    the text from the open file as it needs it, and ``completed`` is expected to let go of
    each large part (a contract) as soon as it is complete, so the memory is what the
    callback keeps.  The returned document holds what ``completed`` left in place.

    A file that is not UTF-8, or not well-formed YAML, is read again whole by ``read_yaml``,
    only to give exactly the error it gives (file, line and what is wrong).
    """
    name = str(path)
    try:
        handle = open(path, encoding="utf-8", newline="")
        size = Path(path).stat().st_size
    except OSError:
        return read_yaml(path)  # it says why the file cannot be read
    builder = _Builder(name)
    with handle:
        loader = _Loader(handle)
        try:
            with paused_gc():
                data = builder.build_events(iter(loader.get_event, None), completed, skipped, size)
        except (yaml.YAMLError, UnicodeDecodeError):
            read_yaml(path)  # raises the error as a whole-text read words it
            raise InputError("malformed YAML", file=name) from None
        finally:
            loader.dispose()
    return YamlDocument(name, data)


def parse_yaml(text: str, name: str, completed: Callable[[Path_, Any], Any] | None = None,
               skipped: Callable[[Path_], bool] | None = None) -> YamlDocument:
    """Like ``read_yaml`` for text already in memory."""
    builder = _Builder(name)
    loader = _Loader(text)
    try:
        with paused_gc():
            data = builder.build_events(iter(loader.get_event, None), completed, skipped, len(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "malformed YAML").strip()
        raise InputError(f"malformed YAML: {problem}", file=name,
                         line=mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, at a position in the text
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        reason = f"unacceptable character #x{exc.character:04x}: {exc.reason}" if isinstance(exc.character, int) \
            else str(exc.reason)
        raise InputError(f"malformed YAML: {reason}", file=name, line=line) from None
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
    errors = error.errors(include_url=False)
    first = errors[0]
    if first["type"] == "missing":
        # A misspelt required key is both missing and unknown: the unknown one, beside it, says more.
        parent = first["loc"][:-1]
        close = [e for e in errors if e["type"] == "extra_forbidden" and e["loc"][:-1] == parent
                 and difflib.get_close_matches(str(e["loc"][-1]), [str(first["loc"][-1])], n=1, cutoff=0.6)]
        if close:
            first = close[0]
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
