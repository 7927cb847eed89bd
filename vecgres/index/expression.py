"""Expression keys of vector indexes (pgvector's README recipes) and the check
PostgreSQL makes by evaluating them on every row an index holds.

Over a ``vector`` or ``halfvec`` column, with or without a typmod:
``(col)::vector(n)`` (key type ``vector>vector``), ``(col)::halfvec(n)``
(``vector>halfvec``), ``(binary_quantize(col))::bit(n)`` (``vector>bit``) and
``(col)::sparsevec(n)`` (``vector>sparsevec``: the dense rows, indexed and ranked
as dense, which gives the same distances),
``(subvector(col, s, n))::vector(n)`` (``vector>sub:s``: elements s .. s+n-1;
``halfvec>sub:s`` and ``::halfvec(n)`` over a halfvec column). Over a
``sparsevec`` column: ``(col)::vector(n)``, ``::halfvec(n)`` and
``::sparsevec(n)`` (``sparsevec>…``). Over a ``bit``/``varbit`` column:
``(col)::bit(n)`` (``bit>bit``). A cast to the column's own type and typmod is
no expression: PostgreSQL drops it and the index is on the column.

The catalog stores the canonical text; PostgreSQL evaluates the expression when
a row is inserted (and for every row on CREATE INDEX) — for a partial index only
on the rows its predicate accepts — so a row of other dimensions fails with the
typmod coercion's error (``expected 3 dimensions, not 2``) and a value beyond
half precision with ``"70000" is out of range for type halfvec``. The explicit
cast to ``bit(n)`` pads or truncates instead, so it never fails.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

import numpy as np
import pyarrow as pa

from vecgres.errors import DataException
from vecgres.index import predicate
from vecgres.types import SqlType
from vecgres.vector import half
from vecgres.vector.storage import ragged_rows, sparse_csr

if TYPE_CHECKING:
    from vecgres.catalog.model import Table

# key type of an expression key -> the SQL type it yields. ``vector>…`` keys read a
# dense column (vector or halfvec: both stored as float32 lists, halfvec's exact in
# float16), ``sparsevec>…`` a sparsevec column, ``bit>bit`` a bit or varbit column.
EXPRESSION_TYPES = {
    "vector>vector": "vector",
    "vector>halfvec": "halfvec",
    "vector>bit": "bit",  # binary_quantize(col)::bit(n)
    "vector>sparsevec": "sparsevec",  # col::sparsevec(n), kept dense
    "sparsevec>vector": "vector",
    "sparsevec>halfvec": "halfvec",
    "sparsevec>sparsevec": "sparsevec",
    "bit>bit": "bit",  # col::bit(n): the explicit cast pads or cuts
}
SUBVECTOR: Final = "vector>sub:"  # + the 1-based start; subvector of a vector column
HALFVEC_SUBVECTOR: Final = "halfvec>sub:"  # … of a halfvec column (a halfvec key)
# keys the executor reads as CSR rows (the column itself or an expression over one)
SPARSE_KEYS: Final = ("sparsevec", "sparsevec>sparsevec")
_DENSE_SOURCES = ("vector", "halfvec")
_BIT_SOURCES = ("bit", "bit varying")
_EXPRESSION = re.compile(
    r"^\((?:binary_quantize\((?P<bq>[^()]+)\)"
    r"|subvector\((?P<sub>[^(),]+), (?P<start>\d+), (?P<count>\d+)\)|(?P<col>[^()]+))\)"
    r"::(?P<t>vector|halfvec|sparsevec|bit)\((?P<n>\d+)\)$"
)


def subvector_start(key_type: str) -> int | None:
    """The 1-based first element of a ``vector>sub:s`` (``halfvec>sub:s``) key; None
    for other keys."""
    for prefix in (SUBVECTOR, HALFVEC_SUBVECTOR):
        if key_type.startswith(prefix):
            return int(key_type[len(prefix) :])
    return None


def expression_type(key_type: str) -> str:
    """The SQL type an expression key yields (``vector>sub:2`` gives vector)."""
    if subvector_start(key_type) is not None:
        return key_type.partition(">")[0]
    return EXPRESSION_TYPES[key_type]


def key_source(key_type: str) -> tuple[str, ...]:
    """The column types an expression key reads."""
    if key_type.startswith(HALFVEC_SUBVECTOR):
        return ("halfvec",)
    if key_type.startswith(SUBVECTOR):
        return ("vector",)
    source = key_type.partition(">")[0]
    return {"vector": _DENSE_SOURCES, "bit": _BIT_SOURCES}.get(source, (source,))


def expression_key(source: str, target: str) -> str | None:
    """The key type of ``(col)::target(n)`` over a column of type ``source``."""
    if source in _DENSE_SOURCES and target in (*_DENSE_SOURCES, "sparsevec"):
        return f"vector>{target}"
    if source == "sparsevec" and target in (*_DENSE_SOURCES, "sparsevec"):
        return f"sparsevec>{target}"
    if source in _BIT_SOURCES and target == "bit":
        return "bit>bit"
    return None


def is_identity(t: SqlType, key_type: str, dims: int) -> bool:
    """``(col)::type(n)`` of the column's own type and typmod: PostgreSQL drops the
    cast (coerce_type_typmod) and indexes or searches the bare column."""
    if subvector_start(key_type) is not None or key_type == "vector>bit" or t.is_array:
        return False
    return t.name == expression_type(key_type) and t.typmod == dims


def searched_key(t: SqlType, key_type: str, dims: int, operator_type: str) -> str | None:
    """The key an ORDER BY / WHERE distance ranks, from the form the binder renders
    (a halfvec column's own typmod check reads as ``vector>vector``); None when it
    is the column itself (``is_identity``)."""
    if key_type == "vector>vector" and operator_type == "halfvec":
        key_type = "vector>halfvec"
    return None if is_identity(t, key_type, dims) else key_type


def expression_text(column: str, key_type: str, dims: int) -> str:
    """The canonical PostgreSQL text of an expression key (stored in the catalog)."""
    if key_type == "vector>bit":
        return f"(binary_quantize({column}))::bit({dims})"
    start = subvector_start(key_type)
    if start is not None:
        shown = expression_type(key_type)
        return f"(subvector({column}, {start}, {dims}))::{shown}({dims})"
    return f"({column})::{EXPRESSION_TYPES[key_type]}({dims})"


def parse_expression(text: str, source: SqlType | None = None) -> tuple[str, str, int] | None:
    """(column, key type, dims) of a canonical expression key over a column of type
    ``source`` (a vector column when not given); None for others."""
    m = _EXPRESSION.match(text)
    if m is None:
        return None
    n = int(m.group("n"))
    source_name = source.name if source is not None else "vector"
    target = m.group("t")
    if m.group("bq"):
        return (m.group("bq"), "vector>bit", n) if target == "bit" else None
    if m.group("sub"):
        if target != source_name or target not in _DENSE_SOURCES or int(m.group("count")) != n:
            return None
        prefix = SUBVECTOR if target == "vector" else HALFVEC_SUBVECTOR
        return m.group("sub"), f"{prefix}{int(m.group('start'))}", n
    key = expression_key(source_name, target)
    return (m.group("col"), key, n) if key is not None else None


def expression_source_fits(t: SqlType, dims: int, key_type: str = "") -> bool:
    """An expression key of ``dims`` over a column of type ``t``: a column of the
    source type of those dimensions (for a subvector key, long enough) or without a
    typmod (its rows are checked on insert); any bit column for ``::bit(n)``."""
    if t.is_array or t.name not in key_source(key_type or "vector>vector"):
        return False
    if key_type == "bit>bit":
        return True
    start = subvector_start(key_type)
    if start is not None:
        return t.dims is None or t.dims >= start + dims - 1
    return t.typmod in (-1, dims)


def nonzeros_per_row(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Non-zero elements of each row of a dense column (its rows as sparsevec)."""
    starts, lengths, values = ragged_rows(column)
    if not len(starts):
        return np.zeros(0, dtype=np.int64)
    counts = np.concatenate(([0], np.cumsum(values != 0)))
    out: np.ndarray = counts[starts + lengths] - counts[starts]
    return out


def _subvector_lengths(lengths: np.ndarray, start: int, count: int) -> np.ndarray:
    """Dimensions of ``subvector(v, start, count)`` for rows of ``lengths`` (pgvector
    clamps the end to the row's last element)."""
    sizes: np.ndarray = np.minimum(lengths + 1, start + count) - start
    return sizes


def _check_sparse_rows(key_type: str, dims: int, column: pa.Array | pa.ChunkedArray) -> None:
    """sparsevec's typmod check (``expected 3 dimensions, not 4``) and, for a halfvec
    key, the range of every non-zero."""
    _indptr, _indices, values, row_dims = sparse_csr(column)
    bad = (row_dims >= 0) & (row_dims != dims)
    if bad.any():
        raise DataException(f"expected {dims} dimensions, not {int(row_dims[int(np.argmax(bad))])}")
    if key_type == "sparsevec>halfvec":
        half.to_half(values)  # raises pgvector's error for the first overflowing value


def check_rows(key_type: str, dims: int, column: pa.Array | pa.ChunkedArray) -> None:
    """pgvector's error for the first row the expression key cannot take."""
    if key_type in ("vector>bit", "bit>bit") or not len(column):
        return
    if key_type.startswith("sparsevec>"):
        _check_sparse_rows(key_type, dims, column)
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


def indexed_rows(
    table: Table, where: str | None, data: pa.RecordBatch | pa.Table
) -> np.ndarray | None:
    """The rows of ``data`` a partial index (predicate ``where``) holds: a bool mask,
    None for every row.
    PostgreSQL evaluates the key expression only on those: pgvector's recipe for
    mixed dimensions is one ``(v::vector(n))`` index per ``WHERE (model_id = …)``."""
    if where is None:
        return None
    conds = predicate.parse(where)
    if conds is None:
        return None
    columns: dict[str, pa.ChunkedArray | pa.Array] = {}
    for name, _op, _value in conds:
        column = table.column(name)
        if column is None or column.field_name not in data.column_names:
            return None
        columns[name] = data.column(column.field_name)
    return predicate.evaluate(conds, columns, data.num_rows)


def check_batch(table: Table, batch: pa.RecordBatch | pa.Table) -> None:
    """Rows about to be stored, checked against the table's expression indexes."""
    for idx in table.indexes:
        if idx.expression is None or len(idx.columns) != 1:
            continue
        column = table.column(idx.columns[0])
        if column is None or column.field_name not in batch.column_names:
            continue
        parsed = parse_expression(idx.expression, column.type)
        if parsed is None:
            continue
        values = batch.column(column.field_name)
        mask = indexed_rows(table, idx.predicate, batch)
        if mask is not None:
            values = values.filter(pa.array(mask))
        check_rows(parsed[1], parsed[2], values)
