"""pgvector's functions, operators, casts and operator-class members, as its install script
(sql/vector.sql of the release PGVECTOR.md describes) creates them.

Only functions vecgres can call are listed. OIDs are fixed (builtins.py explains the
16200..16383 range): functions and operators are numbered in the order below, so new
entries go at the end of their list. pg_cast and pg_amop rows, whose OIDs no tool joins
on, get OIDs in 15000..15299, which PostgreSQL 15's initdb leaves unused.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from vecgres.planner.topk import OPERATOR_SYMBOL
from vecgres.sql.pgcatalog.builtins import VECTOR_FUNCTIONS, VECTOR_OPCLASSES
from vecgres.types import SqlType

Signature = tuple[str, tuple[str, ...]]  # (name, argument type names)

_FIRST_NEW_PROC: Final = 16262
_FIRST_OPERATOR: Final = 16340
_FIRST_CAST: Final = 15000
_FIRST_AMOP: Final = 15100
_ARRAYS: Final = ("integer[]", "real[]", "double precision[]", "numeric[]")
_COMPARISONS: Final = (
    # name, function suffix, commutator, negator, restrict, join
    ("<", "lt", ">", ">=", "scalarltsel", "scalarltjoinsel"),
    ("<=", "le", ">=", ">", "scalarlesel", "scalarlejoinsel"),
    ("=", "eq", "=", "<>", "eqsel", "eqjoinsel"),
    ("<>", "ne", "<>", "=", "eqsel", "eqjoinsel"),
    (">=", "ge", "<=", "<", "scalargesel", "scalargejoinsel"),
    (">", "gt", "<", "<=", "scalargtsel", "scalargtjoinsel"),
)


def sql_type(name: str) -> SqlType:
    """A type name of these tables (``real[]`` for an array) as its SqlType."""
    if name.endswith("[]"):
        return SqlType(name[:-2], is_array=True)
    return SqlType(name)


class Operator(NamedTuple):
    oid: int
    name: str
    left: str
    right: str
    result: str
    proc: Signature
    commutator: str | None
    negator: str | None
    restrict: str | None
    join: str | None


class Cast(NamedTuple):
    oid: int
    source: str
    target: str
    func: Signature
    context: str  # 'i' implicit, 'a' assignment, 'e' explicit


class AmOp(NamedTuple):
    oid: int
    family: int  # pgvector's opclasses are each their own family (the opclass's OID)
    type: str
    strategy: int
    operator: str
    purpose: str  # 's' search (btree), 'o' ordering (ANN)
    method: str


def _new_functions() -> list[tuple[str, tuple[str, ...], str]]:
    out: list[tuple[str, tuple[str, ...], str]] = []
    f8, b = "double precision", "boolean"
    for t in ("vector", "halfvec", "sparsevec"):
        pair = (t, t)
        if t != "vector":
            out += [(n, pair, f8) for n in ("l2_distance", "inner_product", "cosine_distance")]
            out += [("l1_distance", pair, f8)]
            out += [
                (f"{t}_negative_inner_product", pair, f8),
                (f"{t}_l2_squared_distance", pair, f8),
            ]
            out += [("l2_norm", (t,), f8), ("l2_normalize", (t,), t), (f"{t}_cmp", pair, "integer")]
        if t == "halfvec":
            out += [("vector_dims", (t,), "integer"), ("binary_quantize", (t,), "bit")]
            out += [("subvector", (t, "integer", "integer"), t)]
            out += [("halfvec_spherical_distance", pair, f8)]
        if t == "vector":
            out += [("vector_spherical_distance", pair, f8)]
        if t != "sparsevec":
            out += [(f"{t}_{op}", pair, t) for op in ("add", "sub", "mul", "concat")]
        out += [(f"{t}_{c[1]}", pair, b) for c in _COMPARISONS]
    out += [("hamming_distance", ("bit", "bit"), f8), ("jaccard_distance", ("bit", "bit"), f8)]
    cast_args = ("integer", "boolean")
    for t in ("vector", "halfvec", "sparsevec"):
        out.append((t, (t, *cast_args), t))
        out += [(f"array_to_{t}", (a, *cast_args), t) for a in _ARRAYS]
    out += [("vector_to_float4", ("vector", *cast_args), "real[]")]
    out += [("halfvec_to_float4", ("halfvec", *cast_args), "real[]")]
    for src, dst in (
        ("vector", "halfvec"),
        ("halfvec", "vector"),
        ("vector", "sparsevec"),
        ("sparsevec", "vector"),
        ("halfvec", "sparsevec"),
        ("sparsevec", "halfvec"),
    ):
        out.append((f"{src}_to_{dst}", (src, *cast_args), dst))
    return out


FUNCTIONS: Final[tuple[tuple[int, str, tuple[str, ...], str], ...]] = (
    *VECTOR_FUNCTIONS,
    *((_FIRST_NEW_PROC + i, *f) for i, f in enumerate(_new_functions())),
)
_PROC_OIDS: Final = {(name, args): oid for oid, name, args, _ in FUNCTIONS}


def proc_oid(sig: Signature) -> int:
    return _PROC_OIDS[sig]


def _operators() -> list[Operator]:
    f8 = "double precision"
    dist = {
        "<->": "l2_distance",
        "<#>": "{t}_negative_inner_product",
        "<=>": "cosine_distance",
        "<+>": "l1_distance",
    }
    # name, type, result, function, commutator, negator, restrict, join
    rows: list[tuple[str, str, str, str, str | None, str | None, str | None, str | None]] = []
    for t in ("vector", "halfvec", "sparsevec"):
        rows += [(op, t, f8, fn.format(t=t), op, None, None, None) for op, fn in dist.items()]
        if t != "sparsevec":
            rows.append(("+", t, t, f"{t}_add", "+", None, None, None))
            rows.append(("-", t, t, f"{t}_sub", None, None, None, None))
            rows.append(("*", t, t, f"{t}_mul", "*", None, None, None))
            rows.append(("||", t, t, f"{t}_concat", None, None, None, None))
        rows += [
            (op, t, "boolean", f"{t}_{suffix}", com, neg, rest, join)
            for op, suffix, com, neg, rest, join in _COMPARISONS
        ]
    rows.append(("<~>", "bit", f8, "hamming_distance", "<~>", None, None, None))
    rows.append(("<%>", "bit", f8, "jaccard_distance", "<%>", None, None, None))
    return [
        Operator(_FIRST_OPERATOR + i, op, t, t, result, (fn, (t, t)), com, neg, rest, join)
        for i, (op, t, result, fn, com, neg, rest, join) in enumerate(rows)
    ]


OPERATORS: Final = tuple(_operators())
_OPERATOR_OIDS: Final = {(o.name, o.left, o.right): o.oid for o in OPERATORS}


def operator_oid(name: str, left: str, right: str) -> int:
    return _OPERATOR_OIDS[(name, left, right)]


def _casts() -> list[Cast]:
    cast_args = ("integer", "boolean")
    # source, target, function, context, in vector.sql's order
    rows: list[tuple[str, str, str, str]] = [
        ("vector", "vector", "vector", "i"),
        ("vector", "real[]", "vector_to_float4", "i"),
        *((a, "vector", "array_to_vector", "a") for a in _ARRAYS),
        ("halfvec", "halfvec", "halfvec", "i"),
        ("halfvec", "vector", "halfvec_to_vector", "a"),
        ("vector", "halfvec", "vector_to_halfvec", "i"),
        ("halfvec", "real[]", "halfvec_to_float4", "a"),
        *((a, "halfvec", "array_to_halfvec", "a") for a in _ARRAYS),
        ("sparsevec", "sparsevec", "sparsevec", "i"),
        ("sparsevec", "vector", "sparsevec_to_vector", "a"),
        ("vector", "sparsevec", "vector_to_sparsevec", "i"),
        ("sparsevec", "halfvec", "sparsevec_to_halfvec", "a"),
        ("halfvec", "sparsevec", "halfvec_to_sparsevec", "i"),
        *((a, "sparsevec", "array_to_sparsevec", "a") for a in _ARRAYS),
    ]
    return [
        Cast(_FIRST_CAST + i, src, dst, (fn, (src, *cast_args)), ctx)
        for i, (src, dst, fn, ctx) in enumerate(rows)
    ]


CASTS: Final = tuple(_casts())


def _amops() -> list[AmOp]:
    out: list[AmOp] = []
    for oid, name, method, intype, _ in VECTOR_OPCLASSES:
        if method == "btree":
            for strategy, op in enumerate(("<", "<=", "=", ">=", ">"), start=1):
                out.append(AmOp(0, oid, intype, strategy, op, "s", method))
        else:
            metric = name.removeprefix(f"{intype}_").removesuffix("_ops")
            out.append(AmOp(0, oid, intype, 1, OPERATOR_SYMBOL[metric], "o", method))
    return [a._replace(oid=_FIRST_AMOP + i) for i, a in enumerate(out)]


AMOPS: Final = tuple(_amops())
FLOAT_OPS_BTREE_FAMILY: Final = 1970  # float_ops, the sort family of every distance operator

INTERNAL_OID: Final = 2281  # PostgreSQL's pseudo-type ``internal``
# the index support functions pgvector's opclasses name: (oid, name), each
# ``(internal) RETURNS internal``; they take the OIDs 16203.. that initdb leaves unused
SUPPORT_FUNCTIONS: Final[tuple[tuple[int, str], ...]] = (
    (16203, "ivfflat_halfvec_support"),
    (16204, "ivfflat_bit_support"),
    (16205, "hnsw_halfvec_support"),
    (16206, "hnsw_bit_support"),
    (16207, "hnsw_sparsevec_support"),
)
_SUPPORT_OIDS: Final = {name: oid for oid, name in SUPPORT_FUNCTIONS}
_FIRST_AMPROC: Final = 15300


class AmProc(NamedTuple):
    oid: int
    family: int  # the opclass's OID, as for AmOp
    type: str  # left and right type
    number: int  # support function number (FUNCTION n of CREATE OPERATOR CLASS)
    proc: int  # the function's OID


def _distance_support(method: str, t: str, metric: str) -> list[tuple[int, str | Signature]]:
    """FUNCTION n of pgvector's ivfflat/hnsw opclass for type ``t`` and ``metric``
    (sql/vector.sql): 1 the distance the index computes, 2 the norm checked for
    cosine, 3 ivfflat's distance to the centers (hnsw: the type's support function),
    4 ivfflat's norm for spherical k-means, 5 ivfflat's type support function."""
    pair = (t, t)
    if t == "bit":
        distance: Signature = (f"{metric}_distance", pair)
        if method == "hnsw":
            return [(1, distance), (3, "hnsw_bit_support")]
        return [(1, distance), (3, distance), (5, "ivfflat_bit_support")]
    norm: Signature = ("vector_norm" if t == "vector" else "l2_norm", (t,))
    negative_ip: Signature = (f"{t}_negative_inner_product", pair)
    first: dict[str, Signature] = {
        "l2": (f"{t}_l2_squared_distance", pair),
        "ip": negative_ip,
        "cosine": negative_ip,
        "l1": ("l1_distance", pair),
    }
    out: list[tuple[int, str | Signature]] = [(1, first[metric])]
    if metric == "cosine":
        out.append((2, norm))
    if method == "hnsw":
        if t != "vector":
            out.append((3, f"hnsw_{t}_support"))
        return out
    if metric == "l2":
        out.append((3, ("l2_distance", pair)))
    else:
        out += [(3, (f"{t}_spherical_distance", pair)), (4, norm)]
    if t != "vector":
        out.append((5, f"ivfflat_{t}_support"))
    return out


def _amprocs() -> list[AmProc]:
    out: list[AmProc] = []
    for oid, name, method, intype, _ in VECTOR_OPCLASSES:
        if method == "btree":
            members: list[tuple[int, str | Signature]] = [(1, (f"{intype}_cmp", (intype, intype)))]
        else:
            metric = name.removeprefix(f"{intype}_").removesuffix("_ops")
            members = _distance_support(method, intype, metric)
        for number, proc in members:
            proc_id = _SUPPORT_OIDS[proc] if isinstance(proc, str) else proc_oid(proc)
            out.append(AmProc(0, oid, intype, number, proc_id))
    return [a._replace(oid=_FIRST_AMPROC + i) for i, a in enumerate(out)]


AMPROCS: Final = tuple(_amprocs())

# the ranges must not overlap (a new function or operator may need the ranges moved)
assert FUNCTIONS[-1][0] < _FIRST_OPERATOR
assert OPERATORS[-1].oid < 16384
assert CASTS[-1].oid < _FIRST_AMOP
assert AMOPS[-1].oid < _FIRST_AMPROC
assert AMPROCS[-1].oid < 15400
