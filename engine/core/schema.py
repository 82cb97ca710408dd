"""The rule-set schema (INTERFACE.md section 1) as frozen pydantic models.

A rule set says what a provider promised: objectives with targets, how downtime is
counted and what does not count, credit tiers or per-unit credits, a cap, a minimum,
and late-payment terms.  Models are frozen, refuse unknown keys and hold exact
decimals; a model validator that finds a problem in one key raises
``KeyedValueError`` so the error points at that key's line.  ``RuleSet.model_json_schema()``
is what ``slabill rules schema`` prints for editors.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import date, time, timedelta
from decimal import Decimal
from enum import Enum
from functools import cached_property, lru_cache
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    PrivateAttr,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)

from .errors import KeyedValueError
from .locales import check_language
from .money import Rounding, decimal_places
from .quantities import MAX_AMOUNT, Days, format_duration, parse_decimal, parse_duration, parse_percent, parse_share

# Facts cross into the rule engine as 64-bit integers scaled by 10**digits; 100 * 10**15
# still fits, so bounds may carry at most this many decimals.
MAX_BOUND_DECIMALS = 15

Percent = Annotated[
    Decimal,
    BeforeValidator(parse_percent),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^-?\d+(\.\d+)?\s*%?$"}],
                    "description": "percent, e.g. \"99.9\" or \"10%\""}),
]
Amount = Annotated[
    Decimal,
    BeforeValidator(lambda v: parse_decimal(v, "an amount", MAX_AMOUNT)),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}],
                    "description": "an exact amount in the contract's currency, e.g. \"50.00\""}),
]
Points = Annotated[
    Decimal,
    BeforeValidator(lambda v: parse_decimal(v, "a number of points")),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}]}),
]
Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(s|m|h|d)$", "description": "e.g. 90s, 5m, 4h, 2d"}),
]


Share = Annotated[
    Decimal | Days,
    PlainValidator(parse_share),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"anyOf": [{"type": "number"},
                              {"type": "string", "pattern": r"^\d+(\.\d+)?\s*(%|d)?$"}],
                    "description": "share of the fee: percent (\"10%\", \"10\") or days of the fee (\"3d\")"}),
]
"""A share of the fee a credit pays: a percentage, or (INTERFACE.md 6.2) days of the fee."""


class Frozen(BaseModel):
    """Base of every schema model: immutable, strict about keys.

    A text field given a number takes the number's text (``priority: 1``, ``vat_id:
    12345678901``, ``version: 2026.1``): the YAML reader keeps only plain decimal
    numbers as numbers, and writes them back as they were written.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", use_attribute_docstrings=True, coerce_numbers_to_str=True)


class Extended(Frozen):
    """A schema model that gained keys after rule sets were first stored (display names, and
    INTERFACE.md section 6 of December 2026).

    A rule set is stored and named by the hash of its canonical JSON, defaults filled in,
    and stores written before must keep verifying: re-validated today, a stored rule set must
    hash to the name it was stored under.  So an added key is left out of the canonical JSON
    while it holds its default, and a file that does not use it keeps the hash it always had.
    """

    ADDED: ClassVar[frozenset[str]] = frozenset()
    """the added keys, written only when they differ from their default"""

    @model_serializer(mode="wrap")
    def _without_unused_additions(self, handler):
        data = handler(self)
        fields = type(self).model_fields
        for name in self.ADDED:
            if name in data and getattr(self, name) == fields[name].default:
                del data[name]
        return data


class Cause(str, Enum):
    outage = "outage"
    maintenance = "maintenance"
    customer = "customer"
    force_majeure = "force_majeure"


class Metric(str, Enum):
    availability = "availability"
    error_rate = "error_rate"
    response_time = "response_time"
    resolution_time = "resolution_time"


TICKET_METRICS = (Metric.response_time, Metric.resolution_time)


# --- credits -------------------------------------------------------------------------

