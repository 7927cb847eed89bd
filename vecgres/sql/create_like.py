"""``CREATE TABLE t2 (LIKE t [INCLUDING ... | EXCLUDING ...])``: copy a table's definition.

As in PostgreSQL, column names, types and NOT NULL are always copied; defaults,
indexes (with primary key and unique constraints) and comments only when the
matching INCLUDING option (or ALL) says so. Copied indexes get names chosen for
the new table (``t2_pkey``, ``t2_<cols>_key``, ``t2_<cols>_idx``).
"""

from __future__ import annotations

from copy import copy
from dataclasses import dataclass, field

from sqlglot import exp

from vecgres import errors
from vecgres.catalog.model import Catalog, Column, Table

_OPTIONS = frozenset(
    {
        "COMMENTS",
        "COMPRESSION",
        "CONSTRAINTS",
        "DEFAULTS",
        "GENERATED",
        "IDENTITY",
        "INDEXES",
        "STATISTICS",
        "STORAGE",
    }
)


@dataclass(slots=True)
class Like:
    """One LIKE clause: the source table and the options it copies."""

    source: Table
    including: set[str] = field(default_factory=set)

    def columns(self, first_id: int) -> list[Column]:
        out = []
        for offset, col in enumerate(self.source.columns):
            new = Column(first_id + offset, col.name, col.type, not_null=col.not_null)
            if "DEFAULTS" in self.including:
                new.default = col.default
            if "COMMENTS" in self.including:
                new.comment = col.comment
            if "STORAGE" in self.including:
                new.storage = col.storage
            out.append(new)
        return out

    def copy_checks(self, cat: Catalog, table: Table) -> None:
        """INCLUDING CONSTRAINTS: the CHECK constraints, under their own names (foreign
        keys are never copied, as in PostgreSQL)."""
        if "CONSTRAINTS" not in self.including:
            return
        ids = {c.id: c.name for c in self.source.columns}
        for con in self.source.constraints:
            if con.kind != "c" or any(c.name == con.name for c in table.constraints):
                continue
            new = copy(con)
            new.oid = cat.allocate_oid()
            new.columns = [
                col.id for cid in con.columns if (col := table.column(ids.get(cid, ""))) is not None
            ]
            table.constraints.append(new)

    def copy_indexes(self, cat: Catalog, table: Table) -> None:
        if "INDEXES" not in self.including:
            return
        for idx in self.source.indexes:
            if idx.primary and table.primary_key is not None:
                raise errors.InvalidTableDefinition(
                    f'multiple primary keys for table "{table.name}" are not allowed'
                )
            new = copy(idx)
            new.oid = cat.allocate_oid()
            new.columns = list(idx.columns)
            new.options = dict(idx.options)
            if idx.primary:
                new.name = _free_name(cat, table, f"{table.name}_pkey")
            elif idx.constraint_name is not None:
                new.name = _free_name(cat, table, f"{table.name}_{'_'.join(idx.columns)}_key")
            else:
                new.name = _free_name(cat, table, f"{table.name}_{'_'.join(idx.columns)}_idx")
            if idx.constraint_name is not None:
                new.constraint_name = new.name
            table.indexes.append(new)


def like_of(node: exp.LikeProperty, catalog: Catalog, search_path: list[str]) -> Like:
    source = node.this
    found = catalog.resolve(source.name, source.db or None, search_path)
    if not isinstance(found, Table):
        shown = f"{source.db}.{source.name}" if source.db else source.name
        raise errors.UndefinedTable(f'relation "{shown}" does not exist')
    like = Like(found)
    for prop in node.expressions:
        word = prop.name.upper() if isinstance(prop, exp.Property) else ""
        value = prop.args.get("value")
        option = value.name.upper() if isinstance(value, exp.Expr) else str(value).upper()
        chosen = _OPTIONS if option == "ALL" else {option}
        if option != "ALL" and option not in _OPTIONS:
            raise errors.SyntaxError_(f'syntax error at or near "{option}"')
        if word == "INCLUDING":
            like.including |= chosen
        else:
            like.including -= chosen
    return like


def _free_name(cat: Catalog, table: Table, base: str) -> str:
    taken = {idx.name for idx in table.indexes}
    name, n = base, 0
    while name in taken or cat.name_taken(table.schema, name) or name == table.name:
        n += 1
        name = f"{base}{n}"
    return name
