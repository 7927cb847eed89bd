"""Quantizer choices shared by the quantized variants of every method.

Quantized codes only choose candidates; the executor always re-ranks them on
the full-precision vectors of the segment file.
"""

from __future__ import annotations

import faiss

# how many more candidates a quantized index hands out for re-ranking
RERANK_FACTOR = 4


def scalar_quantizer(kind: str) -> int:
    return {"sq8": faiss.ScalarQuantizer.QT_8bit, "fp16": faiss.ScalarQuantizer.QT_fp16}[kind]


def pq_params(dims: int, rows: int) -> tuple[int, int]:
    """(sub-quantizers, bits): about 4 dims per code byte, fewer centroids on small segments."""
    m = 1
    for cand in (dims // 4, dims // 2, dims):
        if cand >= 1 and dims % cand == 0:
            m = cand
            break
    nbits = 8
    while nbits > 4 and rows < 39 * (1 << nbits):
        nbits -= 1
    return m, nbits


def candidate_count(k: int, quantization: str | None) -> int:
    return k * RERANK_FACTOR if quantization else k