class Tier(Frozen):
    """One credit tier; every bound it names must hold (on attainment in percent, or on a
    whole count under ``tiers_on``)."""

    below: Percent | None = None
    """value < below"""
    at_most: Percent | None = None
    """value <= at_most"""
    above: Percent | None = None
    """value > above"""
    at_least: Percent | None = None
    """value >= at_least"""
    credit: Share
    """share of the service's monthly fee credited when this tier applies ("10%"), or days of it ("3d")"""

    @model_validator(mode="after")
    def _bounds_make_sense(self) -> "Tier":
        if all(b is None for b in (self.below, self.at_most, self.above, self.at_least)):
            raise ValueError("a tier needs at least one bound: below, at_most, above or at_least")
        if self.below is not None and self.at_most is not None:
            raise KeyedValueError(("at_most",), "a tier takes either below or at_most, not both")
        if self.above is not None and self.at_least is not None:
            raise KeyedValueError(("at_least",), "a tier takes either above or at_least, not both")
        low, high = self.lower, self.upper
        if low is not None and high is not None:
            (lv, lclosed), (hv, hclosed) = low, high
            if lv > hv or (lv == hv and not (lclosed and hclosed)):
                raise ValueError(f"this tier can never apply: no attainment is {self.describe()}")
        return self

    @property
    def lower(self) -> tuple[Decimal, bool] | None:
        """The lower bound and whether it is included."""
        if self.at_least is not None:
            return self.at_least, True
        if self.above is not None:
            return self.above, False
        return None

    @property
    def upper(self) -> tuple[Decimal, bool] | None:
        """The upper bound and whether it is included."""
        if self.at_most is not None:
            return self.at_most, True
        if self.below is not None:
            return self.below, False
        return None

    def bounds(self) -> tuple[tuple[str, Decimal], ...]:
        """The bounds as (kind, value), in a fixed order."""
        return tuple((kind, value) for kind in ("below", "at_most", "above", "at_least")
                     if (value := getattr(self, kind)) is not None)

    def describe(self) -> str:
        """The tier's range as people write it.

        >>> Tier(below="99.9", at_least="99.0", credit="10%").describe()
        '>= 99.0 and < 99.9'
        """
        symbols = {"below": "<", "at_most": "<=", "above": ">", "at_least": ">="}
        parts = sorted(self.bounds(), key=lambda b: b[0] in ("below", "at_most"))
        return " and ".join(f"{symbols[kind]} {value}" for kind, value in parts)


class PerUnit(Extended):
    """Each full (prorated, or started) ``every`` of counted downtime earns ``credit`` of the fee."""

    ADDED: ClassVar[frozenset[str]] = frozenset({"beyond_allowance"})

    every: Duration
    credit: Share
    count: Literal["whole", "prorata", "started"] = "whole"
    """whole: each full every; prorata: the exact fraction; started: every started every (ceil)"""
    beyond_allowance: bool = False
    """only the counted downtime beyond the allowance, (100 - target) % of the period, earns credit"""

    @model_validator(mode="after")
    def _positive(self) -> "PerUnit":
        if self.every <= timedelta(0):
            raise KeyedValueError(("every",), "every must be longer than 0s")
        return self


class DowntimeShare(Extended):
    """credit = fee x multiple x counted downtime / period length."""

    ADDED: ClassVar[frozenset[str]] = frozenset({"beyond_allowance"})

    multiple: Points
    beyond_allowance: bool = False
    """only the counted downtime beyond the allowance, (100 - target) % of the period, earns credit"""

    @field_validator("multiple")
    @classmethod
    def _not_negative(cls, value: Decimal) -> Decimal:
        if value < 0:
            raise ValueError("multiple cannot be negative")
        return value


class OutageTier(Frozen):
    """An outage strictly longer than ``longer_than`` earns ``credit`` (the longest such tier wins)."""

    longer_than: Duration
    credit: Share


class PerOutage(Frozen):
    """Each counted outage earns on its own: a multiple of its downtime (with a cap per outage), or by its length."""

    multiple: Points | None = None
    """credit = fee x multiple x the outage's counted minutes in the period / the period's minutes"""
    cap: Share | None = None
    """at most this share of the fee per outage (multiple only; none: no limit)"""
    tiers: tuple[OutageTier, ...] | None = None
    """an outage whose whole length is strictly longer than a tier's longer_than earns the longest such tier"""

    @model_validator(mode="after")
    def _one_form(self) -> "PerOutage":
        if (self.multiple is None) == (self.tiers is None):
            raise ValueError("per_outage takes either multiple (with an optional cap) or tiers"
                             + (", not both" if self.multiple is not None else ""))
        if self.multiple is not None and self.multiple < 0:
            raise KeyedValueError(("multiple",), "multiple cannot be negative")
        if self.cap is not None and self.tiers is not None:
            raise KeyedValueError(("cap",), "cap applies to per_outage multiple, not to its tiers")
        if self.tiers is not None:
            if not self.tiers:
                raise KeyedValueError(("tiers",), "tiers cannot be empty")
            seen: set[timedelta] = set()
            for index, tier in enumerate(self.tiers):
                if tier.longer_than in seen:
                    raise KeyedValueError(("tiers", index, "longer_than"),
                                          f"two tiers are for outages longer than {format_duration(tier.longer_than)}")
                seen.add(tier.longer_than)
        return self


