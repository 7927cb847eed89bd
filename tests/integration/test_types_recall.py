"""Recall of the indexes on halfvec, sparsevec and bit columns at pgvector's default
build and search settings (halfvec_*_ops, sparsevec_*_ops, bit_hamming_ops,
bit_jaccard_ops), with and without filters.

Small clustered data in 3 sealed segments; ``ann_exact_max_rows=0`` makes every
segment search its index (checked with EXPLAIN ANALYZE). Recall counts a returned
row as a hit when its distance is within the true 10th distance, so ties (Hamming
distances have many) do not count against an index.
"""

from __future__ import annotations

import numpy as np
import pytest
from annhelpers import distances, open_db, vec

pytestmark = [pytest.mark.recall]

DIMS = 16
ROWS = 1_500
SEG = 500
CLUSTERS = 30
QUERIES = 10
SPARSE_DIMS = 300
HALF_OPS = {"<->": "l2", "<#>": "ip", "<=>": "cosine", "<+>": "l1"}


def clustered(rng: np.random.Generator) -> np.ndarray:
    centers = rng.standard_normal((CLUSTERS, DIMS)) * 3
    return (centers[np.arange(ROWS) % CLUSTERS] + rng.standard_normal((ROWS, DIMS))).astype(
        np.float32
    )


def sparse_rows(rng: np.random.Generator) -> np.ndarray:
    """Rows with ~10 non-zeros each, clustered on shared dimensions."""
    x = np.zeros((ROWS, SPARSE_DIMS), np.float32)
    topics = rng.integers(0, SPARSE_DIMS, (CLUSTERS, 12))
    for i in range(ROWS):
        dims = rng.choice(topics[i % CLUSTERS], 8, replace=False)
        extra = rng.integers(0, SPARSE_DIMS, 2)
        x[i, np.concatenate([dims, extra])] = rng.random(10).astype(np.float32) + 0.1
    return x


def sparse_text(row: np.ndarray) -> str:
    nz = np.flatnonzero(row)
    return "{" + ",".join(f"{i + 1}:{float(row[i])!r}" for i in nz) + "}/" + str(len(row))


def bitstr(row: np.ndarray) -> str:
    return "".join("1" if b else "0" for b in row)


def bit_distances(x: np.ndarray, q: np.ndarray, op: str) -> np.ndarray:
    if op == "<~>":
        return (x != q).sum(1).astype(np.float64)
    inter = (x & q).sum(1).astype(np.float64)
    union = (x | q).sum(1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inter == 0, 1.0, 1.0 - inter / union)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    rng = np.random.default_rng(21)
    half = clustered(rng).astype(np.float16).astype(np.float32)
    bits = clustered(rng) > 0.5
    sp = sparse_rows(rng)
    con = open_db(str(tmp_path_factory.mktemp("types_recall") / "db"), seal_rows=SEG)
    cur = con.cursor()
    cur.execute(
        f"CREATE TABLE items (id int, cat int, h halfvec({DIMS}), b bit({DIMS}), "
        f"s sparsevec({SPARSE_DIMS}))"
    )
    for lo in range(0, ROWS, 250):
        values = ", ".join(
            f"({i}, {i % 100}, '{vec(half[i])}', '{bitstr(bits[i])}', '{sparse_text(sp[i])}')"
            for i in range(lo, lo + 250)
        )
        cur.execute(f"INSERT INTO items VALUES {values}")
    yield cur, half, bits, sp
    con.close()


def recall(
    cur, col: str, op: str, rows: np.ndarray, queries: list[tuple[str, np.ndarray]], cut: int
) -> float:
    """Tie-aware recall@10 over the queries, for rows with cat < cut."""
    mask = np.arange(ROWS) % 100 < cut
    where = f"WHERE cat < {cut}" if cut < 100 else ""
    hits = 0
    for text, d in queries:
        sql = f"SELECT id FROM items {where} ORDER BY {col} {op} %s LIMIT 10"
        cur.execute(sql, (text,))
        got = [r[0] for r in cur.fetchall()]
        assert len(got) == 10
        kth = np.sort(d[mask])[9]
        hits += int(sum(d[g] <= kth + 1e-9 for g in got))
    return hits / (10 * len(queries))


