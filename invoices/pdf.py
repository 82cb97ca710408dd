"""Documents as PDF/A-3b: the HTML the customer receives, printed, fonts embedded, for archives.

The PDF is rendered from the document's own HTML (``invoices.render``) by WeasyPrint, with a
print stylesheet added beside it that names fonts for every script a document may hold:
DejaVu Sans for Latin, Noto Sans CJK JP for Japanese, Noto Naskh Arabic for Arabic (the
fonts the Makefile installs; WeasyPrint embeds the subset of each that a page uses).  A
Factur-X customer's PDF carries the CII XML as an associated file (``factur-x.xml``,
relationship Data) and XMP metadata declaring PDF/A-3 and the Factur-X profile, through
the ``factur-x`` package.

The bytes are deterministic: every date in the file (the Info dictionary, the XMP, the
embedded file's) is the document's issue date at midnight UTC, and the file identifier is
derived from the content, so the same document, renderer and fonts give the same bytes.
After factur-x has written the file, pikepdf makes the Info dictionary and the XMP agree,
as PDF/A requires (ISO 19005-3, 6.7.3), and writes it again, dropping the objects pypdf
left behind.

This module is the home of WeasyPrint, factur-x and pikepdf.
"""

from __future__ import annotations

import io
from datetime import date
from functools import lru_cache
from importlib.metadata import version

from .documents import Document
from .formats import language_of
from .render import render

FONTS = {
    "ja": '"Noto Sans CJK JP", "DejaVu Sans", "Noto Naskh Arabic", sans-serif',
    "ar": '"Noto Naskh Arabic", "DejaVu Sans", "Noto Sans CJK JP", sans-serif',
}
LATIN = '"DejaVu Sans", "Noto Sans CJK JP", "Noto Naskh Arabic", sans-serif'

PRINT_CSS = """
@page { size: A4; margin: 14mm 14mm 16mm 14mm; }
html { font-size: 9pt; }
body { font-family: %(fonts)s; margin: 0; max-width: none; }
h1 { white-space: normal; font-size: 1.45em; }
header > div:first-child { flex: 1 1 auto; }
header .issuer { flex: 0 0 40%%; }
"""


def producer() -> str:
    """The renderer's and fonts' versions: another version may give other bytes for the same document."""
    return (f"WeasyPrint {version('weasyprint')}; factur-x {version('factur-x')}; pikepdf {version('pikepdf')}; "
            f"fonts DejaVu, Noto")


@lru_cache(maxsize=1)
def _fonts():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def render_pdf(document: Document, xml: bytes | None = None) -> bytes:
    """The document as PDF/A-3b; ``xml``, a Factur-X CII, is embedded as ``factur-x.xml``."""
    from weasyprint import CSS, HTML

    language = language_of(document.locale)
    # WeasyPrint lays text out with Pango, which knows Unicode's isolates but not <bdi>, and orders
    # an element's boxes itself: each <bdi> becomes a first-strong isolate (FSI ... PDI) in the text,
    # so that on a right-to-left page "27 quai de la Seine" and "SIREN: 832476915" keep their order.
    # The HTML issued is not changed.
    html = render(document, "html").replace("<bdi>", "\u2068").replace("</bdi>", "\u2069")
    css = CSS(string=PRINT_CSS % {"fonts": FONTS.get(language, LATIN)}, font_config=_fonts())
    pdf = HTML(string=html).write_pdf(stylesheets=[css], font_config=_fonts(), pdf_variant="pdf/a-3b",
                                      pdf_identifier=b"slabill " + document.number.encode("utf-8"))
    if xml is not None:
        from facturx import generate_from_binary

        is_credit = document.kind == "credit_note" or document.gross_total < 0
        pdf = generate_from_binary(
            pdf, xml, flavor="factur-x", level="en16931", check_xsd=False, check_schematron=False,
            pdf_metadata={"author": document.issuer.name, "keywords": "Factur-X, EN 16931",
                          "title": f"{document.issuer.name}: {document.number}",
                          "subject": f"{'Credit note' if is_credit else 'Invoice'} {document.number} "
                                     f"({document.issue_date.isoformat()})"},
            lang=document.locale.replace("_", "-"), afrelationship="data")
    return _settle(pdf, document.issue_date)


def _settle(pdf: bytes, issued: date) -> bytes:
    """Every date set to the issue date, Info and XMP made to agree, a content-derived file id."""
    import pikepdf

    stamp = f"D:{issued:%Y%m%d}000000+00'00'"
    instant = f"{issued.isoformat()}T00:00:00+00:00"
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        info = doc.docinfo
        info["/CreationDate"] = stamp
        info["/ModDate"] = stamp
        with doc.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as meta:
            meta["xmp:CreateDate"] = instant
            meta["xmp:ModifyDate"] = instant
            meta["xmp:MetadataDate"] = instant
            if "/Producer" in info:
                meta["pdf:Producer"] = str(info.Producer)
            if "/Keywords" in info:
                meta["pdf:Keywords"] = str(info.Keywords)
            if "/Creator" in info:
                meta["xmp:CreatorTool"] = str(info.Creator)
        for spec in doc.Root.get("/AF", []):
            params = spec.get("/EF", {}).get("/F", {}).get("/Params") if "/EF" in spec else None
            if params is not None and "/ModDate" in params:
                params["/ModDate"] = stamp
        out = io.BytesIO()
        doc.save(out, deterministic_id=True)
        return out.getvalue()


def inspect(pdf: bytes) -> dict:
    """What a PDF really holds: its associated files, its XMP claims, its fonts and whether each is embedded."""
    import pikepdf

    facts: dict = {}
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        root = doc.Root
        facts["attachments"] = [{"name": str(spec.get("/UF", spec.get("/F"))),
                                 "relationship": str(spec.get("/AFRelationship")),
                                 "subtype": str(spec.EF.F.get("/Subtype")) if "/EF" in spec else None,
                                 "data": bytes(spec.EF.F.read_bytes()) if "/EF" in spec else b""}
                                for spec in root.get("/AF", [])]
        names = root.get("/Names", {}).get("/EmbeddedFiles", {}).get("/Names", [])
        facts["embedded_names"] = [str(names[i]) for i in range(0, len(names), 2)]
        facts["output_intents"] = [str(intent.get("/S")) for intent in root.get("/OutputIntents", [])]
        facts["xmp"] = bytes(root.Metadata.read_bytes()).decode("utf-8")
        meta = doc.open_metadata()
        facts["pdfaid_part"], facts["pdfaid_conformance"] = meta.get("pdfaid:part"), meta.get("pdfaid:conformance")
        fonts = {}
        for page in doc.pages:
            for _, font in (page.Resources.get("/Font") or {}).items():
                descendants = font.get("/DescendantFonts")
                target = descendants[0] if descendants is not None else font
                descriptor = target.get("/FontDescriptor")
                fonts[str(font.get("/BaseFont"))] = bool(
                    descriptor is not None and any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")))
        facts["fonts"] = fonts
        facts["info"] = {str(key): str(value) for key, value in doc.docinfo.items()}
        facts["pages"] = len(doc.pages)
    return facts
