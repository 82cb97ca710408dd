"""E-invoices and PDF/A: every document validates with the official artefacts, broken ones fail
with the expected rules, the PDF/A-3 holds what it claims, and the audit catches an edited file.

The validators are the real ones (XML Schema in lxml, the EN 16931, Factur-X, Peppol and French
CTC schematron rules in SaxonC), offline, as ``invoices.einvoice.validation`` runs them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import sqlite3
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from engine.cli import app
from engine.core.errors import InputError
from engine.core.model import Contract, Issuer
from engine.core.money import Rounding
from engine.core.period import Period
from engine.jobs.demo import run_demo
from engine.jobs.output import write_documents
from engine.jobs.run import monthly_run
from engine.loading.contracts import load_book
from engine.loading.measurements import load_measurements
from engine.loading.rates import load_rates
from engine.loading.rulesets import load_rule_files, rule_set_files
from engine.store import Store
from invoices.documents import Billed, Document, Issued, Line, Owed, exemption_reasons, plan_documents, without_vat
from invoices.einvoice import render_xml, validate_document
from invoices.einvoice.model import en16931, in_french_flow
from invoices.einvoice.validation import validate
from invoices.einvoice.xml import parse, to_bytes
from tests.conftest import ROOT

CII = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
       "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
UBL = {"cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
       "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"}
ISSUED_ON = date(2026, 11, 2)


def _now():
    return datetime(2026, 11, 2, 6, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo, run once: its store and the folder it wrote every format into."""
    out = tmp_path_factory.mktemp("demo")
    result = run_demo(out, None, ISSUED_ON, _now)
    store = Store(f"sqlite:///{result.database}")
    yield store, out, result
    store.close()


def documents_of(store: Store) -> list[tuple[object, Document]]:
    return [(row, Document.from_json(json.loads(row.content_json))) for row in store.documents()]


# --- every document the demo and the scenarios issue validates ------------------------------------------------

def test_every_demo_document_passes_its_channels_schema_and_rules(demo):
    store, out, _ = demo
    seen = {}
    for row, document in documents_of(store):
        xml = (out / next(p.name for p in out.glob(f"{row.number}.*.xml"))).read_bytes()
        assert hashlib.sha256(xml).hexdigest() == row.xml_sha256  # the file written is the one issued
        report = validate_document(document, xml)
        assert report.ok, (row.number, [str(e) for e in report.errors])
        seen[row.number] = (document.e_invoice, tuple(report.checked))
    # Each channel ran its own artefacts: Factur-X (and the French rules for a French customer),
    # the French CTC UBL, Peppol, and plain UBL 2.1 (dinars: its schema only).
    assert seen["AV-2026-000001"] == ("facturx", ("Factur-X_EN16931.xsd", "FACTUR-X_EN16931.xslt",
                                                  "BR-FR-Flux2-Schematron-CII.xslt"))
    assert seen["AV-2026-000002"] == ("fr_ctc", ("UBL-CreditNote-2.1.xsd", "EN16931-UBL-validation.xslt",
                                                 "BR-FR-Flux2-Schematron-UBL.xslt"))
    assert seen["ADJ-2026-000002"] == ("peppol", ("UBL-Invoice-2.1.xsd", "EN16931-UBL-validation.xslt",
                                                  "PEPPOL-EN16931-UBL.xsl"))
    assert seen["ADJ-2026-000004"] == ("ubl", ("UBL-CreditNote-2.1.xsd",))
    assert seen["AV-2026-000004"] == ("facturx", ("Factur-X_EN16931.xsd", "FACTUR-X_EN16931.xslt"))


SCENARIOS = sorted(p.name for p in (ROOT / "fixtures" / "scenarios").iterdir() if (p / "contracts.yaml").is_file())


