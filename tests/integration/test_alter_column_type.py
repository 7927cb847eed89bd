"""ALTER TABLE ... ALTER COLUMN ... TYPE on data spread over sealed segments, the
growing segment and a transaction's own writes: conversion, ROLLBACK, restart,
and a vector column changed and then searched through its ANN index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import vecgres
from vecgres import errors
from vecgres.engine import Database


def _open(path: str, seal_rows: int = 4):
    con = vecgres.connect(path, seal_rows=seal_rows, fsync=False, background_compaction=False)
    con.autocommit = True
    return con


def _types(cur, table: str) -> list[tuple[str, str]]:
    cur.execute(
        "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
        f"WHERE attrelid = '{table}'::regclass AND attnum > 0 ORDER BY attnum"
    )
    return cur.fetchall()


def _sealed(path: str) -> int:
    return len(list(Path(path).glob("segments/*/*.arrow")))


def _fill(cur) -> None:
    cur.execute("CREATE TABLE t (id int PRIMARY KEY, c text, n int)")
    for start in range(0, 10, 3):  # several commits: sealed segments plus a growing one
        rows = ", ".join(f"({i}, '{i * 10}', {i})" for i in range(start, min(start + 3, 10)))
        cur.execute(f"INSERT INTO t VALUES {rows}")


def test_text_to_int_over_sealed_growing_and_own_writes_then_rollback_and_restart(tmp_path):
    path = str(tmp_path / "db")
    con = _open(path)
    cur = con.cursor()
    _fill(cur)
    sealed = _sealed(path)
    assert sealed >= 1
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchall() == [(10,)]
    expected = [(i, i * 10, i) for i in range(10)]

    con.autocommit = False
    cur.execute("INSERT INTO t VALUES (10, '100', 10)")  # the transaction's own row
    cur.execute("ALTER TABLE t ALTER COLUMN c TYPE integer USING c::integer")
    cur.execute("SELECT id, c, n FROM t ORDER BY id")
    assert cur.fetchall() == [*expected, (10, 100, 10)]
    assert _types(cur, "t")[1] == ("c", "integer")
    con.rollback()
    con.autocommit = True
    cur.execute("SELECT id, c FROM t ORDER BY id")
    assert cur.fetchall() == [(i, str(i * 10)) for i in range(10)]
    assert _types(cur, "t")[1] == ("c", "text")

    cur.execute("ALTER TABLE t ALTER c TYPE int USING c::int")
    cur.execute("SELECT sum(c), count(*) FROM t")
    assert cur.fetchall() == [(450, 10)]
    con.close()

    con = _open(path)
    cur = con.cursor()
    assert _types(cur, "t") == [("id", "integer"), ("c", "integer"), ("n", "integer")]
    cur.execute("SELECT id, c, n FROM t ORDER BY id")
    assert cur.fetchall() == expected
    cur.execute("SELECT id FROM t WHERE c > 75 ORDER BY id")
    assert cur.fetchall() == [(8,), (9,)]
    # the primary key still holds after the rewrite and the restart
    with pytest.raises(errors.UniqueViolation):
        cur.execute("INSERT INTO t VALUES (3, 1, 1)")
    cur.execute("INSERT INTO t VALUES (11, 110, 11)")
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchall() == [(11,)]
    con.close()


def test_conversion_errors_leave_the_table_as_it_was(tmp_path):
    con = _open(str(tmp_path / "db"))
    cur = con.cursor()
    _fill(cur)
    cur.execute("UPDATE t SET c = 'x' WHERE id = 7")
    with pytest.raises(errors.DatatypeMismatch) as info:
        cur.execute("ALTER TABLE t ALTER COLUMN c TYPE integer")
    assert str(info.value) == 'column "c" cannot be cast automatically to type integer'
    assert info.value.hint == 'You might need to specify "USING c::integer".'
    with pytest.raises(errors.InvalidTextRepresentation) as bad:
        cur.execute("ALTER TABLE t ALTER COLUMN c TYPE integer USING c::integer")
    assert str(bad.value) == 'invalid input syntax for type integer: "x"'
    with pytest.raises(errors.DatatypeMismatch) as using:
        cur.execute("ALTER TABLE t ALTER COLUMN n TYPE integer USING n::text")
    assert str(using.value) == (
        'result of USING clause for column "n" cannot be cast automatically to type integer'
    )
    cur.execute("SELECT c FROM t WHERE id IN (6, 7) ORDER BY id")
    assert cur.fetchall() == [("60",), ("x",)]
    assert _types(cur, "t")[1] == ("c", "text")
    # a savepoint rolled back undoes the change and keeps the earlier own writes
    con.autocommit = False
    cur.execute("INSERT INTO t VALUES (20, '200', 20)")
    cur.execute("SAVEPOINT s")
    cur.execute("ALTER TABLE t ALTER n TYPE bigint")
    cur.execute("ROLLBACK TO SAVEPOINT s")
    cur.execute("SELECT id, c, n FROM t WHERE id >= 9 ORDER BY id")
    assert cur.fetchall() == [(9, "90", 9), (20, "200", 20)]
    con.commit()
    con.close()


def test_int_to_bigint_and_varchar_keep_the_primary_key_and_unique_index(tmp_path):
    path = str(tmp_path / "db")
    con = _open(path)
    cur = con.cursor()
    _fill(cur)
    cur.execute("CREATE UNIQUE INDEX t_n_key ON t (n)")
    cur.execute("ALTER TABLE t ALTER id TYPE bigint, ALTER c TYPE varchar(3)")
    assert _types(cur, "t") == [
        ("id", "bigint"),
        ("c", "character varying(3)"),
        ("n", "integer"),
    ]
    with pytest.raises(errors.UniqueViolation):
        cur.execute("INSERT INTO t VALUES (2, 'a', 99)")
    with pytest.raises(errors.UniqueViolation):
        cur.execute("INSERT INTO t VALUES (99, 'a', 2)")
    with pytest.raises(errors.VecgresError) as long_value:
        cur.execute("ALTER TABLE t ALTER c TYPE varchar(1)")
    assert long_value.value.sqlstate == "22001"
    assert str(long_value.value) == "value too long for type character varying(1)"
    # a longer varchar or text needs no rewrite: values stay as they are
    cur.execute("ALTER TABLE t ALTER c TYPE text")
    # a conversion that makes two keys equal breaks the unique index, as in PostgreSQL
    with pytest.raises(errors.UniqueViolation) as dup:
        cur.execute("ALTER TABLE t ALTER n TYPE int USING n / 5")
    assert str(dup.value) == 'could not create unique index "t_n_key"'
    con.close()
    con = _open(path)
    cur = con.cursor()
    cur.execute("SELECT id, c FROM t WHERE id = 9")
    assert cur.fetchall() == [(9, "90")]
    with pytest.raises(errors.UniqueViolation):
        cur.execute("INSERT INTO t VALUES (9, 'b', 100)")
    con.close()


def _vec(v: np.ndarray) -> str:
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


def test_vector_column_changed_then_searched_with_its_index(tmp_path):
    path = str(tmp_path / "db")
    rng = np.random.default_rng(7)
    data = rng.standard_normal((60, 3)).astype(np.float32)
    con = _open(path, seal_rows=16)
    cur = con.cursor()
    cur.execute("CREATE TABLE items (id int PRIMARY KEY, emb vector)")
    for start in range(0, 60, 20):
        values = ", ".join(f"({i}, '{_vec(data[i])}')" for i in range(start, start + 20))
        cur.execute(f"INSERT INTO items VALUES {values}")
    cur.execute("INSERT INTO items VALUES (99, '[1,2]')")
    with pytest.raises(errors.VecgresError) as dims:
        cur.execute("ALTER TABLE items ALTER emb TYPE vector(3)")
    assert (dims.value.sqlstate, str(dims.value)) == ("22000", "expected 3 dimensions, not 2")
    cur.execute("DELETE FROM items WHERE id = 99")
    cur.execute("ALTER TABLE items ALTER emb TYPE vector(3)")
    assert _types(cur, "items")[1] == ("emb", "vector(3)")
    cur.execute("CREATE INDEX items_emb_idx ON items USING hnsw (emb vector_l2_ops)")
    q = data[5] + 0.01

    def knn() -> list[int]:
        cur.execute(f"SELECT id FROM items ORDER BY emb <-> '{_vec(q)}' LIMIT 5")
        return [r[0] for r in cur.fetchall()]

    truth = list(np.argsort(np.linalg.norm(data - q, axis=1))[:5])
    assert knn() == truth
    # the opclass does not take halfvec: the change fails as PostgreSQL's index rebuild
    with pytest.raises(errors.DatatypeMismatch) as opclass:
        cur.execute("ALTER TABLE items ALTER emb TYPE halfvec(3)")
    assert str(opclass.value) == 'operator class "vector_l2_ops" does not accept data type halfvec'
    # vector(3) -> vector(3) of another spelling keeps the index; a rewrite rebuilds it
    cur.execute("ALTER TABLE items ALTER emb TYPE vector(3) USING emb")
    assert knn() == truth
    con.close()
    con = _open(path, seal_rows=16)
    cur = con.cursor()
    assert knn() == truth
    cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'items' ORDER BY 1")
    assert cur.fetchall() == [("items_emb_idx",), ("items_pkey",)]
    cur.execute("DROP INDEX items_emb_idx")
    cur.execute("ALTER TABLE items ALTER emb TYPE halfvec(3)")
    assert knn() == truth
    con.close()


def test_real_array_to_vector_with_using(tmp_path):
    con = _open(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute("CREATE TABLE a (id int, f real[])")
    cur.execute("INSERT INTO a VALUES (1, '{1,2,3}'), (2, '{4,5,6}'), (3, NULL)")
    cur.execute("ALTER TABLE a ALTER f TYPE vector(3) USING f::vector(3)")
    cur.execute("SELECT id, f::text FROM a ORDER BY id")
    assert cur.fetchall() == [(1, "[1,2,3]"), (2, "[4,5,6]"), (3, None)]
    cur.execute("SELECT id FROM a ORDER BY f <-> '[4,5,5]' LIMIT 1")
    assert cur.fetchall() == [(2,)]
    con.close()


def test_add_column_if_not_exists_and_not_null_checks(tmp_path):
    db = Database.open(str(tmp_path / "db"))
    try:
        session = db.session()
        session.execute("CREATE TABLE t (id int PRIMARY KEY, c int)")
        session.execute("INSERT INTO t VALUES (1, NULL)")
        result = session.execute("ALTER TABLE t ADD COLUMN IF NOT EXISTS c int")
        assert result.command_tag == "ALTER TABLE"
        assert [(n.sqlstate, n.message) for n in result.notices] == [
            ("42701", 'column "c" of relation "t" already exists, skipping')
        ]
        with pytest.raises(errors.DuplicateColumn):
            session.execute("ALTER TABLE t ADD COLUMN c int")
        with pytest.raises(errors.NotNullViolation) as nulls:
            session.execute("ALTER TABLE t ALTER COLUMN c SET NOT NULL")
        assert str(nulls.value) == 'column "c" of relation "t" contains null values'
        with pytest.raises(errors.InvalidTableDefinition) as pk:
            session.execute("ALTER TABLE t ALTER COLUMN id DROP NOT NULL")
        assert str(pk.value) == 'column "id" is in a primary key'
        session.execute("UPDATE t SET c = 1")
        session.execute("ALTER TABLE t ALTER COLUMN c SET NOT NULL")
        with pytest.raises(errors.NotNullViolation):
            session.execute("INSERT INTO t VALUES (2, NULL)")
    finally:
        db.close()


def test_notices_and_tags_of_skipped_statements(tmp_path):
    db = Database.open(str(tmp_path / "db"))
    try:
        session = db.session()
        session.execute("CREATE TABLE t (id int PRIMARY KEY, v vector(2))")
        session.execute("INSERT INTO t VALUES (1, '[1,2]'), (2, '[3,4]')")
        created = session.execute("CREATE TABLE c AS SELECT * FROM t")
        assert created.command_tag == "SELECT 2"
        skipped = session.execute("CREATE TABLE IF NOT EXISTS c AS SELECT 1")
        assert skipped.command_tag == "CREATE TABLE AS"
        assert [(n.sqlstate, n.message) for n in skipped.notices] == [
            ("42P07", 'relation "c" already exists, skipping')
        ]
        empty = session.execute("CREATE TABLE e AS SELECT * FROM t WITH NO DATA")
        assert empty.command_tag == "CREATE TABLE AS"
        into = session.execute("SELECT id INTO i FROM t WHERE id > 1")
        assert into.command_tag == "SELECT 1"
        index = session.execute("ALTER INDEX IF EXISTS nope RENAME TO x")
        assert index.command_tag == "ALTER INDEX"
        assert [n.message for n in index.notices] == ['relation "nope" does not exist, skipping']
        moved = session.execute("ALTER TABLE IF EXISTS nope SET SCHEMA public")
        assert moved.command_tag == "ALTER TABLE"
        assert [n.message for n in moved.notices] == ['relation "nope" does not exist, skipping']
        rows = session.execute("SELECT id, v::text FROM c ORDER BY id")
        assert [r for b in rows.batches() for r in b.to_pylist()] == [
            {"id": 1, "v": "[1,2]"},
            {"id": 2, "v": "[3,4]"},
        ]
    finally:
        db.close()