CREDIT_FORMS = ("tiers", "per_unit", "downtime_share", "per_outage", "per_breach")


class Credit(Extended):
    """How a missed objective is paid back: exactly one of the forms."""

    ADDED: ClassVar[frozenset[str]] = frozenset({"tiers_on", "per_outage"})

    tiers_on: Literal["attainment", "late_tickets", "outages"] = "attainment"
    """what the tiers' bounds are read against: the attainment in percent, or a whole count of
    late tickets (ticket objectives) or of counted outages (availability objectives)"""
    tiers: tuple[Tier, ...] | None = None
    per_unit: PerUnit | None = None
    downtime_share: DowntimeShare | None = None
    per_outage: PerOutage | None = None
    """each counted outage earns on its own (availability only)"""
    per_breach: Amount | None = None
    """a fixed amount per late ticket (response_time and resolution_time only)"""

    @model_validator(mode="after")
    def _exactly_one(self) -> "Credit":
        given = [name for name in CREDIT_FORMS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("a credit takes exactly one of tiers, per_unit, downtime_share, per_outage or per_breach"
                             + (f", not {' and '.join(given)}" if given else ""))
        if self.tiers is not None and not self.tiers:
            raise KeyedValueError(("tiers",), "tiers cannot be empty")
        if self.per_breach is not None and self.per_breach < 0:
            raise KeyedValueError(("per_breach",), "a credit cannot be negative")
        if self.tiers_on != "attainment" and self.tiers is None:
            raise KeyedValueError(("tiers_on",), f"tiers_on: {self.tiers_on} reads tiers, but this credit is "
                                  f"{given[0]}")
        return self

    @cached_property
    def form(self) -> str:
        # Asked for every objective of every contract: worked out once per credit.
        return next(name for name in CREDIT_FORMS if getattr(self, name) is not None)

    @property
    def on_count(self) -> bool:
        """Whether the tiers read a whole count (late tickets, outages) rather than the attainment."""
        return self.tiers_on != "attainment"


# --- how downtime counts --------------------------------------------------------------

class Downtime(Frozen):
    """How the length of an outage is counted."""

    count: Literal["exact", "whole", "touched", "full"] = "exact"
    """exact: each outage counts its exact length; whole: only whole units count;
    touched: every clock-aligned unit an outage touches counts; full: only clock-aligned
    units entirely covered by downtime count"""
    unit: Duration = timedelta(minutes=1)
    min_duration: Duration = timedelta(0)
    """outages shorter than this do not count"""

    @field_validator("unit")
    @classmethod
    def _unit_positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("unit must be longer than 0s")
        return value


class Maintenance(Extended):
    """Announced maintenance that does not count as downtime, within limits."""

    ADDED: ClassVar[frozenset[str]] = frozenset({"over_allowance"})

    min_notice: Duration = timedelta(0)
    """announced at least this long before it starts: excluded"""
    max_per_period: Duration | None = None
    """excluded up to this total per period; the rest counts"""
    over_allowance: Literal["counts_excess", "counts_all"] = "counts_excess"
    """beyond max_per_period: only the excess counts (counts_excess), or all of the period's maintenance (counts_all)"""

    @model_validator(mode="after")
    def _allowance(self) -> "Maintenance":
        if self.over_allowance == "counts_all" and self.max_per_period is None:
            raise KeyedValueError(("over_allowance",), "over_allowance: counts_all needs a max_per_period")
        return self


class Exclusions(Frozen):
    """Downtime that does not count against the provider."""

    causes: tuple[Cause, ...] = ()
    maintenance: Maintenance | None = None
    excluded_time: Literal["from_downtime", "from_period"] = "from_downtime"

    @model_validator(mode="after")
    def _consistent(self) -> "Exclusions":
        if Cause.outage in self.causes:
            raise KeyedValueError(("causes",), "outages cannot be excluded by cause; that would exclude all downtime")
        if Cause.maintenance in self.causes and self.maintenance is not None:
            raise KeyedValueError(("maintenance",), "maintenance is already excluded by cause; "
                                  "remove it from causes to apply notice and allowance")
        if len(set(self.causes)) != len(self.causes):
            raise KeyedValueError(("causes",), "a cause is listed twice")
        return self


class ErrorRate(Extended):
    """How request error rates become an attainment."""

    ADDED: ClassVar[frozenset[str]] = frozenset({"min_requests", "min_consecutive"})

    mode: Literal["average", "threshold", "ratio"] = "average"
    """average: 100 - the mean interval error rate; threshold: the share of intervals not above
    threshold; ratio: 100 x (1 - errors / requests) over every row of the period"""
    interval: Duration = timedelta(minutes=5)
    threshold: Percent | None = None
    """percent, threshold mode only: an interval above it is a downtime interval"""
    min_requests: int | None = Field(default=None, ge=1)
    """average and threshold modes: an interval with fewer requests counts as 0 %"""
    min_consecutive: int | None = Field(default=None, ge=1)
    """threshold mode: only runs of at least this many intervals above the threshold are downtime"""

    @model_validator(mode="after")
    def _mode_fields(self) -> "ErrorRate":
        if self.interval <= timedelta(0) or timedelta(days=1) % self.interval:
            raise KeyedValueError(("interval",), "interval must divide a day evenly, e.g. 1m, 5m or 1h")
        if self.mode == "threshold" and self.threshold is None:
            raise KeyedValueError(("threshold",), "threshold mode needs a threshold")
        if self.mode == "average" and self.threshold is not None:
            raise KeyedValueError(("threshold",), "threshold is only used in threshold mode")
        if self.mode == "ratio" and self.threshold is not None:
            raise KeyedValueError(("threshold",), "threshold is only used in threshold mode")
        if self.threshold is not None and not (0 <= self.threshold <= 100):
            raise KeyedValueError(("threshold",), "threshold must be between 0 and 100 percent")
        if self.min_requests is not None and self.mode == "ratio":
            raise KeyedValueError(("min_requests",), "min_requests applies to the average and threshold modes; "
                                  "ratio sums every request of the period")
        if self.min_consecutive is not None and self.mode != "threshold":
            raise KeyedValueError(("min_consecutive",), "min_consecutive applies to threshold mode only")
        return self


# --- objectives ------------------------------------------------------------------------

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")

NAME_LENGTH = 80
"""the longest display name, in characters: it titles a line of a document"""
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_name(value: Any) -> Any:
    """An objective's display name: one text for every language, or texts by language with English.

    >>> check_name("Compute availability")
    'Compute availability'
    >>> check_name({"en": "Compute availability", "fr": "Disponibilité du calcul"})
    {'en': 'Compute availability', 'fr': 'Disponibilité du calcul'}
    """
    if isinstance(value, str):
        return _name_text(value)
    if not isinstance(value, dict):
        raise ValueError("a name is a text, or texts by language such as {en: Compute availability, "
                         "fr: Disponibilité du calcul}")
    for language, text in value.items():
        try:
            check_language(language)
        except ValueError as exc:
            raise KeyedValueError((language,), str(exc)) from None
        if not isinstance(text, str):
            raise KeyedValueError((language,), "a name is a text")
        try:
            _name_text(text)
        except ValueError as exc:
            raise KeyedValueError((language,), str(exc)) from None
    if "en" not in value:
        # English is what a customer reads whose language the name does not list (and whose
        # language has no catalog: the document's labels are English then too).
        raise ValueError("a name given by language needs an English text (en), for the languages it does not list")
    return value


def _name_text(text: str) -> str:
    if not text.strip():
        raise ValueError("a name cannot be empty")
    if text != text.strip():
        raise ValueError("a name cannot begin or end with spaces")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") or c in BIDI_CONTROLS for c in text):
        # Bidi controls in a name would reorder the document around it; layout is the renderer's.
        raise ValueError("a name is one line of text, without control characters or direction marks")
    if len(text) > NAME_LENGTH:
        raise ValueError(f"a name has at most {NAME_LENGTH} characters; it titles a line of a document")
    return text


Name = Annotated[
    str | dict[str, str],
    BeforeValidator(check_name),
    WithJsonSchema({"anyOf": [{"type": "string", "maxLength": NAME_LENGTH},
                              {"type": "object", "required": ["en"],
                               "additionalProperties": {"type": "string", "maxLength": NAME_LENGTH}}],
                    "description": "what documents, reports and explanations call the objective: one text, or "
                                   "texts by language (ISO 639 codes) with English (en)"}),
]


def name_in(name: str | dict[str, str], language: str) -> str:
    """The text of a display name in a language: its own, else English.

    >>> name_in({"en": "Compute availability", "fr": "Disponibilité du calcul"}, "fr")
    'Disponibilité du calcul'
    >>> name_in({"en": "Compute availability", "fr": "Disponibilité du calcul"}, "de"), name_in("Uptime", "fr")
    ('Compute availability', 'Uptime')
    """
    if isinstance(name, str):
        return name
    return name.get(language) or name["en"]


class AttainmentRounding(Frozen):
    """The attainment rounded before it is compared with the target and the tiers."""

    decimals: int = Field(ge=0, le=MAX_BOUND_DECIMALS)
    mode: Rounding = Rounding.half_up


class Objective(Extended):
    """One promise: a metric of one service, a target and a credit."""

    # An absent name is left out too: names came before section 6, for the same reason.
    ADDED: ClassVar[frozenset[str]] = frozenset({"name", "period_basis", "attainment_rounding", "group"})

    id: str
    name: Name | None = None
    """what documents, reports and explanations call the objective (without it: its metric and service)"""
    service: str
    """the contract service whose fee is the credit basis, and whose measurements count"""
    metric: Metric
    target: Percent | None = None
    """the SLO in percent; without it, the objective is missed exactly when a tier applies"""
    downtime: Downtime | None = None
    exclusions: Exclusions | None = None
    error_rate: ErrorRate | None = None
    priority: str | None = None
    """which tickets count (omit: all)"""
    target_time: Duration | None = None
    """per-ticket target (response_time, resolution_time)"""
    clock: str = "24x7"
    """a calendar id of this rule set, or 24x7"""
    attainment: Literal["within_target"] = "within_target"
    period_basis: Literal["calendar", "active"] = "calendar"
    """calendar: the whole period; active: only the days on which the contract is active"""
    attainment_rounding: AttainmentRounding | None = None
    """round the attainment before comparing it with the target and the tiers"""
    group: str | None = None
    """objectives that share a group earn only the largest of their credits"""
    credit: Credit

    @field_validator("id", "group")
    @classmethod
    def _id_shape(cls, value: str | None) -> str | None:
        if value is not None and not _ID.match(value):
            raise ValueError("an objective id or group uses lowercase letters, digits and '-'")
        return value

    @model_validator(mode="after")
    def _fits_metric(self) -> "Objective":
        allowed = {
            Metric.availability: {"downtime", "exclusions"},
            Metric.error_rate: {"error_rate"},
            Metric.response_time: {"priority", "target_time"},
            Metric.resolution_time: {"priority", "target_time"},
        }[self.metric]
        for name in ("downtime", "exclusions", "error_rate", "priority", "target_time"):
            if getattr(self, name) is not None and name not in allowed:
                raise KeyedValueError((name,), f"{name} does not apply to metric {self.metric.value}")
        if self.metric is Metric.error_rate and self.error_rate is None:
            raise KeyedValueError(("error_rate",), "metric error_rate needs an error_rate block")
        if self.metric in TICKET_METRICS:
            if self.target_time is None:
                raise KeyedValueError(("target_time",), f"metric {self.metric.value} needs a target_time")
            if self.target_time <= timedelta(0):
                raise KeyedValueError(("target_time",), "target_time must be longer than 0s")
        elif self.clock != "24x7":
            raise KeyedValueError(("clock",), f"clock does not apply to metric {self.metric.value}")
        if self.target is not None and not (0 <= self.target <= 100):
            raise KeyedValueError(("target",), "target must be between 0 and 100 percent")
        form = self.credit.form
        if form == "per_breach" and self.metric not in TICKET_METRICS:
            raise KeyedValueError(("credit", "per_breach"), "per_breach applies to ticket metrics only")
        if form in ("per_unit", "downtime_share"):
            counts_downtime = self.metric is Metric.availability or (
                self.metric is Metric.error_rate and self.error_rate is not None
                and self.error_rate.mode == "threshold")
            if not counts_downtime:
                raise KeyedValueError(("credit", form),
                                      f"{form} needs downtime: metric availability, or error_rate in threshold mode")
            if getattr(self.credit, form).beyond_allowance and self.target is None:
                raise KeyedValueError(("credit", form, "beyond_allowance"),
                                      "beyond_allowance needs a target: the allowance is (100 - target) % of the period")
        if form == "per_outage":
            if self.metric is not Metric.availability:
                raise KeyedValueError(("credit", "per_outage"), "per_outage counts outages: metric availability only")
            if self.credit.per_outage.multiple is not None and self.counting.count != "exact":  # type: ignore[union-attr]
                raise KeyedValueError(("downtime", "count"), "per_outage multiple credits each outage's exact minutes; "
                                      "use count: exact")
        if self.credit.tiers_on == "late_tickets" and self.metric not in TICKET_METRICS:
            raise KeyedValueError(("credit", "tiers_on"), "tiers_on: late_tickets needs a ticket metric "
                                  f"(response_time or resolution_time), not {self.metric.value}")
        if self.credit.tiers_on == "outages" and self.metric is not Metric.availability:
            raise KeyedValueError(("credit", "tiers_on"), f"tiers_on: outages needs metric availability, "
                                  f"not {self.metric.value}")
        if self.credit.tiers:
            for index, tier in enumerate(self.credit.tiers):
                for kind, value in tier.bounds():
                    if decimal_places(value) > MAX_BOUND_DECIMALS:
                        raise KeyedValueError(("credit", "tiers", index, kind),
                                              f"a bound has at most {MAX_BOUND_DECIMALS} decimals")
        if self.target is not None and decimal_places(self.target) > MAX_BOUND_DECIMALS:
            raise KeyedValueError(("target",), f"a target has at most {MAX_BOUND_DECIMALS} decimals")
        return self

    # Read for every objective of every contract when its JSON is written: a cached property is
    # a dictionary look-up once worked out, where a private attribute costs pydantic's __getattr__.
    @cached_property
    def uses_additions(self) -> bool:
        """Whether the objective uses a term of INTERFACE.md 6.1 or 6.2 that adds keys to its JSON."""
        credit = self.credit
        return (self.period_basis != "calendar" or self.attainment_rounding is not None
                or self.group is not None or credit.per_outage is not None
                or getattr(credit.per_unit or credit.downtime_share, "beyond_allowance", False)
                or isinstance(getattr(credit.per_unit, "credit", None), Days)
                or any(isinstance(tier.credit, Days) for tier in credit.tiers or ()))

    @cached_property
    def counts_outages(self) -> bool:
        """Whether the credit needs the counted outages (per_outage, tiers_on: outages)."""
        return self.credit.per_outage is not None or self.credit.tiers_on == "outages"

    @cached_property
    def counting(self) -> Downtime:
        """How downtime counts: the ``downtime`` block, or its defaults (made once, not per contract)."""
        return self.downtime or Downtime()

    @property
    def promised(self) -> Decimal | None:
        """The attainment promised: ``target``, else the highest upper bound of attainment tiers."""
        if self.target is not None:
            return self.target
        if self.credit.on_count:
            return None
        uppers = [tier.upper[0] for tier in self.credit.tiers or () if tier.upper is not None]
        return max(uppers) if uppers else None


# --- business calendars ----------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


def parse_days(spec: str) -> tuple[int, ...]:
    """Weekday numbers (Monday = 0) named by ``mon``, ``mon-fri`` or ``sat,sun``.

    >>> parse_days("mon-thu"), parse_days("fri"), parse_days("sat, sun")
    ((0, 1, 2, 3), (4,), (5, 6))
    """
    days: list[int] = []
    for part in str(spec).split(","):
        part = part.strip().lower()
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValueError(f"{spec!r} is not a weekday or a range such as mon-fri")
        start, end = WEEKDAYS.index(first), WEEKDAYS.index(last or first)
        if end < start:
            raise ValueError(f"{spec!r} runs backwards; write it from the first day to the last")
        days.extend(range(start, end + 1))
    return tuple(days)


def parse_hours(spec: str) -> tuple[tuple[time, time | None], ...]:
    """Opening intervals such as ``"09:00-12:00, 13:00-17:00"``; an end of ``24:00`` is None.

    >>> parse_hours("09:00-12:00, 13:00-17:00")
    ((datetime.time(9, 0), datetime.time(12, 0)), (datetime.time(13, 0), datetime.time(17, 0)))
    """
    intervals: list[tuple[time, time | None]] = []
    for part in str(spec).split(","):
        match = _HOURS.match(part.strip())
        if not match:
            raise ValueError(f"{part.strip()!r} is not an interval such as 09:00-17:00")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2):
            raise ValueError(f"{part.strip()!r} is not a time of day")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end <= start:
            raise ValueError(f"{part.strip()!r} ends before it starts")
        if intervals:
            previous_end = intervals[-1][1]
            if previous_end is None or start < previous_end.hour * 60 + previous_end.minute:
                raise ValueError(f"{spec!r}: intervals must be in order and must not overlap")
        intervals.append((time(h1, m1), None if h2 == 24 else time(h2, m2)))
    return tuple(intervals)


