"""What a credit note or adjustment says, worded and formatted, ready for its template.

The document templates (``templates/document.html.j2`` and ``document.txt.j2``) lay a
document out; this module words it.  ``present`` turns a document into a view made of
finished strings: the labels translated, the amounts, percentages and dates formatted
for the locale, and, for HTML, every piece of customer data escaped and the values
isolated in ``<bdi>``.  The templates only place those strings.

Why not the templates themselves: a document is issued (and its HTML hashed) for every
contract with a breach in the monthly run, and wording it in Jinja, with a macro call,
a context-passing call and a ``Markup`` %-format per value, was most of the time the
run spent rendering.  The same wording in plain Python costs a fraction of that.

The output is byte for byte what the Jinja wording gave, which is what keeps the
sha256 recorded for already-issued documents matching: the rules followed are Jinja's.
In HTML a translation is trusted as markup and the values put into it are escaped
(``markupsafe.escape`` leaves ``Markup`` alone, so a label is never escaped twice);
in text nothing is escaped.  The labels here are extracted for translation like those
in the templates (``make catalogs``).

A document says how it is worded (``presentation``), and renders so for ever: those
issued before display names (presentation 1, the key absent) title a credit line by
its objective's id, show attainment to 6 decimals and minutes as recorded, and read in
the direction of the customer's locale; those issued since (``PRESENTATION``) call each
objective what the report and the explanation call it (``titles``), show figures as
``invoices.formats`` says customers read them, and read in the direction of the
language they are written in.
"""

from __future__ import annotations

import gettext
from collections import Counter
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable, Iterable

from markupsafe import Markup, escape

from engine.core.schema import name_in

from .formats import shown_attainment, translations

Text = str
"""a finished string: ``Markup`` in HTML, plain ``str`` in text"""

PRESENTATION = 3
"""how documents issued now are worded (1: before display names, when the key is absent; 2: before
e-invoices, without legal content and with the catalogs of then, en fr de es)"""
LEGAL = 3
"""the first presentation that states the legal content of INTERFACE.md 6.4 and has ja and ar"""

# The tier bounds as a document prints them.
BOUNDS = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}


