"""PostgreSQL's catalog functions as DuckDB functions of one session (``vgc_*``).

The rewrite (``rewrite.py``) renames ``f(a, b)`` to ``vgc_f_2(a, b)``: DuckDB's
Python functions have one signature each, PostgreSQL's have overloads by arity.
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Callable
from typing import TYPE_CHECKING

import duckdb

from vecgres import errors
from vecgres.catalog.model import Index, Sequence, Table
from vecgres.executor.duck import error_payload
from vecgres.sql.pgcatalog import builtins as b
from vecgres.sql.pgcatalog import constraint_rows
from vecgres.sql.pgcatalog import pgvector_objects as pgv
from vecgres.sql.pgcatalog.columns import RELATIONS
from vecgres.sql.pgcatalog.render import (
    constraint_def,
    format_type,
    index_column,
    index_def,
    quote_ident,
)
from vecgres.sql.pgcatalog.rows import (
    PG_CLASS_OID,
    CatalogState,
    constraint_oid,
    pg_description,
    typname,
)
from vecgres.sql.pgcatalog.signatures import MACRO_ARGS, MACROS, SIGNATURES, udf_name
from vecgres.types import SqlType, base_types

if TYPE_CHECKING:
    from vecgres.sql.pgcatalog.session import CatalogSession as Session

_SUPPORT_NAMES = dict(pgv.SUPPORT_FUNCTIONS)  # OID -> name of the (internal) functions


def _version() -> str:
    # not vecgres.__version__: the package root sits above sql/ in the layers
    try:
        return importlib.metadata.version("vecgres")
    except importlib.metadata.PackageNotFoundError:
        return "dev"


def _fail(err: errors.VecgresError) -> None:
    raise ValueError(error_payload(err))


def _split(text: str) -> tuple[str | None, str]:
    """``schema.name`` or ``name`` with PostgreSQL's identifier folding."""
    parts: list[str] = []
    cur = ""
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            if quoted and i + 1 < len(text) and text[i + 1] == '"':
                cur += '"'
                i += 1
            else:
                quoted = not quoted
        elif ch == "." and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch if quoted else ch.lower()
        i += 1
    parts.append(cur)
    if len(parts) >= 2:
        return parts[-2].strip(), parts[-1].strip()
    return None, parts[0].strip()


def parse_ident(text: str, strict: bool) -> list[str]:
    """PostgreSQL's parse_ident: a qualified identifier split into its folded parts."""
    parts: list[str] = []
    i, n = 0, len(text)

    def invalid(detail: str) -> errors.VecgresError:
        return errors.InvalidParameterValue(
            f'string is not a valid identifier: "{text}"', detail=detail
        )

    while True:
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] == '"':
            end = i + 1
            ident = ""
            while True:
                close = text.find('"', end)
                if close < 0:
                    raise invalid("String has unclosed double quotes.")
                ident += text[end:close]
                if close + 1 < n and text[close + 1] == '"':
                    ident += '"'
                    end = close + 2
                    continue
                break
            if not ident:
                raise invalid("Quoted identifier must not be empty.")
            parts.append(ident)
            i = close + 1
        else:
            start = i
            while i < n and (text[i].isalnum() or text[i] in "_$" or ord(text[i]) > 127):
                i += 1
            if i == start:
                if i < n and text[i] == ".":
                    raise invalid('No valid identifier before ".".')
                if parts:
                    raise invalid('No valid identifier after ".".')
                raise invalid("")
            parts.append(text[start:i].lower())
        while i < n and text[i].isspace():
            i += 1
        if i < n and text[i] == ".":
            i += 1
            continue
        if i < n and strict:
            raise invalid("")
        return parts