@lru_cache(maxsize=None)
def _holiday_calendar_exists(country: str, subdivision: str | None) -> bool:
    import holidays

    try:
        holidays.country_holidays(country, subdiv=subdivision, years=2026)
    except NotImplementedError:
        return False
    return True


class Calendar(Frozen):
    """Business hours in a time zone, minus public holidays and extra closed days."""

    timezone: str
    hours: dict[str, str]
    """weekday or range (mon-fri) -> "09:00-18:00" or "09:00-12:00, 13:00-17:00" """
    holidays: str | None = None
    """ISO country, optionally with subdivision: FR, DE-BY, GB-ENG"""
    closed: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, str]) -> dict[str, str]:
        seen: dict[int, str] = {}
        for days, hours in value.items():
            try:
                numbers = parse_days(days)
                parse_hours(hours)
            except ValueError as exc:
                raise KeyedValueError((days,), str(exc)) from None
            for day in numbers:
                if day in seen:
                    raise KeyedValueError((days,), f"{WEEKDAYS[day]} is already given by {seen[day]!r}")
                seen[day] = days
        return value

    @field_validator("holidays")
    @classmethod
    def _holidays(cls, value: str | None) -> str | None:
        if value is None:
            return None
        country, _, subdivision = value.partition("-")
        if not _holiday_calendar_exists(country, subdivision or None):
            raise ValueError(f"no public-holiday calendar is known for {value!r}; "
                             "use an ISO country code, optionally with a subdivision (FR, DE-BY, GB-ENG)")
        return value

    def opening(self) -> tuple[tuple[tuple[time, time | None], ...], ...]:
        """Opening intervals for each weekday, Monday first."""
        week: list[tuple[tuple[time, time | None], ...]] = [()] * 7
        for days, hours in self.hours.items():
            for day in parse_days(days):
                week[day] = parse_hours(hours)
        return tuple(week)


