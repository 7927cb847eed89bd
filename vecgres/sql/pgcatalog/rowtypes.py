"""pg_type rows of the tables' composite row types.

PostgreSQL gives every table and view a row type named after it (typtype 'c',
typrelid the relation) and an array type ``_name``; pg_class.reltype points at
the row type. Their OIDs come from ``types.rowtype_oid`` (a range no catalog
object's OID takes), the same OIDs the wire describes ``SELECT t FROM t`` with.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from vecgres.catalog.model import Table
from vecgres.types import ROWTYPE_OID_BASE, rowtype_oid

Row = dict[str, Any]


def row_type_rows(
    tables: Sequence[Table], nsp_oid: Callable[[str], int], owner_oid: Callable[[str], int]
) -> Iterator[Row]:
    """The row type and its array type of each table, as PostgreSQL 15 shows them."""
    for table in tables:
        oid = rowtype_oid(table.oid)
        common: Row = {
            "typnamespace": nsp_oid(table.schema),
            "typowner": owner_oid(table.owner),
            "typlen": -1,
            "typbyval": False,
            "typispreferred": False,
            "typisdefined": True,
            "typdelim": ",",
            "typmodin": "-",
            "typmodout": "-",
            "typalign": "d",
            "typstorage": "x",
            "typnotnull": False,
            "typbasetype": 0,
            "typtypmod": -1,
            "typndims": 0,
            "typcollation": 0,
        }
        yield {
            **common,
            "oid": oid,
            "typname": table.name,
            "typtype": "c",
            "typcategory": "C",
            "typrelid": table.oid,
            "typsubscript": "-",
            "typelem": 0,
            "typarray": oid + 1,
            "typinput": "record_in",
            "typoutput": "record_out",
            "typreceive": "record_recv",
            "typsend": "record_send",
            "typanalyze": "-",
        }
        yield {
            **common,
            "oid": oid + 1,
            "typname": "_" + table.name,
            "typtype": "b",
            "typcategory": "A",
            "typrelid": 0,
            "typsubscript": "array_subscript_handler",
            "typelem": oid,
            "typarray": 0,
            "typinput": "array_in",
            "typoutput": "array_out",
            "typreceive": "array_recv",
            "typsend": "array_send",
            "typanalyze": "array_typanalyze",
        }


def row_type_name(tables: Sequence[Table], oid: int) -> str | None:
    """format_type() of a table's row type or its array type (``t``, ``t[]``)."""
    if oid < ROWTYPE_OID_BASE:
        return None
    for table in tables:
        base = rowtype_oid(table.oid)
        if oid in (base, base + 1):
            return table.name + ("[]" if oid == base + 1 else "")
    return None


def row_type_oid(table: object, is_array: bool) -> int | None:
    """to_regtype() of a table's name (``t``, ``t[]``, ``_t``): None for anything else
    a name resolves to (a sequence has no row type here)."""
    if not isinstance(table, Table):
        return None
    return rowtype_oid(table.oid) + (1 if is_array else 0)


__all__ = ["row_type_name", "row_type_oid", "row_type_rows"]
