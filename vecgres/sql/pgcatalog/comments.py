"""``COMMENT ON TABLE/VIEW/COLUMN ... IS ...``: comments kept in the catalog.

They show in pg_description (classoid pg_class, objsubid the column's attnum),
so ``obj_description``/``col_description`` and psql's ``\\d+`` read them.
An empty string, like NULL, removes the comment, as in PostgreSQL.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from vecgres import errors
from vecgres.sql import ddl

if TYPE_CHECKING:
    from vecgres.catalog.model import Catalog, Table

# sqlglot does not read ``IS NULL`` here; '' means the same to PostgreSQL
_IS_NULL = re.compile(r"^(\s*COMMENT\s+ON\s+.*\sIS\s+)NULL(\s*;?\s*)$", re.I | re.S)


def null_as_empty(sql: str) -> str | None:
    """``COMMENT ON ... IS NULL`` spelled with '' (which sqlglot parses), else None."""
    match = _IS_NULL.match(sql)
    return None if match is None else f"{match.group(1)}''{match.group(2)}"


def comment(ast: exp.Comment, catalog: Catalog, search_path: list[str]) -> ddl.DdlResult:
    kind = str(ast.args.get("kind") or "").upper()
    value = ast.expression
    if not isinstance(value, exp.Literal) or not value.is_string:
        raise errors.SyntaxError_("syntax error at or near IS")
    text = value.this or None
    target = ast.this
    cat = catalog.edit()
    if kind in ("TABLE", "VIEW"):
        if not isinstance(target, exp.Table):
            raise errors.SyntaxError_(f"syntax error in COMMENT ON {kind}")
        table = _table(cat, target.name, target.text("db") or None, search_path)
        wanted = "r" if kind == "TABLE" else "v"
        if table.kind != wanted:
            raise errors.WrongObjectType(f'"{table.name}" is not a {kind.lower()}')
        table.comment = text
    elif kind == "COLUMN":
        if not isinstance(target, exp.Column) or not target.table:
            raise errors.SyntaxError_("column name must be qualified")
        table = _table(cat, target.table, target.text("db") or None, search_path)
        column = table.column(target.name)
        if column is None:
            raise errors.UndefinedColumn(
                f'column "{target.name}" of relation "{table.name}" does not exist'
            )
        column.comment = text
    else:
        raise errors.FeatureNotSupported(f"COMMENT ON {kind} is not supported by vecgres")
    return ddl.DdlResult(cat, "COMMENT")


def _table(cat: Catalog, name: str, schema: str | None, search_path: list[str]) -> Table:
    return cat.resolve_table(name, schema, search_path)
