"""The small quantities rule files are written in: durations, percentages, exact decimals.

Each parser takes what YAML hands over (a string, an int, or the exact Decimal our
YAML loader makes of a number) and returns an exact value, so that nothing a user
writes ever passes through a float.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

_DURATION = re.compile(r"^\s*(-?)([0-9]+)\s*(s|m|h|d)\s*$")
MAX_DURATION = timedelta(days=3660)
"""no rule needs a duration longer than ten years; a longer one is a typo (and overflows dates)"""
MAX_PERCENT = Decimal(10) ** 6
"""percentages, rates and multiples stay below a million: any credit or interest computed
from them and an amount below MAX_AMOUNT keeps well inside a decimal's 28 digits"""
MAX_AMOUNT = Decimal(10) ** 15
"""amounts users write (fees, invoices, payments, fixed sums) stay below this: fifteen digits
before the point leave every credit, tax and interest computed from them well inside a
decimal's 28 significant digits, in every currency"""
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> timedelta:
    """Read ``90s``, ``5m``, ``4h`` or ``2d``; a duration is never negative.

    >>> parse_duration("90s"), parse_duration("4h")
    (datetime.timedelta(seconds=90), datetime.timedelta(seconds=14400))
    >>> parse_duration("-5m")
    Traceback (most recent call last):
    ...
    ValueError: a duration cannot be negative: '-5m'
    """
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise ValueError(f"a duration cannot be negative: {value}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"a duration is written like 90s, 5m, 4h or 2d, not {value!r}")
    match = _DURATION.match(value)
    if not match:
        raise ValueError(f"a duration is written like 90s, 5m, 4h or 2d, not {value!r}")
    if match.group(1):
        raise ValueError(f"a duration cannot be negative: {value!r}")
    seconds = int(match.group(2)) * _UNIT_SECONDS[match.group(3)]
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"a duration is at most {MAX_DURATION.days}d, not {value!r}")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The canonical text of a duration: the largest unit that divides it exactly.

    >>> format_duration(timedelta(minutes=60)), format_duration(timedelta(seconds=90)), format_duration(timedelta(0))
    ('1h', '90s', '0s')
    """
    seconds = int(value.total_seconds()) if value.microseconds == 0 else None
    if seconds is None:
        raise ValueError("durations are whole seconds")
    for unit in ("d", "h", "m"):
        if seconds and seconds % _UNIT_SECONDS[unit] == 0:
            return f"{seconds // _UNIT_SECONDS[unit]}{unit}"
    return f"{seconds}s"


def parse_decimal(value: object, what: str = "a number", limit: Decimal = MAX_PERCENT) -> Decimal:
    """An exact decimal from a string, an int or a Decimal; floats are refused, and so is
    anything as large as ``limit`` (either sign).

    >>> parse_decimal("99.90"), parse_decimal(12), parse_decimal("1e2")
    (Decimal('99.90'), Decimal('12'), Decimal('1E+2'))
    >>> parse_decimal("1e27", "an amount", MAX_AMOUNT)
    Traceback (most recent call last):
    ...
    ValueError: an amount must be less than 1000000000000000 (at most 15 digits before the point), not '1e27'
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError(f"{what} must be written exactly, as a string or a plain number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{what} must be a number, not {value!r}") from None
    else:
        raise ValueError(f"{what} must be a number, not {value!r}")
    if not result.is_finite():
        raise ValueError(f"{what} must be a finite number, not {value!r}")
    if abs(result) >= limit:
        digits = len(str(int(limit))) - 1
        raise ValueError(f"{what} must be less than {limit:f} (at most {digits} digits before the point), "
                         f"not {value!r}")
    return result


def parse_percent(value: object) -> Decimal:
    """A percentage, written ``"10%"``, ``"10"`` or ``10``; the value is in percent.

    >>> parse_percent("12.5%"), parse_percent("99.9"), parse_percent(100)
    (Decimal('12.5'), Decimal('99.9'), Decimal('100'))
    """
    if isinstance(value, str) and value.strip().endswith("%"):
        value = value.strip()[:-1]
    return parse_decimal(value, "a percentage")


class Days:
    """A credit written in days of the fee (INTERFACE.md 6.2): ``"3d"`` is fee x 3 / the days of the period.

    >>> Days(Decimal("3")), str(Days(Decimal("1.5")))
    (Days('3'), '1.5d')
    """

    __slots__ = ("days",)

    def __init__(self, days: Decimal) -> None:
        object.__setattr__(self, "days", days)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Days is immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Days) and other.days == self.days

    def __hash__(self) -> int:
        return hash(("days", self.days))

    def __repr__(self) -> str:
        return f"Days('{self.days}')"

    def __str__(self) -> str:
        return f"{self.days}d"


_DAYS = re.compile(r"^\s*(\d+(\.\d+)?)\s*d\s*$")


def parse_share(value: object) -> "Decimal | Days":
    """A share of the fee: a percentage (``"10%"``, ``"10"``, ``10``) or days of the fee (``"3d"``).

    >>> parse_share("10%"), parse_share("3d"), parse_share("0.5d")
    (Decimal('10'), Days('3'), Days('0.5'))
    >>> parse_share("-1")
    Traceback (most recent call last):
    ...
    ValueError: a credit cannot be negative
    """
    if isinstance(value, Days):
        return value
    if isinstance(value, str):
        match = _DAYS.match(value)
        if match:
            return Days(Decimal(match.group(1)))
    try:
        percent = parse_percent(value)
    except ValueError:
        raise ValueError(f"a credit is a percentage such as \"10%\" or days of the fee such as \"3d\", "
                         f"not {value!r}") from None
    if percent < 0:
        raise ValueError("a credit cannot be negative")
    return percent
