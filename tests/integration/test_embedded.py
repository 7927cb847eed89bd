"""The embedded API as a user drives it: vecgres.connect(path), DB-API cursors."""

from __future__ import annotations

import numpy as np
import pytest

import vecgres
from vecgres import errors


@pytest.fixture
def con(tmp_path):
    connection = vecgres.connect(str(tmp_path / "db"))
    yield connection
    connection.close()


def test_issue_example_and_restart(tmp_path):
    path = str(tmp_path / "mydata")
    con = vecgres.connect(path)
    cur = con.cursor()
    cur.execute(
        "CREATE TABLE items (id bigserial PRIMARY KEY, category int, body text, "
        "embedding vector(3))"
    )
    cur.execute(
        "INSERT INTO items (category, body, embedding) VALUES (%s, %s, %s)", (1, "a", "[1,2,3]")
    )
    cur.execute(
        "INSERT INTO items (category, body, embedding) VALUES "
        "(1, 'b', '[3,1,2]'), (2, 'c', '[3,1,2]'), (1, 'd', '[0,0,0]')"
    )
    con.commit()
    cur.execute(
        "SELECT id, embedding <-> '[3,1,2]' AS d FROM items WHERE category = 1 ORDER BY d LIMIT 5"
    )
    rows = cur.fetchall()
    assert [r[0] for r in rows] == [2, 1, 4]
    assert rows[0][1] == 0.0
    assert rows[1][1] == pytest.approx(np.sqrt(4 + 1 + 1))
    assert [d[0] for d in cur.description] == ["id", "d"]
    con.close()
    con = vecgres.connect(path)
    cur = con.cursor()
    cur.execute("SELECT id, body, embedding FROM items ORDER BY id")
    assert cur.fetchall() == [
        (1, "a", "[1,2,3]"),
        (2, "b", "[3,1,2]"),
        (3, "c", "[3,1,2]"),
        (4, "d", "[0,0,0]"),
    ]
    cur.execute(
        "INSERT INTO items (category, body, embedding) VALUES (3, 'e', '[1,1,1]') RETURNING id"
    )
    assert cur.fetchall() == [(5,)]
    con.close()


def test_rollback_leaves_nothing(con):
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id int PRIMARY KEY, v vector(2))")
    con.commit()
    cur.execute("INSERT INTO t VALUES (1, '[1,2]')")
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (1,)
    con.rollback()
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (0,)


def test_errors_keep_connection_usable(con):
    cur = con.cursor()
    con.autocommit = True
    cur.execute("CREATE TABLE t (id int PRIMARY KEY, v vector(3))")
    cur.execute("INSERT INTO t VALUES (1, '[1,2,3]')")
    cases = [
        ("INSERT INTO t VALUES (2, '[1,2]')", "22000", "expected 3 dimensions, not 2"),
        ("INSERT INTO t VALUES (3, '[1,NaN,3]')", "22000", "NaN not allowed in vector"),
        (
            "INSERT INTO t VALUES (4, '[1,2')",
            "22P02",
            'invalid input syntax for type vector: "[1,2"',
        ),
        (
            "INSERT INTO t VALUES (1, '[1,2,3]')",
            "23505",
            'duplicate key value violates unique constraint "t_pkey"',
        ),
        ("SELECT * FROM nope", "42P01", 'relation "nope" does not exist'),
        ("SELECT nope FROM t", "42703", 'column "nope" does not exist'),
        ("SELECT 1/0", "22012", "division by zero"),
        ("SELECT v <-> '[1,2]' FROM t", "22000", "different vector dimensions 3 and 2"),
        ("SELEC 1", "42601", None),
    ]
    for sql, code, message in cases:
        with pytest.raises(errors.VecgresError) as info:
            cur.execute(sql)
        assert info.value.code == code, sql
        if message is not None:
            assert info.value.message == message, sql
    cur.execute("SELECT id, v FROM t")
    assert cur.fetchall() == [(1, "[1,2,3]")]


