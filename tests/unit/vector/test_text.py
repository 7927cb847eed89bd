"""vector/halfvec/sparsevec text I/O against pgvector's regression outputs
(test/expected/vector_type.out, cast.out) and PostgreSQL's float4 output."""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vecgres.errors import InvalidTextRepresentation, VecgresError
from vecgres.vector import (
    format_float4,
    format_halfvec,
    format_sparsevec,
    format_vector,
    format_vectors,
    parse_halfvec,
    parse_sparsevec,
    parse_vector,
    strtof,
    typmod_in,
)

# (input, output) from pgvector test/expected/vector_type.out
OK_CASES = [
    ("[1,2,3]", "[1,2,3]"),
    ("[-1,-2,-3]", "[-1,-2,-3]"),
    ("[1.,2.,3.]", "[1,2,3]"),
    (" [ 1,  2 ,    3  ] ", "[1,2,3]"),
    ("[1.23456]", "[1.23456]"),
    ("[1.5e38,-1.5e38]", "[1.5e+38,-1.5e+38]"),
    ("[1.5e+38,-1.5e+38]", "[1.5e+38,-1.5e+38]"),
    ("[1.5e-38,-1.5e-38]", "[1.5e-38,-1.5e-38]"),
    ("[1e-46,1]", "[0,1]"),
    ("[-1e-46,1]", "[-0,1]"),
    # strtof syntax pgvector inherits
    ("[.5,+1,1e3]", "[0.5,1,1000]"),
    ("[0x1p3,0X.8P1,0x10]", "[8,1,16]"),
    ("\t[1\n,\v2\f,\r3]\n", "[1,2,3]"),
]

# (input, sqlstate, message, detail)
ERR_CASES = [
    ("[hello,1]", "22P02", 'invalid input syntax for type vector: "[hello,1]"', None),
    ("[NaN,1]", "22000", "NaN not allowed in vector", None),
    ("[Infinity,1]", "22000", "infinite value not allowed in vector", None),
    ("[-Infinity,1]", "22000", "infinite value not allowed in vector", None),
    ("[4e38,1]", "22003", '"4e38" is out of range for type vector', None),
    ("[-4e38,1]", "22003", '"-4e38" is out of range for type vector', None),
    ("[1,2,3", "22P02", 'invalid input syntax for type vector: "[1,2,3"', None),
    (
        "[1,2,3]9",
        "22P02",
        'invalid input syntax for type vector: "[1,2,3]9"',
        "Junk after closing right brace.",
    ),
    (
        "1,2,3",
        "22P02",
        'invalid input syntax for type vector: "1,2,3"',
        'Vector contents must start with "[".',
    ),
    (
        "",
        "22P02",
        'invalid input syntax for type vector: ""',
        'Vector contents must start with "[".',
    ),
    ("[", "22P02", 'invalid input syntax for type vector: "["', None),
    ("[ ", "22P02", 'invalid input syntax for type vector: "[ "', None),
    ("[,", "22P02", 'invalid input syntax for type vector: "[,"', None),
    ("[]", "22000", "vector must have at least 1 dimension", None),
    ("[ ]", "22000", "vector must have at least 1 dimension", None),
    ("[,]", "22P02", 'invalid input syntax for type vector: "[,]"', None),
    ("[1,]", "22P02", 'invalid input syntax for type vector: "[1,]"', None),
    ("[1a]", "22P02", 'invalid input syntax for type vector: "[1a]"', None),
    ("[1,,3]", "22P02", 'invalid input syntax for type vector: "[1,,3]"', None),
    ("[1, ,3]", "22P02", 'invalid input syntax for type vector: "[1, ,3]"', None),
    # check order: the element check comes before the delimiter check
    ("[nanx]", "22000", "NaN not allowed in vector", None),
    ("[infinit]", "22000", "infinite value not allowed in vector", None),
    ("[1e]", "22P02", 'invalid input syntax for type vector: "[1e]"', None),
    (
        "[1,2]x",
        "22P02",
        'invalid input syntax for type vector: "[1,2]x"',
        "Junk after closing right brace.",
    ),
    ("[4e38,nan]", "22003", '"4e38" is out of range for type vector', None),
    ("[nan,4e38]", "22000", "NaN not allowed in vector", None),
    ("[1,x,nan]", "22P02", 'invalid input syntax for type vector: "[1,x,nan]"', None),
    ("[1e99999]", "22003", '"1e99999" is out of range for type vector', None),
    ("[0x1p200]", "22003", '"0x1p200" is out of range for type vector', None),
]


