"""EN 16931 business terms written as UN/CEFACT CII D16B, in the Factur-X EN 16931 profile.

Element order follows the Factur-X EN 16931 schema; each comment names the business term.
"""

from __future__ import annotations

from datetime import date

from .model import EnInvoice, EnParty, rate_text
from .xml import Element, root, sub, to_bytes

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NAMESPACES = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}


def ram(parent: Element, tag: str, text: str | None = None, **attributes: str | None) -> Element:
    return sub(parent, RAM, tag, text, **attributes)


def _date(parent: Element, tag: str, value: date, qualified: bool = False) -> None:
    text = f"{value.year:04d}{value.month:02d}{value.day:02d}"  # format 102, CCYYMMDD (strftime is slower)
    sub(ram(parent, tag), QDT if qualified else UDT, "DateTimeString", text, format="102")


def _party(parent: Element, tag: str, party: EnParty) -> None:
    p = ram(parent, tag)
    for ident in party.identifiers:                                   # BT-29 / BT-46 without a scheme
        if not ident.scheme:
            ram(p, "ID", ident.id)
    for ident in party.identifiers:                                   # BT-29 / BT-46 in an ISO 6523 scheme
        if ident.scheme:
            ram(p, "GlobalID", ident.id, schemeID=ident.scheme)
    ram(p, "Name", party.name)                                        # BT-27 / BT-44
    if party.legal_info:
        ram(p, "Description", party.legal_info)                       # BT-33
    if party.legal_id:
        ram(ram(p, "SpecifiedLegalOrganization"), "ID", party.legal_id.id,
            schemeID=party.legal_id.scheme)                           # BT-30 / BT-47
    if party.email:
        contact = ram(p, "DefinedTradeContact")                       # BG-6 / BG-9
        ram(ram(contact, "EmailURIUniversalCommunication"), "URIID", party.email)  # BT-43 / BT-58
    address = party.address
    postal = ram(p, "PostalTradeAddress")                             # BG-5 / BG-8
    if address.postcode:
        ram(postal, "PostcodeCode", address.postcode)                 # BT-38 / BT-53
    if address.line1:
        ram(postal, "LineOne", address.line1)                         # BT-35 / BT-50
    if address.line2:
        ram(postal, "LineTwo", address.line2)                         # BT-36 / BT-51
    if address.city:
        ram(postal, "CityName", address.city)                         # BT-37 / BT-52
    ram(postal, "CountryID", address.country)                         # BT-40 / BT-55
    if address.region:
        ram(postal, "CountrySubDivisionName", address.region)         # BT-39 / BT-54
    if party.endpoint:
        ram(ram(p, "URIUniversalCommunication"), "URIID", party.endpoint.id,
            schemeID=party.endpoint.scheme)                           # BT-34 / BT-49
    if party.vat_id:
        ram(ram(p, "SpecifiedTaxRegistration"), "ID", party.vat_id, schemeID="VA")  # BT-31 / BT-48


