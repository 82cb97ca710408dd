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
    ("a: EUR", "EUR"),
    ("a: |\n  12\n", "12\n"),   # block text is always a string
    # YAML 1.2's core schema: only decimal digits make a number, only true/false a boolean
    ("a: false", False),
    ("a: -3", -3),
    ("a: +3", 3),
    ("a: 0", 0),
    ("a: .5", Decimal("0.5")),
    ("a: 30_360", "30_360"),    # YAML 1.1 (PyYAML) read 30360: INTERFACE.md's day_count writes it bare
    ("a: 1_000", "1_000"),
    ("a: 1:30", "1:30"),        # YAML 1.1: 90 (sexagesimal)
    ("a: 1:30.5", "1:30.5"),    # YAML 1.1: 90.5
    ("a: 0x1F", "0x1F"),        # YAML 1.1: 31
    ("a: 0b101", "0b101"),      # YAML 1.1: 5
    ("a: 010", "010"),          # YAML 1.1: 8 (octal); an identifier such as 0002 keeps its zeros
    ("a: 0002", "0002"),
    ("a: 1e3", "1e3"),          # an exponent is text; a number field reads it exactly
    ("a: 1.0e+3", "1.0e+3"),    # YAML 1.1: a float
    ("a: yes", "yes"),          # YAML 1.1: True
    ("a: no", "no"),
    ("a: NO", "NO"),            # Norway, as a holiday calendar or a country
    ("a: on", "on"),
    ("a: Off", "Off"),
    ("a: y", "y"),
    ("a: ~", None),
    ("a:", None),
    ("a: 2026-01-05", date(2026, 1, 5)),
])
def test_each_kind_of_scalar(text, expected):
    value = parse_yaml(text, "t.yaml").data["a"]
    assert value == expected and type(value) is type(expected)


def test_the_same_plain_text_resolves_the_same_way_each_time():
    """A plain scalar's tag is looked up once per text and reused: 12 stays an int, '12' a string."""
    data = parse_yaml("a: [12, '12', 12, x, 12.0, 12.0, true, 'true', true, yes, 'yes', yes]\n", "t.yaml").data["a"]
    assert data == [12, "12", 12, "x", Decimal("12.0"), Decimal("12.0"), True, "true", True, "yes", "yes", "yes"]
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


# --- what the reader refuses, at its line and key ------------------------------------------------------

def refused(text: str) -> InputError:
    with pytest.raises(InputError) as raised:
        parse_yaml(text, "t.yaml")
    return raised.value


@pytest.mark.parametrize("text, line, field", [
    ("a: !!str 12\n", 1, "a"),
    ("a: ! 12\n", 1, "a"),                                   # the non-specific tag too
    ("a:\n  b: !!python/object/apply:os.system ['true']\n", 2, "a.b"),   # on a list
    ("a: !!python/object/apply:os.system\n  args: ['true']\n", 1, "a"),  # on a mapping
    ("- !!set {x: 1}\n", 1, "[0]"),
    ("a: [1, !custom x]\n", 1, "a[1]"),
])
def test_every_tag_is_refused(text, line, field):
    error = refused(text)
    assert "YAML tags such as" in error.message and "are not read in slabill files" in error.message
    assert (error.line, error.field) == (line, field)


@pytest.mark.parametrize("text, line, field, words", [
    ("cap: .inf\n", 1, "cap", "'.inf' is not a finite number"),
    ("objectives:\n  - target: -.Inf\n", 2, "objectives[0].target", "'-.Inf' is not a finite number"),
    ("a:\n  b: [1, .nan]\n", 2, "a.b[1]", "'.nan' is not a finite number"),
    ("effective_from: 2026-02-30\n", 1, "effective_from", "'2026-02-30' is not a date that exists"),
    ("start: 2025-02-29\n", 1, "start", "'2025-02-29' is not a date that exists"),    # 2025 is no leap year
    ("closed: [2026-12-24, 2026-13-01]\n", 1, "closed[1]", "'2026-13-01' is not a date that exists"),
])
def test_a_value_that_cannot_be_is_refused_at_its_key(text, line, field, words):
    error = refused(text)
    assert (error.line, error.field) == (line, field) and words in error.message


def test_a_leap_day_that_exists_is_a_date():
    assert parse_yaml("start: 2024-02-29\n", "t.yaml").data["start"] == date(2024, 2, 29)


def test_an_alias_bomb_is_refused_quickly_without_expanding_it():
    """The "billion laughs": nine aliases a level, nine levels, in 442 bytes.

    Built naively, the last level is 3 x 9**9 (1.16 billion) strings.  Here each alias adds
    its anchor's weight to a sum that may not pass 10 x 442 + 100,000 = 104,420.  A node's
    text starts at its anchor: a0's, &a0 ["lol","lol","lol"], weighs 23; a1's own text,
    &a1 [*a0,...,*a0], is 41 characters, plus nine a0s: 41 + 9 x 23 = 248; a2 = 41 + 9 x 248
    = 2,273; a3 = 41 + 9 x 2,273 = 20,498.  The aliases of a1, a2 and a3 add
    9 x (23 + 248 + 2,273) = 22,896, and each alias of a4 adds 20,498: the fourth makes
    22,896 + 4 x 20,498 = 104,888 > 104,420.
    """
    import time
    import tracemalloc

    levels = ['a0: &a0 ["lol","lol","lol"]']
    for level in range(1, 10):
        levels.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 9) + "]")
    text = "\n".join(levels) + "\n"
    assert len(text) == 442
    tracemalloc.start()
    began = time.perf_counter()
    error = refused(text)
    elapsed = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert "the aliases expand the file to more than 10 times its size" in error.message
    assert error.line == 5 and error.field == "a4[3]"
    # Bounded: far below what the expansion would take (gigabytes), whatever the machine.
    assert peak < 10 * 2**20 and elapsed < 5


def test_a_few_aliases_are_fine():
    data = parse_yaml("tiers: &t [{below: '99', credit: 10%}]\nother: *t\nthird: *t\n", "t.yaml").data
    assert data["other"] is data["tiers"] and data["third"] == [{"below": "99", "credit": "10%"}]


def test_an_alias_inside_what_it_names_is_refused():
    error = refused("a: &a [1, *a]\n")
    assert "the alias *a stands inside what it names" in error.message and error.field == "a[1]"
    error = refused("a: &m\n  b: *m\n")
    assert error.field == "a.b" and error.line == 2


def test_nesting_is_limited():
    deep = "a: " + "[" * 40 + "]" * 40 + "\n"
    error = refused(deep)
    assert "nest more than 32 deep" in error.message and error.line == 1
    assert parse_yaml("a: " + "[" * 30 + "]" * 30 + "\n", "t.yaml").data["a"] is not None


def test_a_file_in_another_encoding_is_refused_at_its_line(tmp_path):
    from engine.loading.yamlsource import read_yaml

    path = tmp_path / "contracts.yaml"
    path.write_bytes("issuer:\n  name: Hostco\n  address: 1 rue de l'Église\n".encode("latin-1"))
    with pytest.raises(InputError) as raised:
        read_yaml(path)
    assert str(raised.value) == (f"{path}, line 3: the file is not UTF-8 (byte 0xc9 after \"address: 1 rue de l'\"); "
                                 "save it as UTF-8.")


def test_libyaml_parses_when_pyyaml_has_it():
    """The reader's speed on a 100,000-contract book is libyaml's; the pure-Python parser is ten times slower."""
    import yaml

    from engine.loading.yamlsource import _Loader

    assert issubclass(_Loader, yaml.cyaml.CParser) == yaml.__with_libyaml__