@pytest.mark.parametrize(("text", "expected"), OK_CASES)
def test_parse_format(text: str, expected: str) -> None:
    assert format_vector(parse_vector(text)) == expected


@pytest.mark.parametrize(("text", "sqlstate", "message", "detail"), ERR_CASES)
def test_parse_errors(text: str, sqlstate: str, message: str, detail: str | None) -> None:
    with pytest.raises(VecgresError) as info:
        parse_vector(text)
    assert info.value.code == sqlstate
    assert info.value.message == message
    assert info.value.detail == detail


def test_typmod() -> None:
    assert format_vector(parse_vector("[1,2,3]", 3)) == "[1,2,3]"
    with pytest.raises(VecgresError, match=r"^expected 2 dimensions, not 3$") as info:
        parse_vector("[1,2,3]", 2)
    assert info.value.code == "22000"


@pytest.mark.parametrize(
    ("mods", "message"),
    [
        ([3, 2], "invalid type modifier"),
        ([0], "dimensions for type vector must be at least 1"),
        ([16001], "dimensions for type vector cannot exceed 16000"),
    ],
)
def test_typmod_in(mods: list[int], message: str) -> None:
    with pytest.raises(VecgresError) as info:
        typmod_in(mods)
    assert (info.value.code, info.value.message) == ("22023", message)
    assert typmod_in([16000]) == 16000


def test_max_dims() -> None:
    ok = "[" + ",".join(["1"] * 16000) + "]"
    assert len(parse_vector(ok)) == 16000
    for text in ("[" + ",".join(["1"] * 16001) + "]", "[" + ",".join(["1"] * 16000) + ",x]"):
        with pytest.raises(VecgresError) as info:
            parse_vector(text)
        assert info.value.code == "54000"
        assert info.value.message == "vector cannot have more than 16000 dimensions"


# PostgreSQL float4 output (f2s.c to_chars): fixed for exponents in [-4, 6)
FLOAT4_OUT = [
    (1e6, "1e+06"),
    (1234567, "1.234567e+06"),
    (123456, "123456"),
    (100000, "100000"),
    (0.0001, "0.0001"),
    (0.00012, "0.00012"),
    (1e-5, "1e-05"),
    (1.5e38, "1.5e+38"),
    (3.4028235e38, "3.4028235e+38"),
    (1.1754944e-38, "1.1754944e-38"),
    (1e-45, "1e-45"),
    (-0.0, "-0"),
    (0.0, "0"),
    (0.1, "0.1"),
    (-2.5, "-2.5"),
    (3.5, "3.5"),
    (5e37, "5e+37"),
    (16777216, "1.6777216e+07"),
    (999999, "999999"),
    (1.5, "1.5"),
    (123456.5, "123456.5"),
    (0.6, "0.6"),
]


@pytest.mark.parametrize(("value", "text"), FLOAT4_OUT)
def test_format_float4(value: float, text: str) -> None:
    assert format_float4(np.float32(value)) == text
    assert format_vector(np.array([value], dtype=np.float32)) == f"[{text}]"


def _exact(x: np.float32) -> Decimal:
    return Decimal(float(x))


