"""Type names: sqlglot's parsed types -> SqlType -> DuckDB's types."""

from __future__ import annotations

import re

from sqlglot import exp

from vecgres import errors
from vecgres.config import VECTOR_MAX_DIM
from vecgres.types import SqlType

DT = exp.DType

_FROM_SQLGLOT: dict[object, str] = {
    DT.BOOLEAN: "boolean",
    DT.SMALLINT: "smallint",
    DT.INT: "integer",
    DT.BIGINT: "bigint",
    DT.SERIAL: "integer",
    DT.BIGSERIAL: "bigint",
    DT.SMALLSERIAL: "smallint",
    DT.FLOAT: "real",
    DT.DOUBLE: "double precision",
    DT.DECIMAL: "numeric",
    DT.TEXT: "text",
    DT.VARCHAR: "character varying",
    DT.CHAR: "character",
    DT.NCHAR: "character",
    DT.NVARCHAR: "character varying",
    DT.VARBINARY: "bytea",
    DT.BINARY: "bytea",
    DT.DATE: "date",
    DT.TIME: "time without time zone",
    DT.TIMESTAMP: "timestamp without time zone",
    DT.TIMESTAMPTZ: "timestamp with time zone",
    DT.TIMESTAMPLTZ: "timestamp with time zone",
    DT.INTERVAL: "interval",
    DT.UUID: "uuid",
    DT.JSON: "json",
    DT.JSONB: "jsonb",
    DT.VECTOR: "vector",
    DT.NAME: "name",
    DT.BIT: "bit",
}

_USER_DEFINED: dict[str, str] = {
    "halfvec": "halfvec",
    "sparsevec": "sparsevec",
    "vector": "vector",
    "regclass": "regclass",
    "regtype": "regtype",
    "regproc": "regproc",
    "regnamespace": "regnamespace",
    "varbit": "bit varying",
    "bit varying": "bit varying",
    "bpchar": "character",
}

SERIAL_TYPES = {DT.SERIAL, DT.BIGSERIAL, DT.SMALLSERIAL}


# pg_strtoint32's syntax
_TYPMOD_INT = re.compile(r"\s*[+-]?\d+\s*")


def _int_param(dt: exp.DataType, index: int) -> int | None:
    params = dt.expressions
    if len(params) <= index:
        return None
    node = params[index]
    if isinstance(node, exp.DataTypeParam):
        node = node.this
    if isinstance(node, exp.Var | exp.Column) and node.name:
        node = exp.Literal.string(node.name.lower())  # an identifier typmod: its name's text
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        node = exp.Literal.string("-" + node.this.this)
    if isinstance(node, exp.Literal):
        # typmods are read as integers from their text (ArrayGetIntegerTypmods): vector('a')
        if _TYPMOD_INT.fullmatch(node.this):
            return int(node.this)
        raise errors.InvalidTextRepresentation(
            f'invalid input syntax for type integer: "{node.this}"'
        )
    raise errors.InvalidParameterValue("invalid type modifier")


def sql_type(dt: exp.Expr) -> SqlType:
    """The SqlType of a parsed type name, with pgvector's typmod checks; an error points
    at the type name, as PostgreSQL's typenameTypeMod reports a typmod's."""
    try:
        return _sql_type(dt)
    except errors.VecgresError as exc:
        start = dt.meta.get("start") if dt.meta else None
        if exc.position is None and isinstance(start, int):
            exc.position = start + 1
        raise


