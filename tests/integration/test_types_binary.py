"""Binary formats of vector, halfvec, sparsevec and bit through psycopg: binary COPY
in and out, and binary results, with pgvector-python's adapters.

A real server on 127.0.0.1 (started and stopped here). Values cover the edges of
each format: NULLs, -0, halfvec's ±65504 and subnormals, empty sparsevecs, bit
lengths that are not whole bytes and bit varying.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))

from wireclient import RunningServer, serving

psycopg = pytest.importorskip("psycopg")
pgvector_psycopg = pytest.importorskip("pgvector.psycopg")
from pgvector import Bit, HalfVector, SparseVector  # noqa: E402

N = 40
# varbit_send is bit_send's layout: pgvector-python's bit dumper serves bit varying too
TYPES = ["integer", "vector", "halfvec", "sparsevec", "bit", "bit"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(tmp_path) as srv:
        yield srv


def make_rows() -> list[tuple[Any, ...]]:
    rng = np.random.default_rng(4)
    rows: list[tuple[Any, ...]] = []
    for i in range(N):
        v = rng.standard_normal(5).astype(np.float32)
        h = rng.standard_normal(5).astype(np.float16)
        dense = np.where(rng.random(7) < 0.4, rng.standard_normal(7), 0).astype(np.float32)
        bits = "".join(rng.choice(["0", "1"], 11))
        varbits = "".join(rng.choice(["0", "1"], int(rng.integers(0, 20))))
        rows.append(
            (
                i,
                v,
                HalfVector(h.astype(np.float32)),
                SparseVector(dense),
                Bit(bits),
                Bit(varbits) if varbits else None,
            )
        )
    # the formats' edges
    rows.append(
        (
            N,
            np.array([-0.0, 3e38, -1.5e-45, 1, 2], np.float32),
            HalfVector([65504, -65504, 6e-08, -0.0, 1]),
            SparseVector({}, 7),
            Bit("10000000001"),
            Bit("1"),
        )
    )
    rows.append((N + 1, None, None, None, None, None))
    return rows


def same(row: tuple[Any, ...], got: tuple[Any, ...]) -> None:
    """A row read back equals the row written (pgvector-python objects or bytes)."""
    assert got[0] == row[0]
    if row[1] is None:
        assert got[1:] == (None,) * 5
        return
    v = got[1].to_numpy() if hasattr(got[1], "to_numpy") else got[1]
    np.testing.assert_array_equal(np.asarray(v, np.float32), row[1])
    assert [str(x) for x in np.float32(got[2].to_list())] == [
        str(x) for x in np.float32(row[2].to_list())
    ]
    assert (got[3].dimensions(), got[3].indices()) == (row[3].dimensions(), row[3].indices())
    np.testing.assert_array_equal(
        np.float32(got[3].values()), np.float32(row[3].values()), strict=True
    )
    assert bits_of(got[4]) == row[4].to_text()
    assert (bits_of(got[5]) if got[5] is not None else None) == (
        row[5].to_text() if row[5] is not None else None
    )


def bits_of(value: Any) -> str:
    """A bit value as '0'/'1': psycopg has no bit loader (text: the string; binary:
    varbit_send's bytes), pgvector-python's Bit where its loader applies."""
    if isinstance(value, Bit):
        return str(value.to_text())
    if isinstance(value, str):
        return value
    raw = bytes(value)
    n = struct.unpack(">i", raw[:4])[0]
    return "".join(f"{b:08b}" for b in raw[4:])[:n]


def create(conn: Any) -> None:
    pgvector_psycopg.register_vector(conn)
    conn.execute(
        "CREATE TABLE t (id int, v vector(5), h halfvec(5), s sparsevec(7), b bit(11), "
        "vb bit varying(20))"
    )


def test_binary_copy_in_and_out_every_type(server: RunningServer) -> None:
    rows = make_rows()
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        create(conn)
        with conn.cursor().copy("COPY t FROM STDIN WITH (FORMAT binary)") as copy:
            copy.set_types(TYPES)
            for row in rows:
                copy.write_row(row)
        # what the server stored, through the text output
        text = conn.execute("SELECT v::text, h::text, s::text, b::text FROM t WHERE id = %s", [N])
        assert text.fetchone() == (
            "[-0,3e+38,-1e-45,1,2]",
            "[65504,-65504,5.9604645e-08,-0,1]",
            "{}/7",
            "10000000001",
        )
        with conn.cursor().copy("COPY t TO STDOUT WITH (FORMAT binary)") as copy:
            copy.set_types(TYPES)
            got = sorted(copy.rows(), key=lambda r: r[0])
        assert len(got) == len(rows)
        for row, back in zip(rows, got, strict=True):
            same(row, back)
        # the bytes themselves: pgvector's *_send layouts, network order
        with conn.cursor().copy(
            f"COPY (SELECT v, h, s, b FROM t WHERE id = {N}) TO STDOUT WITH (FORMAT binary)"
        ) as copy:
            raw = b"".join(bytes(chunk) for chunk in copy)
        body = raw[19:]  # signature, flags, header extension length
        assert struct.unpack(">h", body[:2])[0] == 4
        fields, pos = [], 2
        for _ in range(4):
            (n,) = struct.unpack(">i", body[pos : pos + 4])
            fields.append(body[pos + 4 : pos + 4 + n])
            pos += 4 + n
        assert fields[0] == struct.pack(">hh5f", 5, 0, -0.0, 3e38, -1.5e-45, 1, 2)
        half = np.array([65504, -65504, 6e-08, -0.0, 1], ">f2").tobytes()
        assert fields[1] == struct.pack(">hh", 5, 0) + half
        assert fields[2] == struct.pack(">iii", 7, 0, 0)
        assert fields[3] == struct.pack(">iBB", 11, 0b10000000, 0b00100000)


def test_binary_results_every_type(server: RunningServer) -> None:
    rows = make_rows()
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        create(conn)
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO t VALUES (%s, %s, %s, %s, %s, %s)", rows)
        for binary in (True, False):
            cur = conn.cursor(binary=binary)
            got = cur.execute("SELECT * FROM t ORDER BY id").fetchall()
            assert len(got) == len(rows)
            for row, back in zip(rows, got, strict=True):
                same(row, back)
        # binary parameters of each type select the right rows
        cur = conn.cursor(binary=True)
        row = rows[7]
        found = cur.execute(
            "SELECT id FROM t WHERE v = %b AND h = %b AND s = %b", [row[1], row[2], row[3]]
        ).fetchall()
        assert found == [(7,)]
        # top-k over every type through binary parameters: the row itself is nearest
        for col, value in (("v", row[1]), ("h", row[2]), ("s", row[3])):
            q = cur.execute(f"SELECT id FROM t ORDER BY {col} <-> %b LIMIT 1", [value])
            assert q.fetchone() == (7,)
        q = cur.execute("SELECT id FROM t ORDER BY b <~> %s, id LIMIT 1", [row[4]])
        assert q.fetchone() == (7,)


def test_binary_vector_param_with_bytes_left(server: RunningServer) -> None:
    """A binary vector parameter longer than its dimensions say: PostgreSQL's Bind check
    names the parameter (22P03); the session goes on."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        oid = conn.execute("SELECT 'vector'::regtype::oid").fetchone()[0]
        good = struct.pack(">hhff", 2, 0, 1.0, 2.0)
        res = conn.pgconn.exec_params(
            b"SELECT $1::vector, $2::vector", [good, good + b"\0"], [oid, oid], [1, 1]
        )
        assert res.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"22P03"
        assert (
            res.error_field(psycopg.pq.DiagnosticField.MESSAGE_PRIMARY)
            == b"incorrect binary data format in bind parameter 2"
        )
        res = conn.pgconn.exec_params(b"SELECT $1::vector::text", [good], [oid], [1])
        assert res.get_value(0, 0) == b"[1,2]"
