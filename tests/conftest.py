"""Shared helpers for slabill's tests: small builders for objectives, incidents and books."""

from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import pytest
from hypothesis import HealthCheck, settings

from engine.core.model import Incident
from engine.core.schema import Cause, Objective

ROOT = Path(__file__).resolve().parent.parent

# Property tests explore with a fixed derandomised seed in CI so a run is repeatable;
# set HYPOTHESIS_PROFILE=explore locally to search with fresh randomness.
settings.register_profile("ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("explore", deadline=None, max_examples=5000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def at(text: str) -> datetime:
    """An instant from ISO text with an offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value.astimezone(timezone.utc)


def incident(start: str, end: str, cause: str = "outage", announced: str | None = None, line: int = 2) -> Incident:
    return Incident(at(start), at(end), Cause(cause), at(announced) if announced else None, line)


def objective(**fields) -> Objective:
    """An availability objective with a single 10 % tier below the target unless told otherwise."""
    base = {"id": "availability", "service": "compute", "metric": "availability", "target": "99.9",
            "credit": {"tiers": [{"below": "99.9", "credit": "10%"}]}}
    base.update(fields)
    return Objective.model_validate(base)


@pytest.fixture(autouse=True, scope="session")
def checkpoints_of_the_session(tmp_path_factory):
    """Runs through the command line sign checkpoints into a temporary folder, never the working
    directory's ./slabill-checkpoints (a PostgreSQL store's default), also in fixtures shared by a
    module, which are set up before any test's own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SLABILL_CHECKPOINTS", str(tmp_path_factory.mktemp("checkpoints")))
        yield


@pytest.fixture(autouse=True)
def checkpoints_in_tmp(tmp_path, monkeypatch):
    """Each test's own folder of checkpoints."""
    monkeypatch.setenv("SLABILL_CHECKPOINTS", str(tmp_path / "checkpoints"))


@pytest.fixture
def write(tmp_path):
    """Write a file under tmp_path and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    return _write


# --- stores: every store test runs on SQLite and, when configured, on PostgreSQL ------------------

POSTGRES_VARIABLE = "SLABILL_TEST_POSTGRES_URL"


def postgres_base_url() -> str | None:
    return os.environ.get(POSTGRES_VARIABLE)


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """The URL of a fresh schema on the PostgreSQL server at ``base``, dropped afterwards: tests
    running at once never share tables."""
    import uuid

    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    plain = base.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    """A URL of an empty database: a SQLite file, or a fresh schema on the PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    base = postgres_base_url()
    if not base:
        pytest.skip(f"set {POSTGRES_VARIABLE} to run the store tests on PostgreSQL too")
    with postgres_schema(base) as url:
        yield url


@pytest.fixture
def store(store_url):
    from engine.store import Store

    opened = Store(store_url)
    yield opened
    opened.close()


def load_fixtures(store, fixtures: Path | None = None):
    """Load the shipped rules and a fixture book into a store; returns the book."""
    from engine.loading.contracts import load_book
    from engine.loading.measurements import load_measurements
    from engine.loading.rates import load_rates
    from engine.loading.rulesets import load_rule_files, rule_set_files

    fixtures = fixtures or ROOT / "fixtures"
    book = load_book(fixtures / "contracts.yaml")
    store.load(book=book, rule_sets=load_rule_files(rule_set_files(ROOT / "rules")),
               measurements=load_measurements(fixtures / "data", book), rates=load_rates(ROOT / "rules"))
    return book
