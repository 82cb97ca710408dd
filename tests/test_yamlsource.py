"""Reading YAML into plain data: each kind of scalar, repeated texts, keys, anchors."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.core.errors import InputError
from engine.loading.yamlsource import parse_yaml


@pytest.mark.parametrize("text, expected", [
    ("a: 12", 12),
    ("a: '12'", "12"),
    ('a: "12"', "12"),
    ("a: 99.9", Decimal("99.9")),
    ("a: '99.9'", "99.9"),
    ("a: true", True),
    ("a: 'true'", "true"),
    ("a: null", None),
    ("a: ~", None),
    ("a: 2026-01-01", date(2026, 1, 1)),
    ("a: '2026-01-01'", "2026-01-01"),
    ("a: ! 12", 12),            # libyaml reports "!" on a plain scalar as implicit: resolved as PyYAML does
    ("a: EUR", "EUR"),
    ("a: |\n  12\n", "12\n"),   # block text is always a string
])
def test_each_kind_of_scalar(text, expected):
    value = parse_yaml(text, "t.yaml").data["a"]
    assert value == expected and type(value) is type(expected)


def test_the_same_plain_text_resolves_the_same_way_each_time():
    """A plain scalar's tag is looked up once per text and reused: 12 stays an int, '12' a string."""
    data = parse_yaml("a: [12, '12', 12, x, 12.0, 12.0, yes, 'yes', yes]\n", "t.yaml").data["a"]
    assert data == [12, "12", 12, "x", Decimal("12.0"), Decimal("12.0"), True, "yes", True]
    assert [type(v) for v in data[:3]] == [int, str, int]


def test_anchors_aliases_and_nesting():
    data = parse_yaml("base: &b {x: 1, y: [a, {z: 2}]}\ncopy: *b\n", "t.yaml").data
    assert data == {"base": {"x": 1, "y": ["a", {"z": 2}]}, "copy": {"x": 1, "y": ["a", {"z": 2}]}}


def test_a_key_given_twice_is_refused_at_its_line():
    with pytest.raises(InputError) as raised:
        parse_yaml("a: 1\nb:\n  c: 2\n  c: 3\n", "t.yaml")
    assert raised.value.line == 4 and "'c' appears twice" in str(raised.value)


def test_a_numeric_key_is_a_string_key_for_duplicates():
    with pytest.raises(InputError, match="appears twice"):
        parse_yaml("1.5: a\n'1.5': b\n", "t.yaml")


def test_a_second_document_is_refused_at_its_line():
    with pytest.raises(InputError) as raised:
        parse_yaml("a: 1\n---\nb: 2\n", "t.yaml")
    assert raised.value.line == 2 and "exactly one YAML document" in str(raised.value)


def test_an_empty_file_holds_no_document():
    with pytest.raises(InputError, match="exactly one YAML document"):
        parse_yaml("# only a comment\n", "t.yaml")
