"""How a locale writes things, through Babel (CLDR), and its gettext catalogs.

``Formats`` writes amounts, numbers, percentages, dates and months for a locale and a
currency, so a French credit note reads "1 234,56 €" and a Japanese one "￥1,235";
``ExplainFormats`` adds instants and spans of time in the contract's zone, and
``ReportFormats`` the monthly report's minutes, durations and days.  ``translations``
loads a language's catalog (``locale/<lang>/LC_MESSAGES/messages.po``, managed with
Babel's extract/update/compile steps: ``make catalogs``); a language without a catalog
falls back to English.  ``direction`` and ``weekend`` are what CLDR says of a locale's
script and week.  This is where the documents' Babel lives; the engine's core keeps only
what it must know of CLDR (currencies' minor units in ``engine.core.money``, which names
are locales in ``engine.core.locales``).
"""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton, format_time, get_timezone_gmt
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, format_decimal, format_percent, get_currency_symbol

from engine.core.money import Rounding, plain, round_fraction
from engine.core.period import minutes

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "fr", "de", "es")


@lru_cache(maxsize=None)
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of a language, compiled in memory from its .po file; English is the msgids."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == "en" or not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class Formats:
    """Babel's formatting of one locale, as the templates call it.

    One per locale and currency (``Formats.of``), remembering what it formatted: a run
    formats the same dates, targets, fees and rates on thousands of documents, and
    Babel's formatting was a quarter of the time of rendering one.
    """

    _REMEMBERED = 20_000
    """values remembered per method before it starts again (bounds the memory)"""

    def __init__(self, locale: str, currency: str) -> None:
        # Parsed once: Babel parses a locale name again on every call given a string.
        self.locale = Locale.parse(locale)
        self.currency = currency
        self._memo: dict[tuple[str, Any], str] = {}
        self._currency_pattern = _currency_pattern(self.locale, currency)

    @staticmethod
    @lru_cache(maxsize=256)
    def of(locale: str, currency: str) -> "Formats":
        return Formats(locale, currency)

    def _remembered(self, kind: str, value: Any, work) -> str:
        key = (kind, value)
        text = self._memo.get(key)
        if text is None:
            if len(self._memo) >= self._REMEMBERED:
                self._memo.clear()
            text = self._memo[key] = work(value)
        return text

    def money(self, amount: str | Decimal) -> str:
        # Amounts are seldom the same twice, so this is the formatting a document waits on:
        # the pattern with the symbol in place does what format_currency does, minus its lookups.
        return self._remembered("money", amount, lambda value: self._currency_pattern.apply(
            Decimal(value), self.locale, currency=self.currency))

    def number(self, value: str | Decimal | int | None) -> str:
        if value is None or value == "":
            return ""
        return self._remembered("number", value, lambda value: format_decimal(
            Decimal(value), locale=self.locale, decimal_quantization=False))

    def percent(self, value: str | Decimal | None) -> str:
        """A figure already in percent, e.g. "99.861111" -> "99,861111 %" in French."""
        if value is None:
            return ""
        # scaleb keeps the digits as written: 94.622980 stays 94.622980, not 94.62298.
        return self._remembered("percent", value, lambda value: format_percent(
            Decimal(value).scaleb(-2), locale=self.locale, decimal_quantization=False))

    def day(self, value: date | str) -> str:
        return self._remembered("day", value, lambda value: format_date(
            date.fromisoformat(value) if isinstance(value, str) else value, "long", locale=self.locale))

    def month(self, period: str) -> str:
        def work(period: str) -> str:
            year, month = (int(part) for part in period.split("-"))
            return format_skeleton("yMMMM", date(year, month, 1), locale=self.locale)

        return self._remembered("month", period, work)


def _currency_pattern(locale: Locale, currency: str) -> NumberPattern:
    """The locale's standard currency pattern with ``currency``'s symbol written in.

    ``format_currency`` is this pattern's ``apply``, which puts the symbol in place of
    ``¤`` after formatting, looking up the symbol and, whether the pattern needs it or
    not, the currency's plural name: half the time of formatting an amount.  With the
    symbol already in the prefix and suffix, ``apply`` gives the same string without
    either lookup.  A pattern or symbol this could change (a plural name ``¤¤¤`` or ISO
    code ``¤¤``, a symbol with a sign ``apply`` would act on) is left as it is.
    """
    pattern = locale.currency_formats["standard"]
    symbol = get_currency_symbol(currency, locale)
    affixes = "".join(pattern.prefix + pattern.suffix)
    if "¤¤" in affixes or any(sign in symbol for sign in "¤%‰'"):
        return pattern
    return NumberPattern(
        pattern.pattern,
        tuple(text.replace("¤", symbol) for text in pattern.prefix),
        tuple(text.replace("¤", symbol) for text in pattern.suffix),
        pattern.grouping, pattern.int_prec, pattern.frac_prec, pattern.exp_prec, pattern.exp_plus,
        pattern.number_pattern,
    )


