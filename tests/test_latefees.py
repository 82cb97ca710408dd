"""Late-payment penalties, with every figure worked out by hand in the comments."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal
from fractions import Fraction as F

import pytest
from freezegun import freeze_time
from typer.testing import CliRunner

from engine.cli import app
from engine.core.errors import InputError, RateMissingError
from engine.core.latefees import late_fees, uk_reference_date
from engine.core.model import Contract, Invoice, Payment
from engine.core.money import Money, Rounding
from engine.core.period import Period
from engine.core.schema import LatePayment
from engine.loading.contracts import load_book
from engine.loading.measurements import load_measurements
from engine.loading.rates import load_rates
from invoices.derive import documents_problem
from tests.conftest import ROOT

RATES = load_rates(ROOT / "rules")


def contract(currency="EUR"):
    return Contract.model_validate({
        "id": "C-1", "customer": {"id": "K", "name": "K", "locale": "fr_FR", "country": "FR"},
        "currency": currency, "timezone": "Europe/Paris", "ruleset": "r", "start": "2020-01-01", "vat_rate": "20",
        "services": [{"id": "compute", "monthly_fee": "100.00"}]})


def invoice(gross, due, net=None, number="F-1", currency="EUR"):
    gross = Decimal(gross)
    net = Decimal(net) if net is not None else gross
    return Invoice("C-1", number, date(2020, 1, 1), date.fromisoformat(due), net, gross - net, gross, currency, 2)


def pay(on, amount, number="F-1"):
    return Payment(number, date.fromisoformat(on), Decimal(amount), 2)


def fees(terms, period, invoices, payments=(), currency="EUR", rounding=Rounding.half_up):
    terms = LatePayment.model_validate(terms)
    by_invoice = {}
    for payment in payments:
        by_invoice.setdefault(payment.invoice, []).append(payment)
    return late_fees(contract(currency), terms, invoices, by_invoice, Period.parse(period), RATES, rounding)


def one(result):
    assert len(result.fees) == 1
    fee = result.fees[0]
    return str(fee.interest.amount), str(fee.compensation.amount), fee.days_late


# --- France ------------------------------------------------------------------------------------------

def test_france_2400_paid_20_days_late_in_2025_h2():
    # Due 10 Sep 2025, paid 30 Sep: 11..30 Sep = 20 days.  ECB rate in force on 1 Jul 2025 is 2.15
    # (since 11 Jun 2025) + 10 = 12.15 %.  2,400 x 12.15 % x 20 / 365 = 15.978 -> 15.98, plus EUR 40.
    result = fees({"regime": "fr"}, "2025-09", [invoice("2400.00", "2025-09-10")], [pay("2025-09-30", "2400.00")])
    assert one(result) == ("15.98", "40.00", 20)
    assert result.fees[0].rate_percent == Decimal("12.15")
    assert str(result.total.amount) == "55.98"


# A debt of 10,000.00 due 15 Dec 2024, paid 20 Jan 2025, crosses 1 January.
CROSSING = [invoice("10000.00", "2024-12-15")]
CROSSING_PAID = [pay("2025-01-20", "10000.00")]


def test_a_debt_crossing_1_january_under_fr():
    # December: 16 days (16..31) at ECB 4.25 (in force on 1 Jul 2024) + 10 = 14.25 %:
    #   10,000 x 14.25 % x 16 / 365 = 62.4658 -> 62.47, plus EUR 40 (first late in December).
    # January: 20 days at ECB 3.15 (in force on 1 Jan 2025, since 18 Dec 2024) + 10 = 13.15 %:
    #   through 20 Jan: 62.4658 + 10,000 x 13.15 % x 20 / 365 = 62.4658 + 72.0548 = 134.5205 -> 134.52;
    #   January charges 134.52 - 62.47 = 72.05.  A single calculation at payment: 134.52 + 40.
    december = fees({"regime": "fr"}, "2024-12", CROSSING, CROSSING_PAID)
    january = fees({"regime": "fr"}, "2025-01", CROSSING, CROSSING_PAID)
    assert one(december) == ("62.47", "40.00", 16)
    assert one(january) == ("72.05", "0.00", 20)
    assert december.fees[0].rate_percent == Decimal("14.25") and january.fees[0].rate_percent == Decimal("13.15")
    assert december.total.amount + january.total.amount == Decimal("174.52")


def test_the_interface_example_segments_show_16_days_at_14_25():
    # A period holding both sides of 1 January shows each rate as a segment.
    from engine.core.period import Period as P

    terms = LatePayment.model_validate({"regime": "fr"})
    from engine.core.latefees import late_fee

    used = set()
    fee = late_fee(CROSSING[0], [], terms, contract(), P(2024, 12), RATES, Rounding.half_up, used)
    assert [(s.start.isoformat(), s.end.isoformat(), s.days, str(s.rate_percent)) for s in fee.segments] == [
        ("2024-12-16", "2024-12-31", 16, "14.25")]
    assert used == {("ecb-mro", date(2024, 6, 12))}


def _late_book(tmp_path, rules_text, invoices, payments=""):
    """A one-contract book (LATE_BOOK) with the given rule file and invoice and payment rows."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "fees.yaml").write_text(rules_text)
    (tmp_path / "contracts.yaml").write_text(LATE_BOOK)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "invoices.csv").write_text("contract,number,issued,due,net,tax,gross,currency\n" + invoices)
    if payments:
        (tmp_path / "data" / "payments.csv").write_text("invoice,paid_on,amount\n" + payments)
    return tmp_path


