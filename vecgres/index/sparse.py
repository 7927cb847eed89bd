"""Indexes on ``sparsevec`` columns (pgvector's ``sparsevec_*_ops``): an inverted index.

A sparse vector has a few non-zeros among up to 10^9 dimensions, so a dense
(faiss) copy would be mostly zeros. The index is instead, per segment:

* postings in CSC form: the distinct non-zero dimensions ``keys`` (ascending),
  and for dimension ``keys[j]`` the rows ``post_rows[ptr[j]:ptr[j+1]]`` with their
  values ``post_vals[…]``;
* per indexed row its segment offset (``labels``), squared L2 norm and L1 norm.

A search walks only the postings of the query's non-zero dimensions to get
every row's inner product with the query, then completes each metric from the
row norms: ``|x-q|² = |x|² + |q|² - 2x·q``; ``|x-q|₁ = |x|₁ + |q|₁ - Σ(|xᵢ| + |qᵢ| -
|xᵢ-qᵢ|)`` over the shared dimensions; cosine ranks by ``-x·q/|x|``. Rows that
share no dimension with the query still rank by their norms, so the scores are
exact (in float64): the executor re-ranks the returned candidates with
pgvector's float32 distance, and an allow-list (filters, deleted rows) is
applied to the scores, so a filtered search returns k rows whenever k match.
Zero rows are not indexed for cosine (pgvector does not index them either).

File format (written and checksummed by ``storage/indexfiles.py`` like the
faiss files): ``MAGIC``, a little-endian uint32 header length, a JSON header
naming each array's dtype, length and offset, then the arrays, 8-byte aligned.
``load`` memory-maps the verified file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from vecgres.index.spec import IndexSpec
from vecgres.vector.sparse import Sparse, csr_distances
from vecgres.vector.storage import sparse_csr

if TYPE_CHECKING:
    from vecgres.catalog.model import Table

MAGIC = b"VGSPARSE1\n"
# pgvector's HNSW_MAX_NNZ (src/hnsw.h): a larger sparsevec cannot be in an hnsw index
HNSW_MAX_NNZ = 1000
METRICS = ("l2", "ip", "cosine", "l1")
_ARRAYS = ("labels", "keys", "ptr", "post_rows", "post_vals", "l2sq", "l1")


def check_batch(table: Table, batch: pa.RecordBatch | pa.Table) -> None:
    """Rows about to be stored in a table with an hnsw index on a sparsevec column:
    pgvector refuses a value with more than ``HNSW_MAX_NNZ`` non-zeros at insert."""
    for idx in table.indexes:
        if idx.method != "hnsw" or not (idx.opclass or "").startswith("sparsevec_"):
            continue
        column = table.column(idx.columns[0])
        if column is None or column.field_name not in batch.column_names:
            continue
        values = batch.column(column.field_name)
        if column.type.name != "sparsevec":  # (v::sparsevec(n)) of a dense column
            from vecgres.index.expression import nonzeros_per_row

            counts = nonzeros_per_row(values)
            if counts.size:
                check_nnz(idx.method, int(counts.max()))
            continue
        indptr = sparse_csr(values)[0]
        if len(indptr) > 1:
            check_nnz(idx.method, int(np.diff(indptr).max()))


def check_nnz(method: str, nnz: int) -> None:
    """pgvector's insert/build check for sparsevec keys of an hnsw index."""
    if method == "hnsw" and nnz > HNSW_MAX_NNZ:
        from vecgres.errors import ProgramLimitExceeded

        raise ProgramLimitExceeded(
            f"sparsevec cannot have more than {HNSW_MAX_NNZ} non-zero elements for hnsw index"
        )


