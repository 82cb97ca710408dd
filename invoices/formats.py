"""How a locale writes things, through Babel (CLDR), and its gettext catalogs.

``Formats`` writes amounts, numbers, percentages, dates and months for a locale and a
currency, so a French credit note reads "1 234,56 €" and a Japanese one "￥1,235";
``ExplainFormats`` adds instants and spans of time in the contract's zone, and
``ReportFormats`` the monthly report's durations and days.  ``translations`` loads a
language's catalog (``locale/<lang>/LC_MESSAGES/messages.po``, managed with Babel's
extract/update/compile steps: ``make catalogs``); a language without a catalog falls
back to English.  ``direction`` and ``weekend`` are what CLDR says of a script and a
week.  This is where the documents' Babel lives; the engine's core keeps only what it
must know of CLDR (currencies' minor units in ``engine.core.money``, which names are
locales in ``engine.core.locales``).

Figures are shown to customers the same way on documents, reports and explanations:
minutes with at most two decimals (``Formats.minutes``), and an attainment to one digit
more than its target, rounded down (``shown_attainment``), so that a missed target never
reads as met.  Documents issued before these rules render as they were issued
(``legacy``).
"""

from __future__ import annotations

import gettext
import io
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_FLOOR, Decimal
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton, format_time, get_timezone_gmt
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, format_decimal, format_percent, get_currency_symbol, get_minus_sign_symbol

from engine.core.money import Rounding, decimal_places, plain, round_fraction
from engine.core.period import minutes

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
LANGUAGES = ("en", "fr", "de", "es", "ja", "ar")
BEFORE_E_INVOICES = ("en", "fr", "de", "es")
"""the catalogs slabill had when it issued documents without e-invoices: those documents render
with them still, so that their bytes stay the ones hashed at issue"""


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

    A negative amount carries the locale's own minus sign, as CLDR writes it (in Arabic
    a left-to-right mark before the hyphen, so that "-59.188 BHD" does not read
    "59.188-" beside the right-to-left currency sign); Babel's ``format_currency`` writes
    a bare hyphen, and ``legacy`` keeps that, for documents issued with it.
    """

    _REMEMBERED = 20_000
    """values remembered per method before it starts again (bounds the memory)"""

    def __init__(self, locale: str, currency: str, legacy: bool = False) -> None:
        # Parsed once: Babel parses a locale name again on every call given a string.
        self.locale = Locale.parse(locale)
        self.currency = currency
        self._memo: dict[tuple[str, Any], str] = {}
        self._currency_pattern = _currency_pattern(self.locale, currency, legacy)

    @staticmethod
    @lru_cache(maxsize=256)
    def of(locale: str, currency: str, legacy: bool = False) -> "Formats":
        return Formats(locale, currency, legacy)

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

    def money_in(self, amount: str | Decimal, currency: str | None) -> str:
        """An amount in another currency than the document's (a share capital in EUR, say)."""
        if currency is None or currency == self.currency:
            return self.money(amount)
        return Formats.of(str(self.locale), currency).money(amount)

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

    def minutes(self, value: Fraction | Decimal | str) -> str:
        """Minutes as customers read them, with at most two decimals (half up): "147,4", "4,46"."""
        return self._remembered("minutes", value, lambda value: self.number(
            plain(Fraction(Decimal(value)) if isinstance(value, str) else Fraction(value), 2)))

    def day(self, value: date | str) -> str:
        return self._remembered("day", value, lambda value: format_date(
            date.fromisoformat(value) if isinstance(value, str) else value, "long", locale=self.locale))

    def span_in(self, zone: str, start: datetime | str, end: datetime | str) -> str:
        """From one instant to another in time zone ``zone`` (outages on a document, in the contract's time)."""
        return _zoned(str(self.locale), self.currency, zone).span(start, end)

    def month(self, period: str) -> str:
        def work(period: str) -> str:
            year, month = (int(part) for part in period.split("-"))
            return format_skeleton("yMMMM", date(year, month, 1), locale=self.locale)

        return self._remembered("month", period, work)