def evaluate_json(folder, period):
    result = CliRunner().invoke(app, ["evaluate", "--rules", str(folder / "rules"), "--contracts",
                                      str(folder / "contracts.yaml"), "--data", str(folder / "data"),
                                      "--period", period])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_json_lists_the_one_segment_of_a_french_entry(tmp_path):
    # fr regime; 2,400.00 (2,000.00 + 400.00 VAT) due 10 Sep 2025, paid 30 Sep: days late 11..30 Sep = 20,
    # all in 2025 H2: ECB 2.15 (in force on 1 Jul 2025, since 11 Jun) + 10 = 12.15 %, one segment.
    # 2,400 x 12.15 % x 20 / 365 = 5,832 / 365 = 15.9781 -> 15.98; plus EUR 40 (first late in September).
    folder = _late_book(tmp_path, FEES_FR, "C-1,F-1,2025-08-11,2025-09-10,2000.00,400.00,2400.00,EUR\n",
                        "F-1,2025-09-30,2400.00\n")
    output = evaluate_json(folder, "2025-09")
    (result,) = output["results"]
    assert result["late_fees"] == [{
        "invoice": "F-1", "days_late": 20, "rate_percent": "12.15", "interest": "15.98", "compensation": "40.00",
        "total": "55.98", "first_late_day": "2025-09-11", "base": "2400.00",
        "segments": [{"from": "2025-09-11", "to": "2025-09-30", "days": 20, "rate_percent": "12.15",
                      "outstanding": "2400.00", "interest": "15.98"}],
    }]
    assert result["late_fee_total"] == "55.98"


def test_a_debt_crossing_1_january_under_de():
    # Basiszinssatz 2024 H2 3.37 + 9 = 12.37 %; 2025 H1 2.27 + 9 = 11.27 %.
    # December: 10,000 x 12.37 % x 16 / 365 = 54.2247 -> 54.22, plus EUR 40.
    # Through 20 Jan: 54.2247 + 10,000 x 11.27 % x 20 / 365 (61.7534) = 115.9781 -> 115.98;
    # January charges 115.98 - 54.22 = 61.76 (on its own 61.7534 would round to 61.75:
    # the charges add up to the single calculation, 115.98).
    december = fees({"regime": "de"}, "2024-12", CROSSING, CROSSING_PAID)
    january = fees({"regime": "de"}, "2025-01", CROSSING, CROSSING_PAID)
    assert one(december) == ("54.22", "40.00", 16)
    assert one(january) == ("61.76", "0.00", 20)
    assert december.fees[0].interest.amount + january.fees[0].interest.amount == Decimal("115.98")


def test_a_month_charged_on_the_running_total_differs_by_a_cent_from_rounding_it_alone():
    # The README's worked example.  1,000.00 due 31 Dec 2025 at a contractual 10 %, act_365, paid
    # 31 Mar 2026; each late day accrues 1,000 x 10 % / 365 = 100/365.
    #   through January  (31 days): 3,100/365 =  8.4932 ->  8.49; January charges  8.49
    #   through February (59 days): 5,900/365 = 16.1644 -> 16.16; February charges 16.16 -  8.49 = 7.67
    #   through March    (90 days): 9,000/365 = 24.6575 -> 24.66; March charges    24.66 - 16.16 = 8.50
    # March alone, 3,100/365 = 8.4932, would round to 8.49, and the three months to 24.65, a cent
    # short of one calculation at payment (24.66).  The running total charges 8.50.
    debt, paid = [invoice("1000.00", "2025-12-31")], [pay("2026-03-31", "1000.00")]
    months = [fees(CONTRACTUAL, month, debt, paid) for month in ("2026-01", "2026-02", "2026-03")]
    assert [one(m) for m in months] == [("8.49", "0.00", 31), ("7.67", "0.00", 28), ("8.50", "0.00", 31)]
    march = months[2].fees[0]
    (segment,) = march.segments
    assert segment.interest == F(3100, 365)          # March's own interest, exact: 8.4932
    assert str(Money.round(segment.interest, "EUR", Rounding.half_up)) == "8.49"   # shown rounded on its own
    assert sum(m.fees[0].interest.amount for m in months) == Decimal("24.66")      # = round(9,000/365)


def test_eu_regime_uses_ecb_plus_8_and_40_in_the_invoice_currency():
    # Same debt in USD under eu: December 10,000 x 12.25 % x 16 / 365 = 53.6986 -> 53.70, plus USD 40.
    result = fees({"regime": "eu"}, "2024-12", [invoice("10000.00", "2024-12-15", currency="USD")], currency="USD")
    assert one(result) == ("53.70", "40.00", 16)


def test_the_fr_regime_needs_euros_unless_the_fixed_sum_is_given():
    with pytest.raises(InputError, match="the fr regime's fixed sum is in EUR but contract C-1 is in USD"):
        fees({"regime": "fr"}, "2024-12", [invoice("100.00", "2024-12-15", currency="USD")], currency="USD")
    overridden = fees({"regime": "fr", "fixed_compensation": "45.00"}, "2024-12",
                      [invoice("100.00", "2024-12-15", currency="USD")], currency="USD")
    assert overridden.fees[0].compensation.amount == Decimal("45.00")


# --- United Kingdom ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("gross, band", [
    ("999.99", "40.00"), ("1000.00", "70.00"), ("9999.99", "70.00"), ("10000.00", "100.00"), ("25000.00", "100.00"),
])
def test_uk_fixed_sum_bands(gross, band):
    result = fees({"regime": "uk"}, "2025-07", [invoice(gross, "2025-07-10", currency="GBP")], currency="GBP")
    assert result.fees[0].compensation.amount == Decimal(band)


