"""Result column names of pgvector expressions are PostgreSQL's (FigureColname), not the
names of the DuckDB functions vecgres rewrites them into."""

from __future__ import annotations

from decimal import Decimal


def test_pgvector_expression_column_names(cur) -> None:
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


def test_cast_chains_are_named_after_the_outer_type(cur) -> None:
    # FigureColname: a cast over a constant (or over another such cast) is named after
    # its type; a column keeps its name through any number of casts
    cur.execute("CREATE TABLE t (v vector(2))")
    cur.execute("INSERT INTO t VALUES ('[1,2]')")
    cur.execute(
        "SELECT '[1,2]'::vector::halfvec, '[1,2]'::halfvec::vector(2), "
        "'[1,2]'::vector::sparsevec, '{1,2}'::real[]::vector, '[1,2]'::text::vector, "
        "'[1,2]'::vector::text, v::text::vector, v::halfvec::sparsevec FROM t"
    )
    assert [d[0] for d in cur.description] == [
        "halfvec",
        "vector",
        "sparsevec",
        "vector",
        "vector",
        "text",
        "v",
        "v",
    ]
    assert cur.fetchone() == (
        "[1,2]",
        "[1,2]",
        "{1:1,2:2}/2",
        "[1,2]",
        "[1,2]",
        "[1,2]",
        "[1,2]",
        "{1:1,2:2}/2",
    )


def test_array_casts_and_reformatted_literals(cur) -> None:
    # FigureColname: ARRAY[...] is named "array" (strength 2), which a cast keeps; a
    # sparsevec literal reprinted in another form ('1e-3' is 0.001) still names the cast
    cur.execute(
        "SELECT ARRAY[1,2]::vector, ARRAY[1,0]::real[]::sparsevec, "
        "(ARRAY[4,5])::halfvec(2), '{1:1e-3}/1'::sparsevec::vector, "
        "('[1,2]'::vector + '[3,4]')::halfvec"
    )
    assert [d[0] for d in cur.description] == ["array", "array", "array", "vector", "halfvec"]
    assert cur.fetchone() == ("[1,2]", "{1:1}/2", "[4,5]", "[0.001]", "[4,6]")


def test_indexdef_forms(cur) -> None:
    # pg_get_indexdef(oid) and (oid, 0, false) always qualify the table; the pretty
    # form leaves out a schema on the search path and a cast operand's parentheses
    cur.execute("CREATE TABLE t (v vector(3))")
    cur.execute("CREATE INDEX t_h ON t USING hnsw ((v::halfvec(3)) halfvec_l2_ops)")
    cur.execute("CREATE INDEX t_i ON t USING ivfflat (v vector_l2_ops) WITH (lists = 1)")
    cur.execute(
        "SELECT pg_get_indexdef('t_h'::regclass), pg_get_indexdef('t_h'::regclass, 0, false),"
        " pg_get_indexdef('t_h'::regclass, 0, true), pg_get_indexdef('t_i'::regclass)"
    )
    assert cur.fetchone() == (
        "CREATE INDEX t_h ON public.t USING hnsw (((v)::halfvec(3)) halfvec_l2_ops)",
        "CREATE INDEX t_h ON public.t USING hnsw (((v)::halfvec(3)) halfvec_l2_ops)",
        "CREATE INDEX t_h ON t USING hnsw ((v::halfvec(3)) halfvec_l2_ops)",
        "CREATE INDEX t_i ON public.t USING ivfflat (v) WITH (lists='1')",
    )


def test_array_function_and_subscript_column_names(cur) -> None:
    # array_length/array_dims/array_replace are rewritten for DuckDB; a subscript is
    # named after what it subscripts (FigureColname), not after its index
    cur.execute("CREATE TABLE t (a int[], vs vector[])")
    cur.execute("""INSERT INTO t VALUES ('{1,2}', '{"[1,2]","[3,4]"}')""")
    cur.execute(
        "SELECT array_length(a, 1), array_dims(a), array_replace(a, 1, 3), a[2], vs[2], "
        "(ARRAY[5,6])[1], (string_to_array('x,y', ','))[2], a[1] AS x FROM t ORDER BY 4"
    )
    assert [d[0] for d in cur.description] == [
        "array_length",
        "array_dims",
        "array_replace",
        "a",
        "vs",
        "array",
        "string_to_array",
        "x",
    ]
    assert cur.fetchone() == (2, "[1:2]", [3, 2], 2, "[3,4]", 5, "y", 1)


def test_number_literals_and_their_casts(cur) -> None:
    # an exponent literal is still a constant (?column?); a cast of a number literal
    # is named after its type, as PostgreSQL 15 names them
    cur.execute("SELECT 1e2, 1.5e-2, 1.5::numeric, 1::int8, 2::numeric(5,2), -1.5::numeric")
    assert [d[0] for d in cur.description] == [
        "?column?",
        "?column?",
        "numeric",
        "int8",
        "numeric",
        "?column?",
    ]
    assert cur.fetchone() == (
        Decimal("100"),
        Decimal("0.015"),
        Decimal("1.5"),
        1,
        Decimal("2.00"),
        Decimal("-1.5"),
    )


def test_casts_are_named_after_a_named_operand(cur) -> None:
    # FigureColname: a cast of a column, function or ARRAY[] keeps that name; of an
    # unnamed expression (or a constant) it takes its type's name; a written alias wins
    cur.execute(
        "SELECT count(*)::int, length('a')::bigint, coalesce(1, 2)::text, now()::date, "
        "ARRAY[1, 2]::text[], (1 + 2)::text, '{1,2}'::int[], '{1}'::bigint[] AS b "
        "FROM generate_series(1, 2)"
    )
    assert [d[0] for d in cur.description] == [
        "count",
        "length",
        "coalesce",
        "now",
        "array",
        "text",
        "int4",
        "b",
    ]
