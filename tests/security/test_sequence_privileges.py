"""Sequence privileges as PostgreSQL 15: nextval needs USAGE or UPDATE (a serial column's
default too), currval USAGE or SELECT, setval UPDATE; owners need nothing; relacl shows them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seckit import RunningServer, connect, denied, serving


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(tmp_path) as srv:
        with connect(srv) as admin:
            admin.execute("CREATE ROLE s7a LOGIN")
            admin.execute("CREATE SEQUENCE sq")
            admin.execute("CREATE TABLE ser (id serial, v text)")
            admin.execute("GRANT INSERT, SELECT ON ser TO s7a")
            admin.execute("GRANT CREATE ON SCHEMA public TO s7a")
        yield srv


def test_sequence_privileges(server: RunningServer) -> None:
    with connect(server, "s7a") as s7a:
        denied(s7a, "SELECT nextval('sq')", "permission denied for sequence sq")
        denied(s7a, "SELECT setval('sq', 5)", "permission denied for sequence sq")
        # INSERT on the table is not enough for its serial column (PostgreSQL's rule)
        denied(s7a, "INSERT INTO ser (v) VALUES ('a')", "permission denied for sequence ser_id_seq")
        # her own sequence is hers to use and drop
        s7a.execute("CREATE SEQUENCE mine")
        assert s7a.execute("SELECT nextval('mine')").fetchone() == (1,)
        s7a.execute("DROP SEQUENCE mine")
        with connect(server) as admin:
            admin.execute("GRANT USAGE ON SEQUENCE sq, ser_id_seq TO s7a")
            denied(
                admin,
                "GRANT INSERT ON SEQUENCE sq TO s7a",
                "invalid privilege type INSERT for sequence",
                "0LP01",
            )
            assert admin.execute(
                "SELECT relname, relacl FROM pg_class WHERE relkind = 'S' ORDER BY 1"
            ).fetchall() == [
                ("ser_id_seq", ["postgres=rwU/postgres", "s7a=U/postgres"]),
                ("sq", ["postgres=rwU/postgres", "s7a=U/postgres"]),
            ]
        assert s7a.execute("SELECT nextval('sq')").fetchone() == (1,)
        assert s7a.execute("INSERT INTO ser (v) VALUES ('a') RETURNING id").fetchone() == (1,)
        assert s7a.execute("SELECT currval('sq')").fetchone() == (1,)
        denied(s7a, "SELECT setval('sq', 5)", "permission denied for sequence sq")
        with connect(server) as admin:
            admin.execute("REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM s7a")
        denied(s7a, "SELECT nextval('sq')", "permission denied for sequence sq")
