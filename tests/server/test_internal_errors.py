"""A bug in handling one statement ends that statement with XX000, never the connection."""

from __future__ import annotations

import pytest

from vecgres.engine import Session


def test_internal_error_in_parse_keeps_the_connection(engine_server, monkeypatch):
    import psycopg

    real_prepare = Session.prepare

    def broken_prepare(self, sql, *args, **kwargs):
        if "boom" in sql:
            raise KeyError("simulated bug")
        return real_prepare(self, sql, *args, **kwargs)

    monkeypatch.setattr(Session, "prepare", broken_prepare)
    with psycopg.connect(engine_server.dsn(), autocommit=True) as con:
        cur = con.cursor()
        # extended protocol (a parameter): Parse fails inside the server
        with pytest.raises(psycopg.errors.InternalError_) as info:
            cur.execute("SELECT %s::int AS boom", (1,))
        assert info.value.sqlstate == "XX000"
        assert "simulated bug" in str(info.value)
        cur.execute("SELECT %s::int + 1", (1,))
        assert cur.fetchone() == (2,)