class Wording:
    """The wording of documents in one language, for HTML or for text.

    ``_`` is gettext as the templates' ``_()`` does it: the translation used as a
    %-format (a literal percent sign is written %%), trusted as markup in HTML with the
    values escaped.  Also the shared macros (``_macros.j2``) word titles and metrics
    through this, so that a label has one wording.
    """

    def __init__(self, catalog: gettext.NullTranslations, html: bool, language: str) -> None:
        self.html = html
        self.language = language
        """the language of the labels, which picks a display name's text"""
        self.catalog = catalog
        lookup = catalog.gettext
        if html:
            # escape() turns a value into Markup as Markup's % would, without its helper objects.
            def _(message: str, **values: Any) -> Text:
                return Markup(lookup(message) % {name: escape(value) for name, value in values.items()})

            # "label: value", as render.py's kv does it: the pattern (escaped, not trusted),
            # the label escaped, the value isolated, the whole isolated.
            pattern = str(escape(lookup("%(label)s: %(value)s")))

            def kv(label: Any, value: Any) -> Text:
                return Markup("<bdi>%s</bdi>" % (pattern % {"label": escape(label), "value": iso(value)}))

            def iso(value: Any) -> Text:
                return Markup("<bdi>%s</bdi>" % escape(value))

            self.text: Callable[[Any], Text] = escape
        else:
            def _(message: str, **values: Any) -> Text:
                return lookup(message) % values

            def kv(label: Any, value: Any) -> Text:
                return _("%(label)s: %(value)s", label=label, value=value)

            def iso(value: Any) -> Text:
                return value

            self.text = str
        # "a; b": French sets its semicolon off with a no-break space, as it does its colon.
        separator = catalog.gettext("%(first)s; %(second)s") % {"first": "", "second": ""}
        self.joined: Callable[[Iterable[Any]], Text] = (Markup(escape(separator)).join if html
                                                        else separator.join)
        """figures of one row, one after the other, separated as the language does it"""
        self._ = _
        self.kv = kv
        """"label: value" (in HTML, isolated)"""
        self.iso = iso
        """a value isolated for the bidi algorithm in HTML (``<bdi>``), as it is in text"""

    # --- labels (the wording of the macros they replace in _macros.j2) -------------------------------

    def title(self, document: dict[str, Any], is_credit_note: bool) -> Text:
        _ = self._
        number = document["number"] or _("(draft)")
        if is_credit_note:
            return _("Credit note no. %(number)s", number=number)
        return _("Invoice adjustment no. %(number)s", number=number)

    def metric(self, name: str) -> Text:
        _ = self._
        if name == "availability":
            return _("availability")
        if name == "error_rate":
            return _("request success rate")
        if name == "error_threshold":
            return _("intervals within the error-rate threshold")
        if name == "response_time":
            return _("tickets answered in time")
        if name == "resolution_time":
            return _("tickets resolved in time")
        return self.text(name)

    def objective(self, title: "Title", heading: bool = False) -> Text:
        """What customers call an objective: its display name, else its metric and service.

        "availability (compute)"; with the objective's id when two objectives would
        otherwise read alike: "request success rate (storage, api-errors)".  A heading
        (``heading``) starts with a capital; a display name is always as written.
        """
        if title.name is not None:
            return self.text(name_in(title.name, self.language))
        words = self.metric(title.wording)
        if heading:
            words = words[:1].upper() + words[1:]
        if title.with_id:
            return words + " (" + self.text(title.service) + ", " + self.text(title.objective) + ")"
        return words + " (" + self.text(title.service) + ")"

    def line_label(self, f, line: dict[str, Any], legacy: bool = True) -> Text:
        _, kind, detail = self._, line["kind"], line["detail"]
        if kind == "sla_credit":
            return _("Service credit: %(objective)s",
                     objective=line["objective"] if legacy else self.objective(Title.of_line(line)))
        if kind == "cap":
            return _("Cap on credits: %(percent)s of the monthly fees", percent=f.percent(detail["cap_percent"]))
        if kind == "sla_correction":
            return _("Correction of the service credit for this period")
        if kind == "late_interest":
            return _("Late-payment interest on invoice %(invoice)s", invoice=detail["invoice"])
        if kind == "late_compensation":
            return _("Fixed compensation for recovery costs, invoice %(invoice)s", invoice=detail["invoice"])
        if kind == "late_correction":
            return _("Correction of late-payment charges")
        return self.text(kind)

    def tier(self, f, detail: dict[str, Any]) -> Text:
        """"tier 1 (≥ 99 % and < 99.9 %)", its first letter upper-cased."""
        _ = self._
        # Bounds on attainment are percentages; under tiers_on, whole counts of what is counted.
        show = f.number if "tiers_on" in detail else f.percent
        parts = [BOUNDS[symbol] + " " + show(value) for symbol, value in detail["tier_bounds"]]
        if self.html:
            # Jinja's join with a markup separator: the parts are escaped ("<" becomes "&lt;").
            bounds = (Markup(" ") + _("and") + " ").join(parts)
        else:
            bounds = (" " + _("and") + " ").join(parts)
        if "tiers_on" in detail:
            bounds = bounds + " " + self.counted_noun(detail["tiers_on"])
        tier = _("tier %(number)s (%(range)s)", number=detail["tier"] + 1, range=bounds)
        return tier[:1].upper() + tier[1:]

    def segment(self, f, segment: dict[str, Any]) -> Text:
        """One run of late days, for an auditor to recompute: days x rate on the amount outstanding."""
        return self._("%(from)s to %(to)s: %(days)s days at %(rate)s a year on %(amount)s = %(interest)s", **{
            "from": f.day(segment["from"]), "to": f.day(segment["to"]), "days": segment["days"],
            "rate": f.percent(segment["rate_percent"]), "amount": f.money(segment["outstanding"]),
            "interest": f.money(segment["interest"])})

    def penalty_rate(self, f, terms: dict[str, Any]) -> Text:
        """The late-payment interest rate of a regime, in words."""
        _ = self._
        regime = terms["regime"]
        if regime in ("fr", "eu", "be"):
            rate = _("the ECB main refinancing rate plus %(points)s points", points=f.number(terms["margin_points"]))
        elif regime == "nl":
            rate = _("the ECB main refinancing rate plus %(points)s points, the interest of each full year of "
                     "lateness being added to the amount on which interest runs",
                     points=f.number(terms["margin_points"]))
        elif regime == "de":
            rate = _("the German base rate (Basiszinssatz) plus %(points)s points",
                     points=f.number(terms["margin_points"]))
        elif regime == "uk":
            rate = _("the Bank of England Bank Rate plus %(points)s points, fixed when interest starts",
                     points=f.number(terms["margin_points"]))
        else:
            rate = _("%(rate)s a year", rate=f.percent(terms["annual_rate"]))
        if "rate_rounding" in terms:
            step = terms["rate_rounding"]
            rate = (_("%(rate)s, rounded up to the next half point", rate=rate) if Decimal(step) == Decimal("0.5")
                    else _("%(rate)s, rounded up to the next multiple of %(step)s points", rate=rate,
                           step=f.number(step)))
        return rate

    def late_payment_terms(self, f, terms: dict[str, Any]) -> Text:
        """The penalty terms; for customers in France, the mention L441-10 and D441-5 require."""
        _ = self._
        rate = self.penalty_rate(f, terms)
        if "compensation" in terms:
            amount = f.money(terms["compensation"])
        elif "compensation_bands" in terms:
            bands = terms["compensation_bands"]
            amount = _("%(small)s, %(medium)s or %(large)s according to the amount owed",
                       small=f.money(bands[0]), medium=f.money(bands[1]), large=f.money(bands[2]))
        else:
            amount = None
        if terms["country"] == "FR" and amount:
            return _("Late-payment penalties: %(rate)s. Fixed compensation for recovery costs: %(amount)s "
                     "(French Commercial Code, articles L441-10 and D441-5).", rate=rate, amount=amount)
        if amount:
            return _("Late payment: interest at %(rate)s, and a fixed compensation of %(amount)s per late invoice.",
                     rate=rate, amount=amount)
        return _("Late payment: interest at %(rate)s.", rate=rate)

    # --- the terms of INTERFACE.md section 6, worded once for documents, reports and explanations ---

    def assessed(self, f, evaluation: dict[str, Any]) -> Text | None:
        """What a quarterly rule set measured this month: its quarter, or nothing."""
        if evaluation.get("assessment") != "quarter":
            return None
        if "assessed_from" in evaluation:
            return self._("The objectives are measured over the quarter from %(from)s to %(to)s, on the fees of "
                          "its three months.", **{"from": f.day(evaluation["assessed_from"]),
                                                  "to": f.day(evaluation["assessed_to"])})
        return self._("The objectives are measured over quarters, and this month ends none: only late-payment "
                      "charges are assessed this month.")

    def counted_noun(self, tiers_on: str) -> Text:
        return self._("late tickets") if tiers_on == "late_tickets" else self._("outages")

    def terms_notes(self, f, entry: dict[str, Any], zone: str | None = None) -> list[Text]:
        """Sentences for the section 6 figures of an objective: its JSON (reports, explanations) or a
        document line's detail, which use the same keys.  Nothing for an objective without them."""
        _, notes = self._, []
        if "attainment_rounded" in entry:
            notes.append(_("Compared with the target after rounding: %(value)s.",
                           value=f.percent(entry["attainment_rounded"])))
        if "active_from" in entry:
            notes.append(_("Measured from %(day)s, the first day of the contract.", day=f.day(entry["active_from"])))
        if "active_to" in entry:
            notes.append(_("Measured until %(day)s, the last day of the contract.", day=f.day(entry["active_to"])))
        if "beyond_minutes" in entry:
            notes.append(_("Only the downtime beyond the %(allowed)s min the target allows earns a credit: "
                           "%(beyond)s min.", allowed=f.number(entry["allowance_minutes"]),
                           beyond=f.number(entry["beyond_minutes"])))
        if "credit_days" in entry:
            notes.append(_("The credit is written in days: %(days)s days of the fee, that is %(percent)s of it.",
                           days=f.number(entry["credit_days"]), percent=f.percent(entry["credit_percent"])))
        if "counted_outages" in entry:
            notes.append(_("Outages counted: %(count)s.", count=f.number(entry["counted_outages"])))
        for outage in entry.get("outages", ()):
            span = f.span_in(zone, outage["start"], outage["end"]) if zone else outage["start"] + " – " + outage["end"]
            if "tier" in outage:
                notes.append(_("Outage %(span)s: tier %(number)s, %(credit)s.", span=span, number=outage["tier"] + 1,
                               credit=f.money(outage["credit"])))
            else:
                notes.append(_("Outage %(span)s: %(minutes)s min counted in this period, %(credit)s.", span=span,
                               minutes=f.number(outage["counted_minutes"]), credit=f.money(outage["credit"])))
        if "in_total" in entry:
            notes.append(_("Group %(group)s pays only its largest credit, and this is it.", group=entry["group"])
                         if entry["in_total"] else
                         _("Group %(group)s pays only its largest credit: this one is not added to the total.",
                           group=entry["group"]))
        return notes


