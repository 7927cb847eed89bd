"""Text input and output of vector, halfvec and sparsevec, as pgvector does it.

``parse_vector`` is pgvector's ``vector_in`` (src/vector.c) step for step: the
order of the checks decides which error a malformed literal reports, so the
slow path below is a literal transcription. A regex-validated fast path
handles well-formed literals with numpy and falls back to the slow path
whenever an element is out of range, so both give the same answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from vecgres.config import VECTOR_MAX_DIM
from vecgres.errors import (
    DataException,
    InvalidParameterValue,
    InvalidTextRepresentation,
    NumericValueOutOfRange,
    ProgramLimitExceeded,
)
from vecgres.vector.floats import (
    doubles_to_f32,
    f32_exact_round,
    format_float4_many,
    match_float_token,
    strtof,
)

F32Array = npt.NDArray[np.float32]
HALFVEC_MAX_DIM: Final = 16000
SPARSEVEC_MAX_DIM: Final = 1_000_000_000
SPARSEVEC_MAX_NNZ: Final = 16000

# vector_isspace(): exactly these six, not Python's str.isspace()
_SPACE: Final = frozenset(" \t\n\r\v\f")
_WS_CHARS: Final = " \t\n\r\v\f"
# the common case is a literal of plain decimal numbers ([+-]digits[.digits][e[+-]digits]
# between commas, spaces around them): these are its characters, deleted by one
# str.translate; anything left makes a literal not plain
_NOT_PLAIN: Final = str.maketrans("", "", "0123456789.eE+-," + _WS_CHARS)


# ---------------------------------------------------------------- checks


def check_dim(dim: int, typename: str = "vector", max_dim: int = VECTOR_MAX_DIM) -> None:
    """pgvector ``CheckDim``."""
    if dim < 1:
        raise DataException(f"{typename} must have at least 1 dimension")
    if dim > max_dim:
        raise ProgramLimitExceeded(f"{typename} cannot have more than {max_dim} dimensions")


def check_expected_dim(typmod: int, dim: int) -> None:
    """pgvector ``CheckExpectedDim``: a ``vector(n)`` typmod must match."""
    if typmod != -1 and typmod != dim:
        raise DataException(f"expected {typmod} dimensions, not {dim}")


def check_element(value: float, typename: str = "vector") -> None:
    """pgvector ``CheckElement``: elements must be finite."""
    if value != value:
        raise DataException(f"NaN not allowed in {typename}")
    if value in (np.inf, -np.inf):
        raise DataException(f"infinite value not allowed in {typename}")


def check_vector_value(v: F32Array, typename: str = "vector") -> None:
    """Raise for the first NaN/±Inf element (binary input, array casts)."""
    finite = np.isfinite(v)
    if not finite.all():
        check_element(float(v[int(np.argmin(finite))]), typename)


def typmod_in(mods: list[int], typename: str = "vector") -> int:
    """``vector_typmod_in``: validate ``vector(n)`` and return the typmod."""
    max_dim = SPARSEVEC_MAX_DIM if typename == "sparsevec" else VECTOR_MAX_DIM
    if len(mods) != 1:
        raise InvalidParameterValue("invalid type modifier")
    if mods[0] < 1:
        raise InvalidParameterValue(f"dimensions for type {typename} must be at least 1")
    if mods[0] > max_dim:
        raise InvalidParameterValue(f"dimensions for type {typename} cannot exceed {max_dim}")
    return mods[0]


def check_typmod(v: F32Array, typmod: int) -> F32Array:
    """The ``vector(v, typmod)`` cast function: same array if dims match."""
    check_expected_dim(typmod, len(v))
    return v


# ---------------------------------------------------------------- parsing


def _syntax(lit: str, typename: str, detail: str | None = None) -> InvalidTextRepresentation:
    return InvalidTextRepresentation(
        f'invalid input syntax for type {typename}: "{lit}"', detail=detail
    )


def _scan(lit: str, typename: str, max_dim: int, convert: Callable[[str], float]) -> list[float]:
    """Transcription of ``vector_in``/``halfvec_in``'s loop; returns elements."""
    n = len(lit)
    pt = 0
    while pt < n and lit[pt] in _SPACE:
        pt += 1
    if pt >= n or lit[pt] != "[":
        raise _syntax(lit, typename, 'Vector contents must start with "[".')
    pt += 1
    while pt < n and lit[pt] in _SPACE:
        pt += 1
    if pt < n and lit[pt] == "]":
        raise DataException(f"{typename} must have at least 1 dimension")
    values: list[float] = []
    while True:
        if len(values) == max_dim:
            raise ProgramLimitExceeded(f"{typename} cannot have more than {max_dim} dimensions")
        while pt < n and lit[pt] in _SPACE:
            pt += 1
        if pt >= n:
            raise _syntax(lit, typename)
        end = match_float_token(lit, pt)
        if end == pt:
            raise _syntax(lit, typename)
        values.append(convert(lit[pt:end]))
        pt = end
        while pt < n and lit[pt] in _SPACE:
            pt += 1
        if pt < n and lit[pt] == ",":
            pt += 1
        elif pt < n and lit[pt] == "]":
            pt += 1
            break
        else:
            raise _syntax(lit, typename)
    while pt < n and lit[pt] in _SPACE:
        pt += 1
    if pt != n:
        raise _syntax(lit, typename, "Junk after closing right brace.")
    return values


