"""EN 16931 business terms written as OASIS UBL 2.1: an Invoice, or a CreditNote.

The channel's flavour is in the model (``model.en16931``): Peppol BIS Billing 3.0 (its
CustomizationID and ProfileID, one note, both endpoints), the French flow (ProfileID S1,
notes coded ``#PMT#text``, since UBL has no element for a note's subject), plain EN 16931,
or plain UBL 2.1 without a CustomizationID where EN 16931 cannot carry the currency.
Element order follows the UBL 2.1 schemas (a credit note has no header DueDate and uses
CreditNoteLine and CreditedQuantity).
"""

from __future__ import annotations

from .model import EnInvoice, EnParty, rate_text
from .xml import Element, root, sub, to_bytes

INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


def cbc(parent: Element, tag: str, text: str | None = None, **attributes: str | None) -> Element:
    return sub(parent, CBC, tag, text, **attributes)


def cac(parent: Element, tag: str) -> Element:
    return sub(parent, CAC, tag)


def _party(parent: Element, tag: str, party: EnParty) -> None:
    p = cac(cac(parent, tag), "Party")
    if party.endpoint:
        cbc(p, "EndpointID", party.endpoint.id, schemeID=party.endpoint.scheme)  # BT-34 / BT-49
    for ident in party.identifiers:                                   # BT-29 / BT-46
        cbc(cac(p, "PartyIdentification"), "ID", ident.id, schemeID=ident.scheme)
    address = party.address
    postal = cac(p, "PostalAddress")                                  # BG-5 / BG-8
    if address.line1:
        cbc(postal, "StreetName", address.line1)                      # BT-35 / BT-50
    if address.line2:
        cbc(postal, "AdditionalStreetName", address.line2)            # BT-36 / BT-51
    if address.city:
        cbc(postal, "CityName", address.city)                         # BT-37 / BT-52
    if address.postcode:
        cbc(postal, "PostalZone", address.postcode)                   # BT-38 / BT-53
    if address.region:
        cbc(postal, "CountrySubentity", address.region)               # BT-39 / BT-54
    cbc(cac(postal, "Country"), "IdentificationCode", address.country)  # BT-40 / BT-55
    if party.vat_id:
        scheme = cac(p, "PartyTaxScheme")
        cbc(scheme, "CompanyID", party.vat_id)                        # BT-31 / BT-48
        cbc(cac(scheme, "TaxScheme"), "ID", "VAT")
    legal = cac(p, "PartyLegalEntity")
    cbc(legal, "RegistrationName", party.name)                        # BT-27 / BT-44
    if party.legal_id:
        cbc(legal, "CompanyID", party.legal_id.id, schemeID=party.legal_id.scheme)  # BT-30 / BT-47
    if party.legal_info:
        cbc(legal, "CompanyLegalForm", party.legal_info)              # BT-33
    if party.email:
        cbc(cac(p, "Contact"), "ElectronicMail", party.email)         # BT-43 / BT-58