@pytest.mark.parametrize("gross, net, band", [
    ("1000.00", "833.33", "70.00"),   # the debt is 1,000.00: 1,000 <= debt < 10,000, although the net is below 1,000
    ("1080.00", "900.00", "70.00"),   # the reviewer's case: 900 net would wrongly give 40
    ("999.99", "833.33", "40.00"),    # below 1,000 gross: 40
])
def test_uk_fixed_sum_bands_on_the_whole_debt_even_with_a_net_base(gross, net, band):
    # Late Payment of Commercial Debts (Interest) Act 1998 s.5A bands on the debt, the invoice's whole amount.
    result = fees({"regime": "uk", "base": "net"}, "2025-07", [invoice(gross, "2025-07-10", net=net, currency="GBP")],
                  currency="GBP")
    fee = result.fees[0]
    assert fee.compensation.amount == Decimal(band)
    assert fee.base == Decimal(net)     # the interest is still taken on the net amount
    # 21 days (11..31 Jul) at 4.25 + 8 = 12.25 % on the net: for 833.33, 833.33 x 12.25 % x 21 / 365
    # = 5.8733 -> 5.87; for 900.00, 900 x 12.25 % x 21 / 365 = 6.3432 -> 6.34.
    assert str(fee.interest.amount) == {"833.33": "5.87", "900.00": "6.34"}[net]


def test_uk_rate_stays_fixed_while_bank_rate_falls():
    # Due 10 Jul 2025, first late day 11 Jul: the reference date is 30 Jun 2025, Bank Rate 4.25
    # (since 8 May 2025) + 8 = 12.25 %, kept although Bank Rate fell to 4.00 on 7 Aug 2025.
    # GBP 5,000.00 paid 30 Sep.  July (21 days): 5,000 x 12.25 % x 21/365 = 35.2397 -> 35.24;
    # through August (52 days) 87.2603 -> 87.26, August charges 52.02; through September
    # (82 days) 137.6027 -> 137.60, September charges 50.34.  35.24 + 52.02 + 50.34 = 137.60.
    debt = [invoice("5000.00", "2025-07-10", currency="GBP")]
    paid = [pay("2025-09-30", "5000.00")]
    months = [fees({"regime": "uk"}, m, debt, paid, currency="GBP") for m in ("2025-07", "2025-08", "2025-09")]
    assert [one(m) for m in months] == [("35.24", "70.00", 21), ("52.02", "0.00", 31), ("50.34", "0.00", 30)]
    assert {m.fees[0].rate_percent for m in months} == {Decimal("12.25")}
    assert sum(m.fees[0].interest.amount for m in months) == Decimal("137.60")


def test_uk_reference_date():
    assert uk_reference_date(date(2025, 1, 1)) == date(2024, 12, 31)
    assert uk_reference_date(date(2025, 6, 30)) == date(2024, 12, 31)   # strictly before
    assert uk_reference_date(date(2025, 7, 1)) == date(2025, 6, 30)


# --- contractual terms and overrides ---------------------------------------------------------------------------

CONTRACTUAL = {"regime": "contractual", "annual_rate": "10"}


def test_partial_payments_lower_the_outstanding_from_the_next_day():
    # 1,000.00 due 31 Mar 2026; 400 paid 10 Apr, 600 paid 30 Apr.  1..10 Apr (10 days) on 1,000,
    # 11..30 Apr (20 days) on 600: (10 x 1,000 + 20 x 600) x 10 % / 365 = 2,200 / 365 = 6.0274 -> 6.03.
    result = fees(CONTRACTUAL, "2026-04", [invoice("1000.00", "2026-03-31")],
                  [pay("2026-04-10", "400.00"), pay("2026-04-30", "600.00")])
    assert one(result) == ("6.03", "0.00", 30)
    assert [(s.start.day, s.end.day, s.days, s.outstanding) for s in result.fees[0].segments] == [
        (1, 10, 10, F(1000)), (11, 30, 20, F(600))]


@pytest.mark.parametrize("day_count, interest", [
    ("act_365", "4.80"),   # due 27 Feb 2024, paid 2 Mar: 28 Feb, 29 Feb, 1 Mar, 2 Mar = 4 days: 3,650 x 12 % x 4/365 = 4.80
    ("act_act", "4.79"),   # 2024 is a leap year: 3,650 x 12 % x 4/366 = 4.7869 -> 4.79
    ("30_360", "6.08"),    # 30E/360 from 27 Feb to 2 Mar: (30x3 + 2) - (30x2 + 27) = 5 days: 3,650 x 12 % x 5/360 = 6.0833 -> 6.08
])
def test_day_counts_across_a_leap_day(day_count, interest):
    terms = {"regime": "contractual", "annual_rate": "12", "day_count": day_count}
    february = fees(terms, "2024-02", [invoice("3650.00", "2024-02-27")], [pay("2024-03-02", "3650.00")])
    march = fees(terms, "2024-03", [invoice("3650.00", "2024-02-27")], [pay("2024-03-02", "3650.00")])
    assert february.fees[0].interest.amount + march.fees[0].interest.amount == Decimal(interest)
    assert (february.fees[0].days_late, march.fees[0].days_late) == (2, 2)


@pytest.mark.parametrize("paid_on, days, interest", [
    ("2026-04-05", None, None),       # within 5 grace days: not late at all
    ("2026-04-10", 5, "1.37"),        # late from 6 Apr: 6..10 = 5 days; 1,000 x 10 % x 5/365 = 1.3699
])
def test_grace_days(paid_on, days, interest):
    result = fees({**CONTRACTUAL, "grace_days": 5}, "2026-04", [invoice("1000.00", "2026-03-31")],
                  [pay(paid_on, "1000.00")])
    if days is None:
        assert result.fees == ()
    else:
        assert one(result)[::2] == (interest, days)


def test_net_base():
    # Gross 1,200.00 (net 1,000.00), 73 days late at 10 %: net base 1,000 x 10 % x 73/365 = 20.00
    # (the gross base would give 24.00).  Due 31 Jan 2026, paid 14 Apr: 28 + 31 + 14 = 73 days.
    terms = {**CONTRACTUAL, "base": "net"}
    debt, paid = [invoice("1200.00", "2026-01-31", net="1000.00")], [pay("2026-04-14", "1200.00")]
    total = sum(fees(terms, m, debt, paid).total.amount for m in ("2026-02", "2026-03", "2026-04"))
    assert total == Decimal("20.00")
    gross = sum(fees(CONTRACTUAL, m, debt, paid).total.amount for m in ("2026-02", "2026-03", "2026-04"))
    assert gross == Decimal("24.00")