# a cast that fails only on row 500,001: DuckDB reports it while the result streams
FAILS_LATE = (
    "SELECT (CASE WHEN i > 500000 THEN 'a' || i ELSE i::text END)::int "
    "FROM generate_series(1, 1000000) AS g(i)"
)


def test_error_found_while_streaming_ends_only_that_statement(con):
    cur = con.cursor()
    con.autocommit = True
    with pytest.raises(errors.VecgresError) as info:
        cur.execute(FAILS_LATE)
    assert (info.value.code, info.value.message) == (
        "22P02",
        'invalid input syntax for type integer: "a500001"',
    )
    cur.execute("SELECT 1")
    assert cur.fetchall() == [(1,)]


def test_cursor_read_out_early_keeps_its_error(con):
    """A cursor's rows are read out when another statement runs; an error met then
    comes at the FETCH that reaches it, as in PostgreSQL, not as a short result."""
    cur = con.cursor()
    cur.execute(f"DECLARE c CURSOR FOR {FAILS_LATE}")
    cur.execute("FETCH 3 FROM c")
    assert cur.fetchall() == [(1,), (2,), (3,)]
    cur.execute("SELECT 2")
    assert cur.fetchall() == [(2,)]
    with pytest.raises(errors.VecgresError) as info:
        cur.execute("FETCH ALL FROM c")
    assert info.value.code == "22P02"
    con.rollback()
    cur.execute("SELECT 3")
    assert cur.fetchall() == [(3,)]


def test_transaction_semantics(con):
    cur = con.cursor()
    con.autocommit = True
    cur.execute("CREATE TABLE t (id int PRIMARY KEY, n text)")
    cur.execute("BEGIN")
    cur.execute("INSERT INTO t VALUES (1, 'a')")
    cur.execute("SAVEPOINT s1")
    cur.execute("INSERT INTO t VALUES (2, 'b')")
    cur.execute("ROLLBACK TO SAVEPOINT s1")
    cur.execute("SELECT id FROM t")
    assert cur.fetchall() == [(1,)]
    with pytest.raises(errors.VecgresError):
        cur.execute("INSERT INTO t VALUES (1, 'dup')")
    with pytest.raises(errors.VecgresError) as info:
        cur.execute("SELECT 1")
    assert info.value.code == "25P02"
    cur.execute("ROLLBACK")
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (0,)


def test_update_delete_upsert(con):
    cur = con.cursor()
    con.autocommit = True
    cur.execute("CREATE TABLE kv (k text PRIMARY KEY, v int NOT NULL DEFAULT 0)")
    cur.execute("INSERT INTO kv VALUES ('a', 1), ('b', 2), ('c', 3)")
    cur.execute("UPDATE kv SET v = v * 10 WHERE k <> 'b' RETURNING k, v")
    assert sorted(cur.fetchall()) == [("a", 10), ("c", 30)]
    cur.execute(
        "INSERT INTO kv VALUES ('a', 5), ('d', 4) "
        "ON CONFLICT (k) DO UPDATE SET v = kv.v + EXCLUDED.v"
    )
    assert cur.rowcount == 2
    cur.execute("INSERT INTO kv VALUES ('b', 99) ON CONFLICT DO NOTHING")
    assert cur.rowcount == 0
    cur.execute("DELETE FROM kv WHERE v > 20 RETURNING k")
    assert cur.fetchall() == [("c",)]
    cur.execute("SELECT k, v FROM kv ORDER BY k")
    assert cur.fetchall() == [("a", 15), ("b", 2), ("d", 4)]
    with pytest.raises(errors.VecgresError) as info:
        cur.execute("INSERT INTO kv (k, v) VALUES ('z', NULL)")
    assert info.value.code == "23502"


