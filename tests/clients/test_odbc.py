"""psqlODBC (Debian's odbc-postgresql) through pyodbc over a socket.

pyodbc needs unixODBC's libodbc and the psqlODBC driver; when they are
missing and the test runs as root with apt-get, the fixture installs
``unixodbc`` and ``odbc-postgresql`` (one-time, small), otherwise it skips.
The connection string names the driver library, so no odbcinst.ini is needed.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

DRIVER = Path("/usr/lib/x86_64-linux-gnu/odbc/psqlodbcw.so")
PACKAGES = ["unixodbc", "odbc-postgresql"]


def _apt_install() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    done = subprocess.run(command, check=False, capture_output=True, timeout=600, env=env)
    if done.returncode != 0:  # stale package lists: refresh once and retry
        subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True, timeout=600)
        subprocess.run(command, check=False, capture_output=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def pyodbc() -> ModuleType:
    try:
        module = importlib.import_module("pyodbc")
    except ImportError:
        module = None
    if (module is None or not DRIVER.exists()) and shutil.which("apt-get"):
        if os.geteuid() != 0:
            pytest.skip("psqlODBC missing and not root: apt-get install " + " ".join(PACKAGES))
        _apt_install()
        module = importlib.import_module("pyodbc")  # libodbc is there now
    if module is None or not DRIVER.exists():
        pytest.skip("psqlODBC missing and no apt-get: install " + " ".join(PACKAGES))
    return module


@pytest.fixture
def odbc(server, pyodbc):
    conn = pyodbc.connect(
        f"Driver={DRIVER};Server=127.0.0.1;Port={server.port};Database=postgres;"
        "Uid=postgres;Pwd=;SSLmode=disable",
        autocommit=True,
    )
    try:
        cur = conn.cursor()
        cur.execute("create extension if not exists vector")
        cur.execute(
            "create table items (id int primary key, name text not null, embedding vector(3))"
        )
        cur.execute("create index items_hnsw on items using hnsw (embedding vector_l2_ops)")
        cur.execute("create table notes (id bigint, body varchar(20))")
        cur.execute(
            "insert into items values (1,'a','[1,2,3]'),(2,'b','[4,5,6]'),(3,'c','[1,1,1]')"
        )
        yield conn
    finally:
        conn.close()


def test_psqlodbc_catalog_functions(odbc):
    cur = odbc.cursor()
    tables = [(t.table_schem, t.table_name, t.table_type) for t in cur.tables(schema="public")]
    assert tables == [("public", "items", "TABLE"), ("public", "notes", "TABLE")]
    columns = [
        (c.column_name, c.type_name, c.data_type, c.column_size, c.nullable, c.ordinal_position)
        for c in cur.columns(table="items")
    ]
    # text is SQL_WLONGVARCHAR (-10); an unknown type (vector) is SQL_WVARCHAR (-9) with
    # its typmod as size, as psqlODBC reports pgvector's vector against PostgreSQL
    assert columns == [
        ("id", "int4", 4, 10, 0, 1),
        ("name", "text", -10, 8190, 0, 2),
        ("embedding", "vector", -9, 3, 1, 3),
    ]
    notes = [(c.column_name, c.type_name, c.column_size) for c in cur.columns(table="notes")]
    assert notes == [("id", "int8", 19), ("body", "varchar", 20)]
    keys = [(k.column_name, k.key_seq, k.pk_name) for k in cur.primaryKeys("items")]
    assert keys == [("id", 1, "items_pkey")]
    stats = [
        (s.index_name, s.non_unique, s.column_name, s.ordinal_position)
        for s in cur.statistics("items")
        if s.index_name is not None
    ]
    assert stats == [("items_pkey", 0, "id", 1), ("items_hnsw", 1, "embedding", 1)]
    assert cur.foreignKeys(table="items").fetchall() == []
    names = {p.procedure_name for p in cur.procedures()}
    assert {"l2_distance", "cosine_distance", "vector_dims"} <= names


def test_psqlodbc_parameterized_queries(odbc):
    cur = odbc.cursor()
    cur.execute(
        "select id, name, embedding <-> ?::vector as d from items where id > ? order by d limit 2",
        "[1,2,3]",
        0,
    )
    assert [d[0] for d in cur.description] == ["id", "name", "d"]
    assert [tuple(r) for r in cur.fetchall()] == [(1, "a", 0.0), (3, "c", 5**0.5)]
    cur.execute("insert into notes values (?, ?)", 7, "seven")
    assert cur.rowcount == 1
    cur.executemany("insert into notes values (?, ?)", [(8, "eight"), (9, None)])
    cur.execute("select id, body from notes where id >= ? order by id", 8)
    assert [tuple(r) for r in cur.fetchall()] == [(8, "eight"), (9, None)]
    cur.execute("select count(*) from notes where body = ?", "seven")
    assert cur.fetchone()[0] == 1
