"""T3: torn WAL tails, flipped bytes, bad lengths, truncated, missing and
zero-length files, leftover temp files. Each case must recover every
acknowledged row or refuse with XX001 naming the file, and never crash or
serve a guess. The offline checker must flag every refused case too."""

from __future__ import annotations

import random
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from harness import TABLE, figures, layout, payload_rows, read_rows, scaled, store_settings

from vecgres.errors import DataCorrupted
from vecgres.storage import check, wal
from vecgres.storage.batch import CommitBatch, TableChange
from vecgres.storage.store import Store


@dataclass
class Base:
    root: Path
    rows_by_lsn: dict[int, list[int]]  # visible rowids after each WAL record


def _build(root: Path) -> Base:
    rng = np.random.default_rng(3)
    store = Store.open(root, store_settings(seal_rows=10_000))
    store.set_layout(TABLE, layout())
    visible: set[int] = set()
    state: dict[int, list[int]] = {}

    def commit(change: TableChange, ids: list[int], dels: list[int]) -> None:
        lsn = store.commit(CommitBatch([change]))
        visible.update(ids)
        visible.difference_update(dels)
        state[lsn] = sorted(visible)

    commit(TableChange(TABLE, [payload_rows(0, 20, rng)]), list(range(20)), [])
    commit(TableChange(TABLE, [payload_rows(20, 20, rng)]), list(range(20, 40)), [])
    commit(TableChange(TABLE, deletes=np.array([3, 4])), [], [3, 4])
    store.flush()  # a segment and a delete file
    for k in range(3):  # WAL records after the checkpoint; the last two: 1 row, a delete
        start = 40 + 5 * k
        commit(TableChange(TABLE, [payload_rows(start, 5, rng)]), list(range(start, start + 5)), [])
    commit(TableChange(TABLE, [payload_rows(55, 1, rng)]), [55], [])
    commit(TableChange(TABLE, deletes=np.array([41])), [], [41])
    # crash: leave the WAL as it is
    store._closed = True
    assert store._wal is not None
    assert store._dir_lock is not None
    store._wal.close()
    store._dir_lock.release()
    return Base(root, state)


def _crash_close(store: Store) -> None:
    store._closed = True
    if store._wal is not None:
        store._wal.close()
    if store._dir_lock is not None:
        store._dir_lock.release()


def _records(path: Path) -> list[tuple[int, int, int]]:
    """(offset, size, lsn) of every record in a WAL file."""
    data = path.read_bytes()
    out = []
    offset = 0
    while offset < len(data):
        _m, length, lsn, _c = wal.HEADER.unpack_from(data, offset)
        out.append((offset, wal.HEADER_SIZE + length, lsn))
        offset += wal.HEADER_SIZE + length
    return out


def _wal_file(root: Path) -> Path:
    files = [p for p in sorted((root / "wal").glob("*.wal")) if p.stat().st_size]
    return files[-1]


class Tally:
    def __init__(self) -> None:
        self.cases = 0
        self.undetected = 0
        self.process_crashes = 0
        self.silent_wrong = 0
        self.check_missed = 0
        self.tail_cases = 0
        self.tail_recovered = 0

    def run(self, base: Base, work: Path, damage, expect: str, want_rows: list[int] | None) -> None:  # type: ignore[no-untyped-def]
        """expect: 'refuse' (XX001 naming a file) or 'recover' (with want_rows visible)."""
        self.cases += 1
        if work.exists():
            shutil.rmtree(work)
        shutil.copytree(base.root, work)
        name = damage(work)
        refused = None
        report = check.check_dir(str(work)) if expect == "refuse" else None
        try:
            store = Store.open(work, store_settings())
        except DataCorrupted as exc:
            refused = exc.message
        except Exception as exc:  # counted: no other exception may escape
            self.process_crashes += 1
            raise AssertionError(f"{name}: {exc!r}") from exc
        if expect == "refuse":
            if refused is None:
                store.close()
                self.undetected += 1
                raise AssertionError(f"{name}: corruption not detected")
            if report is not None and report.ok:
                self.check_missed += 1
            assert '"' in refused, refused  # names the file
            return
        self.tail_cases += 1
        if refused is not None:
            raise AssertionError(f"{name}: refused to start on a recoverable case: {refused}")
        try:
            rowids, ok = read_rows(store)
        finally:
            _crash_close(store)  # a checkpoint per case would dominate the run
        if sorted(rowids.tolist()) != want_rows or not ok.all():
            self.silent_wrong += 1
            raise AssertionError(f"{name}: wrong rows after recovery")
        self.tail_recovered += 1
        if self.tail_recovered % 10 == 1:
            after = check.check_dir(str(work))
            assert after.ok, after.summary()


