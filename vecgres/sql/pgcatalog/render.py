"""Catalog objects as PostgreSQL's ``pg_get_*def`` functions print them."""

from __future__ import annotations

import re

from vecgres.catalog.model import Index, Table
from vecgres.sql.pgcatalog.builtins import VECTOR_OPCLASSES
from vecgres.types import SqlType, by_oid

_PLAIN_IDENT = re.compile(r"^[a-z_][a-z0-9_$]*$")
# the reserved words PostgreSQL's quote_ident quotes that a column might be called
_RESERVED = frozenset(
    {
        "all",
        "analyse",
        "analyze",
        "and",
        "any",
        "array",
        "as",
        "asc",
        "asymmetric",
        "both",
        "case",
        "cast",
        "check",
        "collate",
        "column",
        "constraint",
        "create",
        "current_catalog",
        "current_date",
        "current_role",
        "current_time",
        "current_timestamp",
        "current_user",
        "default",
        "deferrable",
        "desc",
        "distinct",
        "do",
        "else",
        "end",
        "except",
        "false",
        "fetch",
        "for",
        "foreign",
        "from",
        "grant",
        "group",
        "having",
        "in",
        "initially",
        "intersect",
        "into",
        "lateral",
        "leading",
        "limit",
        "localtime",
        "localtimestamp",
        "not",
        "null",
        "offset",
        "on",
        "only",
        "or",
        "order",
        "placing",
        "primary",
        "references",
        "returning",
        "select",
        "session_user",
        "some",
        "symmetric",
        "table",
        "then",
        "to",
        "trailing",
        "true",
        "union",
        "unique",
        "user",
        "using",
        "variadic",
        "when",
        "where",
        "window",
        "with",
    }
)


def quote_ident(name: str) -> str:
    if _PLAIN_IDENT.match(name) and name not in _RESERVED:
        return name
    return '"' + name.replace('"', '""') + '"'


def _qualified(schema: str, name: str) -> str:
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def index_column(idx: Index, position: int, pretty: bool = True) -> str:
    """Key ``position`` (1-based) as pg_get_indexdef(oid, position, pretty) prints it."""
    if idx.expression and position == 1:
        return f"({_pretty_cast(idx.expression) if pretty else idx.expression})"
    if 1 <= position <= len(idx.columns):
        return quote_ident(idx.columns[position - 1])
    return ""


def _pretty_cast(text: str) -> str:
    """``(v)::vector(3)`` as the pretty deparser prints it: ``v::vector(3)``."""
    m = re.fullmatch(r"\(([^()]*(?:\([^()]*\))?)\)(::.*)", text)
    return m.group(1) + m.group(2) if m else text


def index_def(table: Table, idx: Index, *, qualify: bool = True, pretty: bool = False) -> str:
    """``CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING method (cols) [WITH (..)]``."""
    # an expression key that is not a bare function call is parenthesized (ruleutils.c);
    # the pretty form drops the parentheses around a cast's operand
    expression = idx.expression and (_pretty_cast(idx.expression) if pretty else idx.expression)
    keys = [f"({expression})"] if expression else [quote_ident(c) for c in idx.columns]
    if idx.opclass and keys and not _default_opclass(idx.opclass, idx.method):
        # ruleutils.c prints an opclass only when it is not the key type's default
        keys[0] = f"{keys[0]} {idx.opclass}"
    unique = "UNIQUE " if idx.unique or idx.primary else ""
    target = _qualified(table.schema, table.name) if qualify else quote_ident(table.name)
    text = (
        f"CREATE {unique}INDEX {quote_ident(idx.name)} ON {target} "
        f"USING {idx.method} ({', '.join(keys)})"
    )
    if idx.options:
        text += " WITH (" + ", ".join(f"{k}='{v}'" for k, v in idx.options.items()) + ")"
    if idx.predicate:
        text += f" WHERE ({idx.predicate})"
    return text


def _default_opclass(opclass: str, method: str) -> bool:
    return any(
        name == opclass and am == method and default for _, name, am, _, default in VECTOR_OPCLASSES
    )


def constraint_def(table: Table, idx: Index) -> str:
    """``PRIMARY KEY (id)`` / ``UNIQUE (a, b)`` as pg_get_constraintdef prints them."""
    kind = "PRIMARY KEY" if idx.primary else "UNIQUE"
    cols = ", ".join(quote_ident(c) for c in idx.columns)
    return f"{kind} ({cols})"


def format_type(type_oid: int | None, typmod: int | None) -> str | None:
    """PostgreSQL's format_type(): ``integer``, ``character varying(10)``, ``vector(3)``."""
    if type_oid is None:
        return None
    t = by_oid(type_oid)
    if t is None:
        return "???"
    if t.name in ("char", "name") and not t.is_array:
        return '"char"' if t.name == "char" else "name"
    mod = typmod if typmod is not None and typmod >= 0 else -1
    if t.name in ("char",) and t.is_array:
        return '"char"[]'
    return SqlType(t.name, mod, t.is_array).format()