@lru_cache(maxsize=None)
def wording(language: str, html: bool) -> Wording:
    """The wording of documents in a catalog language ("en" for a locale without a catalog)."""
    return Wording(translations(language), html, language)


# --- what customers call an objective ----------------------------------------------------------------

class Title:
    """What titles an objective: its display name, or the metric and service it is worded from."""

    __slots__ = ("objective", "name", "wording", "service", "with_id")

    def __init__(self, objective: str, name: Any, wording: str, service: str, with_id: bool = False) -> None:
        self.objective = objective
        self.name = name
        """the rule set's display name (a text, or texts by language), or None"""
        self.wording = wording
        """what the metric is worded as without a name (``wording_of``)"""
        self.service = service
        self.with_id = with_id
        """whether the id is needed to tell this objective from another one of its wording"""

    @classmethod
    def of_line(cls, line: dict[str, Any]) -> "Title":
        """The title of a document's credit line, from what the line was issued with."""
        detail = line["detail"]
        return cls(line["objective"], detail.get("name"), wording_of(detail["metric"], "downtime_minutes" in detail),
                   detail["service"], detail.get("with_id", False))


def wording_of(metric: str, counts_downtime: bool) -> str:
    """The wording of an objective's metric: an error-rate objective that counts downtime is one in
    threshold mode, whose attainment is the share of intervals within the threshold."""
    return "error_threshold" if metric == "error_rate" and counts_downtime else metric


