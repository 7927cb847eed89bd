"""A few rows of plain numbers (in binary, vecgres/server/fastrows.py encodes them in one
numpy step) arrive as PostgreSQL sends them: psycopg reads back the stored values in text
and in binary, at the types' extremes, and rows with NULLs (the general encoder)
agree with them."""

from __future__ import annotations

import psycopg

ROWS = [
    (1, -32768, -(2**31), -(2**63), -2.25, -1.7976931348623157e308),
    (2, 32767, 2**31 - 1, 2**63 - 1, 1.5, 0.1),
    (3, 0, 0, 0, 0.0, 2.5),
    (4, 7, -7, 123456789012, float("inf"), float("-inf")),
]


def test_numbers_in_text_and_binary(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("create table n (id int, s smallint, i int, b bigint, r real, d float8)")
        with conn.cursor() as cur:
            cur.executemany("insert into n values (%s, %s, %s, %s, %s, %s)", ROWS)
        conn.execute("insert into n values (5, null, 1, 2, 3, 4)")
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                got = cur.execute("select id, s, i, b, r, d from n order by id").fetchall()
                assert got[:4] == ROWS
                assert got[4] == (5, None, 1, 2, 3.0, 4.0)
                # one row at a time, prepared: the same values
                for row in ROWS:
                    one = cur.execute(
                        "select id, s, i, b, d from n where id = %s", (row[0],), prepare=True
                    ).fetchone()
                    assert one == (row[0], row[1], row[2], row[3], row[5])
                ints = cur.execute("select i, id from n where id < 3 order by id").fetchall()
                assert ints == [(-(2**31), 1), (2**31 - 1, 2)]