class SparseIndex:
    """An inverted index whose labels are the offsets of one segment's rows."""

    __slots__ = ("arrays", "rows", "spec")
    filters_inside: ClassVar[bool] = True

    def __init__(self, spec: IndexSpec, arrays: dict[str, np.ndarray], rows: int) -> None:
        self.spec = spec
        self.arrays = arrays
        self.rows = rows

    @classmethod
    def build(
        cls,
        spec: IndexSpec,
        csr: tuple[
            npt.NDArray[np.int64], npt.NDArray[np.int32], npt.NDArray[np.float32], np.ndarray
        ],
        rows: int,
        progress: Callable[[int], None] | None = None,
        ids: np.ndarray | None = None,
    ) -> SparseIndex:
        """``csr``: ``vector.storage.sparse_csr`` of the segment's column (NULL rows
        have dimension -1); ``ids``: the offsets a partial index covers."""
        indptr, indices, values, dims = csr
        labels = np.arange(len(dims), dtype=np.int64) if ids is None else np.asarray(ids, np.int64)
        labels = labels[dims[labels] >= 0]  # NULLs are not indexed
        lengths = (indptr[1:] - indptr[:-1])[labels]
        for nnz in lengths[lengths > HNSW_MAX_NNZ][:1].tolist():
            check_nnz(spec.method, int(nnz))
        starts = indptr[:-1][labels]
        owner = np.repeat(np.arange(len(labels), dtype=np.int64), lengths)
        take = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(len(owner))
        dim_of = indices[take].astype(np.int64)
        vals = values[take].astype(np.float32)
        v64 = vals.astype(np.float64)
        l2sq = np.bincount(owner, weights=v64 * v64, minlength=len(labels))
        l1 = np.bincount(owner, weights=np.abs(v64), minlength=len(labels))
        order = np.lexsort((owner, dim_of))
        dim_sorted = dim_of[order]
        keys, first = np.unique(dim_sorted, return_index=True)
        ptr = np.append(first, len(dim_sorted)).astype(np.int64)
        arrays: dict[str, np.ndarray] = {
            "labels": labels,
            "keys": keys.astype(np.int64),
            "ptr": ptr,
            "post_rows": owner[order].astype(np.int32),
            "post_vals": vals[order],
            "l2sq": l2sq.astype(np.float64),
            "l1": l1.astype(np.float64),
        }
        if progress is not None:
            progress(len(labels))
        return cls(spec, arrays, rows)

    def serialize(self) -> bytes:
        header: dict[str, object] = {"rows": self.rows, "arrays": {}}
        body = bytearray()
        for name in _ARRAYS:
            arr = np.ascontiguousarray(self.arrays[name])
            arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
            body.extend(b"\0" * (-len(body) % 8))
            header["arrays"][name] = [arr.dtype.str, len(arr), len(body)]  # type: ignore[index]
            body.extend(arr.tobytes())
        head = json.dumps(header).encode()
        head += b" " * (-(len(MAGIC) + 4 + len(head)) % 8)
        return MAGIC + len(head).to_bytes(4, "little") + head + bytes(body)

    @classmethod
    def load(cls, spec: IndexSpec, path: str, rows: int) -> SparseIndex:
        """A verified file, memory-mapped read-only."""
        mapped = np.memmap(path, dtype=np.uint8, mode="r")
        if bytes(mapped[: len(MAGIC)]) != MAGIC:
            raise ValueError(f"index file {path} is not a sparse index")
        start = len(MAGIC) + 4
        size = int.from_bytes(bytes(mapped[len(MAGIC) : start]), "little")
        header = json.loads(bytes(mapped[start : start + size]))
        base = start + size
        arrays: dict[str, np.ndarray] = {}
        for name in _ARRAYS:
            dtype_str, count, offset = header["arrays"][name]
            arrays[name] = np.frombuffer(
                mapped, dtype=np.dtype(dtype_str), count=count, offset=base + offset
            )
        if header["rows"] != rows:
            raise ValueError(f"index file {path} does not match its segment")
        return cls(spec, arrays, rows)

    def scores(self, query: Sparse) -> npt.NDArray[np.float64]:
        """Every indexed row's rank key for the query (ascending = nearer; exact
        in float64 up to the query's constant terms); +inf for unindexed rows."""
        a = self.arrays
        n = len(a["labels"])
        keys, ptr = a["keys"], a["ptr"]
        qi = query.indices.astype(np.int64)
        qv = query.values.astype(np.float64)
        pos = np.searchsorted(keys, qi)
        pos_c = np.minimum(pos, max(len(keys) - 1, 0))
        found = (pos < len(keys)) & (keys[pos_c] == qi) if len(keys) else np.zeros(len(qi), bool)
        lo, hi = ptr[pos_c[found]], ptr[pos_c[found] + 1]
        counts = hi - lo
        take = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        rows = a["post_rows"][take]
        x = np.asarray(a["post_vals"][take], dtype=np.float64)
        qx = np.repeat(qv[found], counts)
        dot = np.bincount(rows, weights=x * qx, minlength=n).astype(np.float64)
        metric = self.spec.metric
        out: npt.NDArray[np.float64]
        with np.errstate(divide="ignore", invalid="ignore"):
            if metric == "ip":
                out = -dot
            elif metric == "l2":
                out = a["l2sq"] - 2.0 * dot
            elif metric == "cosine":
                l2sq = a["l2sq"]
                out = np.where(l2sq > 0, -dot / np.sqrt(l2sq), np.inf)
            else:
                shared = np.abs(x) + np.abs(qx) - np.abs(x - qx)
                out = a["l1"] - np.bincount(rows, weights=shared, minlength=n)
        return np.asarray(out, dtype=np.float64)

    def search(
        self,
        query: Sparse,
        k: int,
        allowed: np.ndarray | None,
        *,
        ef_search: int = 0,
        probes: int = 0,
    ) -> np.ndarray:
        """Offsets of the ``k`` best allowed rows plus a margin (the executor re-ranks
        them in float32, where near-ties may swap), unordered."""
        del ef_search, probes  # exact scoring: nothing to tune
        labels = self.arrays["labels"]
        score = self.scores(query)
        if allowed is not None:
            score = np.where(allowed[labels], score, np.inf)
        want = min(len(labels), 2 * k + 10)
        if want <= 0:
            return np.empty(0, dtype=np.int64)
        best = np.argpartition(score, want - 1)[:want] if want < len(labels) else np.arange(want)
        best = best[np.isfinite(score[best])]
        return np.asarray(labels[best], dtype=np.int64)

    def range_search(
        self,
        query: np.ndarray,
        radius: float,
        allowed: np.ndarray | None,
        *,
        ef_search: int,
        probes: int,
    ) -> np.ndarray:
        """faiss's range interface does not fit a sparse query: ``within`` does."""
        raise RuntimeError("sparsevec ranges are searched with SparseIndex.within")

    def within(self, query: Sparse, radius: float, allowed: np.ndarray | None) -> np.ndarray:
        """Offsets of the indexed, allowed rows at distance ``<= radius`` from ``query``
        (scored exactly in float64: the caller pads the radius for float32 rounding)."""
        labels = self.arrays["labels"]
        d = self.scores(query)
        q64 = query.values.astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            # scores leave out the query's constant terms; put them back
            if self.spec.metric == "l2":
                d = np.sqrt(np.maximum(d + float(q64 @ q64), 0.0))
            elif self.spec.metric == "cosine":
                norm = float(np.sqrt(q64 @ q64))
                d = 1.0 + d / norm if norm > 0 else np.full(len(d), np.nan)
            elif self.spec.metric == "l1":
                d = d + float(np.abs(q64).sum())
            keep = d <= radius
        if allowed is not None:
            keep &= allowed[labels]
        return np.asarray(labels[keep], dtype=np.int64)

    def cost(self, query_nnz: int) -> float:
        """Work of one search, in distance-computation units: the postings walked
        (an average list per query dimension) plus a pass over the row norms."""
        keys = max(1, len(self.arrays["keys"]))
        return query_nnz * len(self.arrays["post_rows"]) / keys + len(self.arrays["labels"]) / 8


# vecgres.vector.sparse's names for the opclass metrics
_CSR_METRICS = {"l2": "l2", "ip": "negative_ip", "cosine": "cosine", "l1": "l1"}


def exact_within(
    column: pa.ChunkedArray, offsets: np.ndarray, query: Sparse, metric: str, radius: float
) -> np.ndarray:
    """The ``offsets`` whose stored sparsevec is at distance ``<= radius`` from ``query``
    (the top-k path's exact CSR kernel). Rows of other dimensions are all kept: the
    statement then evaluates them and raises pgvector's error."""
    if not len(offsets):
        return np.asarray(offsets, dtype=np.int64)
    taken = column.take(pa.array(np.asarray(offsets, dtype=np.int64)))
    indptr, indices, values, dims = sparse_csr(taken)
    if (dims != query.dim).any():
        return np.asarray(offsets, dtype=np.int64)
    d = csr_distances(_CSR_METRICS[metric], indptr, indices, values, query)
    with np.errstate(invalid="ignore"):
        return np.asarray(offsets[d <= radius], dtype=np.int64)