def titles(objectives: Iterable[tuple[str, Any, str, str]]) -> dict[str, Title]:
    """The titles of an evaluation's objectives, given as (id, name, wording, service).

    Objectives without a display name are worded from their metric and service; where two
    of them would read alike, both also show their id, on every document, report and
    explanation of the evaluation (the rule set is the same for all of them).
    """
    objectives = list(objectives)
    alike = Counter((wording, service) for _, name, wording, service in objectives if name is None)
    return {objective: Title(objective, name, wording, service, name is None and alike[wording, service] > 1)
            for objective, name, wording, service in objectives}


def record_titles(evaluation: dict[str, Any]) -> dict[str, Title]:
    """The titles of the objectives of a recorded evaluation (its JSON, INTERFACE.md section 5)."""
    return titles((o["id"], o.get("name"), wording_of(o["metric"], "downtime_minutes" in o), o["service"])
                  for o in evaluation["objectives"])


# --- documents ---------------------------------------------------------------------------------------

def present(doc: dict[str, Any], is_credit_note: bool, f, words: Wording) -> dict[str, Any]:
    """The view of a document (``Document.to_json``) its template lays out: finished strings only."""
    _, kv, iso = words._, words.kv, words.iso
    legacy = doc.get("presentation", 1) < 2
    notes = doc["notes"]
    footer = []
    assessed = words.assessed(f, notes)
    if assessed is not None:
        footer.append(assessed)
    if "minimum_credit" in notes:
        footer.append(_("Credits below %(amount)s are not issued.", amount=iso(f.money(notes["minimum_credit"]))))
    if "late_payment" in notes:
        footer.append(words.late_payment_terms(f, notes["late_payment"]))
    footer.append(_("Service-level terms: %(ruleset)s, version %(version)s.",
                    ruleset=notes["ruleset"], version=notes["ruleset_version"]))
    meta = [(_("Issue date"), iso(f.day(doc["issue_date"]))), (_("Service period"), iso(f.month(doc["period"]))),
            (_("Contract"), iso(doc["contract"]))]
    if doc["corrects"]:
        meta.append((_("Corrects"), iso(doc["corrects"])))
    # Documents issued since e-invoices (INTERFACE.md 6.4) state more; those issued before render as they did.
    legal = doc.get("presentation", 1) >= LEGAL
    for billed in doc.get("invoices", ()):
        meta.append((_("Invoice for this period"), iso(_("%(number)s of %(date)s", number=billed["number"],
                                                         date=f.day(billed["issue_date"])))))
    view: dict[str, Any] = {
        "title": words.title(doc, is_credit_note),
        "intro": (_("We did not meet the service levels below during this period. This credit was issued "
                    "automatically; you do not need to claim it.") if is_credit_note
                  else _("The amounts below will be applied to your next invoice.")),
        "footer": footer,
        # Identifiers come isolated from kv(); isolating them again would nest isolates for nothing.
        "issuer_legal": _issuer_legal(f, words, doc["issuer"]) if legal else [],
        "customer_legal": identifiers(words, doc["customer"], vat=False) if legal else [],
        "mentions": [iso(item) for item in mentions(f, words, doc)] if legal else [],
    }
    issuer, customer = doc["issuer"], doc["customer"]
    if words.html:
        view.update(
            headings={"customer": _("Customer"), "description": _("Description"), "vat": _("VAT"),
                      "amount": _("Amount"), "net_total": _("Total excl. VAT"), "gross_total": _("Total incl. VAT")},
            meta=meta,
            issuer=_html_party(words, issuer), customer=_html_party(words, customer),
            lines=[_html_line(f, words, line, legacy) for line in doc["lines"]],
            net_total=iso(f.money(doc["net_total"])),
            vat=[(vat_label(f, words, vat), iso(f.money(vat["tax"]))) for vat in doc["vat"]],
            gross_total=iso(f.money(doc["gross_total"])),
        )
    else:
        # Text has no isolation: iso() gave the values as they are.
        issuer_line = issuer["name"] + ", " + issuer["address"]
        if issuer["vat_id"]:
            issuer_line += ", " + kv(_("VAT number"), issuer["vat_id"])
        customer_line = kv(_("Customer"), customer["name"] + ", " + customer["address"])
        if customer["vat_id"]:
            customer_line += ", " + kv(_("VAT number"), customer["vat_id"])
        view.update(
            meta=[kv(label, value) for label, value in meta],
            issuer=issuer_line, customer=customer_line,
            lines=[_text_line(f, words, line, legacy) for line in doc["lines"]],
            net_total=kv(_("Total excl. VAT"), f.money(doc["net_total"])),
            vat=[kv(vat_label(f, words, vat), f.money(vat["tax"])) for vat in doc["vat"]],
            gross_total=kv(_("Total incl. VAT"), f.money(doc["gross_total"])),
        )
    return view