def render(invoice: EnInvoice) -> bytes:
    amount = invoice.amount
    document = root(RSM, "CrossIndustryInvoice", NAMESPACES)
    context = sub(document, RSM, "ExchangedDocumentContext")
    if invoice.process:
        ram(ram(context, "BusinessProcessSpecifiedDocumentContextParameter"), "ID", invoice.process)  # BT-23
    ram(ram(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", invoice.customization)    # BT-24

    header = sub(document, RSM, "ExchangedDocument")
    ram(header, "ID", invoice.number)                                 # BT-1
    ram(header, "TypeCode", invoice.type_code)                        # BT-3
    _date(header, "IssueDateTime", invoice.issue_date)                # BT-2
    for subject, text in invoice.notes:                               # BG-1
        note = ram(header, "IncludedNote")
        ram(note, "Content", text)                                    # BT-22
        if subject:
            ram(note, "SubjectCode", subject)                         # BT-21

    transaction = sub(document, RSM, "SupplyChainTradeTransaction")
    for line in invoice.lines:                                        # BG-25
        item = ram(transaction, "IncludedSupplyChainTradeLineItem")
        ram(ram(item, "AssociatedDocumentLineDocument"), "LineID", line.id)  # BT-126
        product = ram(item, "SpecifiedTradeProduct")
        ram(product, "Name", line.name)                               # BT-153
        if line.description:
            ram(product, "Description", line.description)             # BT-154
        ram(ram(ram(item, "SpecifiedLineTradeAgreement"), "NetPriceProductTradePrice"), "ChargeAmount",
            amount(line.price))                                       # BT-146
        ram(ram(item, "SpecifiedLineTradeDelivery"), "BilledQuantity", f"{line.quantity:f}",
            unitCode=line.unit)                                       # BT-129, BT-130
        settlement = ram(item, "SpecifiedLineTradeSettlement")
        tax = ram(settlement, "ApplicableTradeTax")
        ram(tax, "TypeCode", "VAT")
        ram(tax, "CategoryCode", line.category)                       # BT-151
        if line.category != "O":  # BR-O-05: no rate on a line not subject to VAT
            ram(tax, "RateApplicablePercent", rate_text(line.rate))   # BT-152
        # BG-26 (the line's period) is left out: every line bills the document's period, BG-14.
        ram(ram(settlement, "SpecifiedTradeSettlementLineMonetarySummation"), "LineTotalAmount",
            amount(line.net))                                         # BT-131

    agreement = ram(transaction, "ApplicableHeaderTradeAgreement")
    ram(agreement, "BuyerReference", invoice.buyer_reference)         # BT-10
    _party(agreement, "SellerTradeParty", invoice.seller)             # BG-4
    _party(agreement, "BuyerTradeParty", invoice.buyer)               # BG-7
    ram(ram(agreement, "ContractReferencedDocument"), "IssuerAssignedID", invoice.contract_reference)  # BT-12
    if invoice.corrects:                                              # BG-24
        reference = ram(agreement, "AdditionalReferencedDocument")
        ram(reference, "IssuerAssignedID", invoice.corrects)          # BT-122
        ram(reference, "TypeCode", "916")
        ram(reference, "Name", invoice.corrects_label)                # BT-123

    # The delivery of services is the period (BG-14 below); an empty element here would be
    # flagged by the Factur-X rules (no empty elements), so it carries the period's end (BT-72).
    delivery = ram(transaction, "ApplicableHeaderTradeDelivery")
    _date(ram(delivery, "ActualDeliverySupplyChainEvent"), "OccurrenceDateTime", invoice.period[1])

    settlement = ram(transaction, "ApplicableHeaderTradeSettlement")
    ram(settlement, "InvoiceCurrencyCode", invoice.currency)          # BT-5
    if invoice.payment_means:                                         # BG-16
        means = ram(settlement, "SpecifiedTradeSettlementPaymentMeans")
        ram(means, "TypeCode", invoice.payment_means)                 # BT-81
        if invoice.iban:
            ram(ram(means, "PayeePartyCreditorFinancialAccount"), "IBANID", invoice.iban)  # BT-84
        if invoice.bic:
            ram(ram(means, "PayeeSpecifiedCreditorFinancialInstitution"), "BICID", invoice.bic)  # BT-86
    for vat in invoice.vat:                                           # BG-23
        tax = ram(settlement, "ApplicableTradeTax")
        ram(tax, "CalculatedAmount", amount(vat.tax))                 # BT-117
        ram(tax, "TypeCode", "VAT")
        if vat.reason:
            ram(tax, "ExemptionReason", vat.reason)                   # BT-120
        ram(tax, "BasisAmount", amount(vat.base))                     # BT-116
        ram(tax, "CategoryCode", vat.category)                        # BT-118
        if vat.reason_code:
            ram(tax, "ExemptionReasonCode", vat.reason_code)          # BT-121
        ram(tax, "RateApplicablePercent", rate_text(vat.rate))        # BT-119
    period = ram(settlement, "BillingSpecifiedPeriod")                # BG-14
    _date(period, "StartDateTime", invoice.period[0])                 # BT-73
    _date(period, "EndDateTime", invoice.period[1])                   # BT-74
    ram(ram(settlement, "SpecifiedTradePaymentTerms"), "Description", invoice.payment_terms)  # BT-20
    totals = ram(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")  # BG-22
    ram(totals, "LineTotalAmount", amount(invoice.line_total))        # BT-106
    ram(totals, "TaxBasisTotalAmount", amount(invoice.line_total))    # BT-109
    ram(totals, "TaxTotalAmount", amount(invoice.vat_total), currencyID=invoice.currency)  # BT-110
    ram(totals, "GrandTotalAmount", amount(invoice.total))            # BT-112
    ram(totals, "DuePayableAmount", amount(invoice.total))            # BT-115
    for number, issued in invoice.preceding:                          # BG-3 (Factur-X 1.09 repeats it)
        reference = ram(settlement, "InvoiceReferencedDocument")
        ram(reference, "IssuerAssignedID", number)                    # BT-25
        _date(reference, "FormattedIssueDateTime", issued, qualified=True)  # BT-26
    return to_bytes(document)
