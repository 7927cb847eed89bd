"""PostgreSQL's bit string operators and functions over ``bit``/``varbit`` values.

vecgres keeps bit strings as text ('101'); DuckDB's BIT type has the same operators
(``&``, ``|``, ``xor``, ``~``, shifts that keep the length, ``bit_count``,
``bit_and``/``bit_or``), so each is computed on the text cast to BIT and cast back.
Binary quantization users rank with ``bit_count(a # b)`` (pgvector's README before
``<~>``).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from vecgres import errors
from vecgres.executor.duck import error_payload
from vecgres.types import SqlType

# operand -> (type name or None when not evident, the name PostgreSQL shows)
ArgOf = Callable[[exp.Expr], tuple[str | None, str]]

BIT = SqlType("bit")
_BITS = ("bit", "bit varying")
_BINARY: dict[type[exp.Expr], tuple[str, str]] = {
    exp.BitwiseAnd: ("&", "AND"),
    exp.BitwiseOr: ("|", "OR"),
    exp.BitwiseXor: ("#", "XOR"),
}
_SHIFTS: dict[type[exp.Expr], str] = {
    exp.BitwiseLeftShift: "<<",
    exp.BitwiseRightShift: ">>",
}
_INTEGERS = ("integer", "smallint")


def _as_bit(node: exp.Expr) -> exp.Expr:
    return exp.cast(node.copy(), "BIT", dialect="duckdb")


def _as_text(node: exp.Expr) -> exp.Expr:
    return exp.cast(node, "VARCHAR", dialect="duckdb")


def _fail(err: errors.VecgresError) -> exp.Expr:
    return exp.func("error", exp.Literal.string(error_payload(err)))


def _no_operator(symbol: str, left: str, right: str) -> errors.VecgresError:
    return errors.UndefinedFunction(
        f"operator does not exist: {left} {symbol} {right}",
        hint="No operator matches the given name and argument types. "
        "You might need to add explicit type casts.",
    )


def is_bit_operation(node: exp.Expr, arg: ArgOf) -> bool:
    """A bitwise operator or ``~`` with a bit string operand."""
    if isinstance(node, exp.BitwiseNot):
        return arg(node.this)[0] in _BITS
    if isinstance(node, tuple(_BINARY) + tuple(_SHIFTS)):
        return arg(node.this)[0] in _BITS or (
            type(node) in _BINARY and arg(node.expression)[0] in _BITS
        )
    return False


def rewrite_bit_operation(node: exp.Expr, arg: ArgOf) -> exp.Expr:
    """The DuckDB form of a bit string operator (``is_bit_operation``), as text."""
    if isinstance(node, exp.BitwiseNot):
        return _as_text(exp.BitwiseNot(this=_as_bit(node.this)))
    left, left_shown = arg(node.this)
    right, right_shown = arg(node.expression)
    if type(node) in _SHIFTS:
        symbol = _SHIFTS[type(node)]
        n = node.expression.copy()
        if right == "unknown" and isinstance(n, exp.Literal) and n.is_string:
            # an unknown literal becomes the integer the operator takes
            if not n.name.strip().lstrip("+-").isdigit():
                raise errors.InvalidTextRepresentation(
                    f'invalid input syntax for type integer: "{n.name}"'
                )
            n = exp.Literal.number(int(n.name))
        elif right not in _INTEGERS:
            raise _no_operator(symbol, left_shown, right_shown)
        shift = exp.BitwiseLeftShift if symbol == "<<" else exp.BitwiseRightShift
        back = exp.BitwiseRightShift if symbol == "<<" else exp.BitwiseLeftShift
        # a negative count shifts the other way, as bitshiftleft/bitshiftright do
        return _as_text(
            exp.Case(
                ifs=[
                    exp.If(
                        this=exp.LT(this=n.copy(), expression=exp.Literal.number(0)),
                        true=back(this=_as_bit(node.this), expression=exp.Neg(this=n.copy())),
                    )
                ],
                default=shift(this=_as_bit(node.this), expression=n),
            )
        )
    symbol, verb = _BINARY[type(node)]
    if left not in (*_BITS, "unknown") or right not in (*_BITS, "unknown"):
        raise _no_operator(symbol, left_shown, right_shown)
    a, b = _as_bit(node.this), _as_bit(node.expression)
    # DuckDB's xor() on BIT (exp.func would build sqlglot's boolean XOR)
    value = (
        exp.Anonymous(this="xor", expressions=[a, b])
        if verb == "XOR"
        else type(node)(this=a, expression=b)
    )
    sizes_differ = exp.NEQ(
        this=exp.func("length", node.this.copy()),
        expression=exp.func("length", node.expression.copy()),
    )
    mismatch = errors.VecgresError(
        f"cannot {verb} bit strings of different sizes", sqlstate="22026"
    )
    return exp.Case(ifs=[exp.If(this=sizes_differ, true=_fail(mismatch))], default=_as_text(value))


def rewrite_bit_call(name: str, args: list[exp.Expr], arg: ArgOf) -> exp.Expr | None:
    """``bit_count(bit)``, and the ``bit_and``/``bit_or`` aggregates over bit strings."""
    if len(args) != 1 or arg(args[0])[0] not in _BITS:
        return None
    if name == "bit_count":
        return exp.func("bit_count", _as_bit(args[0]))
    return None


def rewrite_bit_aggregate(node: exp.Expr, arg: ArgOf) -> exp.Expr | None:
    """``bit_and(b)`` / ``bit_or(b)`` over bit strings (sqlglot's BitwiseAndAgg/OrAgg)."""
    if arg(node.this)[0] not in _BITS:
        return None
    name = "bit_and" if isinstance(node, exp.BitwiseAndAgg) else "bit_or"
    return _as_text(exp.func(name, _as_bit(node.this)))


__all__ = ["is_bit_operation", "rewrite_bit_aggregate", "rewrite_bit_call", "rewrite_bit_operation"]
