"""D6 / T3(d): ANN index files are derived data. Each file is damaged the ways a
crash, a torn write or a bad disk leave it (flipped byte in the header or the
body, truncated, zero-length, deleted, checksum file deleted or garbled, a
stale checksum after an interrupted rebuild, a half-written ``*.tmp`` of an
interrupted write), then the database is reopened and queried:

- the checker (``vecgres check``'s index part, registered with
  ``vecgres.storage.check.register``) reports the damage before the open;
- faiss never reads damaged bytes: every ``faiss.read_index`` is watched and
  the file's bytes at that moment must be the ones its checksum file lists
  and none of the damaged contents the test wrote;
- the kNN answer equals exact search (``vecgres.enable_ann = off``) and numpy;
- the damaged file is rebuilt (its bytes match its checksum file again), no
  ``*.tmp`` is left, and ``SELECT vecgres_check()`` is clean.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
import pytest
from harness import figures

import vecgres
from vecgres.storage import check

DIMS = 8
ROWS = 1200  # four sealed segments of 300 rows


def _vec(v: np.ndarray) -> str:
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


def _connect(path: str) -> vecgres.dbapi.Connection:
    con = vecgres.connect(
        path, seal_rows=300, fsync=False, background_compaction=False, ann_exact_max_rows=0
    )
    con.autocommit = True
    return con


def _index_files(root: str) -> list[str]:
    return sorted(glob.glob(os.path.join(root, "indexes", "*", "*.faiss")))


def _healthy(path: str) -> bool:
    try:
        summary = json.loads(Path(path + ".sum").read_bytes())
        data = Path(path).read_bytes()
    except (OSError, ValueError):
        return False
    return bool(summary.get("nbytes") == len(data) and summary.get("crc32") == zlib.crc32(data))


# --- the damage -----------------------------------------------------------------------


def _flip(at: Callable[[int], int]) -> Callable[[str], tuple[bytes, str]]:
    def damage(path: str) -> tuple[bytes, str]:
        raw = bytearray(Path(path).read_bytes())
        raw[at(len(raw))] ^= 0xFF
        Path(path).write_bytes(bytes(raw))
        return bytes(raw), "problem"

    return damage


def _truncate(keep: Callable[[int], int]) -> Callable[[str], tuple[bytes, str]]:
    def damage(path: str) -> tuple[bytes, str]:
        raw = Path(path).read_bytes()[: keep(len(Path(path).read_bytes()))]
        Path(path).write_bytes(raw)
        return raw, "problem"

    return damage


def _delete(path: str) -> tuple[bytes, str]:
    os.unlink(path)
    return b"", "none"  # a missing index is not corruption: it is built again


def _delete_sum(path: str) -> tuple[bytes, str]:
    os.unlink(path + ".sum")
    return Path(path).read_bytes(), "note"


def _garble_sum(path: str) -> tuple[bytes, str]:
    Path(path + ".sum").write_bytes(b'{"crc32": 12')
    return Path(path).read_bytes(), "problem"


def _wrong_tag(path: str) -> tuple[bytes, str]:
    """The index definition changed (another build spec): the file is stale."""
    summary = json.loads(Path(path + ".sum").read_bytes())
    summary["tag"] = "hnsw:l2:8:99:99:1:"
    Path(path + ".sum").write_bytes(json.dumps(summary).encode())
    return Path(path).read_bytes(), "none"


def _other_segments_data(path: str) -> tuple[bytes, str]:
    """A rebuild renamed its new data file, then died before writing the new sum
    (or a misdirected write): a valid faiss index, but not the one the sum lists."""
    others = _index_files(os.path.dirname(os.path.dirname(os.path.dirname(path))))
    other = next(p for p in others if p != path)
    raw = Path(other).read_bytes()
    Path(path).write_bytes(raw)
    return raw, "problem"


def _other_segments_file_and_sum(path: str) -> tuple[bytes, str]:
    """Another segment's index file copied over this one together with its sum:
    checksums match, but the rows are another segment's."""
    others = _index_files(os.path.dirname(os.path.dirname(os.path.dirname(path))))
    other = next(p for p in others if p != path)
    shutil.copyfile(other, path)
    shutil.copyfile(other + ".sum", path + ".sum")
    return Path(path).read_bytes(), "problem"


