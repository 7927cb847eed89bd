"""Array parameters in PostgreSQL's text format and several-array unnest over the wire:
Django's bulk_create sends ``INSERT … SELECT * FROM UNNEST(%s::varchar[], %s::integer[])``."""

from __future__ import annotations

import psycopg
import pytest


def test_unnest_of_array_parameters(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE perm (id serial PRIMARY KEY, name varchar(255), ct int)")
        cur = conn.execute(
            "INSERT INTO perm (name, ct) SELECT * FROM UNNEST(%s::varchar(255)[], %s::integer[]) "
            "RETURNING perm.id",
            (["add", "change"], [1, 2]),
        )
        assert cur.fetchall() == [(1,), (2,)]
        cur = conn.execute("SELECT * FROM UNNEST(%s::varchar[], %s::integer[])", (["a", "b"], [7]))
        assert len(cur.description) == 2
        assert cur.fetchall() == [("a", 7), ("b", None)]
        cur = conn.execute("SELECT * FROM unnest(%s::int[])", ([3, 4],))
        assert [d.name for d in cur.description] == ["unnest"]
        assert cur.fetchall() == [(3,), (4,)]
        assert conn.execute("SELECT name, ct FROM perm ORDER BY id").fetchall() == [
            ("add", 1),
            ("change", 2),
        ]


def test_array_parameters_as_text(engine_server):
    # a str parameter is sent untyped: its cast decides, and PostgreSQL's array syntax holds
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        row = conn.execute(
            "SELECT %s::text[], %s::int[], %s::bytea",
            ('{a,"b c",NULL}', "{1,2}", "\\x0102"),
        ).fetchone()
        assert row == (["a", "b c", None], [1, 2], b"\x01\x02")
        with pytest.raises(psycopg.errors.InvalidTextRepresentation) as exc:
            conn.execute("SELECT %s::int[]", ("{1,x}",))
        assert exc.value.diag.message_primary == 'invalid input syntax for type integer: "x"'
