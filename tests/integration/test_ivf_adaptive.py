"""IVFFlat adaptive probing (index/ivf_probe.py): ``ivfflat.probes`` is the floor,
``ivfflat.max_probes`` the cap, ``vecgres.ivfflat_adaptive_probes = off`` pgvector's
fixed probes; the list radii live in the checksummed index file."""

from __future__ import annotations

import json
import os
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from annhelpers import distances, open_db, vec
from test_ann import four_segments, index_files, knn, synthetic, wait_for

from vecgres.dbapi import Error as VecgresError

OPCLASS = {"<->": "vector_l2_ops", "<#>": "vector_ip_ops", "<=>": "vector_cosine_ops"}


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "db")
    # four sealed segments of 300 rows: 7 lists each
    con, cur = four_segments(path)
    yield path, con, cur
    con.close()


def lists_probed(cur, sql: str) -> list[int]:
    cur.execute("EXPLAIN ANALYZE " + sql)
    lines = [r[0] for r in cur.fetchall() if "Segment: segment" in r[0]]
    assert len(lines) == 4, lines
    found = [re.search(r" lists=(\d+)", line) for line in lines]
    assert all(found), lines
    return [int(m.group(1)) for m in found if m]


def show(cur, name: str) -> str:
    cur.execute(f"SHOW {name}")
    return str(cur.fetchone()[0])


def test_setting_set_show_reset(db):
    _path, _con, cur = db
    assert show(cur, "vecgres.ivfflat_adaptive_probes") == "on"
    assert show(cur, "ivfflat.probes") == "1"  # pgvector's default stays
    cur.execute("SET vecgres.ivfflat_adaptive_probes = off")
    assert show(cur, "vecgres.ivfflat_adaptive_probes") == "off"
    cur.execute("RESET vecgres.ivfflat_adaptive_probes")
    assert show(cur, "vecgres.ivfflat_adaptive_probes") == "on"
    with pytest.raises(VecgresError) as err:
        cur.execute("SET vecgres.ivfflat_adaptive_probes = maybe")
    assert err.value.sqlstate == "22023"
    assert 'parameter "vecgres.ivfflat_adaptive_probes" requires a Boolean value' in str(err.value)
    cur.execute("SELECT current_setting('vecgres.ivfflat_adaptive_probes')")
    assert cur.fetchone()[0] == "on"


@pytest.mark.parametrize("op", list(OPCLASS))
def test_adaptive_probes_past_the_floor_and_finds_the_true_neighbours(db, op):
    _path, _con, cur = db
    x = synthetic(1200)
    cur.execute(f"CREATE INDEX ON items USING ivfflat (embedding {OPCLASS[op]}) WITH (lists = 7)")
    queries = x[::97] + 0.01
    hits = fixed_hits = 0
    probed: list[int] = []
    for q in queries:
        truth = set(np.argsort(distances(x, q, op))[:10].tolist())
        sql = f"SELECT id FROM items ORDER BY embedding {op} '{vec(q)}' LIMIT 10"
        hits += len(truth & set(knn(cur, op, q, 10)))
        probed += lists_probed(cur, sql)
        cur.execute("SET vecgres.ivfflat_adaptive_probes = off")
        fixed_hits += len(truth & set(knn(cur, op, q, 10)))
        assert lists_probed(cur, sql) == [1, 1, 1, 1]  # pgvector: probes lists, no more
        cur.execute("RESET vecgres.ivfflat_adaptive_probes")
    recall, fixed = hits / (10 * len(queries)), fixed_hits / (10 * len(queries))
    # one list of 7 misses neighbours; the bound probes on until none is left
    assert fixed < 0.9
    assert recall >= 0.99
    assert min(probed) >= 1
    assert max(probed) > 1
    assert max(probed) <= 7


def test_inner_product_bound_is_exact(db):
    """Inner product has no relaxation: the result equals probing every list."""
    _path, _con, cur = db
    x = synthetic(1200)
    cur.execute("CREATE INDEX ON items USING ivfflat (embedding vector_ip_ops) WITH (lists = 7)")
    for q in x[5::131]:
        got = knn(cur, "<#>", q, 10)
        cur.execute("SET ivfflat.probes = 7")
        cur.execute("SET vecgres.ivfflat_adaptive_probes = off")
        assert knn(cur, "<#>", q, 10) == got
        cur.execute("RESET ivfflat.probes")
        cur.execute("RESET vecgres.ivfflat_adaptive_probes")
        assert got == np.argsort(distances(x, q, "<#>"), kind="stable")[:10].tolist()