def _html_party(words: Wording, party: dict[str, Any]) -> dict[str, Any]:
    return {"name": words.iso(party["name"]), "address": words.iso(party["address"]),
            "vat_id": words.kv(words._("VAT number"), party["vat_id"]) if party["vat_id"] else None}


def _minutes(f, words: Wording, value: Any, legacy: bool = True) -> Text:
    return words._("%(minutes)s min", minutes=f.number(value) if legacy else f.minutes(value))


def _objective(words: Wording, detail: dict[str, Any]) -> Text:
    """"availability (compute)": the metric, and the service in parentheses."""
    return words.metric(detail["metric"]) + " (" + words.text(detail["service"]) + ")"


def _promise(f, words: Wording, line: dict[str, Any], legacy: bool) -> list[Text]:
    """"Objective: ...; Promised: 99.9 %; Measured: 99.67 %" of a credit line.

    The line's label names the objective; the figures name its metric and service too
    when the label is a display name (which may not say what was measured).
    """
    _, kv, detail = words._, words.kv, line["detail"]
    promised = (_minutes(f, words, detail["target_time_minutes"], legacy) if "per_breach" in detail
                else f.percent(detail["target"]))
    if legacy:
        return [kv(_("Objective"), _objective(words, detail)), kv(_("Promised"), promised),
                kv(_("Measured"), f.percent(detail["attainment"]))]
    # A credit line is there because its objective was missed.
    measured = kv(_("Measured"), f.percent(shown_attainment(detail["attainment"], detail["target"], False)))
    figures = [kv(_("Promised"), promised), measured]
    if detail["target"] is None and ("outages" in detail or "tiers_on" in detail):
        # A credit per outage or on a count, without a target, promises no attainment.
        figures.pop(0)
    if "name" in detail:
        measured_as = Title(line["objective"], None, wording_of(detail["metric"], "downtime_minutes" in detail),
                            detail["service"])
        figures.insert(0, kv(_("Objective"), words.objective(measured_as)))
    return figures