def _currency_pattern(locale: Locale, currency: str, legacy: bool = False) -> NumberPattern:
    """The locale's standard currency pattern with ``currency``'s symbol written in.

    ``format_currency`` is this pattern's ``apply``, which puts the symbol in place of
    ``¤`` after formatting, looking up the symbol and, whether the pattern needs it or
    not, the currency's plural name: half the time of formatting an amount.  With the
    symbol already in the prefix and suffix, ``apply`` gives the same string without
    either lookup.  A pattern or symbol this could change (a plural name ``¤¤¤`` or ISO
    code ``¤¤``, a symbol with a sign ``apply`` would act on) is left with its symbol
    placeholder.

    The pattern's minus (the ``-`` of its negative prefix or suffix, which CLDR defines as
    the locale's minus sign) becomes the locale's minus sign, unless ``legacy``.
    """
    pattern = locale.currency_formats["standard"]
    prefix, suffix = pattern.prefix, pattern.suffix
    if not legacy:
        minus = get_minus_sign_symbol(locale)
        prefix = (prefix[0], prefix[1].replace("-", minus))
        suffix = (suffix[0], suffix[1].replace("-", minus))
    symbol = get_currency_symbol(currency, locale)
    affixes = "".join(prefix + suffix)
    if not ("¤¤" in affixes or any(sign in symbol for sign in "¤%‰'")):
        prefix = tuple(text.replace("¤", symbol) for text in prefix)
        suffix = tuple(text.replace("¤", symbol) for text in suffix)
    if (prefix, suffix) == (pattern.prefix, pattern.suffix):
        return pattern
    return NumberPattern(pattern.pattern, prefix, suffix, pattern.grouping, pattern.int_prec, pattern.frac_prec,
                         pattern.exp_prec, pattern.exp_plus, pattern.number_pattern)


def shown_attainment(attainment: str, target: str | None, met: bool) -> str:
    """An attainment as customers read it: one digit more than its target, rounded down.

    ``attainment`` is the recorded figure (6 decimals), ``target`` what was promised
    (None: none, read as a whole percentage).  Rounded down, a figure never reaches a
    target it missed: 99.8999 % against 99.9 % reads 99.89 %, not 99.90 %.  The recorded
    figure is itself rounded (half up, to 6 decimals), so a missed attainment within
    0.0000005 of its target is recorded as the target; the verdict then says which side
    of it the exact figure fell, and the figure shown is the one below.  The other way
    round, an objective met although its figure is below the target (its rule set rounds
    the attainment before comparing it) shows the target.

    >>> shown_attainment("99.670246", "99.9", False), shown_attainment("100.000000", "99.99", True)
    ('99.67', '100.000')
    >>> shown_attainment("99.899999", "99.9", False), shown_attainment("99.900000", "99.9", False)
    ('99.89', '99.89')
    >>> shown_attainment("75.000000", None, False), shown_attainment("99.959999", "99.95", True)
    ('75.0', '99.959')
    """
    digits = min((decimal_places(Decimal(target)) if target is not None else 0) + 1, 6)
    step = Decimal(1).scaleb(-digits)
    shown = Decimal(attainment).quantize(step, rounding=ROUND_FLOOR)
    if target is not None:
        promised = Decimal(target).quantize(step)
        if not met and shown >= promised:
            shown = max(promised - step, Decimal(0).quantize(step))
        elif met and shown < promised:
            shown = promised
    return str(shown)


@lru_cache(maxsize=None)
def language_of(locale: str, languages: tuple[str, ...] | None = None) -> str:
    """The catalog language for a locale, English when we have none (among ``languages``,
    by default every catalog: ``LANGUAGES``).

    >>> language_of("fr_FR"), language_of("ja_JP"), language_of("ar_BH"), language_of("pt_BR")
    ('fr', 'ja', 'ar', 'en')
    >>> language_of("ja_JP", BEFORE_E_INVOICES)
    'en'
    """
    language = Locale.parse(locale).language
    return language if language in (languages or LANGUAGES) else "en"


@lru_cache(maxsize=None)
def direction(locale: str) -> str:
    """The direction of a locale's script: "rtl" for ar_BH, "ltr" for fr_FR.

    Pages are laid out in the direction of the language they are written in
    (``language_of``): an ar_BH document reads right to left in Arabic, and left to right
    when it was issued in English, before the Arabic catalog.

    >>> direction("ar_BH"), direction(language_of("ar_BH")), direction(language_of("ar_BH", BEFORE_E_INVOICES))
    ('rtl', 'rtl', 'ltr')
    >>> direction("fr_FR")
    'ltr'
    """
    return "rtl" if Locale.parse(locale).character_order == "right-to-left" else "ltr"



def weekend(locale: str) -> set[int]:
    """The locale's weekend days (Monday 0): Saturday and Sunday in France, Friday and Saturday in Bahrain."""
    parsed = Locale.parse(locale)
    start, end = parsed.weekend_start, parsed.weekend_end
    return {(start + n) % 7 for n in range((end - start) % 7 + 1)}


@lru_cache(maxsize=64)
def _zoned(locale: str, currency: str, zone: str) -> "ExplainFormats":
    return ExplainFormats(locale, currency, zone)


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
    """The document formats plus the report's own: durations, short dates and times."""

    def number(self, value: Fraction | Decimal | int | str | None) -> str:
        # Indicators are exact fractions; Babel formats decimals.
        return super().number(plain(value) if isinstance(value, Fraction) else value)

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
