"""``SELECT … FOR UPDATE | NO KEY UPDATE | SHARE | KEY SHARE [OF t, …] [NOWAIT | SKIP LOCKED]``.

vecgres locks whole tables, not rows: its writers serialize on one lock per table
(``Session.lock_table``, bounded by ``lock_timeout``). A locking clause takes that
lock on every table whose rows it would lock, before the statement takes its
snapshot, and keeps it to the end of the transaction, so no other transaction
changes those rows meanwhile and the rows read are the newest committed ones, as
PostgreSQL's READ COMMITTED re-check gives. The difference is the granularity:
two transactions locking different rows of one table wait for each other, and
``SKIP LOCKED`` skips every row of a table another transaction holds (the result
is empty then), where PostgreSQL skips only the locked rows. Readers without a
locking clause never wait.

The clause is checked here as PostgreSQL's parser checks it (the 0A000 and 42P01
errors) and removed from the statement, which then runs as a plain SELECT.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from sqlglot import exp

from vecgres import errors
from vecgres.catalog.model import Catalog, Table
from vecgres.sql.records import cte_query

META: Final = "vg_row_locks"  # the statement's RowLocks, on its normalized AST


@dataclass(frozen=True, slots=True)
class RowLock:
    strength: str  # UPDATE, NO KEY UPDATE, SHARE, KEY SHARE
    wait: str  # "wait", "nowait" or "skip"
    tables: tuple[exp.Table, ...]  # the FROM items whose rows it locks


def strip(ast: exp.Expr) -> None:
    """Check and remove every locking clause of ``ast``; the top-level SELECT's are kept
    in its meta (``META``) for ``acquire``. A locking clause in a subquery locks that
    subquery's tables too (PostgreSQL propagates them outward as well)."""
    found: list[RowLock] = []
    for select in list(ast.find_all(exp.Select)):
        clauses = select.args.get("locks")
        if not clauses:
            continue
        found.extend(_check(select, clause) for clause in clauses)
        select.set("locks", None)
    if found:
        ast.meta[META] = found


def _strength(clause: exp.Lock) -> str:
    if clause.args.get("update"):
        return "NO KEY UPDATE" if clause.args.get("key") else "UPDATE"
    return "KEY SHARE" if clause.args.get("key") else "SHARE"


def _check(select: exp.Select, clause: exp.Lock) -> RowLock:
    strength = _strength(clause)
    what = f"FOR {strength}"
    if isinstance(select.parent, exp.SetOperation):
        raise errors.FeatureNotSupported(f"{what} is not allowed with UNION/INTERSECT/EXCEPT")
    if select.args.get("distinct"):
        raise errors.FeatureNotSupported(f"{what} is not allowed with DISTINCT clause")
    if select.args.get("group"):
        raise errors.FeatureNotSupported(f"{what} is not allowed with GROUP BY clause")
    if select.args.get("having"):
        raise errors.FeatureNotSupported(f"{what} is not allowed with HAVING clause")
    for item in select.expressions:
        if _own(item, select, exp.AggFunc):
            raise errors.FeatureNotSupported(f"{what} is not allowed with aggregate functions")
        if _own(item, select, exp.Window):
            raise errors.FeatureNotSupported(f"{what} is not allowed with window functions")
    sources = _sources(select)
    named = clause.expressions
    if named:
        chosen = []
        for ref in named:
            match = [s for s in sources if s[0].alias_or_name == ref.name]
            if not match:
                raise errors.UndefinedTable(
                    f'relation "{ref.name}" in {what} clause not found in FROM clause'
                )
            chosen.extend(match)
    else:
        chosen = sources
    for _item, nullable in chosen:
        if nullable:
            raise errors.FeatureNotSupported(
                f"{what} cannot be applied to the nullable side of an outer join"
            )
    tables: list[exp.Table] = []
    for item, _nullable in chosen:
        query = cte_query(select, item.name) if isinstance(item, exp.Table) else item
        if query is None:
            tables.append(item)  # type: ignore[arg-type]  # a Table: no CTE has its name
        else:
            tables.extend(query.find_all(exp.Table))  # a subquery's or CTE's own tables
    wait = clause.args.get("wait")
    return RowLock(
        strength, "nowait" if wait is True else "skip" if wait is False else "wait", tuple(tables)
    )


def _own(node: exp.Expr, select: exp.Select, kind: type[exp.Expr]) -> bool:
    """``node`` holds a ``kind`` of this SELECT's own (not of a subquery's)."""
    return any(found.find_ancestor(exp.Select) is select for found in node.find_all(kind))


def _sources(select: exp.Select) -> list[tuple[exp.Expr, bool]]:
    """The FROM items of ``select``, each with whether an outer join makes it nullable."""
    from_ = select.args.get("from_") or select.args.get("from")
    items: list[tuple[exp.Expr, bool]] = []
    if from_ is not None:
        items.append((from_.this, False))
    for join in select.args.get("joins") or []:
        side = (join.side or "").upper()
        if side in ("RIGHT", "FULL"):
            items = [(item, True) for item, _ in items]
        items.append((join.this, side in ("LEFT", "FULL")))
    return items


def acquire(
    ast: exp.Expr,
    catalog: Catalog,
    search_path: list[str],
    parse_view: Callable[[str], exp.Expr],
    lock: Callable[[Table], None],
    try_lock: Callable[[Table], bool],
) -> bool:
    """Take the table locks ``ast``'s locking clauses ask for; False when SKIP LOCKED
    met a table another transaction holds (its rows are all skipped: no rows)."""
    clauses: list[RowLock] = ast.meta.get(META) or []
    got = True
    for clause in clauses:
        for table in _tables(clause.tables, catalog, search_path, parse_view, depth=0):
            if clause.wait == "wait":
                lock(table)
            elif try_lock(table):
                continue
            elif clause.wait == "nowait":
                raise errors.LockNotAvailable(
                    f'could not obtain lock on row in relation "{table.name}"'
                )
            else:
                got = False
    return got


def _tables(
    refs: tuple[exp.Table, ...] | list[exp.Table],
    catalog: Catalog,
    search_path: list[str],
    parse_view: Callable[[str], exp.Expr],
    depth: int,
) -> list[Table]:
    """The catalog tables ``refs`` name; a view stands for the tables it reads (CTE
    names and functions in FROM name none)."""
    out: list[Table] = []
    for ref in refs:
        if not isinstance(ref.this, exp.Identifier):
            continue  # a table function
        try:
            table = catalog.resolve_table(ref.name, ref.db or None, search_path)
        except errors.VecgresError:
            continue  # a CTE's name
        if table.kind == "v" and table.view_sql and depth < 16:
            inner = list(parse_view(table.view_sql).find_all(exp.Table))
            out.extend(_tables(inner, catalog, search_path, parse_view, depth + 1))
        elif table.kind == "r":
            out.append(table)
    return out
