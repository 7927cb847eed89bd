"""Expression indexes over halfvec, sparsevec and bit columns, and pgvector's
mixed-dimensions recipe (one partial ``(v::vector(n))`` index per model).

Each search ordered by the indexed expression must take the index on every
sealed segment (EXPLAIN ANALYZE says ``ann``) and answer exactly what the
search without indexes answers (``vecgres.enable_ann = off``): ``flat`` indexes
and the sparse index are exact. The indexes are rebuilt after a restart.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from annhelpers import open_db, vec

from vecgres.dbapi import Error as VecgresError

N = 700  # seal_rows 300: two sealed segments and a growing one
DIMS = 6


def sealed_lines(cur, sql: str, params: tuple[object, ...]) -> list[str]:
    cur.execute("EXPLAIN ANALYZE " + sql, params)
    return [r[0] for r in cur.fetchall() if "Segment: segment" in r[0]]


def indexed_and_exact(cur, sql: str, params: tuple[object, ...]) -> tuple[list, list]:
    """The answer with the index (checked to be used on every sealed segment) and
    the answer of the exact search."""
    lines = sealed_lines(cur, sql, params)
    assert len(lines) >= 2
    assert all(": ann" in line for line in lines), lines
    cur.execute(sql, params)
    indexed = cur.fetchall()
    cur.execute("SET vecgres.enable_ann = off")
    cur.execute(sql, params)
    exact = cur.fetchall()
    cur.execute("RESET vecgres.enable_ann")
    return indexed, exact


def sparse_text(row: np.ndarray) -> str:
    pairs = ",".join(f"{i + 1}:{float(x)!r}" for i, x in enumerate(row) if x != 0)
    return "{" + pairs + f"}}/{len(row)}"


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    rng = np.random.default_rng(5)
    x = rng.standard_normal((N, DIMS)).astype(np.float16).astype(np.float32)
    x[rng.random((N, DIMS)) < 0.4] = 0  # sparse enough for sparsevec rows
    return x


@pytest.fixture(scope="module")
def bit_rows() -> list[str]:
    rng = np.random.default_rng(6)
    return ["".join(rng.choice(["0", "1"], size=int(rng.integers(4, 12)))) for _ in range(N)]


def load(cur, data: np.ndarray, bit_rows: list[str]) -> None:
    cur.execute(
        "CREATE TABLE items (id int, model int, h halfvec(6), s sparsevec, vb varbit, e vector)"
    )
    for lo in range(0, N, 100):
        rows = []
        for i in range(lo, min(N, lo + 100)):
            model = 1 if i % 2 else 2
            e = data[i] if model == 1 else data[i, :4]  # model 2: four dimensions
            rows.append(
                f"({i}, {model}, '{vec(data[i])}', '{sparse_text(data[i])}', "
                f"'{bit_rows[i]}', '{vec(e)}')"
            )
        cur.execute("INSERT INTO items VALUES " + ", ".join(rows))


def test_expression_indexes_of_other_types_are_used_and_exact(tmp_path, data, bit_rows):
    path = str(tmp_path / "db")
    con = open_db(path)
    cur = con.cursor()
    load(cur, data, bit_rows)
    cur.execute("CREATE INDEX ON items USING flat ((h::vector(6)) vector_l2_ops)")
    cur.execute(
        "CREATE INDEX ON items USING flat ((subvector(h, 2, 3)::halfvec(3)) halfvec_ip_ops)"
    )
    cur.execute("CREATE INDEX ON items USING hnsw ((s::sparsevec(6)) sparsevec_l2_ops)")
    cur.execute("CREATE INDEX ON items USING flat ((s::halfvec(6)) halfvec_cosine_ops)")
    cur.execute("CREATE INDEX ON items USING flat ((vb::bit(8)) bit_hamming_ops)")
    for model, n in ((1, 6), (2, 4)):
        cur.execute(
            f"CREATE INDEX ON items USING flat ((e::vector({n})) vector_l2_ops) "
            f"WHERE (model = {model})"
        )
    q = np.random.default_rng(9).standard_normal(DIMS).astype(np.float16).astype(np.float32)
    searches = [
        ("h::vector(6) <-> %s", vec(q), ""),
        ("subvector(h, 2, 3)::halfvec(3) <#> %s", vec(q[1:4]), ""),
        ("s::sparsevec(6) <-> %s", sparse_text(q), ""),
        ("s::halfvec(6) <=> %s", vec(q), "WHERE s::halfvec(6) <> '[0,0,0,0,0,0]' "),
        ("vb::bit(8) <~> %s", "10110100", ""),
        ("e::vector(6) <-> %s", vec(q), "WHERE model = 1 "),
        ("e::vector(4) <-> %s", vec(q[:4]), "WHERE model = 2 "),
    ]

    def answers() -> list[list]:
        out = []
        for key, query, where in searches:
            sql = f"SELECT id, {key} FROM items {where}ORDER BY {key} LIMIT 12"
            indexed, exact = indexed_and_exact(cur, sql, (query, query))
            if "<~>" in key:  # Hamming distances tie: the distances must agree
                assert [r[1] for r in indexed] == [r[1] for r in exact]
            else:
                assert indexed == exact, key
            assert len(indexed) == 12
            # tied Hamming distances may come in any order, before and after a restart
            out.append([r[1] for r in indexed] if "<~>" in key else indexed)
        return out

    before = answers()
    # a row the partial index for model 1 cannot hold; other models take any length
    with pytest.raises(VecgresError, match="expected 6 dimensions, not 4") as err:
        cur.execute("INSERT INTO items (id, model, e) VALUES (1000, 1, '[1,2,3,4]')")
    assert err.value.sqlstate == "22000"
    cur.execute("INSERT INTO items (id, model, e) VALUES (1000, 3, '[1,2,3,4,5]')")
    cur.execute("DELETE FROM items WHERE id = 1000")
    con.close()
    # indexes are loaded or rebuilt after a restart (the segment sealed on replay is
    # built in the background: searched exactly until then), with the same answers
    con = open_db(path)
    cur = con.cursor()
    deadline = time.monotonic() + 60
    first = f"SELECT id FROM items ORDER BY {searches[0][0]} LIMIT 12"
    while not all(": ann" in line for line in sealed_lines(cur, first, (vec(q),))):
        assert time.monotonic() < deadline, "indexes not built after restart"
        time.sleep(0.05)
    assert answers() == before
    con.close()
