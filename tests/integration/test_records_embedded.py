"""Records and JSON of pgvector values through vecgres.connect(): a whole row comes
back as PostgreSQL's record text (what psycopg gives for a table's row type), json
and jsonb as parsed values whose vector fields are pgvector's text."""

from __future__ import annotations

import pytest

import vecgres


@pytest.fixture
def cur(tmp_path):
    con = vecgres.connect(str(tmp_path / "db"))
    con.autocommit = True
    cursor = con.cursor()
    cursor.execute("CREATE TABLE items (id int, v vector(3), h halfvec(2), b bit(3), note text)")
    cursor.execute(
        "INSERT INTO items VALUES (1, '[1,2,3]', '[1.5,2]', B'101', 'a b'), "
        "(2, NULL, NULL, NULL, '')"
    )
    yield cursor
    con.close()


def test_whole_row_is_its_record_text(cur):
    cur.execute("SELECT items, ROW(id, v), (items).v FROM items ORDER BY id")
    assert cur.fetchall() == [
        ('(1,"[1,2,3]","[1.5,2]",101,"a b")', '(1,"[1,2,3]")', "[1,2,3]"),
        ('(2,,,,"")', "(2,)", None),
    ]
    cur.execute("SELECT pg_typeof(items)::text, pg_typeof(ROW(1))::text FROM items LIMIT 1")
    assert cur.fetchone() == ("items", "record")


def test_json_of_rows_and_vectors(cur):
    cur.execute("SELECT row_to_json(items), to_jsonb(i) FROM items AS i JOIN items USING (id)")
    rows = sorted(cur.fetchall(), key=lambda r: r[0]["id"])
    assert rows[0][0] == {"id": 1, "v": "[1,2,3]", "h": "[1.5,2]", "b": "101", "note": "a b"}
    assert rows[0][1] == rows[0][0]
    assert rows[1][0] == {"id": 2, "v": None, "h": None, "b": None, "note": ""}
    cur.execute(
        "SELECT json_agg(v ORDER BY id), jsonb_build_object('h', h), to_json(v) "
        "FROM items WHERE id = 1 GROUP BY h, v"
    )
    assert cur.fetchone() == (["[1,2,3]"], {"h": "[1.5,2]"}, "[1,2,3]")
