"""PostgreSQL's float output: shortest round-trip digits, laid out as float4out/float8out do.

PostgreSQL 12+ (extra_float_digits > 0) prints the shortest decimal that reads
back to the same binary value (Ryu), in fixed notation when the decimal point
falls within [-3, 6] (float4) or [-3, 15] (float8) digits, else as
``d.ddde+XX`` with at least two exponent digits (``src/common/d2s.c``,
``f2s.c``). Python's ``repr`` and numpy's ``str(float32)`` give the same
shortest digits, so only the layout is redone here.
"""

from __future__ import annotations

import math

import numpy as np

from vecgres.vector.floats import inside_interval

FLOAT4_FIXED_MAX = 6
FLOAT8_FIXED_MAX = 15


def _layout(shortest: str, fixed_max: int) -> str:
    """Re-lay out Python's shortest representation ``shortest`` as PostgreSQL does."""
    negative = shortest.startswith("-")
    body = shortest[1:] if negative else shortest
    mantissa, _, exp_text = body.partition("e")
    exponent = int(exp_text) if exp_text else 0
    int_part, _, frac_part = mantissa.partition(".")
    digits = int_part + frac_part
    point = len(int_part) + exponent
    stripped = digits.lstrip("0")
    point -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    sign = "-" if negative else ""
    if not digits:
        return sign + "0"
    if -3 <= point <= fixed_max:
        if point <= 0:
            text = "0." + "0" * (-point) + digits
        elif point >= len(digits):
            text = digits + "0" * (point - len(digits))
        else:
            text = digits[:point] + "." + digits[point:]
        return sign + text
    exp10 = point - 1
    head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{head}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"


def _special(value: float) -> str | None:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return None


def format_float8(value: float) -> str:
    """``float8out`` of ``value`` with extra_float_digits = 1."""
    value = float(value)
    special = _special(value)
    if special is not None:
        return special
    if value.is_integer() and abs(value) < 1e15 and value != 0:
        return str(int(value))
    text = repr(value)
    if abs(value) >= 2.0**50:  # below, no shortest decimal can sit on a rounding bound
        text = inside_interval(np.float64(value), text)
    return _layout(text, FLOAT8_FIXED_MAX)


def format_float4(value: float) -> str:
    """``float4out`` of the float32 nearest ``value`` with extra_float_digits = 1."""
    with np.errstate(over="ignore"):
        single = np.float32(value)
    special = _special(float(single))
    if special is not None:
        return special
    if single.is_integer() and abs(single) < 1e6 and single != 0:
        return str(int(single))
    return _layout(inside_interval(single, str(single)), FLOAT4_FIXED_MAX)
