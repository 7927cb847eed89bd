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


def to_char_number(value: str | None, fmt: str | None) -> str | None:
    """to_char(number, '9990.00')-style templates: 9, 0, '.', 'D', ',', 'G' and FM."""
    if value is None or fmt is None:
        return None
    fill = not fmt.upper().startswith("FM")
    body = fmt[2:] if not fill else fmt
    body = body.replace("D", ".").replace("G", ",")
    int_pat, _, frac_pat = body.partition(".")
    has_point = "." in body
    n_frac = sum(ch in "90" for ch in frac_pat)
    number = decimal.Decimal(value)
    rounded = abs(number).quantize(decimal.Decimal(1).scaleb(-n_frac), context=_CTX)
    int_digits, _, frac_digits = f"{rounded:f}".partition(".")
    int_digits = int_digits.lstrip("0")
    n_int = sum(ch in "90" for ch in int_pat)
    if len(int_digits) > n_int:
        out = "".join("#" if ch in "90" else ch for ch in int_pat)
        out += ("." + "#" * n_frac) if has_point else ""
        return (" " if fill else "") + out
    chars: list[str] = []
    digits = list(int_digits)
    forced = False
    for ch in reversed(int_pat):
        if ch in "90":
            if digits:
                chars.append(digits.pop())
            elif ch == "0" or forced:
                chars.append("0")
                forced = True
            else:
                chars.append(" ")
        elif ch == ",":
            chars.append("," if digits or forced else " ")
        else:
            chars.append(ch)
    int_text = "".join(reversed(chars))
    # the sign goes just before the first digit; positive numbers get a space
    stripped = int_text.lstrip(" ")
    lead = len(int_text) - len(stripped)
    sign = "-" if number < 0 else " "
    int_text = " " * lead + sign + stripped
    frac_text = ""
    if has_point:
        frac_chars = list((frac_digits or "").ljust(n_frac, "0"))
        if not fill:
            # FM drops trailing zeros that a 9 (not a 0) stands for
            pats = [ch for ch in frac_pat if ch in "90"]
            while frac_chars and frac_chars[-1] == "0" and pats and pats[-1] == "9":
                frac_chars.pop()
                pats.pop()
        frac_text = "." + "".join(frac_chars)
    text = int_text + frac_text
    if not fill:
        text = text.strip(" ")
        if number >= 0:
            text = text.lstrip(" ")
    return text


def register(con: duckdb.DuckDBPyConnection) -> None:
    v = duckdb.sqltype("VARCHAR")
    con.create_function("vg_to_char_number", to_char_number, [v, v], v, null_handling=SPECIAL)
    con.create_function("vg_numeric_power", numeric_power, [v, v], v, null_handling=SPECIAL)
    con.create_function("vg_numeric_div", numeric_div, [v, v], v, null_handling=SPECIAL)
