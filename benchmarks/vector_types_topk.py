"""Top-k over vector, halfvec, sparsevec and bit columns: exact, generic and indexed.

Prints, per type, the time of ``SELECT id FROM t ORDER BY col <op> q LIMIT 10``
(the top-k path: exact numpy on the stored columns), the same ranking written
``ORDER BY (col <op> q) + 0`` (DuckDB's generic path over the converted values),
and with a sparsevec hnsw index (index/sparse.py) and a bit_jaccard_ops index;
a sparsevec distance range (``WHERE s <-> q < r``, ~50 rows) the same three ways;
as the reference measured in the same run, numpy brute force over the same
data in memory. Run: ``.venv/bin/python benchmarks/vector_types_topk.py [rows] [dim]``.
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np

import vecgres
from vecgres.vector import bits, sparse


def _timed(fn: object, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    dim = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    rng = np.random.default_rng(0)
    data = rng.standard_normal((rows, dim)).astype(np.float32)
    sparse_data = np.where(rng.random((rows, dim)) < 0.05, data, 0).astype(np.float32)
    q = rng.standard_normal(dim).astype(np.float32)
    qs = np.where(rng.random(dim) < 0.05, q, 0).astype(np.float32)
    # sealed segments of 10k rows: the indexes are per sealed segment
    con = vecgres.connect(tempfile.mkdtemp(), seal_rows=10_000)
    cur = con.cursor()
    cur.execute(
        f"CREATE TABLE t (id int, v vector({dim}), h halfvec({dim}), "
        f"s sparsevec({dim}), b bit({dim}))"
    )
    batch = 1000
    for start in range(0, rows, batch):
        values = []
        for i in range(start, min(rows, start + batch)):
            vtext = "[" + ",".join(map(str, data[i].tolist())) + "]"
            stext = sparse.from_dense(sparse_data[i]).text()
            btext = "".join("1" if x > 0 else "0" for x in data[i])
            values.append(f"({i}, '{vtext}', '{vtext}', '{stext}', '{btext}')")
        cur.execute("INSERT INTO t VALUES " + ",".join(values))
    con.commit()
    qv = "[" + ",".join(map(str, q.tolist())) + "]"
    qsp = sparse.from_dense(qs).text()
    qb = "".join("1" if x > 0 else "0" for x in q)
    cases = [
        ("vector <->", f"SELECT id FROM t ORDER BY v <-> '{qv}' LIMIT 10"),
        ("halfvec <->", f"SELECT id FROM t ORDER BY h <-> '{qv}' LIMIT 10"),
        ("sparsevec <->", f"SELECT id FROM t ORDER BY s <-> '{qsp}' LIMIT 10"),
        ("sparsevec <#>", f"SELECT id FROM t ORDER BY s <#> '{qsp}' LIMIT 10"),
        ("bit <~>", f"SELECT id FROM t ORDER BY b <~> '{qb}' LIMIT 10"),
        ("bit <%>", f"SELECT id FROM t ORDER BY b <%> '{qb}' LIMIT 10"),
    ]
    print(f"rows={rows} dim={dim}")
    for label, sql in cases:
        secs = _timed(lambda sql=sql: cur.execute(sql) or cur.fetchall())
        generic = sql.replace("ORDER BY ", "ORDER BY (").replace(" LIMIT 10", ") + 0 LIMIT 10")
        secs_generic = _timed(lambda sql=generic: cur.execute(sql) or cur.fetchall())
        print(
            f"  {label:14s} vecgres {secs * 1000:8.1f} ms   generic (DuckDB) "
            f"{secs_generic * 1000:8.1f} ms"
        )
    # a sparsevec distance range holding ~50 rows: WHERE s <-> q < r
    d_sparse = np.sqrt(((sparse_data.astype(np.float64) - qs) ** 2).sum(1))
    radius = float(np.sort(d_sparse)[50])
    ranged = f"SELECT id FROM t WHERE s <-> '{qsp}' < {radius!r}"
    generic_range = f"SELECT id FROM t WHERE (s <-> '{qsp}') + 0 < {radius!r}"
    secs = _timed(lambda: cur.execute(ranged) or cur.fetchall())
    secs_generic = _timed(lambda: cur.execute(generic_range) or cur.fetchall())
    print(
        f"  {'sparsevec range':14s} vecgres {secs * 1000:8.1f} ms   generic (DuckDB) "
        f"{secs_generic * 1000:8.1f} ms"
    )
    cur.execute("CREATE INDEX ON t USING hnsw (s sparsevec_l2_ops)")
    cur.execute("CREATE INDEX ON t USING hnsw (s sparsevec_ip_ops)")
    cur.execute("CREATE INDEX ON t USING hnsw (b bit_jaccard_ops)")
    for label, sql in cases[2:4] + cases[5:]:
        secs = _timed(lambda sql=sql: cur.execute(sql) or cur.fetchall())
        print(f"  {label:14s} indexed {secs * 1000:8.1f} ms")
    secs = _timed(lambda: cur.execute(ranged) or cur.fetchall())
    print(f"  {'sparsevec range':14s} indexed {secs * 1000:8.1f} ms")
    half = data.astype(np.float16).astype(np.float32)
    packed, _ = bits.pack(["".join("1" if x > 0 else "0" for x in r) for r in data])
    rows_sparse = [sparse.from_dense(r) for r in sparse_data]
    qsparse = sparse.from_dense(qs)
    refs = [
        ("numpy vector", lambda: np.argsort(((data - q) ** 2).sum(1))[:10]),
        ("numpy halfvec", lambda: np.argsort(((half - q) ** 2).sum(1))[:10]),
        (
            "python sparse",
            lambda: np.argsort(sparse.distances("l2", list(rows_sparse), qsparse))[:10],
        ),
        ("numpy bit", lambda: np.argsort(bits.hamming_distances(packed, qb))[:10]),
    ]
    for label, fn in refs:
        print(f"  {label:14s} ref     {_timed(fn) * 1000:8.1f} ms")
    con.close()


if __name__ == "__main__":
    main()