def _tmp_no_file(path: str) -> tuple[bytes, str]:
    """Killed in the middle of writing the file's first version: a partial
    ``.tmp`` and neither the file nor its sum."""
    raw = Path(path).read_bytes()
    os.unlink(path)
    os.unlink(path + ".sum")
    Path(path + ".tmp").write_bytes(raw[: len(raw) // 2])
    return raw[: len(raw) // 2], "note"


def _tmp_beside_file(path: str) -> tuple[bytes, str]:
    """Killed in the middle of a rebuild: a partial ``.tmp`` beside the intact old file."""
    raw = Path(path).read_bytes()
    Path(path + ".tmp").write_bytes(raw[: len(raw) // 3])
    return raw[: len(raw) // 3], "note"


def _sum_tmp(path: str) -> tuple[bytes, str]:
    """Killed between the data rename and the sum file's rename: new data, the
    new sum only as a ``.tmp``, no sum."""
    raw = Path(path).read_bytes()
    os.replace(path + ".sum", path + ".sum.tmp")
    return raw, "note"


CASES: dict[str, Callable[[str], tuple[bytes, str]]] = {
    "flip_header": _flip(lambda n: 2),
    "flip_middle": _flip(lambda n: n // 2),
    "flip_last": _flip(lambda n: n - 1),
    "truncate_half": _truncate(lambda n: n // 2),
    "truncate_one": _truncate(lambda n: n - 1),
    "zero_length": _truncate(lambda n: 0),
    "deleted": _delete,
    "sum_deleted": _delete_sum,
    "sum_garbled": _garble_sum,
    "sum_wrong_tag": _wrong_tag,
    "other_segments_data": _other_segments_data,
    "other_segments_file_and_sum": _other_segments_file_and_sum,
    "tmp_without_file": _tmp_no_file,
    "tmp_beside_file": _tmp_beside_file,
    "sum_only_tmp": _sum_tmp,
}
# the cases that change the index file's bytes (the others rebuild identical bytes)
DATA_DAMAGED = frozenset(CASES) - {
    "deleted",
    "sum_deleted",
    "sum_garbled",
    "sum_wrong_tag",
    "sum_only_tmp",
}
METHODS = {
    "hnsw": "USING hnsw (embedding vector_l2_ops)",
    "ivfflat": "USING ivfflat (embedding vector_l2_ops) WITH (lists = 4)",
}


# --- the database, built once per index method -----------------------------------------------


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return np.random.default_rng(6).standard_normal((ROWS, DIMS)).astype(np.float32)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, data: np.ndarray) -> dict[str, str]:
    out: dict[str, str] = {}
    for method, using in METHODS.items():
        path = str(tmp_path_factory.mktemp(method) / "db")
        con = _connect(path)
        cur = con.cursor()
        cur.execute(f"CREATE TABLE items (id int, embedding vector({DIMS}))")
        for lo in range(0, ROWS, 300):
            rows = ", ".join(f"({i}, '{_vec(data[i])}')" for i in range(lo, lo + 300))
            cur.execute(f"INSERT INTO items VALUES {rows}")
        cur.execute(f"CREATE INDEX items_idx ON items {using}")
        con.close()
        assert len(_index_files(path)) == 4
        out[method] = path
    return out


Read = tuple[str, bytes, dict[str, object] | None]


@pytest.fixture
def read_log(monkeypatch: pytest.MonkeyPatch) -> list[Read]:
    """Every faiss.read_index: (path, the file's bytes then, its sum file then)."""
    log: list[Read] = []
    real = faiss.read_index

    def watched(path: str, *args: object) -> faiss.Index:
        try:
            summary = json.loads(Path(path + ".sum").read_bytes())
        except (OSError, ValueError):
            summary = None
        log.append((path, Path(path).read_bytes(), summary))
        return real(path, *args)

    monkeypatch.setattr(faiss, "read_index", watched)
    return log


def _verified(read: Read, tag: str) -> bool:
    """What faiss read was the file its sum describes, for this spec and this segment."""
    path, raw, summary = read
    if summary is None:
        return False
    table, name = os.path.basename(os.path.dirname(path)), os.path.basename(path)
    key = [int(table), *map(int, name.split(".")[:2])]
    return bool(
        summary.get("nbytes") == len(raw)
        and summary.get("crc32") == zlib.crc32(raw)
        and summary.get("tag") == tag
        and summary.get("key") == key
    )


def _knn(cur: vecgres.dbapi.Cursor, q: np.ndarray, k: int = 10) -> list[int]:
    cur.execute(f"SELECT id FROM items ORDER BY embedding <-> '{_vec(q)}' LIMIT {k}")
    return [r[0] for r in cur.fetchall()]


def _wait(predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _run_case(root: str, data: np.ndarray, read_log: list[Read], case: str) -> dict[str, object]:
    """Damage one index file, check offline, reopen, query, wait for the rebuild."""
    target = _index_files(root)[1]
    tag = json.loads(Path(target + ".sum").read_bytes())["tag"]
    damaged, expect = CASES[case](target)
    # the offline checker sees it: a problem for damaged bytes, a note for a crash's leftovers
    report = check.check_dir(root)
    name = os.path.basename(target)
    problem = any(name in t for t in report.problems)
    noted = any(name in t for t in report.notes)
    detected = {"problem": problem, "note": noted and report.ok, "none": report.ok}[expect]

    read_log.clear()
    con = _connect(root)
    cur = con.cursor()
    cur.execute("SET ivfflat.probes = 4")  # exhaustive: ANN answers equal exact ones
    cur.execute("SET hnsw.ef_search = 1000")
    probes = np.random.default_rng(3).standard_normal((5, DIMS)).astype(np.float32)
    wrong = 0
    for q in probes:
        want = np.argsort(np.linalg.norm(data - q, axis=1), kind="stable")[:10].tolist()
        cur.execute("SET vecgres.enable_ann = off")
        exact = _knn(cur, q)
        cur.execute("SET vecgres.enable_ann = on")
        ann = _knn(cur, q)
        wrong += exact != want or ann != want
    # the background builder replaces the damaged file with a verified one
    rebuilt = _wait(
        lambda: _healthy(target) and json.loads(Path(target + ".sum").read_bytes())["tag"] == tag
    )
    # a rebuild that writes the same bytes is healthy beside the old sum file before
    # its own sum's ``.tmp`` is renamed: give that write its moment
    tmp = os.path.join(root, "indexes", "*", "*.tmp")
    _wait(lambda: not glob.glob(tmp), timeout=5.0)
    leftovers = glob.glob(tmp)
    cur.execute("SELECT vecgres_check()")
    (online,) = cur.fetchone()
    con.close()
    # every read faiss made saw verified bytes, and never the damaged contents
    loaded_damaged = sum(
        1
        for read in read_log
        if not _verified(read, tag)
        or (case in DATA_DAMAGED and read[0] == target and read[1] == damaged)
    )
    return {
        "detected": detected,
        "loaded_damaged": loaded_damaged,
        "wrong": wrong,
        "rebuilt": rebuilt,
        "leftovers": leftovers,
        "online_ok": online.startswith("ok"),
        "loads": len(read_log),
    }


def test_damaged_index_files_are_rebuilt_never_loaded(
    tmp_path: Path,
    built: dict[str, str],
    data: np.ndarray,
    read_log: list[Read],
) -> None:
    failures: list[str] = []
    totals = dict.fromkeys(
        ["cases", "check_missed", "loaded_damaged", "wrong_results", "not_rebuilt"], 0
    )
    for method in sorted(METHODS):
        for case in sorted(CASES):
            root = str(tmp_path / f"{method}-{case}")
            shutil.copytree(built[method], root)
            got = _run_case(root, data, read_log, case)
            totals["cases"] += 1
            totals["check_missed"] += not got["detected"]
            totals["loaded_damaged"] += bool(got["loaded_damaged"])
            totals["wrong_results"] += bool(got["wrong"])
            totals["not_rebuilt"] += not got["rebuilt"]
            bad = (
                not got["detected"]
                or got["loaded_damaged"]
                or got["wrong"]
                or not got["rebuilt"]
                or got["leftovers"]
                or not got["online_ok"]
                or got["loads"] < 3  # the three undamaged files load, they are not rebuilt
            )
            if bad:
                failures.append(f"{method}/{case}: {got}")
            shutil.rmtree(root, ignore_errors=True)
    figures("indexfiles", **totals)
    assert not failures, "\n".join(failures)
