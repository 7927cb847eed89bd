"""COPY to and from files through the embedded API: every format, every column type, checks."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import vecgres
from vecgres import errors

ALL_TYPES = (
    "id bigint PRIMARY KEY, s smallint, i int, f4 real, f8 double precision, n numeric(10,3), "
    "nu numeric, b boolean, t text, vc varchar(5), c char(3), by bytea, d date, tm time, "
    "ts timestamp, tz timestamptz, iv interval, u uuid, j json, jb jsonb, ai int[], at text[], "
    "v vector(3)"
)
ROWS = [
    "(1, 1, 2, 1.5, 2.25, 3.125, 10.5, true, 'a\tb\nc\\d', 'abc', 'x', '\\x00ff', "
    "'2024-02-29', '12:34:56.5', '2024-01-02 03:04:05.25', '2024-01-02 03:04:05+00', "
    "'1 day 02:03:04', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"k\": [1, 2]}', "
    "'{\"z\": null}', ARRAY[1, NULL, 3], ARRAY['p q', '', 'r,s'], '[1,2.5,-3]')",
    "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, "
    "NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    "(3, -32768, -2147483648, -0.5, 1e300, -999.999, 0, false, '', '', '', '\\x01', "
    "'1999-12-31', '00:00:00', '1970-01-01 00:00:00', '2000-06-30 23:59:59.999999+00', "
    "'-3 hours', '00000000-0000-0000-0000-000000000000', '[]', '{}', ARRAY[]::int[], "
    "ARRAY['\"quoted\"', 'back\\slash'], '[0,0,0]')",
]


@pytest.fixture
def cur(tmp_path):
    con = vecgres.connect(str(tmp_path / "db"))
    con.autocommit = True
    cursor = con.cursor()
    yield cursor
    con.close()


def _all(cur, table: str) -> list[tuple]:
    cur.execute(f"SELECT * FROM {table} ORDER BY id")
    return cur.fetchall()


@pytest.mark.parametrize(
    "fmt",
    ["text", "csv", "binary", "parquet", "csv, HEADER true, DELIMITER ';', NULL 'NULL'"],
)
def test_every_type_round_trips(cur, tmp_path: Path, fmt: str) -> None:
    cur.execute(f"CREATE TABLE src ({ALL_TYPES})")
    cur.execute(f"INSERT INTO src VALUES {', '.join(ROWS)}")
    cur.execute(f"CREATE TABLE dst ({ALL_TYPES})")
    path = tmp_path / "data.out"
    cur.execute(f"COPY src TO '{path}' WITH (FORMAT {fmt})")
    assert cur.statusmessage == "COPY 3"
    cur.execute(f"COPY dst FROM '{path}' WITH (FORMAT {fmt})")
    assert cur.statusmessage == "COPY 3"
    assert _all(cur, "dst") == _all(cur, "src")
    cur.execute("SELECT v <-> '[1,2.5,-3]', vc, c FROM dst WHERE id = 1")
    assert cur.fetchone() == (0.0, "abc", "x  ")


def test_text_and_csv_bytes_are_postgres(cur, tmp_path: Path) -> None:
    cur.execute("CREATE TABLE t (id int, name text, emb vector(2), tags text[])")
    cur.execute(
        "INSERT INTO t VALUES (1, 'a,b', '[1,2]', ARRAY['x', 'y z']), (2, NULL, NULL, NULL), "
        "(3, '', '[0.5,1e-7]', ARRAY[]::text[])"
    )
    cur.execute(f"COPY t TO '{tmp_path}/t.txt'")
    assert (tmp_path / "t.txt").read_text() == (
        '1\ta,b\t[1,2]\t{x,"y z"}\n2\t\\N\t\\N\t\\N\n3\t\t[0.5,1e-07]\t{}\n'
    )
    cur.execute(
        f"COPY (SELECT id, name, emb FROM t ORDER BY id) TO '{tmp_path}/t.csv' "
        "WITH (FORMAT csv, HEADER, FORCE_QUOTE (name))"
    )
    assert (tmp_path / "t.csv").read_text() == (
        'id,name,emb\n1,"a,b","[1,2]"\n2,,\n3,"","[0.5,1e-07]"\n'
    )
    cur.execute(f"COPY t (id) TO '{tmp_path}/q.csv' (FORMAT csv, FORCE_QUOTE *)")
    assert (tmp_path / "q.csv").read_text() == '"1"\n"2"\n"3"\n'


def test_column_list_defaults_and_csv_options(cur, tmp_path: Path) -> None:
    cur.execute(
        "CREATE TABLE c (id serial PRIMARY KEY, a text DEFAULT 'dflt', b text, n int NOT NULL)"
    )
    (tmp_path / "in.csv").write_text("n|b\n1|''\n2|\n3|'x|y'\n")
    cur.execute(
        f"COPY c (n, b) FROM '{tmp_path}/in.csv' "
        "WITH (FORMAT csv, HEADER true, DELIMITER '|', QUOTE '''', FORCE_NOT_NULL (b))"
    )
    cur.execute("SELECT id, a, b, n FROM c ORDER BY id")
    assert cur.fetchall() == [(1, "dflt", "", 1), (2, "dflt", "", 2), (3, "dflt", "x|y", 3)]
    (tmp_path / "fn.csv").write_text('4,"NA"\n5,NA\n6,"x"\n')
    cur.execute(
        f"COPY c (n, b) FROM '{tmp_path}/fn.csv' WITH (FORMAT csv, NULL 'NA', FORCE_NULL (b))"
    )
    cur.execute("SELECT n, b FROM c WHERE n > 3 ORDER BY n")
    assert cur.fetchall() == [(4, None), (5, None), (6, "x")]


def test_parquet_vectors_by_name_and_position(cur, tmp_path: Path) -> None:
    cur.execute("CREATE TABLE items (id bigint PRIMARY KEY, cat int, emb vector(4))")
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((1000, 4)).astype(np.float32)
    table = pa.table(
        {
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), 4),
            "id": pa.array(np.arange(1000, dtype=np.int64)),
            "cat": pa.array(np.arange(1000, dtype=np.int32) % 7),
        }
    )
    pq.write_table(table, tmp_path / "named.parquet")
    cur.execute(f"COPY items FROM '{tmp_path}/named.parquet' WITH (FORMAT parquet)")
    assert cur.statusmessage == "COPY 1000"
    # positional: other names, float64 variable-size lists, int64 for the int column
    positional = pa.table(
        {
            "a": pa.array(np.arange(1000, 1010, dtype=np.int64)),
            "b": pa.array(np.arange(10, dtype=np.int64)),
            "c": pa.array([list(map(float, v)) for v in vecs[:10]], pa.list_(pa.float64())),
        }
    )
    pq.write_table(positional, tmp_path / "pos.parquet")
    cur.execute(f"COPY items FROM '{tmp_path}/pos.parquet' (FORMAT parquet)")
    cur.execute("SELECT count(*), sum(cat) FROM items")
    assert cur.fetchone() == (1010, int((np.arange(1000) % 7).sum()) + 45)
    cur.execute("SELECT emb FROM items WHERE id = 1003")
    got = cur.fetch_arrow().column(0).to_pylist()[0]
    np.testing.assert_array_equal(np.array(got, dtype=np.float32), vecs[3])
    # and back out: Parquet keeps vectors as fixed-size float32 lists
    cur.execute(
        f"COPY (SELECT id, emb FROM items ORDER BY id) TO '{tmp_path}/out.parquet' (FORMAT parquet)"
    )
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.field("emb").type == pa.list_(pa.float32(), 4)
    np.testing.assert_array_equal(
        out.column("emb").combine_chunks().flatten().to_numpy()[:4000].reshape(1000, 4), vecs
    )


def test_bad_vectors_and_constraints_load_nothing(cur, tmp_path: Path) -> None:
    cur.execute("CREATE TABLE v (id int PRIMARY KEY, emb vector(2) NOT NULL, tag varchar(3))")
    cases = [
        (
            pa.table({"id": [1, 2], "emb": [[1.0, 2.0], [1.0, 2.0, 3.0]], "tag": ["a", "b"]}),
            "22000",
            "expected 2 dimensions, not 3",
        ),
        (
            pa.table({"id": [1, 2], "emb": [[1.0, float("nan")], [1.0, 2.0]], "tag": ["a", "b"]}),
            "22000",
            "NaN not allowed in vector",
        ),
        (
            pa.table({"id": [1, 2], "emb": [[1.0, 2.0], None], "tag": ["a", "b"]}),
            "23502",
            'null value in column "emb" of relation "v"',
        ),
        (
            pa.table({"id": [1, 1], "emb": [[1.0, 2.0], [3.0, 4.0]], "tag": ["a", "b"]}),
            "23505",
            'duplicate key value violates unique constraint "v_pkey"',
        ),
        (
            pa.table({"id": [1, 2], "emb": [[1.0, 2.0], [3.0, 4.0]], "tag": ["a", "long"]}),
            "22001",
            "value too long for type character varying(3)",
        ),
    ]
    for index, (data, sqlstate, message) in enumerate(cases):
        pq.write_table(data, tmp_path / f"bad{index}.parquet")
        with pytest.raises(errors.VecgresError) as info:
            cur.execute(f"COPY v FROM '{tmp_path}/bad{index}.parquet' (FORMAT parquet)")
        assert info.value.code == sqlstate
        assert message in str(info.value)
    (tmp_path / "bad.txt").write_text("1\t[1,2]\tok\n2\t[1,x]\tok\n")
    with pytest.raises(errors.VecgresError) as info:
        cur.execute(f"COPY v FROM '{tmp_path}/bad.txt'")
    assert info.value.code == "22P02"
    assert str(info.value) == 'invalid input syntax for type vector: "[1,x]"'
    cur.execute("SELECT count(*) FROM v")
    assert cur.fetchone() == (0,)


def test_copy_in_transaction_is_atomic_and_durable(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    (tmp_path / "a.csv").write_text("".join(f'{i},"[{i},{i}]"\n' for i in range(100)))
    con = vecgres.connect(path)
    cur = con.cursor()
    cur.execute("CREATE TABLE d (id int, emb vector(2))")
    con.commit()
    cur.execute(f"COPY d FROM '{tmp_path}/a.csv' (FORMAT csv)")
    con.rollback()
    cur.execute("SELECT count(*) FROM d")
    assert cur.fetchone() == (0,)
    cur.execute(f"COPY d FROM '{tmp_path}/a.csv' (FORMAT csv)")
    con.commit()
    con.close()
    con = vecgres.connect(path)
    cur = con.cursor()
    cur.execute("SELECT count(*), sum(id) FROM d")
    assert cur.fetchone() == (100, 4950)
    con.close()


def test_option_and_file_errors(cur, tmp_path: Path) -> None:
    cur.execute("CREATE TABLE e (id int, t text)")
    cur.execute("CREATE VIEW ev AS SELECT id FROM e")
    bad = [
        (
            "COPY e FROM '/nonexistent/x.csv'",
            errors.UndefinedFile,
            'could not open file "/nonexistent/x.csv" for reading: No such file or directory',
        ),
        (
            "COPY e TO 'relative.csv'",
            errors.VecgresError,
            "relative path not allowed for COPY to file",
        ),
        (
            f"COPY e TO '{tmp_path}/x' (FORMAT xml)",
            errors.InvalidParameterValue,
            'COPY format "xml" not recognized',
        ),
        (
            f"COPY e TO '{tmp_path}/x' (FORMAT binary, DELIMITER ',')",
            errors.SyntaxError_,
            "cannot specify DELIMITER in BINARY mode",
        ),
        (
            f"COPY e TO '{tmp_path}/x' (QUOTE '\"')",
            errors.FeatureNotSupported,
            "COPY quote available only in CSV mode",
        ),
        (
            f"COPY e TO '{tmp_path}/x' (FORMAT csv, DELIMITER ',,')",
            errors.FeatureNotSupported,
            "COPY delimiter must be a single one-byte character",
        ),
        (
            f"COPY e FROM '{tmp_path}/x' (FORMAT csv, FORCE_QUOTE *)",
            errors.FeatureNotSupported,
            "COPY force quote only available using COPY TO",
        ),
        (
            f"COPY e TO '{tmp_path}/x' (BOGUS 1)",
            errors.SyntaxError_,
            'option "bogus" not recognized',
        ),
        (
            f"COPY e (nope) TO '{tmp_path}/x'",
            errors.UndefinedColumn,
            'column "nope" of relation "e" does not exist',
        ),
        (f"COPY ev TO '{tmp_path}/x'", errors.WrongObjectType, 'cannot copy from view "ev"'),
        (f"COPY ev FROM '{tmp_path}/x'", errors.WrongObjectType, 'cannot copy to view "ev"'),
        ("COPY e FROM PROGRAM 'ls'", errors.FeatureNotSupported, "external program"),
    ]
    for sql, error, message in bad:
        with pytest.raises(error) as info:
            cur.execute(sql)
        assert message in str(info.value), sql
    (tmp_path / "short.txt").write_text("1\n")
    with pytest.raises(errors.BadCopyFileFormat, match='missing data for column "t"'):
        cur.execute(f"COPY e FROM '{tmp_path}/short.txt'")
    cur.execute("SELECT 1")
    assert cur.fetchone() == (1,)


def test_progress_is_logged(cur, tmp_path: Path, caplog, monkeypatch) -> None:
    from vecgres.sql import copy as copy_module

    monkeypatch.setattr(copy_module, "PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr(copy_module, "ARROW_BATCH_ROWS", 100)
    cur.execute("CREATE TABLE g (id bigint, emb vector(2))")
    data = pa.table(
        {
            "id": pa.array(np.arange(300, dtype=np.int64)),
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(np.ones(600, dtype=np.float32)), 2),
        }
    )
    pq.write_table(data, tmp_path / "g.parquet")
    with caplog.at_level(logging.INFO, logger="vecgres.copy"):
        cur.execute(f"COPY g FROM '{tmp_path}/g.parquet' (FORMAT parquet)")
    progress = [r.getMessage() for r in caplog.records if r.name == "vecgres.copy"]
    assert any('COPY into "g": 200 rows so far' in m for m in progress), progress
    assert cur.statusmessage == "COPY 300"


def test_stdin_is_refused_in_process_and_leaves_no_transaction(cur) -> None:
    cur.execute("CREATE TABLE s (id int)")
    for sql in ("COPY s FROM STDIN", "COPY s TO STDOUT"):
        with pytest.raises(errors.FeatureNotSupported, match="need a client connection"):
            cur.execute(sql)
    cur.execute("INSERT INTO s VALUES (1)")
    cur.execute("SELECT count(*) FROM s")
    assert cur.fetchone() == (1,)
    assert cur.connection._session_for_statement().transaction_status == "I"


def test_legacy_option_syntax(cur, tmp_path: Path) -> None:
    cur.execute("CREATE TABLE l (id int, name text)")
    (tmp_path / "l.csv").write_text('id;name\n1;x\n2;"a;b"\n3;NIL\n')
    cur.execute(f"COPY l FROM '{tmp_path}/l.csv' WITH CSV HEADER DELIMITER AS ';' NULL AS 'NIL'")
    cur.execute("SELECT id, name FROM l ORDER BY id")
    assert cur.fetchall() == [(1, "x"), (2, "a;b"), (3, None)]
    cur.execute(f"COPY l TO '{tmp_path}/l.bin' BINARY")
    cur.execute(f"COPY l FROM '{tmp_path}/l.bin' WITH BINARY")
    assert cur.statusmessage == "COPY 3"
    cur.execute(f"COPY l TO '{tmp_path}/q.csv' CSV FORCE QUOTE name")
    assert (tmp_path / "q.csv").read_text() == '1,"x"\n2,"a;b"\n3,\n1,"x"\n2,"a;b"\n3,\n'
