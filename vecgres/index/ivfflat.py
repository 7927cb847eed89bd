"""IVFFlat (pgvector's ``lists``; ``ivfflat.probes`` at query time).

Lists per segment: see ``spec.effective_lists``.
"""

from __future__ import annotations

from dataclasses import replace

import faiss

from vecgres.index.metrics import FAISS_METRIC
from vecgres.index.quantized import pq_params, scalar_quantizer
from vecgres.index.spec import IndexSpec, effective_lists


def create(spec: IndexSpec, rows: int) -> faiss.Index:
    metric = FAISS_METRIC[spec.metric]
    if spec.metric == "l1":
        # faiss quantizers only rank by L2/IP: L1 indexes keep full vectors
        spec = replace(spec, quantization=None)
    lists = effective_lists(spec, rows)
    quantizer = faiss.IndexFlat(spec.dims, metric)
    index: faiss.Index
    if spec.quantization in ("sq8", "fp16"):
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, spec.dims, lists, scalar_quantizer(spec.quantization), metric
        )
    elif spec.quantization == "pq":
        m, nbits = pq_params(spec.dims, rows)
        index = faiss.IndexIVFPQ(quantizer, spec.dims, lists, m, nbits, metric)
    else:
        index = faiss.IndexIVFFlat(quantizer, spec.dims, lists, metric)
    index.own_fields = True
    quantizer.this.disown()  # type: ignore[attr-defined]
    return index


def search_parameters(
    spec: IndexSpec, selector: faiss.IDSelector | None, ef_search: int, probes: int
) -> faiss.SearchParameters:
    params = faiss.SearchParametersIVF()
    params.nprobe = probes
    if selector is not None:
        params.sel = selector
    return params
