"""Expression keys of vector indexes (pgvector's README recipes) and the check
PostgreSQL makes by evaluating them on every stored row.

Over a ``vector`` column, with or without a typmod: ``(col)::vector(n)`` (key type
``vector>vector``), ``(col)::halfvec(n)`` (``vector>halfvec``),
``(binary_quantize(col))::bit(n)`` (``vector>bit``) and
``(subvector(col, s, n))::vector(n)`` (``vector>sub:s``: elements s .. s+n-1).
The catalog stores the canonical text; PostgreSQL evaluates the expression when
a row is inserted (and for every row on CREATE INDEX), so a row of other
dimensions fails with the typmod coercion's error (``expected 3 dimensions,
not 2``) and a value beyond half precision with ``"70000" is out of range for
type halfvec``. The explicit cast to ``bit(n)`` pads or truncates instead, so
it never fails.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

import numpy as np
import pyarrow as pa

from vecgres.errors import DataException
from vecgres.types import SqlType
from vecgres.vector import half
from vecgres.vector.storage import ragged_rows

if TYPE_CHECKING:
    from vecgres.catalog.model import Table

# key type of an expression key -> the SQL type it yields
EXPRESSION_TYPES = {"vector>vector": "vector", "vector>halfvec": "halfvec", "vector>bit": "bit"}
SUBVECTOR: Final = "vector>sub:"  # + the 1-based start
_EXPRESSION = re.compile(
    r"^\((?:binary_quantize\((?P<bq>[^()]+)\)"
    r"|subvector\((?P<sub>[^(),]+), (?P<start>\d+), (?P<count>\d+)\)|(?P<col>[^()]+))\)"
    r"::(?P<t>vector|halfvec|bit)\((?P<n>\d+)\)$"
)


def subvector_start(key_type: str) -> int | None:
    """The 1-based first element of a ``vector>sub:s`` key; None for other keys."""
    return int(key_type[len(SUBVECTOR) :]) if key_type.startswith(SUBVECTOR) else None


def expression_type(key_type: str) -> str:
    """The SQL type an expression key yields (``vector>sub:2`` gives vector)."""
    return "vector" if key_type.startswith(SUBVECTOR) else EXPRESSION_TYPES[key_type]


def expression_text(column: str, key_type: str, dims: int) -> str:
    """The canonical PostgreSQL text of an expression key (stored in the catalog)."""
    if key_type == "vector>bit":
        return f"(binary_quantize({column}))::bit({dims})"
    start = subvector_start(key_type)
    if start is not None:
        return f"(subvector({column}, {start}, {dims}))::vector({dims})"
    return f"({column})::{EXPRESSION_TYPES[key_type]}({dims})"


def parse_expression(text: str) -> tuple[str, str, int] | None:
    """(column, key type, dims) of a canonical expression key; None for others."""
    m = _EXPRESSION.match(text)
    if m is None:
        return None
    n = int(m.group("n"))
    if m.group("t") == "bit":
        return (m.group("bq"), "vector>bit", n) if m.group("bq") else None
    if m.group("sub"):
        if m.group("t") != "vector" or int(m.group("count")) != n:
            return None
        return m.group("sub"), f"{SUBVECTOR}{int(m.group('start'))}", n
    if m.group("col"):
        return m.group("col"), f"vector>{m.group('t')}", n
    return None


def expression_source_fits(t: SqlType, dims: int, key_type: str = "") -> bool:
    """An expression key of ``dims`` over a column of type ``t``: a ``vector`` column
    of those dimensions (for a subvector key, long enough) or without a typmod (its
    rows are checked on insert)."""
    if t.name != "vector" or t.is_array:
        return False
    start = subvector_start(key_type)
    if start is not None:
        return t.dims is None or t.dims >= start + dims - 1
    return t.dims in (None, dims)


def _subvector_lengths(lengths: np.ndarray, start: int, count: int) -> np.ndarray:
    """Dimensions of ``subvector(v, start, count)`` for rows of ``lengths`` (pgvector
    clamps the end to the row's last element)."""
    sizes: np.ndarray = np.minimum(lengths + 1, start + count) - start
    return sizes


def check_rows(key_type: str, dims: int, column: pa.Array | pa.ChunkedArray) -> None:
    """pgvector's error for the first row the expression key cannot take."""
    if key_type == "vector>bit" or not len(column):
        return
    starts, lengths, values = ragged_rows(column)
    valid = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    start = subvector_start(key_type)
    if start is not None:
        sizes = _subvector_lengths(lengths, start, dims)
        bad = valid & (sizes != dims)
        if bad.any():
            size = int(sizes[int(np.argmax(bad))])
            if size < 1:
                raise DataException("vector must have at least 1 dimension")
            raise DataException(f"expected {dims} dimensions, not {size}")
        return
    bad = valid & (lengths != dims)
    if key_type == "vector>halfvec":
        with np.errstate(over="ignore"):
            inf = np.isinf(values.astype(np.float16)) & ~np.isinf(values)
        if inf.any():
            # rows holding an overflowing element (cumulative count over each row's span)
            counts = np.concatenate(([0], np.cumsum(inf)))
            ends = starts + lengths
            bad |= valid & (counts[ends] - counts[starts] > 0)
    if not bad.any():
        return
    row = int(np.argmax(bad))
    if lengths[row] != dims:
        raise DataException(f"expected {dims} dimensions, not {int(lengths[row])}")
    half.to_half(values[starts[row] : starts[row] + lengths[row]])  # raises pgvector's error


def check_batch(table: Table, batch: pa.RecordBatch | pa.Table) -> None:
    """Rows about to be stored, checked against the table's expression indexes."""
    for idx in table.indexes:
        if idx.expression is None or len(idx.columns) != 1:
            continue
        parsed = parse_expression(idx.expression)
        column = table.column(idx.columns[0])
        if parsed is None or column is None or column.field_name not in batch.column_names:
            continue
        check_rows(parsed[1], parsed[2], batch.column(column.field_name))