def _sql_type(dt: exp.Expr) -> SqlType:
    if isinstance(dt, exp.ObjectIdentifier):
        name = dt.name.lower()
        return SqlType(name if name in ("oid", "regclass", "regtype", "regproc") else "oid")
    if not isinstance(dt, exp.DataType):
        raise errors.SyntaxError_(f'syntax error at or near "{dt.sql()}"')
    if dt.this == DT.ARRAY:
        inner = dt.expressions[0] if dt.expressions else None
        if not isinstance(inner, exp.DataType):
            raise errors.FeatureNotSupported("array type without element type")
        return sql_type(inner).array_of()
    if dt.this == DT.USERDEFINED:
        kind = dt.args.get("kind")
        raw = (kind.name if isinstance(kind, exp.Expr) else str(kind or dt.this)).lower()
        found_udt = _USER_DEFINED.get(raw.split("(")[0].strip())
        if found_udt is None:
            raise errors.UndefinedObject(f'type "{raw}" does not exist')
        name = found_udt
    else:
        found = _FROM_SQLGLOT.get(dt.this)
        if found is None:
            raise errors.FeatureNotSupported(f"type {dt.sql(dialect='postgres')} is not supported")
        name = found
    typmod = -1
    if name in ("vector", "halfvec", "sparsevec"):
        if len(dt.expressions) > 1:
            raise errors.InvalidParameterValue("invalid type modifier")
        dims = _int_param(dt, 0)
        if dims is not None:
            if dims < 1:
                raise errors.InvalidParameterValue(f"dimensions for type {name} must be at least 1")
            limit = 1_000_000_000 if name == "sparsevec" else VECTOR_MAX_DIM
            if dims > limit:
                raise errors.InvalidParameterValue(
                    f"dimensions for type {name} cannot exceed {limit}"
                )
            typmod = dims
    elif name in ("character varying", "character", "bit", "bit varying"):
        n = _int_param(dt, 0)
        if n is None and name in ("character", "bit"):
            n = 1
        if n is not None:
            if n < 1:
                raise errors.InvalidParameterValue(
                    f"length for type {'varchar' if name == 'character varying' else name}"
                    " must be at least 1"
                )
            typmod = n if name.startswith("bit") else n + 4
    elif name == "numeric":
        p = _int_param(dt, 0)
        s = _int_param(dt, 1) or 0
        if p is not None:
            if not 1 <= p <= 1000:
                raise errors.InvalidParameterValue(
                    f"NUMERIC precision {p} must be between 1 and 1000"
                )
            typmod = ((p << 16) | s) + 4
    return SqlType(name, typmod)


def duck_type(t: SqlType) -> str:
    """The DuckDB type that holds values of ``t`` during execution."""
    if t.is_array:
        return duck_type(t.element) + "[]"
    name = t.name
    if name == "vector" or name == "halfvec":
        return f"FLOAT[{t.typmod}]" if t.typmod > 0 else "FLOAT[]"
    if name == "numeric":
        if t.typmod >= 4:
            packed = t.typmod - 4
            p, s = packed >> 16, packed & 0xFFFF
            if p <= 38:
                return f"DECIMAL({p},{s})"
        return "DECIMAL(38,10)"
    return _DUCK[name]


_DUCK: dict[str, str] = {
    "boolean": "BOOLEAN",
    "smallint": "SMALLINT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "text": "VARCHAR",
    "character varying": "VARCHAR",
    "character": "VARCHAR",
    "name": "VARCHAR",
    "char": "VARCHAR",
    "bytea": "BLOB",
    "date": "DATE",
    "time without time zone": "TIME",
    "timestamp without time zone": "TIMESTAMP",
    "timestamp with time zone": "TIMESTAMPTZ",
    "interval": "INTERVAL",
    "uuid": "UUID",
    "json": "JSON",
    "jsonb": "JSON",
    "oid": "BIGINT",
    "regclass": "BIGINT",
    "regtype": "BIGINT",
    "regproc": "BIGINT",
    "regnamespace": "BIGINT",
    "bit": "VARCHAR",
    "bit varying": "VARCHAR",
    "sparsevec": "VARCHAR",
    "unknown": "VARCHAR",
}


def type_from_duck(duck: str) -> SqlType:
    """Best PostgreSQL type for a DuckDB result type (used when analysis did not say)."""
    d = duck.upper()
    if d.startswith("STRUCT(") and d.endswith(")"):
        return SqlType("record")  # a ROW whose type analysis lost (a UNION's, a CASE's)
    if d.endswith("[]"):
        inner = type_from_duck(d[:-2])
        if inner.name == "numeric":
            # DuckDB gives a computed array one scale; PostgreSQL keeps each element's own
            inner = SqlType("numeric")
        return inner.array_of()
    if d.endswith("]") and "[" in d:
        base, _, size = d[:-1].rpartition("[")
        if base == "FLOAT":
            return SqlType("vector", int(size))
        return type_from_duck(base).array_of()
    if d.startswith("DECIMAL"):
        digits = d[d.index("(") + 1 : -1]
        p, s = (int(x) for x in digits.split(","))
        if (p, s) == (38, 10):
            return SqlType("numeric")
        if s == 0 and p == 38:  # HUGEINT sums come back as DECIMAL(38,0)
            return SqlType("numeric")
        return SqlType("numeric", ((p << 16) | s) + 4)
    return SqlType(_FROM_DUCK.get(d, "text"))


_FROM_DUCK: dict[str, str] = {
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "numeric",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "BLOB": "bytea",
    "DATE": "date",
    "TIME": "time without time zone",
    "TIMESTAMP": "timestamp without time zone",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "TIMESTAMP_NS": "timestamp without time zone",
    "TIMESTAMP_MS": "timestamp without time zone",
    "TIMESTAMP_S": "timestamp without time zone",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "json",
    "NULL": "text",
    '"NULL"': "text",
}
