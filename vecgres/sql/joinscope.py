"""PostgreSQL's scoping of JOIN ... ON conditions, for sqlglot's column qualifier.

An unqualified column in an ON condition sees only the relations joined so
far, so ``a JOIN b ON x = a.k LEFT JOIN c ON ...`` is unambiguous in
PostgreSQL even when ``c`` also has ``x``. sqlglot's qualifier looks at every
relation of the SELECT and calls it ambiguous; this pass qualifies such
columns first, when exactly one visible relation has them (psqlODBC's
SQLForeignKeys query relies on this).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from sqlglot import exp


def qualify_join_conditions(ast: exp.Expr, schema: Mapping[str, Mapping[str, str]]) -> None:
    """Qualify unqualified ON-condition columns that PostgreSQL's join scoping resolves."""
    for join in list(ast.find_all(exp.Join)):
        on = join.args.get("on")
        if on is None:
            continue
        bare = [c for c in _own_columns(on) if not c.table]
        if not bare:
            continue
        visible = [join.this, *_left_of(join)]
        for col in bare:
            owners = {alias for src in visible for alias in _providers(src, col.name, schema)}
            if len(owners) == 1:
                col.set("table", exp.to_identifier(owners.pop()))


def _own_columns(node: exp.Expr) -> Iterator[exp.Column]:
    """Columns of ``node`` outside nested SELECTs (those have their own scope)."""
    for col in node.find_all(exp.Column):
        parent = col.parent
        nested = False
        while parent is not None and parent is not node:
            if isinstance(parent, exp.Query):
                nested = True
                break
            parent = parent.parent
        if not nested:
            yield col


def _left_of(join: exp.Join) -> list[exp.Expr]:
    """The FROM item and the joins before ``join`` in the node holding it."""
    holder = join.parent
    if holder is None:
        return []
    joins = holder.args.get("joins") or []
    before = joins[: joins.index(join)] if join in joins else []
    sources: list[exp.Expr] = [j.this for j in before]
    if isinstance(holder, exp.Select):
        from_ = holder.args.get("from_")
        if from_ is not None:
            sources.append(from_.this)
    else:  # a parenthesised join: the joins hang off their first relation
        sources.append(holder)
    return sources


def _providers(src: exp.Expr, name: str, schema: Mapping[str, Mapping[str, str]]) -> set[str]:
    """Aliases of the relations inside ``src`` that have a column ``name``."""
    found: set[str] = set()
    alias = src.alias_or_name
    if isinstance(src, exp.Table) and isinstance(src.this, exp.Identifier):
        if name in schema.get(src.name, {}) and alias:
            found.add(alias)
    elif isinstance(src, exp.Subquery) and isinstance(src.this, exp.Query) and src.alias:
        outputs = src.this.named_selects
        if name in outputs or "*" in outputs:  # a star may hold it: counted, never guessed
            found.add(src.alias)
    # a parenthesised join: its own relations and joins, all visible
    inner = src.this if isinstance(src, exp.Subquery) and not src.alias else None
    if inner is not None:
        found |= _providers(inner, name, schema)
    for j in src.args.get("joins") or []:
        found |= _providers(j.this, name, schema)
    return found