@lru_cache(maxsize=None)
def check_timezone(value: str) -> str:
    """An IANA time-zone name, checked against the zone database."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{value!r} is not an IANA time zone such as Europe/Paris") from None
    return value


# --- late payment ------------------------------------------------------------------------

class RateRounding(Frozen):
    """The annual rate rounded up to a step (Belgium: the next half point)."""

    up_to: Points
    """the step, in points: "0.5" rounds 11.15 up to 11.5"""

    @field_validator("up_to")
    @classmethod
    def _positive(cls, value: Decimal) -> Decimal:
        if value <= 0:
            raise ValueError("up_to must be more than 0")
        return value


class LatePayment(Extended):
    """What the customer owes for paying late (INTERFACE.md sections 1 and 6.3)."""

    ADDED: ClassVar[frozenset[str]] = frozenset({"rate_rounding"})

    regime: Literal["fr", "de", "uk", "eu", "be", "nl", "contractual"]
    annual_rate: Percent | None = None
    """contractual only: the fixed annual rate in percent"""
    margin_points: Points | None = None
    """optional override of the regime's margin over the reference rate"""
    fixed_compensation: Amount | None = None
    """optional override of the regime's fixed recovery sum"""
    grace_days: int = Field(default=0, ge=0)
    day_count: Literal["act_365", "act_act", "30_360"] = "act_365"
    """30_360 is the 30E/360 (Eurobond) convention"""
    base: Literal["gross", "net"] = "gross"
    vat_on_interest: bool = False
    """whether VAT is charged on the interest (the fixed sum never carries VAT)"""
    rate_rounding: RateRounding | None = None
    """round the annual rate up to a step (be rounds up to 0.5 without it)"""

    @model_validator(mode="after")
    def _rate_for_regime(self) -> "LatePayment":
        if self.regime == "contractual" and self.annual_rate is None:
            raise KeyedValueError(("annual_rate",), "the contractual regime needs an annual_rate")
        if self.regime != "contractual" and self.annual_rate is not None:
            raise KeyedValueError(("annual_rate",), "annual_rate is only for the contractual regime; "
                                  "use margin_points to change a statutory margin")
        if self.annual_rate is not None and self.annual_rate < 0:
            raise KeyedValueError(("annual_rate",), "annual_rate cannot be negative")
        if self.fixed_compensation is not None and self.fixed_compensation < 0:
            raise KeyedValueError(("fixed_compensation",), "fixed_compensation cannot be negative")
        return self


