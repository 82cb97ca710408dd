"""Late-payment fees on the documents a customer receives: the French mention, VAT, the notes.

Each test evaluates a one-contract book (a French customer, EUR, Europe/Paris, VAT 20 %),
plans the documents an evaluation calls for and renders them as the customer gets them.
The figures are worked out by hand in the comments.  French amounts come out of Babel with
U+202F and U+00A0 spaces; ``spaces`` makes them plain before comparing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from engine.core.evaluation import evaluate_contract
from engine.core.period import Period
from engine.loading.contracts import load_book
from engine.loading.measurements import load_measurements
from engine.loading.rulesets import load_rule_files
from invoices.documents import ADJUSTMENT, Document, owed_by, plan_documents
from invoices.render import render
from tests.test_latefees import LATE_BOOK, RATES
from tests.test_render import spaces, visible

# 2,400.00 (2,000.00 + 400.00 VAT) due 10 Sep 2025, paid 30 Sep: 20 days late (11..30 Sep) at ECB 2.15
# (in force on 1 Jul 2025) + 10 = 12.15 %: 2,400 x 12.15 % x 20 / 365 = 5,832 / 365 = 15.9781 -> 15.98,
# and EUR 40 (first late in September).
LATE_INVOICE = "C-1,F-1,2025-08-11,2025-09-10,2000.00,400.00,2400.00,EUR\n"
PAID_20_DAYS_LATE = "F-1,2025-09-30,2400.00\n"


def documents(tmp_path: Path, rules: str, incidents: str = "") -> list[Document]:
    """The documents September 2025 calls for, issued on 2 October 2025."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "fees.yaml").write_text(rules)
    (tmp_path / "contracts.yaml").write_text(LATE_BOOK)
    data = tmp_path / "data"
    data.mkdir()
    (data / "invoices.csv").write_text("contract,number,issued,due,net,tax,gross,currency\n" + LATE_INVOICE)
    (data / "payments.csv").write_text("invoice,paid_on,amount\n" + PAID_20_DAYS_LATE)
    if incidents:
        (data / "incidents.csv").write_text("contract,service,start,end,cause\n" + incidents)
    book = load_book(tmp_path / "contracts.yaml")
    (rule_set,) = [loaded.rules for loaded in load_rule_files([tmp_path / "rules" / "fees.yaml"])]
    evaluation = evaluate_contract(book.contract("C-1"), rule_set, load_measurements(data, book), Period(2025, 9),
                                   rates=RATES)
    return plan_documents(owed_by(evaluation, book.issuer), date(2025, 10, 2))


FEES_ONLY = """\
ruleset: fees-fr
version: "1"
effective_from: 2024-01-01
objectives: []
minimum_credit: "1.00"
late_payment: {regime: fr%s}
"""


def lines_of(document: Document) -> list[tuple[str, str, str]]:
    return [(line.kind, str(line.net), str(line.vat_rate)) for line in document.lines]


# --- the French mention (Code de commerce L441-10 and D441-5) ----------------------------------------------

def test_a_french_customers_adjustment_carries_the_penalty_rate_and_the_40_euro_indemnity(tmp_path):
    (adjustment,) = documents(tmp_path, FEES_ONLY % "")
    assert adjustment.kind == ADJUSTMENT and adjustment.locale == "fr_FR"
    assert lines_of(adjustment) == [("late_interest", "15.98", "0"), ("late_compensation", "40.00", "0")]
    mention = ("Pénalités de retard : le taux de refinancement de la BCE majoré de 10 points. Indemnité forfaitaire "
               "pour frais de recouvrement de 40,00 € (Code de commerce, art. L441-10 et D441-5).")
    for shown in (spaces(visible(render(adjustment, "html"))), spaces(render(adjustment, "txt"))):
        assert mention in shown
        assert "indemnité forfaitaire pour frais de recouvrement de 40,00 €" in shown.lower()
        # The rate actually applied is on the interest line: 20 days at 12.15 % on 2,400.00 = 15.98.
        assert "20 jours à 12,15 % l'an sur 2 400,00 € = 15,98 €" in shown


