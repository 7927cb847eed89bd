"""The key of a vector index or top-k search as a numpy matrix, per column type.

``vector``/``halfvec`` columns are FLOAT[n] (halfvec values are float16-rounded,
exact in float32): a float32 (rows, n) view. ``bit`` columns go through
``vecgres.vector.bits.pack`` (the storage format is that module's business):
a packed uint8 (rows, ceil(n/8)) matrix, NULLs as zero bits (callers mask them).

Expression keys over a ``vector`` column (pgvector's README recipes):
``(col)::halfvec(n)`` (key type ``vector>halfvec``) and
``(binary_quantize(col))::bit(n)`` (``vector>bit``) and
``(subvector(col, s, n))::vector(n)`` (``vector>sub:s``; ``halfvec>sub:s`` over a
halfvec column, whose storage is read the same way); over a sparsevec column
``(col)::vector(n)`` / ``::halfvec(n)`` (densified) and ``::sparsevec(n)`` (read as
CSR, like the column); over a bit/varbit column ``(col)::bit(n)`` (padded or cut),
computed here with the same helpers the SQL functions use.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from vecgres.catalog.model import Column, Index, Table
from vecgres.executor.vectors import column_matrix
from vecgres.index.expression import check_rows, parse_expression, subvector_start
from vecgres.types import SqlType
from vecgres.vector import bits, half
from vecgres.vector.ops import rowwise_binary_quantize
from vecgres.vector.storage import (
    packed_bits,
    padded_bits,
    padded_matrix,
    ragged_rows,
    sparse_csr,
)

BIT_TYPES = ("bit",)
DENSE_TYPES = ("vector", "halfvec")


def key_dims(t: SqlType) -> int | None:
    """Dimensions (bits for ``bit(n)``) of an indexable key type, or None."""
    if t.is_array:
        return None
    if t.name in DENSE_TYPES:
        return t.dims
    if t.name in BIT_TYPES and t.typmod > 0:
        return t.typmod
    if t.name == "sparsevec" and t.typmod > 0:
        return t.typmod
    return None


def _dense(column: pa.ChunkedArray, dims: int) -> np.ndarray:
    """The column as (rows, dims); a column without a typmod (an expression key's
    source) row by row, each cut or zero-padded to ``dims`` as ``::bit(n)`` does."""
    fixed = pa.types.is_fixed_size_list(column.type) and column.type.list_size == dims
    return column_matrix(column, dims) if fixed else padded_matrix(column, dims)


def _subvectors(column: pa.ChunkedArray, start: int, dims: int) -> np.ndarray:
    """Elements ``start .. start+dims-1`` (1-based) of each row as (rows, dims); rows
    too short for them (NULL rows: stored rows were checked on insert) are zeros."""
    starts, lengths, values = ragged_rows(column)
    if not len(starts):
        return np.zeros((0, dims), dtype=np.float32)
    fits = lengths >= start + dims - 1
    first = np.where(fits, starts + start - 1, 0)
    picked = values[first[:, None] + np.arange(dims)] if len(values) >= dims else None
    if picked is None:
        return np.zeros((len(starts), dims), dtype=np.float32)
    return np.where(fits[:, None], picked, np.float32(0))


def _densified(column: pa.ChunkedArray, dims: int) -> np.ndarray:
    """A sparsevec column as (rows, dims) float32 (stored rows have ``dims``: checked
    on insert; NULL rows are zeros)."""
    indptr, indices, values, _dims = sparse_csr(column)
    out = np.zeros((len(indptr) - 1, dims), dtype=np.float32)
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    keep = indices < dims
    out[rows[keep], indices[keep]] = values[keep]
    return out


def key_matrix(type_name: str, column: pa.ChunkedArray, dims: int) -> np.ndarray:
    """``type_name``: the column's type, or an expression key type (``vector>halfvec``)."""
    if type_name in ("vector>vector", "vector>sparsevec"):
        return _dense(column, dims)
    if type_name == "sparsevec>vector":
        return _densified(column, dims)
    if type_name == "sparsevec>halfvec":
        return half.to_half(_densified(column, dims))
    if type_name == "bit>bit":
        return padded_bits(column, dims)
    start = subvector_start(type_name)
    if start is not None:
        return _subvectors(column, start, dims)
    if type_name == "vector>halfvec":
        return half.to_half(np.nan_to_num(_dense(column, dims)))
    if type_name == "vector>bit":
        matrix = np.nan_to_num(_dense(column, dims))
        if not len(matrix):
            return np.zeros((0, (dims + 7) // 8), dtype=np.uint8)
        packed, _ = bits.pack(rowwise_binary_quantize(matrix))
        return packed
    if type_name in BIT_TYPES:
        width = (dims + 7) // 8
        if not len(column):
            return np.zeros((0, width), dtype=np.uint8)
        # stored (packed) or text rows; NULL rows come back as zeros
        packed, _nbits, _valid = packed_bits(column)
        if packed.shape[1] != width:  # every row NULL
            return np.zeros((len(column), width), dtype=np.uint8)
        return packed
    return column_matrix(column, dims)


def index_key(table: Table, idx: Index) -> tuple[Column, str, int] | None:
    """(stored column, key type, dims) of an index on one column or expression key."""
    if len(idx.columns) != 1:
        return None
    column = table.column(idx.columns[0])
    if column is None:
        return None
    if idx.expression is not None:
        parsed = parse_expression(idx.expression, column.type)
        if parsed is None or column.type.is_array:
            return None
        return column, parsed[1], parsed[2]
    dims = key_dims(column.type)
    return (column, column.type.name, dims) if dims is not None else None


class KeyRows:
    """``key_matrix`` of a column, computed on indexing and only for those rows:
    an ANN search re-ranks a few candidates, and packing text bits (or
    quantizing) a whole segment per query would cost more than the search. An
    expression key is evaluated on exactly the rows asked for, as PostgreSQL
    evaluates it on the rows it ranks: one that does not fit raises pgvector's
    error (``expected 3 dimensions, not 4``)."""

    __slots__ = ("_column", "_dims", "_full", "_type")

    def __init__(self, type_name: str, column: pa.ChunkedArray, dims: int) -> None:
        self._type, self._column, self._dims = type_name, column, dims
        self._full: np.ndarray | None = None
        if type_name in DENSE_TYPES:  # views: no reason to wait
            self._full = key_matrix(type_name, column, dims)

    @property
    def full(self) -> np.ndarray | None:
        """Every row's key, when computed already (dense types)."""
        return self._full

    def __getitem__(self, offsets: np.ndarray) -> np.ndarray:
        if self._full is not None:
            n = len(self._full)
            if len(offsets) == n and n and offsets[0] == 0 and offsets[-1] == n - 1:
                return self._full  # every row (offsets are sorted and unique): no copy
            return np.asarray(self._full[offsets])
        taken = self._column.take(pa.array(np.asarray(offsets, dtype=np.int64)))
        if ">" in self._type:
            check_rows(self._type, self._dims, taken)
        return key_matrix(self._type, taken, self._dims)
