"""pg_constraint and information_schema rows of CHECK and FOREIGN KEY constraints
(the key and unique constraints come from their indexes, in rows.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from vecgres.sql.constraint_build import key_index
from vecgres.sql.constraint_text import check_clause, constraint_def, rule_name

if TYPE_CHECKING:
    from vecgres.catalog.model import Catalog, Constraint, Table
    from vecgres.sql.pgcatalog.rows import CatalogState

Row = dict[str, Any]


def _attnums(table: Table, ids: list[int]) -> list[int]:
    positions = {col.id: pos for pos, col in enumerate(table.columns, start=1)}
    return [positions.get(i, 0) for i in ids]


def _names(table: Table, ids: list[int]) -> list[str]:
    return [col.name for i in ids if (col := table.column_by_id(i)) is not None]


def _key_of(catalog: Catalog, con: Constraint) -> tuple[Table, Any] | None:
    parent = catalog.tables.get(con.ref_table)
    if parent is None:
        return None
    idx = key_index(parent, _names(parent, con.ref_columns))
    return (parent, idx) if idx is not None else None


def pg_constraint(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        for con in table.constraints:
            fk = con.kind == "f"
            key = _key_of(st.catalog, con) if fk else None
            parent = st.catalog.tables.get(con.ref_table) if fk else None
            yield {
                "oid": con.oid,
                "conname": con.name,
                "connamespace": st.nsp_oid(table.schema),
                "contype": con.kind,
                "condeferrable": con.deferrable,
                "condeferred": con.deferred,
                "convalidated": con.validated,
                "conrelid": table.oid,
                "contypid": 0,
                "conindid": key[1].oid if key is not None else 0,
                "conparentid": 0,
                "confrelid": con.ref_table if fk else 0,
                "confupdtype": con.on_update if fk else " ",
                "confdeltype": con.on_delete if fk else " ",
                "confmatchtype": con.match if fk else " ",
                "conislocal": True,
                "coninhcount": 0,
                "connoinherit": False,
                "conkey": _attnums(table, con.columns),
                "confkey": _attnums(parent, con.ref_columns) if parent is not None else None,
                # pg_get_expr(conbin, conrelid) prints it as PostgreSQL does
                "conbin": check_clause(table, con.expression or "true")[1:-1]
                if con.kind == "c"
                else None,
            }


def class_flags(catalog: Catalog, table: Table) -> Row:
    """pg_class.relchecks and relhastriggers (foreign keys are triggers in PostgreSQL):
    psql's ``\\d`` reads them to decide which constraint sections to print."""
    checks = sum(1 for c in table.constraints if c.kind == "c")
    triggers = any(c.kind == "f" for c in table.constraints) or any(
        c.kind == "f" and c.ref_table == table.oid
        for other in catalog.tables.values()
        for c in other.constraints
    )
    return {"relchecks": checks, "relhastriggers": triggers}


def find(catalog: Catalog, oid: int) -> tuple[Table, Constraint] | None:
    for table in catalog.tables.values():
        for con in table.constraints:
            if con.oid == oid:
                return table, con
    return None


def definition(catalog: Catalog, oid: int, pretty: bool) -> str | None:
    found = find(catalog, oid)
    if found is None:
        return None
    return constraint_def(catalog, found[0], found[1], pretty)


def _base(st: CatalogState, table: Table, con: Constraint) -> Row:
    return {
        "constraint_catalog": st.database,
        "constraint_schema": table.schema,
        "constraint_name": con.name,
    }


def table_constraints(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        for con in table.constraints:
            yield {
                **_base(st, table, con),
                "table_catalog": st.database,
                "table_schema": table.schema,
                "table_name": table.name,
                "constraint_type": "CHECK" if con.kind == "c" else "FOREIGN KEY",
                "is_deferrable": "YES" if con.deferrable else "NO",
                "initially_deferred": "YES" if con.deferred else "NO",
                "enforced": "YES",
                "nulls_distinct": None,
            }


def key_column_usage(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        for con in table.constraints:
            if con.kind != "f":
                continue
            key = _key_of(st.catalog, con)
            parent = st.catalog.tables.get(con.ref_table)
            ref_names = _names(parent, con.ref_columns) if parent is not None else []
            for pos, name in enumerate(_names(table, con.columns), start=1):
                unique_pos = None
                if key is not None and pos <= len(ref_names):
                    unique_pos = key[1].columns.index(ref_names[pos - 1]) + 1
                yield {
                    **_base(st, table, con),
                    "table_catalog": st.database,
                    "table_schema": table.schema,
                    "table_name": table.name,
                    "column_name": name,
                    "ordinal_position": pos,
                    "position_in_unique_constraint": unique_pos,
                }


def constraint_column_usage(st: CatalogState) -> Iterator[Row]:
    """CHECK: the columns it reads; FOREIGN KEY: the referenced columns."""
    for table in st.tables():
        for con in table.constraints:
            if con.kind == "c":
                owner, names = table, _names(table, con.columns)
            else:
                parent = st.catalog.tables.get(con.ref_table)
                if parent is None:
                    continue
                owner, names = parent, _names(parent, con.ref_columns)
            for name in names:
                yield {
                    "table_catalog": st.database,
                    "table_schema": owner.schema,
                    "table_name": owner.name,
                    "column_name": name,
                    **_base(st, table, con),
                }


def check_constraints(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        for con in table.constraints:
            if con.kind == "c":
                yield {
                    **_base(st, table, con),
                    "check_clause": check_clause(table, con.expression or "true"),
                }
        for col in table.columns:
            if col.not_null:
                # PostgreSQL lists NOT NULL columns here too, named oid_oid_attnum_not_null
                yield {
                    "constraint_catalog": st.database,
                    "constraint_schema": table.schema,
                    "constraint_name": f"{st.nsp_oid(table.schema)}_{table.oid}_"
                    f"{table.attnum(col.name)}_not_null",
                    "check_clause": f"{col.name} IS NOT NULL",
                }


def referential_constraints(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        for con in table.constraints:
            if con.kind != "f":
                continue
            key = _key_of(st.catalog, con)
            parent = key[0] if key is not None else None
            yield {
                **_base(st, table, con),
                "unique_constraint_catalog": st.database,
                "unique_constraint_schema": parent.schema if parent is not None else None,
                "unique_constraint_name": key[1].constraint_name if key is not None else None,
                "match_option": "FULL" if con.match == "f" else "NONE",
                "update_rule": rule_name(con.on_update),
                "delete_rule": rule_name(con.on_delete),
            }


def constraint_table_usage(st: CatalogState) -> Iterator[Row]:
    """A foreign key uses the table it references (CHECK constraints are not listed)."""
    for table in st.tables():
        for con in table.constraints:
            parent = st.catalog.tables.get(con.ref_table) if con.kind == "f" else None
            if parent is None:
                continue
            yield {
                "table_catalog": st.database,
                "table_schema": parent.schema,
                "table_name": parent.name,
                **_base(st, table, con),
            }