def _convert_vector_elem(token: str) -> float:
    val, overflow = strtof(token)
    if overflow:
        raise NumericValueOutOfRange(f'"{token}" is out of range for type vector')
    check_element(float(val))
    return float(val)


def plain_f32(lit: str, max_dim: int = VECTOR_MAX_DIM) -> F32Array | None:
    """float32 elements of a well-formed plain-decimal literal, else None (infinities
    where a number overflows float32: the caller checks)."""
    body = lit.strip(_WS_CHARS)
    if len(body) < 2 or body[0] != "[" or body[-1] != "]":
        return None
    inner = body[1:-1]
    if inner.translate(_NOT_PLAIN):
        return None  # a character no plain decimal literal has
    if inner.count(",") >= max_dim:
        return None
    parts: list[str] | None = None
    try:
        # Arrow's string -> double cast (correctly rounded, as float() is) splits and
        # parses in one C pass, twice as fast as float() per part; it refuses spaces,
        # and over this alphabet it accepts nothing float() refuses (fuzzed)
        split = pc.split_pattern(pa.array([inner], pa.string()), ",").flatten()
        doubles = pc.cast(split, pa.float64()).to_numpy()
    except pa.ArrowInvalid:
        # over digits, signs, points, exponents and [ \t\n\r\v\f] around them float()
        # accepts exactly one plain decimal per part (spaces stripped) and raises
        # otherwise; the slow path then says what pgvector says
        parts = inner.split(",")
        try:
            doubles = np.array(parts, dtype=np.float64)  # float() on each, in C
        except ValueError:
            return None
    f, suspicious = doubles_to_f32(doubles)
    if suspicious.any():
        parts = parts if parts is not None else inner.split(",")
        for i in np.flatnonzero(suspicious):
            f[i] = f32_exact_round(parts[i].strip(" \t\n\r\v\f"))
    return f


def parse_vector(text: str, typmod: int = -1) -> F32Array:
    """pgvector ``vector_in``: text literal -> float32 array (typmod checked)."""
    f = plain_f32(text, VECTOR_MAX_DIM)
    if f is None or not np.isfinite(f).all():
        # the slow path raises the error pgvector would raise first
        f = np.array(_scan(text, "vector", VECTOR_MAX_DIM, _convert_vector_elem), np.float32)
    check_dim(len(f))
    check_expected_dim(typmod, len(f))
    return f


def _convert_half_elem(token: str) -> float:
    val, overflow = strtof(token)
    with np.errstate(over="ignore"):
        h = np.float16(val)
    if overflow or (np.isinf(h) and not np.isinf(val)):
        raise NumericValueOutOfRange(f'"{token}" is out of range for type halfvec')
    check_element(float(h), "halfvec")
    return float(h)


def parse_halfvec(text: str, typmod: int = -1) -> npt.NDArray[np.float16]:
    """pgvector ``halfvec_in``: strtof to float32, then round to float16."""
    f = plain_f32(text, HALFVEC_MAX_DIM)
    h: npt.NDArray[np.float16] | None = None
    if f is not None and np.isfinite(f).all():
        with np.errstate(over="ignore"):
            h = f.astype(np.float16)
        if not np.isfinite(h).all():
            h = None
    if h is None:
        vals = _scan(text, "halfvec", HALFVEC_MAX_DIM, _convert_half_elem)
        h = np.array(vals, dtype=np.float16)
    check_dim(len(h), "halfvec", HALFVEC_MAX_DIM)
    check_expected_dim(typmod, len(h))
    return h


