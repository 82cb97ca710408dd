"""Locales and languages as CLDR knows them, through Babel: which names are locales.

Customers read their documents in their own locale (fr_FR, ja_JP, ar_BH); a contract
naming one that CLDR does not know is refused when it is read, and so is a display name
given in a language CLDR does not know.  How a locale formats money, dates and numbers
is the documents' business (``invoices.formats``).
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale, UnknownLocaleError


@lru_cache(maxsize=None)
def check_locale(value: str) -> str:
    """A CLDR locale name, checked with Babel."""
    try:
        Locale.parse(value)
    except (UnknownLocaleError, ValueError):
        raise ValueError(f"{value!r} is not a locale such as fr_FR or en_GB") from None
    return value


@lru_cache(maxsize=None)
def check_language(value: str) -> str:
    """A language as CLDR names it, alone (``fr``, ``de``, ``ar``), checked with Babel.

    >>> check_language("fr")
    'fr'
    >>> check_language("fr_FR")
    Traceback (most recent call last):
    ValueError: 'fr_FR' is not a language such as en, fr or de (a language alone, without a country)
    """
    problem = f"{value!r} is not a language such as en, fr or de (a language alone, without a country)"
    if not isinstance(value, str) or not value.isascii() or not value.isalpha() or not value.islower():
        raise ValueError(problem)
    try:
        parsed = Locale.parse(value)
    except (UnknownLocaleError, ValueError):
        raise ValueError(problem) from None
    if parsed.language != value or parsed.territory or parsed.script:
        raise ValueError(problem)
    return value
