"""Sets of time as sorted, disjoint, half-open intervals, and the algebra on them.

Downtime is a set of instants: overlapping incidents count once, exclusions are
set differences and an allowance takes the chronologically first part of a set.
Every function takes and returns intervals sorted by start with no overlaps, except
``union``, which accepts anything.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, TypeVar

T = TypeVar("T", datetime, int)
Span = tuple[T, T]


def union(spans: Iterable[Span]) -> list[Span]:
    """Merge overlapping or touching intervals into disjoint ones.

    >>> union([(5, 8), (1, 3), (2, 4), (8, 9), (7, 7)])
    [(1, 4), (5, 9)]
    """
    merged: list[list] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def clip(spans: Iterable[Span], start: T, end: T) -> list[Span]:
    """The parts of disjoint intervals inside ``[start, end)``.

    >>> clip([(1, 4), (6, 12)], 3, 10)
    [(3, 4), (6, 10)]
    """
    return [(max(s, start), min(e, end)) for s, e in spans if s < end and e > start]


def subtract(spans: list[Span], removed: list[Span]) -> list[Span]:
    """Disjoint intervals minus other disjoint intervals.

    >>> subtract([(0, 10), (20, 30)], [(2, 3), (9, 21), (25, 40)])
    [(0, 2), (3, 9), (21, 25)]
    """
    result: list[Span] = []
    j = 0
    for start, end in spans:
        while j < len(removed) and removed[j][1] <= start:
            j += 1
        k = j
        cursor = start
        while k < len(removed) and removed[k][0] < end:
            r_start, r_end = removed[k]
            if r_start > cursor:
                result.append((cursor, r_start))
            cursor = max(cursor, r_end)
            k += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def intersect(spans: list[Span], other: list[Span]) -> list[Span]:
    """Disjoint intervals that lie in both sets.

    >>> intersect([(0, 10), (20, 30)], [(5, 25)])
    [(5, 10), (20, 25)]
    """
    result: list[Span] = []
    i = j = 0
    while i < len(spans) and j < len(other):
        start = max(spans[i][0], other[j][0])
        end = min(spans[i][1], other[j][1])
        if start < end:
            result.append((start, end))
        if spans[i][1] < other[j][1]:
            i += 1
        else:
            j += 1
    return result


def first_part(spans: list[Span], amount: timedelta | int) -> tuple[list[Span], list[Span]]:
    """Split disjoint intervals into the chronologically first ``amount`` and the rest.

    >>> first_part([(0, 3), (5, 9)], 5)
    ([(0, 3), (5, 7)], [(7, 9)])
    """
    taken: list[Span] = []
    rest: list[Span] = []
    left = amount
    for start, end in spans:
        length = end - start
        if left >= length:
            taken.append((start, end))
            left -= length
        elif left:
            taken.append((start, start + left))
            rest.append((start + left, end))
            left -= left
        else:
            rest.append((start, end))
    return taken, rest


def total(spans: Iterable[Span], zero=timedelta(0)):
    """The summed length of disjoint intervals.

    >>> total([(0, 3), (5, 9)], zero=0)
    7
    """
    return sum((end - start for start, end in spans), zero)