def test_margin_override_and_a_paid_on_time_invoice():
    # fr with margin 7: ECB 2.15 (1 Jul 2025) + 7 = 9.15 %.  2,400 x 9.15 % x 20/365 = 12.0329 -> 12.03.
    result = fees({"regime": "fr", "margin_points": "7"}, "2025-09", [invoice("2400.00", "2025-09-10")],
                  [pay("2025-09-30", "2400.00")])
    assert one(result)[0] == "12.03"
    assert fees({"regime": "fr"}, "2025-09", [invoice("2400.00", "2025-09-10")], [pay("2025-09-10", "2400.00")]).fees == ()


def test_an_unpaid_invoice_accrues_until_the_end_of_each_period():
    # 730.00 due 31 Jan 2026 at 10 %, unpaid: February (28 days) 730 x 10 % x 28/365 = 5.60.
    assert one(fees(CONTRACTUAL, "2026-02", [invoice("730.00", "2026-01-31")])) == ("5.60", "0.00", 28)


# --- rates the table does not hold ------------------------------------------------------------------------------

def test_a_missing_rate_is_refused_naming_the_table_and_the_date():
    # 2026 H2 needs the ECB rate in force on 1 Jul 2026; the table is confirmed until 30 Jun 2026.
    with pytest.raises(RateMissingError) as caught:
        fees({"regime": "fr"}, "2026-07", [invoice("100.00", "2026-07-10")])
    assert str(caught.value) == ("field rate table ecb-mro: no rate is known for 2026-07-01: the table is confirmed "
                                 "only until 2026-06-30; add the rate in force on that date to ecb-mro.yaml.")


def test_a_missing_rate_refuses_the_whole_evaluate_command(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "invoices.csv").write_text(
        "contract,number,issued,due,net,tax,gross,currency\nC-1001,F-1,2026-10-01,2026-10-05,100.00,20.00,120.00,EUR\n")
    result = CliRunner().invoke(app, ["evaluate", "--rules", str(ROOT / "rules"), "--contracts",
                                      str(ROOT / "fixtures" / "contracts.yaml"), "--data", str(tmp_path / "data"),
                                      "--period", "2026-10"])
    assert result.exit_code == 2 and result.stdout == ""
    assert "no rate is known for 2026-07-01" in result.stderr


def _rules_with_rates(tmp_path, rule_text, tables):
    """A rules folder holding one rule file and a rates/ folder with only the given tables."""
    rules = tmp_path / "rules"
    (rules / "rates").mkdir(parents=True)
    (rules / "fees.yaml").write_text(rule_text)
    for name, text in tables.items():
        (rules / "rates" / f"{name}.yaml").write_text(text)
    return rules


# A user's ECB table with one value of its own, known only until the end of 2025.
USER_ECB = """\
rate_table: ecb-mro
unit: percent
values:
  - {from: 2025-06-11, rate: "2.00"}
confirmed_until: 2025-12-31
"""


def test_rate_tables_fall_back_to_the_shipped_ones_table_by_table(tmp_path):
    rules = _rules_with_rates(tmp_path, FEES_FR, {"ecb-mro": USER_ECB})
    rates = load_rates(rules)
    # The user's ECB table wins; the tables the user's folder lacks come from rules/rates/.
    assert rates.table("ecb-mro").values[-1].rate == Decimal("2.00")
    assert rates.table("ecb-mro").known_until == date(2025, 12, 31)
    assert sorted(rates.tables) == ["boe-bank-rate", "de-basiszinssatz", "ecb-mro", "fr-taux-legal"]
    assert rates.table("fr-taux-legal").in_force(date(2026, 1, 1)).rate == Decimal("2.62")
    # 2,400.00 due 10 Sep 2025, paid 30 Sep: 20 days at the user's 2.00 + 10 = 12 %:
    # 2,400 x 12 % x 20 / 365 = 15.7808 -> 15.78 (the shipped 2.15 would give 15.98).
    result = late_fees(contract(), LatePayment.model_validate({"regime": "fr"}), [invoice("2400.00", "2025-09-10")],
                       {"F-1": [pay("2025-09-30", "2400.00")]}, Period(2025, 9), rates, Rounding.half_up)
    assert one(result) == ("15.78", "40.00", 20)


def test_a_users_table_is_taken_whole_and_never_eked_out_with_the_shipped_one(tmp_path):
    # The user's ECB table stops at 2025-12-31; the shipped one goes on to 2026-06-30, but a table
    # comes from one file: January 2026 is refused, naming the table and the date.
    rates = load_rates(_rules_with_rates(tmp_path, FEES_FR, {"ecb-mro": USER_ECB}))
    with pytest.raises(RateMissingError) as caught:
        late_fees(contract(), LatePayment.model_validate({"regime": "fr"}), [invoice("100.00", "2026-01-10")], {},
                  Period(2026, 1), rates, Rounding.half_up)
    assert str(caught.value) == ("field rate table ecb-mro: no rate is known for 2026-01-01: the table is confirmed "
                                 "only until 2025-12-31; add the rate in force on that date to ecb-mro.yaml.")


def test_rules_check_finds_the_legal_rate_when_the_users_rates_folder_lacks_it(tmp_path):
    # rates/ beside the rule file holds only an ECB table; fr-taux-legal comes from rules/rates/,
    # so the L441-10 floor is still judged: 3 x 2.62 (2026 H1) = 7.86 > 7.
    low = (ROOT / "rules" / "hourly-credits-2026.1.yaml").read_text().replace('annual_rate: "12"', 'annual_rate: "7"')
    rules = _rules_with_rates(tmp_path, low, {"ecb-mro": USER_ECB})
    result = CliRunner().invoke(app, ["rules", "check", str(rules / "fees.yaml")])
    assert result.exit_code == 0, result.output
    assert "2026 H1: 3 x 2.62 = 7.86 %" in result.stdout


