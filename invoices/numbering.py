"""Document numbers: gap-free per issuer, document kind and calendar year of issue.

The store allocates the sequence inside the issuing transaction; this module only
says what a number looks like.
"""

from __future__ import annotations

from engine.core.model import Issuer

from .documents import CREDIT_NOTE


def prefix_for(issuer: Issuer, kind: str) -> str:
    return issuer.credit_note_prefix if kind == CREDIT_NOTE else issuer.adjustment_prefix


def format_number(prefix: str, year: int, sequence: int) -> str:
    """The printed number.

    >>> format_number("AV", 2026, 1)
    'AV-2026-000001'
    """
    return f"{prefix}-{year}-{sequence:06d}"