# --- VAT on interest --------------------------------------------------------------------------------------

def test_vat_on_interest_charges_vat_on_the_interest_and_none_on_the_fixed_sum(tmp_path):
    # Interest 15.98 at the contract's 20 %: 15.98 x 20 % = 3.196 -> 3.20.  The fixed sum is a
    # compensation, outside the scope of VAT: 40.00 at 0 %, no tax.
    # Lines 15.98 + 40.00 = 55.98; VAT 3.20 + 0.00 = 3.20; total 55.98 + 3.20 = 59.18.
    (adjustment,) = documents(tmp_path, FEES_ONLY % ", vat_on_interest: true")
    assert lines_of(adjustment) == [("late_interest", "15.98", "20"), ("late_compensation", "40.00", "0")]
    assert [(str(v.rate), str(v.base), str(v.tax)) for v in adjustment.vat] == [("20", "15.98", "3.20"),
                                                                              ("0", "40.00", "0.00")]
    assert (str(adjustment.net_total), str(adjustment.tax_total), str(adjustment.gross_total)) == (
        "55.98", "3.20", "59.18")
    assert sum(line.net for line in adjustment.lines) + adjustment.tax_total == adjustment.gross_total


def test_without_vat_on_interest_nothing_carries_vat(tmp_path):
    # The default: 15.98 + 40.00 = 55.98, VAT 0.00, total 55.98.
    (adjustment,) = documents(tmp_path, FEES_ONLY % "")
    assert (str(adjustment.net_total), str(adjustment.tax_total), str(adjustment.gross_total)) == (
        "55.98", "0.00", "55.98")


# --- the minimum-credit note ---------------------------------------------------------------------------------

def test_an_adjustment_of_late_fees_only_says_nothing_about_the_minimum_credit(tmp_path):
    (adjustment,) = documents(tmp_path, FEES_ONLY % "")
    assert "minimum_credit" not in adjustment.notes
    assert "Les avoirs inférieurs" not in render(adjustment, "html")
    assert "Les avoirs inférieurs" not in render(adjustment, "txt")


CREDITS_ON_THE_NEXT_INVOICE = """\
ruleset: fees-fr
version: "1"
effective_from: 2024-01-01
objectives:
  - id: availability
    service: compute
    metric: availability
    target: "99.9"
    credit:
      tiers: [{below: "99.9", credit: "10%"}]
minimum_credit: "1.00"
settlement: next_invoice
late_payment: {regime: fr}
"""


def test_an_adjustment_with_sla_credits_and_late_fees_states_the_minimum_credit(tmp_path):
    # September 2025 in Paris has 30 days = 43,200 minutes; a 60-minute outage gives
    # 100 x (1 - 60 / 43,200) = 99.8611 % < 99.9: 10 % of the 100.00 fee = 10.00, above the 1.00
    # minimum, settled on the next invoice as a negative line (VAT 20 %: -10.00 x 20 % = -2.00).
    # With the late fees: -10.00 + 15.98 + 40.00 = 45.98 net, VAT -2.00, total 43.98.
    (adjustment,) = documents(tmp_path, CREDITS_ON_THE_NEXT_INVOICE,
                              "C-1,compute,2025-09-10T10:00:00+02:00,2025-09-10T11:00:00+02:00,outage\n")
    assert lines_of(adjustment) == [("sla_credit", "-10.00", "20"), ("late_interest", "15.98", "0"),
                                    ("late_compensation", "40.00", "0")]
    assert (str(adjustment.net_total), str(adjustment.tax_total), str(adjustment.gross_total)) == (
        "45.98", "-2.00", "43.98")
    assert adjustment.notes["minimum_credit"] == "1.00"
    assert "Les avoirs inférieurs à 1,00 € ne sont pas émis." in spaces(render(adjustment, "txt"))