def render(invoice: EnInvoice) -> bytes:
    amount, currency = invoice.amount, invoice.currency
    credit = invoice.is_credit_note
    namespace = CREDIT_NOTE if credit else INVOICE
    document = root(namespace, "CreditNote" if credit else "Invoice", {None: namespace, "cac": CAC, "cbc": CBC})
    if invoice.customization:
        cbc(document, "CustomizationID", invoice.customization)      # BT-24
    if invoice.process:
        cbc(document, "ProfileID", invoice.process)                   # BT-23
    cbc(document, "ID", invoice.number)                               # BT-1
    cbc(document, "IssueDate", invoice.issue_date.isoformat())        # BT-2
    cbc(document, "CreditNoteTypeCode" if credit else "InvoiceTypeCode", invoice.type_code)  # BT-3
    for subject, text in invoice.notes:                               # BG-1: BT-21 in the text, #CODE#
        cbc(document, "Note", f"#{subject}#{text}" if subject else text)
    cbc(document, "DocumentCurrencyCode", currency)                   # BT-5
    cbc(document, "BuyerReference", invoice.buyer_reference)          # BT-10
    period = cac(document, "InvoicePeriod")                           # BG-14
    cbc(period, "StartDate", invoice.period[0].isoformat())           # BT-73
    cbc(period, "EndDate", invoice.period[1].isoformat())             # BT-74
    for number, issued in invoice.preceding:                          # BG-3
        reference = cac(cac(document, "BillingReference"), "InvoiceDocumentReference")
        cbc(reference, "ID", number)                                  # BT-25
        cbc(reference, "IssueDate", issued.isoformat())               # BT-26
    cbc(cac(document, "ContractDocumentReference"), "ID", invoice.contract_reference)  # BT-12
    if invoice.corrects:                                              # BG-24
        reference = cac(document, "AdditionalDocumentReference")
        cbc(reference, "ID", invoice.corrects)                        # BT-122
        cbc(reference, "DocumentDescription", invoice.corrects_label)  # BT-123
    _party(document, "AccountingSupplierParty", invoice.seller)       # BG-4
    _party(document, "AccountingCustomerParty", invoice.buyer)        # BG-7
    if invoice.payment_means:                                         # BG-16
        means = cac(document, "PaymentMeans")
        cbc(means, "PaymentMeansCode", invoice.payment_means)         # BT-81
        if invoice.iban:
            account = cac(means, "PayeeFinancialAccount")
            cbc(account, "ID", invoice.iban)                          # BT-84
            if invoice.bic:
                cbc(cac(account, "FinancialInstitutionBranch"), "ID", invoice.bic)  # BT-86
    cbc(cac(document, "PaymentTerms"), "Note", invoice.payment_terms)  # BT-20
    total = cac(document, "TaxTotal")
    cbc(total, "TaxAmount", amount(invoice.vat_total), currencyID=currency)  # BT-110
    for vat in invoice.vat:                                           # BG-23
        subtotal = cac(total, "TaxSubtotal")
        cbc(subtotal, "TaxableAmount", amount(vat.base), currencyID=currency)  # BT-116
        cbc(subtotal, "TaxAmount", amount(vat.tax), currencyID=currency)       # BT-117
        category = cac(subtotal, "TaxCategory")
        cbc(category, "ID", vat.category)                             # BT-118
        if vat.category != "O":
            cbc(category, "Percent", rate_text(vat.rate))             # BT-119
        if vat.reason_code:
            cbc(category, "TaxExemptionReasonCode", vat.reason_code)  # BT-121
        if vat.reason:
            cbc(category, "TaxExemptionReason", vat.reason)           # BT-120
        cbc(cac(category, "TaxScheme"), "ID", "VAT")
    totals = cac(document, "LegalMonetaryTotal")                      # BG-22
    cbc(totals, "LineExtensionAmount", amount(invoice.line_total), currencyID=currency)  # BT-106
    cbc(totals, "TaxExclusiveAmount", amount(invoice.line_total), currencyID=currency)   # BT-109
    cbc(totals, "TaxInclusiveAmount", amount(invoice.total), currencyID=currency)        # BT-112
    cbc(totals, "PayableAmount", amount(invoice.total), currencyID=currency)             # BT-115
    for line in invoice.lines:                                        # BG-25
        element = cac(document, "CreditNoteLine" if credit else "InvoiceLine")
        cbc(element, "ID", line.id)                                   # BT-126
        cbc(element, "CreditedQuantity" if credit else "InvoicedQuantity", f"{line.quantity:f}",
            unitCode=line.unit)                                       # BT-129, BT-130
        cbc(element, "LineExtensionAmount", amount(line.net), currencyID=currency)  # BT-131
        # BG-26 (the line's period) is left out: every line bills the document's period, BG-14.
        item = cac(element, "Item")
        if line.description:
            cbc(item, "Description", line.description)                # BT-154
        cbc(item, "Name", line.name)                                  # BT-153
        category = cac(item, "ClassifiedTaxCategory")
        cbc(category, "ID", line.category)                            # BT-151
        if line.category != "O":  # BR-O-05: no rate on a line not subject to VAT
            cbc(category, "Percent", rate_text(line.rate))            # BT-152
        cbc(cac(category, "TaxScheme"), "ID", "VAT")
        cbc(cac(element, "Price"), "PriceAmount", amount(line.price), currencyID=currency)  # BT-146
    return to_bytes(document)
