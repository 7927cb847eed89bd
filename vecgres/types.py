"""SQL types as PostgreSQL names and numbers them.

The OIDs are PostgreSQL's built-in ones (pg_type.dat); they belong to the
catalog (pg_type) as much as to the wire, so they live here at the bottom.
pgvector's types get fixed OIDs just below ``config.FIRST_USER_OID``, as if
``CREATE EXTENSION vector`` were the first thing every database ran.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

# name -> (oid, array oid, typlen, category)
_BASE: Final[dict[str, tuple[int, int, int, str]]] = {
    "boolean": (16, 1000, 1, "B"),
    "bytea": (17, 1001, -1, "U"),
    "char": (18, 1002, 1, "Z"),
    "name": (19, 1003, 64, "S"),
    "bigint": (20, 1016, 8, "N"),
    "smallint": (21, 1005, 2, "N"),
    "integer": (23, 1007, 4, "N"),
    "regproc": (24, 1008, 4, "N"),
    "text": (25, 1009, -1, "S"),
    "oid": (26, 1028, 4, "N"),
    "json": (114, 199, -1, "U"),
    "real": (700, 1021, 4, "N"),
    "double precision": (701, 1022, 8, "N"),
    "unknown": (705, 0, -2, "X"),
    "character": (1042, 1014, -1, "S"),
    "character varying": (1043, 1015, -1, "S"),
    "date": (1082, 1182, 4, "D"),
    "time without time zone": (1083, 1183, 8, "D"),
    "timestamp without time zone": (1114, 1115, 8, "D"),
    "timestamp with time zone": (1184, 1185, 8, "D"),
    "interval": (1186, 1187, 16, "T"),
    "bit": (1560, 1561, -1, "V"),
    "bit varying": (1562, 1563, -1, "V"),
    "numeric": (1700, 1231, -1, "N"),
    "regclass": (2205, 2210, 4, "N"),
    "regtype": (2206, 2211, 4, "N"),
    "record": (2249, 2287, -1, "P"),
    "void": (2278, 0, 4, "P"),
    "uuid": (2950, 2951, 16, "U"),
    "jsonb": (3802, 3807, -1, "U"),
    "regnamespace": (4089, 4090, 4, "N"),
    "xid": (28, 1011, 4, "U"),
    "int2vector": (22, 1006, -1, "A"),
    "oidvector": (30, 1013, -1, "A"),
    "pg_node_tree": (194, 0, -1, "Z"),
    # pgvector
    "vector": (16385, 16390, -1, "U"),
    "halfvec": (16386, 16391, -1, "U"),
    "sparsevec": (16387, 16392, -1, "U"),
}

VECTOR_TYPES: Final = frozenset({"vector", "halfvec", "sparsevec"})

# A table's row type is SqlType("record", typmod=its pg_type OID): that OID (and the
# next, its array type's) lies in a range of its own, so that no catalog object's OID
# has to be taken for it
ROWTYPE_OID_BASE: Final = 1 << 30


def rowtype_oid(table_oid: int) -> int:
    """The pg_type OID of the composite row type of the table with OID ``table_oid``."""
    return ROWTYPE_OID_BASE + 2 * table_oid


@dataclass(frozen=True, slots=True)
class SqlType:
    """A SQL type: a base type name, an optional typmod, optionally an array of it.

    ``typmod`` is PostgreSQL's: -1 for none; ``n`` for ``vector(n)``; ``n + 4``
    for ``varchar(n)``/``char(n)``; ``((p << 16) | s) + 4`` for ``numeric(p, s)``.
    """

    name: str
    typmod: int = -1
    is_array: bool = False

    def __post_init__(self) -> None:
        if self.name not in _BASE:
            raise ValueError(f"unknown base type {self.name}")

    @property
    def oid(self) -> int:
        if self.name == "record" and self.typmod >= ROWTYPE_OID_BASE:
            return self.typmod + 1 if self.is_array else self.typmod  # a table's row type
        base = _BASE[self.name]
        return base[1] if self.is_array else base[0]

    @property
    def element(self) -> SqlType:
        return SqlType(self.name, self.typmod)

    def array_of(self) -> SqlType:
        return SqlType(self.name, self.typmod, is_array=True)

    @property
    def typlen(self) -> int:
        return -1 if self.is_array else _BASE[self.name][2]

    @property
    def category(self) -> str:
        return "A" if self.is_array else _BASE[self.name][3]

    @property
    def is_vector(self) -> bool:
        return not self.is_array and self.name in VECTOR_TYPES

    @property
    def dims(self) -> int | None:
        """Dimensions of ``vector(n)``/``halfvec(n)``/``sparsevec(n)``, else None."""
        if self.name in VECTOR_TYPES and self.typmod > 0:
            return self.typmod
        return None

    def format(self) -> str:
        """The type as ``format_type()`` prints it (``character varying(10)``, ``vector(3)``)."""
        name = self.name
        mod = ""
        if self.typmod >= 0:
            if name in ("bit", "bit varying") or name in VECTOR_TYPES:
                mod = f"({self.typmod})"
            elif name in ("character varying", "character"):
                mod = f"({self.typmod - 4})"
            elif name == "numeric":
                packed = self.typmod - 4
                mod = f"({packed >> 16},{packed & 0xFFFF})"
            elif name.startswith("time"):
                mod = f"({self.typmod})"
        if name.startswith("timestamp") or name.startswith("time "):
            head, _, tail = name.partition(" ")
            text = f"{head}{mod} {tail}"
        else:
            text = name + mod
        return text + ("[]" if self.is_array else "")

    def __str__(self) -> str:
        return self.format()


def type_oid(name: str) -> int:
    return _BASE[name][0]


def base_types() -> dict[str, tuple[int, int, int, str]]:
    """name -> (oid, array oid, typlen, category) for every type vecgres knows."""
    return dict(_BASE)


def by_oid(oid: int) -> SqlType | None:
    """The SqlType of a type OID (arrays included), or None."""
    return _BY_OID.get(oid)


def _oid_index() -> dict[int, SqlType]:
    # per-value decoding (binary COPY, Bind) asks for every field: a dict, not a scan
    index: dict[int, SqlType] = {}
    for name, (base_oid, array_oid, _, _) in _BASE.items():
        index.setdefault(base_oid, SqlType(name))
        if array_oid:
            index.setdefault(array_oid, SqlType(name, is_array=True))
    return index


BOOL: Final = SqlType("boolean")
INT2: Final = SqlType("smallint")
INT4: Final = SqlType("integer")
INT8: Final = SqlType("bigint")
FLOAT4: Final = SqlType("real")
FLOAT8: Final = SqlType("double precision")
NUMERIC: Final = SqlType("numeric")
TEXT: Final = SqlType("text")
VARCHAR: Final = SqlType("character varying")
BPCHAR: Final = SqlType("character")
BYTEA: Final = SqlType("bytea")
DATE: Final = SqlType("date")
TIME: Final = SqlType("time without time zone")
TIMESTAMP: Final = SqlType("timestamp without time zone")
TIMESTAMPTZ: Final = SqlType("timestamp with time zone")
INTERVAL: Final = SqlType("interval")
UUID: Final = SqlType("uuid")
JSON: Final = SqlType("json")
JSONB: Final = SqlType("jsonb")
UNKNOWN: Final = SqlType("unknown")
VOID: Final = SqlType("void")
OID: Final = SqlType("oid")
NAME: Final = SqlType("name")
VECTOR: Final = SqlType("vector")


def vector(dims: int = -1) -> SqlType:
    return SqlType("vector", dims)


_BY_OID: Final = _oid_index()
