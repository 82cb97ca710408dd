"""The formats slabill writes, named in one place for the command line and the writers.

Light on purpose: the command line lists these choices in its help and checks ``--format``
against them without loading the renderers.  Adding a document format is one line in
``DOCUMENT_FORMATS`` (and its rendering in ``engine.issued``).
"""

from __future__ import annotations

DOCUMENT_FORMATS = ("html", "txt", "pdf", "xml")
"""a document's formats: HTML and text, the PDF/A-3b, and the e-invoice XML of its customer's channel;
``run --out`` and ``demo`` write those each customer takes (``engine.issued.formats_of``)"""

FILE_SUFFIXES = ("html", "txt", "pdf", "cii.xml", "ubl.xml", "peppol.xml", "fr-ctc.xml")
"""the endings of the document files slabill writes (``<number>.<suffix>``)"""

REPORT_FORMATS = ("html", "txt")
"""the monthly SLA report's formats"""

LIST_FORMATS = ("table", "json", "csv")
"""lists (``notes list``, ``runs``): a table for people, JSON and CSV for scripts"""

SUMMARY_FORMATS = ("table", "json")
"""one result (``run``'s summary, ``evaluate``): a table for people, one JSON object for scripts"""
