"""numeric division with PostgreSQL's result scale (select_div_scale in numeric.c).

DuckDB divides decimals in floating point; PostgreSQL keeps at least 16
significant digits and never fewer fractional digits than either operand.
The scale depends on the values, so the result travels as numeric text.
"""

from __future__ import annotations

import decimal
import math

import duckdb
from duckdb.func import SPECIAL

from vecgres import errors
from vecgres.executor.duck import error_payload

_MIN_SIG_DIGITS = 16
_DEC_DIGITS = 4  # decimal digits per NBASE (10000) digit
_CTX = decimal.Context(prec=1100, rounding=decimal.ROUND_HALF_UP)


def _weight_first(v: decimal.Decimal) -> tuple[int, int]:
    """PostgreSQL's NumericVar weight and first NBASE digit of ``v``."""
    v = abs(v)
    if v == 0:
        return 0, 0
    exponent = v.adjusted()
    weight = math.floor(exponent / _DEC_DIGITS)
    first = int(v.scaleb(-weight * _DEC_DIGITS, _CTX))
    return weight, first


def _dscale(v: decimal.Decimal) -> int:
    exponent = v.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def div_scale(a: decimal.Decimal, b: decimal.Decimal) -> int:
    w1, f1 = _weight_first(a)
    w2, f2 = _weight_first(b)
    qweight = w1 - w2
    if f1 <= f2:
        qweight -= 1
    rscale = _MIN_SIG_DIGITS - qweight * _DEC_DIGITS
    return min(max(rscale, _dscale(a), _dscale(b), 0), 1000)


def numeric_div(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return None
    x, y = decimal.Decimal(a), decimal.Decimal(b)
    if y == 0:
        raise ValueError(error_payload(errors.DivisionByZero("division by zero")))
    scale = div_scale(x, y)
    q = _CTX.divide(x, y).quantize(decimal.Decimal(1).scaleb(-scale), context=_CTX)
    text = f"{q:f}"
    return text[1:] if text.startswith("-") and q == 0 else text


def numeric_power(a: str | None, b: str | None) -> str | None:
    """power(numeric, numeric) for a fractional exponent, to PostgreSQL's scale."""
    if a is None or b is None:
        return None
    x, y = decimal.Decimal(a), decimal.Decimal(b)
    if x < 0:
        raise ValueError(
            error_payload(
                errors.VecgresError(
                    "a negative number raised to a non-integer power yields a complex result",
                    sqlstate="2201F",
                )
            )
        )
    if x == 0:
        return "0" if y > 0 else None
    ctx = decimal.Context(prec=60, rounding=decimal.ROUND_HALF_UP)
    value = ctx.power(x, y)
    rscale = _MIN_SIG_DIGITS - int(math.log10(value))
    rscale = min(max(rscale, _dscale(x), _dscale(y), 0), 1000)
    return f"{value.quantize(decimal.Decimal(1).scaleb(-rscale), context=ctx):f}"


def register(con: duckdb.DuckDBPyConnection) -> None:
    v = duckdb.sqltype("VARCHAR")
    con.create_function("vg_numeric_power", numeric_power, [v, v], v, null_handling=SPECIAL)
    con.create_function("vg_numeric_div", numeric_div, [v, v], v, null_handling=SPECIAL)
