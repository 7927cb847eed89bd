"""``vecgres.connect(":memory:")``: a private database, as sqlite3 and DuckDB give,
kept in a temporary directory that goes away with the connection."""

from __future__ import annotations

import os

import vecgres


def test_memory_databases_are_private_and_leave_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a ":memory:" directory here would be the old behaviour
    first = vecgres.connect(":memory:")
    second = vecgres.connect(":memory:")  # not the same directory: no ownership clash
    first.autocommit = second.autocommit = True
    first.execute("CREATE TABLE items (id int PRIMARY KEY, embedding vector(2))")
    first.execute("INSERT INTO items VALUES (1, '[1,2]'), (2, '[3,4]')")
    cur = first.execute("SELECT id FROM items ORDER BY embedding <-> '[3,3]' LIMIT 1")
    assert cur.fetchall() == [(2,)]
    cur = second.execute("SELECT count(*) FROM pg_tables WHERE tablename = 'items'")
    assert cur.fetchall() == [(0,)]
    scratch = first._scratch
    assert scratch is not None
    assert os.path.isdir(scratch)
    first.close()
    second.close()
    assert not os.path.exists(scratch)
    assert os.listdir(tmp_path) == []