# --- input checks -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("invoices, payments, message", [
    ("C-1001,F-1,2026-10-01,2026-10-31,100.00,20.00,120.00,USD", "", "invoices.csv, line 2, field currency: "
     "invoice F-1 is in 'USD' but contract C-1001 is in EUR"),
    ("C-1001,F-1,2026-10-01,2026-10-31,100.001,20.00,120.001,EUR", "", "field net: 100.001 has more decimals than EUR"),
    ("C-1001,F-1,2026-10-01,2026-10-31,1e2,20.00,120.00,EUR", "", "field net: '1e2' is not an exact amount"),
    ("C-1001,F-1,2026-10-01,2026-10-31,100.00,20.00,121.00,EUR", "", "net 100.00 plus tax 20.00 is 120.00, not 121.00"),
    ("C-1001,F-1,2026-10-01,2026-09-30,100.00,20.00,120.00,EUR", "", "the due date 2026-09-30 is before"),
    ("C-1001,F-1,2026-10-01,2026-10-31,100.00,20.00,120.00,EUR", "F-2,2026-10-05,10.00",
     "payments.csv, line 2, field invoice: no invoice 'F-2' is known"),
    ("C-1001,F-1,2026-10-01,2026-10-31,100.00,20.00,120.00,EUR", "F-1,2026-10-05,10.001", "more decimals than EUR"),
])
def test_invoice_and_payment_checks(tmp_path, invoices, payments, message):
    (tmp_path / "invoices.csv").write_text("contract,number,issued,due,net,tax,gross,currency\n" + invoices + "\n")
    if payments:
        (tmp_path / "payments.csv").write_text("invoice,paid_on,amount\n" + payments + "\n")
    book = load_book(ROOT / "fixtures" / "contracts.yaml")
    with pytest.raises(InputError) as caught:
        load_measurements(tmp_path, book)
    assert message in str(caught.value)


def test_the_french_floor_is_flagged_not_clamped(tmp_path):
    text = (ROOT / "rules" / "hourly-credits-2026.1.yaml").read_text().replace('annual_rate: "12"', 'annual_rate: "7"')
    (tmp_path / "low.yaml").write_text(text)
    result = CliRunner().invoke(app, ["rules", "check", str(tmp_path / "low.yaml")])
    assert result.exit_code == 0
    # 3 x 2.62 (2026 H1) = 7.86 > 7; 2026 H2 is beyond the legal-rate table, so it is not judged.
    assert ("late_payment: the contractual rate 7 % is below the L441-10 floor for contracts under French law "
            "(3 x the legal rate): 2026 H1: 3 x 2.62 = 7.86 %") in result.stdout
    assert CliRunner().invoke(app, ["rules", "check", "--strict", str(tmp_path / "low.yaml")]).exit_code == 1


LOW_CONTRACTUAL = """\
ruleset: fees-fr
version: "1"
effective_from: 2026-01-01
objectives: []
late_payment:
  regime: contractual
  annual_rate: "7"
"""


def test_a_contractual_rate_below_the_floor_is_flagged_and_still_charged_as_written(tmp_path):
    folder = _late_book(tmp_path, LOW_CONTRACTUAL, "C-1,F-1,2026-01-29,2026-02-28,833.33,166.67,1000.00,EUR\n",
                        "F-1,2026-03-31,1000.00\n")
    # rules check: 7 < 3 x 2.62 (the legal rate of 2026 H1) = 7.86, on the line of annual_rate.
    check = CliRunner().invoke(app, ["rules", "check", str(folder / "rules" / "fees.yaml")])
    assert check.exit_code == 0, check.output
    assert (f"{folder / 'rules' / 'fees.yaml'}, line 7, late_payment: the contractual rate 7 % is below the "
            "L441-10 floor for contracts under French law (3 x the legal rate): 2026 H1: 3 x 2.62 = 7.86 %"
            ) in check.stdout
    # evaluate charges the rate as written, never clamped to the floor: 1,000.00 due 28 Feb, paid 31 Mar,
    # 31 days: 1,000 x 7 % x 31 / 365 = 2,170 / 365 = 5.9452 -> 5.95 (7.86 % would give 6.6756 -> 6.68).
    # Contractual terms without fixed_compensation charge no fixed sum.
    (result,) = evaluate_json(folder, "2026-03")["results"]
    (entry,) = result["late_fees"]
    assert (entry["rate_percent"], entry["days_late"], entry["interest"], entry["compensation"], entry["total"]) == (
        "7", 31, "5.95", "0.00", "5.95")


def _rule_set(late_payment, effective_from="2026-01-01"):
    from engine.core.schema import RuleSet

    return RuleSet.model_validate({"ruleset": "fees", "version": "1", "effective_from": effective_from,
                                   "objectives": [], "late_payment": late_payment})


