"""pgvector's bit functions on bit strings held as text of '0'/'1'."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

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


def bit_in(text: str, typmod: int = -1, varying: bool = False) -> str:
    """PostgreSQL ``bit_in``/``varbit_in`` for a '0'/'1' string (B'' and X'' forms too)."""
    from vecgres.errors import (
        InvalidTextRepresentation,
        StringDataLengthMismatch,
        StringDataRightTruncation,
    )

    s = text
    if s[:1] in ("b", "B"):
        s = s[1:]
    elif s[:1] in ("x", "X"):
        try:
            s = "".join(f"{int(c, 16):04b}" for c in s[1:])
        except ValueError:
            bad = next(c for c in s[1:] if c not in "0123456789abcdefABCDEF")
            raise InvalidTextRepresentation(f'"{bad}" is not a valid hexadecimal digit') from None
    for c in s:
        if c not in "01":
            raise InvalidTextRepresentation(f'"{c}" is not a valid binary digit')
    if typmod > 0:
        if varying and len(s) > typmod:
            raise StringDataRightTruncation(f"bit string too long for type bit varying({typmod})")
        if not varying and len(s) != typmod:
            raise StringDataLengthMismatch(
                f"bit string length {len(s)} does not match type bit({typmod})"
            )
    return s


def bit_send(s: str) -> bytes:
    """``varbit_send``: int32 bit length, then the bits packed MSB first."""
    n = len(s)
    padded = s + "0" * (-n % 8)
    body = int(padded, 2).to_bytes(len(padded) // 8, "big") if padded else b""
    return n.to_bytes(4, "big", signed=True) + body


def bit_recv(buf: bytes, typmod: int = -1, varying: bool = True) -> str:
    """``varbit_recv``: the inverse of ``bit_send``."""
    from vecgres.errors import InvalidBinaryRepresentation

    if len(buf) < 4:
        raise InvalidBinaryRepresentation("insufficient data left in message")
    n = int.from_bytes(buf[:4], "big", signed=True)
    if n < 0 or len(buf) - 4 != (n + 7) // 8:
        raise InvalidBinaryRepresentation("invalid length in external bit string")
    bits = "".join(f"{b:08b}" for b in buf[4:])[:n]
    return bit_in(bits, typmod, varying)


def bit_cast(text: str, typmod: int = -1, varying: bool = False) -> str:
    """An explicit cast to bit(n)/varbit(n): truncates (and for bit(n) zero-pads)."""
    s = bit_in(text)
    if typmod > 0:
        s = s[:typmod]
        if not varying:
            s = s.ljust(typmod, "0")
    return s


def pack(rows: list[str]) -> tuple[npt.NDArray[np.uint8], int]:
    """Equal-length bit strings as a packed (n, ceil(bits/8)) uint8 matrix
    (faiss's binary-vector layout, MSB first) and the bit length."""
    if not rows:
        return np.zeros((0, 0), np.uint8), 0
    nbits = len(rows[0])
    for r in rows:
        _check(rows[0], r)
    raw = np.frombuffer("".join(rows).encode(), dtype=np.uint8).reshape(len(rows), nbits)
    return np.packbits(raw == ord("1"), axis=1), nbits


def hamming_distances(packed: npt.NDArray[np.uint8], q: str) -> npt.NDArray[np.float64]:
    """Hamming distance of every packed row to ``q``: the exact top-k kernel for bit columns."""
    qp, _ = pack([q])
    x: npt.NDArray[np.uint8] = np.bitwise_xor(packed, qp)
    return _popcounts(x)


def _popcounts(packed: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
    """Set bits per row of a packed matrix (a popcount per byte, no unpacking)."""
    if packed.ndim == 1:
        packed = packed.reshape(1, -1)
    counts = np.bitwise_count(packed).sum(axis=1, dtype=np.int64)
    return np.asarray(counts, dtype=np.float64)


def jaccard_distances(packed: npt.NDArray[np.uint8], q: str) -> npt.NDArray[np.float64]:
    """Jaccard distance of every packed row to ``q`` (1 when they share no set bit)."""
    qp, _ = pack([q])
    ab = _popcounts(packed & qp)
    aa = _popcounts(packed)
    bb = float(_popcounts(qp)[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - ab / (aa + bb - ab)
    result: npt.NDArray[np.float64] = np.where(ab == 0, 1.0, out)
    return result
