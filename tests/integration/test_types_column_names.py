"""Result column names of pgvector expressions are PostgreSQL's (FigureColname), not the
names of the DuckDB functions vecgres rewrites them into."""

from __future__ import annotations

import vecgres


def test_pgvector_expression_column_names(tmp_path) -> None:
    con = vecgres.connect(str(tmp_path / "db"), fsync=False)
    con.autocommit = True
    try:
        cur = con.cursor()
        cur.execute("CREATE TABLE t (v vector(2), h halfvec(2))")
        cur.execute("INSERT INTO t VALUES ('[1,2]', '[3,4]')")
        cur.execute(
            "SELECT v <-> h, l2_distance(v, h), v + h, v::halfvec, '[1,2]'::vector, v = h, "
            "vector_dims(v), cosine_distance(v, v), h::vector(2), '[1,2]'::vector::real[], "
            "vector('[1,2]', 2, true), array_to_halfvec(ARRAY[1,2], -1, true), "
            "l2_normalize(v)::halfvec, binary_quantize(v) FROM t"
        )
        names = [d[0] for d in cur.description]
        assert names == [
            "?column?",
            "l2_distance",
            "?column?",
            "v",
            "vector",
            "?column?",
            "vector_dims",
            "cosine_distance",
            "h",
            "float4",
            "vector",
            "array_to_halfvec",
            "l2_normalize",
            "binary_quantize",
        ]
        row = cur.fetchone()
        assert row is not None
        assert (row[4], row[6]) == ("[1,2]", 2)
        cur.execute("SELECT avg(v) AS mean, sum(h) FROM t")
        assert [d[0] for d in cur.description] == ["mean", "sum"]
    finally:
        con.close()