@pytest.mark.parametrize("late_payment, effective_from, message", [
    # ECB in force on 1 Jan 2026: 2.15 (since 11 Jun 2025); + 0 = 2.15 < 3 x 2.62 (2026 H1) = 7.86.
    ({"regime": "fr", "margin_points": "0"}, "2026-01-01",
     "the fr rate in 2026 H1 (ecb-mro 2.15 % on 2026-01-01 + margin_points 0) is 2.15 %, below the L441-10 floor "
     "for contracts under French law (3 x the legal rate): 2026 H1: 3 x 2.62 = 7.86 %"),
    # eu: 2.15 + 5 = 7.15 < 7.86.
    ({"regime": "eu", "margin_points": "5"}, "2026-01-01",
     "the eu rate in 2026 H1 (ecb-mro 2.15 % on 2026-01-01 + margin_points 5) is 7.15 %, below the L441-10 floor "
     "for contracts under French law (3 x the legal rate): 2026 H1: 3 x 2.62 = 7.86 %"),
    # From mid-September 2025, the half-year is 2025 H2: ECB 2.15 on 1 Jul 2025 + 0 < 3 x 2.76 = 8.28.
    ({"regime": "fr", "margin_points": "0"}, "2025-09-15",
     "the fr rate in 2025 H2 (ecb-mro 2.15 % on 2025-07-01 + margin_points 0) is 2.15 %, below the L441-10 floor "
     "for contracts under French law (3 x the legal rate): 2025 H2: 3 x 2.76 = 8.28 %"),
    # de: Basiszinssatz 1.27 on 1 Jul 2025 + 0 = 1.27 < 8.28.
    ({"regime": "de", "margin_points": "0"}, "2025-07-01",
     "the de rate in 2025 H2 (de-basiszinssatz 1.27 % on 2025-07-01 + margin_points 0) is 1.27 %, below the "
     "L441-10 floor for contracts under French law (3 x the legal rate): 2025 H2: 3 x 2.76 = 8.28 %"),
    # uk: a debt first late in 2026 H1 takes Bank Rate on 31 Dec 2025, 3.75 (since 18 Dec 2025); + 2 = 5.75 < 7.86.
    ({"regime": "uk", "margin_points": "2"}, "2026-01-01",
     "the uk rate in 2026 H1 (boe-bank-rate 3.75 % on 2025-12-31 + margin_points 2) is 5.75 %, below the "
     "L441-10 floor for contracts under French law (3 x the legal rate): 2026 H1: 3 x 2.62 = 7.86 %"),
    ({"regime": "fr", "margin_points": "6"}, "2026-01-01", None),   # 2.15 + 6 = 8.15 >= 7.86: above the floor
    ({"regime": "fr"}, "2026-01-01", None),                         # the statutory margin is not judged
    ({"regime": "fr", "margin_points": "0"}, "2026-07-01", None),   # 2026 H2: beyond the tables, not judged
])
def test_the_french_floor_judges_an_overridden_margin_on_a_table_rate(late_payment, effective_from, message):
    from engine.core.rulesets import check_french_floor

    findings = check_french_floor(_rule_set(late_payment, effective_from), RATES)
    assert [f.message for f in findings] == ([message] if message else [])


def test_rules_check_flags_a_zero_margin_on_the_line_of_margin_points(tmp_path):
    (tmp_path / "fees.yaml").write_text(FEES_FR.replace("late_payment: {regime: fr}",
                                                        'late_payment:\n  regime: fr\n  margin_points: "0"'))
    result = CliRunner().invoke(app, ["rules", "check", str(tmp_path / "fees.yaml")])
    assert result.exit_code == 0, result.output
    # FEES_FR's effective_from is 2024-01-01: ECB 4.50 (since 20 Sep 2023) + 0 < 3 x 5.07 (2024 H1) = 15.21.
    assert (f"{tmp_path / 'fees.yaml'}, line 7, late_payment: the fr rate in 2024 H1 (ecb-mro 4.50 % on 2024-01-01 "
            "+ margin_points 0) is 4.50 %, below the L441-10 floor for contracts under French law (3 x the legal "
            "rate): 2024 H1: 3 x 5.07 = 15.21 %") in result.stdout
    assert CliRunner().invoke(app, ["rules", "check", "--strict", str(tmp_path / "fees.yaml")]).exit_code == 1


# --- the monthly run -----------------------------------------------------------------------------------------------

LATE_BOOK = """\
issuer: {name: Hostco SAS, vat_id: FR40123456789, country: FR, credit_note_prefix: AV}
contracts:
  - id: C-1
    customer: {id: K, name: Client SARL, locale: fr_FR, country: FR}
    currency: EUR
    timezone: Europe/Paris
    ruleset: fees-fr
    start: 2024-01-01
    vat_rate: "20"
    services: [{id: compute, monthly_fee: "100.00"}]
"""
FEES_FR = """\
ruleset: fees-fr
version: "1"
effective_from: 2024-01-01
objectives: []
late_payment: {regime: fr}
"""


def test_a_year_of_monthly_runs_adds_up_to_one_calculation_at_payment(store, tmp_path):
    # 10,000.00 due 15 Dec 2024, paid 20 Nov 2025.  One calculation at payment:
    #   16 days of 2024 H2 at 14.25 %, 181 days of 2025 H1 at 13.15 %, 143 days (1 Jul..20 Nov)
    #   of 2025 H2 at 12.15 %: (1,425 x 16 + 1,315 x 181 + 1,215 x 143) / 365 = 434,560 / 365
    #   = 1,190.5753 -> 1,190.58, and EUR 40 once.
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "fees-fr.yaml").write_text(FEES_FR)
    (tmp_path / "contracts.yaml").write_text(LATE_BOOK)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "invoices.csv").write_text(
        "contract,number,issued,due,net,tax,gross,currency\nC-1,F-1,2024-11-15,2024-12-15,8333.33,1666.67,10000.00,EUR\n")
    (tmp_path / "data" / "payments.csv").write_text("invoice,paid_on,amount\nF-1,2025-11-20,10000.00\n")
    from engine.jobs.run import monthly_run
    from engine.loading.rulesets import load_rule_files

    book = load_book(tmp_path / "contracts.yaml")
    store.load(book=book, rule_sets=load_rule_files([tmp_path / "rules" / "fees-fr.yaml"]),
               measurements=load_measurements(tmp_path / "data", book), rates=RATES)
    months = [Period(2024, 12)] + [Period(2025, m) for m in range(1, 12)]
    for month in months:
        with freeze_time(datetime(month.next.year, month.next.month, 2, 6, 0, tzinfo=timezone.utc)):
            monthly_run(store, month, as_of=date.today(), now=lambda: datetime.now(timezone.utc))
    documents = store.documents()
    assert len(documents) == 12 and all(d.kind == "adjustment" for d in documents)
    lines = [line for d in documents for line in store.document_lines(d.id)]
    interest = sum(Decimal(l.net_amount) for l in lines if l.kind == "late_interest")
    compensation = [Decimal(l.net_amount) for l in lines if l.kind == "late_compensation"]
    assert interest == Decimal("1190.58")
    assert compensation == [Decimal("40.00")]
    assert all(l.vat_rate == "0" for l in lines)        # no VAT on interest (vat_on_interest: false) or the fixed sum
    assert [d.issue_date.month for d in documents] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    # Run again: nothing charged twice.
    for month in months:
        assert monthly_run(store, month, as_of=date(2026, 1, 5), now=lambda: datetime.now(timezone.utc)).recorded == 0
    assert len(store.documents()) == 12
    from engine.audit.replay import replay
    from engine.audit.verify import verify

    assert verify(store, planner=documents_problem).ok and all(not r.differences for r in replay(store))