# ---------------------------------------------------------------- output

# float32 bit pattern -> text; embeddings repeat values rarely but ints, zeros
# and quantised data repeat a lot. Bounded so a long scan cannot grow it forever.
_CACHE: dict[int, str] = {}
_CACHE_MAX: Final = 1 << 20


def _format_unique(bits: npt.NDArray[np.uint32]) -> list[str]:
    """Texts of float32 values given as bit patterns (any order, may repeat)."""
    cache = _CACHE
    keys = bits.tolist()
    out: list[str | None] = [cache.get(b) for b in keys]
    missing = [i for i, s in enumerate(out) if s is None]
    if missing:
        where = np.array(missing, dtype=np.intp)
        texts = format_float4_many(bits[where].view(np.float32))
        if len(cache) + len(texts) >= _CACHE_MAX:
            cache.clear()
        for i, s in zip(missing, texts, strict=True):
            out[i] = s
            cache[keys[i]] = s
    return out  # type: ignore[return-value]  # every slot is filled


def _elements_text(v: F32Array) -> list[str]:
    flat = np.ascontiguousarray(v, dtype=np.float32).ravel()
    # integers below 1e6 print as themselves (Ryu's shortest for |n| < 2^24)
    with np.errstate(invalid="ignore"):
        ints = np.abs(flat) < 1e6
        ints &= flat == np.trunc(flat)
        ints &= ~((flat == 0) & np.signbit(flat))
    if ints.all():
        return [str(i) for i in flat.astype(np.int64).tolist()]
    return _format_unique(flat.view(np.uint32))


def format_vector(v: F32Array) -> str:
    """pgvector ``vector_out``: ``[1,2.5,-0,1e+06]``."""
    return "[" + ",".join(_elements_text(v)) + "]"


def format_halfvec(v: npt.NDArray[np.float16]) -> str:
    """pgvector ``halfvec_out``: each half printed as the float4 it widens to."""
    return format_vector(np.asarray(v, dtype=np.float16).astype(np.float32))


def format_vectors(matrix: npt.NDArray[np.float32]) -> list[str]:
    """``format_vector`` for every row of a (n, d) float32 matrix.

    Each distinct value is formatted once per call (np.unique over the bit
    patterns), then rows are assembled by index; per-row cost is one join.
    """
    m = np.ascontiguousarray(matrix, dtype=np.float32)
    if m.ndim != 2:
        raise ValueError("format_vectors expects a 2-D array")
    n, d = m.shape
    if n == 0:
        return []
    bits = m.view(np.uint32)
    uniq, inverse = np.unique(bits, return_inverse=True)
    texts = np.array(_elements_text(uniq.view(np.float32)) if d else [], dtype=object)
    if d == 0:
        return ["[]"] * n
    table = texts[inverse.reshape(n, d)]
    return ["[" + ",".join(row) + "]" for row in table.tolist()]


# ---------------------------------------------------------------- sparsevec


def _sparse_syntax(lit: str, detail: str | None = None) -> InvalidTextRepresentation:
    return InvalidTextRepresentation(
        f'invalid input syntax for type sparsevec: "{lit}"', detail=detail
    )


_INT_RE: Final = re.compile(r"[ \t\n\r\v\f]*[+-]?[0-9]+", re.ASCII)


def _strtol(lit: str, pt: int) -> tuple[int, int] | None:
    """C ``strtol`` (base 10): (value, end) or None when nothing converts.

    The value is clamped to the C long range as strtol does on ERANGE."""
    m = _INT_RE.match(lit, pt)
    if m is None:
        return None
    value = int(m.group().strip(" \t\n\r\v\f"))
    value = max(min(value, 2**63 - 1), -(2**63))
    return value, m.end()


