"""Which pgvector operator or function a call with vector/halfvec/sparsevec operands
resolves to, by PostgreSQL's rules (func_select_candidate) over pgvector's casts.

pgvector (vector--0.8.0.sql) declares vector -> halfvec, vector -> sparsevec and
halfvec -> sparsevec IMPLICIT and the other directions ASSIGNMENT, so
``vector + halfvec`` is ``halfvec + halfvec`` and ``vector + sparsevec`` matches
nothing. Arrays cast to the types only by assignment, so they match nothing either.
"""

from __future__ import annotations

from sqlglot import exp

from vecgres import errors
from vecgres.types import SqlType

KINDS = ("vector", "halfvec", "sparsevec")
DENSE = ("vector", "halfvec")
UNKNOWN = "unknown"  # an untyped string literal (or NULL)

# pgvector's IMPLICIT casts between its types
_IMPLICIT = frozenset({("vector", "halfvec"), ("vector", "sparsevec"), ("halfvec", "sparsevec")})

# generic function name -> the pgvector types it is declared for
FUNCTION_KINDS: dict[str, tuple[str, ...]] = {
    "l2_distance": KINDS,
    "inner_product": KINDS,
    "cosine_distance": KINDS,
    "l1_distance": KINDS,
    "vector_dims": DENSE,
    "vector_norm": ("vector",),
    "l2_norm": ("halfvec", "sparsevec"),
    "l2_normalize": KINDS,
    "binary_quantize": DENSE,
    "subvector": DENSE,
}

_CASTS = "You might need to add explicit type casts."
_NO_OPERATOR = "No operator matches the given name and argument types. " + _CASTS
_NO_FUNCTION = "No function matches the given name and argument types. " + _CASTS
_NOT_UNIQUE_OPERATOR = (
    "Could not choose a best candidate operator. You might need to add explicit type casts."
)
_NOT_UNIQUE_FUNCTION = (
    "Could not choose a best candidate function. You might need to add explicit type casts."
)


def _coercible(source: str, target: str) -> bool:
    return source in (target, UNKNOWN) or (source, target) in _IMPLICIT


def resolve(args: list[str | None], candidates: tuple[str, ...]) -> str | None:
    """The pgvector type every argument is coerced to, ``None`` when nothing matches,
    or ``"ambiguous"``. An argument is a type name, ``"unknown"`` for an untyped
    literal, or ``None`` when its type is not evident (it then constrains nothing)."""
    known = [a for a in args if a is not None and a != UNKNOWN]
    if not known:
        if len(candidates) > 1 and args and all(a == UNKNOWN for a in args):
            return "ambiguous"
        return candidates[0]
    # exact match, an untyped literal taking the other argument's type
    if len(set(known)) == 1 and known[0] in candidates:
        return known[0]
    matches = [c for c in candidates if all(_coercible(a, c) for a in known)]
    if not matches:
        return None
    best = max(sum(a == c for a in known) for c in matches)
    matches = [c for c in matches if sum(a == c for a in known) == best]
    return matches[0] if len(matches) == 1 else "ambiguous"


def arithmetic_result(left: SqlType | None, right: SqlType | None) -> SqlType | None:
    """The type of ``left + right`` (``-``, ``*``, ``||``) when an operand is a pgvector type."""
    sides = [t for t in (left, right) if t is not None]
    if not any(t.is_vector for t in sides):
        return None
    names = [t.name if t.is_vector else None for t in sides]
    kind = resolve(names, DENSE)
    return SqlType(kind) if kind in DENSE else None


def branches(node: exp.Expr) -> list[exp.Expr] | None:
    """The value arguments of CASE, COALESCE, GREATEST, LEAST and NULLIF, which share
    one result type; None for other nodes."""
    if isinstance(node, exp.Case):
        out = [i.args["true"] for i in node.args.get("ifs") or [] if i.args.get("true")]
        default = node.args.get("default")
        return out + ([default] if default is not None else [])
    if isinstance(node, exp.Coalesce | exp.Greatest | exp.Least):
        return [node.this, *node.expressions]
    if isinstance(node, exp.Nullif):
        return [node.this]  # the result has the first argument's type
    return None


def common_kind(names: list[str | None]) -> str | None:
    """PostgreSQL's select_common_type over pgvector types: the first type, replaced
    by a later one it casts to implicitly (vector, halfvec -> halfvec); None when no
    argument is a pgvector type or another known type is among them."""
    kinds = [n for n in names if n in KINDS]
    if not kinds or any(n not in KINDS and n not in (UNKNOWN, None) for n in names):
        return None
    common = kinds[0]
    for k in kinds[1:]:
        if (common, k) in _IMPLICIT:
            common = k
    return common


def branch_result(types: list[SqlType | None]) -> SqlType | None:
    """The result type of a CASE/COALESCE/... whose arguments have these types."""
    names = [None if t is None else t.name if t.is_vector else t.format() for t in types]
    kind = common_kind(names)
    return SqlType(kind) if kind is not None else None


def operator_error(symbol: str, left: str, right: str, result: str | None) -> errors.VecgresError:
    """PostgreSQL's error for a binary operator that resolved to nothing or to many."""
    if result == "ambiguous":
        return errors.AmbiguousFunction(
            f"operator is not unique: {left} {symbol} {right}", hint=_NOT_UNIQUE_OPERATOR
        )
    return errors.UndefinedFunction(
        f"operator does not exist: {left} {symbol} {right}", hint=_NO_OPERATOR
    )


def function_error(name: str, shown: list[str], result: str | None) -> errors.VecgresError:
    """PostgreSQL's error for a function call that resolved to nothing or to many."""
    signature = f"{name}({', '.join(shown)})"
    if result == "ambiguous":
        return errors.AmbiguousFunction(
            f"function {signature} is not unique", hint=_NOT_UNIQUE_FUNCTION
        )
    return errors.UndefinedFunction(f"function {signature} does not exist", hint=_NO_FUNCTION)