def _fee(f, words: Wording, detail: dict[str, Any]) -> Text:
    """The credit basis: the monthly fee, or, for a quarter, the fees of its months."""
    if "fee_months" in detail:
        return words.kv(words._("Fees of the quarter (%(months)s months)", months=f.number(detail["fee_months"])),
                        f.money(detail["fee"]))
    return words.kv(words._("Monthly fee"), f.money(detail["fee"]))


def _html_line(f, words: Wording, line: dict[str, Any], legacy: bool = True) -> dict[str, Any]:
    """A line as the HTML shows it: its label, groups of figures under it, its VAT rate and amount."""
    _, kv, iso = words._, words.kv, words.iso
    kind, detail = line["kind"], line["detail"]
    figures: list[list[Text]] = []
    segments: list[Text] = []
    if kind == "sla_credit":
        figures.append(_promise(f, words, line, legacy))
        measured = []
        if "downtime_minutes" in detail:
            measured.append(kv(_("Downtime"), _minutes(f, words, detail["downtime_minutes"], legacy)))
        if "excluded_minutes" in detail:
            measured.append(kv(_("Excluded"), _minutes(f, words, detail["excluded_minutes"], legacy)))
        if "allowed_minutes" in detail:
            measured.append(kv(_("Allowed"), _minutes(f, words, detail["allowed_minutes"], legacy)))
        if "intervals" in detail:
            measured.append(kv(_("Intervals in error"),
                               f.number(detail["error_intervals"]) + " / " + f.number(detail["intervals"])))
        figures.append(measured)
        if "per_breach" in detail:
            credit = [kv(_("Late tickets"), f.number(detail["units"]) + " × " + f.money(detail["per_breach"]))]
        else:
            credit = []
            if "tier" in detail:
                credit.append(iso(words.tier(f, detail)))
            if "units" in detail:
                credit.append(kv(_("Units"), f.number(detail["units"])))
            credit.append(kv(_("Credit rate"), f.percent(detail["credit_percent"])))
            credit.append(_fee(f, words, detail))
        figures.append(credit)
        notes = words.terms_notes(f, detail, detail.get("timezone"))
        if notes:
            figures.append(notes)
    elif kind == "sla_correction":
        figures.append([kv(_("Previously credited"), f.money(detail["previously_credited"])),
                        kv(_("Now due"), f.money(detail["now_due"]))])
    elif kind == "late_interest":
        figures.append([kv(_("Invoice amount"), f.money(detail["base"])),
                        kv(_("Late from"), f.day(detail["first_late_day"]))])
        segments = [words.segment(f, segment) for segment in detail["segments"]]
    elif kind == "late_correction":
        figures.append([kv(_("Previously charged"), f.money(detail["previously_charged"])),
                        kv(_("Now due"), f.money(detail["now_due"]))])
    return {"label": iso(words.line_label(f, line, legacy)), "figures": figures, "segments": segments,
            "vat_rate": iso(f.percent(line["vat_rate"])), "net": iso(f.money(line["net"]))}


