"""Binary send/recv formats (COPY BINARY, binary parameters and results).

``vector``: int16 dim, int16 unused (0), dim x float4, all big-endian
(pgvector ``vector_send``/``vector_recv``). ``halfvec``: the same with
IEEE float16 elements. Errors follow the order of pgvector's recv
functions: dims, typmod, unused, then each element as it is read.

Two errors come from PostgreSQL rather than pgvector: reading past the end
is pq_getmsgint's ``insufficient data left in message`` (08P01, at ERROR
level), and bytes left over after the value are the caller's
``incorrect binary data format`` (22P03; PostgreSQL adds ``in bind
parameter N`` when it knows N).
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from vecgres.config import VECTOR_MAX_DIM
from vecgres.errors import DataException, InvalidBinaryRepresentation
from vecgres.vector.text import HALFVEC_MAX_DIM, check_dim, check_element, check_expected_dim

_HEADER = struct.Struct(">hh")


def _insufficient() -> InvalidBinaryRepresentation:
    return InvalidBinaryRepresentation("insufficient data left in message", sqlstate="08P01")


def _recv(
    buf: bytes, typmod: int, typename: str, max_dim: int, dtype: str
) -> npt.NDArray[np.float32] | npt.NDArray[np.float16]:
    if len(buf) < 4:
        raise _insufficient()
    dim, unused = _HEADER.unpack_from(buf, 0)
    check_dim(dim, typename, max_dim)
    check_expected_dim(typmod, dim)
    if unused != 0:
        raise DataException(f"expected unused to be 0, not {unused}")
    width = np.dtype(dtype).itemsize
    avail = (len(buf) - 4) // width
    values = np.frombuffer(buf, dtype=dtype, count=min(dim, avail), offset=4)
    # elements are checked as they are read, so a bad element before the end
    # of a short buffer wins over the short buffer
    finite = np.isfinite(values)
    if not finite.all():
        check_element(float(values[int(np.argmin(finite))]), typename)
    if avail < dim:
        raise _insufficient()
    if len(buf) != 4 + dim * width:
        raise InvalidBinaryRepresentation("incorrect binary data format")
    if dtype == ">f4":
        return values.astype(np.float32)
    return values.astype(np.float16)


def vector_recv(buf: bytes, typmod: int = -1) -> npt.NDArray[np.float32]:
    """pgvector ``vector_recv``."""
    r = _recv(buf, typmod, "vector", VECTOR_MAX_DIM, ">f4")
    assert r.dtype == np.float32
    return r.astype(np.float32, copy=False)


def vector_send(v: npt.NDArray[np.float32]) -> bytes:
    """pgvector ``vector_send``."""
    a = np.asarray(v, dtype=np.float32)
    return _HEADER.pack(len(a), 0) + a.astype(">f4").tobytes()


def halfvec_recv(buf: bytes, typmod: int = -1) -> npt.NDArray[np.float16]:
    """pgvector ``halfvec_recv``."""
    r = _recv(buf, typmod, "halfvec", HALFVEC_MAX_DIM, ">f2")
    return r.astype(np.float16, copy=False)


def halfvec_send(v: npt.NDArray[np.float16]) -> bytes:
    """pgvector ``halfvec_send``."""
    a = np.asarray(v, dtype=np.float16)
    return _HEADER.pack(len(a), 0) + a.astype(">f2").tobytes()