def scenario_periods(folder: Path) -> list[str]:
    """The periods a scenario's expected output names, in order (one, or several runs)."""
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    return [expected["period"]] if "period" in expected else [run["period"] for run in expected["runs"]]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_document_validates(scenario, tmp_path):
    # Each period the scenario is about is run, and every document it issues is written in every
    # format its customer takes: write_documents refuses an e-invoice that breaks a rule, so that
    # it returns is the proof; each XML is validated again here, and counted.
    folder = ROOT / "fixtures" / "scenarios" / scenario
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        rules = folder / "rules" if (folder / "rules").is_dir() else ROOT / "rules"
        book = load_book(folder / "contracts.yaml")
        store.load(book=book, rule_sets=load_rule_files(rule_set_files(rules)), rates=load_rates(rules),
                   measurements=load_measurements(folder / "data", book))
        for period in scenario_periods(folder):
            summary = monthly_run(store, Period.parse(period), as_of=ISSUED_ON, now=_now)
            write_documents(store, tmp_path, summary.run_id)
        for row, document in documents_of(store):
            xml = render_xml(document, document.e_invoice)
            report = validate_document(document, xml)
            assert report.ok, (scenario, row.number, [str(e) for e in report.errors])
            assert (tmp_path / f"{row.number}.pdf").is_file()
    finally:
        store.close()


# --- the figures of the XML are the store's ---------------------------------------------------------------

def test_the_demos_credit_note_reads_as_issued(demo):
    store, out, _ = demo
    cii = parse((out / "AV-2026-000001.cii.xml").read_bytes())
    text = lambda path: cii.xpath(path, namespaces=CII)[0].text  # noqa: E731
    assert text("//rsm:ExchangedDocument/ram:TypeCode") == "381"
    # 124.58 availability + 100.00 late tickets = 224.58; 20 % = 44.916 -> 44.92; 269.50 in all.
    assert text("//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:LineTotalAmount") == "224.58"
    assert text("//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:TaxTotalAmount") == "44.92"
    assert text("//ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount") == "269.50"
    # BT-25/BT-26: the invoice that billed October (invoices.csv, period 2026-10); BG-14: October.
    assert text("//ram:InvoiceReferencedDocument/ram:IssuerAssignedID") == "F-2026-1001"
    assert text("//ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime/*") == "20261001"
    assert text("//ram:ApplicableHeaderTradeSettlement/ram:BillingSpecifiedPeriod/ram:StartDateTime/*") == "20261001"
    assert text("//ram:ApplicableHeaderTradeSettlement/ram:BillingSpecifiedPeriod/ram:EndDateTime/*") == "20261031"
    # The issuer's legal identity: SIREN (0002), SIRET (0009), VAT number, RCS and capital.
    assert text("//ram:SellerTradeParty/ram:SpecifiedLegalOrganization/ram:ID") == "832476915"
    assert text("//ram:SellerTradeParty/ram:GlobalID[@schemeID='0009']") == "83247691500017"
    assert text("//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID") == "FR58832476915"
    assert "RCS Paris 832 476 915" in text("//ram:SellerTradeParty/ram:Description")
    notes = {n.findtext("{*}SubjectCode"): n.findtext("{*}Content") for n in cii.iter("{*}IncludedNote")}
    assert set(notes) == {"PMT", "PMD", "AAB", "BAR"} and notes["BAR"] == "B2B"
    assert "40,00" in notes["PMT"] and "D441-5" in notes["PMT"]


