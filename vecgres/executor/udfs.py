"""pgvector's operators and functions as DuckDB scalar functions.

Vectors travel as DuckDB ``FLOAT[]`` (a ``vector(n)`` column is ``FLOAT[n]``
and casts implicitly). Every function is a vectorised Arrow UDF: a batch
arrives as pyarrow ChunkedArrays, is flattened to numpy, and is computed
with whole-matrix numpy when all rows have one dimension count (the common
case: a typed column against a constant). Ragged batches (an untyped
``vector`` column holding mixed dims) fall back to a per-row loop.

NULL handling is explicit (``null_handling="special"``): a NULL argument
gives a NULL result, as pgvector's STRICT functions.

Errors: DuckDB wraps a UDF's exception into its own text
(``Invalid Input Error: Python exception occurred while executing the UDF:
ValueError: ...``). A VecgresError raised here is carried through as
``\\x1eVGERR{json}\\x1e`` inside that message; ``decode_udf_error`` finds it
in DuckDB's error text and rebuilds the original error class by SQLSTATE.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any, Final

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
from duckdb.func import ARROW, SPECIAL

import vecgres.errors as errors_mod
from vecgres import vector as V
from vecgres.codec.floats import format_float4, format_float8
from vecgres.errors import DataException, VecgresError

F32Array = npt.NDArray[np.float32]

_MARK: Final = "\x1eVGERR"
_END: Final = "\x1e"
_PAYLOAD_RE: Final = re.compile(re.escape(_MARK) + r"(\{.*?\})" + re.escape(_END), re.DOTALL)


# ---------------------------------------------------------------- errors


class UdfError(ValueError):
    """The exception a UDF raises so DuckDB carries a VecgresError's fields."""


def encode_udf_error(err: VecgresError) -> str:
    """The marker payload for ``err`` (embedded in the DuckDB error text)."""
    payload = {
        "sqlstate": err.code,
        "message": err.message,
        "detail": err.detail,
        "hint": err.hint,
    }
    return _MARK + json.dumps(payload) + _END


def _error_classes() -> dict[str, type[VecgresError]]:
    """SQLSTATE -> the first ERROR-severity class that declares it."""
    table: dict[str, type[VecgresError]] = {}
    for obj in vars(errors_mod).values():
        if (
            isinstance(obj, type)
            and issubclass(obj, VecgresError)
            and obj is not VecgresError
            and obj.severity == errors_mod.Severity.ERROR
        ):
            table.setdefault(obj.sqlstate, obj)
    return table


_BY_SQLSTATE: Final = _error_classes()


def decode_udf_error(text: str) -> VecgresError | None:
    """Rebuild the VecgresError a UDF raised from DuckDB's error text."""
    m = _PAYLOAD_RE.search(text)
    if m is None:
        return None
    try:
        data = json.loads(m.group(1))
    except ValueError:
        return None
    code = str(data.get("sqlstate", "XX000"))
    cls = _BY_SQLSTATE.get(code)
    kwargs: dict[str, Any] = {"detail": data.get("detail"), "hint": data.get("hint")}
    message = str(data.get("message", ""))
    if cls is None:
        try:
            return VecgresError(message, sqlstate=code, **kwargs)
        except ValueError:
            return VecgresError(message, **kwargs)
    return cls(message, **kwargs)


def _udf(fn: Callable[..., pa.Array]) -> Callable[..., pa.Array]:
    """Turn VecgresErrors into the marker exception DuckDB passes along."""

    # functools.wraps exposes fn's signature: DuckDB counts its parameters
    @functools.wraps(fn)
    def wrapper(*args: pa.ChunkedArray) -> pa.Array:
        try:
            return fn(*args)
        except VecgresError as e:
            raise UdfError(encode_udf_error(e)) from None

    return wrapper


# ---------------------------------------------------------------- arrow <-> numpy


