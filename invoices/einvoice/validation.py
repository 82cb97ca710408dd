"""Validating e-invoices offline with the official artefacts: XML Schema, then schematron.

The schema is checked with lxml; each schematron, compiled to XSLT, runs in SaxonC-HE
(saxonche), every stylesheet compiled once per process and kept.  An error is an SVRL
``failed-assert`` whose flag is ``fatal``, ``error`` or absent: the Factur-X stylesheets
leave the flag off their asserts, so a check on ``fatal`` alone would pass broken files.
A missing artefact, or a stylesheet that produces no SVRL, raises: nothing is ever called
valid without having been checked.  (factur-x's own ``xml_check_schematron`` posts to an
HTTP server and passes silently when none answers, so it is not used.)

This module is the home of saxonche.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from . import artefacts
from .xml import parse, schema_errors

SVRL = "{http://purl.oclc.org/dsdl/svrl}"
ERROR_FLAGS = (None, "", "fatal", "error")


@dataclass(frozen=True)
class Finding:
    """One thing a validator said of a document."""

    source: str
    """"xsd", or the stylesheet's name"""
    rule: str | None
    """the rule id, e.g. BR-CO-15 (None for the schema)"""
    flag: str | None
    """fatal | error | warning | information | None (absent, which is an error)"""
    text: str
    location: str | None

    @property
    def is_error(self) -> bool:
        return self.flag in ERROR_FLAGS

    def __str__(self) -> str:
        return f"{self.rule or self.source}: {self.text}"


@dataclass
class Report:
    """What every validator a channel needs said of one document."""

    channel: str
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    """the schema and stylesheets that ran, by file name"""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def ok(self) -> bool:
        return not self.errors

    def rules(self) -> set[str]:
        """The ids of the rules broken (XSD for the schema)."""
        return {f.rule or "XSD" for f in self.errors}


class _Saxon:
    """One SaxonC processor per process and the stylesheets it compiled; created on first use,
    so a worker process compiles its own after it is started."""

    def __init__(self) -> None:
        from saxonche import PySaxonProcessor

        self.processor = PySaxonProcessor(license=False)
        # Only file: (stylesheets read their code lists by document() from beside them); never the network.
        # saxonche 13 blocks file: too when this is "", so it is named.
        self.processor.set_configuration_property("http://saxon.sf.net/feature/allowedProtocols", "file")
        self.compiler = self.processor.new_xslt30_processor()
        self.executables: dict[Path, object] = {}
        self.lock = threading.Lock()

    def executable(self, path: Path):
        with self.lock:
            if path not in self.executables:
                if not path.is_file():
                    raise FileNotFoundError(f"validation artefact missing: {path}")
                # From the file, not a string: the stylesheet's relative document() calls need its location.
                self.executables[path] = self.compiler.compile_stylesheet(stylesheet_file=str(path))
            return self.executables[path]


_saxon: _Saxon | None = None


def _processor() -> _Saxon:
    global _saxon
    if _saxon is None:
        _saxon = _Saxon()
    return _saxon


def schematron(xml: bytes, stylesheet: Path) -> list[Finding]:
    """The failed asserts and reports of one schematron stylesheet on a document."""
    saxon = _processor()
    executable = saxon.executable(stylesheet)
    node = saxon.processor.parse_xml(xml_text=xml.decode("utf-8"))
    output = executable.transform_to_string(xdm_node=node)
    if not output:
        raise RuntimeError(f"{stylesheet.name} produced no SVRL: that is not a pass")
    svrl = parse(output.encode("utf-8"))
    if svrl.tag != f"{SVRL}schematron-output":
        raise RuntimeError(f"{stylesheet.name} did not produce SVRL (it gave {svrl.tag})")
    findings = []
    for item in svrl.iter(f"{SVRL}failed-assert", f"{SVRL}successful-report"):
        text = " ".join("".join(item.findtext(f"{SVRL}text") or "").split())
        flag = item.get("flag")
        if item.tag == f"{SVRL}successful-report" and flag is None:
            flag = "information"  # a report informs unless it says it is fatal
        findings.append(Finding(stylesheet.name, item.get("id"), flag, text, item.get("location")))
    return findings


def validate(xml: bytes, channel: str, french: bool = False) -> Report:
    """Check one e-invoice of ``channel``: its schema, then (if it is schema-valid) every
    schematron the channel needs; ``french`` adds the French CTC rules."""
    element = parse(xml)
    credit_note = element.tag.endswith("}CreditNote")
    en16931 = not (channel == "ubl" and element.find("{*}CustomizationID") is None)
    schema, stylesheets = artefacts.for_channel(channel, credit_note, french, en16931)
    report = Report(channel, checked=[schema.name])
    report.findings += [Finding("xsd", None, "fatal", message, f"line {line}")
                        for message, line in schema_errors(element, schema)]
    if report.findings:
        return report  # the rules on a document the schema refuses would say little more
    for stylesheet in stylesheets:
        report.findings += schematron(xml, stylesheet)
        report.checked.append(stylesheet.name)
    return report


def warm(channels: tuple[str, ...] = ("facturx", "ubl", "peppol", "fr_ctc")) -> None:
    """Compile every schema and stylesheet the channels need, once (a benchmark's setup)."""
    from .xml import schema

    for channel in channels:
        for credit_note in (False, True):
            xsd, stylesheets = artefacts.for_channel(channel, credit_note, french=True)
            schema(xsd)
            for stylesheet in stylesheets:
                _processor().executable(stylesheet)