def test_reverse_charge_and_outside_the_scope_as_the_demo_issues_them(demo):
    store, out, _ = demo
    german = parse((out / "ADJ-2026-000003.cii.xml").read_bytes())
    vat = german.xpath("//ram:ApplicableHeaderTradeSettlement/ram:ApplicableTradeTax", namespaces=CII)
    assert [(v.findtext("{*}CategoryCode"), v.findtext("{*}BasisAmount"), v.findtext("{*}CalculatedAmount"),
             v.findtext("{*}ExemptionReasonCode")) for v in vat] == [("AE", "360.00", "0.00", "VATEX-EU-AE")]
    assert "Steuerschuldnerschaft des Leistungsempfängers" in vat[0].findtext("{*}ExemptionReason")
    assert "196" in vat[0].findtext("{*}ExemptionReason")
    # The customer is owed 360.00 (settled on the next invoice): a credit note, signs flipped.
    assert german.xpath("//rsm:ExchangedDocument/ram:TypeCode", namespaces=CII)[0].text == "381"
    japanese = parse((out / "AV-2026-000004.cii.xml").read_bytes())
    assert [e.text for e in japanese.iter("{*}CategoryCode")] == ["O", "O"]  # the line and the breakdown
    # Japan's T-number is not an EU VAT number (BR-CO-09): an identifier of the buyer instead.
    assert japanese.xpath("//ram:BuyerTradeParty/ram:ID", namespaces=CII)[0].text == "T8010401098765"
    assert not japanese.xpath("//ram:SpecifiedTaxRegistration", namespaces=CII)  # O: no VAT numbers (BR-O-02)
    # JPY keeps no decimals: 480000, as the store says.
    assert japanese.xpath("//ram:GrandTotalAmount", namespaces=CII)[0].text == "480000"
    dinars = parse((out / "ADJ-2026-000004.ubl.xml").read_bytes())
    assert dinars.find("{*}CustomizationID") is None  # plain UBL 2.1: EN 16931 carries two decimals
    assert dinars.xpath("//cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=UBL)[0].text == "59.188"


# --- broken documents fail with the expected rules: the validators really run ----------------------------------

def _demo_document(store, number) -> Document:
    return Document.from_json(json.loads(store.document(number).content_json))


def _mutated(xml: bytes, change) -> bytes:
    root = parse(xml)
    change(root)
    return to_bytes(root)


def _set(path, value, namespaces):
    def change(root):
        nodes = root.xpath(path, namespaces=namespaces)
        assert nodes, path
        for node in nodes:
            node.text = value
    return change


def _remove(path, namespaces):
    def change(root):
        nodes = root.xpath(path, namespaces=namespaces)
        assert nodes, path
        for node in nodes:
            node.getparent().remove(node)
    return change


@pytest.mark.parametrize("number, channel, path, total", [
    # 269.50 + 0.01: the total no longer adds up
    ("AV-2026-000001", "facturx", "//ram:GrandTotalAmount", "269.51"),
    ("AV-2026-000002", "fr_ctc", "//cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", None),
    ("ADJ-2026-000002", "peppol", "//cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", None),
])
def test_a_wrong_total_breaks_br_co_15(demo, number, channel, path, total):
    store, _, _ = demo
    document = _demo_document(store, number)
    xml = render_xml(document, channel)
    namespaces = CII if channel == "facturx" else UBL
    right = parse(xml).xpath(path, namespaces=namespaces)[0].text
    wrong = total or str(Decimal(right) + Decimal("0.01"))
    report = validate(_mutated(xml, _set(path, wrong, namespaces)), channel, french=in_french_flow(document))
    assert "BR-CO-15" in report.rules(), sorted(report.rules())
    assert validate(xml, channel, french=in_french_flow(document)).ok


@pytest.mark.parametrize("number, channel, path", [
    ("AV-2026-000001", "facturx", "//ram:BuyerTradeParty/ram:Name"),
    ("AV-2026-000002", "fr_ctc", "//cac:AccountingCustomerParty//cac:PartyLegalEntity/cbc:RegistrationName"),
    ("ADJ-2026-000002", "peppol", "//cac:AccountingCustomerParty//cac:PartyLegalEntity/cbc:RegistrationName"),
])
def test_a_missing_buyer_name_breaks_br_07(demo, number, channel, path):
    store, _, _ = demo
    document = _demo_document(store, number)
    namespaces = CII if channel == "facturx" else UBL
    broken = _mutated(render_xml(document, channel), _remove(path, namespaces))
    report = validate(broken, channel, french=in_french_flow(document))
    assert "BR-07" in report.rules(), sorted(report.rules())
    if channel == "facturx":
        # The Factur-X rules leave the flag off: counted as an error all the same.
        assert {f.flag for f in report.errors if f.rule == "BR-07"} == {None}


@pytest.mark.parametrize("channel", ["facturx", "ubl", "peppol"])
def test_reverse_charge_without_an_exemption_reason_breaks_br_ae_10(demo, channel):
    store, _, _ = demo
    document = _demo_document(store, "ADJ-2026-000003")  # the German customer, AE
    if channel == "peppol":
        document = _with_endpoint(document)
    vat = tuple(v.__class__(v.rate, v.base, v.tax, v.category, None, None) for v in document.vat)
    broken = render_xml(Document(**{**vars(document), "vat": vat}), channel)
    report = validate(broken, channel)
    assert "BR-AE-10" in report.rules(), sorted(report.rules())


def _with_endpoint(document: Document) -> Document:
    customer = dataclasses.replace(document.customer, endpoint={"scheme": "9930", "id": "DE298765431"})
    return Document(**{**vars(document), "customer": customer})


def test_the_french_flow_refuses_a_credit_note_without_the_invoice_it_credits(demo):
    store, _, _ = demo
    document = _demo_document(store, "AV-2026-000002")
    alone = Document(**{**vars(document), "invoices": ()})
    report = validate(render_xml(alone, "fr_ctc"), "fr_ctc", french=True)
    assert "BR-FR-CO-05_BT-3" in report.rules()


# --- signs, categories and currencies: a property ----------------------------------------------------------

ISSUER = Issuer(name="Hexanuage SAS", vat_id="FR58832476915", country="FR", address="27 quai de la Seine, Paris",
                registration={"scheme": "0002", "id": "832476915"}, siret="83247691500017",
                endpoint={"scheme": "0225", "id": "832476915"}, legal_form="SAS", share_capital="50000.00",
                trade_register="RCS Paris 832 476 915", iban="FR7630006000011234567890189")

CUSTOMERS = {
    # country, locale, VAT number, and the categories a French issuer would apply to it
    "FR": ("fr_FR", "FR47523456789", ("S", "E", "Z")),
    "DE": ("de_DE", "DE298765431", ("AE",)),
    "US": ("en_US", None, ("O", "G")),
    "JP": ("ja_JP", "T8010401098765", ("O",)),
    "BH": ("ar_BH", "200012345600002", ("O",)),
}
REASONS = {"AE": ("Autoliquidation", "VATEX-EU-AE"), "E": ("Exonération, article 261 du CGI", None),
           "O": ("Hors champ de la TVA française", "VATEX-EU-O"), "G": ("Exportation hors UE", "VATEX-EU-G")}
CURRENCIES = {"EUR": 2, "USD": 2, "GBP": 2, "JPY": 0, "BHD": 3}


@st.composite
def issued_documents(draw):
    currency = draw(st.sampled_from(sorted(CURRENCIES)))
    country = draw(st.sampled_from(sorted(CUSTOMERS)))
    locale, vat_id, categories = CUSTOMERS[country]
    category = draw(st.sampled_from(categories))
    rate = draw(st.sampled_from(["5.5", "10", "20"])) if category == "S" else "0"
    reason, code = REASONS.get(category, (None, None))
    digits = CURRENCIES[currency]
    # EN 16931 carries two decimals: a dinar contract may choose ubl or none (refused otherwise, below).
    channel = "ubl" if digits > 2 else draw(st.sampled_from(["facturx", "ubl", "peppol"]))
    contract = Contract.model_validate({
        "id": "C-1", "currency": currency, "timezone": "UTC", "ruleset": "r", "start": "2026-01-01",
        "vat_rate": rate, "services": [{"id": "compute", "monthly_fee": "1000"}],
        "customer": {"id": "K", "name": "Client Ltd", "locale": locale, "country": country, "vat_id": vat_id,
                     "address": "1 Main Street", "e_invoice": channel,
                     "endpoint": {"scheme": "0088", "id": "4012345000009"} if channel == "peppol" else None},
        **({"vat": {"category": category, "rate": "0", "exemption_reason": reason, "exemption_code": code}}
           if category != "S" else {}),
    })
    amount = lambda: Decimal(draw(st.integers(1, 10**7))).scaleb(-digits)  # noqa: E731
    credits = tuple(Line("sla_credit", amount(), contract.vat_rate, f"objective-{i}", {
        "service": "compute", "metric": "availability", "target": "99.9", "attainment": "99.5",
        "period_minutes": "44640", "form": "tiers", "credit_percent": "10", "fee": "1000"}, contract.vat_category)
        for i in range(draw(st.integers(1, 3))))
    late = ()
    if draw(st.booleans()):
        late = (Line("late_interest", amount(), Decimal(0), None, {
            "invoice": "F-1", "base": "1000", "regime": "contractual", "day_count": "act_365",
            "first_late_day": "2026-10-02", "days_late": 20, "rate_percent": "12", "segments": []},
            without_vat(contract)),
            Line("late_compensation", amount(), Decimal(0), None, {"invoice": "F-1", "regime": "contractual",
                                                                    "base": "1000"}, without_vat(contract)))
    settlement = draw(st.sampled_from(["credit_note", "next_invoice"]))
    owed = Owed(contract=contract, issuer=ISSUER, period="2026-10", settlement=settlement,
                rounding=draw(st.sampled_from(list(Rounding))), notes={"ruleset": "r", "ruleset_version": "1",
                                                                       "rounding": "half_up"},
                due=sum((line.net for line in credits), Decimal(0)), credit=credits, late=late, late_terms=None,
                interest_vat=Decimal(0), interest_category=without_vat(contract),
                billed=(Billed("F-2026-1001", date(2026, 10, 1)),), reasons=exemption_reasons(contract))
    issued = None
    if draw(st.booleans()):
        # a correction: the period was credited before, now more or less is owed
        issued = Issued(sla_credit=owed.due + draw(st.sampled_from([-1, 1])) * amount(), documents=("AV-1",),
                        credit_notes=("AV-1",) if settlement == "credit_note" else (),
                        adjustments=("ADJ-1",) if settlement == "next_invoice" else ())
    documents = [d.numbered(f"DOC-2026-{i:06d}") for i, d in enumerate(plan_documents(owed, ISSUED_ON, issued), 1)]
    return documents


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(issued_documents())
def test_every_generated_document_validates_and_its_totals_are_the_stores(documents):
    for document in documents:
        xml = render_xml(document, document.e_invoice)
        report = validate_document(document, xml)
        assert report.ok, (document.currency, document.e_invoice, [str(e) for e in report.errors],
                           xml.decode())
        invoice = en16931(document, document.e_invoice)
        root = parse(xml)
        if document.e_invoice == "facturx":
            total = root.xpath("//ram:GrandTotalAmount", namespaces=CII)[0].text
            tax = root.xpath("//ram:TaxTotalAmount", namespaces=CII)[0].text
            net = root.xpath("//ram:TaxBasisTotalAmount", namespaces=CII)[0].text
        else:
            total = root.xpath("//cac:LegalMonetaryTotal/cbc:PayableAmount", namespaces=UBL)[0].text
            tax = root.xpath("/*/cac:TaxTotal/cbc:TaxAmount", namespaces=UBL)[0].text
            net = root.xpath("//cac:LegalMonetaryTotal/cbc:TaxExclusiveAmount", namespaces=UBL)[0].text
        # The XML's totals are the store's to the minor unit (signs flipped on a credit note the
        # customer is owed by), never "-0.00".
        digits = CURRENCIES[document.currency]
        for text, stored in ((total, document.gross_total), (tax, document.tax_total), (net, document.net_total)):
            assert Decimal(text) == stored * invoice.sign and not text.startswith("-0"), (text, stored)
            assert (len(text.split(".")[1]) if "." in text else 0) == digits, text
        assert invoice.type_code == ("381" if document.kind == "credit_note" or document.gross_total < 0 else "380")


def test_a_dinar_contract_may_not_choose_an_en16931_channel(tmp_path):
    text = (ROOT / "fixtures" / "contracts.yaml").read_text(encoding="utf-8")
    (tmp_path / "contracts.yaml").write_text(text.replace("      e_invoice: ubl\n", "      e_invoice: peppol\n"),
                                             encoding="utf-8")
    with pytest.raises(InputError) as refused:
        load_book(tmp_path / "contracts.yaml")
    message = str(refused.value)
    assert "e_invoice" in message and "BHD" in message and "2 decimals" in message
    assert re.search(r"line \d+", message)


def test_the_french_flow_is_in_euros_only(tmp_path):
    text = (ROOT / "fixtures" / "contracts.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: C-1002")
    changed = text[:start] + text[start:].replace("    currency: EUR", "    currency: USD", 1)
    (tmp_path / "contracts.yaml").write_text(changed, encoding="utf-8")
    with pytest.raises(InputError, match="BR-FR-CO-12"):
        load_book(tmp_path / "contracts.yaml")


# --- PDF/A-3 -------------------------------------------------------------------------------------------------------

def test_the_pdf_carries_the_factur_x_xml_declares_pdfa3_and_embeds_its_fonts(demo):
    from invoices.pdf import inspect

    store, out, _ = demo
    pdf = (out / "AV-2026-000004.pdf").read_bytes()  # the Japanese customer: CJK glyphs
    facts = inspect(pdf)
    assert [(a["name"], a["relationship"], a["subtype"]) for a in facts["attachments"]] == [
        ("factur-x.xml", "/Data", "/text/xml")]
    assert facts["embedded_names"] == ["factur-x.xml"]
    # The XML inside is the one issued.
    assert facts["attachments"][0]["data"] == (out / "AV-2026-000004.cii.xml").read_bytes()
    assert (facts["pdfaid_part"], facts["pdfaid_conformance"]) == ("3", "B")
    xmp = facts["xmp"]
    assert "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#" in xmp
    assert re.search(r"ConformanceLevel[^>]*>EN 16931<|ConformanceLevel=\"EN 16931\"", xmp)
    assert facts["output_intents"] == ["/GTS_PDFA1"]
    assert facts["fonts"] and all(facts["fonts"].values()), facts["fonts"]
    assert any("CJK" in name for name in facts["fonts"])
    # Info and XMP agree, and every date is the issue date (deterministic bytes).
    assert facts["info"]["/CreationDate"] == facts["info"]["/ModDate"] == "D:20261102000000+00'00'"


def test_a_pdf_renders_to_the_same_bytes_again(demo, tmp_path):
    store, out, _ = demo
    result = CliRunner().invoke(app, ["notes", "render", "AV-2026-000001", "--format", "pdf", "--out",
                                      str(tmp_path), "--db", f"sqlite:///{out / 'slabill-demo.db'}"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "AV-2026-000001.pdf").read_bytes() == (out / "AV-2026-000001.pdf").read_bytes()
    kept = store.rendition(store.document("AV-2026-000001").id, "pdf")
    assert kept.sha256 == hashlib.sha256((out / "AV-2026-000001.pdf").read_bytes()).hexdigest()


def test_a_document_without_an_e_invoice_has_no_xml(tmp_path):
    # A store of 0.2.0: its documents were issued as HTML only.
    path = tmp_path / "old.db"
    shutil.copyfile(ROOT / "tests" / "data" / "store-0.2.0-fixtures-2026-10.db", path)
    result = CliRunner().invoke(app, ["notes", "render", "AV-2026-000001", "--format", "xml", "--out",
                                      str(tmp_path), "--db", f"sqlite:///{path}"])
    assert result.exit_code == 2 and "issued before e-invoices" in result.stderr
    pdf = CliRunner().invoke(app, ["notes", "render", "AV-2026-000001", "--format", "pdf", "--out",
                                   str(tmp_path), "--db", f"sqlite:///{path}"])
    assert pdf.exit_code == 0, pdf.output  # rendered on demand from the HTML it was issued with
    assert (tmp_path / "AV-2026-000001.pdf").read_bytes().startswith(b"%PDF-")


# --- the audit catches an edited file -------------------------------------------------------------------------

@pytest.fixture
def demo_copy(demo, tmp_path):
    _, out, _ = demo
    copy_out = tmp_path / "out"
    shutil.copytree(out, copy_out)
    return copy_out


def verify(folder: Path, files: bool = True):
    arguments = ["audit", "verify", "--db", f"sqlite:///{folder / 'slabill-demo.db'}", "--workers", "1"]
    return CliRunner().invoke(app, arguments + (["--files", str(folder)] if files else []))


@pytest.mark.parametrize("name", ["AV-2026-000001.pdf", "AV-2026-000001.cii.xml", "AV-2026-000002.fr-ctc.xml",
                                  "ADJ-2026-000002.peppol.xml", "AV-2026-000001.html"])
def test_verify_catches_an_edited_file(demo_copy, name):
    clean = verify(demo_copy)
    assert clean.exit_code == 0, clean.output
    assert "24 document files" in clean.output  # 8 documents x HTML, PDF and XML (the text is a view: no hash)
    path = demo_copy / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit
    path.write_bytes(bytes(data))
    edited = verify(demo_copy)
    assert edited.exit_code == 1
    assert name in edited.stderr and "it was edited" in edited.stderr


@pytest.mark.parametrize("table, column", [("documents", "xml_sha256"), ("document_renditions", "sha256")])
def test_verify_catches_an_edited_hash_in_the_store(demo_copy, table, column):
    database = sqlite3.connect(demo_copy / "slabill-demo.db")
    # Someone with the database in hand drops the guard and edits the hash kept of an e-invoice or a PDF.
    for action in ("update", "delete"):
        database.execute(f"DROP TRIGGER {table}_no_{action}")
    database.execute(f"UPDATE {table} SET {column} = ? WHERE id = (SELECT min(id) FROM {table})", ("0" * 64,))
    database.commit()
    database.close()
    result = verify(demo_copy, files=False)
    assert result.exit_code == 1, result.output
    assert "differs from the one recorded at issue" in result.stderr or "no longer matches its seal" in result.stderr


def test_a_peppol_customer_needs_the_issuers_electronic_address(tmp_path):
    text = (ROOT / "fixtures" / "contracts.yaml").read_text(encoding="utf-8")
    text = text.replace('  siret: "83247691500017"\n', "").replace('  endpoint: {scheme: "0225", id: "832476915"}\n', "", 1)
    (tmp_path / "contracts.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as refused:
        load_book(tmp_path / "contracts.yaml")
    # C-3001 (the fourth contract) takes Peppol: its line, its field, what to give
    assert "field contracts[3].customer.e_invoice" in str(refused.value)
    assert "issuer's electronic address" in str(refused.value)


def test_the_french_flow_needs_the_customers_siren(tmp_path):
    text = (ROOT / "fixtures" / "contracts.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: C-1002")
    changed = text[:start] + (text[start:].replace("      vat_id: FR29891234567\n", "", 1)
                              .replace('      registration: {scheme: "0002", id: "891234567"}\n', "", 1)
                              .replace('      siret: "89123456700021"\n', "", 1))
    (tmp_path / "contracts.yaml").write_text(changed, encoding="utf-8")
    with pytest.raises(InputError, match="fr_ctc needs the customer's SIREN"):
        load_book(tmp_path / "contracts.yaml")