class _Vecs:
    """A batch of FLOAT[] values: flat float32 values + offsets + validity."""

    __slots__ = ("lengths", "n", "offsets", "valid", "values")

    def __init__(self, col: pa.ChunkedArray | pa.Array) -> None:
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        if pa.types.is_fixed_size_list(arr.type):
            arr = arr.cast(pa.list_(arr.type.value_type))
        self.n = len(arr)
        self.valid: npt.NDArray[np.bool_] = (
            np.ones(self.n, dtype=bool)
            if arr.null_count == 0
            else np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        )
        offsets = np.asarray(arr.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        child = arr.values
        if child.null_count:
            raise DataException("array must not contain nulls", sqlstate="22004")
        values = np.asarray(child.to_numpy(zero_copy_only=False), dtype=np.float32)
        self.values: F32Array = values
        self.offsets = offsets
        self.lengths: npt.NDArray[np.int64] = np.where(self.valid, np.diff(offsets), 0)

    def uniform_dim(self) -> int | None:
        """The common dimension of all valid rows, if there is one."""
        lens = self.lengths[self.valid]
        if len(lens) == 0:
            return 0
        d = int(lens[0])
        return d if bool((lens == d).all()) else None

    def matrix(self, d: int) -> F32Array:
        """(n, d) matrix; invalid rows are zeros (their results are masked)."""
        out = np.zeros((self.n, d), dtype=np.float32)
        if d == 0 or self.n == 0:
            return out
        starts = self.offsets[:-1]
        idx = starts[self.valid][:, None] + np.arange(d)[None, :]
        out[self.valid] = self.values[idx]
        return out

    def row(self, i: int) -> F32Array:
        return self.values[self.offsets[i] : self.offsets[i + 1]]


def _ints(col: pa.ChunkedArray) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    arr = col.combine_chunks()
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    vals = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    return vals, valid


def _list_result(rows: list[F32Array | None]) -> pa.Array:
    lengths = np.array([0 if r is None else len(r) for r in rows], dtype=np.int64)
    offsets = np.zeros(len(rows) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    present = [r for r in rows if r is not None]
    values = np.concatenate(present).astype(np.float32) if present else np.zeros(0, np.float32)
    mask = np.array([r is None for r in rows], dtype=bool)
    return pa.ListArray.from_arrays(
        pa.array(offsets), pa.array(values, type=pa.float32()), mask=pa.array(mask)
    )


def _matrix_result(m: F32Array, valid: npt.NDArray[np.bool_]) -> pa.Array:
    n, d = m.shape
    offsets = (np.arange(n + 1, dtype=np.int64) * d).astype(np.int32)
    return pa.ListArray.from_arrays(
        pa.array(offsets),
        pa.array(np.ascontiguousarray(m, dtype=np.float32).ravel(), type=pa.float32()),
        mask=pa.array(~valid),
    )


def _masked(values: npt.NDArray[Any], valid: npt.NDArray[np.bool_], typ: pa.DataType) -> pa.Array:
    return pa.array(values, type=typ, mask=~valid)


# ---------------------------------------------------------------- the functions


def _distance(metric: str) -> Callable[[pa.ChunkedArray, pa.ChunkedArray], pa.Array]:
    scalar = {
        "l2": V.l2_distance,
        "negative_ip": V.negative_inner_product,
        "ip": V.inner_product,
        "cosine": V.cosine_distance,
        "l1": V.l1_distance,
    }[metric]

    def fn(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
        a, b = _Vecs(a_col), _Vecs(b_col)
        valid = a.valid & b.valid
        da, db = a.uniform_dim(), b.uniform_dim()
        if da is not None and db is not None:
            if da == db:
                out = V.rowwise_distances(metric, a.matrix(da), b.matrix(da))
                return _masked(out, valid, pa.float64())
            if not valid.any():
                return _masked(np.zeros(a.n), valid, pa.float64())
        res = np.zeros(a.n, dtype=np.float64)
        for i in np.flatnonzero(valid):
            res[i] = scalar(a.row(int(i)), b.row(int(i)))
        return _masked(res, valid, pa.float64())

    return fn


def _first_dim_mismatch(a: _Vecs, b: _Vecs, valid: npt.NDArray[np.bool_]) -> None:
    bad = valid & (a.lengths != b.lengths)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataException(f"different vector dimensions {a.lengths[i]} and {b.lengths[i]}")


def _arith(op: str) -> Callable[[pa.ChunkedArray, pa.ChunkedArray], pa.Array]:
    def fn(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
        a, b = _Vecs(a_col), _Vecs(b_col)
        valid = a.valid & b.valid
        da, db = a.uniform_dim(), b.uniform_dim()
        if da is not None and da == db:
            m = V.rowwise_arith(op, a.matrix(da)[valid], b.matrix(da)[valid])
            full = np.zeros((a.n, da), dtype=np.float32)
            full[valid] = m
            return _matrix_result(full, valid)
        _first_dim_mismatch(a, b, valid)
        f = {"+": V.vector_add, "-": V.vector_sub, "*": V.vector_mul}[op]
        return _list_result([f(a.row(i), b.row(i)) if valid[i] else None for i in range(a.n)])

    return fn


def _concat(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
    a, b = _Vecs(a_col), _Vecs(b_col)
    valid = a.valid & b.valid
    da, db = a.uniform_dim(), b.uniform_dim()
    if da is not None and db is not None and valid.any():
        V.check_dim(da + db)
        return _matrix_result(np.concatenate([a.matrix(da), b.matrix(db)], axis=1), valid)
    return _list_result(
        [V.vector_concat(a.row(i), b.row(i)) if valid[i] else None for i in range(a.n)]
    )


def _dims(a_col: pa.ChunkedArray) -> pa.Array:
    a = _Vecs(a_col)
    return _masked(a.lengths.astype(np.int32), a.valid, pa.int32())


def _norm(a_col: pa.ChunkedArray) -> pa.Array:
    a = _Vecs(a_col)
    d = a.uniform_dim()
    if d is not None:
        m = a.matrix(d).astype(np.float64)
        return _masked(np.sqrt(np.einsum("ij,ij->i", m, m)), a.valid, pa.float64())
    res = np.array([V.vector_norm(a.row(i)) if a.valid[i] else 0.0 for i in range(a.n)])
    return _masked(res, a.valid, pa.float64())


def _normalize(a_col: pa.ChunkedArray) -> pa.Array:
    a = _Vecs(a_col)
    d = a.uniform_dim()
    if d is not None:
        return _matrix_result(V.rowwise_l2_normalize(a.matrix(d)), a.valid)
    return _list_result([V.l2_normalize(a.row(i)) if a.valid[i] else None for i in range(a.n)])


def _subvector(a_col: pa.ChunkedArray, s_col: pa.ChunkedArray, c_col: pa.ChunkedArray) -> pa.Array:
    a = _Vecs(a_col)
    starts, sv = _ints(s_col)
    counts, cv = _ints(c_col)
    valid = a.valid & sv & cv
    cache: dict[tuple[int, int, int], tuple[int, int]] = {}
    rows: list[F32Array | None] = []
    for i in range(a.n):
        if not valid[i]:
            rows.append(None)
            continue
        key = (int(a.lengths[i]), int(starts[i]), int(counts[i]))
        span = cache.get(key)
        if span is None:
            # the bounds logic (and its errors) depend only on (dim, start, count)
            probe = V.subvector(np.arange(key[0], dtype=np.float32), key[1], key[2])
            span = (int(probe[0]), len(probe))
            cache[key] = span
        off = int(a.offsets[i]) + span[0]
        rows.append(a.values[off : off + span[1]])
    return _list_result(rows)


def _binary_quantize(a_col: pa.ChunkedArray) -> pa.Array:
    a = _Vecs(a_col)
    d = a.uniform_dim()
    if d is not None:
        texts = V.rowwise_binary_quantize(a.matrix(d))
    else:
        texts = [V.binary_quantize(a.row(i)) if a.valid[i] else "" for i in range(a.n)]
    return pa.array(texts, type=pa.string(), mask=~a.valid)


def _cmp_values(
    a_col: pa.ChunkedArray, b_col: pa.ChunkedArray
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.bool_]]:
    a, b = _Vecs(a_col), _Vecs(b_col)
    valid = a.valid & b.valid
    da, db = a.uniform_dim(), b.uniform_dim()
    if da is not None and da == db:
        return V.rowwise_cmp(a.matrix(da), b.matrix(da)), valid
    res = np.zeros(a.n, dtype=np.int32)
    for i in np.flatnonzero(valid):
        res[i] = V.vector_cmp(a.row(int(i)), b.row(int(i)))
    return res, valid


def _cmp(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
    res, valid = _cmp_values(a_col, b_col)
    return _masked(res, valid, pa.int32())


def _comparison(
    test: Callable[[npt.NDArray[np.int32]], npt.NDArray[np.bool_]],
) -> Callable[[pa.ChunkedArray, pa.ChunkedArray], pa.Array]:
    def fn(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
        res, valid = _cmp_values(a_col, b_col)
        return _masked(test(res), valid, pa.bool_())

    return fn


def _vector_in(t_col: pa.ChunkedArray, m_col: pa.ChunkedArray) -> pa.Array:
    texts = t_col.combine_chunks()
    mods, mv = _ints(m_col)
    memo: dict[tuple[str, int], F32Array] = {}
    rows: list[F32Array | None] = []
    for i, s in enumerate(texts.to_pylist()):
        if s is None:
            rows.append(None)
            continue
        typmod = int(mods[i]) if mv[i] else -1
        key = (s, typmod)
        v = memo.get(key)
        if v is None:
            v = V.parse_vector(s, typmod)
            memo[key] = v
        rows.append(v)
    return _list_result(rows)


def _vector_out(a_col: pa.ChunkedArray) -> pa.Array:
    a = _Vecs(a_col)
    d = a.uniform_dim()
    if d is not None and d > 0:
        texts = V.format_vectors(a.matrix(d))
    else:
        texts = [V.format_vector(a.row(i)) if a.valid[i] else "" for i in range(a.n)]
    return pa.array(texts, type=pa.string(), mask=~a.valid)


def _check_typmod(a_col: pa.ChunkedArray, m_col: pa.ChunkedArray) -> pa.Array:
    a = _Vecs(a_col)
    mods, mv = _ints(m_col)
    check = a.valid & mv & (mods != -1) & (a.lengths != mods)
    if check.any():
        i = int(np.argmax(check))
        V.check_expected_dim(int(mods[i]), int(a.lengths[i]))
    arr = a_col.combine_chunks()
    if pa.types.is_fixed_size_list(arr.type) or arr.type != pa.list_(pa.float32()):
        arr = arr.cast(pa.list_(pa.float32()))
    return arr


def _groups(col: pa.ChunkedArray) -> tuple[pa.ListArray, npt.NDArray[np.bool_]]:
    outer = col.combine_chunks()
    valid = np.asarray(outer.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    return outer, valid


def _aggregate_list(kind: str) -> Callable[[pa.ChunkedArray], pa.Array]:
    def fn(col: pa.ChunkedArray) -> pa.Array:
        outer, valid = _groups(col)
        offsets = np.asarray(outer.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        inner = _Vecs(outer.values)
        rows: list[F32Array | None] = []
        for g in range(len(outer)):
            if not valid[g]:
                rows.append(None)
                continue
            acc = V.VectorAccumulator("avg" if kind == "avg" else "sum")
            for j in range(int(offsets[g]), int(offsets[g + 1])):
                if inner.valid[j]:
                    acc.add(inner.row(j))
            rows.append(acc.avg() if kind == "avg" else acc.sum())
        return _list_result(rows)

    return fn


def _float_text(out: Callable[[float], str]) -> Callable[[pa.ChunkedArray], pa.Array]:
    def fn(values: pa.ChunkedArray) -> pa.Array:
        return pa.array([None if v is None else out(v) for v in values.to_pylist()], pa.string())

    return fn


# ---------------------------------------------------------------- registration


def register_vector_udfs(con: duckdb.DuckDBPyConnection) -> None:
    """Register the ``pgv_*`` functions on a DuckDB connection."""
    vec = duckdb.list_type("FLOAT")
    vecs = duckdb.list_type(vec)

    def add(name: str, fn: Callable[..., pa.Array], params: list[Any], ret: Any) -> None:
        con.create_function(
            name,
            _udf(fn),
            params,
            ret,
            type=ARROW,
            null_handling=SPECIAL,
        )

    for name, metric in (
        ("pgv_l2_distance", "l2"),
        ("pgv_negative_inner_product", "negative_ip"),
        ("pgv_inner_product", "ip"),
        ("pgv_cosine_distance", "cosine"),
        ("pgv_l1_distance", "l1"),
    ):
        add(name, _distance(metric), [vec, vec], "DOUBLE")
    add("pgv_vector_dims", _dims, [vec], "INTEGER")
    # float4out / float8out (DuckDB's own text says 1.0, not 1)
    add("vg_float4_text", _float_text(format_float4), ["FLOAT"], "VARCHAR")
    add("vg_float8_text", _float_text(format_float8), ["DOUBLE"], "VARCHAR")
    add("pgv_vector_norm", _norm, [vec], "DOUBLE")
    add("pgv_l2_normalize", _normalize, [vec], vec)
    add("pgv_add", _arith("+"), [vec, vec], vec)
    add("pgv_sub", _arith("-"), [vec, vec], vec)
    add("pgv_mul", _arith("*"), [vec, vec], vec)
    add("pgv_concat", _concat, [vec, vec], vec)
    add("pgv_subvector", _subvector, [vec, "INTEGER", "INTEGER"], vec)
    add("pgv_binary_quantize", _binary_quantize, [vec], "VARCHAR")
    add("pgv_vector_cmp", _cmp, [vec, vec], "INTEGER")
    add("pgv_lt", _comparison(lambda r: r < 0), [vec, vec], "BOOLEAN")
    add("pgv_le", _comparison(lambda r: r <= 0), [vec, vec], "BOOLEAN")
    add("pgv_eq", _comparison(lambda r: r == 0), [vec, vec], "BOOLEAN")
    add("pgv_ne", _comparison(lambda r: r != 0), [vec, vec], "BOOLEAN")
    add("pgv_ge", _comparison(lambda r: r >= 0), [vec, vec], "BOOLEAN")
    add("pgv_gt", _comparison(lambda r: r > 0), [vec, vec], "BOOLEAN")
    add("pgv_vector_in", _vector_in, ["VARCHAR", "INTEGER"], vec)
    add("pgv_vector_out", _vector_out, [vec], "VARCHAR")
    add("pgv_check_typmod", _check_typmod, [vec, "INTEGER"], vec)
    add("pgv_avg_list", _aggregate_list("avg"), [vecs], vec)
    add("pgv_sum_list", _aggregate_list("sum"), [vecs], vec)
    from vecgres.executor.udfs_types import register_type_udfs

    register_type_udfs(con, add)
    from vecgres.executor.textcast import register_text_udfs

    register_text_udfs(add)
    from vecgres.executor import vector_array_udfs

    vector_array_udfs.register(add)


__all__ = ["UdfError", "decode_udf_error", "encode_udf_error", "register_vector_udfs"]
