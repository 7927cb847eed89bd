"""The catalog relations as ``Table`` objects the binder can bind like user tables.

A system relation is a ``Table`` whose OID is PostgreSQL's own (below
``FIRST_USER_OID``), so the binder names it ``__rel_<oid>`` like any table and
RowDescription reports PostgreSQL's table OID and attnum for its columns.
The engine asks ``rows.build`` for its contents instead of storage.
"""

from __future__ import annotations

from functools import cache

from vecgres import errors
from vecgres.catalog.model import Catalog, Column, Table
from vecgres.sql.pgcatalog import SYSTEM_SCHEMAS
from vecgres.sql.pgcatalog.columns import RELATIONS
from vecgres.types import SqlType

# column types shown as another type: regproc columns hold the function's name
_AS = {"regproc": "text", "pg_node_tree": "text", "xid": "bigint", "regtype": "oid"}


def _shown(base: str, is_array: bool) -> SqlType:
    if is_array and base == "regtype":
        # regtype[] (pg_prepared_statements.parameter_types) holds the types' names
        return SqlType("text", is_array=True)
    return SqlType(_AS.get(base, base), is_array=is_array)


@cache
def system_table(schema: str, name: str) -> Table | None:
    spec = RELATIONS.get((schema, name))
    if spec is None:
        return None
    oid, kind, cols = spec
    columns = [
        Column(index, col, _shown(base, arr), not_null=nn)
        for index, (col, base, arr, nn) in enumerate(cols, start=1)
    ]
    # views over the catalog are plain relations here: the rows are computed
    return Table(oid, schema, name, columns, len(columns) + 1, kind="r" if kind == "v" else kind)


# relations with no rows in vecgres (no inheritance, policies, triggers, publications,
# rules, ranges, enums, comments on shared objects, role memberships, ...), so empty is
# the true answer; any other relation without a row builder is refused (0A000)
TRULY_EMPTY = frozenset(
    {
        ("pg_catalog", name)
        for name in (
            "pg_inherits",
            "pg_policy",
            "pg_policies",
            "pg_trigger",
            "pg_statistic_ext",
            "pg_statistic_ext_data",
            "pg_publication",
            "pg_publication_rel",
            "pg_publication_namespace",
            "pg_publication_tables",
            "pg_rewrite",
            "pg_rules",
            "pg_range",
            "pg_enum",
            "pg_matviews",
            "pg_partitioned_table",
            "pg_foreign_table",
            "pg_foreign_data_wrapper",
            "pg_foreign_server",
            "pg_user_mapping",
            "pg_user_mappings",
            "pg_event_trigger",
            "pg_subscription",
            "pg_subscription_rel",
            "pg_shdescription",
            "pg_seclabel",
            "pg_shseclabel",
            "pg_seclabels",
            "pg_default_acl",
            "pg_auth_members",
            "pg_db_role_setting",
            "pg_largeobject_metadata",
            "pg_transform",
            "pg_conversion",
        )
    }
    | {("information_schema", "triggers")}
)


def lookup(catalog: Catalog, schema: str | None, name: str, search_path: list[str]) -> Table | None:
    """The system relation a table reference means, or None for a user relation.

    An unqualified ``pg_class`` is pg_catalog's unless a user relation of that
    name is on the search path (PostgreSQL searches pg_catalog first, but
    nobody names a table pg_class on purpose).
    """
    if schema is not None:
        return _answerable(system_table(schema, name)) if schema in SYSTEM_SCHEMAS else None
    if "pg_catalog" in search_path:
        return _answerable(system_table("pg_catalog", name))
    found = system_table("pg_catalog", name)
    if found is None:
        return None
    if catalog.resolve(name, None, search_path) is not None:
        return None
    return _answerable(found)


def _answerable(table: Table | None) -> Table | None:
    """``table`` if vecgres can give its true rows; a relation it cannot is refused."""
    if table is None:
        return None
    from vecgres.sql.pgcatalog.rows import has_rows

    if not has_rows(table.schema, table.name) and (table.schema, table.name) not in TRULY_EMPTY:
        raise errors.FeatureNotSupported(f"{table.schema}.{table.name} is not supported by vecgres")
    return table
