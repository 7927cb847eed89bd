"""COPY FROM STDIN of text vectors (parsed in bulk, vecgres.sql.copy_vectors) stores what
pgvector's vector_in would, and a bad literal gets pgvector's error (PGVECTOR.md 1.3)."""

from __future__ import annotations

import psycopg
import pytest


def _copy(conn: psycopg.Connection, data: str, table: str = "c") -> None:
    with conn.cursor() as cur, cur.copy(f"copy {table} from stdin") as copy:
        copy.write(data)


def test_text_copy_of_vectors_round_trips(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("create extension if not exists vector")
        conn.execute("create table c (id int, v vector(3))")
        lines = [f"{i}\t[{i}.25,-0,{i}e-3]\n" for i in range(1, 401)]
        lines[9] = "10\t\\N\n"
        # spellings the bulk path leaves to vector_in: spaces, exponent forms, leading dot
        lines[20] = "21\t [ 1 , 2.5 ,3 ] \n"
        lines[30] = "31\t[1.e1,+.5,3E+2]\n"
        lines[40] = "41\t[0.1,16777217,1e-50]\n"  # rounding to float4, underflow to 0
        _copy(conn, "".join(lines))
        got = dict(conn.execute("select id, v::text from c").fetchall())
        assert len(got) == 400
        assert got[1] == "[1.25,-0,0.001]"
        assert got[10] is None
        assert got[21] == "[1,2.5,3]"
        assert got[31] == "[10,0.5,300]"
        assert got[41] == "[0.1,1.6777216e+07,0]"
        assert got[400] == "[400.25,-0,0.4]"


@pytest.mark.parametrize(
    ("literal", "sqlstate", "message"),
    [
        ("[1,2", "22P02", 'invalid input syntax for type vector: "[1,2"'),
        ("[1,,3]", "22P02", 'invalid input syntax for type vector: "[1,,3]"'),
        ("[1,2,3]x", "22P02", 'invalid input syntax for type vector: "[1,2,3]x"'),
        ("[]", "22000", "vector must have at least 1 dimension"),
        ("[1,2]", "22000", "expected 3 dimensions, not 2"),
        ("[1,nan,3]", "22000", "NaN not allowed in vector"),
        ("[1,2,4e38]", "22003", '"4e38" is out of range for type vector'),
    ],
)
def test_text_copy_of_a_bad_vector_fails_like_pgvector(engine_server, literal, sqlstate, message):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("create extension if not exists vector")
        conn.execute("create table c (id int, v vector(3))")
        with pytest.raises(psycopg.Error) as info:
            _copy(conn, f"1\t[1,2,3]\n2\t{literal}\n")
        assert info.value.sqlstate == sqlstate
        assert str(info.value).splitlines()[0] == message
        assert conn.execute("select count(*) from c").fetchone() == (0,)