def test_max_probes_caps_and_probes_wins_over_a_lower_cap(db):
    _path, _con, cur = db
    x = synthetic(1200)
    cur.execute("CREATE INDEX ON items USING ivfflat (embedding vector_ip_ops) WITH (lists = 7)")
    sql = f"SELECT id FROM items ORDER BY embedding <#> '{vec(x[3])}' LIMIT 10"
    assert max(lists_probed(cur, sql)) > 2
    cur.execute("SET ivfflat.max_probes = 2")
    assert max(lists_probed(cur, sql)) == 2
    cur.execute("SET ivfflat.probes = 3")  # pgvector: max_probes below probes, probes wins
    assert lists_probed(cur, sql) == [3, 3, 3, 3]


def test_filtered_and_partial_indexes_probe_adaptively(tmp_path):
    path = str(tmp_path / "db")
    con, cur = four_segments(path)
    x = synthetic(1200)
    cur.execute(
        "CREATE INDEX ON items USING ivfflat (embedding vector_l2_ops) WITH (lists = 7) "
        "WHERE cat < 50"
    )
    mask = np.arange(1200) % 100 < 30
    hits = 0
    for q in x[::151]:
        where = "WHERE cat < 50 AND cat < 30"
        got = knn(cur, "<->", q, 10, where)
        assert len(got) == 10
        d = distances(x, q, "<->")
        truth = np.flatnonzero(mask)[np.argsort(d[mask])[:10]]
        hits += len(set(got) & set(truth.tolist()))
    assert hits / (10 * len(x[::151])) >= 0.95
    con.close()


def test_quantized_ivfflat_keeps_fixed_probes(db):
    _path, _con, cur = db
    x = synthetic(1200)
    cur.execute(
        "CREATE INDEX ON items USING ivfflat (embedding vector_l2_ops) "
        "WITH (lists = 7, quantization = 'sq8')"
    )
    sql = f"SELECT id FROM items ORDER BY embedding <-> '{vec(x[3])}' LIMIT 10"
    assert lists_probed(cur, sql) == [1, 1, 1, 1]


def _strip_radii(path: str) -> None:
    """Make ``path`` what vecgres wrote before radii were stored: faiss's bytes only,
    with a matching sum file."""
    raw = Path(path).read_bytes()
    count, magic = struct.unpack("<I4s", raw[-8:])
    assert magic == b"VGRD"
    raw = raw[: -8 - 4 * count]
    Path(path).write_bytes(raw)
    summary = json.loads(Path(path + ".sum").read_bytes())
    summary.update(crc32=zlib.crc32(raw), nbytes=len(raw))
    Path(path + ".sum").write_bytes(json.dumps(summary).encode())


def test_index_file_without_radii_still_loads(db):
    path, con, cur = db
    x = synthetic(1200)
    cur.execute("CREATE INDEX ON items USING ivfflat (embedding vector_l2_ops) WITH (lists = 7)")
    queries = x[7::211]
    before = [knn(cur, "<->", q, 10) for q in queries]
    con.close()
    files = index_files(path)
    assert len(files) == 4
    for f in files:
        _strip_radii(f)
    stamps = {f: os.stat(f).st_mtime_ns for f in files}
    con = open_db(path)
    cur = con.cursor()
    # loaded (radii measured on its codes), not rebuilt: same files, same answers
    assert [knn(cur, "<->", q, 10) for q in queries] == before
    sql = f"SELECT id FROM items ORDER BY embedding <-> '{vec(queries[0])}' LIMIT 10"
    assert len(lists_probed(cur, sql)) == 4
    assert {f: os.stat(f).st_mtime_ns for f in index_files(path)} == stamps
    con.close()


def test_corrupt_radii_are_rebuilt_not_loaded(db):
    path, con, cur = db
    x = synthetic(1200)
    cur.execute("CREATE INDEX ON items USING ivfflat (embedding vector_l2_ops) WITH (lists = 7)")
    q = x[42]
    expected = knn(cur, "<->", q, 10)
    con.close()
    victim = index_files(path)[0]
    raw = bytearray(Path(victim).read_bytes())
    raw[-12] ^= 0xFF  # the last radius
    Path(victim).write_bytes(bytes(raw))
    con = open_db(path)
    cur = con.cursor()
    assert knn(cur, "<->", q, 10) == expected

    def rebuilt() -> bool:
        if not os.path.exists(victim + ".sum"):
            return False
        summary = json.loads(Path(victim + ".sum").read_bytes())
        return bool(summary["crc32"] == zlib.crc32(Path(victim).read_bytes()))

    wait_for(rebuilt)
    assert Path(victim).read_bytes()[-4:] == b"VGRD"
    assert knn(cur, "<->", q, 10) == expected
    con.close()
