"""Who is who for tax, and which VAT applies: the terms of INTERFACE.md 6.4 as values.

A contract's VAT is a category of EN 16931's code list UNCL5305 (S standard, AE reverse
charge, E exempt, K intra-EU supply of goods, G export, O outside the scope of VAT, Z zero
rated) with its rate and, but for S and Z, the reason the customer's document must state.
Parties are identified in ISO 6523 schemes (ICD): 0002 a French SIREN, 0009 a SIRET, 0225
an address in the French e-invoicing directory, 0088 a GLN, 99xx a VAT number...

The French identifiers follow from one another where the law makes them so: a French VAT
number is "FR", a two-digit key and the SIREN; a SIRET is the SIREN and five digits.
``siren_of`` reads a party's SIREN from its registration, else from its French VAT number.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any, Literal

from pydantic import model_validator

from .errors import KeyedValueError
from .schema import Frozen, Percent

EInvoice = Literal["facturx", "ubl", "peppol", "fr_ctc", "none"]
"""The structured form a customer receives beside the PDF (a channel is a renderer, not a flag)."""

VatCategory = Literal["S", "AE", "E", "K", "G", "O", "Z"]

CATEGORIES: tuple[str, ...] = ("S", "AE", "E", "K", "G", "O", "Z")

EU_MEMBER_STATES = frozenset({
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT", "LU",
    "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"})
"""The member states of the European Union in 2026 (ISO 3166 codes; Greece is GR, its VAT prefix EL)."""

SCHEME = re.compile(r"^[0-9]{4}$")


class Identifier(Frozen):
    """An identifier in an ISO 6523 scheme (its four-digit ICD), e.g. {scheme: "0002", id: SIREN}."""

    scheme: str
    """the ICD: 0002 SIREN, 0009 SIRET, 0225 French e-invoicing address, 0088 GLN, 9930 German VAT..."""
    id: str

    @model_validator(mode="after")
    def _well_formed(self) -> "Identifier":
        if not SCHEME.match(self.scheme):
            raise KeyedValueError(("scheme",), f"{self.scheme!r} is not an ISO 6523 scheme: four digits, e.g. \"0002\"")
        if not self.id.strip():
            raise KeyedValueError(("id",), "an identifier cannot be empty")
        return self


class PostalAddress(Frozen):
    """An address in the parts e-invoices carry (BT-35 to BT-39); the country is the party's."""

    street: str | None = None
    additional: str | None = None
    city: str | None = None
    postcode: str | None = None
    region: str | None = None


class VatTreatment(Frozen):
    """The VAT a contract's documents apply: a UNCL5305 category, its rate, and why it is not S."""

    category: VatCategory = "S"
    rate: Percent | None = None
    """S: the rate (default ``vat_rate``); every other category: 0"""
    exemption_reason: str | None = None
    """the mention the documents print (BT-120), in the customer's language, e.g. "Autoliquidation\""""
    exemption_code: str | None = None
    """the VATEX code (BT-121), e.g. VATEX-EU-AE"""

    def check_against(self, vat_rate: Decimal) -> None:
        """The rules of INTERFACE.md 6.4 and EN 16931 on a category, its rate and its reason."""
        rate = self.rate if self.rate is not None else vat_rate
        if rate != vat_rate:
            raise KeyedValueError(("vat", "rate"), f"vat.rate {self.rate} and vat_rate {vat_rate} differ: give one")
        if self.category == "S":
            if rate <= 0:
                raise KeyedValueError(("vat", "rate"), "category S (standard) needs a rate above 0; a rate of 0 is "
                                                       "Z (zero rated) or a category with an exemption reason")
            if self.exemption_reason or self.exemption_code:
                raise KeyedValueError(("vat", "exemption_reason"), "category S (standard) takes no exemption reason")
            return
        if rate != 0:
            raise KeyedValueError(("vat", "rate"), f"category {self.category} needs rate 0, not {rate}")
        if self.category == "Z":
            if self.exemption_code:
                # EN 16931 BR-Z-10: a zero-rated breakdown has no exemption reason.
                raise KeyedValueError(("vat", "exemption_code"), "category Z (zero rated) takes no exemption code")
            return
        if not (self.exemption_reason or "").strip() and not self.exemption_code:
            raise KeyedValueError(("vat", "exemption_reason"),
                                  f"category {self.category} needs an exemption_reason (the mention the documents "
                                  "print, e.g. \"Autoliquidation\") or an exemption_code (VATEX)")
        if self.exemption_code and not re.match(r"^VATEX-[A-Z0-9-]+$", self.exemption_code):
            raise KeyedValueError(("vat", "exemption_code"),
                                  f"{self.exemption_code!r} is not a VATEX code such as VATEX-EU-AE")


def check_party_identifiers(party: Any) -> None:
    """SIREN, SIRET and electronic addresses as the French rules check them (BR-FR-09, -10, -23)."""
    registration = party.registration
    if registration is not None and registration.scheme == "0002" and not re.fullmatch(r"[0-9]{9}", registration.id):
        raise KeyedValueError(("registration", "id"), f"a SIREN (scheme 0002) has 9 digits, not {registration.id!r}")
    siren = siren_of(party)
    if party.siret is not None:
        if not re.fullmatch(r"[0-9]{14}", party.siret):
            raise KeyedValueError(("siret",), f"a SIRET has 14 digits, not {party.siret!r}")
        if siren is not None and not party.siret.startswith(siren):
            raise KeyedValueError(("siret",), f"the SIRET {party.siret} does not start with the SIREN {siren}")
    endpoint = party.endpoint
    if endpoint is not None and endpoint.scheme == "0225" and not re.fullmatch(r"[A-Za-z0-9_.\-]{1,125}", endpoint.id):
        raise KeyedValueError(("endpoint", "id"), "a French e-invoicing address (0225) uses only letters, digits "
                                                  "and - _ . (at most 125)")


def siren_of(party: Any) -> str | None:
    """A French party's SIREN: its registration under scheme 0002, else the last nine digits of its
    French VAT number (FR + a two-digit key + the SIREN), else None."""
    registration = party.registration
    if registration is not None and registration.scheme == "0002":
        return registration.id
    vat_id = (party.vat_id or "").replace(" ", "")
    if party.country == "FR" and re.fullmatch(r"FR[0-9A-Z]{2}[0-9]{9}", vat_id):
        return vat_id[4:]
    return None


def is_eu_vat_number(vat_id: str | None) -> bool:
    """Whether a tax number is an EU-style VAT number, starting with its ISO country prefix
    (EN 16931 BR-CO-09); Japan's T-number or Bahrain's TRN is a tax number of another kind."""
    return bool(vat_id) and re.match(r"^[A-Z]{2}[0-9A-Z+*.]{2,12}$", vat_id.replace(" ", "")) is not None


def in_french_flow(issuer: Any, customer: Any) -> bool:
    """A document of the French e-invoicing flow (domestic B2B): issuer and customer in France,
    the customer a business with a SIREN.  International B2B is e-reporting, not this flow."""
    return issuer.country == "FR" and customer.country == "FR" and siren_of(customer) is not None
