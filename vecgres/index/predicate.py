"""Partial-index predicates: a conjunction of ``column <op> constant`` conditions.

Kept this simple on purpose: such a predicate evaluates the same in
PostgreSQL, DuckDB and pyarrow (the index builder runs without a SQL
session), and a query's WHERE implies it when every condition appears among
the query's top-level conjuncts (textual implication, like the simplest case
of PostgreSQL's ``predicate_implied_by``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot
from sqlglot import exp

# (column, operator, constant); constants are int/float/str/bool, None for IS [NOT] NULL
Condition = tuple[str, str, object]

# the SQL spelling of each comparison node (also for operator error messages)
COMPARISON_SYMBOLS: dict[type[exp.Expr], str] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.GT: ">",
    exp.GTE: ">=",
}
_MIRROR = {"=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_COMPUTE = {
    "=": pc.equal,
    "<>": pc.not_equal,
    "<": pc.less,
    "<=": pc.less_equal,
    ">": pc.greater,
    ">=": pc.greater_equal,
}


def _unparen(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def conjuncts(node: exp.Expr) -> list[exp.Expr]:
    node = _unparen(node)
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def _constant(node: exp.Expr) -> tuple[bool, object]:
    node = _unparen(node)
    if isinstance(node, exp.Neg):
        ok, value = _constant(node.this)
        return (ok, -value) if ok and isinstance(value, int | float) else (False, None)
    if isinstance(node, exp.Boolean):
        return True, bool(node.this)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return True, str(node.this)
        text = str(node.this)
        try:
            return True, int(text)
        except ValueError:
            return True, float(text)
    return False, None


def condition(node: exp.Expr) -> Condition | None:
    """One conjunct as a condition, or None when it has another shape."""
    node = _unparen(node)
    if isinstance(node, exp.Column):
        return node.name, "=", True
    if isinstance(node, exp.Not) and isinstance(_unparen(node.this), exp.Column):
        return _unparen(node.this).name, "=", False
    if isinstance(node, exp.Is) and isinstance(_unparen(node.this), exp.Column):
        if isinstance(node.expression, exp.Null):
            # sqlglot reads ``x IS NOT NULL`` as Is(negate=True) or as Not(Is)
            negated = bool(node.args.get("negate"))
            return _unparen(node.this).name, "is not null" if negated else "is null", None
        return None
    if isinstance(node, exp.Not) and isinstance(_unparen(node.this), exp.Is):
        inner = condition(node.this)
        return (inner[0], "is not null", None) if inner and inner[1] == "is null" else None
    op = COMPARISON_SYMBOLS.get(type(node))
    if op is None:
        return None
    left, right = _unparen(node.this), _unparen(node.expression)
    if isinstance(right, exp.Column) and not isinstance(left, exp.Column):
        left, right, op = right, left, _MIRROR[op]
    if not isinstance(left, exp.Column):
        return None
    ok, value = _constant(right)
    return (left.name, op, value) if ok else None


def conditions(node: exp.Expr) -> list[Condition] | None:
    """Every conjunct as a condition; None if one is not of that shape."""
    out: list[Condition] = []
    for conj in conjuncts(node):
        found = condition(conj)
        if found is None:
            return None
        out.append(found)
    return out


def simple_conditions(node: exp.Expr | None) -> list[Condition]:
    """The conjuncts of a query's WHERE that are conditions (others are ignored)."""
    if node is None:
        return []
    return [c for c in (condition(x) for x in conjuncts(node)) if c is not None]


def parse(text: str) -> list[Condition] | None:
    return conditions(sqlglot.parse_one(text, read="postgres"))


def implied(predicate: list[Condition], query: list[Condition]) -> bool:
    return all(c in query for c in predicate)


def evaluate(
    conds: list[Condition], columns: Mapping[str, pa.ChunkedArray], rows: int
) -> np.ndarray:
    """Rows (a bool mask) where every condition is true (NULL is not true)."""
    out = np.ones(rows, dtype=bool)
    for name, op, value in conds:
        col = columns[name]
        if op == "is null":
            res = pc.is_null(col)
        elif op == "is not null":
            res = pc.is_valid(col)
        else:
            fast = _numeric(col, op, value)
            if fast is not None:
                out &= fast
                continue
            res = _COMPUTE[op](col, pa.scalar(value))
        out &= np.asarray(pc.fill_null(res, False).to_numpy(zero_copy_only=False), dtype=bool)
    return out


_NUMPY = {
    "=": np.equal,
    "<>": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def _numeric(col: pa.ChunkedArray, op: str, value: object) -> np.ndarray | None:
    """``col op value`` by numpy on the column's buffers (zero-copy) when the column
    is integer or float without NULLs and the constant an int or float; pyarrow's
    kernel plus its null handling cost ~10x more on a segment (None: use pyarrow)."""
    if col.null_count or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    kind = col.type
    if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
        return None
    if isinstance(value, int) and pa.types.is_floating(kind):
        return None  # int vs float compares as in pyarrow only for exact floats: leave it
    if isinstance(value, float) and pa.types.is_integer(kind):
        return None
    if isinstance(value, int):
        info = np.iinfo(kind.to_pandas_dtype())
        if not info.min <= value <= info.max:
            return None  # outside the column's range: numpy would overflow
    chunks = [c.to_numpy(zero_copy_only=True) for c in col.chunks]
    values = chunks[0] if len(chunks) == 1 else np.concatenate(chunks) if chunks else None
    if values is None:
        return np.zeros(0, dtype=bool)
    return np.asarray(_NUMPY[op](values, value), dtype=bool)
