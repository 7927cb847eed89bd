"""Hamming indexes on ``bit`` columns (pgvector's ``bit_hamming_ops``): faiss binary indexes.

Vectors arrive packed (``vecgres.vector.bits.pack``: MSB first, zero-padded to
whole bytes); faiss's binary indexes want whole bytes, and the zero padding
adds nothing to a Hamming distance. faiss has no Jaccard metric for binary
indexes, so ``bit_jaccard_ops`` indexes are searched exactly (the executor's
numpy kernel) and never built here.
"""

from __future__ import annotations

import faiss

from vecgres.index.spec import IndexSpec, effective_lists

METRICS = ("hamming",)


def code_bits(spec: IndexSpec) -> int:
    """faiss's dimension: the bit length rounded up to whole bytes."""
    return 8 * ((spec.dims + 7) // 8)


def create(spec: IndexSpec, rows: int) -> faiss.IndexBinary:
    d = code_bits(spec)
    if spec.method == "hnsw":
        index = faiss.IndexBinaryHNSW(d, spec.m)
        index.hnsw.efConstruction = spec.ef_construction
        return index
    if spec.method == "ivfflat":
        quantizer = faiss.IndexBinaryFlat(d)
        ivf = faiss.IndexBinaryIVF(quantizer, d, effective_lists(spec, rows))
        ivf.own_fields = True
        quantizer.this.disown()  # type: ignore[attr-defined]
        return ivf
    return faiss.IndexBinaryFlat(d)


def filters_inside(spec: IndexSpec) -> bool:
    """faiss's IndexBinaryIVF takes no IDSelector (the executor widens instead)."""
    return spec.method != "ivfflat"


def search_parameters(
    spec: IndexSpec, selector: faiss.IDSelector | None, ef_search: int, probes: int
) -> faiss.SearchParameters:
    params: faiss.SearchParameters
    if spec.method == "hnsw":
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        params.efSearch = ef_search  # type: ignore[attr-defined]
    elif spec.method == "ivfflat":
        params = faiss.SearchParametersIVF()
        params.nprobe = probes
        return params
    else:
        params = faiss.SearchParameters()
    if selector is not None:
        params.sel = selector
    return params