def parse_sparsevec(
    text: str, typmod: int = -1
) -> tuple[int, npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """pgvector ``sparsevec_in``: ``(dim, 0-based sorted indices, values)``.

    Zeros are dropped, indices sorted; duplicates and bounds are errors.
    """
    lit = text
    n = len(lit)
    pt = 0
    # pgvector sizes its buffer from the commas before parsing: zeros count too
    if lit.count(",") + 1 > SPARSEVEC_MAX_NNZ:
        raise ProgramLimitExceeded(
            f"sparsevec cannot have more than {SPARSEVEC_MAX_NNZ} non-zero elements"
        )

    def skip(p: int) -> int:
        while p < n and lit[p] in _SPACE:
            p += 1
        return p

    pt = skip(pt)
    if pt >= n or lit[pt] != "{":
        raise _sparse_syntax(lit, 'Vector contents must start with "{".')
    pt += 1
    pt = skip(pt)
    indices: list[int] = []
    values: list[float] = []
    if pt < n and lit[pt] == "}":
        pt += 1
    else:
        while True:
            pt = skip(pt)
            if pt >= n:  # pgvector: "empty string like float4in", no detail
                raise _sparse_syntax(lit)
            got = _strtol(lit, pt)
            if got is None:
                raise _sparse_syntax(lit)
            index, pt = got
            # pgvector keeps the index in int range and reports it out of bounds later,
            # after the value has been read (a bad value is reported first)
            index = min(max(index, -(2**31) + 1), 2**31 - 1)
            pt = skip(pt)
            if pt >= n or lit[pt] != ":":
                raise _sparse_syntax(lit)
            pt += 1
            pt = skip(pt)
            end = match_float_token(lit, pt)
            if end == pt:
                raise _sparse_syntax(lit)
            token = lit[pt:end]
            val, overflow = strtof(token)
            # sparsevec (unlike vector) rejects a non-zero number that underflows to
            # zero, like float4in: errno == ERANGE && (value == 0 || isinf(value));
            # subnormal results are kept
            underflow = float(val) == 0 and _nonzero_token(token)
            if overflow or underflow:
                raise NumericValueOutOfRange(f'"{token}" is out of range for type sparsevec')
            check_element(float(val), "sparsevec")
            if val != 0:
                indices.append(int(index) - 1)
                values.append(float(val))
            pt = skip(end)
            if pt < n and lit[pt] == ",":
                pt += 1
            elif pt < n and lit[pt] == "}":
                pt += 1
                break
            else:
                raise _sparse_syntax(lit)
    pt = skip(pt)
    if pt >= n or lit[pt] != "/":
        raise _sparse_syntax(lit, "Unexpected end of input.")
    pt += 1
    pt = skip(pt)
    got = _strtol(lit, pt)
    if got is None:
        raise _sparse_syntax(lit)
    dim, pt = got
    pt = skip(pt)
    if pt != n:
        raise _sparse_syntax(lit, "Junk after closing.")
    check_dim(dim, "sparsevec", SPARSEVEC_MAX_DIM)
    check_expected_dim(typmod, dim)
    order = np.argsort(np.array(indices, dtype=np.int64), kind="stable")
    idx = np.array(indices, dtype=np.int64)[order]
    vals = np.array(values, dtype=np.float32)[order]
    # pgvector CheckIndex, element by element in sorted order: bounds, then duplicates
    previous = None
    for i in idx.tolist():
        if i < 0 or i >= dim:
            raise DataException("sparsevec index out of bounds")
        if i == previous:
            raise DataException("sparsevec indices must not contain duplicates")
        previous = i
    return int(dim), idx.astype(np.int32), vals


def _nonzero_token(token: str) -> bool:
    """True when a decimal/hex token denotes a non-zero number."""
    body = token.lstrip("+-").lower()
    if body.startswith("0x"):
        mant = body[2:].partition("p")[0]
        return any(c not in "0." for c in mant)
    mant = body.partition("e")[0]
    return any(c not in "0." for c in mant)


def format_sparsevec(dim: int, indices: npt.NDArray[np.int32], values: F32Array) -> str:
    """pgvector ``sparsevec_out``: ``{1:1.5,3:3.5}/5`` with 1-based indices."""
    texts = _elements_text(np.asarray(values, dtype=np.float32)) if len(values) else []
    body = ",".join(
        f"{i + 1}:{t}" for i, t in zip(np.asarray(indices).tolist(), texts, strict=True)
    )
    return "{" + body + "}/" + str(dim)