@pytest.mark.crash
def test_corruption_matrix(tmp_path: Path, scratch: Path) -> None:
    base = _build(tmp_path / "base")
    work = scratch / "work"
    tally = Tally()
    wal_path = _wal_file(base.root)
    rel_wal = wal_path.relative_to(base.root)
    recs = _records(wal_path)
    lsns = sorted(base.rows_by_lsn)
    before_last_two = base.rows_by_lsn[recs[-3][2]]

    # (a) truncate at every byte inside the last two records
    for i, (offset, size, _lsn) in enumerate(recs[-2:]):
        want = before_last_two if i == 0 else base.rows_by_lsn[recs[-2][2]]
        for cut in range(offset, offset + size):

            def trunc(w: Path, cut: int = cut) -> str:
                p = w / rel_wal
                p.write_bytes(p.read_bytes()[:cut])
                return f"wal truncated at {cut}"

            tally.run(base, work, trunc, "recover", want)

    rng = random.Random(7)
    seg = next(base.root.glob("segments/*/*.arrow")).relative_to(base.root)
    dele = next(base.root.glob("segments/*/*.del")).relative_to(base.root)

    def flip(rel: Path, pos: int):  # type: ignore[no-untyped-def]
        def damage(w: Path) -> str:
            p = w / rel
            data = bytearray(p.read_bytes())
            data[pos % len(data)] ^= 1 << rng.randrange(8)
            p.write_bytes(bytes(data))
            return f"flip {rel} at {pos % len(data)}"

        return damage

    def truncate(rel: Path, size: int):  # type: ignore[no-untyped-def]
        def damage(w: Path) -> str:
            p = w / rel
            p.write_bytes(p.read_bytes()[:size])
            return f"truncate {rel} to {size}"

        return damage

    def remove(rel: Path):  # type: ignore[no-untyped-def]
        def damage(w: Path) -> str:
            (w / rel).unlink()
            return f"remove {rel}"

        return damage

    # (b) flipped bytes in a WAL record followed by valid ones: refuse
    middle = list(recs[:-1])
    n_random = scaled(500)  # RELIABILITY.md: CI 500, nightly 20,000 (scale 40)
    full_wal = wal_path.stat().st_size
    for k in range(n_random):
        kind = k % 5
        if kind == 0:
            off, size, _lsn = rng.choice(middle)
            tally.run(base, work, flip(rel_wal, off + rng.randrange(size)), "refuse", None)
        elif kind == 1:
            size = (base.root / seg).stat().st_size
            tally.run(base, work, flip(seg, rng.randrange(size)), "refuse", None)
        elif kind == 2:
            size = (base.root / "MANIFEST").stat().st_size
            tally.run(base, work, flip(Path("MANIFEST"), rng.randrange(size)), "refuse", None)
        elif kind == 3:
            size = (base.root / dele).stat().st_size
            tally.run(base, work, flip(dele, rng.randrange(size)), "refuse", None)
        else:
            target = rng.choice([seg, Path("MANIFEST"), dele])
            size = (base.root / target).stat().st_size
            tally.run(base, work, truncate(target, rng.randrange(size)), "refuse", None)

    # (c) bad lengths in the first record (valid records follow): refuse;
    # in the last record: a torn tail, recovered
    for bad in (0, 3, 2**31, full_wal + 1):

        def set_len(w: Path, at: int, bad: int = bad) -> str:
            p = w / rel_wal
            data = bytearray(p.read_bytes())
            struct.pack_into("<I", data, at + 4, bad)
            p.write_bytes(bytes(data))
            return f"length {bad} at {at}"

        tally.run(base, work, lambda w, b=bad: set_len(w, recs[0][0], b), "refuse", None)
        tally.run(
            base,
            work,
            lambda w, b=bad: set_len(w, recs[-1][0], b),
            "recover",
            base.rows_by_lsn[recs[-2][2]],
        )

    # (d, e, g) missing and zero-length files
    for rel in (seg, dele, Path("MANIFEST")):
        tally.run(
            base, work, remove(rel) if rel != Path("MANIFEST") else truncate(rel, 0), "refuse", None
        )
        tally.run(base, work, truncate(rel, 0), "refuse", None)

    # a missing MANIFEST: the WAL still starts at LSN 1 here, so replay rebuilds it all
    tally.run(base, work, remove(Path("MANIFEST")), "recover", base.rows_by_lsn[lsns[-1]])

    # ... but with the WAL recycled, refuse rather than start empty
    def no_manifest_no_wal(w: Path) -> str:
        (w / "MANIFEST").unlink()
        for p in (w / "wal").glob("*.wal"):
            p.unlink()
        return "no MANIFEST, no WAL"

    tally.run(base, work, no_manifest_no_wal, "refuse", None)

    # a WAL whose first records were recycled while the manifest is older: refuse
    def wal_gap(w: Path) -> str:
        p = w / rel_wal
        data = p.read_bytes()
        p.write_bytes(data[recs[-2][0] :])
        return "WAL gap"

    tally.run(base, work, wal_gap, "refuse", None)

    # (f) leftover temp files of every kind: removed, data intact
    def leftovers(w: Path) -> str:
        (w / "MANIFEST.tmp").write_bytes(b"garbage")
        (w / seg).with_suffix(".arrow.tmp").write_bytes(b"\0" * 100)
        (w / "segments" / "1" / "99.arrow.tmp").write_bytes(b"")
        return "leftover tmp files"

    tally.run(base, work, leftovers, "recover", base.rows_by_lsn[lsns[-1]])
    assert not list(work.rglob("*.tmp"))

    figures(
        "corrupt",
        cases=tally.cases,
        undetected=tally.undetected,
        process_crashes=tally.process_crashes,
        silent_wrong_results=tally.silent_wrong,
        check_missed=tally.check_missed,
        tail_recovered_pct=round(100 * tally.tail_recovered / max(1, tally.tail_cases), 1),
    )
    assert tally.check_missed == 0
