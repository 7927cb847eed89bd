"""T2 through the SQL layer: power cuts while DDL, multi-row INSERTs and
DELETEs run through vecgres.connect (catalog, sequences and rows share the
WAL). Acknowledged tables and rows survive; unacknowledged statements are
all or nothing."""

from __future__ import annotations

import random
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest
from harness import Ledger, figures, scaled

import vecgres
from vecgres.errors import VecgresError
from vecgres.storage import fileio

OPTS = {"fsync": True, "background_compaction": False, "seal_rows": 80}


def _workload(path: Path, ledger: Ledger, tables: list[list[object]], seed: int) -> None:
    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    con = vecgres.connect(str(path), **OPTS)
    con.autocommit = True
    cur = con.cursor()
    tables.append(["t", "unknown"])
    cur.execute("CREATE TABLE t (rid bigint, crc bigint, v vector(4))")
    tables[-1][1] = "ok"
    rid = 0
    for step in range(25):
        r = rng.random()
        if r < 0.75:
            n = rng.randint(1, 30)
            vecs = nprng.standard_normal((n, 4), dtype=np.float32)
            values = ",".join(
                f"({rid + i}, {zlib.crc32(v.tobytes())}, '[{','.join(repr(float(x)) for x in v)}]')"
                for i, v in enumerate(vecs)
            )
            entry = ledger.begin("insert", list(range(rid, rid + n)))
            rid += n
            cur.execute(f"INSERT INTO t VALUES {values}")
            entry.status = "ok"
        elif r < 0.9:
            live = ledger.acked_live()
            if live:
                victims = sorted(rng.sample(live, min(3, len(live))))
                entry = ledger.begin("delete", victims)
                cur.execute(f"DELETE FROM t WHERE rid IN ({','.join(map(str, victims))})")
                entry.status = "ok"
        else:
            name = f"extra{step}"
            tables.append([name, "unknown"])
            cur.execute(f"CREATE TABLE {name} (a int)")
            tables[-1][1] = "ok"


@pytest.mark.crash
def test_power_cuts_through_sql(scratch: Path) -> None:
    runs = scaled(20)
    lost = atomicity = tables_lost = refused = mid_workload = 0
    for seed in range(runs):
        live, image = scratch / f"live{seed}", scratch / f"image{seed}"
        live.mkdir()
        sim = fileio.PowerCutSim(
            str(live), str(image), seed=seed, cut_at=1 + random.Random(seed).randrange(110)
        )
        fileio.HOOKS.powercut = sim
        ledger = Ledger()
        tables: list[list[object]] = []
        try:
            _workload(live, ledger, tables, seed)
        except (fileio.PowerCut, VecgresError):
            mid_workload += 1  # the statement in flight stays "unknown"
        finally:
            fileio.reset_hooks()
        if not sim.done:
            sim.cut()
        try:
            con = vecgres.connect(str(image), **OPTS)
        except VecgresError as exc:
            refused += 1
            raise AssertionError(
                f"seed {seed}: refused to start: {exc.code} {exc.message}"
            ) from exc
        try:
            con.autocommit = True
            cur = con.cursor()
            names: set[str] = set()
            for name, _st in tables:
                code = None
                try:
                    cur.execute(f"SELECT count(*) FROM {name}")
                    cur.fetchall()
                    names.add(str(name))
                except VecgresError as exc:
                    code = exc.code
                assert code in (None, "42P01")
            missing = [t for t, st in tables if st == "ok" and t not in names]
            tables_lost += len(missing)
            rows: list[tuple[int, int, object]] = []
            if "t" in names:
                cur.execute("SELECT rid, crc, v FROM t")
                rows = cur.fetchall()
        finally:
            con.close()
        rids = np.array([r[0] for r in rows], dtype=np.int64)
        ok = np.array(
            [
                zlib.crc32(
                    np.array(
                        np.fromstring(v.strip("[]"), sep=",") if isinstance(v, str) else v,
                        dtype=np.float32,
                    ).tobytes()
                )
                == (crc & 0xFFFFFFFF)
                for _r, crc, v in rows
            ],
            dtype=bool,
        )
        outcome = ledger.verify(rids, ok)
        lost += outcome.acked_rows_lost
        atomicity += outcome.atomicity_violations
        assert outcome.clean, f"seed {seed}: {outcome}"
        assert not missing, f"seed {seed}: acknowledged tables lost: {missing}"
        shutil.rmtree(live)
        shutil.rmtree(image)
    figures(
        "powercut.sql",
        runs=runs,
        cuts_mid_workload=mid_workload,
        acked_rows_lost=lost,
        atomicity_violations=atomicity,
        acked_tables_lost=tables_lost,
        refused_start=refused,
    )
