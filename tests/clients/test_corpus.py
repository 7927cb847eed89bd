"""The catalog queries of DBeaver, Metabase and Grafana (tests/clients/corpus/) over psycopg.

One server holds the tables of corpus/setup.sql; every query of the corpus
must run without error and show our objects where the tool looks for them
(see corpus/README.md for the format).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from wireclient import RunningServer, serving

CORPUS = Path(__file__).parent / "corpus"
TOOLS = ("dbeaver", "metabase", "grafana")


@dataclass
class Query:
    tool: str
    label: str
    sql: str = ""
    expect: list[str] = field(default_factory=list)
    rows: int | None = None


def load(tool: str) -> list[Query]:
    queries: list[Query] = []
    for line in (CORPUS / f"{tool}.sql").read_text().splitlines():
        if m := re.match(r"-- query: (.+)", line):
            queries.append(Query(tool, m.group(1).strip()))
        elif not queries:
            continue  # the file's header comment
        elif m := re.match(r"-- expect: (.+)", line):
            queries[-1].expect = [s.strip() for s in m.group(1).split(" | ")]
        elif m := re.match(r"-- rows: (\d+)", line):
            queries[-1].rows = int(m.group(1))
        else:
            queries[-1].sql += line + "\n"
    return queries


ALL = [q for tool in TOOLS for q in load(tool)]


@pytest.fixture(scope="module")
def corpus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serving(tmp_path_factory.mktemp("corpus")) as srv:
        with psycopg.connect(srv.dsn(), autocommit=True) as conn:
            conn.execute((CORPUS / "setup.sql").read_text())
        yield srv


@pytest.fixture(scope="module")
def conn(corpus_server: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(corpus_server.dsn(), autocommit=True) as conn:
        yield conn


def _substitute(text: str, conn: psycopg.Connection) -> str:
    row = conn.execute(
        "select (select oid from pg_namespace where nspname = 'public'),"
        " 'items'::regclass::oid, current_database()"
    ).fetchone()
    assert row is not None
    public_oid, items_oid, database = row
    return (
        text.replace(":public_oid", str(public_oid))
        .replace(":items_oid", str(items_oid))
        .replace(":database", database)
    )


def test_corpus_is_complete():
    # a typo in a block header must not silently drop queries
    assert {q.tool for q in ALL} == set(TOOLS)
    assert all(q.sql.strip() for q in ALL)
    assert len(ALL) >= 40


@pytest.mark.parametrize("query", ALL, ids=[f"{q.tool}: {q.label}" for q in ALL])
def test_catalog_query(conn: psycopg.Connection, query: Query):
    try:
        cur = conn.execute(_substitute(query.sql, conn))
    except psycopg.Error as exc:
        diag = exc.diag
        pytest.fail(f"{diag.sqlstate}: {diag.message_primary}")
    while cur.nextset():
        pass  # a block of several statements: the last one's result
    rows = cur.fetchall() if cur.description is not None else []
    if query.rows is not None:
        assert len(rows) == query.rows, rows
    cells = {str(v) for row in rows for v in row if v is not None}
    missing = [e for e in (_substitute(e, conn) for e in query.expect) if e not in cells]
    assert not missing, f"not in the result: {missing}"


@pytest.mark.parametrize(
    ("sql", "named"),
    [
        ("select pg_get_statisticsobjdef(1)", "pg_get_statisticsobjdef"),
        ("select * from pg_catalog.pg_statistic", "pg_statistic"),
        ("select * from pg_partition_tree('items')", "pg_partition_tree"),
        ("select pg_stat_get_tuples_inserted('items'::regclass)", "pg_stat_get_tuples_inserted"),
        ("select * from pg_catalog.pg_language l, pg_catalog.pg_init_privs p", "pg_init_privs"),
    ],
)
def test_unanswerable_catalog_query_is_0A000(conn: psycopg.Connection, sql: str, named: str):
    with pytest.raises(psycopg.errors.FeatureNotSupported) as caught:
        conn.execute(sql)
    assert named in caught.value.diag.message_primary
    assert conn.execute("select 1").fetchone() == (1,)


def test_session_characteristics_set_the_next_transactions_level(corpus_server: RunningServer):
    """Metabase's ``SET SESSION CHARACTERISTICS``: the default of later transactions."""
    with psycopg.connect(corpus_server.dsn(), autocommit=True) as conn:
        level = "SHOW TRANSACTION ISOLATION LEVEL"
        assert conn.execute(level).fetchall() == [("read committed",)]
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED")
        assert conn.execute(level).fetchall() == [("read uncommitted",)]
        assert conn.execute("show default_transaction_isolation").fetchall() == [
            ("read uncommitted",)
        ]
        conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        assert conn.execute("show default_transaction_read_only").fetchall() == [("on",)]
        with pytest.raises(psycopg.errors.FeatureNotSupported):
            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION DEFERRABLE")
