"""Money and exact numbers: currencies, minor units and the one rounding step.

Amounts are computed as exact fractions and rounded once, at a named step, to the
currency's minor unit (from CLDR through Babel) under the rule set's rounding mode.
Rounding works on integers, so no decimal context or precision limit can round twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies


class Rounding(str, Enum):
    """How an exact amount becomes a payable one; declared per rule set."""

    half_up = "half_up"
    half_even = "half_even"
    down = "down"
    up = "up"


@lru_cache(maxsize=None)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_currency(code: str) -> bool:
    """Whether CLDR knows this ISO 4217 code.

    >>> is_currency("EUR"), is_currency("BHD"), is_currency("XYZ")
    (True, True, False)
    """
    return code in _known_currencies()


@lru_cache(maxsize=None)
def minor_digits(currency: str) -> int:
    """Digits after the decimal point in the currency's minor unit.

    >>> minor_digits("EUR"), minor_digits("JPY"), minor_digits("BHD")
    (2, 0, 3)
    """
    return get_currency_precision(currency)


def round_fraction(value: Fraction | int, digits: int, mode: Rounding) -> Decimal:
    """Round an exact value to ``digits`` decimals, exactly, under ``mode``.

    ``half_up`` and ``up`` round away from zero, ``down`` towards zero, as finance
    expects of a credit and of its reversal alike.

    >>> round_fraction(Fraction(1, 8), 2, Rounding.half_up), round_fraction(Fraction(1, 8), 2, Rounding.half_even)
    (Decimal('0.13'), Decimal('0.12'))
    >>> round_fraction(Fraction(-5, 2), 0, Rounding.half_up), round_fraction(Fraction(1, 3), 3, Rounding.up)
    (Decimal('-3'), Decimal('0.334'))
    """
    # On integers only: this runs for every amount and figure of every contract.
    numerator, denominator = value.numerator * 10**digits, value.denominator
    sign = -1 if numerator < 0 else 1
    whole, rest = divmod(abs(numerator), denominator)
    if mode is Rounding.down:
        bump = False
    elif mode is Rounding.up:
        bump = rest > 0
    elif mode is Rounding.half_up:
        bump = 2 * rest >= denominator
    else:
        bump = 2 * rest > denominator or (2 * rest == denominator and whole % 2 == 1)
    units = sign * (whole + (1 if bump else 0))
    return Decimal(units).scaleb(-digits)


def to_fraction(value: Decimal | int | Fraction) -> Fraction:
    """Exact conversion; a Decimal is converted digit for digit, never through a float."""
    return value if isinstance(value, Fraction) else Fraction(value)


@dataclass(frozen=True, slots=True)
class Money:
    """A rounded amount in one currency; the only form money takes after pricing.

    >>> Money.round(Fraction(12345, 10), "JPY", Rounding.half_up)
    Money(amount=Decimal('1235'), currency='JPY')
    >>> str(Money.round(Fraction(5, 4), "BHD", Rounding.half_up))
    '1.250'
    """

    amount: Decimal
    currency: str

    @classmethod
    def round(cls, exact: Fraction | Decimal | int, currency: str, mode: Rounding) -> "Money":
        return cls(round_fraction(to_fraction(exact), minor_digits(currency), mode), currency)

    @classmethod
    def zero(cls, currency: str) -> "Money":
        return _zero(currency)

    def __add__(self, other: "Money") -> "Money":
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money((self.amount + other.amount).quantize(self.amount), self.currency)

    def __sub__(self, other: "Money") -> "Money":
        return self + Money(-other.amount, other.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        """The amount with exactly the currency's minor-unit digits, as the JSON shows it."""
        return format_amount(self.amount, self.currency)


@lru_cache(maxsize=None)
def _zero(currency: str) -> Money:
    """Nothing, in a currency (a Money is immutable, so one value serves every contract)."""
    return Money(Decimal(0).scaleb(-minor_digits(currency)), currency)


def format_amount(amount: Decimal, currency: str) -> str:
    """An already-rounded amount as text with exactly the minor-unit digits.

    >>> format_amount(Decimal("1200"), "EUR"), format_amount(Decimal("1200"), "JPY"), format_amount(Decimal("1.25"), "BHD")
    ('1200.00', '1200', '1.250')
    """
    digits = minor_digits(currency)
    quantum = Decimal(1).scaleb(-digits)
    text = str(amount.quantize(quantum))
    return "0" + text[2:] if text.startswith("-0") and Decimal(text) == 0 else text


def decimal_places(value: Decimal) -> int:
    """How many digits a decimal carries after the point (0 for whole numbers).

    >>> decimal_places(Decimal("99.95")), decimal_places(Decimal("100")), decimal_places(Decimal("1E+2"))
    (2, 0, 0)
    """
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def fixed(value: Fraction, digits: int) -> str:
    """A figure shown with exactly ``digits`` decimals, rounded half-up.

    >>> fixed(Fraction(43140, 432), 6), fixed(Fraction(100), 6)
    ('99.861111', '100.000000')
    """
    return str(round_fraction(value, digits, Rounding.half_up))


def plain(value: Fraction, max_digits: int = 6) -> str:
    """A figure with as few decimals as it needs, at most ``max_digits`` (rounded half-up).

    >>> plain(Fraction(60)), plain(Fraction(3, 2)), plain(Fraction(1, 3))
    ('60', '1.5', '0.333333')
    """
    if value.denominator == 1:  # whole figures (minutes, counts) are most of them
        return str(value.numerator)
    if max_digits <= 6:
        # Rounded and written on integers: records write several of these per incident, and
        # going through a Decimal was most of their cost.  Same steps as round_fraction's
        # half_up; up to 6 decimals a Decimal that is not zero never prints an exponent.
        scale = 10**max_digits
        units, rest = divmod(abs(value.numerator) * scale, value.denominator)
        if 2 * rest >= value.denominator:
            units += 1
        if units:
            whole, part = divmod(units, scale)
            sign = "-" if value.numerator < 0 else ""
            return f"{sign}{whole}.{part:0{max_digits}d}".rstrip("0") if part else f"{sign}{whole}"
    # Zero after rounding (negative or not, written "0"), or more than 6 decimals (the
    # Decimal may print an exponent, such as "1E-7"): the Decimal's own text.
    text = str(round_fraction(value, max_digits, Rounding.half_up))
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
