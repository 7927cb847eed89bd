"""asyncpg's type-introspection query, answered by an equivalent one vecgres can parse.

asyncpg sends one fixed ``WITH RECURSIVE typeinfo_tree`` query (sqlglot cannot
parse it: WIRE.md §2.3), so it is recognised by shape. vecgres has no domain
or range types, so the tree is the requested types, their element types, and
for a table's row type its columns' types and their element types, with the
same columns in the same order.
"""

from __future__ import annotations

from typing import Final

from vecgres.types import SqlType

_MARKERS = ("WITH RECURSIVE typeinfo_tree(", "typebases(oid, depth)", "any($1::oid[])")

_SELECT = """
    SELECT t.oid AS oid, ns.nspname::text AS ns, t.typname::text AS name, t.typtype AS kind,
        none.indexrelid AS basetype, t.typelem AS elemtype, elem_t.typdelim AS elemdelim,
        none.indrelid AS range_subtype, attrs.oids AS attrtypoids,
        attrs.names AS attrnames,
        {depth} AS depth, NULL::text AS basetype_name,
        CASE WHEN t.typelem <> 0 THEN t.typelem::regtype::text END AS elemtype_name,
        NULL::text AS range_subtype_name
    FROM pg_catalog.pg_type t
        JOIN pg_catalog.pg_namespace ns ON ns.oid = t.typnamespace
        LEFT JOIN pg_catalog.pg_type elem_t ON t.typlen = -1 AND t.typelem <> 0
            AND t.typelem = elem_t.oid
        LEFT JOIN pg_catalog.pg_index none ON false
        LEFT JOIN pg_catalog.pg_constraint nocon ON false
        LEFT JOIN (SELECT c.reltype AS rowtype, array_agg(ia.atttypid ORDER BY ia.attnum) AS oids,
                array_agg(ia.attname::text ORDER BY ia.attnum) AS names
            FROM pg_catalog.pg_attribute ia JOIN pg_catalog.pg_class c ON ia.attrelid = c.oid
            WHERE ia.attnum > 0 AND NOT ia.attisdropped GROUP BY c.reltype) attrs
            ON t.typtype = 'c' AND attrs.rowtype = t.oid
"""

# asyncpg decodes only oid[] and text[] without introspection, so every column's type must
# be one of its core types: no outer SELECT (types come from the catalog columns), NULL oids
# and oid[] from row-less joins (conpfeqop: pg_index.indclass is sent as an oidvector), and
# the parameter declared oid[] (sqlglot cannot parse `::oid[]`, so the engine passes the
# type as a hint)
# a table's row type (typtype 'c') brings its columns' types, and their element types
_ATTRIBUTES = (
    "SELECT ia.atttypid FROM pg_catalog.pg_attribute ia JOIN pg_catalog.pg_class c"
    " ON ia.attrelid = c.oid WHERE ia.attnum > 0 AND c.reltype = any($1)"
)
QUERY = (
    _SELECT.format(depth=2) + " JOIN pg_catalog.pg_type parent ON parent.typelem = t.oid"
    f" WHERE parent.oid IN ({_ATTRIBUTES}) UNION ALL "
    + _SELECT.format(depth=1)
    + f" WHERE t.oid IN ({_ATTRIBUTES}) UNION ALL "
    + _SELECT.format(depth=1)
    + " JOIN pg_catalog.pg_type parent ON parent.typelem = t.oid"
    " WHERE parent.oid = any($1) UNION ALL "
    + _SELECT.format(depth=0)
    + " WHERE t.oid = any($1) ORDER BY depth DESC"
)


PARAM_TYPES: Final = (SqlType("oid", is_array=True),)


def substitute(sql: str) -> tuple[str, tuple[SqlType, ...]] | None:
    """The statement and parameter types to run instead of asyncpg's query, else None."""
    if all(marker in sql for marker in _MARKERS):
        return QUERY, PARAM_TYPES
    return None
