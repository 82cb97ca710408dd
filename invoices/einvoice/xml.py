"""The home of lxml: building, writing and safely reading XML, and XML Schema.

Inbound XML (a document read back for validation, a file a user hands over) is parsed
without network access, DTDs or entities, so no file can make slabill fetch or expand
anything.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from lxml import etree

Element = etree._Element

_SAFE = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def root(namespace: str, tag: str, nsmap: dict[str | None, str]) -> Element:
    return etree.Element(f"{{{namespace}}}{tag}", nsmap=nsmap)


_SubElement = etree.SubElement


def sub(parent: Element, namespace: str, tag: str, text: str | None = None, **attributes: str | None) -> Element:
    """A child element; attributes given as None are left out."""
    # Called about a hundred times per document at issue: no work for attributes it has not.
    element = _SubElement(parent, "{" + namespace + "}" + tag)
    if attributes:
        for key, value in attributes.items():
            if value is not None:
                element.set(key, value)
    if text is not None:
        element.text = text
    return element


def to_bytes(element: Element) -> bytes:
    """UTF-8 with a declaration, indented: the same tree always gives the same bytes."""
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def parse(data: bytes) -> Element:
    """XML bytes read safely (no network, no DTD, no entities); raises ValueError if not XML."""
    try:
        return etree.fromstring(data, _SAFE)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from None


@lru_cache(maxsize=None)
def schema(path: Path) -> etree.XMLSchema:
    """An XML Schema, compiled once per process."""
    if not path.is_file():
        raise FileNotFoundError(f"validation artefact missing: {path}")
    return etree.XMLSchema(etree.parse(str(path), _SAFE))


def schema_errors(element: Element, path: Path) -> list[tuple[str, int]]:
    """(message, line) for each way ``element`` breaks the schema at ``path``; empty when valid."""
    compiled = schema(path)
    if compiled.validate(element):
        return []
    return [(error.message, error.line) for error in compiled.error_log]
