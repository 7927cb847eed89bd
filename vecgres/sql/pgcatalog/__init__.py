"""pg_catalog and information_schema: PostgreSQL's catalog relations and functions.

``relations`` names the system relations (PostgreSQL's column sets and OIDs),
``rows`` computes their rows from the catalog, ``functions`` holds the catalog
functions (``format_type``, ``pg_get_indexdef``, ``::regclass``, ...) and
``rewrite`` turns client SQL onto them.

The entry points below import those modules on first use: most processes
(bulk writers, short scripts) never touch the catalog, and the column tables
are large enough to matter at startup.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

from vecgres.config import FIRST_USER_OID

if TYPE_CHECKING:
    import pyarrow as pa
    from sqlglot import exp

    from vecgres.catalog.model import Catalog, Table
    from vecgres.sql.pgcatalog.session import CatalogSession as Session
    from vecgres.types import SqlType

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


def is_system(table: Table) -> bool:
    """Whether ``table`` is one of the catalog relations (its rows come from ``catalog_rows``)."""
    return table.oid < FIRST_USER_OID and table.schema in SYSTEM_SCHEMAS


def lookup(catalog: Catalog, schema: str | None, name: str, search_path: list[str]) -> Table | None:
    """The system relation a table reference means, or None for a user relation."""
    if schema not in SYSTEM_SCHEMAS and not (schema is None and name.startswith("pg_")):
        return None
    from vecgres.sql.pgcatalog import relations

    return relations.lookup(catalog, schema, name, search_path)


def shown_type(table: Table, column: str) -> SqlType | None:
    """The type a catalog column is sent as when selected bare, if not its own.

    pg_index.indkey and friends are int2vector/oidvector in PostgreSQL (sent as
    ``1 2``); vecgres keeps them as arrays so ``unnest``/``ANY``/subscripts work.
    """
    name = _VECTOR_COLUMNS.get((table.name, column))
    if name is None:
        return None
    from vecgres.types import SqlType

    return SqlType(name)


_VECTOR_COLUMNS = {
    ("pg_index", "indkey"): "int2vector",
    ("pg_index", "indoption"): "int2vector",
    ("pg_index", "indclass"): "oidvector",
    ("pg_index", "indcollation"): "oidvector",
    ("pg_proc", "proargtypes"): "oidvector",
}


def rewrite_catalog_sql(ast: exp.Expr) -> None:
    """Rewrite a statement's catalog spellings in place (see ``rewrite.py``)."""
    if not _may_need_rewrite(ast):
        return
    from vecgres.sql.pgcatalog.rewrite import rewrite

    rewrite(ast)


REG_TYPES = (
    "regclass",
    "regtype",
    "regnamespace",
    "regrole",
    "regproc",
    "regprocedure",
    "regoperator",
    "oid",
)


def _may_need_rewrite(ast: exp.Expr) -> bool:
    """A cheap over-approximation, so plain statements (bulk INSERTs) skip the rewrite."""
    from sqlglot import exp

    for node in ast.walk():
        if isinstance(
            node,
            exp.Anonymous | exp.Collate | exp.Operator | exp.Dot | exp.StringToArray | exp.Format,
        ):
            return True
        if isinstance(node, exp.Table) and (
            node.text("db") in SYSTEM_SCHEMAS
            or node.name.startswith("pg_")
            or isinstance(node.this, exp.Func)
        ):
            return True
        if isinstance(node, exp.Column) and (node.args.get("db") or node.name.lower() == "user"):
            return True
        if isinstance(node, exp.ObjectIdentifier) or (
            isinstance(node, exp.DataType)
            and node.this == exp.DataType.Type.USERDEFINED
            and (
                isinstance(node.args.get("kind"), exp.Dot)
                or str(getattr(node.args.get("kind"), "name", "")).lower() in REG_TYPES
            )
        ):
            return True
        if type(node).__name__.startswith(("Current", "Session")):
            return True
    return False


_CATALOG_CALL = re.compile("vgc_", re.IGNORECASE)


def needs_functions(sql: str, tables: Iterable[Table]) -> bool:
    """Whether DuckDB SQL about to run calls the catalog functions (``vgc_*``) or reads
    a catalog relation; plain statements then skip installing them."""
    return any(is_system(t) for t in tables) or _CATALOG_CALL.search(sql) is not None


def install_functions(session: Session) -> None:
    """Register the catalog functions in the session's DuckDB, once per session."""
    if getattr(session.duck, "pgcatalog_installed", False):
        return
    from vecgres.sql.pgcatalog import functions

    functions.install(session)


def catalog_rows(session: Session, table: Table) -> pa.Table:
    """The rows of system relation ``table`` as ``session`` sees them now."""
    from vecgres.sql.pgcatalog import state

    return state.catalog_rows(session, table)


def noop_tag(sql: str) -> str | None:
    """The command tag of a session statement with nothing to do (``CLOSE ALL``), else None."""
    if not sql.lstrip()[:8].upper().startswith(("CLOSE", "UNLISTEN", "DEALLOCA")):
        return None
    from vecgres.sql.pgcatalog import noops

    return noops.noop_tag(sql)


def deallocate(sql: str, *statements: MutableMapping[str, Any], missing_ok: bool = False) -> None:
    """Drop what a ``DEALLOCATE`` statement names from a connection's prepared statements."""
    if not sql.lstrip()[:10].upper().startswith("DEALLOCATE"):
        return
    from vecgres.sql.pgcatalog import noops

    noops.deallocate(sql, *statements, missing_ok=missing_ok)


def substitute(sql: str) -> tuple[str, tuple[SqlType, ...]] | None:
    """A statement to run instead of a client's unparseable catalog query, else None."""
    head = sql.lstrip()[:7].upper()
    if head == "COMMENT":
        from vecgres.sql.pgcatalog.comments import null_as_empty

        spelled = null_as_empty(sql)
        return None if spelled is None else (spelled, ())
    if head.startswith("SET") and "CHARACTERISTICS" in sql[:40].upper():
        from vecgres.sql.pgcatalog import respell

        if respell.is_session_characteristics(sql):
            return respell.session_characteristics(sql), ()
    if "pg_catalog." in sql or "information_schema." in sql:
        from vecgres.sql.pgcatalog.respell import quote_keyword_labels

        labelled = quote_keyword_labels(sql)
        if labelled is not None:
            return labelled, ()
    if "typeinfo_tree" not in sql:
        return None
    from vecgres.sql.pgcatalog import typeinfo

    return typeinfo.substitute(sql)


__all__ = [
    "SYSTEM_SCHEMAS",
    "catalog_rows",
    "deallocate",
    "install_functions",
    "is_system",
    "lookup",
    "needs_functions",
    "noop_tag",
    "rewrite_catalog_sql",
    "shown_type",
    "substitute",
]
