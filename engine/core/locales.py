"""Locales as CLDR knows them, through Babel: which names are locales.

Customers read their documents in their own locale (fr_FR, ja_JP, ar_BH); a contract
naming one that CLDR does not know is refused when it is read.  How a locale formats
money, dates and numbers is the documents' business (``invoices.formats``).
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
