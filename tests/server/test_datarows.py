"""Large results (encoded by Arrow kernels, vecgres.server.datarows) print exactly as
single rows do (encoded value by value), in text and binary, NULLs included."""

from __future__ import annotations

import psycopg

ROWS = 300


def _load(conn: psycopg.Connection) -> None:
    conn.execute("create extension if not exists vector")
    conn.execute("create table big (id bigint, name text, v vector(3), n int, f real)")
    conn.execute(
        """insert into big
           select g,
                  case when g %% 7 = 0 then null when g %% 11 = 0 then '' else 'név ' || g end,
                  case when g %% 5 = 0 then null
                       else ('[' || g || '.5,-0,' || g || 'e-05]')::vector end,
                  case when g %% 3 = 0 then null else -g * 1000003 end,
                  g / 7.0
           from generate_series(1, %s) g""",
        [ROWS],
    )


def test_large_text_and_binary_results_match_single_rows(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _load(conn)
        q = "select id, name, v::text, v, n, f from big"
        for binary in (False, True):
            with conn.cursor(binary=binary) as cur:
                bulk = cur.execute(q + " order by id").fetchall()
                assert len(bulk) == ROWS
                one_by_one = [
                    cur.execute(q + " where id = %s", [i]).fetchone() for i in range(1, ROWS + 1)
                ]
                assert bulk == one_by_one
        rows = {r[0]: r for r in conn.execute("select id, name, v, n from big").fetchall()}
        assert rows[3] == (3, "név 3", "[3.5,-0,3e-05]", None)
        assert rows[10][2] is None
        assert rows[14][1] is None
        assert rows[22][1] == ""
        assert rows[12][2] == "[12.5,-0,0.00012]"
        assert rows[299][3] == -299 * 1000003


def test_large_result_with_no_rows_left_and_max_rows(engine_server):
    with psycopg.connect(engine_server.dsn()) as conn:
        _load(conn)
        with conn.cursor(name="c") as cur:  # a portal read 100 rows at a time
            cur.itersize = 100
            cur.execute("select id, v from big order by id")
            got = list(cur)
        assert [r[0] for r in got] == list(range(1, ROWS + 1))
        assert got[0][1] == "[1.5,-0,1e-05]"
