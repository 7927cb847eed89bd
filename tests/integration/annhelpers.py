"""What the ANN tests share: numpy reference distances, vector literals, a small database."""

from __future__ import annotations

import numpy as np

import vecgres
from vecgres.dbapi import Connection


def distances(x: np.ndarray, q: np.ndarray, op: str) -> np.ndarray:
    """pgvector's ``<->``, ``<#>``, ``<=>``, ``<+>`` for every row, in float64."""
    x64, q64 = x.astype(np.float64), q.astype(np.float64)
    if op == "<->":
        return np.sqrt(((x64 - q64) ** 2).sum(1))
    if op == "<#>":
        return -(x64 @ q64)
    if op == "<=>":
        return 1 - (x64 @ q64) / (np.linalg.norm(x64, axis=1) * np.linalg.norm(q64))
    return np.abs(x64 - q64).sum(1)


def vec(v: np.ndarray) -> str:
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


def open_db(path: str, **overrides: object) -> Connection:
    """Small sealed segments, and ANN even on few matching rows, so index paths run."""
    opts: dict[str, object] = {
        "seal_rows": 300,
        "fsync": False,
        "background_compaction": False,
        "ann_exact_max_rows": 0,
    }
    opts.update(overrides)
    con = vecgres.connect(path, **opts)
    con.autocommit = True
    return con
