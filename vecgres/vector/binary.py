"""Binary send/recv formats (COPY BINARY, binary parameters and results).

``vector``: int16 dim, int16 unused (0), dim x float4, all big-endian
(pgvector ``vector_send``/``vector_recv``). ``halfvec``: the same with
IEEE float16 elements. Errors follow the order of pgvector's recv
functions: dims, typmod, unused, then each element as it is read.

Two errors come from PostgreSQL rather than pgvector: reading past the end
is pq_getmsgint's ``insufficient data left in message`` (08P01, at ERROR
level), and bytes left over after the value are the caller's
``incorrect binary data format`` (22P03; for a Bind parameter the server
says ``in bind parameter N``, as PostgreSQL's exec_bind_message does).
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from vecgres.config import VECTOR_MAX_DIM
from vecgres.errors import DataException, InvalidBinaryRepresentation, ProgramLimitExceeded
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


def sparsevec_recv(
    buf: bytes, typmod: int = -1
) -> tuple[int, npt.NDArray[np.int32], npt.NDArray[np.float32]]:
    """pgvector ``sparsevec_recv``: int32 dim, nnz, unused; nnz 0-based int32
    indices (strictly ascending); nnz float4 values (never zero)."""
    from vecgres.vector.text import SPARSEVEC_MAX_DIM, SPARSEVEC_MAX_NNZ

    if len(buf) < 12:
        raise _insufficient()
    dim, nnz, unused = struct.unpack_from(">iii", buf, 0)
    check_dim(dim, "sparsevec", SPARSEVEC_MAX_DIM)
    if nnz < 0:
        raise DataException("sparsevec cannot have negative number of elements")
    if nnz > SPARSEVEC_MAX_NNZ:
        raise ProgramLimitExceeded(
            f"sparsevec cannot have more than {SPARSEVEC_MAX_NNZ} non-zero elements"
        )
    if nnz > dim:
        raise ProgramLimitExceeded("sparsevec cannot have more elements than dimensions")
    check_expected_dim(typmod, dim)
    if unused != 0:
        raise DataException(f"expected unused to be 0, not {unused}")
    if len(buf) < 12 + 8 * nnz:
        raise _insufficient()
    indices = np.frombuffer(buf, dtype=">i4", count=nnz, offset=12).astype(np.int32)
    for i in range(nnz):
        if indices[i] < 0 or indices[i] >= dim:
            raise DataException("sparsevec index out of bounds")
        if i > 0 and indices[i] < indices[i - 1]:
            raise DataException("sparsevec indices must be in ascending order")
        if i > 0 and indices[i] == indices[i - 1]:
            raise DataException("sparsevec indices must not contain duplicates")
    values = np.frombuffer(buf, dtype=">f4", count=nnz, offset=12 + 4 * nnz).astype(np.float32)
    for x in values.tolist():
        check_element(x, "sparsevec")
        if x == 0:
            raise DataException("binary representation of sparsevec cannot contain zero values")
    if len(buf) != 12 + 8 * nnz:
        raise InvalidBinaryRepresentation("incorrect binary data format")
    return dim, indices, values


def sparsevec_send(
    dim: int, indices: npt.NDArray[np.int32], values: npt.NDArray[np.float32]
) -> bytes:
    """pgvector ``sparsevec_send``."""
    idx = np.asarray(indices, dtype=">i4")
    vals = np.asarray(values, dtype=">f4")
    return struct.pack(">iii", dim, len(idx), 0) + idx.tobytes() + vals.tobytes()
