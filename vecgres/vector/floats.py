"""C ``strtof`` and PostgreSQL's shortest float4 output, in Python.

pgvector parses every element with ``strtof`` (glibc, C locale) and prints it
with ``float_to_shortest_decimal_bufn`` (PostgreSQL's Ryu, src/common/f2s.c).
Both are reproduced here exactly, because clients compare the text byte for
byte.

Parsing: a token is recognised with a regex that follows glibc's grammar
(decimal, hex ``0x1.8p3``, ``inf``/``infinity``, ``nan``/``nan(chars)``), then
converted to a double by Python (correctly rounded) and to float32 by numpy
(round-half-even). That double rounding is wrong only when the double lands
exactly on a float32 rounding midpoint; those rare tokens are redone with
exact rational arithmetic, so the result equals a correctly rounded
decimal -> float32 conversion, as glibc's strtof is.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

import numpy as np
import numpy.typing as npt

# glibc strtof's accepted prefix (case-insensitive). Hex comes first so that
# "0x1" is not read as "0" followed by junk; if "0x" has no hex digit the
# alternation falls back to the decimal branch and consumes just "0", as glibc.
_TOKEN_RE: Final = re.compile(
    r"[+-]?(?:"
    r"0x(?:[0-9a-f]+(?:\.[0-9a-f]*)?|\.[0-9a-f]+)(?:p[+-]?[0-9]+)?"
    r"|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[+-]?[0-9]+)?"
    r"|inf(?:inity)?"
    r"|nan(?:\([0-9a-z_]*\))?"
    r")",
    re.IGNORECASE | re.ASCII,
)

# float32 limits as exact rationals
_FLT_MAX: Final = float(np.finfo(np.float32).max)
# the smallest magnitude that rounds to infinity (FLT_MAX + half an ulp, a tie
# that rounds to even = infinity)
_OVERFLOW_EDGE: Final = 2.0**128 - 2.0**103


def match_float_token(text: str, pos: int) -> int:
    """End of the longest prefix of ``text[pos:]`` that strtof would consume.

    Returns ``pos`` when strtof would perform no conversion.
    """
    m = _TOKEN_RE.match(text, pos)
    return pos if m is None else m.end()


def _exact_value(token: str) -> Fraction:
    """The exact rational value of a finite decimal or hex strtof token."""
    body = token.lstrip("+-")
    neg = token.startswith("-")
    if body[:2].lower() == "0x":
        mant, _, exp = body[2:].lower().partition("p")
        whole, _, frac = mant.partition(".")
        digits = (whole + frac) or "0"
        value = Fraction(int(digits, 16), 16 ** len(frac)) * Fraction(2) ** int(exp or "0")
    else:
        value = Fraction(Decimal(body))
    return -value if neg else value


def _token_to_double(token: str) -> float:
    body = token.lstrip("+-").lower()
    if body.startswith("0x"):
        mant, sep, exp = body.partition("p")
        # float.fromhex needs a digit before "p" and accepts what strtof accepts here
        try:
            value = float.fromhex(mant + (sep + exp if sep else ""))
        except OverflowError:
            value = float("inf")
        return -value if token.startswith("-") else value
    # Python's float() is correctly rounded and understands inf/infinity/nan;
    # "nan(...)" payloads are strtof-only syntax
    if body.startswith("nan"):
        return float("nan")
    return float(token)


def _round_exact_to_f32(value: Fraction) -> np.float32:
    """Correctly round an exact rational to float32 (round half to even)."""
    if value == 0:
        return np.float32(0.0)
    mag = abs(value)
    sign = -1.0 if value < 0 else 1.0
    if mag >= Fraction(_OVERFLOW_EDGE):
        # exactly at the edge is a tie between FLT_MAX (odd mantissa) and 2^128: even wins
        return np.float32(sign * np.inf)
    # binary exponent: 2^e <= mag < 2^(e+1)
    e = mag.numerator.bit_length() - mag.denominator.bit_length()
    if Fraction(2) ** e > mag:
        e -= 1
    # float32 has 24 significant bits; subnormals have a fixed quantum of 2^-149
    quantum_exp = max(e - 23, -149)
    scaled = mag / Fraction(2) ** quantum_exp
    q, r = divmod(scaled.numerator, scaled.denominator)
    twice = 2 * r
    if twice > scaled.denominator or (twice == scaled.denominator and q % 2 == 1):
        q += 1
    return np.float32(sign * float(Fraction(q) * Fraction(2) ** quantum_exp))


def strtof(token: str) -> tuple[np.float32, bool]:
    """Convert one complete strtof token: ``(value, erange_overflow)``.

    ``erange_overflow`` is glibc's ``errno == ERANGE && isinf(val)``: the
    token was finite but its magnitude rounds past FLT_MAX. Underflow to
    zero or a subnormal is silent, as pgvector only tests the overflow case.
    """
    d = _token_to_double(token)
    if d != d:
        return np.float32(np.nan), False
    if token.lstrip("+-")[:1] in ("i", "I"):
        # the words inf/infinity: infinite but not a range error
        return np.float32(d), False
    f = _f32_from_double(d)
    if f is None:
        f = _round_exact_to_f32(_exact_value(token))
    return f, bool(np.isinf(f))


_LOW_28_BITS: Final = np.uint64((1 << 28) - 1)


def _f32_from_double(d: float) -> np.float32 | None:
    """Round a double to float32, or None when the double sits exactly on a
    float32 rounding midpoint (the only case where double rounding can differ
    from a direct decimal -> float32 rounding)."""
    if abs(d) == _OVERFLOW_EDGE:
        return None
    if abs(d) > _OVERFLOW_EDGE:
        return np.float32(np.inf if d > 0 else -np.inf)
    with np.errstate(over="ignore"):
        f = np.float32(d)
    fd = float(f)
    if fd == d or np.isinf(f):
        return f
    with np.errstate(over="ignore"):
        other = np.nextafter(f, np.float32(np.inf if d > fd else -np.inf))
    if not np.isinf(other) and (fd + float(other)) / 2.0 == d:
        return None
    return f


def doubles_to_f32(
    values: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """Vectorised ``_f32_from_double``: the float32 values and a mask of the
    elements that need exact re-rounding (midpoints and the overflow edge)."""
    with np.errstate(over="ignore", invalid="ignore"):
        f = values.astype(np.float32)
    # a float32 midpoint (the overflow edge is one) has at most 25 significant bits,
    # so the low 28 bits of its double significand are zero: most parsed decimals
    # have some set and need no exact test
    maybe = (values.view(np.uint64) & _LOW_28_BITS) == 0
    if not maybe.any():
        return f, maybe
    suspicious = np.zeros(len(values), dtype=bool)
    at = np.flatnonzero(maybe)
    d, g = values[at], f[at]
    with np.errstate(over="ignore", invalid="ignore"):
        gd = g.astype(np.float64)
        toward = np.where(d > gd, np.float32(np.inf), np.float32(-np.inf)).astype(np.float32)
        other = np.nextafter(g, toward)
        mid = (gd + other.astype(np.float64)) / 2.0
    suspicious[at] = ((gd != d) & (mid == d) & np.isfinite(other)) | (np.abs(d) == _OVERFLOW_EDGE)
    return f, suspicious


def f32_exact_round(token: str) -> np.float32:
    """Correctly rounded float32 of a finite strtof token (slow, exact)."""
    return _round_exact_to_f32(_exact_value(token))


# ---------------------------------------------------------------- output


def _layout(digits: str, exp: int, negative: bool) -> str:
    """PostgreSQL f2s.c ``to_chars``: fixed notation for decimal exponents in
    [-4, 6), else ``d.ddde+XX`` with at least two exponent digits."""
    sign = "-" if negative else ""
    n = len(digits)
    if -4 <= exp < 6:
        if exp < 0:
            return f"{sign}0.{'0' * (-exp - 1)}{digits}"
        if n <= exp + 1:
            return sign + digits + "0" * (exp + 1 - n)
        return f"{sign}{digits[: exp + 1]}.{digits[exp + 1 :]}"
    mant = digits if n == 1 else f"{digits[0]}.{digits[1:]}"
    esign = "-" if exp < 0 else "+"
    return f"{sign}{mant}e{esign}{abs(exp):02d}"


def format_float4(x: float | np.floating[Any]) -> str:
    """One float4 as PostgreSQL prints it (``float_to_shortest_decimal_bufn``).

    numpy's Dragon4 in ``unique`` mode yields the shortest digit string that
    round-trips, choosing the closest when several qualify, which is Ryu's
    contract; tests check the property against a brute-force search.
    """
    f = np.float32(x)
    if f == 0:
        return "-0" if np.signbit(f) else "0"
    if not np.isfinite(f):
        # never stored in a vector; float4out spellings for completeness
        return "NaN" if np.isnan(f) else ("-Infinity" if f < 0 else "Infinity")
    sci = inside_interval(f, np.format_float_scientific(f, unique=True, exp_digits=2))
    negative = sci.startswith("-")
    mant, _, exp_text = sci.lstrip("-").partition("e")
    digits = mant.replace(".", "").rstrip("0") or "0"
    return _layout(digits, int(exp_text), negative)


def inside_interval(f: np.floating[Any], sci: str) -> str:
    """``sci`` unless it lies exactly on a rounding boundary of ``f``.

    Dragon4 (numpy) accepts a boundary when the mantissa is even, as round-half-even
    reading would; PostgreSQL's Ryu (f2s.c/d2s.c) never does, and prints the shortest
    correctly rounded decimal strictly inside the interval instead (94828336 is
    9.4828336e+07, not 9.482834e+07)."""
    # a midpoint k*2^j (k odd, 25 or 54 bits) has a decimal expansion short enough to be
    # printed only when j >= -2: below 2^20 (2^50 for doubles) no boundary can be hit
    if abs(float(f)) < (2.0**50 if f.dtype == np.float64 else 2.0**20):
        return sci
    value = Fraction(Decimal(sci))
    x = Fraction(float(f))
    with np.errstate(over="ignore"):
        below = float(np.nextafter(f, f.dtype.type(-np.inf)))
        above = float(np.nextafter(f, f.dtype.type(np.inf)))
    # past the largest finite value the gap is the one on the other side
    down = Fraction(below) if np.isfinite(below) else 2 * x - Fraction(above)
    up = Fraction(above) if np.isfinite(above) else 2 * x - down
    lo, hi = (x + down) / 2, (x + up) / 2
    if value != lo and value != hi:
        return sci
    digits = max(len(sci.lstrip("-").partition("e")[0].replace(".", "").strip("0")), 1)
    for precision in range(digits - 1, 17 if f.dtype == np.float64 else 9):
        candidate = np.format_float_scientific(f, precision=precision, unique=False, exp_digits=2)
        if lo < Fraction(Decimal(candidate)) < hi:
            return candidate
    return sci


# 10^k for k in [-60, 60], indexed by k + 60 (correctly rounded doubles)
_POW10: Final = np.array([float(f"1e{k}") for k in range(-60, 61)])


def format_float4_many(values: npt.NDArray[np.float32]) -> list[str]:
    """``format_float4`` of every element, byte for byte, many times faster.

    For a float32 x whose rounding interval (lo, hi) is symmetric (normal,
    mantissa not zero, below the top binade), the shortest decimal that
    reads back as x is the correctly rounded one with the fewest digits p
    that lies strictly inside the interval. numpy computes that rounding for
    p = 1..9 at once in float64 (relative error ~1e-16, far below the
    interval's 6e-8); an element where that error could matter (a quotient
    near .5, i.e. a possible tie; a candidate near an edge, where evenness
    rules; an exponent guess off by one) or of another class goes to
    ``format_float4``. Tests compare the two on millions of bit patterns.
    """
    v = np.ascontiguousarray(values, dtype=np.float32).ravel()
    out: list[str] = [""] * len(v)
    bits = v.view(np.uint32)
    expo = (bits >> np.uint32(23)) & np.uint32(0xFF)
    fast = (expo > 0) & (expo < 254) & ((bits & np.uint32(0x7FFFFF)) != 0)
    idx = np.flatnonzero(fast)
    with np.errstate(all="ignore"):
        digits, exp10, unsure = _shortest_digits(v[idx])
    negative = np.signbit(v[idx]).tolist()
    slow = ~fast
    slow[idx[unsure]] = True
    for pos in np.flatnonzero(slow).tolist():
        out[pos] = format_float4(v[pos])
    good = np.flatnonzero(~unsure)
    positions = idx[good].tolist()
    signs = [negative[i] for i in good.tolist()]
    for pos, dg, e, neg in zip(
        positions, digits[good].tolist(), exp10[good].tolist(), signs, strict=True
    ):
        out[pos] = _layout(str(dg).rstrip("0") or "0", e, neg)
    return out


def _shortest_digits(
    f: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """(digits as an integer, decimal exponent, unsure) for |f|; see format_float4_many."""
    x = np.abs(f.astype(np.float64))
    lo = (x + np.abs(np.nextafter(f, np.float32(0)).astype(np.float64))) / 2.0
    hi = x * 2.0 - lo  # symmetric interval; exact in float64
    exp10 = np.floor(np.log10(x)).astype(np.int64)
    n = len(f)
    chosen = np.zeros(n, dtype=np.int64)  # digits; 0 = none yet
    digits = np.zeros(n, dtype=np.int64)
    unsure = np.zeros(n, dtype=bool)
    for p in range(1, 10):
        open_ = chosen == 0
        if not open_.any():
            break
        k = exp10 - (p - 1)  # x ~ N * 10^k with N of p digits
        scale = _POW10[(-k).clip(-60, 60) + 60]  # 10^-k
        q = x * scale
        near = np.rint(q)
        frac = np.abs(q - np.floor(q) - 0.5)
        cand = near / scale
        width = x * 1e-13
        risky = (
            (frac < 1e-5)
            | (np.abs(cand - lo) <= width)
            | (np.abs(cand - hi) <= width)
            | (near < 10.0 ** (p - 1))
            | (near > 10.0**p)
        )
        ok = (cand > lo) & (cand < hi)
        unsure |= open_ & risky
        take = open_ & ok
        chosen[take] = p
        digits[take] = near[take].astype(np.int64)
    unsure |= chosen == 0
    carry = digits == 10**chosen  # rounded up to the next power of ten
    digits[carry] = 1
    return digits, exp10 + carry, unsure


def format_float8(x: float) -> str:
    """One float8 as PostgreSQL prints it with extra_float_digits >= 1
    (shortest round-trip, same layout rule but for doubles: fixed notation
    when the exponent is in [-4, 15), as f2s/d2s ``to_chars``)."""
    if x == 0:
        return "-0" if np.signbit(x) else "0"
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    f = np.float64(x)
    sci = inside_interval(f, np.format_float_scientific(f, unique=True, exp_digits=2))
    negative = sci.startswith("-")
    mant, _, exp_text = sci.lstrip("-").partition("e")
    digits = mant.replace(".", "").rstrip("0") or "0"
    exp = int(exp_text)
    sign = "-" if negative else ""
    n = len(digits)
    if -4 <= exp < 15:
        if exp < 0:
            return f"{sign}0.{'0' * (-exp - 1)}{digits}"
        if n <= exp + 1:
            return sign + digits + "0" * (exp + 1 - n)
        return f"{sign}{digits[: exp + 1]}.{digits[exp + 1 :]}"
    m = digits if n == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{sign}{m}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
