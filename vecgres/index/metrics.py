"""pgvector metrics onto faiss metrics.

faiss ranks candidates; the executor re-ranks the candidates on the
full-precision vectors with pgvector's exact distance, so only the order
faiss induces matters here: squared L2 orders like L2, inner product is
ranked descending (pgvector's ``<#>`` is its negation), cosine is inner
product on normalized vectors, and L1 is faiss's METRIC_L1 (flat and HNSW).
"""

from __future__ import annotations

import faiss
import numpy as np

FAISS_METRIC = {
    "l2": faiss.METRIC_L2,
    "ip": faiss.METRIC_INNER_PRODUCT,
    "cosine": faiss.METRIC_INNER_PRODUCT,
    "l1": faiss.METRIC_L1,
}


def prepare(vectors: np.ndarray, metric: str) -> np.ndarray:
    """Vectors as faiss wants them: contiguous float32, normalized for cosine."""
    out = np.ascontiguousarray(vectors, dtype=np.float32)
    if metric == "cosine":
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        # zero vectors have no direction; pgvector gives NaN, the executor keeps them exact
        out = (out / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return np.ascontiguousarray(out, dtype=np.float32)