def test_a_payment_correction_issues_a_late_fee_adjustment(store, tmp_path):
    # 730.00 EUR due 31 Jan 2026, fr regime: ECB 2.15 (1 Jan 2026) + 10 = 12.15 %.  Run February
    # unpaid: 28 days, 730 x 12.15 % x 28 / 365 = 6.804 -> 6.80, plus 40.  Then a payment dated
    # 10 Feb is loaded: 10 days, 730 x 12.15 % x 10 / 365 = 2.43; the correction gives back 4.37.
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "fees-fr.yaml").write_text(FEES_FR)
    (tmp_path / "contracts.yaml").write_text(LATE_BOOK)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "invoices.csv").write_text(
        "contract,number,issued,due,net,tax,gross,currency\nC-1,F-1,2026-01-01,2026-01-31,608.33,121.67,730.00,EUR\n")
    from engine.jobs.run import monthly_run
    from engine.loading.rulesets import load_rule_files

    book = load_book(tmp_path / "contracts.yaml")
    store.load(book=book, rule_sets=load_rule_files([tmp_path / "rules" / "fees-fr.yaml"]),
               measurements=load_measurements(tmp_path / "data", book), rates=RATES)
    monthly_run(store, Period(2026, 2), as_of=date(2026, 3, 2), now=lambda: datetime.now(timezone.utc))
    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "payments.csv").write_text("invoice,paid_on,amount\nF-1,2026-02-10,730.00\n")
    store.load(book=book, measurements=load_measurements(tmp_path / "later", book, store.invoice_currencies()))
    monthly_run(store, Period(2026, 2), as_of=date(2026, 3, 20), now=lambda: datetime.now(timezone.utc))
    first, correction = store.documents()
    assert [(l.kind, l.net_amount) for l in store.document_lines(first.id)] == [
        ("late_interest", "6.80"), ("late_compensation", "40.00")]
    assert [(l.kind, l.net_amount) for l in store.document_lines(correction.id)] == [("late_correction", "-4.37")]
    assert (correction.number, correction.gross_total) == ("ADJ-2026-000002", "-4.37")


def _summary_text(summary) -> str:
    from rich.console import Console

    from engine.cli import print_summary

    console = Console(record=True, width=200, highlight=False)
    print_summary(summary, console)
    return console.export_text()


def test_the_run_summary_shows_late_fees_as_charged_not_as_a_negative_credit(store, tmp_path):
    # 2,400.00 due 10 Sep 2025, paid 30 Sep under fr: 15.98 interest + 40.00 = 55.98, no VAT
    # (vat_on_interest: false), on one adjustment statement; no SLA credit.
    folder = _late_book(tmp_path, FEES_FR, "C-1,F-1,2025-08-11,2025-09-10,2000.00,400.00,2400.00,EUR\n",
                        "F-1,2025-09-30,2400.00\n")
    from engine.jobs.run import monthly_run
    from engine.loading.rulesets import load_rule_files

    book = load_book(folder / "contracts.yaml")
    store.load(book=book, rule_sets=load_rule_files([folder / "rules" / "fees.yaml"]),
               measurements=load_measurements(folder / "data", book), rates=RATES)
    summary = monthly_run(store, Period(2025, 9), as_of=date(2025, 10, 2), now=lambda: datetime.now(timezone.utc))
    assert summary.as_json()["late_fees_net"] == {"EUR": "55.98"}
    assert summary.as_json()["credited_net"] == {"EUR": "0.00"}
    assert summary.as_json()["issued_net"] == {"EUR": "-55.98"}      # credits less charges, as before
    text = _summary_text(summary)
    assert "late fees charged EUR (net / incl. VAT)" in text and "55.98 / 55.98" in text
    assert "credited" not in text and "-55.98" not in text


def test_the_run_summary_shows_credits_and_late_fees_apart_when_a_currency_has_both():
    # A 10.00 credit with 2.00 VAT (12.00 to the customer) and 55.98 of late fees without VAT:
    # net 10.00 - 55.98 = -45.98; VAT included 12.00 - 55.98 = -43.98.
    from engine.jobs.run import RunSummary

    summary = RunSummary(period="2025-09", issued_net={"EUR": Decimal("-45.98")},
                         issued_gross={"EUR": Decimal("-43.98")}, credited_net={"EUR": Decimal("10.00")},
                         late_fees_net={"EUR": Decimal("55.98")})
    lines = [" ".join(line.replace("│", " ").split()) for line in _summary_text(summary).splitlines()]
    assert "credited EUR (net) 10.00" in lines
    assert "late fees charged EUR (net) 55.98" in lines
    assert "credits less late fees EUR (net / incl. VAT) -45.98 / -43.98" in lines