@lru_cache(maxsize=None)
def language_of(locale: str) -> str:
    """The catalog language for a locale, English when we have none.

    >>> language_of("fr_FR"), language_of("de_DE"), language_of("ja_JP")
    ('fr', 'de', 'en')
    """
    language = Locale.parse(locale).language
    return language if language in LANGUAGES else "en"


@lru_cache(maxsize=None)
def direction(locale: str) -> str:
    return "rtl" if Locale.parse(locale).character_order == "right-to-left" else "ltr"



def weekend(locale: str) -> set[int]:
    """The locale's weekend days (Monday 0): Saturday and Sunday in France, Friday and Saturday in Bahrain."""
    parsed = Locale.parse(locale)
    start, end = parsed.weekend_start, parsed.weekend_end
    return {(start + n) % 7 for n in range((end - start) % 7 + 1)}


class ExplainFormats(Formats):
    def __init__(self, locale: str, currency: str, timezone: str) -> None:
        super().__init__(locale, currency)
        self.zone = ZoneInfo(timezone)

    def _clocks_change(self, day: date) -> bool:
        """Whether the clocks change on ``day``: its wall times may be ambiguous, so offsets are shown."""
        midnight = datetime.combine(day, time(0), self.zone).astimezone(timezone.utc)
        following = datetime.combine(day + timedelta(days=1), time(0), self.zone).astimezone(timezone.utc)
        return following - midnight != timedelta(days=1)

    def moment(self, value: datetime | str) -> str:
        value = datetime.fromisoformat(value) if isinstance(value, str) else value
        return format_datetime(value, "medium", tzinfo=self.zone, locale=self.locale)

    def span(self, start: datetime | str, end: datetime | str) -> str:
        """From one instant to another in the contract's zone; the day is written once when it is the same.

        On a day the clocks change both ends carry their UTC offset, so that 02:00 to 02:30
        on the night the clocks go back reads as the 90 minutes it was, and the 02:30 that
        happened twice says which one it was.
        """
        start = datetime.fromisoformat(start) if isinstance(start, str) else start
        end = datetime.fromisoformat(end) if isinstance(end, str) else end
        local_start, local_end = start.astimezone(self.zone), end.astimezone(self.zone)
        first, last = self.moment(start), (format_time(end, "medium", tzinfo=self.zone, locale=self.locale)
                                          if local_start.date() == local_end.date() else self.moment(end))
        if local_start.utcoffset() != local_end.utcoffset() or self._clocks_change(local_start.date()):
            first += " " + get_timezone_gmt(local_start, "long", self.locale)
            last += " " + get_timezone_gmt(local_end, "long", self.locale)
        return f"{first} – {last}"


class ReportFormats(ExplainFormats):
    """The document formats plus the report's own: minutes, durations, short dates and times."""

    def number(self, value: Fraction | Decimal | int | str | None) -> str:
        # Indicators are exact fractions; Babel formats decimals.
        return super().number(plain(value) if isinstance(value, Fraction) else value)

    def minutes(self, value: Fraction | Decimal | str) -> str:
        """Minutes with at most two decimals: "147,4", "4,46"."""
        return self.number(plain(Fraction(Decimal(value)) if isinstance(value, str) else Fraction(value), 2))

    def duration(self, value: Fraction | timedelta) -> dict[str, str]:
        """A duration split for the ``duration`` macro: under an hour to the second, else to the minute.

        >>> ReportFormats("fr_FR", "EUR", "UTC").duration(Fraction(340, 7))
        {'hours': '', 'minutes': '48', 'seconds': '34'}
        >>> ReportFormats("en_GB", "EUR", "UTC").duration(Fraction(12785, 8))
        {'hours': '26', 'minutes': '38', 'seconds': ''}
        """
        if isinstance(value, timedelta):
            value = minutes(value)
        seconds = int(round_fraction(value * 60, 0, Rounding.half_up))
        if seconds < 3600:
            whole, rest = divmod(seconds, 60)
            return {"hours": "", "minutes": self.number(whole), "seconds": self.number(rest) if rest else ""}
        hours, rest = divmod(int(round_fraction(value, 0, Rounding.half_up)), 60)
        return {"hours": self.number(hours), "minutes": f"{rest:02d}" if rest else "", "seconds": ""}

    def local_day(self, value: datetime | date) -> str:
        if isinstance(value, datetime):
            value = value.astimezone(self.zone).date()
        return format_date(value, "long", locale=self.locale)