# --- the rule set ------------------------------------------------------------------------------

class RuleSet(Extended):
    """One version of a rule set, as validated from one file."""

    ADDED: ClassVar[frozenset[str]] = frozenset({"assessment", "fiscal_year_start"})

    ruleset: str
    """id: lowercase letters, digits, '-'"""
    version: Annotated[str, BeforeValidator(lambda v: str(v) if isinstance(v, (int, Decimal)) else v)]
    effective_from: date
    effective_until: date | None = None
    description: str = ""
    rounding: Rounding = Rounding.half_up
    calendars: dict[str, Calendar] = {}
    objectives: tuple[Objective, ...] = ()
    cap: Percent | None = None
    """total credits of a period <= this share of the contract's monthly fees"""
    minimum_credit: Amount | None = None
    """a total below this is not issued (status below_minimum)"""
    settlement: Literal["credit_note", "next_invoice"] = "credit_note"
    late_payment: LatePayment | None = None
    assessment: Literal["month", "quarter"] = "month"
    """month: objectives are measured each month; quarter: over the quarter ending with the month run"""
    fiscal_year_start: int = Field(default=1, ge=1, le=12)
    """the month quarters count from: with 2, Feb-Apr, May-Jul, Aug-Oct, Nov-Jan"""

    _canonical: str = PrivateAttr(default="")
    _sha256: str = PrivateAttr(default="")

    @field_validator("ruleset")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("a rule-set id uses lowercase letters, digits and '-'")
        return value

    @field_validator("version")
    @classmethod
    def _version_shape(cls, value: str) -> str:
        if not value or any(c in value for c in "@#/ \t"):
            raise ValueError("a version is a short text without spaces, '@', '#' or '/', e.g. \"2026.1\"")
        return value

    @model_validator(mode="after")
    def _whole(self) -> "RuleSet":
        if self.effective_until is not None and self.effective_until < self.effective_from:
            raise KeyedValueError(("effective_until",), "effective_until is before effective_from")
        seen: set[str] = set()
        for index, objective in enumerate(self.objectives):
            if objective.id in seen:
                raise KeyedValueError(("objectives", index, "id"), f"the objective id {objective.id!r} is used twice")
            seen.add(objective.id)
            if objective.clock != "24x7" and objective.clock not in self.calendars:
                known = ", ".join(["24x7", *sorted(self.calendars)])
                raise KeyedValueError(("objectives", index, "clock"),
                                      f"no calendar {objective.clock!r} is defined (known: {known})")
        self._names_tell_objectives_apart()
        if self.cap is not None and self.cap < 0:
            raise KeyedValueError(("cap",), "cap cannot be negative")
        if self.minimum_credit is not None and self.minimum_credit < 0:
            raise KeyedValueError(("minimum_credit",), "minimum_credit cannot be negative")
        if self.fiscal_year_start != 1 and self.assessment != "quarter":
            raise KeyedValueError(("fiscal_year_start",), "fiscal_year_start says where quarters start; "
                                  "it needs assessment: quarter")
        return self

    def _names_tell_objectives_apart(self) -> None:
        """Two objectives named alike in some language would be two lines a customer cannot tell apart."""
        named = [(index, o) for index, o in enumerate(self.objectives) if o.name is not None]
        languages = {"en"} | {language for _, o in named if isinstance(o.name, dict) for language in o.name}
        for language in sorted(languages):
            seen: dict[str, str] = {}
            for index, objective in named:
                text = name_in(objective.name, language)  # type: ignore[arg-type]
                other = seen.setdefault(text.casefold(), objective.id)
                if other != objective.id:
                    raise KeyedValueError(("objectives", index, "name"),
                                          f"objective {objective.id!r} has the same name as {other!r} in "
                                          f"{language!r} ({text!r}): customers could not tell them apart")

    @property
    def quarterly(self) -> bool:
        return self.assessment == "quarter"

    @cached_property
    def grouped(self) -> bool:
        """Whether any objective belongs to a group (asked for every contract when it is priced)."""
        return any(objective.group is not None for objective in self.objectives)

    def model_post_init(self, __context: Any) -> None:
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"),
                               ensure_ascii=False)
        self._canonical = canonical
        self._sha256 = hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def canonical_json(self) -> str:
        """The validated rule set as canonical JSON: sorted keys, no spaces, defaults filled in."""
        return self._canonical

    @property
    def sha256(self) -> str:
        """Content hash of the canonical JSON; evaluations name it, never a file path."""
        return self._sha256

    @property
    def engine_name(self) -> str:
        """The immutable name under which this exact content is registered with the rule engine."""
        return f"{self.ruleset}@{self.version}#{self.sha256[:12]}"

    def applies_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)

    @classmethod
    def vocabulary(cls) -> set[str]:
        """Every key the schema knows, for "did you mean ...?" hints."""
        words: set[str] = set()
        for model in (RuleSet, Objective, Tier, PerUnit, DowntimeShare, PerOutage, OutageTier, Credit, Downtime,
                      Maintenance, Exclusions, ErrorRate, AttainmentRounding, Calendar, LatePayment, RateRounding):
            words.update(model.model_fields)
        return words
