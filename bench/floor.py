"""The floor of a monthly run: the least any run of the same book could cost (issue 20).

Two parts, each measured in one process on the store a run has just written:

* **matching**: the facts the run posted to durable-rules (each evaluation record keeps its
  fact) posted again, one by one, to the same compiled rule sets through the same adapter
  (``engine.core.matching.matcher().match``), and nothing else: reading the records and
  decoding their JSON is not timed;
* **writing**: the run's evaluation, document and document-line rows, copied out of the
  store (not timed), inserted into empty tables of the same shape and indexes, in one
  transaction: ``executemany`` on SQLite (same journal mode as the store), ``COPY`` on
  PostgreSQL.

The floor is their sum: a run must at least match every fact and write every row.  What
a run adds on top (reading the book, measuring, pricing, encoding and sealing records,
planning and rendering documents, numbering) is what the ratio run / floor shows.

    .venv/bin/python bench/floor.py --db sqlite:///path/to/store.db --period 2026-10
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

TABLES = ("evaluations", "documents", "document_lines")


def match_floor(url: str, period: str) -> dict:
    """Seconds durable-rules takes to match the period's facts again, through slabill's adapter."""
    from sqlalchemy import select

    from engine.core.matching import compile_rules, matcher
    from engine.store import Store
    from engine.store.tables import EvaluationRow

    store = Store(url, upgrade=False)
    adapter = matcher()
    compiled: dict[str, object] = {}
    seconds, facts = 0.0, 0
    clock = time.perf_counter
    try:
        with store.engine.connect() as connection:
            rows = connection.execution_options(stream_results=True, yield_per=2000).execute(
                select(EvaluationRow.ruleset_sha256, EvaluationRow.record_json)
                .where(EvaluationRow.period == period).order_by(EvaluationRow.id))
            for sha256, record in rows:
                rules = compiled.get(sha256)
                if rules is None:
                    rules = compiled[sha256] = compile_rules(store.rule_set(sha256))
                fact = json.loads(record)["result"]["fact"]
                began = clock()
                adapter.match(rules, fact)
                seconds += clock() - began
                facts += 1
    finally:
        store.close()
    return {"facts": facts, "seconds": round(seconds, 2)}


def _selects(period: str) -> dict[str, str]:
    return {
        "evaluations": "SELECT * FROM evaluations WHERE period = '{p}' ORDER BY id",
        "documents": "SELECT * FROM documents WHERE period = '{p}' ORDER BY id",
        "document_lines": "SELECT * FROM document_lines WHERE document_id IN "
                          "(SELECT id FROM documents WHERE period = '{p}') ORDER BY id",
    }


def insert_floor(url: str, period: str) -> dict:
    """Seconds a bare bulk insert of the run's rows takes, into empty tables, in one transaction."""
    if "'" in period:
        raise ValueError(period)
    if url.startswith("sqlite"):
        return _insert_floor_sqlite(url.split("///", 1)[1], period)
    return _insert_floor_postgres(url.replace("postgresql+psycopg://", "postgresql://"), period)


def _insert_floor_sqlite(path: str, period: str) -> dict:
    source = sqlite3.connect(path)
    schema = {name: sql for name, sql in source.execute(
        "SELECT name, sql FROM sqlite_master WHERE tbl_name IN (?, ?, ?) AND sql IS NOT NULL", TABLES)}
    rows_written, seconds = {}, 0.0
    with tempfile.TemporaryDirectory(prefix="slabill-floor-", dir=os.path.dirname(path)) as scratch:
        target = sqlite3.connect(os.path.join(scratch, "floor.db"), isolation_level=None)
        target.execute("PRAGMA journal_mode = WAL")
        for name in TABLES:  # the tables first, then their indexes
            target.execute(schema[name])
        for name, sql in schema.items():
            if name not in TABLES and not sql.upper().startswith("CREATE TRIGGER"):
                target.execute(sql)
        clock = time.perf_counter
        began = clock()
        target.execute("BEGIN")
        seconds += clock() - began
        for table, query in _selects(period).items():
            cursor = source.execute(query.format(p=period))
            columns = len(cursor.description)
            insert = f"INSERT INTO {table} VALUES ({', '.join('?' * columns)})"
            count = 0
            while chunk := cursor.fetchmany(5000):  # copied out: not timed
                began = clock()
                target.executemany(insert, chunk)
                seconds += clock() - began
                count += len(chunk)
            rows_written[table] = count
        began = clock()
        target.execute("COMMIT")
        seconds += clock() - began
        target.close()
    source.close()
    return {"rows": rows_written, "seconds": round(seconds, 2), "how": "executemany, one transaction"}


def _insert_floor_postgres(url: str, period: str) -> dict:
    import psycopg

    schema = f"floor_{os.getpid()}"
    rows_written, seconds = {}, 0.0
    clock = time.perf_counter
    with psycopg.connect(url, autocommit=True) as connection, \
            tempfile.TemporaryDirectory(prefix="slabill-floor-") as scratch:
        connection.execute(f"CREATE SCHEMA {schema}")
        try:
            for table in TABLES:
                connection.execute(f"CREATE TABLE {schema}.{table} (LIKE public.{table} INCLUDING ALL)")
            files = {}
            for table, query in _selects(period).items():  # copied out to files: not timed
                files[table] = Path(scratch) / f"{table}.copy"
                count = 0
                with open(files[table], "wb") as out, connection.cursor() as cursor:
                    with cursor.copy(f"COPY ({query.format(p=period)}) TO STDOUT") as copy:
                        for block in copy:
                            out.write(block)
                with connection.cursor() as cursor:
                    count = cursor.execute(f"SELECT COUNT(*) FROM ({query.format(p=period)}) AS q").fetchone()[0]
                rows_written[table] = count
            began = clock()
            with connection.transaction(), connection.cursor() as cursor:
                for table in TABLES:
                    with open(files[table], "rb") as data, cursor.copy(f"COPY {schema}.{table} FROM STDIN") as copy:
                        while block := data.read(1 << 20):
                            copy.write(block)
            seconds = clock() - began
        finally:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")
    return {"rows": rows_written, "seconds": round(seconds, 2), "how": "COPY, one transaction"}


def floor(url: str, period: str) -> dict:
    matching = match_floor(url, period)
    writing = insert_floor(url, period)
    return {"match": matching, "insert": writing,
            "seconds": round(matching["seconds"] + writing["seconds"], 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a store a monthly run has written")
    parser.add_argument("--period", default="2026-10")
    args = parser.parse_args(argv)
    print(json.dumps(floor(args.db, args.period)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