def test_exact_topk_matches_numpy(con):
    rng = np.random.default_rng(7)
    data = rng.standard_normal((500, 8)).astype(np.float32)
    cur = con.cursor()
    con.autocommit = True
    cur.execute("CREATE TABLE v (id int PRIMARY KEY, cat int, e vector(8))")
    cur.executemany(
        "INSERT INTO v VALUES (%s, %s, %s)",
        [
            (i, i % 3, "[" + ",".join(repr(float(x)) for x in row) + "]")
            for i, row in enumerate(data)
        ],
    )
    cur.execute("DELETE FROM v WHERE id % 10 = 0")
    alive = np.array([i for i in range(500) if i % 10 != 0])
    q = rng.standard_normal(8).astype(np.float32)
    qtext = "[" + ",".join(repr(float(x)) for x in q) + "]"
    for op, fn in [
        ("<->", lambda m: np.linalg.norm(m - q, axis=1)),
        ("<#>", lambda m: -(m @ q)),
        ("<=>", lambda m: 1 - (m @ q) / (np.linalg.norm(m, axis=1) * np.linalg.norm(q))),
        ("<+>", lambda m: np.abs(m - q).sum(axis=1)),
    ]:
        for where, sel in [("", alive), ("WHERE cat = 1", alive[alive % 3 == 1])]:
            cur.execute(f"SELECT id FROM v {where} ORDER BY e {op} %s LIMIT 10", (qtext,))
            got = [r[0] for r in cur.fetchall()]
            expect = sel[np.argsort(fn(data[sel].astype(np.float64)), kind="stable")[:10]]
            assert got == expect.tolist(), (op, where)


def test_list_parameters_for_any_and_all(con):
    # x = ANY(%s) with a Python list: the parameter is an array of x's type
    cur = con.cursor()
    cur.execute("CREATE TABLE people (id int, name text)")
    cur.executemany("INSERT INTO people VALUES (%s, %s)", [(1, "a"), (2, "b"), (3, "c")])
    cur.execute("SELECT id FROM people WHERE id = ANY(%s) ORDER BY id", ([1, 3],))
    assert cur.fetchall() == [(1,), (3,)]
    cur.execute("SELECT id FROM people WHERE name = ANY(%s) ORDER BY id", (["b", "c"],))
    assert cur.fetchall() == [(2,), (3,)]
    cur.execute("SELECT id FROM people WHERE id <> ALL(%s) ORDER BY id", ([1],))
    assert cur.fetchall() == [(2,), (3,)]


def test_vector_types_come_back_as_pgvector_text(con):
    """vector, halfvec, sparsevec and bit values alike: the text psycopg returns
    without register_vector, also inside arrays."""
    cur = con.cursor()
    cur.execute("CREATE TABLE t (v vector(2), h halfvec(2), s sparsevec(3), b bit(3), u halfvec)")
    cur.execute("INSERT INTO t VALUES ('[1,2.5]', '[1.5,-2]', '{1:1,3:2}/3', '101', '[0.1]')")
    cur.execute("INSERT INTO t VALUES (NULL, NULL, NULL, NULL, NULL)")
    cur.execute("SELECT v, h, s, b, u, h + h FROM t ORDER BY v")
    assert cur.fetchall() == [
        ("[1,2.5]", "[1.5,-2]", "{1:1,3:2}/3", "101", "[0.099975586]", "[3,-4]"),
        (None, None, None, None, None, None),
    ]
    cur.execute("SELECT '[1,2]'::halfvec, array['[1,2]'::vector], array['[3,4]'::halfvec]")
    assert cur.fetchall() == [("[1,2]", ["[1,2]"], ["[3,4]"])]


def test_whole_row_reference_holds_the_users_columns(con):
    """``row_to_json(t)`` / ``to_jsonb(t)`` / ``SELECT t`` name the table's columns only:
    not the hidden row id every stored table carries."""
    cur = con.cursor()
    con.autocommit = True
    cur.execute("CREATE TABLE people (id int, name text)")
    cur.execute("INSERT INTO people VALUES (1, 'ann'), (2, 'bob')")
    cur.execute("SELECT row_to_json(people) FROM people ORDER BY id")
    assert [r[0] for r in cur.fetchall()] == [{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}]
    cur.execute("SELECT to_jsonb(p) FROM people AS p WHERE id = 2")
    assert cur.fetchall() == [({"id": 2, "name": "bob"},)]
    cur.execute("SELECT row_to_json(p) FROM people AS p JOIN people AS q ON p.id < q.id")
    assert cur.fetchall() == [({"id": 1, "name": "ann"},)]
