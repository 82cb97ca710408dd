"""E-invoices: an issued document as EN 16931 business terms, written as CII or UBL, and validated.

``model`` maps a document onto the business terms once; ``cii`` and ``ubl`` write them
out; ``xml`` is the home of lxml; ``validation`` runs the official schemas and schematron
rules offline; ``artefacts`` says where those files are.  ``render_xml`` is the one call
the rest of slabill makes.
"""

from __future__ import annotations

from ..documents import Document
from .model import CHANNELS, en16931

SUFFIX = {"facturx": "cii.xml", "ubl": "ubl.xml", "peppol": "peppol.xml", "fr_ctc": "fr-ctc.xml"}
"""the file name a channel's XML is written under: ``<number>.<suffix>``"""


def validate_document(document: Document, xml: bytes):
    """Every schema and rule the document's e-invoice must pass (a ``validation.Report``); the French
    CTC rules join in for a document of the French flow in a French channel."""
    from .model import in_french_flow
    from .validation import validate

    channel = document.e_invoice
    return validate(xml, channel, french=in_french_flow(document) and channel in ("facturx", "fr_ctc"))


def render_xml(document: Document, channel: str) -> bytes:
    """The document's e-invoice for ``channel`` (facturx, ubl, peppol, fr_ctc), UTF-8 bytes."""
    from . import cii, ubl

    invoice = en16931(document, channel)
    return cii.render(invoice) if channel == "facturx" else ubl.render(invoice)


__all__ = ["CHANNELS", "SUFFIX", "render_xml", "validate_document"]
