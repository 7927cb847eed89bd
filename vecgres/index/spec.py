"""What an ANN index over one segment is: method, metric and build options."""

from __future__ import annotations

from dataclasses import dataclass

METHODS = ("flat", "hnsw", "ivfflat")
METRICS = ("l2", "ip", "cosine", "l1", "hamming")
QUANTIZATIONS = ("sq8", "pq", "fp16")


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """Plain values only, so storage, the catalog and tests can build one."""

    method: str  # flat | hnsw | ivfflat
    metric: str  # l2 | ip | cosine | l1 | hamming (opclass suffix)
    dims: int
    m: int = 16
    ef_construction: int = 64
    lists: int = 100
    quantization: str | None = None
    predicate: str | None = None  # partial index: only rows passing it are indexed
    sparse: bool = False  # a sparsevec key: an inverted index (index/sparse.py), not faiss

    @property
    def binary(self) -> bool:
        """A faiss binary index over packed bits (``bit_hamming_ops``)."""
        return self.metric == "hamming"

    def key(self) -> str:
        """A short tag stored next to the index file: a changed spec means a rebuild."""
        return (
            f"{self.method}:{self.metric}:{self.dims}:{self.m}:{self.ef_construction}:"
            f"{self.lists}:{self.quantization or ''}"
            + (f":where {self.predicate}" if self.predicate else "")
            + (":sparse" if self.sparse else "")
        )


# faiss's k-means wants 39 training points per centroid
MIN_ROWS_PER_LIST = 39


def effective_lists(spec: IndexSpec, rows: int) -> int:
    """A segment smaller than pgvector's table gets at most one list per 39 rows,
    so small segments are not split into nearly empty lists."""
    return max(1, min(spec.lists, rows // MIN_ROWS_PER_LIST))
