"""Rendering with Jinja2: documents as HTML and plain text, and the templates of explanations and reports.

This module is the one home of Jinja2.  ``invoices.present`` words a document (labels
translated with the catalogs of ``invoices.formats``, amounts, numbers, percentages and
dates written by its ``Formats`` for the document's locale); the templates lay the words
out, and HTML is autoescaped.  ``template`` gives the
explanation and the monthly report their templates in a language.

Rendering is pure: the same document gives the same bytes, which is what lets the
store keep the sha256 of what the customer received.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from .documents import CREDIT_NOTE, Document
from .formats import BEFORE_E_INVOICES, Formats, direction, language_of, translations
from .present import LEGAL, present, wording

TEMPLATES = Path(__file__).resolve().parent / "templates"
FORMATS = ("html", "txt")


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
    words = wording(language, html)
    environment.globals["_"] = words._
    environment.globals["words"] = words
    return environment


def template(name: str, language: str, html: bool = False) -> Template:
    """The template ``name`` with its labels in ``language``; autoescaped for HTML."""
    return _environment(language, html).get_template(name)


def render(document: Document, format: str = "html", locale: str | None = None) -> str:
    """The document as text in ``format`` (html or txt), in ``locale`` (default: the customer's).

    ``invoices.present`` words the document; the template lays the words out.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be html or txt, not {format!r}")
    locale = locale or document.locale
    # A document issued before e-invoices keeps the catalogs it was worded with (and hashed).
    language = language_of(locale, None if document.presentation >= LEGAL else BEFORE_E_INVOICES)
    html = format == "html"
    legacy = document.presentation < 2
    view = present(document.to_json(), document.kind == CREDIT_NOTE, Formats.of(locale, document.currency, legacy),
                   wording(language, html))
    # lang is the language of the labels: English where the locale has no catalog.  The page
    # reads in that language's direction (documents of the first presentation: the locale's).
    return template(f"document.{format}.j2", language, html).render(
        v=view, lang=language, direction=direction(locale if legacy else language))


def rendered_sha256(document: Document, format: str = "html") -> str:
    """The sha256 of the bytes the customer receives (UTF-8)."""
    return hashlib.sha256(render(document, format).encode("utf-8")).hexdigest()