def uses_index(cur, col: str, op: str, text: str) -> bool:
    cur.execute(f"EXPLAIN ANALYZE SELECT id FROM items ORDER BY {col} {op} %s LIMIT 10", (text,))
    lines = [r[0] for r in cur.fetchall() if "Segment:" in r[0]]
    return len(lines) == ROWS // SEG and all(": ann" in line for line in lines)


@pytest.mark.parametrize(
    ("method", "op"),
    [(m, op) for m in ("hnsw", "ivfflat") for op in HALF_OPS if (m, op) != ("ivfflat", "<+>")],
)
def test_halfvec_recall(db, method, op):
    cur, half, _, _ = db
    rng = np.random.default_rng(3)
    queries = []
    for _ in range(QUERIES):
        q = (half[rng.integers(ROWS)] + rng.normal(0, 0.1, DIMS)).astype(np.float16)
        q32 = q.astype(np.float32)
        queries.append((vec(q32), distances(half, q32, op)))
    name = f"h_{method}_{HALF_OPS[op]}"
    options = " WITH (lists = 10)" if method == "ivfflat" else ""
    cur.execute(
        f"CREATE INDEX {name} ON items USING {method} (h halfvec_{HALF_OPS[op]}_ops){options}"
    )
    if method == "ivfflat":
        cur.execute("SET ivfflat.probes = 3")  # ~sqrt(lists), as pgvector's README suggests
    try:
        assert uses_index(cur, "h", op, queries[0][0])
        for cut in (100, 20):
            assert recall(cur, "h", op, half, queries, cut) >= 0.9
    finally:
        cur.execute(f"DROP INDEX {name}")
        cur.execute("RESET ivfflat.probes")


@pytest.mark.parametrize("op", list(HALF_OPS))
def test_sparsevec_recall_is_exact(db, op):
    cur, _, _, sp = db
    rng = np.random.default_rng(4)
    queries = []
    for _ in range(QUERIES):
        q = sp[rng.integers(ROWS)] * (rng.random(SPARSE_DIMS) < 0.7).astype(np.float32)
        if not q.any():
            continue
        queries.append((sparse_text(q), distances(sp, q, op)))
    name = f"s_{HALF_OPS[op]}"
    cur.execute(f"CREATE INDEX {name} ON items USING hnsw (s sparsevec_{HALF_OPS[op]}_ops)")
    try:
        assert uses_index(cur, "s", op, queries[0][0])
        for cut in (100, 20):
            # the inverted index scores exactly: nothing is missed
            assert recall(cur, "s", op, sp, queries, cut) == 1.0
    finally:
        cur.execute(f"DROP INDEX {name}")


@pytest.mark.parametrize(
    ("method", "op", "opclass"),
    [
        ("hnsw", "<~>", "bit_hamming_ops"),
        ("ivfflat", "<~>", "bit_hamming_ops"),
        ("hnsw", "<%>", "bit_jaccard_ops"),
    ],
)
def test_bit_recall(db, method, op, opclass):
    cur, _, bits, _ = db
    rng = np.random.default_rng(5)
    queries = []
    for _ in range(QUERIES):
        q = bits[rng.integers(ROWS)] ^ (rng.random(DIMS) < 0.05)
        queries.append((bitstr(q), bit_distances(bits, q, op)))
    name = f"b_{method}_{opclass}"
    options = " WITH (lists = 10)" if method == "ivfflat" else ""
    cur.execute(f"CREATE INDEX {name} ON items USING {method} (b {opclass}){options}")
    if method == "ivfflat":
        cur.execute("SET ivfflat.probes = 3")
    try:
        assert uses_index(cur, "b", op, queries[0][0])
        for cut in (100, 20):
            floor = 1.0 if opclass == "bit_jaccard_ops" else 0.9  # the Jaccard index is exact
            assert recall(cur, "b", op, bits, queries, cut) >= floor
    finally:
        cur.execute(f"DROP INDEX {name}")
        cur.execute("RESET ivfflat.probes")
