"""The one canonical encoding: what every hash in slabill is taken over, and how instants are kept.

An auditor recomputes slabill's hashes years later, so each thing that is hashed is
written one way only, here:

* ``canonical(data)``: JSON with sorted keys, no spaces, UTF-8 text (not ASCII escapes);
  ``canonical_object`` builds the same text from members already encoded;
* ``sha256_text``: the hex sha256 of a text's UTF-8 bytes;
* instants as integer microseconds since 1970-01-01 UTC (``to_micros``/``from_micros``),
  exact and portable across databases, and as fixed-width UTC text (``instant_text``);
* ``latest_revisions``: of the records of a period, the latest revision of each contract.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from json.encoder import encode_basestring as _encode_string
from typing import Any, Callable, Iterable, TypeVar

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)

T = TypeVar("T")


def canonical(data: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: the form every hash in slabill is taken over.

    >>> canonical({"b": [1, "é"], "a": None})
    '{"a":null,"b":[1,"é"]}'
    >>> canonical("C-1001") == json.dumps("C-1001")
    True
    """
    if type(data) is str:
        # What json.dumps does with a lone string (ensure_ascii=False), without setting up
        # an encoder: records name ids, keys and periods this way dozens of times each.
        return _encode_string(data)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_object(members: dict[str, str]) -> str:
    """The canonical JSON of a mapping whose values are given as canonical JSON already.

    canonical() writes a mapping as its keys in sorted order, each with its value's
    canonical text, so this is exactly the text canonical() gives the decoded mapping.

    >>> canonical_object({"b": "[1]", "a": '"x"'}) == canonical({"b": [1], "a": "x"})
    True
    """
    return "{" + ",".join(f"{canonical(key)}:{members[key]}" for key in sorted(members)) + "}"


def sha256_text(text: str) -> str:
    """The hex sha256 of a text's UTF-8 bytes.

    >>> sha256_text("")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_micros(moment: datetime) -> int:
    """An instant as microseconds since 1970-01-01 UTC.

    >>> to_micros(datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc))
    1000000
    """
    return (moment - EPOCH) // MICROSECOND


def from_micros(value: int) -> datetime:
    """The UTC instant ``value`` microseconds after 1970-01-01 UTC.

    >>> from_micros(1_000_000).isoformat()
    '1970-01-01T00:00:01+00:00'
    """
    return EPOCH + value * MICROSECOND


def instant_text(value: datetime | None) -> str | None:
    """An instant as fixed-width UTC text, so equal instants always read the same.

    >>> instant_text(datetime(2026, 10, 1, 0, 25, tzinfo=timezone.utc))
    '2026-10-01T00:25:00.000000Z'
    """
    if value is None:
        return None
    if value.tzinfo is not timezone.utc:
        value = value.astimezone(timezone.utc)
    # isoformat() in C, a few per incident: "YYYY-MM-DDTHH:MM:SS" then ".ffffff" only when
    # there are microseconds, then "+00:00", which "Z" replaces.
    text = value.isoformat()
    return text[:19] + ".000000Z" if value.microsecond == 0 else text[:26] + "Z"


def latest_revisions(records: Iterable[T], contract: Callable[[T], str],
                     revision: Callable[[T], int]) -> dict[str, T]:
    """Of a period's records, the one with the highest revision per contract.

    A re-evaluation supersedes the record before it, so what a contract got for a period
    is its latest revision's.

    >>> rows = [("C-1", 0), ("C-2", 0), ("C-1", 1)]
    >>> latest_revisions(rows, lambda r: r[0], lambda r: r[1])
    {'C-1': ('C-1', 1), 'C-2': ('C-2', 0)}
    """
    latest: dict[str, T] = {}
    for record in records:
        key = contract(record)
        if key not in latest or revision(record) > revision(latest[key]):
            latest[key] = record
    return latest


def rendition_seal(content_sha256: str, format: str, sha256: str, producer: str) -> str:
    """What ties the kept hash of a rendering made on demand (a PDF) to its document's content:
    edit either and the seal no longer holds."""
    return sha256_text(canonical({"document": content_sha256, "format": format, "sha256": sha256,
                                  "producer": producer}))