def test_the_run_summary_of_credits_alone_reads_as_before():
    from engine.jobs.run import RunSummary

    summary = RunSummary(period="2026-10", issued_net={"EUR": Decimal("124.58")},
                         issued_gross={"EUR": Decimal("149.50")}, credited_net={"EUR": Decimal("124.58")},
                         late_fees_net={"EUR": Decimal("0")})
    lines = [" ".join(line.replace("│", " ").split()) for line in _summary_text(summary).splitlines()]
    assert "credited EUR (net / incl. VAT) 124.58 / 149.50" in lines


# --- Belgium, the Netherlands, rate_rounding (INTERFACE.md 6.3) --------------------------------------------

# EUR 10,000.00 due 15 Jun 2025, paid 20 Jul 2025: across the change of 1 July.
BELGIAN = [invoice("10000.00", "2025-06-15")]
BELGIAN_PAID = [pay("2025-07-20", "10000.00")]


@pytest.mark.parametrize("period, rate, interest, compensation", [
    # 2025 H1: ECB 3.15 (since 18 Dec 2024) + 8 = 11.15 -> 11.5; 16-30 Jun = 15 days:
    #   10,000 x 11.5 % x 15/365 = 17,250/365 = 47.2603 -> 47.26, plus EUR 40.
    ("2025-06", "11.5", "47.26", "40.00"),
    # 2025 H2: ECB 2.15 (since 11 Jun 2025) + 8 = 10.15 -> 10.5; 1-20 Jul = 20 days:
    #   through 20 Jul (17,250 + 21,000)/365 = 104.7945 -> 104.79; 104.79 - 47.26 = 57.53.
    ("2025-07", "10.5", "57.53", "0.00"),
])
def test_belgium_rounds_each_half_year_up_to_the_next_half_point(period, rate, interest, compensation):
    result = fees({"regime": "be"}, period, BELGIAN, BELGIAN_PAID)
    assert one(result)[:2] == (interest, compensation)
    assert result.fees[0].rate_percent == Decimal(rate)


def test_belgium_keeps_a_rate_already_on_a_step():
    # 2024 H1: ECB 4.50 + 8 = 12.50, on a step: it stays.  1,000 due 20 Jun 2024, 21-30 Jun = 10 days:
    #   1,000 x 12.5 % x 10/365 = 3.4247 -> 3.42.
    result = fees({"regime": "be"}, "2024-06", [invoice("1000.00", "2024-06-20")], [pay("2024-07-10", "1000.00")])
    assert one(result)[:2] == ("3.42", "40.00")
    assert result.fees[0].rate_percent == Decimal("12.50")


def test_belgium_needs_a_fixed_sum_in_another_currency():
    with pytest.raises(InputError, match="be regime's fixed sum is in EUR"):
        fees({"regime": "be"}, "2025-06", [invoice("100.00", "2025-06-15", currency="USD")], currency="USD")


@pytest.mark.parametrize("terms, period, rate", [
    # contractual 12.1 rounded up to the next half point: 12.5; 12.5 stays 12.5
    ({"regime": "contractual", "annual_rate": "12.1", "rate_rounding": {"up_to": "0.5"}}, "2025-06", "12.5"),
    ({"regime": "contractual", "annual_rate": "12.5", "rate_rounding": {"up_to": "0.5"}}, "2025-06", "12.5"),
    # eu in 2025 H2: 2.15 + 8 = 10.15, up to a whole point: 11
    ({"regime": "eu", "rate_rounding": {"up_to": "1"}}, "2025-07", "11"),
    # be with its own step: 10.15 up to a quarter point: 10.25
    ({"regime": "be", "rate_rounding": {"up_to": "0.25"}}, "2025-07", "10.25"),
])
def test_rate_rounding_rounds_any_regime_up_to_its_step(terms, period, rate):
    result = fees(terms, period, BELGIAN, BELGIAN_PAID)
    assert result.fees[0].rate_percent == Decimal(rate)


# EUR 10,000.00 due 14 Mar 2025, paid 30 Apr 2026: late for more than a year.
DUTCH = [invoice("10000.00", "2025-03-14")]
DUTCH_PAID = [pay("2026-04-30", "10000.00")]


def test_the_netherlands_capitalises_a_full_year_of_interest():
    # Year one, 15 Mar 2025 - 14 Mar 2026: 108 days at 11.15 % (24,084/73), 184 days at 10.15 % (37,352/73),
    # 73 days at 10.15 % (203): 76,255/73 = 1,044.589041.  From 15 Mar 2026 interest runs on
    # 10,000 + 76,255/73 = 806,255/73.
    march = fees({"regime": "nl"}, "2026-03", DUTCH, DUTCH_PAID).fees[0]
    before, after = march.segments
    assert (before.outstanding, before.days) == (F(10000), 14)
    assert (after.outstanding, after.days, after.start) == (F(806255, 73), 17, date(2026, 3, 15))
    # through 31 Mar 1,096.801201 -> 1,096.80; through 28 Feb 1,005.657534 -> 1,005.66: 91.14
    assert str(march.interest.amount) == "91.14"
    # April: 1,188.940307 -> 1,188.94, less 1,096.80: 92.14 (without capitalisation 1,175.29 in all)
    assert str(fees({"regime": "nl"}, "2026-04", DUTCH, DUTCH_PAID).fees[0].interest.amount) == "92.14"


def test_the_netherlands_charges_the_eu_fixed_sum_in_the_invoice_currency():
    # 17 days of March 2025 at 11.15 %: 10,000 x 11.15 % x 17/365 = 51.9315 -> 51.93, and 40 of the currency
    result = fees({"regime": "nl"}, "2025-03", [invoice("10000.00", "2025-03-14", currency="USD")], currency="USD")
    assert one(result) == ("51.93", "40.00", 17)
