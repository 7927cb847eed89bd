"""PostgreSQL's ``array_in`` for one-dimensional arrays of pgvector's types.

pgvector's texts hold commas (``[1,2]``, ``{1:1}/2``), so ``array_out`` double-quotes
every element and ``array_in`` must be given them quoted: an unquoted element ends at
the first comma, brackets and braces of the element are not special. Each element is
then read by the element type's input function, whose errors (pgvector's) are the ones
reported.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from vecgres import errors
from vecgres.vector import sparse as S
from vecgres.vector import text as vector_text

INPUT: Final[dict[str, Callable[[str], object]]] = {
    "vector": vector_text.parse_vector,
    "halfvec": vector_text.parse_halfvec,
    "sparsevec": S.parse,
}


def _malformed(text: str, detail: str) -> errors.VecgresError:
    return errors.InvalidTextRepresentation(f'malformed array literal: "{text}"', detail=detail)


def split_array(text: str) -> list[str | None]:
    """The element texts of a one-dimensional array literal (None for NULL)."""
    s = text.strip()
    if not s.startswith("{"):
        raise _malformed(text, 'Array value must start with "{" or dimension information.')
    items: list[str | None] = []
    i, n = 1, len(s)
    expect_item = True
    while True:
        while i < n and s[i].isspace():
            i += 1
        if i >= n:
            raise _malformed(text, "Unexpected end of input.")
        ch = s[i]
        if ch == "}" and (not items or not expect_item):
            i += 1
            break
        if not expect_item:
            if ch != ",":
                raise _malformed(text, f'Unexpected "{ch}" character.')
            i += 1
            expect_item = True
            continue
        if ch == "{":
            raise errors.FeatureNotSupported("multidimensional arrays are not supported yet")
        buf: list[str] = []
        if ch == '"':
            i += 1
            while i < n and s[i] != '"':
                if s[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(s[i])
                i += 1
            if i >= n:
                raise _malformed(text, "Unexpected end of input.")
            i += 1
            items.append("".join(buf))
        else:
            while i < n and s[i] not in ',}"{':
                if s[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(s[i])
                i += 1
            word = "".join(buf).strip()
            if not word:
                raise _malformed(text, f'Unexpected "{s[i] if i < n else ""}" character.')
            items.append(None if word.upper() == "NULL" else word)
        expect_item = False
    if s[i:].strip():
        raise _malformed(text, "Junk after closing right brace.")
    return items


def element_texts(text: str, kind: str) -> list[str | None]:
    """``array_in`` for ``kind[]``: the element texts, each checked by the element's
    input function with typmod -1 (a typmod is applied afterwards, per element)."""
    items = split_array(text)
    check = INPUT[kind]
    for item in items:
        if item is not None:
            check(item)
    return items
