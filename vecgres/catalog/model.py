"""Catalog objects and their JSON form."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from vecgres import errors
from vecgres.config import FIRST_USER_OID
from vecgres.types import SqlType

# fixed OIDs of the built-in namespaces (PostgreSQL's)
PG_CATALOG_OID = 11
PUBLIC_OID = 2200
INFORMATION_SCHEMA_OID = 13000


@dataclass(slots=True)
class Column:
    id: int  # stable storage id: the column lives in segments as field "c<id>"
    name: str
    type: SqlType
    not_null: bool = False
    default: str | None = None  # PostgreSQL expression text
    # value for rows stored before this column existed (ADD COLUMN ... DEFAULT const)
    missing: Any = None
    comment: str | None = None  # COMMENT ON COLUMN
    # ALTER COLUMN ... SET STORAGE: pg_attribute.attstorage (p, e, x, m); None: the
    # type's. Segments store columns as Arrow arrays whatever it says (no TOAST)
    storage: str | None = None

    @property
    def field_name(self) -> str:
        return f"c{self.id}"


@dataclass(slots=True)
class Index:
    oid: int
    name: str
    columns: list[str]
    method: str = "btree"  # btree | hnsw | ivfflat | flat
    unique: bool = False
    primary: bool = False
    options: dict[str, str] = field(default_factory=dict)
    opclass: str | None = None
    predicate: str | None = None  # partial index WHERE clause (PostgreSQL text)
    expression: str | None = None  # expression index key (PostgreSQL text)
    constraint_name: str | None = None


@dataclass(slots=True)
class Constraint:
    """A CHECK (kind "c") or FOREIGN KEY (kind "f") constraint. Key and unique
    constraints live on their ``Index``. Columns are stable column ids, so renames
    leave them right."""

    oid: int
    name: str
    kind: str
    columns: list[int] = field(default_factory=list)  # conkey (column ids)
    expression: str | None = None  # CHECK: the expression (PostgreSQL text)
    ref_table: int = 0  # FOREIGN KEY: referenced table oid (confrelid)
    ref_columns: list[int] = field(default_factory=list)  # confkey (column ids)
    on_update: str = "a"  # confupdtype: a no action, r restrict, c cascade, n null, d default
    on_delete: str = "a"
    match: str = "s"  # s simple, f full
    deferrable: bool = False
    deferred: bool = False
    validated: bool = True


@dataclass(slots=True)
class Table:
    oid: int
    schema: str
    name: str
    columns: list[Column]
    next_column_id: int
    indexes: list[Index] = field(default_factory=list)
    kind: str = "r"  # r table, v view
    view_sql: str | None = None
    owner: str = "postgres"
    acl: dict[str, list[str]] = field(default_factory=dict)  # grantee (or "public") -> privileges
    comment: str | None = None  # COMMENT ON TABLE/VIEW
    constraints: list[Constraint] = field(default_factory=list)  # CHECK and FOREIGN KEY

    def column(self, name: str) -> Column | None:
        for col in self.columns:
            if col.name == name:
                return col
        return None

    def column_by_id(self, column_id: int) -> Column | None:
        for col in self.columns:
            if col.id == column_id:
                return col
        return None

    def attnum(self, name: str) -> int:
        """1-based position of a live column (PostgreSQL's attnum, ignoring dropped ones)."""
        for pos, col in enumerate(self.columns, start=1):
            if col.name == name:
                return pos
        return 0

    @property
    def primary_key(self) -> Index | None:
        for idx in self.indexes:
            if idx.primary:
                return idx
        return None

    @property
    def unique_indexes(self) -> list[Index]:
        return [idx for idx in self.indexes if idx.unique]


@dataclass(slots=True)
class Sequence:
    oid: int
    schema: str
    name: str
    start: int = 1
    increment: int = 1
    min_value: int = 1
    max_value: int = 9223372036854775807
    cycle: bool = False
    type_name: str = "bigint"
    owned_by: tuple[str, str] | None = None  # (table name, column name) in the same schema
    owner: str = "postgres"
    acl: dict[str, list[str]] = field(default_factory=dict)  # grantee (or "public") -> privileges


@dataclass(slots=True)
class Catalog:
    """Everything DDL defines in one database. Treat as immutable; use ``edit()``."""

    version: int = 0
    next_oid: int = FIRST_USER_OID
    schemas: dict[str, int] = field(default_factory=lambda: {"public": PUBLIC_OID})
    tables: dict[int, Table] = field(default_factory=dict)
    sequences: dict[int, Sequence] = field(default_factory=dict)
    extensions: dict[str, str] = field(default_factory=dict)  # name -> version
    # GRANT ... ON SCHEMA (absent: PostgreSQL's default) and who made each schema
    schema_acl: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    schema_owners: dict[str, str] = field(default_factory=dict)

    def edit(self) -> Catalog:
        """A deep copy with the version bumped, for DDL to change."""
        new = copy.deepcopy(self)
        new.version += 1
        return new

    def allocate_oid(self) -> int:
        oid = self.next_oid
        self.next_oid += 1
        return oid

    # lookups -------------------------------------------------------------
    def find_relation(self, schema: str, name: str) -> Table | Sequence | None:
        for table in self.tables.values():
            if table.schema == schema and table.name == name:
                return table
        for seq in self.sequences.values():
            if seq.schema == schema and seq.name == name:
                return seq
        return None

    def find_index(self, schema: str, name: str) -> tuple[Table, Index] | None:
        for table in self.tables.values():
            if table.schema != schema:
                continue
            for idx in table.indexes:
                if idx.name == name:
                    return table, idx
        return None

    def resolve(
        self, name: str, schema: str | None, search_path: list[str]
    ) -> Table | Sequence | None:
        if schema is not None:
            return self.find_relation(schema, name)
        for candidate in search_path:
            found = self.find_relation(candidate, name)
            if found is not None:
                return found
        return None

    def resolve_table(self, name: str, schema: str | None, search_path: list[str]) -> Table:
        found = self.resolve(name, schema, search_path)
        if not isinstance(found, Table):
            shown = f"{schema}.{name}" if schema else name
            raise errors.UndefinedTable(f'relation "{shown}" does not exist')
        return found

    def resolve_sequence(self, name: str, schema: str | None, search_path: list[str]) -> Sequence:
        found = self.resolve(name, schema, search_path)
        if not isinstance(found, Sequence):
            shown = f"{schema}.{name}" if schema else name
            raise errors.UndefinedTable(f'relation "{shown}" does not exist')
        return found

    def name_taken(self, schema: str, name: str) -> bool:
        return (
            self.find_relation(schema, name) is not None
            or self.find_index(schema, name) is not None
        )

    # serialization -------------------------------------------------------
    def to_bytes(self) -> bytes:
        return json.dumps(_encode(self), separators=(",", ":")).encode()

    @staticmethod
    def from_bytes(blob: bytes) -> Catalog:
        if not blob:
            return Catalog()
        return _decode(json.loads(blob))


def _type_to_json(t: SqlType) -> list[Any]:
    return [t.name, t.typmod, t.is_array]


def _type_from_json(v: list[Any]) -> SqlType:
    return SqlType(v[0], v[1], v[2])


def _encode(cat: Catalog) -> dict[str, Any]:
    tables = []
    for table in cat.tables.values():
        t = asdict(table)
        t["columns"] = [{**asdict(c), "type": _type_to_json(c.type)} for c in table.columns]
        tables.append(t)
    return {
        "version": cat.version,
        "next_oid": cat.next_oid,
        "schemas": cat.schemas,
        "tables": tables,
        "sequences": [asdict(s) for s in cat.sequences.values()],
        "extensions": cat.extensions,
        "schema_acl": cat.schema_acl,
        "schema_owners": cat.schema_owners,
    }


def _decode(d: dict[str, Any]) -> Catalog:
    tables: dict[int, Table] = {}
    for t in d["tables"]:
        cols = [Column(**{**c, "type": _type_from_json(c["type"])}) for c in t["columns"]]
        idxs = [Index(**i) for i in t["indexes"]]
        cons = [Constraint(**c) for c in t.get("constraints", [])]
        table = Table(**{**t, "columns": cols, "indexes": idxs, "constraints": cons})
        tables[table.oid] = table
    seqs = {}
    for s in d["sequences"]:
        if s.get("owned_by") is not None:
            s["owned_by"] = tuple(s["owned_by"])
        seqs[s["oid"]] = Sequence(**s)
    return Catalog(
        version=d["version"],
        next_oid=d["next_oid"],
        schemas=d["schemas"],
        tables=tables,
        sequences=seqs,
        extensions=d.get("extensions", {}),
        schema_acl=d.get("schema_acl", {}),
        schema_owners=d.get("schema_owners", {}),
    )
