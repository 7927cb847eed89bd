"""pgvector's bit functions on bit strings held as text of '0'/'1'."""

from __future__ import annotations

from vecgres.errors import DataException


def _check(a: str, b: str) -> None:
    if len(a) != len(b):
        raise DataException(f"different bit lengths {len(a)} and {len(b)}")


def hamming_distance(a: str, b: str) -> float:
    _check(a, b)
    return float(bin(int(a or "0", 2) ^ int(b or "0", 2)).count("1"))


def jaccard_distance(a: str, b: str) -> float:
    _check(a, b)
    x, y = int(a or "0", 2), int(b or "0", 2)
    ab = bin(x & y).count("1")
    if ab == 0:
        return 1.0
    aa, bb = bin(x).count("1"), bin(y).count("1")
    return 1.0 - ab / float(aa + bb - ab)
