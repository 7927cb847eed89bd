"""The Arrow layout of each SQL type: how result batches hold values (``arrow_type``)
and how segments store them (``storage_type``; bit and sparsevec differ)."""

from __future__ import annotations

import pyarrow as pa

from vecgres.types import SqlType
from vecgres.vector import storage

# numeric without a typmod has no fixed scale in PostgreSQL; Arrow needs one, so it
# is stored with 10 fractional digits and printed with trailing zeros trimmed
UNCONSTRAINED_NUMERIC = pa.decimal128(38, 10)

_SIMPLE: dict[str, pa.DataType] = {
    "boolean": pa.bool_(),
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "text": pa.string(),
    "character varying": pa.string(),
    "character": pa.string(),
    "name": pa.string(),
    "char": pa.string(),
    "bytea": pa.binary(),
    "date": pa.date32(),
    "time without time zone": pa.time64("us"),
    "timestamp without time zone": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "interval": pa.month_day_nano_interval(),
    "uuid": pa.string(),
    "json": pa.string(),
    "jsonb": pa.string(),
    "oid": pa.int64(),
    "regproc": pa.int64(),
    "regclass": pa.int64(),
    "regtype": pa.int64(),
    "regnamespace": pa.int64(),
    "xid": pa.int64(),
    "unknown": pa.string(),
    "void": pa.string(),
    "record": pa.string(),
    "bit": pa.string(),
    "bit varying": pa.string(),
    "int2vector": pa.string(),
    "oidvector": pa.string(),
    "pg_node_tree": pa.string(),
    "sparsevec": pa.string(),
}


def numeric_precision_scale(t: SqlType) -> tuple[int, int] | None:
    """(precision, scale) of ``numeric(p, s)``, or None for unconstrained numeric."""
    if t.typmod < 4:
        return None
    packed = t.typmod - 4
    return (packed >> 16) & 0xFFFF, packed & 0xFFFF


def arrow_type(t: SqlType) -> pa.DataType:
    """The Arrow type that holds values of ``t`` in storage and in result batches."""
    if t.is_array:
        return pa.list_(arrow_type(t.element))
    if t.name == "numeric":
        ps = numeric_precision_scale(t)
        if ps is None or ps[0] > 38:
            return UNCONSTRAINED_NUMERIC
        return pa.decimal128(ps[0], ps[1])
    if t.name in ("vector", "halfvec"):
        if t.typmod > 0:
            return pa.list_(pa.float32(), t.typmod)
        return pa.list_(pa.float32())
    return _SIMPLE[t.name]


_PACKED = ("bit", "bit varying")


def storage_type(t: SqlType) -> pa.DataType:
    """The Arrow type that holds values of ``t`` in segments (``arrow_type`` but for
    bit strings, which are stored packed: see vecgres/vector/storage.py)."""
    if not t.is_array and t.name in _PACKED:
        return storage.BIT_STORAGE
    if not t.is_array and t.name == "sparsevec":
        return storage.SPARSE_STORAGE
    return arrow_type(t)


def to_storage(col: pa.Array | pa.ChunkedArray, t: SqlType) -> pa.Array | pa.ChunkedArray:
    """A column in its execution layout (``arrow_type``) -> its stored layout."""
    if not t.is_array and t.name in _PACKED:
        return storage.bits_to_storage(col)
    if not t.is_array and t.name == "sparsevec":
        return storage.sparse_to_storage(col)
    return col


def from_storage(col: pa.Array | pa.ChunkedArray, t: SqlType) -> pa.Array | pa.ChunkedArray:
    """A stored column -> the layout DuckDB and the codecs compute on (``arrow_type``)."""
    if not t.is_array and t.name in _PACKED:
        return storage.bits_from_storage(col)
    if not t.is_array and t.name == "sparsevec":
        return storage.sparse_from_storage(col)
    return col


def missing_to_storage(value: object, t: SqlType) -> object:
    """A column's fill value for old rows (``Column.missing``) in its stored layout."""
    if value is None or t.is_array:
        return value
    stored = to_storage(pa.array([value], pa.string()), t) if isinstance(value, str) else None
    if stored is None or pa.types.is_string(stored.type):
        return value
    return stored[0].as_py()


def storage_reader(t: SqlType) -> str | None:
    """The DuckDB function (vecgres/executor/udfs_types.py) that reads a stored
    column of ``t`` into its execution layout; None when the layouts agree."""
    if t.is_array:
        return None
    if t.name in _PACKED:
        return "pgv_bits_from_storage"
    if t.name == "sparsevec":
        return "pgv_sparsevec_from_storage"
    return None