def _text_line(f, words: Wording, line: dict[str, Any], legacy: bool = True) -> dict[str, Any]:
    """A line as the text shows it: "label: amount (VAT rate)", then rows of figures."""
    _, kv = words._, words.kv
    kind, detail = line["kind"], line["detail"]
    rows: list[str] = []
    if kind == "sla_credit":
        rows.append(words.joined(_promise(f, words, line, legacy)))
        if "downtime_minutes" in detail:
            minutes = [kv(_("Downtime"), _minutes(f, words, detail["downtime_minutes"], legacy))]
            if "excluded_minutes" in detail:
                minutes.append(kv(_("Excluded"), _minutes(f, words, detail["excluded_minutes"], legacy)))
            if "allowed_minutes" in detail:
                minutes.append(kv(_("Allowed"), _minutes(f, words, detail["allowed_minutes"], legacy)))
            rows.append(words.joined(minutes))
        if "intervals" in detail:
            rows.append(kv(_("Intervals in error"),
                           f.number(detail["error_intervals"]) + " / " + f.number(detail["intervals"])))
        if "per_breach" in detail:
            rows.append(kv(_("Late tickets"), f.number(detail["units"]) + " × " + f.money(detail["per_breach"])))
        else:
            credit = []
            if "tier" in detail:
                credit.append(words.tier(f, detail))
            if "units" in detail:
                credit.append(kv(_("Units"), f.number(detail["units"])))
            credit.append(kv(_("Credit rate"), f.percent(detail["credit_percent"])))
            credit.append(_fee(f, words, detail))
            rows.append(words.joined(credit))
        rows += words.terms_notes(f, detail, detail.get("timezone"))
    elif kind == "sla_correction":
        rows.append(words.joined((kv(_("Previously credited"), f.money(detail["previously_credited"])),
                                  kv(_("Now due"), f.money(detail["now_due"])))))
    elif kind == "late_interest":
        rows.append(words.joined((kv(_("Invoice amount"), f.money(detail["base"])),
                                  kv(_("Late from"), f.day(detail["first_late_day"])))))
        rows += [words.segment(f, segment) for segment in detail["segments"]]
    elif kind == "late_correction":
        rows.append(words.joined((kv(_("Previously charged"), f.money(detail["previously_charged"])),
                                  kv(_("Now due"), f.money(detail["now_due"])))))
    return {"head": kv(words.line_label(f, line, legacy), f.money(line["net"])) + " (" + _("VAT") + " "
                    + f.percent(line["vat_rate"]) + ")",
            "rows": rows}


# --- legal content (INTERFACE.md 6.4): on documents issued since, and in their e-invoices ---------------

STATUTORY_FR = {"regime": "fr", "margin_points": "10", "compensation": "40.00"}
"""The late-payment terms French law sets when a contract says nothing (L441-10, D441-5)"""


def legal_identity(f, words: Wording, party: dict[str, Any]) -> Text:
    """"SAS with a share capital of 50,000.00 €, RCS Paris 832 476 915" (BT-33), or "" when unknown."""
    _, iso = words._, words.iso
    parts = []
    if party.get("legal_form") and party.get("share_capital"):
        parts.append(_("%(form)s with a share capital of %(capital)s", form=iso(party["legal_form"]),
                       capital=iso(f.money_in(party["share_capital"], "EUR" if party["country"] == "FR" else None))))
    elif party.get("legal_form"):
        parts.append(iso(party["legal_form"]))
    if party.get("trade_register"):
        parts.append(iso(party["trade_register"]))
    return words.joined(parts) if parts else ""


def vat_label(f, words: Wording, vat: dict[str, Any]) -> Text:
    """"VAT 20 % on 124.58 €", or, for a category without VAT, its name: "Reverse charge on 360.00 €"."""
    _, iso = words._, words.iso
    category = vat.get("category")
    if category in (None, "S"):
        return _("VAT %(rate)s on %(base)s", rate=iso(f.percent(vat["rate"])), base=iso(f.money(vat["base"])))
    return _("%(category)s on %(base)s", category=category_name(words, category), base=iso(f.money(vat["base"])))


def category_name(words: Wording, category: str) -> Text:
    """A VAT category (UNCL5305) as a customer reads it."""
    _ = words._
    if category == "AE":
        return _("Reverse charge")
    if category == "E":
        return _("Exempt from VAT")
    if category == "O":
        return _("Outside the scope of VAT")
    if category == "G":
        return _("Export outside the EU, exempt")
    if category == "K":
        return _("Intra-EU supply, exempt")
    if category == "Z":
        return _("Zero-rated (VAT 0 %%)")
    return _("VAT")


