"""Rendering documents as HTML and plain text, in the customer's language and formats.

Labels are translated with gettext catalogs (``invoices/locale/<lang>/LC_MESSAGES/
messages.po``, managed with Babel's extract/update/compile steps: ``make catalogs``);
a language without a catalog falls back to English.  Amounts, numbers, percentages
and dates are formatted by Babel for the document's locale (CLDR), so a French credit
note reads "1 234,56 €" and a Japanese one "￥1,235".  HTML is autoescaped.

Rendering is pure: the same document gives the same bytes, which is what lets the
store keep the sha256 of what the customer received.
"""

from __future__ import annotations

import gettext
import hashlib
import io
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale
from babel.dates import format_date, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import NumberPattern, format_decimal, format_percent, get_currency_symbol
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from .documents import CREDIT_NOTE, Document
from .present import present, wording

HERE = Path(__file__).resolve().parent
LOCALE_DIR = HERE / "locale"
TEMPLATES = HERE / "templates"
LANGUAGES = ("en", "fr", "de", "es")
FORMATS = ("html", "txt")


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


@lru_cache(maxsize=None)
def _environment(language: str, html: bool = False) -> Environment:
    """Templates in one language; HTML gets its own environment in which every template,
    shared macros included, is autoescaped (a macro compiled without escaping would hand
    raw data to an HTML page as safe markup)."""
    environment = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        # The templates ship with the code: checking their files for changes on every
        # render (a stat per call) buys nothing.
        auto_reload=False,
        autoescape=html,
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    # The templates' _() is the documents' own (invoices/present.py): the translation used as a
    # %-format, trusted as markup in HTML with the values escaped, in one call where the i18n
    # extension's goes through three context-passing calls.  _macros.j2 words titles and
    # metrics with ``words``, as the documents do.
    words = wording(translations(language), html)
    environment.globals["_"] = words._
    environment.globals["words"] = words
    return environment


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
def _direction(locale: str) -> str:
    return "rtl" if Locale.parse(locale).character_order == "right-to-left" else "ltr"


def render(document: Document, format: str = "html", locale: str | None = None) -> str:
    """The document as text in ``format`` (html or txt), in ``locale`` (default: the customer's).

    ``invoices.present`` words the document; the template lays the words out.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be html or txt, not {format!r}")
    locale = locale or document.locale
    language = language_of(locale)
    html = format == "html"
    view = present(document.to_json(), document.kind == CREDIT_NOTE, Formats.of(locale, document.currency),
                   wording(translations(language), html))
    template = _environment(language, html).get_template(f"document.{format}.j2")
    # lang is the language of the labels: English where the locale has no catalog.
    return template.render(v=view, lang=language, direction=_direction(locale))


def rendered_sha256(document: Document, format: str = "html") -> str:
    """The sha256 of the bytes the customer receives (UTF-8)."""
    return hashlib.sha256(render(document, format).encode("utf-8")).hexdigest()