class Functions:
    """The catalog functions, reading the session's current catalog when called."""

    def __init__(self, state: Callable[[], CatalogState], search_path: Callable[[], list[str]]):
        self._state = state
        self._search_path = search_path

    # --- lookups ---------------------------------------------------------------
    def _relation(self, oid: int) -> Table | Sequence | None:
        cat = self._state().catalog
        return cat.tables.get(oid) or cat.sequences.get(oid)

    def _index(self, oid: int) -> tuple[Table, Index] | None:
        for table in self._state().catalog.tables.values():
            for idx in table.indexes:
                if idx.oid == oid:
                    return table, idx
        return None

    def _system_relation(self, oid: int) -> tuple[str, str] | None:
        for (schema, name), spec in RELATIONS.items():
            if spec[0] == oid:
                return schema, name
        return None

    def _system_table_named(self, text: str) -> tuple[str, str] | None:
        """The catalog relation a has_table_privilege argument (name or OID) means."""
        if text.strip().isdigit():
            return self._system_relation(int(text))
        schema, name = _split(text)
        if schema is None:
            # PostgreSQL searches pg_catalog first
            return ("pg_catalog", name) if ("pg_catalog", name) in RELATIONS else None
        return (schema, name) if (schema, name) in RELATIONS else None

    def _visible_schema(self, schema: str) -> bool:
        return schema == "pg_catalog" or schema in self._search_path()

    # --- the functions ---------------------------------------------------------
    def version(self) -> str:
        st = self._state()
        return (
            f"PostgreSQL {st.setting('server_version')} (vecgres {_version()}) on "
            f"{platform.machine()}-pc-linux-gnu, compiled by Python "
            f"{platform.python_version()}, 64-bit"
        )

    def current_schema(self) -> str | None:
        st = self._state()
        for schema in self._search_path():
            if schema in st.catalog.schemas or schema in ("pg_catalog", "information_schema"):
                return schema
        return None

    def current_schemas(self, implicit: bool | None) -> list[str] | None:
        if implicit is None:
            return None
        st = self._state()
        found = [
            s
            for s in self._search_path()
            if s in st.catalog.schemas or s in ("pg_catalog", "information_schema")
        ]
        if implicit and "pg_catalog" not in found:
            found.insert(0, "pg_catalog")
        return found

    def current_database(self) -> str:
        return self._state().database

    def current_user(self) -> str:
        return self._state().user

    def session_user(self) -> str:
        st = self._state()
        return st.session_user or st.user

    # set by install(): the privilege check needs the session (vecgres.sql.grants)
    privilege: Callable[[str | None, str, str], bool] | None = None

    def has_table_privilege_2(self, table: str | None, privilege: str | None) -> bool | None:
        return self.has_table_privilege_3(None, table, privilege)

    def has_table_privilege_3(
        self, user: str | None, table: str | None, privilege: str | None
    ) -> bool | None:
        if table is None or privilege is None or self.privilege is None:
            return None
        system = self._system_table_named(table)
        if system is not None:
            # the catalogs: PUBLIC may read them, only the superuser change them
            who = user if user is not None else self._state().user
            return who == "postgres" or all(
                p.strip().upper().startswith("SELECT") for p in privilege.split(",")
            )
        try:
            return self.privilege(user, table, privilege)
        except errors.VecgresError as exc:
            _fail(exc)
            return None

    # has_schema_privilege / has_database_privilege: set by install() like ``privilege``
    schema_privilege: Callable[[str | None, str, str], bool] | None = None
    database_privilege: Callable[[str | None, str, str], bool] | None = None

    def has_schema_privilege_2(self, schema: str | None, privilege: str | None) -> bool | None:
        return self.has_schema_privilege_3(None, schema, privilege)

    def has_schema_privilege_3(
        self, user: str | None, schema: str | None, privilege: str | None
    ) -> bool | None:
        return self._ask(self.schema_privilege, user, schema, privilege)

    def has_database_privilege_2(self, database: str | None, privilege: str | None) -> bool | None:
        return self.has_database_privilege_3(None, database, privilege)

    def has_database_privilege_3(
        self, user: str | None, database: str | None, privilege: str | None
    ) -> bool | None:
        return self._ask(self.database_privilege, user, database, privilege)

    @staticmethod
    def _ask(
        check: Callable[[str | None, str, str], bool] | None,
        user: str | None,
        target: str | None,
        privilege: str | None,
    ) -> bool | None:
        if target is None or privilege is None or check is None:
            return None
        try:
            return check(user, target, privilege)
        except errors.VecgresError as exc:
            _fail(exc)
            return None

    def pg_backend_pid(self) -> int:
        return self._state().pid

    def format_type(self, oid: int | None, typmod: int | None) -> str | None:
        row = self._row_type_name(oid)
        return row if row is not None else format_type(oid, typmod)

    def _row_type_name(self, oid: int | None) -> str | None:
        from vecgres.sql.pgcatalog.rowtypes import row_type_name

        return None if oid is None else row_type_name(self._state().tables(), oid)

    def pg_get_userbyid(self, oid: int | None) -> str | None:
        if oid is None:
            return None
        return self._state().role_name(oid) or f"unknown (OID={oid})"

    def pg_table_is_visible(self, oid: int | None) -> bool | None:
        if oid is None:
            return None
        rel = self._relation(oid)
        if rel is not None:
            if not self._visible_schema(rel.schema):
                return False
            # visible when no earlier schema on the path has a relation of the same name
            found = self._state().catalog.resolve(rel.name, None, self._search_path())
            return found is rel or (found is not None and found.oid == rel.oid)
        found_index = self._index(oid)
        if found_index is not None:
            return self._visible_schema(found_index[0].schema)
        system = self._system_relation(oid)
        if system is not None:
            return system[0] == "pg_catalog"
        return None

    def pg_get_expr_2(self, expr: str | None, relid: int | None) -> str | None:
        return expr

    def pg_get_expr_3(self, expr: str | None, relid: int | None, pretty: bool | None) -> str | None:
        return expr

    def pg_get_indexdef_1(self, oid: int | None) -> str | None:
        return self.pg_get_indexdef_3(oid, 0, False)

    def pg_get_indexdef_3(
        self, oid: int | None, column: int | None, pretty: bool | None
    ) -> str | None:
        if oid is None:
            return None
        found = self._index(oid)
        if found is None:
            return None
        table, idx = found
        if column:
            return index_column(idx, column, bool(pretty))
        # only the pretty form leaves out a schema on the search path (PRETTYFLAG_SCHEMA)
        visible = bool(pretty) and self._visible_schema(table.schema)
        return index_def(table, idx, qualify=not visible, pretty=bool(pretty))

    def pg_get_constraintdef_1(self, oid: int | None) -> str | None:
        if oid is None:
            return None
        for table in self._state().catalog.tables.values():
            for idx in table.indexes:
                if constraint_oid(idx) == oid:
                    return constraint_def(table, idx)
        return constraint_rows.definition(self._state().catalog, oid, False)

    def pg_get_constraintdef_2(self, oid: int | None, pretty: bool | None) -> str | None:
        if pretty and oid is not None:
            found = constraint_rows.definition(self._state().catalog, oid, True)
            if found is not None:
                return found
        return self.pg_get_constraintdef_1(oid)

    def pg_get_viewdef_1(self, oid: int | None) -> str | None:
        rel = self._relation(oid) if oid is not None else None
        if isinstance(rel, Table) and rel.kind == "v":
            return rel.view_sql
        return None

    def pg_get_viewdef_2(self, oid: int | None, pretty: bool | None) -> str | None:
        return self.pg_get_viewdef_1(oid)

    def pg_get_serial_sequence(self, table: str | None, column: str | None) -> str | None:
        if table is None or column is None:
            return None
        schema, name = _split(table)
        cat = self._state().catalog
        try:
            rel = cat.resolve_table(name, schema, self._search_path())
        except errors.VecgresError as exc:
            _fail(exc)
            raise
        if rel.column(column) is None:
            _fail(
                errors.UndefinedColumn(f'column "{column}" of relation "{rel.name}" does not exist')
            )
        for seq in cat.sequences.values():
            if seq.schema == rel.schema and seq.owned_by == (rel.name, column):
                return f"{seq.schema}.{seq.name}"
        return None

    def pg_relation_size(self, oid: int | None) -> int | None:
        # the bytes of the table's segments (sealed files are mapped, so this is their size)
        if oid is None:
            return None
        found = self._index(oid)
        if found is not None:
            return self._state().index_bytes(found[0].oid, oid)
        rel = self._relation(oid)
        if not isinstance(rel, Table) or rel.kind != "r":
            return 0
        stats = self._state().table_stats(oid)
        return stats[0] if stats else 0

    def pg_total_relation_size(self, oid: int | None) -> int | None:
        size = self.pg_relation_size(oid)
        if oid is None or size is None or self._index(oid) is not None:
            return size
        return size + (self.pg_indexes_size(oid) or 0)

    def pg_indexes_size(self, oid: int | None) -> int | None:
        # ANN indexes' files; vecgres keeps no btree pages (uniqueness is checked on the data)
        if oid is None:
            return None
        rel = self._relation(oid)
        if not isinstance(rel, Table):
            return 0
        state = self._state()
        return sum(state.index_bytes(rel.oid, idx.oid) for idx in rel.indexes)

    def pg_encoding_to_char(self, encoding: int | None) -> str | None:
        if encoding is None:
            return None
        return {0: "SQL_ASCII", 6: "UTF8"}.get(encoding, "")

    def pg_relation_is_publishable(self, oid: int | None) -> bool | None:
        rel = self._relation(oid) if oid is not None else None
        return isinstance(rel, Table) and rel.kind == "r"

    def _proc(self, oid: int | None) -> tuple[int, str, tuple[str, ...], str] | None:
        for proc in pgv.FUNCTIONS:
            if proc[0] == oid:
                return proc
        return None

    def pg_get_function_result(self, oid: int | None) -> str | None:
        if oid in _SUPPORT_NAMES:
            return "internal"
        proc = self._proc(oid)
        return pgv.sql_type(proc[3]).format() if proc else None

    def pg_get_function_arguments(self, oid: int | None) -> str | None:
        if oid in _SUPPORT_NAMES:
            return "internal"
        proc = self._proc(oid)
        return ", ".join(pgv.sql_type(a).format() for a in proc[2]) if proc else None

    def amvalidate(self, oid: int | None) -> bool | None:
        """Whether an operator class is complete: a pgvector opclass has its
        operator(s) in pg_amop and its distance (or comparison) function as support
        function 1 in pg_amproc; PostgreSQL's own btree opclasses are valid."""
        if oid is None:
            return None
        for opclass_oid, _, method, _, _ in b.VECTOR_OPCLASSES:
            if opclass_oid == oid:
                operators = {a.strategy for a in pgv.AMOPS if a.family == oid}
                support = {a.number for a in pgv.AMPROCS if a.family == oid}
                wanted = {1, 2, 3, 4, 5} if method == "btree" else {1}
                return operators == wanted and 1 in support
        if any(opclass[0] == oid for opclass in b.BTREE_OPCLASSES.values()):
            return True
        _fail(errors.InternalError(f"cache lookup failed for operator class {oid}"))
        return None

    def regproc_out(self, value: str | None) -> str | None:
        """``x::regproc`` of a function's OID (as text): its name. A name stays a name."""
        return self._regproc(value, with_arguments=False)

    def regprocedure_out(self, value: str | None) -> str | None:
        """``x::regprocedure``: ``name(argument types)`` (psql's ``\\dAp+``)."""
        return self._regproc(value, with_arguments=True)

    def _regproc(self, value: str | None, with_arguments: bool) -> str | None:
        if value is None or not value.strip().isdigit():
            return value
        oid = int(value)
        if oid in _SUPPORT_NAMES:
            return f"{_SUPPORT_NAMES[oid]}(internal)" if with_arguments else _SUPPORT_NAMES[oid]
        proc = self._proc(oid)
        if proc is None:
            return value.strip()
        if not with_arguments:
            return proc[1]
        args = ",".join(str(format_type(pgv.sql_type(a).oid, -1)) for a in proc[2])
        return f"{proc[1]}({args})"

    def to_regtype(self, text: str | None) -> int | None:
        if text is None:
            return None
        name = text.strip()
        if name.startswith("pg_catalog."):
            name = name[len("pg_catalog.") :]
        elif name.startswith("public."):
            name = name[len("public.") :]
        is_array = name.endswith("[]")
        base = name[:-2].strip() if is_array else name
        base = base.strip('"')
        from vecgres.sql.typemap import _USER_DEFINED  # type names sqlglot cannot parse

        types = base_types()
        for key in (base, base.lower()):
            if key in types:
                t = SqlType(key, is_array=is_array)
                return t.oid
        for tname, (oid, array_oid, _, _) in types.items():
            if typname(SqlType(tname)) == base.lower():
                return array_oid if is_array else oid
            if "_" + typname(SqlType(tname)) == base.lower() and not is_array:
                return array_oid
        aliases = {
            "int": "integer",
            "int4": "integer",
            "int8": "bigint",
            "int2": "smallint",
            "float": "double precision",
            "float8": "double precision",
            "float4": "real",
            "bool": "boolean",
            "varchar": "character varying",
            "char": "character",
            "timestamptz": "timestamp with time zone",
            "timestamp": "timestamp without time zone",
            "time": "time without time zone",
            "decimal": "numeric",
            **_USER_DEFINED,
        }
        full = aliases.get(base.lower())
        if full is not None and full in types:
            return SqlType(full, is_array=is_array).oid
        return self._table_row_type(text.strip(), is_array)

    def _table_row_type(self, text: str, is_array: bool) -> int | None:
        """A table's row type by the table's name (its array type: ``t[]`` or ``_t``)."""
        from vecgres.sql.pgcatalog.rowtypes import row_type_oid

        name = text[:-2].strip() if is_array else text
        catalog, path = self._state().catalog, self._search_path()
        schema, rel = _split(name)
        found = row_type_oid(catalog.resolve(rel, schema, path), is_array)
        if found is None and not is_array and rel.startswith("_"):
            found = row_type_oid(catalog.resolve(rel[1:], schema, path), True)
        return found

    def regtype_in(self, text: str | None) -> int | None:
        if text is not None and text.strip().isdigit():
            return int(text)
        if text is None:
            return None
        oid = self.to_regtype(text)
        if oid is None:
            _fail(errors.UndefinedObject(f'type "{text}" does not exist'))
        return oid

    def regoperator_out(self, oid: int | None) -> str | None:
        if oid is None:
            return None
        for op in pgv.OPERATORS:
            if op.oid == oid:
                args = [str(format_type(SqlType(t).oid, -1)) for t in (op.left, op.right)]
                return f"{op.name}({','.join(args)})"
        return str(oid)

    def regtype_out(self, oid: int | None) -> str | None:
        if oid is None:
            return None
        row = self._row_type_name(oid)
        if row is not None:
            return row
        t = format_type(oid, -1)
        return str(oid) if t == "???" else t

    def to_regclass(self, text: str | None) -> int | None:
        if text is None:
            return None
        schema, name = _split(text)
        st = self._state()
        rel = st.catalog.resolve(name, schema, self._search_path())
        if rel is not None:
            return rel.oid
        for table in st.catalog.tables.values():
            for idx in table.indexes:
                if idx.name == name and (schema is None or schema == table.schema):
                    return idx.oid
        for (sys_schema, sys_name), spec in RELATIONS.items():
            if sys_name == name and (
                schema == sys_schema or (schema is None and sys_schema == "pg_catalog")
            ):
                return spec[0]
        return None

    def regclass_in(self, text: str | None) -> int | None:
        if text is None:
            return None
        if text.strip().isdigit():
            return int(text)
        oid = self.to_regclass(text)
        if oid is None:
            _fail(errors.UndefinedTable(f'relation "{text}" does not exist'))
        return oid

    def regclass_out(self, oid: int | None) -> str | None:
        if oid is None:
            return None
        rel = self._relation(oid)
        if rel is not None:
            return rel.name if self.pg_table_is_visible(oid) else f"{rel.schema}.{rel.name}"
        found = self._index(oid)
        if found is not None:
            return found[1].name
        system = self._system_relation(oid)
        if system is not None:
            return system[1] if system[0] == "pg_catalog" else f"{system[0]}.{system[1]}"
        return str(oid)

    def to_regnamespace(self, text: str | None) -> int | None:
        if text is None:
            return None
        name = _split(text)[1]
        oid = self._state().nsp_oid(name)
        return oid or None

    def regnamespace_in(self, text: str | None) -> int | None:
        if text is not None and text.strip().isdigit():
            return int(text)
        oid = self.to_regnamespace(text)
        if oid is None and text is not None:
            _fail(errors.InvalidSchemaName(f'schema "{text}" does not exist'))
        return oid

    def regnamespace_out(self, oid: int | None) -> str | None:
        if oid is None:
            return None
        for nsp_oid, name, _ in self._state().namespaces():
            if nsp_oid == oid:
                return name
        return str(oid)

    def regrole_in(self, text: str | None) -> int | None:
        if text is not None and text.strip().isdigit():
            return int(text)
        if text is None:
            return None
        for oid, name in self._state().roles():
            if name == _split(text)[1]:
                return oid
        _fail(errors.UndefinedObject(f'role "{text}" does not exist'))
        return None

    def regrole_out(self, oid: int | None) -> str | None:
        return None if oid is None else (self._state().role_name(oid) or str(oid))

    def _description(self, oid: int | None, classoid: int | None, subid: int) -> str | None:
        if oid is None:
            return None
        for row in pg_description(self._state()):
            if (
                row["objoid"] == oid
                and row["objsubid"] == subid
                and (classoid is None or row["classoid"] == classoid)
            ):
                return str(row["description"])
        return None

    def obj_description_1(self, oid: int | None) -> str | None:
        return self._description(oid, None, 0)

    def obj_description_2(self, oid: int | None, catalog: str | None) -> str | None:
        if catalog is None:
            return None
        table = RELATIONS.get(("pg_catalog", catalog.split(".")[-1].lower()))
        return None if table is None else self._description(oid, table[0], 0)

    def col_description(self, oid: int | None, attnum: int | None) -> str | None:
        if attnum is None:
            return None
        return self._description(oid, PG_CLASS_OID, attnum)

    def quote_literal(self, text: str | None) -> str | None:
        if text is None:
            return None
        quoted = "'" + text.replace("'", "''").replace("\\", "\\\\") + "'"
        return "E" + quoted if "\\" in text else quoted

    def parse_ident_1(self, text: str | None) -> list[str] | None:
        return self.parse_ident_2(text, True)

    def parse_ident_2(self, text: str | None, strict: bool | None) -> list[str] | None:
        if text is None or strict is None:
            return None
        try:
            return parse_ident(text, strict)
        except errors.VecgresError as err:
            _fail(err)
            raise  # unreachable: _fail raises

    def pg_size_pretty(self, size: int | None) -> str | None:
        # PostgreSQL's dbsize.c: bytes below 10 kB, then halving-rounded 1024 steps
        if size is None:
            return None
        if abs(size) < 10 * 1024:
            return f"{size} bytes"
        size >>= 9  # one extra bit for rounding
        for unit in ("kB", "MB", "GB", "TB"):
            if abs(size) < 20 * 1024 - 1:
                return f"{int((size + (-1 if size < 0 else 1)) / 2)} {unit}"
            size >>= 10
        return f"{int((size + (-1 if size < 0 else 1)) / 2)} PB"

    def pg_tablespace_location(self, oid: int | None) -> str | None:
        if oid is None:
            return None
        if oid in (b.DEFAULT_TABLESPACE_OID, b.GLOBAL_TABLESPACE_OID):
            return ""  # the built-in tablespaces live in the data directory
        _fail(
            errors.UndefinedFile(
                f'could not stat file "pg_tblspc/{oid}": No such file or directory'
            )
        )
        return None

    def quote_ident(self, text: str | None) -> str | None:
        return None if text is None else quote_ident(text)