def _round_trips(d: Decimal, x: np.float32) -> bool:
    """``d`` reads back as ``x`` and is not on a rounding boundary: Ryu (PostgreSQL's
    f2s.c) takes neither bound, though round-half-even reading would accept one."""
    val, _ = strtof(str(d))
    if val != x:
        return False
    with np.errstate(over="ignore"):
        below = np.nextafter(x, np.float32(-np.inf))
        above = np.nextafter(x, np.float32(np.inf))
    with localcontext() as ctx:
        ctx.prec = 200  # exact: the bounds have at most ~150 significant digits
        bounds = [(_exact(x) + Decimal(float(n))) / 2 for n in (below, above) if np.isfinite(n)]
    return d not in bounds


@settings(max_examples=400, deadline=None)
@given(st.floats(width=32, allow_nan=False, allow_infinity=False).filter(lambda f: f != 0))
@example(36566752.0)  # 3.656675e+07 would lie on the upper bound
@example(-94828336.0)
def test_shortest_and_closest(f: float) -> None:
    """Ryu's contract, checked by brute force: the printed digits round-trip,
    no shorter digit string does (strictly inside the rounding interval), and of
    equally short ones it is closest."""
    x = np.float32(f)
    text = format_float4(x)
    assert strtof(text)[0] == x
    digits = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    n = len(digits.rstrip("0")) or 1
    exact = _exact(x)
    with localcontext() as ctx:
        for places, must in ((n - 1, False), (n, True)):
            if places < 1:
                continue
            ctx.prec = places
            ctx.rounding = ROUND_FLOOR
            a = ctx.plus(exact)
            ctx.rounding = ROUND_CEILING
            b = ctx.plus(exact)
            ok = [c for c in (a, b) if _round_trips(c, x)]
            if not must:
                assert not ok, (text, ok)
            else:
                assert ok
                best = min(ok, key=lambda c: abs(c - exact))
                chosen = Decimal(text)
                assert abs(chosen - exact) <= abs(best - exact)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=1, max_size=40)
)
def test_round_trip(values: list[float]) -> None:
    v = np.array(values, dtype=np.float32)
    text = format_vector(v)
    back = parse_vector(text)
    assert back.tobytes() == v.tobytes()  # bit-exact, -0 included
    assert format_vector(back) == text


_TOKEN = st.text(alphabet="0123456789+-.eE", min_size=0, max_size=8) | st.builds(
    "{}{}.{}e{}".format,
    st.sampled_from(["", "-", "+"]),
    st.integers(0, 10**30),
    st.integers(0, 10**30),
    st.integers(-60, 60),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_TOKEN, min_size=1, max_size=12), st.sampled_from([",", ", ", " ,"]))
def test_fast_parse_matches_element_by_element(tokens: list[str], sep: str) -> None:
    """The whole-literal parse (Arrow's cast, or float() per part when spaces are
    around) agrees with pgvector's element-by-element strtof, value and error alike."""
    from vecgres.vector.text import _convert_vector_elem, _scan

    text = "[" + sep.join(tokens) + "]"

    def outcome(parse: Callable[[], np.ndarray]) -> tuple[str, bytes]:
        try:
            return "ok", parse().tobytes()
        except VecgresError as exc:
            return f"{type(exc).__name__}: {exc}", b""

    slow = outcome(lambda: np.array(_scan(text, "vector", 16000, _convert_vector_elem), "f4"))
    assert outcome(lambda: parse_vector(text)) == slow


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.integers(1, 8))
def test_format_vectors_matches_scalar(d: int, n: int) -> None:
    rng = np.random.default_rng(d * 31 + n)
    m = (rng.standard_normal((n, d)) * 10.0 ** rng.integers(-8, 8, size=(n, d))).astype(np.float32)
    m[0, 0] = -0.0
    assert format_vectors(m) == [format_vector(r) for r in m]


