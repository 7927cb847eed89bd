"""DuckDB functions for halfvec, sparsevec and bit (vector's own are in udfs.py).

Storage forms during execution: halfvec is ``FLOAT[]`` holding values already
rounded to float16 (see vecgres/vector/half.py), sparsevec is its canonical
text ``{i:v,...}/dim`` as VARCHAR (parsed per batch, one parse per distinct
value), bit is VARCHAR of '0'/'1'.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from vecgres import vector as V
from vecgres.errors import DataException
from vecgres.executor.udfs import (
    _ints,
    _list_result,
    _masked,
    _udf,
    _Vecs,
)
from vecgres.vector import bits as B
from vecgres.vector import half as H
from vecgres.vector import sparse as S
from vecgres.vector import state as ST
from vecgres.vector.storage import decoded

F32Array = npt.NDArray[np.float32]


def _texts(col: pa.ChunkedArray) -> list[str | None]:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return list(arr.to_pylist())


def _sparse_rows(col: pa.ChunkedArray) -> list[S.Sparse | None]:
    memo: dict[str, S.Sparse] = {}
    out: list[S.Sparse | None] = []
    for t in _texts(col):
        if t is None:
            out.append(None)
            continue
        v = memo.get(t)
        if v is None:
            known = decoded(t)
            v = S.parse_stored(t) if known is None else S.Sparse(*known)
            memo[t] = v
        out.append(v)
    return out


def _text_result(rows: list[str | None]) -> pa.Array:
    return pa.array(rows, type=pa.string())


def _float_result(rows: list[float | None]) -> pa.Array:
    return pa.array(rows, type=pa.float64())


# ---------------------------------------------------------------- halfvec


def _check_half_dims(
    a: _Vecs, b: _Vecs, valid: npt.NDArray[np.bool_], typename: str = "halfvec"
) -> None:
    bad = valid & (a.lengths != b.lengths)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataException(f"different {typename} dimensions {a.lengths[i]} and {b.lengths[i]}")


def _half_distance(
    metric: str, typename: str = "halfvec"
) -> Callable[[pa.ChunkedArray, pa.ChunkedArray], pa.Array]:
    """A distance on FLOAT[] batches (halfvec values are exact in float32)."""

    def fn(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
        a, b = _Vecs(a_col), _Vecs(b_col)
        valid = a.valid & b.valid
        _check_half_dims(a, b, valid, typename)
        res = np.zeros(a.n, dtype=np.float64)
        d = a.uniform_dim()
        if d is not None and b.uniform_dim() in (d, 0):
            if valid.any():
                res = V.rowwise_distances(metric, a.matrix(d), b.matrix(d))
            return _masked(res, valid, pa.float64())
        for i in np.flatnonzero(valid):
            row_a, row_b = a.row(int(i))[None, :], b.row(int(i))[None, :]
            res[i] = V.rowwise_distances(metric, row_a, row_b)[0]
        return _masked(res, valid, pa.float64())

    return fn


def _half_arith(op: str) -> Callable[[pa.ChunkedArray, pa.ChunkedArray], pa.Array]:
    def fn(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
        a, b = _Vecs(a_col), _Vecs(b_col)
        valid = a.valid & b.valid
        _check_half_dims(a, b, valid)
        return _list_result(
            [H.arith(a.row(i), b.row(i), op) if valid[i] else None for i in range(a.n)]
        )

    return fn


def _half_concat(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
    a, b = _Vecs(a_col), _Vecs(b_col)
    valid = a.valid & b.valid
    rows: list[F32Array | None] = []
    for i in range(a.n):
        if not valid[i]:
            rows.append(None)
            continue
        V.check_dim(int(a.lengths[i] + b.lengths[i]), "halfvec")
        rows.append(np.concatenate([a.row(i), b.row(i)]))
    return _list_result(rows)


def _to_half(a_col: pa.ChunkedArray, m_col: pa.ChunkedArray) -> pa.Array:
    a = _Vecs(a_col)
    mods, mv = _ints(m_col)
    rows: list[F32Array | None] = []
    for i in range(a.n):
        if not a.valid[i]:
            rows.append(None)
            continue
        V.check_expected_dim(int(mods[i]) if mv[i] else -1, int(a.lengths[i]))
        rows.append(H.to_half(a.row(i)))
    return _list_result(rows)


def _halfvec_in(t_col: pa.ChunkedArray, m_col: pa.ChunkedArray) -> pa.Array:
    mods, mv = _ints(m_col)
    rows: list[F32Array | None] = []
    for i, s in enumerate(_texts(t_col)):
        if s is None:
            rows.append(None)
            continue
        rows.append(V.parse_halfvec(s, int(mods[i]) if mv[i] else -1).astype(np.float32))
    return _list_result(rows)


def _half_normalize(a_col: pa.ChunkedArray) -> pa.Array:
    a = _Vecs(a_col)
    rows: list[F32Array | None] = []
    for i in range(a.n):
        if not a.valid[i]:
            rows.append(None)
            continue
        v = a.row(i).astype(np.float64)
        norm = float(np.sqrt(np.dot(v, v)))
        if norm > 0:
            with np.errstate(over="ignore"):
                rows.append(H.round_result((v / norm).astype(np.float32)))
        else:
            rows.append(a.row(i).copy())
    return _list_result(rows)


def _half_aggregate(kind: str) -> Callable[[pa.ChunkedArray], pa.Array]:
    def fn(col: pa.ChunkedArray) -> pa.Array:
        outer = col.combine_chunks()
        valid = np.asarray(outer.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        offsets = np.asarray(outer.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        inner = _Vecs(outer.values)
        rows: list[F32Array | None] = []
        for g in range(len(outer)):
            members = [
                inner.row(j)
                for j in range(int(offsets[g]), int(offsets[g + 1]))
                if valid[g] and inner.valid[j]
            ]
            if not members:
                rows.append(None)
                continue
            if kind == "sum":
                acc = members[0]
                for m in members[1:]:
                    if len(m) != len(acc):
                        raise DataException(f"different halfvec dimensions {len(acc)} and {len(m)}")
                    acc = H.round_result(acc + m)
                rows.append(acc)
                continue
            dim = len(members[0])
            total = np.zeros(dim, np.float64)
            for m in members:
                if len(m) != dim:
                    raise DataException(f"expected {dim} dimensions, not {len(m)}")
                total += m
            with np.errstate(over="ignore"):
                rows.append(H.to_half((total / len(members)).astype(np.float32)))
        return _list_result(rows)

    return fn


# ---------------------------------------------------------------- sparsevec


def _sparse_distance(
    fn: Callable[[S.Sparse, S.Sparse], float], metric: str
) -> Callable[[pa.ChunkedArray, pa.ChunkedArray], pa.Array]:
    def udf(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
        b_texts = _texts(b_col)
        consts = {t for t in b_texts if t is not None}
        if len(consts) == 1 and None not in b_texts:
            # a column against one constant: the whole batch at once
            q = S.parse_stored(next(iter(consts)))
            out = S.distances(metric, _sparse_rows(a_col), q)
            return pa.array(out, type=pa.float64(), mask=np.isnan(out) & _nulls(a_col))
        a, b = _sparse_rows(a_col), _sparse_rows(b_col)
        return _float_result(
            [None if x is None or y is None else fn(x, y) for x, y in zip(a, b, strict=True)]
        )

    return udf


def _nulls(col: pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    return np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def _sparse_cmp_udf(
    test: Callable[[int], Any], typ: pa.DataType
) -> Callable[[pa.ChunkedArray, pa.ChunkedArray], pa.Array]:
    def udf(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
        a, b = _sparse_rows(a_col), _sparse_rows(b_col)
        return pa.array(
            [
                None if x is None or y is None else test(S.cmp(x, y))
                for x, y in zip(a, b, strict=True)
            ],
            type=typ,
        )

    return udf


def _sparse_in(t_col: pa.ChunkedArray, m_col: pa.ChunkedArray) -> pa.Array:
    mods, mv = _ints(m_col)
    out: list[str | None] = []
    for i, s in enumerate(_texts(t_col)):
        out.append(None if s is None else S.parse(s, int(mods[i]) if mv[i] else -1).text())
    return _text_result(out)


def _sparse_typmod(t_col: pa.ChunkedArray, m_col: pa.ChunkedArray) -> pa.Array:
    mods, mv = _ints(m_col)
    rows = _sparse_rows(t_col)
    for i, v in enumerate(rows):
        if v is not None and mv[i]:
            S.check_typmod(v, int(mods[i]))
    return _text_result(_texts(t_col))


def _dense_to_sparse(a_col: pa.ChunkedArray, m_col: pa.ChunkedArray) -> pa.Array:
    a = _Vecs(a_col)
    mods, mv = _ints(m_col)
    out: list[str | None] = []
    for i in range(a.n):
        if not a.valid[i]:
            out.append(None)
            continue
        out.append(S.from_dense(a.row(i), int(mods[i]) if mv[i] else -1).text())
    return _text_result(out)


def _sparse_to_dense(typename: str) -> Callable[[pa.ChunkedArray, pa.ChunkedArray], pa.Array]:
    def udf(t_col: pa.ChunkedArray, m_col: pa.ChunkedArray) -> pa.Array:
        mods, mv = _ints(m_col)
        rows: list[F32Array | None] = []
        for i, v in enumerate(_sparse_rows(t_col)):
            if v is None:
                rows.append(None)
                continue
            rows.append(S.to_dense(v, int(mods[i]) if mv[i] else -1, typename))
        return _list_result(rows)

    return udf


def _sparse_norm(t_col: pa.ChunkedArray) -> pa.Array:
    return _float_result([None if v is None else S.l2_norm(v) for v in _sparse_rows(t_col)])


def _sparse_normalize(t_col: pa.ChunkedArray) -> pa.Array:
    return _text_result(
        [None if v is None else S.l2_normalize(v).text() for v in _sparse_rows(t_col)]
    )


# ---------------------------------------------------------------- arrays -> types


def _array_to(typename: str) -> Callable[[pa.ChunkedArray, pa.ChunkedArray], pa.Array]:
    """``array_to_vector`` / ``array_to_halfvec`` / ``array_to_sparsevec`` on DOUBLE[]."""

    def udf(a_col: pa.ChunkedArray, m_col: pa.ChunkedArray) -> pa.Array:
        arr = a_col.combine_chunks()
        mods, mv = _ints(m_col)
        rows: list[Any] = []
        for i, items in enumerate(arr.to_pylist()):
            if items is None:
                rows.append(None)
                continue
            typmod = int(mods[i]) if mv[i] else -1
            if typename == "sparsevec":
                v = V.vector_from_array(items, -1, "sparsevec")
                rows.append(S.from_dense(v, typmod).text())
                continue
            v = V.vector_from_array(items, typmod)
            rows.append(H.to_half(v) if typename == "halfvec" else v)
        if typename == "sparsevec":
            return _text_result(rows)
        return _list_result(rows)

    return udf


# ---------------------------------------------------------------- bit


def _bit_fn(
    fn: Callable[[str, str], float],
    batch: Callable[[npt.NDArray[np.uint8], str], npt.NDArray[np.float64]],
) -> Callable[[pa.ChunkedArray, pa.ChunkedArray], pa.Array]:
    def udf(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
        a, b = _texts(a_col), _texts(b_col)
        present = [x for x, y in zip(a, b, strict=True) if x is not None and y is not None]
        consts = {y for x, y in zip(a, b, strict=True) if x is not None and y is not None}
        if present and len(consts) == 1 and len({len(x) for x in present} | {len(*consts)}) == 1:
            # the usual shape, a column against one constant: packed bits, numpy popcounts
            packed, _ = B.pack(present)
            dists = iter(batch(packed, next(iter(consts))).tolist())
            return _float_result(
                [None if x is None or y is None else next(dists) for x, y in zip(a, b, strict=True)]
            )
        return _float_result(
            [None if x is None or y is None else fn(x, y) for x, y in zip(a, b, strict=True)]
        )

    return udf


def _half_out(a_col: pa.ChunkedArray) -> pa.Array:
    a = _Vecs(a_col)
    return _text_result([V.format_vector(a.row(i)) if a.valid[i] else None for i in range(a.n)])


# ---------------------------------------------------------------- registration


def register_type_udfs(con: duckdb.DuckDBPyConnection, add: Callable[..., None]) -> None:
    vec = duckdb.list_type("FLOAT")
    vecs = duckdb.list_type(vec)
    for name, metric in (
        ("l2_distance", "l2"),
        ("l2_squared_distance", "l2_squared"),
        ("negative_inner_product", "negative_ip"),
        ("inner_product", "ip"),
        ("cosine_distance", "cosine"),
        ("l1_distance", "l1"),
    ):
        add(f"pgv_halfvec_{name}", _half_distance(metric), [vec, vec], "DOUBLE")
    add("pgv_halfvec_add", _half_arith("+"), [vec, vec], vec)
    add("pgv_halfvec_sub", _half_arith("-"), [vec, vec], vec)
    add("pgv_halfvec_mul", _half_arith("*"), [vec, vec], vec)
    add("pgv_halfvec_concat", _half_concat, [vec, vec], vec)
    add("pgv_halfvec_l2_normalize", _half_normalize, [vec], vec)
    add("pgv_to_halfvec", _to_half, [vec, "INTEGER"], vec)
    add("pgv_halfvec_in", _halfvec_in, ["VARCHAR", "INTEGER"], vec)
    add("pgv_halfvec_out", _half_out, [vec], "VARCHAR")
    add("pgv_halfvec_avg_list", _half_aggregate("avg"), [vecs], vec)
    add("pgv_halfvec_sum_list", _half_aggregate("sum"), [vecs], vec)
    sparse_fns: dict[str, tuple[Callable[[S.Sparse, S.Sparse], float], str]] = {
        "l2_distance": (S.l2_distance, "l2"),
        "l2_squared_distance": (S.l2_squared_distance, "l2_squared"),
        "inner_product": (S.inner_product, "ip"),
        "negative_inner_product": (S.negative_inner_product, "negative_ip"),
        "cosine_distance": (S.cosine_distance, "cosine"),
        "l1_distance": (S.l1_distance, "l1"),
    }
    for name, (fn, metric) in sparse_fns.items():
        add(
            f"pgv_sparsevec_{name}",
            _sparse_distance(fn, metric),
            ["VARCHAR", "VARCHAR"],
            "DOUBLE",
        )
    add("pgv_sparsevec_cmp", _sparse_cmp_udf(int, pa.int32()), ["VARCHAR", "VARCHAR"], "INTEGER")
    tests: dict[str, Callable[[int], bool]] = {
        "lt": lambda r: r < 0,
        "le": lambda r: r <= 0,
        "eq": lambda r: r == 0,
        "ne": lambda r: r != 0,
        "ge": lambda r: r >= 0,
        "gt": lambda r: r > 0,
    }
    for name, test in tests.items():
        add(
            f"pgv_sparsevec_{name}",
            _sparse_cmp_udf(test, pa.bool_()),
            ["VARCHAR", "VARCHAR"],
            "BOOLEAN",
        )
    add("pgv_sparsevec_in", _sparse_in, ["VARCHAR", "INTEGER"], "VARCHAR")
    add("pgv_sparsevec_typmod", _sparse_typmod, ["VARCHAR", "INTEGER"], "VARCHAR")
    add("pgv_to_sparsevec", _dense_to_sparse, [vec, "INTEGER"], "VARCHAR")
    add("pgv_sparsevec_to_vector", _sparse_to_dense("vector"), ["VARCHAR", "INTEGER"], vec)
    add("pgv_sparsevec_to_halfvec", _sparse_to_dense("halfvec"), ["VARCHAR", "INTEGER"], vec)
    add("pgv_sparsevec_l2_norm", _sparse_norm, ["VARCHAR"], "DOUBLE")
    add("pgv_sparsevec_l2_normalize", _sparse_normalize, ["VARCHAR"], "VARCHAR")
    dbl = duckdb.list_type("DOUBLE")
    add("pgv_array_to_vector", _array_to("vector"), [dbl, "INTEGER"], vec)
    add("pgv_array_to_halfvec", _array_to("halfvec"), [dbl, "INTEGER"], vec)
    add("pgv_array_to_sparsevec", _array_to("sparsevec"), [dbl, "INTEGER"], "VARCHAR")
    add(
        "pgv_hamming_distance",
        _bit_fn(B.hamming_distance, B.hamming_distances),
        ["VARCHAR", "VARCHAR"],
        "DOUBLE",
    )
    add(
        "pgv_jaccard_distance",
        _bit_fn(B.jaccard_distance, B.jaccard_distances),
        ["VARCHAR", "VARCHAR"],
        "DOUBLE",
    )
    register_more(add)


__all__ = ["register_type_udfs", "_udf"]


def _half_subvector(
    a_col: pa.ChunkedArray, s_col: pa.ChunkedArray, c_col: pa.ChunkedArray
) -> pa.Array:
    from vecgres.executor.udfs import _subvector

    try:
        return _subvector(a_col, s_col, c_col)
    except DataException as e:
        if e.message.startswith("vector "):
            raise DataException("halfvec" + e.message[6:], sqlstate=e.code) from None
        raise


def _bit_udf(explicit: bool) -> Callable[..., pa.Array]:
    def udf(t_col: pa.ChunkedArray, m_col: pa.ChunkedArray, v_col: pa.ChunkedArray) -> pa.Array:
        mods, mv = _ints(m_col)
        varying = _texts(v_col)
        out: list[str | None] = []
        for i, s in enumerate(_texts(t_col)):
            if s is None:
                out.append(None)
                continue
            typmod = int(mods[i]) if mv[i] else -1
            if explicit:
                out.append(B.bit_cast(s, typmod, bool(varying[i])))
            else:
                out.append(B.bit_in(s, typmod, bool(varying[i])))
        return _text_result(out)

    return udf


def _spherical(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
    a, b = _Vecs(a_col), _Vecs(b_col)
    valid = a.valid & b.valid
    return _float_result(
        [V.spherical_distance(a.row(i), b.row(i)) if valid[i] else None for i in range(a.n)]
    )


_SORT_KEY = pa.list_(pa.struct([("k", pa.float64()), ("v", pa.float64())]))


def _sparse_sortkey(t_col: pa.ChunkedArray) -> pa.Array:
    rows = [
        None if v is None else [{"k": k, "v": x} for k, x in S.sort_key(v)]
        for v in _sparse_rows(t_col)
    ]
    return pa.array(rows, type=_SORT_KEY)


def _bits_from_storage(col: pa.ChunkedArray) -> pa.Array:
    from vecgres.vector.storage import bits_from_storage

    return bits_from_storage(col)


def _sparse_from_storage(col: pa.ChunkedArray) -> pa.Array:
    from vecgres.vector.storage import sparse_from_storage

    return sparse_from_storage(col)


def _doubles_result(rows: list[list[float] | None]) -> pa.Array:
    return pa.array(rows, type=pa.list_(pa.float64()))


def _state_accum(typename: str) -> Callable[[pa.ChunkedArray, pa.ChunkedArray], pa.Array]:
    def udf(s_col: pa.ChunkedArray, v_col: pa.ChunkedArray) -> pa.Array:
        states = s_col.combine_chunks().to_pylist()
        v = _Vecs(v_col)
        return _doubles_result(
            [
                None
                if st is None or not v.valid[i]
                else ST.accum(st, v.row(i), f"{typename}_accum")
                for i, st in enumerate(states)
            ]
        )

    return udf


def _state_combine(a_col: pa.ChunkedArray, b_col: pa.ChunkedArray) -> pa.Array:
    a, b = a_col.combine_chunks().to_pylist(), b_col.combine_chunks().to_pylist()
    return _doubles_result(
        [None if x is None or y is None else ST.combine(x, y) for x, y in zip(a, b, strict=True)]
    )


def _state_avg(typename: str) -> Callable[[pa.ChunkedArray], pa.Array]:
    def udf(s_col: pa.ChunkedArray) -> pa.Array:
        return _list_result(
            [
                None if st is None else ST.average(st, typename)
                for st in s_col.combine_chunks().to_pylist()
            ]
        )

    return udf


BIT_STORAGE_DUCK = duckdb.struct_type({"len": "INTEGER", "data": "BLOB"})
SPARSE_STORAGE_DUCK = duckdb.struct_type(
    {"dim": "INTEGER", "idx": duckdb.list_type("INTEGER"), "val": duckdb.list_type("FLOAT")}
)


def register_more(add: Callable[..., None]) -> None:
    vec = duckdb.list_type("FLOAT")
    dbl = duckdb.list_type("DOUBLE")
    add("pgv_vector_accum", _state_accum("vector"), [dbl, vec], dbl)
    add("pgv_halfvec_accum", _state_accum("halfvec"), [dbl, vec], dbl)
    add("pgv_vector_combine", _state_combine, [dbl, dbl], dbl)
    add("pgv_vector_avg_state", _state_avg("vector"), [dbl], vec)
    add("pgv_halfvec_avg_state", _state_avg("halfvec"), [dbl], vec)
    # stored layouts -> the forms DuckDB computes on (see vecgres/vector/storage.py)
    add("pgv_bits_from_storage", _bits_from_storage, [BIT_STORAGE_DUCK], "VARCHAR")
    add("pgv_sparsevec_from_storage", _sparse_from_storage, [SPARSE_STORAGE_DUCK], "VARCHAR")
    key = duckdb.list_type(duckdb.struct_type({"k": "DOUBLE", "v": "DOUBLE"}))
    add("pgv_sparsevec_sortkey", _sparse_sortkey, ["VARCHAR"], key)
    add("pgv_spherical_distance", _spherical, [vec, vec], "DOUBLE")
    add("pgv_l2_squared_distance", _half_distance("l2_squared", "vector"), [vec, vec], "DOUBLE")
    add("pgv_bit_in", _bit_udf(False), ["VARCHAR", "INTEGER", "BOOLEAN"], "VARCHAR")
    add("pgv_bit_cast", _bit_udf(True), ["VARCHAR", "INTEGER", "BOOLEAN"], "VARCHAR")
    add("pgv_halfvec_subvector", _half_subvector, [vec, "INTEGER", "INTEGER"], vec)