def install(session: Session) -> None:
    """Register the catalog functions in the session's DuckDB connection, once.

    Done on the session's first query rather than at connect, so sessions that
    only write (and short-lived processes) do not pay for it.
    """
    from vecgres.sql.pgcatalog.state import session_state

    if getattr(session.duck, "pgcatalog_installed", False):
        return
    setattr(session.duck, "pgcatalog_installed", True)  # noqa: B010

    funcs = Functions(lambda: session_state(session), session.settings.search_path)
    from vecgres.sql.grants import database_privilege, schema_privilege, table_privilege

    funcs.privilege = lambda user, table, privilege: table_privilege(
        session,  # type: ignore[arg-type]  # the engine's Session, seen through its protocol
        user,
        table,
        privilege,
    )
    funcs.schema_privilege = lambda user, schema, privilege: schema_privilege(
        session,  # type: ignore[arg-type]
        user,
        schema,
        privilege,
    )
    funcs.database_privilege = lambda user, database, privilege: database_privilege(
        session,  # type: ignore[arg-type]
        user,
        database,
        privilege,
    )
    for (name, arity), (params, ret) in SIGNATURES.items():
        impl = getattr(funcs, f"{name}_{arity}", None) or getattr(funcs, name, None)
        if impl is None and name == "pg_table_size":
            impl = funcs.pg_relation_size
        if impl is None and name == "pg_get_function_identity_arguments":
            impl = funcs.pg_get_function_arguments
        assert impl is not None, name
        session.duck.function(
            udf_name(name, arity),
            impl,
            [duckdb.sqltype(p) for p in params],
            duckdb.sqltype(ret),
            side_effects=True,
        )
    for (name, arity), body in MACROS.items():
        args = ", ".join(MACRO_ARGS[:arity])
        session.duck.execute(f"CREATE OR REPLACE MACRO {udf_name(name, arity)}({args}) AS {body}")