def test_strtof_double_rounding() -> None:
    # 1 + 2^-24 is the midpoint between 1 and the next float32; a decimal a hair
    # above it must round up, one exactly on it ties to even (down)
    assert strtof("1.000000059604644775390625")[0] == np.float32(1.0)
    assert strtof("1.00000005960464477539062500001")[0] == np.nextafter(
        np.float32(1), np.float32(2)
    )
    assert strtof("1.00000005960464477539062499999")[0] == np.float32(1.0)
    assert parse_vector("[1.00000005960464477539062500001]")[0] == np.nextafter(
        np.float32(1), np.float32(2)
    )
    # FLT_MAX + half ulp is a tie that rounds to infinity: out of range
    assert strtof("340282356779733661637539395458142568448")[1]
    assert not strtof("340282356779733661637539395458142568447")[1]


# ---------------------------------------------------------------- halfvec


def test_halfvec() -> None:
    assert format_halfvec(parse_halfvec("[1,2,3]")) == "[1,2,3]"
    assert format_halfvec(parse_halfvec("[1e-8,-1e-8]")) == "[0,-0]"
    assert format_halfvec(parse_halfvec("[0.1]")) == "[0.099975586]"
    assert format_halfvec(parse_halfvec("[65504]")) == "[65504]"
    for text, code, msg in [
        ("[65520]", "22003", '"65520" is out of range for type halfvec'),
        ("[NaN]", "22000", "NaN not allowed in halfvec"),
        ("[inf]", "22000", "infinite value not allowed in halfvec"),
        ("[]", "22000", "halfvec must have at least 1 dimension"),
        ("[1,2", "22P02", 'invalid input syntax for type halfvec: "[1,2"'),
    ]:
        with pytest.raises(VecgresError) as info:
            parse_halfvec(text)
        assert (info.value.code, info.value.message) == (code, msg)
    with pytest.raises(VecgresError, match="expected 2 dimensions, not 3"):
        parse_halfvec("[1,2,3]", 2)


# ---------------------------------------------------------------- sparsevec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{1:1.5,3:3.5}/5", "{1:1.5,3:3.5}/5"),
        (" { 1 : 1.5 ,  3  :  3.5  } / 5 ", "{1:1.5,3:3.5}/5"),
        ("{2:1,1:1}/2", "{1:1,2:1}/2"),
        ("{1:0,2:1,3:0}/3", "{2:1}/3"),
        ("{}/5", "{}/5"),
    ],
)
def test_sparsevec(text: str, expected: str) -> None:
    dim, idx, vals = parse_sparsevec(text)
    assert format_sparsevec(dim, idx, vals) == expected


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        # input ending inside the braces is a plain syntax error (pgvector: "empty string
        # like float4in"); only a missing '/' after '}' says the input ended early
        ("{", None),
        ("{ ", None),
        ("{3:", None),
        ("{3: ", None),
        ("{3:1,", None),
        ("{3:1}", "Unexpected end of input."),
        ("{3:1} 4", "Unexpected end of input."),
        ("{}/4 x", "Junk after closing."),
        ("[3:1]/4", 'Vector contents must start with "{".'),
    ],
)
def test_sparsevec_syntax_details(text: str, detail: str | None) -> None:
    with pytest.raises(InvalidTextRepresentation) as info:
        parse_sparsevec(text)
    assert info.value.message == f'invalid input syntax for type sparsevec: "{text}"'
    assert info.value.detail == detail


@pytest.mark.parametrize(
    ("value", "text"),
    [
        # the shorter decimal lies exactly on a rounding boundary: Ryu never takes it
        (94828336.0, "9.4828336e+07"),
        (-112386624.0, "-1.12386624e+08"),
        (1810375936.0, "1.8103759e+09"),
        (2799536128.0, "2.7995361e+09"),
        (3.4028235e38, "3.4028235e+38"),
        (16777216.0, "1.6777216e+07"),
        (123456.0, "123456"),
    ],
)
def test_float4_boundaries(value: float, text: str) -> None:
    v = np.array([value], dtype=np.float32)
    assert format_vector(v) == f"[{text}]"
    assert format_float4(value) == text
