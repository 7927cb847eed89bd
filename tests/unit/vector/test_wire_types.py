"""vector, halfvec, sparsevec and bit over the wire: text and binary, both directions.

A real server on 127.0.0.1 (started and stopped here); psycopg as the client,
plus pgvector-python's register_vector where its types apply.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parents[2] / "server"))

from wireclient import RunningServer, serving

psycopg = pytest.importorskip("psycopg")


class Raw:
    """A parameter sent as given bytes in binary format, with the type OID it claims."""

    def __init__(self, data: bytes, oid: int) -> None:
        self.data, self.oid = data, oid


class RawDumper(psycopg.adapt.Dumper):
    format = psycopg.pq.Format.BINARY

    def dump(self, obj: Raw) -> bytes:
        return obj.data

    def get_key(self, obj: Raw, format: Any) -> Any:
        return (Raw, obj.oid)

    def upgrade(self, obj: Raw, format: Any) -> psycopg.adapt.Dumper:
        d = RawDumper(Raw)
        d.oid = obj.oid
        return d


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(tmp_path) as srv:
        yield srv


def _setup(conn: Any) -> None:
    conn.execute(
        "CREATE TABLE items (id int PRIMARY KEY, v vector(3), h halfvec(3), "
        "s sparsevec(5), b bit(4))"
    )
    conn.execute(
        "INSERT INTO items VALUES (1, '[1,2.5,-3]', '[1.23456,0.1,-65504]', "
        "'{1:1.5,4:-2}/5', '1011'), (2, NULL, NULL, NULL, NULL)"
    )


def test_text_results(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        _setup(conn)
        row = conn.execute("SELECT v, h, s, b FROM items WHERE id = 1").fetchone()
        assert row == ("[1,2.5,-3]", "[1.234375,0.099975586,-65504]", "{1:1.5,4:-2}/5", "1011")
        oids = [d.type_code for d in conn.execute("SELECT v, h, s, b FROM items").description]
        assert oids == [16385, 16386, 16387, 1560]
        assert conn.execute("SELECT v, h, s, b FROM items WHERE id = 2").fetchone() == (
            None,
            None,
            None,
            None,
        )


def test_text_parameters_take_the_column_type(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        _setup(conn)
        conn.execute(
            "INSERT INTO items VALUES (3, %s, %s, %s, %s)",
            ["[3,2,1]", "[65504,0.5,1]", "{5:1}/5", "0110"],
        )
        row = conn.execute("SELECT v, h, s, b FROM items WHERE id = %s", [3]).fetchone()
        assert row == ("[3,2,1]", "[65504,0.5,1]", "{5:1}/5", "0110")
        q = "SELECT id FROM items WHERE id < 3 ORDER BY {} LIMIT 1"
        assert conn.execute(q.format("h <-> %s"), ["[1,0,-65504]"]).fetchone() == (1,)
        assert conn.execute(q.format("s <#> %s"), ["{4:1}/5"]).fetchone() == (1,)
        assert conn.execute(q.format("b <~> %s"), ["1010"]).fetchone() == (1,)
        assert conn.execute("SELECT %s::halfvec(2)", ["[1.5,2]"]).fetchone() == ("[1.5,2]",)
        with pytest.raises(psycopg.errors.NumericValueOutOfRange) as err:
            conn.execute("INSERT INTO items (id, h) VALUES (4, %s)", ["[65520,1,1]"])
        assert str(err.value).startswith('"65520" is out of range for type halfvec')
        with pytest.raises(psycopg.errors.DataException) as err:
            conn.execute("SELECT id FROM items ORDER BY s <-> %s LIMIT 1", ["{1:1}/4"])
        assert str(err.value).startswith("different sparsevec dimensions 5 and 4")
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (3,)


def test_binary_results_are_pgvector_send_formats(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        _setup(conn)
        for oid in (16385, 16386, 16387, 1560):
            conn.adapters.register_loader(oid, psycopg.adapt.Loader)  # raw bytes
        cur = conn.cursor(binary=True)
        v, h, s, b = cur.execute("SELECT v, h, s, b FROM items WHERE id = 1").fetchone()
        assert bytes(v) == struct.pack(">hh3f", 3, 0, 1.0, 2.5, -3.0)
        assert (
            bytes(h)
            == struct.pack(">hh", 3, 0) + np.array([1.23456, 0.1, -65504], dtype=">f2").tobytes()
        )
        # sparsevec: dim, nnz, unused, 0-based indices, values
        assert bytes(s) == struct.pack(">iiiiiff", 5, 2, 0, 0, 3, 1.5, -2.0)
        # varbit_send: bit length, then the bits packed MSB first
        assert bytes(b) == struct.pack(">iB", 4, 0b10110000)


def test_binary_parameters_round_trip(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        _setup(conn)

        conn.adapters.register_dumper(Raw, RawDumper)
        conn.execute(
            "INSERT INTO items VALUES (3, %b, %b, %b, %b)",
            [
                Raw(struct.pack(">hh3f", 3, 0, 4.0, 5.0, 6.0), 16385),
                Raw(struct.pack(">hh", 3, 0) + np.array([0.5, 2, 3], ">f2").tobytes(), 16386),
                Raw(struct.pack(">iiiif", 5, 1, 0, 4, 7.5), 16387),
                Raw(struct.pack(">iB", 4, 0b01100000), 1560),
            ],
        )
        assert conn.execute("SELECT v, h, s, b FROM items WHERE id = 3").fetchone() == (
            "[4,5,6]",
            "[0.5,2,3]",
            "{5:7.5}/5",
            "0110",
        )
        with pytest.raises(psycopg.errors.DataException) as err:
            conn.execute(
                "INSERT INTO items (id, s) VALUES (4, %b)",
                [Raw(struct.pack(">iiiiiff", 5, 2, 0, 3, 1, 1.0, 2.0), 16387)],
            )
        assert "sparsevec indices must be in ascending order" in str(err.value)
        with pytest.raises(psycopg.errors.DataException) as err:
            conn.execute(
                "INSERT INTO items (id, s) VALUES (4, %b)",
                [Raw(struct.pack(">iiiif", 5, 1, 0, 1, 0.0), 16387)],
            )
        assert "binary representation of sparsevec cannot contain zero values" in str(err.value)
        # the connection stays usable after the errors
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (3,)


def _register_known_oids(conn: Any) -> None:
    """pgvector-python's loaders and dumpers, bound to vecgres's fixed type OIDs."""
    from pgvector.psycopg.bit import register_bit_info
    from pgvector.psycopg.halfvec import register_halfvec_info
    from pgvector.psycopg.sparsevec import register_sparsevec_info
    from pgvector.psycopg.vector import register_vector_info
    from psycopg.types import TypeInfo

    register_vector_info(conn, TypeInfo("vector", 16385, 16390))
    register_bit_info(conn, TypeInfo("bit", 1560, 1561))
    register_halfvec_info(conn, TypeInfo("halfvec", 16386, 16391))
    register_sparsevec_info(conn, TypeInfo("sparsevec", 16387, 16392))


def test_pgvector_python_codecs(server: RunningServer) -> None:
    pytest.importorskip("pgvector.psycopg")
    _pgvector_round_trip(server, _register_known_oids)


def test_pgvector_python_register_vector(server: RunningServer) -> None:
    pgvector_psycopg = pytest.importorskip("pgvector.psycopg")
    _pgvector_round_trip(server, pgvector_psycopg.register_vector)


def _pgvector_round_trip(server: RunningServer, register: Any) -> None:
    from pgvector import Bit, HalfVector, SparseVector

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        _setup(conn)
        register(conn)
        for binary in (False, True):
            cur = conn.cursor(binary=binary)
            v, h, s, b = cur.execute("SELECT v, h, s, b FROM items WHERE id = 1").fetchone()
            assert list(np.asarray(v.to_list() if hasattr(v, "to_list") else v)) == [1, 2.5, -3]
            assert h.to_list() == [1.234375, 0.0999755859375, -65504.0]
            assert s.dimensions() == 5
            assert s.indices() == [0, 3]
            assert s.values() == [1.5, -2.0]
            # psycopg has no bit loader: text gives the string, binary the varbit_send bytes
            assert b == (struct.pack(">iB", 4, 0b10110000) if binary else "1011")
        conn.execute(
            "INSERT INTO items VALUES (5, %s, %s, %s, %s)",
            [
                np.array([7, 8, 9], dtype=np.float32),
                HalfVector([0.25, 0.5, 1]),
                SparseVector({1: 2.0}, 5),
                Bit("0011"),
            ],
        )
        row = conn.execute("SELECT v::text, h::text, s, b FROM items WHERE id = 5").fetchone()
        assert row[0] == "[7,8,9]"
        assert row[1] == "[0.25,0.5,1]"
        assert (row[2].dimensions(), row[2].indices(), row[2].values()) == (5, [1], [2.0])
        assert row[3] == "0011"
        nearest = conn.execute(
            "SELECT id FROM items ORDER BY h <-> %s LIMIT 1", [HalfVector([0.25, 0.5, 1])]
        ).fetchone()
        assert nearest == (5,)


def _array_binary(elem_oid: int, elements: list[bytes]) -> bytes:
    """array_send of a 1-D array without NULLs."""
    out = struct.pack(">iiiii", 1, 0, elem_oid, len(elements), 1)
    return out + b"".join(struct.pack(">i", len(e)) + e for e in elements)


def test_halfvec_and_sparsevec_array_columns_round_trip(server: RunningServer) -> None:
    half_a = struct.pack(">hh", 3, 0) + np.array([1, 2, 3], ">f2").tobytes()
    half_b = struct.pack(">hh", 3, 0) + np.array([1.5, -0.0, 65504], ">f2").tobytes()
    sparse_a = struct.pack(">iiiiiff", 3, 2, 0, 0, 2, 1.0, 2.0)
    sparse_b = struct.pack(">iii", 3, 0, 0)
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE arrs (id int, hs halfvec(3)[], ss sparsevec(3)[])")
        conn.execute(
            'INSERT INTO arrs VALUES (1, \'{"[1,2,3]","[1.5,-0,65504]"}\', '
            '\'{"{1:1,3:2}/3","{}/3"}\')'
        )
        assert conn.execute("SELECT hs, ss FROM arrs").fetchone() == (
            '{"[1,2,3]","[1.5,-0,65504]"}',
            '{"{1:1,3:2}/3","{}/3"}',
        )

        conn.adapters.register_dumper(Raw, RawDumper)
        conn.execute(
            "INSERT INTO arrs VALUES (2, %b, %b)",
            [
                Raw(_array_binary(16386, [half_b]), 16391),
                Raw(_array_binary(16387, [sparse_a]), 16392),
            ],
        )
        assert conn.execute("SELECT hs, ss FROM arrs WHERE id = 2").fetchone() == (
            '{"[1.5,-0,65504]"}',
            '{"{1:1,3:2}/3"}',
        )
        for oid in (16391, 16392):
            conn.adapters.register_loader(oid, psycopg.adapt.Loader)  # raw bytes
        cur = conn.cursor(binary=True)
        hs, ss = cur.execute("SELECT hs, ss FROM arrs ORDER BY id").fetchone()
        assert bytes(hs) == _array_binary(16386, [half_a, half_b])
        assert bytes(ss) == _array_binary(16387, [sparse_a, sparse_b])
