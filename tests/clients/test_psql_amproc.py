"""psql's \\dAp (support functions of operator families) on pgvector's opclasses.

pg_amproc holds the FUNCTION n members of pgvector's CREATE OPERATOR CLASS
statements (its sql/vector.sql); psql joins them to pg_opfamily, pg_am and pg_proc,
and ``\\dAp+`` names each function with ``::regprocedure``.
"""

from __future__ import annotations

import shutil
import subprocess

import psycopg
import pytest

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")


def _lines(server, command: str) -> list[str]:
    conn = f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres sslmode=disable"
    done = subprocess.run(
        ["psql", conn, "-X", "-c", command], capture_output=True, text=True, timeout=30
    )
    assert done.stderr == "", done.stderr
    # psql pads header cells with trailing blanks; compare lines without them
    return [line.rstrip() for line in done.stdout.splitlines()]


HEADER = ["AM", "Operator family", "Registered left type", "Registered right type", "Number"]


def _table(lines: list[str]) -> list[list[str]]:
    """The cells of psql's aligned table: its header and rows (title, rule and footer
    dropped), each cell stripped of psql's padding."""
    assert lines[0].strip() == "List of support functions of operator families"
    assert set(lines[2]) <= {"-", "+"}
    return [[cell.strip() for cell in line.split("|")] for line in [lines[1], *lines[3:-2]]]


def test_psql_dap_lists_pgvector_support_functions(server):
    _lines(server, "create extension vector")
    hnsw = _lines(server, "\\dAp hnsw vector*")
    assert hnsw[-2:] == ["(5 rows)", ""]
    assert _table(hnsw) == [
        [*HEADER, "Function"],
        ["hnsw", "vector_cosine_ops", "vector", "vector", "1", "vector_negative_inner_product"],
        ["hnsw", "vector_cosine_ops", "vector", "vector", "2", "vector_norm"],
        ["hnsw", "vector_ip_ops", "vector", "vector", "1", "vector_negative_inner_product"],
        ["hnsw", "vector_l1_ops", "vector", "vector", "1", "l1_distance"],
        ["hnsw", "vector_l2_ops", "vector", "vector", "1", "vector_l2_squared_distance"],
    ]
    # \dAp+ names each function with ::regprocedure
    cosine = _lines(server, "\\dAp+ ivfflat vector_cosine_ops")
    assert [row[4:] for row in _table(cosine)] == [
        ["Number", "Function"],
        ["1", "vector_negative_inner_product(vector,vector)"],
        ["2", "vector_norm(vector)"],
        ["3", "vector_spherical_distance(vector,vector)"],
        ["4", "vector_norm(vector)"],
    ]
    bits = _lines(server, "\\dAp+ ivfflat bit*")
    assert _table(bits)[1:] == [
        ["ivfflat", "bit_hamming_ops", "bit", "bit", "1", "hamming_distance(bit,bit)"],
        ["ivfflat", "bit_hamming_ops", "bit", "bit", "3", "hamming_distance(bit,bit)"],
        ["ivfflat", "bit_hamming_ops", "bit", "bit", "5", "ivfflat_bit_support(internal)"],
    ]
    halfvec = _lines(server, "\\dAp hnsw halfvec_cosine_ops")
    assert [row[4:] for row in _table(halfvec)[1:]] == [
        ["1", "halfvec_negative_inner_product"],
        ["2", "l2_norm"],
        ["3", "hnsw_halfvec_support"],
    ]
    # psql's column widths: the rule under the header spans each column's widest cell
    assert hnsw[2] == "------+-------------------+----------------------+" + (
        "-----------------------+--------+-------------------------------"
    )


def test_psql_df_lists_the_support_functions(server):
    _lines(server, "create extension vector")
    assert _lines(server, "\\df hnsw*") == [
        "                                List of functions",
        " Schema |          Name          | Result data type | Argument data types | Type",
        "--------+------------------------+------------------+---------------------+------",
        " public | hnsw_bit_support       | internal         | internal            | func",
        " public | hnsw_halfvec_support   | internal         | internal            | func",
        " public | hnsw_sparsevec_support | internal         | internal            | func",
        "(3 rows)",
        "",
    ]


def test_pg_amproc_rows_join_opfamily_and_proc(server):
    with psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres sslmode=disable",
        autocommit=True,
    ) as conn:
        conn.execute("create extension vector")
        rows = conn.execute(
            "select am.amname, f.opfname, ap.amprocnum, p.proname,"
            " pg_catalog.format_type(ap.amproclefttype, NULL)"
            " from pg_catalog.pg_amproc ap"
            " join pg_catalog.pg_opfamily f on f.oid = ap.amprocfamily"
            " join pg_catalog.pg_am am on am.oid = f.opfmethod"
            " left join pg_catalog.pg_proc p on ap.amproc = p.oid"
            " order by 1, 2, 3"
        ).fetchall()
        # every member names a function pg_proc has
        assert all(row[3] is not None for row in rows)
        assert len(rows) == 54
        assert ("btree", "sparsevec_ops", 1, "sparsevec_cmp", "sparsevec") in rows
        assert [r[2:4] for r in rows if r[:2] == ("ivfflat", "halfvec_l2_ops")] == [
            (1, "halfvec_l2_squared_distance"),
            (3, "l2_distance"),
            (5, "ivfflat_halfvec_support"),
        ]
        assert [r[2:4] for r in rows if r[:2] == ("hnsw", "sparsevec_l2_ops")] == [
            (1, "sparsevec_l2_squared_distance"),
            (3, "hnsw_sparsevec_support"),
        ]
        # every ANN and btree opfamily of pgvector has its FUNCTION 1
        families = conn.execute(
            "select count(*) from pg_catalog.pg_opfamily f join pg_catalog.pg_am am"
            " on am.oid = f.opfmethod where am.amname in ('hnsw', 'ivfflat')"
            " and not exists (select 1 from pg_catalog.pg_amproc ap"
            " where ap.amprocfamily = f.oid and ap.amprocnum = 1)"
        ).fetchone()
        assert families == (0,)
        support = conn.execute(
            "select proname, prorettype, pronargs, provolatile, proisstrict"
            " from pg_catalog.pg_proc where proname = 'ivfflat_bit_support'"
        ).fetchall()
        assert support == [("ivfflat_bit_support", 2281, 1, "v", False)]
