"""The stored (columnar) layouts of bit and sparsevec columns, and their readers.

Segments hold a ``bit``/``bit varying`` value as ``struct<len int32, data binary>``:
the bit length and the bits packed MSB first (varbit_send's body, faiss's
binary-vector layout); a ``sparsevec`` as ``struct<dim int32, idx list<int32>,
val list<float32>>`` with 0-based ascending indices and no zero values. Index
and top-k code read a stored column through ``packed_bits`` and ``sparse_csr``
and never parse the storage themselves.

Values of these types still travel through DuckDB as their text ('0'/'1'
strings, canonical ``{i:v}/dim``), so the executor converts at the segment
boundary: ``*_to_storage`` when rows are written, ``*_from_storage`` when a
table is scanned.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from vecgres.errors import DataException

BIT_STORAGE = pa.struct([pa.field("len", pa.int32()), pa.field("data", pa.binary())])
SPARSE_STORAGE = pa.struct(
    [
        pa.field("dim", pa.int32()),
        pa.field("idx", pa.list_(pa.int32())),
        pa.field("val", pa.list_(pa.float32())),
    ]
)

U8Matrix = npt.NDArray[np.uint8]


def _array(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def _offsets(arr: pa.Array) -> npt.NDArray[np.int64]:
    """The value offsets of a (large_)string/binary array, honouring its slice offset."""
    width = 8 if pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type) else 4
    buf = arr.buffers()[1]
    dtype = np.int64 if width == 8 else np.int32
    raw = np.frombuffer(buf, dtype=dtype, count=len(arr) + 1 + arr.offset)
    return raw[arr.offset :].astype(np.int64)


def _data(arr: pa.Array) -> npt.NDArray[np.uint8]:
    buf = arr.buffers()[2]
    return np.zeros(0, np.uint8) if buf is None else np.frombuffer(buf, dtype=np.uint8)


def bits_to_storage(col: pa.Array | pa.ChunkedArray) -> pa.StructArray:
    """'0'/'1' strings (nulls allowed) -> the stored ``BIT_STORAGE`` struct."""
    arr = _array(col)
    if pa.types.is_struct(arr.type):
        return arr
    arr = arr.cast(pa.string())
    n = len(arr)
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    offsets = _offsets(arr)
    lengths = np.where(valid, np.diff(offsets), 0)
    chars = _data(arr)
    nbytes = (lengths + 7) // 8
    out_offsets = np.zeros(n + 1, np.int64)
    np.cumsum(nbytes, out=out_offsets[1:])
    total_bits = int(out_offsets[-1]) * 8
    bitbuf = np.zeros(total_bits, np.uint8)
    if lengths.sum():
        # destination bit position of every source character, row by row
        row = np.repeat(np.arange(n), lengths)
        within = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        src = np.repeat(offsets[:-1], lengths) + within
        bitbuf[out_offsets[row] * 8 + within] = chars[src] == ord("1")
    packed = np.packbits(bitbuf)
    data = pa.Array.from_buffers(
        pa.binary(),
        n,
        [None, pa.py_buffer(out_offsets.astype(np.int32)), pa.py_buffer(packed.tobytes())],
    )
    mask = pa.array(~valid) if not valid.all() else None
    return pa.StructArray.from_arrays(
        [pa.array(lengths.astype(np.int32)), data], fields=list(BIT_STORAGE), mask=mask
    )


def bits_from_storage(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The stored ``BIT_STORAGE`` struct -> '0'/'1' strings (what DuckDB computes on)."""
    arr = _array(col)
    if not pa.types.is_struct(arr.type):
        return arr
    n = len(arr)
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    lengths = np.asarray(
        pc.fill_null(arr.field("len"), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    lengths = np.where(valid, lengths, 0)
    data = arr.field("data")
    byte_offsets = _offsets(data)
    out_offsets = np.zeros(n + 1, np.int64)
    np.cumsum(lengths, out=out_offsets[1:])
    width = (lengths + 7) // 8
    raw = _data(data)
    if (
        n
        and valid.all()
        and (lengths == lengths[0]).all()
        and (np.diff(byte_offsets) == width).all()
    ):
        # bit(n): one packed matrix, unpacked at once
        start = int(byte_offsets[0])
        matrix = raw[start : start + n * int(width[0])].reshape(n, int(width[0]))
        chars = (np.unpackbits(matrix, axis=1)[:, : int(lengths[0])] + ord("0")).astype(np.uint8)
    else:
        bitbuf = np.unpackbits(raw)
        within = np.arange(int(out_offsets[-1])) - np.repeat(out_offsets[:-1], lengths)
        src = np.repeat(byte_offsets[:-1] * 8, lengths) + within
        chars = (bitbuf[src] + ord("0")).astype(np.uint8)
    validity = None if valid.all() else pa.array(valid).buffers()[1]
    return pa.Array.from_buffers(
        pa.string(),
        n,
        [validity, pa.py_buffer(out_offsets.astype(np.int32)), pa.py_buffer(chars.tobytes())],
        null_count=int((~valid).sum()),
    )


def packed_bits(col: pa.Array | pa.ChunkedArray) -> tuple[U8Matrix, int, npt.NDArray[np.bool_]]:
    """A stored bit column as an (n, ceil(bits/8)) uint8 matrix (MSB first, faiss's
    binary layout), its bit length and the row validity mask (null rows are zero).

    Raises ``different bit lengths a and b`` when the rows' lengths differ.
    Accepts the text form too, for rows not yet converted.
    """
    arr = bits_to_storage(col)
    n = len(arr)
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    lengths = np.asarray(
        pc.fill_null(arr.field("len"), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    present = lengths[valid]
    if present.size == 0:
        return np.zeros((n, 0), np.uint8), 0, valid
    nbits = int(present[0])
    other = present[present != nbits]
    if other.size:
        raise DataException(f"different bit lengths {nbits} and {int(other[0])}")
    width = (nbits + 7) // 8
    data = arr.field("data")
    starts = _offsets(data)[:-1]
    raw = _data(data)
    out = np.zeros((n, width), np.uint8)
    rows = np.flatnonzero(valid)
    if width and rows.size:
        out[rows] = raw[starts[rows, None] + np.arange(width)]
    return out, nbits, valid


def padded_bits(col: pa.Array | pa.ChunkedArray, nbits: int) -> U8Matrix:
    """A stored bit/varbit column cast explicitly to ``bit(nbits)``: each row cut or
    zero-padded on the right (PostgreSQL's bit(), explicit), packed as ``packed_bits``
    lays it out; NULL rows are zeros."""
    arr = bits_to_storage(col)
    n, width = len(arr), (nbits + 7) // 8
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    lengths = np.asarray(
        pc.fill_null(arr.field("len"), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    data = arr.field("data")
    starts = _offsets(data)[:-1]
    raw = _data(data)
    out = np.zeros((n, width), np.uint8)
    if not n or not width:
        return out
    row_bytes = np.where(valid, (np.minimum(lengths, nbits) + 7) // 8, 0)
    cols = np.arange(width)
    take = cols[None, :] < row_bytes[:, None]
    src = np.where(take, starts[:, None] + cols[None, :], 0)
    out[take] = raw[src[take]]
    if nbits % 8:  # bits past nbits in the last byte (a longer row's) are cut
        out[:, -1] &= np.uint8((0xFF << (8 - nbits % 8)) & 0xFF)
    return out


def sparse_to_storage(col: pa.Array | pa.ChunkedArray) -> pa.StructArray:
    """Canonical sparsevec texts (nulls allowed) -> the stored ``SPARSE_STORAGE`` struct."""
    from vecgres.vector.sparse import parse_stored

    arr = _array(col)
    if pa.types.is_struct(arr.type):
        return arr
    texts = arr.to_pylist()
    n = len(texts)
    valid = np.array([t is not None for t in texts], dtype=bool)
    dims = np.zeros(n, np.int32)
    counts = np.zeros(n, np.int64)
    idx_parts: list[npt.NDArray[np.int32]] = []
    val_parts: list[npt.NDArray[np.float32]] = []
    for i, t in enumerate(texts):
        if t is None:
            continue
        v = parse_stored(t)
        dims[i] = v.dim
        counts[i] = len(v.indices)
        idx_parts.append(v.indices)
        val_parts.append(v.values)
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(counts, out=offsets[1:])
    indices = np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int32)
    values = np.concatenate(val_parts) if val_parts else np.zeros(0, np.float32)
    off = pa.array(offsets)
    mask = pa.array(~valid) if not valid.all() else None
    return pa.StructArray.from_arrays(
        [
            pa.array(dims),
            pa.ListArray.from_arrays(off, pa.array(indices, pa.int32())),
            pa.ListArray.from_arrays(off, pa.array(values, pa.float32())),
        ],
        fields=list(SPARSE_STORAGE),
        mask=mask,
    )


def sparse_csr(
    col: pa.Array | pa.ChunkedArray,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int32],
    npt.NDArray[np.float32],
    npt.NDArray[np.int32],
]:
    """A stored sparsevec column as CSR: ``(indptr, indices, values, dims)``.

    Row ``r``'s non-zeros are ``indices[indptr[r]:indptr[r+1]]`` (0-based, ascending)
    with ``values`` alongside; ``dims[r]`` is its dimension. A null row has no
    non-zeros and dimension -1. Accepts the text form too.
    """
    arr = sparse_to_storage(col)
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    dims = np.asarray(
        pc.fill_null(arr.field("dim"), -1).to_numpy(zero_copy_only=False), dtype=np.int32
    )
    dims = np.where(valid, dims, -1).astype(np.int32)
    idx_list = arr.field("idx")
    val_list = arr.field("val")
    raw = np.asarray(idx_list.offsets.to_numpy(), dtype=np.int64)
    counts = np.where(valid, np.diff(raw), 0)
    indptr = np.zeros(len(arr) + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    take = np.repeat(raw[:-1], counts) + (
        np.arange(int(indptr[-1])) - np.repeat(indptr[:-1], counts)
    )
    flat_idx = np.asarray(idx_list.values.to_numpy(zero_copy_only=False), dtype=np.int32)
    flat_val = np.asarray(val_list.values.to_numpy(zero_copy_only=False), dtype=np.float32)
    return indptr, flat_idx[take], flat_val[take], dims


def sparse_from_storage(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    """The stored ``SPARSE_STORAGE`` struct -> canonical ``{i:v,...}/dim`` texts."""
    from vecgres.vector.text import format_vectors

    arr = _array(col)
    if not pa.types.is_struct(arr.type):
        return arr
    indptr, indices, values, dims = sparse_csr(arr)
    valid = np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    # each distinct value is formatted once
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    uniq, inverse = np.unique(bits, return_inverse=True)
    texts = [t[1:-1] for t in format_vectors(uniq.view(np.float32).reshape(-1, 1))]
    pairs = [f"{i + 1}:{texts[j]}" for i, j in zip(indices.tolist(), inverse.tolist(), strict=True)]
    bounds = indptr.tolist()
    out: list[str | None] = []
    if len(_DECODED) + len(arr) > _DECODED_MAX:
        _DECODED.clear()
    remember = len(arr) <= _DECODED_MAX
    for r, d in enumerate(dims.tolist()):
        if not valid[r]:
            out.append(None)
            continue
        lo, hi = bounds[r], bounds[r + 1]
        text = "{" + ",".join(pairs[lo:hi]) + "}/" + str(d)
        out.append(text)
        if remember:
            _DECODED[text] = (d, indices[lo:hi], values[lo:hi])
    return pa.array(out, pa.string())


# Texts made by sparse_from_storage, with the value they came from: the sparsevec
# functions DuckDB calls next on those texts take the value from here instead of
# parsing the text again (a text determines its value, so an entry is never stale).
_DECODED: dict[str, tuple[int, npt.NDArray[np.int32], npt.NDArray[np.float32]]] = {}
_DECODED_MAX = 1 << 16


def decoded(text: str) -> tuple[int, npt.NDArray[np.int32], npt.NDArray[np.float32]] | None:
    """(dim, 0-based indices, values) of a text ``sparse_from_storage`` produced lately."""
    return _DECODED.get(text)


def ragged_rows(
    col: pa.Array | pa.ChunkedArray,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """(row starts, row lengths, values) of a list<float> column of any row lengths
    (a ``vector`` column without a typmod); NULL rows have length 0."""
    arr = _array(col)
    if pa.types.is_fixed_size_list(arr.type):
        size = arr.type.list_size
        n = len(arr)
        starts = (np.arange(n, dtype=np.int64) + arr.offset) * size
        lengths = np.full(n, size, dtype=np.int64)
    else:
        offsets = np.asarray(arr.offsets.to_numpy(zero_copy_only=False), dtype=np.int64)
        starts, lengths = offsets[:-1], np.diff(offsets)
    if arr.null_count:
        lengths = np.where(np.asarray(arr.is_valid().to_numpy(zero_copy_only=False)), lengths, 0)
    values = np.asarray(arr.values.to_numpy(zero_copy_only=False), dtype=np.float32)
    return starts, lengths, values


def padded_matrix(col: pa.Array | pa.ChunkedArray, dims: int) -> npt.NDArray[np.float32]:
    """(rows, dims) float32: each row's first ``dims`` values, zero-padded (NULL rows zero)."""
    starts, lengths, values = ragged_rows(col)
    out = np.zeros((len(starts), dims), dtype=np.float32)
    take = np.minimum(lengths, dims)
    rows = np.repeat(np.arange(len(starts)), take)
    within = np.arange(int(take.sum())) - np.repeat(np.cumsum(take) - take, take)
    out[rows, within] = values[np.repeat(starts, take) + within]
    return out
