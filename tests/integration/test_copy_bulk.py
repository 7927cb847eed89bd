"""COPY FROM STDIN of more rows than one chunk, text and binary, through the wire
server with psycopg: the columnar decoders (codec/copy_columns.py) load exactly
the values sent, and a bad row far into the data fails the whole COPY with
pgvector's or PostgreSQL's error."""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))

from wireclient import RunningServer, serving

ROWS = 3000
DIM = 8


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(tmp_path) as srv:
        yield srv


def _vectors() -> np.ndarray:
    return np.random.default_rng(3).standard_normal((ROWS, DIM)).astype(np.float32)


def _text_data(vecs: np.ndarray) -> bytes:
    lines = []
    for i, v in enumerate(vecs):
        vec = "\\N" if i % 7 == 0 else "[" + ",".join(repr(float(x)) for x in v) + "]"
        name = "\\N" if i % 11 == 0 else f"name {i}"
        lines.append(f"{i}\t{name}\t{vec}\n")
    return "".join(lines).encode()


def _binary_data(vecs: np.ndarray) -> bytes:
    out = [b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)]
    for i, v in enumerate(vecs):
        name = None if i % 11 == 0 else f"name {i}".encode()
        vec = None if i % 7 == 0 else struct.pack(f">hh{DIM}f", DIM, 0, *v.tolist())
        out.append(struct.pack(">hiq", 3, 8, i))
        for field in (name, vec):
            out.append(b"\xff\xff\xff\xff" if field is None else struct.pack(">i", len(field)))
            out.append(field or b"")
    out.append(struct.pack(">h", -1))
    return b"".join(out)


def _copy(conn, sql: str, data: bytes) -> None:
    with conn.cursor().copy(sql) as copy:
        # several CopyData messages, cut anywhere: rows may span them
        for i in range(0, len(data), 10_007):
            copy.write(data[i : i + 10_007])


@pytest.mark.parametrize("fmt", ["text", "binary"])
def test_bulk_copy_loads_every_value(server: RunningServer, fmt: str) -> None:
    import psycopg

    vecs = _vectors()
    data = _text_data(vecs) if fmt == "text" else _binary_data(vecs)
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE t (id bigint, name text, v vector({DIM}))")
        _copy(conn, f"COPY t FROM STDIN WITH (FORMAT {fmt})", data)
        rows = conn.execute("SELECT id, name, v::text FROM t ORDER BY id").fetchall()
        assert [r[0] for r in rows] == list(range(ROWS))
        assert [r[1] for r in rows] == [None if i % 11 == 0 else f"name {i}" for i in range(ROWS)]
        nulls = [i for i, r in enumerate(rows) if r[2] is None]
        assert nulls == [i for i in range(ROWS) if i % 7 == 0]
        got = np.array(
            [[float(x) for x in r[2][1:-1].split(",")] for r in rows if r[2] is not None],
            dtype=np.float32,
        )
        want = np.delete(vecs, nulls, axis=0)
        assert got.view(np.uint32).tolist() == want.view(np.uint32).tolist()


def test_bad_vector_far_into_text_copy_loads_nothing(server: RunningServer) -> None:
    import psycopg

    good = _text_data(_vectors())
    data = good + b"3000\tx\t[1,2]\n" + good
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE t (id bigint, name text, v vector({DIM}))")
        with pytest.raises(psycopg.errors.DataException, match=f"expected {DIM} dimensions, not 2"):
            _copy(conn, "COPY t FROM STDIN", data)
        with pytest.raises(psycopg.errors.DataException, match="NaN not allowed in vector"):
            _copy(conn, "COPY t FROM STDIN", data.replace(b"\t[1,2]", b"\t[1,NaN]"))
        with pytest.raises(psycopg.errors.InvalidTextRepresentation, match='type bigint: "y"'):
            _copy(conn, "COPY t FROM STDIN", good + good.replace(b"\n2999\t", b"\ny\t"))
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_bad_field_far_into_binary_copy_loads_nothing(server: RunningServer) -> None:
    import psycopg

    data = _binary_data(_vectors())
    # the last row's vector header says 9 dimensions
    bad = data[: -2 - 4 * DIM - 4] + struct.pack(">hh", DIM + 1, 0) + data[-2 - 4 * DIM :]
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE t (id bigint, name text, v vector({DIM}))")
        with pytest.raises(psycopg.errors.ProtocolViolation, match="insufficient data left"):
            _copy(conn, "COPY t FROM STDIN WITH (FORMAT binary)", bad)
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
        conn.execute("CREATE TABLE u (id bigint, name varchar(3), v vector)")
        with pytest.raises(psycopg.errors.StringDataRightTruncation):
            _copy(conn, "COPY u FROM STDIN WITH (FORMAT binary)", data)
        assert conn.execute("SELECT count(*) FROM u").fetchone() == (0,)
