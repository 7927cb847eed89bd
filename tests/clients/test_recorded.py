"""Every catalog statement the recorded clients sent to PostgreSQL runs on vecgres.

The statements and the shape of PostgreSQL's answers come from
../shared/clients/recorded/ (see recorded.py). They run in-process on the
engine, with the recorded parameters decoded as the server would decode them.
"""

from __future__ import annotations

import pytest
import recorded

import vecgres.engine
from vecgres.codec.binary import decode_binary
from vecgres.types import SqlType, by_oid

STATEMENTS = recorded.statements()

SETUP = [
    "create extension if not exists vector",
    "create table items (id bigint primary key, name text not null, price numeric(10,2),"
    " qty int, score real, w double precision, flag boolean, data bytea, d date,"
    " ts timestamp, tstz timestamptz, j json, jb jsonb, tags text[], ints int[], fl real[],"
    " u uuid, created timestamptz default now(), embedding vector(3))",
    "create index items_name_idx on items (name)",
]

# statements that need what vecgres does not have; each fails with 0A000 naming it
UNSUPPORTED: set[str] = set()


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    db = vecgres.engine.Database.open(tmp_path_factory.mktemp("recorded"))
    s = db.session()
    for sql in SETUP:
        s.execute(sql)
    yield s
    s.close()
    db.close()


def _hints(stmt: recorded.Statement) -> list[SqlType | None]:
    # what the client declared in Parse, as the server passes it on
    return [by_oid(oid) if oid else None for oid in stmt.param_oids]


def _params(stmt: recorded.Statement) -> list[object]:
    # binary parameters are in the types PostgreSQL described to the client
    types = stmt.described_oids or stmt.param_oids
    out: list[object] = []
    for index, raw in enumerate(stmt.params):
        fmt = (
            stmt.param_formats[index]
            if index < len(stmt.param_formats)
            else (stmt.param_formats[0] if stmt.param_formats else 0)
        )
        if raw is None:
            out.append(None)
        elif fmt == 0:
            out.append(raw.decode())
        else:
            out.append(decode_binary(raw, types[index]))
    return out


@pytest.mark.parametrize("stmt", STATEMENTS, ids=[f"{s.log}-{i}" for i, s in enumerate(STATEMENTS)])
def test_recorded_statement(session, stmt):
    from vecgres import errors

    try:
        params = _params(stmt)
    except errors.ProtocolViolation:
        pytest.skip("the log cut this binary parameter short")

    missing = [name for name in UNSUPPORTED if name in stmt.sql]
    if missing:
        # binding rejects the statement: it never runs
        with pytest.raises(errors.FeatureNotSupported, match=missing[0].split(".")[-1]):
            session.prepare(stmt.sql, _hints(stmt))
        return
    prepared = session.prepare(stmt.sql, _hints(stmt))
    result = session.execute_prepared(prepared, params)
    rows = [row for batch in result.batches() for row in batch.to_pylist()]
    if stmt.column_oids is not None and result.columns is not None:
        assert len(result.columns) == len(stmt.column_oids)
    assert isinstance(rows, list)
