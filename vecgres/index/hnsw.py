"""HNSW (pgvector's ``m``, ``ef_construction``; ``hnsw.ef_search`` at query time)."""

from __future__ import annotations

from dataclasses import replace

import faiss

from vecgres.index.metrics import FAISS_METRIC
from vecgres.index.quantized import pq_params, scalar_quantizer
from vecgres.index.spec import IndexSpec


def create(spec: IndexSpec, rows: int) -> faiss.Index:
    metric = FAISS_METRIC[spec.metric]
    if spec.metric == "l1":
        # faiss quantizers only rank by L2/IP: L1 indexes keep full vectors
        spec = replace(spec, quantization=None)
    index: faiss.Index
    if spec.quantization in ("sq8", "fp16"):
        index = faiss.IndexHNSWSQ(
            spec.dims,
            scalar_quantizer(spec.quantization),  # type: ignore[arg-type]
            spec.m,
            metric,
        )
    elif spec.quantization == "pq":
        m, nbits = pq_params(spec.dims, rows)
        index = faiss.IndexHNSWPQ(spec.dims, m, spec.m, nbits, metric)  # type: ignore[call-arg,arg-type]
    else:
        index = faiss.IndexHNSWFlat(spec.dims, spec.m, metric)
    index.hnsw.efConstruction = spec.ef_construction
    return index


def search_parameters(
    spec: IndexSpec, selector: faiss.IDSelector | None, ef_search: int, probes: int
) -> faiss.SearchParameters:
    params: faiss.SearchParameters = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
    params.efSearch = ef_search  # type: ignore[attr-defined]
    if selector is not None:
        params.sel = selector
    return params
