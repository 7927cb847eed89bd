"""pgjdbc (Debian's libpostgresql-jdbc-java) over a socket: DatabaseMetaData, ResultSetMetaData
and a prepared vector query.

The jar comes from Debian; when it is missing and the test runs as root, the
fixture installs it with apt-get (the package is small), otherwise it skips.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

JAR = Path("/usr/share/java/postgresql.jar")
SOURCE = Path(__file__).parent / "java" / "JdbcProbe.java"


@pytest.fixture(scope="module")
def pgjdbc() -> Path:
    if shutil.which("javac") is None or shutil.which("java") is None:
        pytest.skip("no Java compiler (javac) installed")
    if not JAR.exists() and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "libpostgresql-jdbc-java"],
            check=False,
            capture_output=True,
            timeout=300,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    if not JAR.exists():
        pytest.skip("pgjdbc missing: apt-get install libpostgresql-jdbc-java")
    return JAR


def test_pgjdbc_metadata_and_prepared_vector_query(server, pgjdbc, tmp_path):
    compiled = subprocess.run(
        ["javac", "-cp", str(pgjdbc), "-d", str(tmp_path), str(SOURCE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert compiled.returncode == 0, compiled.stderr
    url = f"jdbc:postgresql://127.0.0.1:{server.port}/postgres?sslmode=disable"
    run = subprocess.run(
        ["java", "-cp", f"{pgjdbc}:{tmp_path}", "JdbcProbe", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "product PostgreSQL 16",
        # getTables
        "public|items|TABLE",
        # getColumns: name, type, java.sql.Types, size, nullable, position
        "id|int4|4|10|NO|1",
        "name|text|12|2147483647|NO|2",
        "embedding|vector|1111|2147483647|YES|3",
        # getPrimaryKeys (runs information_schema._pg_expandarray)
        "id|1|items_pkey",
        # getIndexInfo
        "items_pkey|f|id|1",
        "items_hnsw|t|embedding|1",
        # ResultSetMetaData of the prepared query: int4 from base table items, float8,
        # name NOT NULL (columnNoNulls = 0)
        "meta int4 items float8 0",
        # ? bound as varchar and cast ::vector, ORDER BY <-> LIMIT ?
        "row 1|a|0.0",
        "row 3|c|2.23606797749979",
        # ResultSetMetaData over a join: label, name, java.sql.Types, type name, table,
        # schema (pgjdbc always ""), precision, scale, nullable, auto-increment, signed, class
        "rsmd nid|nid|4|serial|notes||10|0|0|true|true|java.lang.Integer",
        "rsmd amount|amount|2|numeric|notes||10|2|1|false|true|java.math.BigDecimal",
        "rsmd created|created|93|timestamp|notes||29|6|1|false|false|java.sql.Timestamp",
        "rsmd tags|tags|2003|_text|notes||2147483647|0|1|false|false|java.sql.Array",
        "rsmd item|item|12|text|items||2147483647|0|0|false|false|java.lang.String",
        "rsmd two|two|4|int4|||10|0|2|false|true|java.lang.Integer",
        "note 1|12.50|2024-01-02 03:04:05.0|[x, y]|a|2",
        # getSchemas, getCatalogs
        "information_schema",
        "pg_catalog",
        "public",
        "postgres",
        # getTableTypes (pgjdbc's own list)
        *TABLE_TYPES,
        # getColumns of notes: DECIMAL_DIGITS, IS_AUTOINCREMENT, COLUMN_DEF
        "nid|serial|4|10|0|YES|nextval('notes_nid_seq'::regclass)",
        "item_id|int4|4|10|0|NO|null",
        "amount|numeric|2|10|2|NO|null",
        "created|timestamp|93|29|6|NO|null",
        "tags|_text|2003|2147483647|0|NO|null",
        # getImportedKeys/getExportedKeys: none (no foreign keys); getBestRowIdentifier
        "id|int4",
        # getFunctions: pgvector's vector_dims(vector) and vector_dims(halfvec)
        "public|vector_dims",
        "public|vector_dims",
        # getTypeInfo lists the built-in types and vector
        "typeinfo true vector true",
    ]


TABLE_TYPES = [
    "FOREIGN TABLE",
    "INDEX",
    "MATERIALIZED VIEW",
    "PARTITIONED INDEX",
    "PARTITIONED TABLE",
    "SEQUENCE",
    "SYSTEM INDEX",
    "SYSTEM TABLE",
    "SYSTEM TOAST INDEX",
    "SYSTEM TOAST TABLE",
    "SYSTEM VIEW",
    "TABLE",
    "TEMPORARY INDEX",
    "TEMPORARY SEQUENCE",
    "TEMPORARY TABLE",
    "TEMPORARY VIEW",
    "TYPE",
    "VIEW",
]
