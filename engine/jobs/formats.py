"""The formats slabill writes, named in one place for the command line and the writers.

Light on purpose: the command line lists these choices in its help and checks ``--format``
against them without loading the renderers.  Adding a document format is one line in
``DOCUMENT_FORMATS`` (and its renderer in ``engine.jobs.output``).
"""

from __future__ import annotations

DOCUMENT_FORMATS: dict[str, str | None] = {
    "html": "html_sha256",  # the HTML the customer receives, hashed at issue
    "txt": "text_sha256",   # a view rendered on demand (hashed at issue by stores of 0.2.0 and before)
}
"""each document format, and the documents column holding the sha256 of the bytes issued in it
(None, or an empty column: nothing to check a rendering against)"""

OUT_FORMATS = ("html", "txt")
"""what ``run --out`` and ``demo`` write of each document and report"""

REPORT_FORMATS = ("html", "txt")
"""the monthly SLA report's formats"""

LIST_FORMATS = ("table", "json", "csv")
"""lists (``notes list``, ``runs``): a table for people, JSON and CSV for scripts"""

SUMMARY_FORMATS = ("table", "json")
"""one result (``run``'s summary, ``evaluate``): a table for people, one JSON object for scripts"""
