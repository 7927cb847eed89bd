"""vecgres against a Python model: random writes, seals, compactions and restarts.

Hypothesis drives inserts (VALUES and Parquet COPY), updates, deletes,
rolled-back transactions, seals, compactions and restarts through
``vecgres.connect()``; after every step the database must agree with a dict:
``count(*)``, primary-key lookups, and exact top-k for all four pgvector
metrics with and without a filter, against numpy brute force on the model.
Only SQL is used to read (the top-k executor is an implementation detail).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import vecgres

DIM = 4
CATS = 3
OPS = {"<->": "l2", "<=>": "cosine", "<#>": "ip", "<+>": "l1"}

# small integer components: distances are exact enough to compare, ties are common
components = st.integers(min_value=-4, max_value=4)
vectors = st.lists(components, min_size=DIM, max_size=DIM).filter(lambda v: any(v))
ids = st.integers(min_value=1, max_value=60)


def _distances(metric: str, data: np.ndarray, q: np.ndarray) -> np.ndarray:
    if metric == "l2":
        return np.sqrt(((data - q) ** 2).sum(axis=1))
    if metric == "l1":
        return np.abs(data - q).sum(axis=1)
    if metric == "ip":
        return -(data @ q)
    norms = np.linalg.norm(data, axis=1) * np.linalg.norm(q)
    return 1.0 - (data @ q) / norms


def _lit(vec: list[int] | np.ndarray) -> str:
    return "[" + ",".join(str(int(x)) for x in vec) + "]"


class VecgresModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="vecgres-model-"))
        self.model: dict[int, tuple[int, list[int]]] = {}
        self.files = 0
        self._open()
        self.cur.execute(
            f"CREATE TABLE items (id bigint PRIMARY KEY, cat int NOT NULL, emb vector({DIM}))"
        )

    def _open(self) -> None:
        # tiny segments so a few rows already span sealed and growing segments
        self.con = vecgres.connect(
            str(self.dir / "db"),
            seal_rows=8,
            compaction_small_rows=16,
            background_compaction=False,
            fsync=False,
        )
        self.con.autocommit = True
        self.cur = self.con.cursor()

    def teardown(self) -> None:
        self.con.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- writes ---------------------------------------------------------------------------

    @rule(rows=st.lists(st.tuples(ids, st.integers(0, CATS - 1), vectors), max_size=6))
    def insert(self, rows: list[tuple[int, int, list[int]]]) -> None:
        fresh: dict[int, tuple[int, list[int]]] = {}
        for key, cat, vec in rows:
            if key not in self.model and key not in fresh:
                fresh[key] = (cat, vec)
        if not fresh:
            return
        self.cur.executemany(
            "INSERT INTO items (id, cat, emb) VALUES (%s, %s, %s)",
            [(key, cat, _lit(vec)) for key, (cat, vec) in fresh.items()],
        )
        self.model.update(fresh)

    @rule(rows=st.lists(st.tuples(ids, st.integers(0, CATS - 1), vectors), max_size=10))
    def copy_parquet(self, rows: list[tuple[int, int, list[int]]]) -> None:
        fresh: dict[int, tuple[int, list[int]]] = {}
        for key, cat, vec in rows:
            if key not in self.model and key not in fresh:
                fresh[key] = (cat, vec)
        self.files += 1
        path = self.dir / f"batch{self.files}.parquet"
        flat = [float(x) for _, vec in fresh.values() for x in vec]
        pq.write_table(
            pa.table(
                {
                    "id": pa.array(list(fresh), pa.int64()),
                    "cat": pa.array([c for c, _ in fresh.values()], pa.int32()),
                    "emb": pa.FixedSizeListArray.from_arrays(pa.array(flat, pa.float32()), DIM),
                }
            ),
            path,
        )
        self.cur.execute(f"COPY items FROM '{path}' WITH (FORMAT parquet)")
        assert self.cur.statusmessage == f"COPY {len(fresh)}"
        self.model.update(fresh)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), cat=st.integers(0, CATS - 1), vec=vectors)
    def update(self, data: Any, cat: int, vec: list[int]) -> None:
        key = data.draw(st.sampled_from(sorted(self.model)))
        self.cur.execute("UPDATE items SET cat = %s, emb = %s WHERE id = %s", (cat, _lit(vec), key))
        assert self.cur.rowcount == 1
        self.model[key] = (cat, vec)

    @rule(keys=st.lists(ids, min_size=1, max_size=4))
    def delete(self, keys: list[int]) -> None:
        self.cur.execute(f"DELETE FROM items WHERE id IN ({', '.join(map(str, keys))})")
        gone = {k for k in keys if k in self.model}
        assert self.cur.rowcount == len(gone)
        for key in gone:
            del self.model[key]

    @rule(cat=st.integers(0, CATS - 1))
    def delete_category(self, cat: int) -> None:
        self.cur.execute("DELETE FROM items WHERE cat = %s", (cat,))
        gone = [k for k, (c, _) in self.model.items() if c == cat]
        assert self.cur.rowcount == len(gone)
        for key in gone:
            del self.model[key]

    @rule(key=ids, vec=vectors)
    def rolled_back(self, key: int, vec: list[int]) -> None:
        self.con.autocommit = False
        try:
            self.cur.execute("DELETE FROM items")
            if key not in self.model:
                self.cur.execute("INSERT INTO items VALUES (%s, 0, %s)", (key, _lit(vec)))
            self.con.rollback()
        finally:
            self.con.autocommit = True

    # --- storage events ---------------------------------------------------------------------
    # there is no SQL command for these yet (CHECKPOINT/VACUUM), so the test asks storage

    @rule()
    def seal(self) -> None:
        self.con._db.store.flush()

    @rule()
    def compact(self) -> None:
        self.con._db.store.compact()

    @rule()
    def restart(self) -> None:
        self.con.close()
        self._open()

    # --- what must hold -----------------------------------------------------------------------

    @invariant()
    def count_agrees(self) -> None:
        self.cur.execute("SELECT count(*) FROM items")
        assert self.cur.fetchone() == (len(self.model),)

    @rule(key=ids)
    def lookup(self, key: int) -> None:
        self.cur.execute("SELECT cat, emb FROM items WHERE id = %s", (key,))
        rows = self.cur.fetch_arrow()
        if key not in self.model:
            assert rows.num_rows == 0
            return
        assert rows.num_rows == 1
        cat, vec = self.model[key]
        assert rows.column("cat")[0].as_py() == cat
        assert rows.column("emb")[0].as_py() == [float(x) for x in vec]

    @rule(
        op=st.sampled_from(sorted(OPS)),
        q=vectors,
        k=st.integers(1, 12),
        cat=st.none() | st.integers(0, CATS - 1),
    )
    def topk(self, op: str, q: list[int], k: int, cat: int | None) -> None:
        where = "" if cat is None else f"WHERE cat = {cat}"
        self.cur.execute(
            f"SELECT id, emb {op} %s AS d FROM items {where} ORDER BY d LIMIT %s", (_lit(q), k)
        )
        got = self.cur.fetchall()
        keys = [key for key, (c, _) in self.model.items() if cat is None or c == cat]
        if not keys:
            assert got == []
            return
        data = np.array([self.model[key][1] for key in keys], dtype=np.float64)
        dist = _distances(OPS[op], data, np.array(q, dtype=np.float64))
        expected = np.sort(dist)[:k]
        assert len(got) == len(expected)
        # ties make the ids ambiguous: compare the distances, and each id's own distance
        np.testing.assert_allclose([d for _, d in got], expected, rtol=1e-5, atol=1e-5)
        by_id = dict(zip(keys, dist, strict=True))
        for key, d in got:
            assert key in by_id
            assert abs(by_id[key] - d) <= 1e-5 + 1e-5 * abs(d)


VecgresModel.TestCase.settings = settings(
    max_examples=12,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


@pytest.mark.fuzz
class TestVecgresModel(VecgresModel.TestCase):  # type: ignore[misc,valid-type]
    pass