def mentions(f, words: Wording, doc: dict[str, Any]) -> list[Text]:
    """What the law has a document say: why a category carries no VAT (and the article), how the
    document is settled, and for a French issuer the mentions of September 2026 (the nature of the
    supply, VAT on debits) and the late-payment terms (L441-10, D441-5)."""
    _ = words._
    said = []
    for vat in doc["vat"]:
        if vat.get("category") not in (None, "S", "Z") and (vat.get("exemption_reason") or vat.get("exemption_code")):
            reason = vat.get("exemption_reason") or vat["exemption_code"]
            name = category_name(words, vat["category"])
            # A reason that already names the category ("Autoliquidation...") is said alone.
            said.append(words.text(reason) if str(name).lower() in reason.lower()
                        else _("%(category)s: %(reason)s", category=name, reason=reason))
    owes = doc["kind"] != "credit_note" and Decimal(doc["gross_total"]) > 0
    said.append(settlement_terms(words, doc, owes))
    issuer = doc["issuer"]
    if issuer["country"] == "FR":
        said.append(_("Nature of the supply: services."))
        if issuer.get("vat_on_debits"):
            said.append(_("The issuer has opted to pay VAT on debits."))
        notes = dict(statutory_notes(f, words, doc))
        if "late_payment" not in doc["notes"]:  # an adjustment already states the contract's terms
            said += [notes["PMD"], notes["PMT"]]
        said.append(notes["AAB"])
    return said


def _issuer_legal(f, words: Wording, issuer: dict[str, Any]) -> list[Text]:
    identity = legal_identity(f, words, issuer)
    return ([identity] if identity else []) + identifiers(words, issuer, vat=False)


def identifiers(words: Wording, party: dict[str, Any], vat: bool = True) -> list[Text]:
    """The party's registration, SIRET, VAT number (unless ``vat`` is False: shown apart) and
    electronic address, each labelled."""
    _, kv = words._, words.kv
    shown = []
    registration = party.get("registration")
    vat_id = (party.get("vat_id") or "").replace(" ", "")
    if registration:
        label = _("SIREN") if registration["scheme"] == "0002" else _("Registration")
        shown.append(kv(label, registration["id"]))
    elif party["country"] == "FR" and len(vat_id) == 13 and vat_id.startswith("FR") and vat_id[4:].isdigit():
        # A French business's SIREN is in its VAT number (FR, a key, the SIREN): French invoices
        # name the customer's SIREN since September 2026.
        shown.append(kv(_("SIREN"), vat_id[4:]))
    if party.get("siret"):
        shown.append(kv(_("SIRET"), party["siret"]))
    if vat and party.get("vat_id"):
        shown.append(kv(_("VAT number"), party["vat_id"]))
    endpoint = party.get("endpoint")
    if endpoint:
        shown.append(kv(_("Electronic address"), endpoint["scheme"] + ":" + endpoint["id"]))
    return shown


def line_description(f, words: Wording, line: dict[str, Any]) -> str:
    """A line's figures on one line of text (BT-154 of its e-invoice)."""
    plain = wording(words.language, False)
    return " / ".join(str(row) for row in _text_line(f, plain, line, legacy=False)["rows"])


def settlement_terms(words: Wording, doc: dict[str, Any], owes: bool) -> Text:
    """How the document is settled: a credit note is refunded; an adjustment is applied to the next invoice."""
    _ = words._
    if doc["kind"] == "credit_note":
        return _("Settlement: this credit is refunded to you by bank transfer within 30 days.")
    if owes:
        return _("Settlement: the amounts below are added to your next invoice and paid with it.")
    return _("Settlement: the amounts below are deducted from your next invoice.")


def statutory_notes(f, words: Wording, doc: dict[str, Any]) -> list[tuple[str, Text]]:
    """The late-payment mentions of a French issuer's documents (PMT, PMD) and the discount (AAB):
    the contract's terms, else those French law sets."""
    _ = words._
    terms = doc["notes"].get("late_payment") or STATUTORY_FR
    rate = words.penalty_rate(f, terms)
    if "compensation" in terms:
        currency = doc["currency"] if "late_payment" in doc["notes"] else "EUR"
        amount = f.money_in(terms["compensation"], currency)
    elif "compensation_bands" in terms:
        bands = terms["compensation_bands"]
        amount = _("%(small)s, %(medium)s or %(large)s according to the amount owed",
                   small=f.money(bands[0]), medium=f.money(bands[1]), large=f.money(bands[2]))
    else:
        amount = f.money_in("40.00", "EUR")
    return [
        ("PMT", _("Fixed compensation for recovery costs in case of late payment: %(amount)s (French Commercial "
                  "Code, article D441-5).", amount=amount)),
        ("PMD", _("Late-payment penalties: %(rate)s, due from the day after the due date (French Commercial Code, "
                  "article L441-10).", rate=rate)),
        ("AAB", _("No discount for early payment.")),
    ]
