"""T9: bad vector inputs answer pgvector's SQLSTATE and wording, then a
hypothesis fuzz of mutated literals against a numpy reference parser. No NaN
or infinity is ever stored (vecgres_check() verifies the stored vectors)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from harness import figures, scaled
from hypothesis import given, settings
from hypothesis import strategies as st

import vecgres
from vecgres.errors import VecgresError

CASES: list[tuple[str, str, str]] = [
    # (statement, SQLSTATE, message)
    ("INSERT INTO v3 VALUES ('[1,2]')", "22000", "expected 3 dimensions, not 2"),
    ("SELECT v <-> '[1,2]' FROM v3", "22000", "different vector dimensions 3 and 2"),
    ("SELECT '[NaN,1]'::vector", "22000", "NaN not allowed in vector"),
    ("SELECT '[Infinity,1]'::vector", "22000", "infinite value not allowed in vector"),
    ("SELECT '[-Infinity,1]'::vector", "22000", "infinite value not allowed in vector"),
    ("SELECT '[]'::vector", "22000", "vector must have at least 1 dimension"),
    ("SELECT '[ ]'::vector", "22000", "vector must have at least 1 dimension"),
    (
        "SELECT ('[' || repeat('1,', 16000) || '1]')::vector",
        "54000",
        "vector cannot have more than 16000 dimensions",
    ),
    (
        "CREATE TABLE big (v vector(16001))",
        "22023",
        "dimensions for type vector cannot exceed 16000",
    ),
    ("CREATE TABLE zero (v vector(0))", "22023", "dimensions for type vector must be at least 1"),
    ("SELECT '[1,2,3'::vector", "22P02", 'invalid input syntax for type vector: "[1,2,3"'),
    ("SELECT '[1,,3]'::vector", "22P02", 'invalid input syntax for type vector: "[1,,3]"'),
    ("SELECT '[hello,1]'::vector", "22P02", 'invalid input syntax for type vector: "[hello,1]"'),
    ("SELECT '1,2,3'::vector", "22P02", 'invalid input syntax for type vector: "1,2,3"'),
    ("SELECT '[1,2,3]9'::vector", "22P02", 'invalid input syntax for type vector: "[1,2,3]9"'),
    ("SELECT ''::vector", "22P02", 'invalid input syntax for type vector: ""'),
    ("SELECT '[4e38,1]'::vector", "22003", '"4e38" is out of range for type vector'),
    ("SELECT v FROM v3 ORDER BY v <-> '[NaN,1,1]' LIMIT 1", "22000", "NaN not allowed in vector"),
]


@pytest.fixture(scope="module")
def cur(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    con = vecgres.connect(str(tmp_path_factory.mktemp("vec") / "db"))
    con.autocommit = True
    c = con.cursor()
    c.execute("CREATE TABLE v3 (v vector(3))")
    c.execute("INSERT INTO v3 VALUES ('[1,2,3]'), ('[4,5,6]')")
    yield c
    con.close()


def test_bad_vector_inputs(cur) -> None:  # type: ignore[no-untyped-def]
    wrong: list[str] = []
    for sql, state, message in CASES:
        try:
            cur.execute(sql)
        except VecgresError as exc:
            if (exc.code, exc.message) != (state, message):
                wrong.append(f"{sql[:60]}: {exc.code} {exc.message}")
        else:
            wrong.append(f"{sql[:60]}: no error")
    figures("vecinput", cases=len(CASES), wrong_sqlstate=len(wrong))
    assert not wrong, wrong


def test_underflow_is_zero(cur) -> None:  # type: ignore[no-untyped-def]
    cur.execute("SELECT '[1e-46,1]'::vector")
    assert cur.fetchall() == [("[0,1]",)]


def test_binary_nan_is_rejected(cur) -> None:  # type: ignore[no-untyped-def]
    # a float4[] carrying NaN cast to vector is checked like text input
    with pytest.raises(VecgresError) as info:
        cur.execute("SELECT ARRAY['NaN'::float4, 1]::vector")
    assert (info.value.code, info.value.message) == ("22000", "NaN not allowed in vector")


# --- fuzz ----------------------------------------------------------------------

_DEC = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
_HEX = re.compile(r"[+-]?0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)([pP][+-]?[0-9]+)?")
_F32_MAX = float(np.finfo(np.float32).max)


def _reference(text: str) -> list[float] | None:
    """A reference for pgvector's vector_in (C strtof per element): None when
    it rejects the literal."""
    s = text.strip(" \t\n\r\f\v")
    if not (s.startswith("[") and s.endswith("]")):
        return None
    body = s[1:-1]
    if not body.strip(" \t\n\r\f\v"):
        return None
    out: list[float] = []
    for raw in body.split(","):
        part = raw.strip(" \t\n\r\f\v")
        if _DEC.fullmatch(part):
            value = float(part)
        elif _HEX.fullmatch(part):
            value = float.fromhex(part)
        else:
            return None  # syntax, or NaN/infinity (rejected too)
        if abs(value) > _F32_MAX:
            return None
        out.append(float(np.float32(value)))
    return out if len(out) <= 16000 else None


ATOMS = st.sampled_from(
    [
        "1",
        "-2.5",
        "3e2",
        "1e-46",
        "4e38",
        "+1",
        "0x10",
        "NaN",
        "inf",
        "",
        " ",
        "1.",
        ".5",
        "\u0661",
        "1e",
        "99999999999999999999",
    ]
)
LITERAL = st.lists(ATOMS, min_size=0, max_size=5).map(
    lambda xs: "[" + ",".join(xs) + "]"
) | st.text(alphabet="[]0123456789,.eE+- naNI", max_size=12)


@settings(max_examples=scaled(500), deadline=None)
@given(LITERAL)
def test_fuzzed_literals_match_reference(cur, text: str) -> None:  # type: ignore[no-untyped-def]
    want = _reference(text)
    error: VecgresError | None = None
    got = None
    try:
        # a literal, not a parameter: "$1::vector" is a separate (binder) issue
        quoted = text.replace("'", "''")
        cur.execute(f"SELECT '{quoted}'::vector")
        got = cur.fetchall()[0][0]
    except VecgresError as exc:
        error = exc
    if error is not None:
        assert error.code in ("22P02", "22003", "22000", "54000"), (text, error.message)
        assert want is None, (text, want, error.message)
        return
    assert want is not None, (text, got)
    # the DB-API returns vectors as pgvector's text
    values = [float(x) for x in got.strip("[]").split(",")]
    assert np.allclose(values, want, rtol=1e-6), (text, got, want)


def test_figures_and_nothing_bad_stored(cur, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cur.execute("SELECT vecgres_check()")
    (summary,) = cur.fetchone()
    assert summary.startswith("ok")
    figures("vecinput.stored", nan_inf_stored=0)
