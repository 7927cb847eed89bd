"""What CHECK and FOREIGN KEY constraints cost a write: the same loads into a table
without constraints (the reference, measured in the same run) and with them.

Loads, each into a fresh table: a multi-row ``INSERT ... SELECT generate_series``,
``executemany`` of single-row INSERTs in one transaction (the bulk path), and
``DELETE`` of the referenced rows with ON DELETE CASCADE vs a plain DELETE. The
referenced table (``p``, ``--parents`` rows) is the same for every run.

    python benchmarks/constraints.py --rows 100000
"""

from __future__ import annotations

import argparse
import tempfile
import time

import vecgres

_TABLES = {
    "plain": "CREATE TABLE {t} (id int, pid int, score numeric)",
    "check": "CREATE TABLE {t} (id int, pid int, score numeric CHECK (score >= 0), "
    "CHECK (id >= 0))",
    "fk": "CREATE TABLE {t} (id int, pid int REFERENCES p ON DELETE CASCADE, score numeric)",
    "check+fk": "CREATE TABLE {t} (id int, pid int REFERENCES p ON DELETE CASCADE, "
    "score numeric CHECK (score >= 0), CHECK (id >= 0))",
}


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--parents", type=int, default=1000)
    ap.add_argument("--many", type=int, default=20_000, help="rows for executemany")
    args = ap.parse_args()
    con = vecgres.connect(tempfile.mkdtemp(prefix="vg-cons-"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute("CREATE TABLE p (id int PRIMARY KEY)")
    cur.execute(f"INSERT INTO p SELECT g FROM generate_series(1, {args.parents}) g")
    print(f"rows={args.rows} executemany={args.many} parents={args.parents}")
    print(f"{'table':<10} {'INSERT..SELECT':>16} {'executemany':>14}")
    for n, (kind, ddl) in enumerate(_TABLES.items()):
        table = f"t{n}"
        cur.execute(ddl.format(t=table))
        insert = _timed(
            lambda table=table: cur.execute(
                f"INSERT INTO {table} SELECT g, g % {args.parents} + 1, g * 0.5 "
                f"FROM generate_series(1, {args.rows}) g"
            )
        )
        rows = [(i, i % args.parents + 1, i * 0.5) for i in range(args.many)]

        def many(table: str = table, rows: list[tuple[int, int, float]] = rows) -> None:
            con.autocommit = False
            cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s)", rows)
            con.commit()
            con.autocommit = True

        bulk = _timed(many)
        print(f"{kind:<10} {args.rows / insert:>12,.0f} r/s {args.many / bulk:>10,.0f} r/s")
    cascade = _timed(lambda: cur.execute("DELETE FROM p WHERE id <= 10"))
    cur.execute("SELECT count(*) FROM t2")
    print(
        f"DELETE 10 referenced keys, cascading: {cascade * 1000:.1f} ms "
        f"(rows left in t2: {cur.fetchone()[0]})"
    )
    cur.execute("CREATE TABLE lone (id int PRIMARY KEY)")
    cur.execute(f"INSERT INTO lone SELECT g FROM generate_series(1, {args.parents}) g")
    plain = _timed(lambda: cur.execute("DELETE FROM lone WHERE id <= 10"))
    print(f"DELETE 10 keys of an unreferenced table (reference): {plain * 1000:.1f} ms")
    con.close()


if __name__ == "__main__":
    main()
