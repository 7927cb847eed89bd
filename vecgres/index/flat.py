"""FLAT: exhaustive search inside faiss (exact unless quantized)."""

from __future__ import annotations

from dataclasses import replace

import faiss

from vecgres.index.metrics import FAISS_METRIC
from vecgres.index.quantized import scalar_quantizer
from vecgres.index.spec import IndexSpec


def create(spec: IndexSpec, rows: int) -> faiss.Index:
    metric = FAISS_METRIC[spec.metric]
    if spec.metric == "l1":
        # faiss quantizers only rank by L2/IP: L1 indexes keep full vectors
        spec = replace(spec, quantization=None)
    if spec.quantization in ("sq8", "fp16"):
        return faiss.IndexScalarQuantizer(spec.dims, scalar_quantizer(spec.quantization), metric)
    if spec.quantization == "pq":
        from vecgres.index.quantized import pq_params

        # one inverted list: IndexPQ itself takes no search parameters (no allow-list)
        m, nbits = pq_params(spec.dims, rows)
        quantizer = faiss.IndexFlat(spec.dims, metric)
        index = faiss.IndexIVFPQ(quantizer, spec.dims, 1, m, nbits, metric)
        index.own_fields = True
        quantizer.this.disown()  # type: ignore[attr-defined]
        return index
    return faiss.IndexFlat(spec.dims, metric)


def search_parameters(
    spec: IndexSpec, selector: faiss.IDSelector | None, ef_search: int, probes: int
) -> faiss.SearchParameters:
    params = faiss.SearchParametersIVF() if spec.quantization == "pq" else faiss.SearchParameters()
    if selector is not None:
        params.sel = selector
    return params
