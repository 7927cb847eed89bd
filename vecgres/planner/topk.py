"""The physical plan of a top-k distance search, and the rule that chooses its index.

``SELECT … FROM t [WHERE …] ORDER BY col <op> const LIMIT k [OFFSET n]``
becomes an ``AnnTopK``: plain values only (the query vector, k, SQL strings
for the filter and for the final projection), so the executor never sees a
parse tree. The per-segment strategy is decided at run time from measured
selectivity with the thresholds set here:

* at most ``exact_max_rows`` matching rows in a segment, a matching fraction
  under ``exact_below_fraction``, or fewer matching rows than the distances the
  ANN search would compute (hnsw: ef/fraction·2m; ivfflat: probes·rows/lists):
  exact distances on those rows (``exact_max_rows = 0`` forces ANN, for tests);
* fraction under ``allowlist_below_fraction``: ANN with an allow-list of the
  matching offsets (faiss ``IDSelectorBitmap``) inside the traversal;
* otherwise: ANN over the whole segment with a candidate list widened by
  1/fraction and re-searched (doubling) until k candidates pass the filter.

Whatever the strategy, a segment that yields fewer than min(k, matching)
rows is finally searched exactly: results are never short. pgvector's
iterative-scan settings say how far the ANN search goes before that
(pgvector stops there and returns fewer rows; vecgres completes exactly):

* ``hnsw.iterative_scan = off`` / ``ivfflat.iterative_scan = off`` (the
  default): one ANN search per segment, then exact if it came up short;
* ``hnsw.iterative_scan = strict_order | relaxed_order``: re-searched with
  the candidate list doubled while the candidates of the re-searches stay
  within ``hnsw.max_scan_tuples`` (the first search does not count, as in
  pgvector). Both orders are strict in vecgres: candidates are always
  re-ranked by exact distance;
* ``ivfflat.iterative_scan = relaxed_order``: re-searched with the probes
  doubled up to ``ivfflat.max_probes`` (at least ``ivfflat.probes``);
* a ``flat`` index is re-searched with a doubled candidate list at most
  ``MAX_WIDENINGS`` (executor) times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vecgres.catalog.model import Index, Table
from vecgres.index import predicate
from vecgres.index.expression import expression_type
from vecgres.index.predicate import Condition

# pgvector operator (as its DuckDB function) -> opclass metric suffix
OPERATOR_METRIC = {
    "pgv_l2_distance": "l2",
    "pgv_negative_inner_product": "ip",
    "pgv_cosine_distance": "cosine",
    "pgv_l1_distance": "l1",
    "pgv_halfvec_l2_distance": "l2",
    "pgv_halfvec_negative_inner_product": "ip",
    "pgv_halfvec_cosine_distance": "cosine",
    "pgv_halfvec_l1_distance": "l1",
    "pgv_hamming_distance": "hamming",
    "pgv_jaccard_distance": "jaccard",
    "pgv_sparsevec_l2_distance": "l2",
    "pgv_sparsevec_negative_inner_product": "ip",
    "pgv_sparsevec_cosine_distance": "cosine",
    "pgv_sparsevec_l1_distance": "l1",
}
# the column type each operator function ranks
OPERATOR_TYPE = {
    name: "bit"
    if "hamming" in name or "jaccard" in name
    else "halfvec"
    if "halfvec" in name
    else "sparsevec"
    if "sparsevec" in name
    else "vector"
    for name in OPERATOR_METRIC
}
OPERATOR_SYMBOL = {
    "l2": "<->",
    "ip": "<#>",
    "cosine": "<=>",
    "l1": "<+>",
    "hamming": "<~>",
    "jaccard": "<%>",
}
ANN_METHODS = ("hnsw", "ivfflat", "flat")

EXACT_MAX_ROWS = 2000
EXACT_BELOW_FRACTION = 0.02
ALLOWLIST_BELOW_FRACTION = 0.5


@dataclass(frozen=True, slots=True)
class AnnTopK:
    table_oid: int
    rel: str  # the relation name the SQL uses (registered in DuckDB under it)
    column: str  # catalog column name of the vector column
    metric: str  # l2 | ip | cosine | l1 | hamming | jaccard
    query: np.ndarray  # float32 (dims,); for bit columns the packed uint8 bits
    k: int  # LIMIT + OFFSET: rows the merge must deliver
    filter_sql: str | None  # DuckDB SQL selecting the _rowid of rows passing WHERE
    final_sql: str  # the statement itself, run on the winners only ("" with a projection)
    index: Index | None  # None: exact search (no index, or vecgres.enable_ann = off)
    ef_search: int
    probes: int
    max_probes: int
    exact_max_rows: int = EXACT_MAX_ROWS
    # ivfflat probes on past ``probes`` while a list may hold a better row
    # (vecgres.ivfflat_adaptive_probes; index/ivf_probe.py)
    adaptive_probes: bool = True
    # when the select list is only table columns and the ORDER BY distance:
    # (output name, column name or None for the distance) — built without DuckDB
    projection: tuple[tuple[str, str | None], ...] | None = None
    offset: int = 0
    exact_below_fraction: float = EXACT_BELOW_FRACTION
    allowlist_below_fraction: float = ALLOWLIST_BELOW_FRACTION
    key_type: str = "vector"  # vector | halfvec | bit | sparsevec: how the executor reads it
    query_text: str | None = None  # bit: the query's '0'/'1' string; sparsevec: its text
    # the WHERE's simple conjuncts (column <op> constant): segment pruning by min/max
    where: tuple[Condition, ...] = ()
    # how a short ANN search goes on before the exact completion (see module docstring):
    # off | relaxed_order | strict_order, for the chosen index's method
    iterative_scan: str = "off"
    max_scan_tuples: int = 20000
    # the whole WHERE as conditions on integer/boolean columns with their constants
    # (catalog column names): evaluated on each segment's columns without DuckDB
    filter_conditions: tuple[Condition, ...] | None = None


def choose_index(
    table: Table,
    column: str,
    metric: str,
    key_type: str = "vector",
    expression: str | None = None,
    where: list[Condition] | None = None,
) -> Index | None:
    """An ANN index on the column whose opclass matches the operator (pgvector:
    one index per distance operator). HNSW first, then IVFFlat, then FLAT."""
    found = [
        idx
        for idx in table.indexes
        if idx.method in ANN_METHODS
        and idx.columns == [column]
        and idx.expression == expression
        and idx.opclass is not None
        and idx.opclass.rsplit("_", 2)[-2] == metric
        and idx.opclass.startswith(key_type + "_")
        and _covers(idx, where or [])
    ]
    found.sort(key=lambda idx: ANN_METHODS.index(idx.method))
    return found[0] if found else None


def _covers(idx: Index, where: list[Condition]) -> bool:
    """A partial index serves a query whose WHERE implies its predicate (every
    condition of the predicate is a conjunct of the WHERE)."""
    if idx.predicate is None:
        return True
    conds = predicate.parse(idx.predicate)
    return conds is not None and predicate.implied(conds, where)


def plan_topk(
    table: Table,
    rel: str,
    column: str,
    operator: str,
    query: np.ndarray,
    k: int,
    filter_sql: str | None,
    final_sql: str,
    *,
    enable_ann: bool,
    ef_search: int,
    probes: int,
    max_probes: int,
    adaptive_probes: bool = True,
    exact_max_rows: int = EXACT_MAX_ROWS,
    projection: tuple[tuple[str, str | None], ...] | None = None,
    offset: int = 0,
    query_text: str | None = None,
    key_expression: tuple[str, str] | None = None,
    where: list[Condition] | None = None,
    hnsw_iterative_scan: str = "off",
    max_scan_tuples: int = 20000,
    ivfflat_iterative_scan: str = "off",
    filter_conditions: list[Condition] | None = None,
) -> AnnTopK:
    """``key_expression``: (key type, canonical text) when the ORDER BY ranks an
    expression of the column (``col::halfvec(n)``), matched to expression indexes."""
    metric = OPERATOR_METRIC[operator]
    key_type = OPERATOR_TYPE[operator]
    expression = None
    if key_expression is not None:
        key_type, expression = key_expression
    opclass_type = expression_type(key_type) if ">" in key_type else key_type
    index = (
        choose_index(table, column, metric, opclass_type, expression, where) if enable_ann else None
    )
    iterative = (
        hnsw_iterative_scan
        if index is not None and index.method == "hnsw"
        else ivfflat_iterative_scan
        if index is not None and index.method == "ivfflat"
        else "relaxed_order"
    )
    return AnnTopK(
        table_oid=table.oid,
        rel=rel,
        column=column,
        metric=metric,
        query=query,
        k=k,
        filter_sql=filter_sql,
        final_sql=final_sql,
        index=index,
        ef_search=ef_search,
        probes=probes,
        max_probes=max(max_probes, probes),
        adaptive_probes=adaptive_probes,
        exact_max_rows=exact_max_rows,
        projection=projection,
        offset=offset,
        key_type=key_type,
        query_text=query_text,
        where=tuple(where or ()),
        iterative_scan=iterative,
        max_scan_tuples=max_scan_tuples,
        filter_conditions=tuple(filter_conditions) if filter_conditions is not None else None,
    )
