"""The rows of each catalog relation, computed from the catalog a statement sees."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from vecgres.catalog.model import (
    INFORMATION_SCHEMA_OID,
    PG_CATALOG_OID,
    PUBLIC_OID,
    Catalog,
    Index,
    Sequence,
    Table,
)
from vecgres.codec.arrow import arrow_type
from vecgres.config import GUCS
from vecgres.sql import acl
from vecgres.sql.pgcatalog import builtins as b
from vecgres.sql.pgcatalog import constraint_rows
from vecgres.sql.pgcatalog import pgvector_objects as pgv
from vecgres.sql.pgcatalog.columns import RELATIONS
from vecgres.sql.pgcatalog.depend import pg_depend
from vecgres.sql.pgcatalog.relations import system_table
from vecgres.sql.pgcatalog.render import format_type
from vecgres.sql.pgcatalog.rowtypes import row_type_rows
from vecgres.types import VECTOR_TYPES, SqlType, base_types, rowtype_oid

Row = dict[str, Any]


@dataclass(slots=True)
class CatalogState:
    """What the catalog relations show: one session's view of the database."""

    catalog: Catalog
    user: str
    database: str
    setting: Callable[[str], str]  # the session's current value of a GUC
    changed: Callable[[str], bool]  # whether the session set it
    pid: int
    table_stats: Callable[[int], tuple[int, int] | None]  # (bytes, live rows) of a table
    index_bytes: Callable[[int, int], int]  # bytes of an index's files (table, index OID)
    # the server's sessions (pid, datname, usename, application_name, client_addr, state),
    # or None in-process, where the session is the only one
    activity: Callable[[], list[Row]] | None = None
    session_user: str = ""  # the role that logged in (``user`` is current_user)
    datacl: list[str] | None = None  # the current database's ACL (aclitem text), NULL: default
    # the server's roles (oid, name, attributes, member_of), or None in-process (one user)
    role_rows: list[Row] | None = None
    database_owner: str = "postgres"
    # the session's prepared statements (pg_prepared_statements), or None: none known
    prepared: Callable[[], list[Row]] | None = None

    @property
    def user_oid(self) -> int:
        if self.role_rows is not None:
            return self.oid_of(self.user)
        return b.BOOTSTRAP_SUPERUSER_OID if self.user == "postgres" else b.SESSION_ROLE_OID

    def oid_of(self, role: str) -> int:
        """A role's oid; in-process every owner but postgres is the session's user."""
        if self.role_rows is None:
            return b.BOOTSTRAP_SUPERUSER_OID if role == "postgres" else b.SESSION_ROLE_OID
        for row in self.role_rows:
            if row["name"] == role:
                return int(row["oid"])
        return 0

    def namespaces(self) -> list[tuple[int, str, int]]:
        out = list(b.NAMESPACES)
        for name, oid in sorted(self.catalog.schemas.items(), key=lambda kv: kv[1]):
            if oid == PUBLIC_OID and name not in self.catalog.schema_owners:
                owner = b.PUBLIC_OWNER
            elif self.role_rows is None:
                owner = self.user_oid
            else:
                owner = self.oid_of(self.catalog.schema_owners.get(name, "postgres"))
            out.append((oid, name, owner))
        return out

    def nsp_oid(self, name: str) -> int:
        for oid, nsp, _ in self.namespaces():
            if nsp == name:
                return oid
        return 0

    def tables(self) -> list[Table]:
        return sorted(self.catalog.tables.values(), key=lambda t: t.oid)

    def sequences(self) -> list[Sequence]:
        return sorted(self.catalog.sequences.values(), key=lambda s: s.oid)

    def roles(self) -> list[tuple[int, str]]:
        if self.role_rows is not None:
            return [(int(r["oid"]), str(r["name"])) for r in self.role_rows]
        out = [(b.BOOTSTRAP_SUPERUSER_OID, "postgres")]
        if self.user != "postgres":
            out.append((b.SESSION_ROLE_OID, self.user))
        return out

    def role_name(self, oid: int) -> str | None:
        if oid == b.PG_DATABASE_OWNER_OID:
            return "pg_database_owner"
        for role_oid, name in self.roles():
            if role_oid == oid:
                return name
        return None


# --- helpers shared with the functions ---------------------------------------------


def typname(t: SqlType) -> str:
    name = b.TYPE_NAMES[t.name][0]
    return "_" + name if t.is_array else name


def type_namespace(name: str) -> int:
    return PUBLIC_OID if name in ("vector", "halfvec", "sparsevec") else PG_CATALOG_OID


def collation_of(t: SqlType) -> int:
    if t.name not in b.COLLATABLE:
        return 0
    return b.C_COLLATION_OID if t.name == "name" else b.DEFAULT_COLLATION_OID


def index_key_attnums(table: Table, idx: Index) -> list[int]:
    if idx.expression:
        return [0]
    return [table.attnum(col) for col in idx.columns]


def constraint_oid(idx: Index) -> int:
    # PostgreSQL gives the constraint its own OID; vecgres derives a stable one
    return 0x40000000 + idx.oid


def attrdef_oid(table: Table, attnum: int) -> int:
    return 0x50000000 + table.oid * 1600 + attnum


def opclass_oid(table: Table, idx: Index, column: str | None) -> int:
    if idx.opclass:
        for oid, name, method, _, _ in b.VECTOR_OPCLASSES:
            if name == idx.opclass and method == idx.method:
                return oid
    col = table.column(column) if column else None
    if col is not None:
        found = b.BTREE_OPCLASSES.get(col.type.oid)
        if found is not None:
            return found[0]
        for oid, _, method, intype, default in b.VECTOR_OPCLASSES:
            if default and method == idx.method and intype == col.type.name:
                return oid
    return 0


# --- relations ---------------------------------------------------------------------


def _pg_namespace(st: CatalogState) -> Iterator[Row]:
    for oid, name, owner in st.namespaces():
        stored = st.catalog.schema_acl.get(name)
        shown_owner = st.catalog.schema_owners.get(name) or (
            "pg_database_owner" if oid == PUBLIC_OID else "postgres"
        )
        yield {
            "oid": oid,
            "nspname": name,
            "nspowner": owner,
            "nspacl": acl.items(stored, shown_owner),
        }


def _storage(name: str, typlen: int) -> str:
    # pgvector's types are STORAGE = external (vector since 0.6.0: never compressed)
    return "e" if name in VECTOR_TYPES else "p" if typlen > 0 else "x"


def _type_rows() -> Iterator[Row]:
    for name, (oid, array_oid, typlen, category) in base_types().items():
        tname, tin, tout = b.TYPE_NAMES[name]
        ns = type_namespace(name)
        t = SqlType(name)
        common = {
            "typnamespace": ns,
            "typowner": b.BOOTSTRAP_SUPERUSER_OID,
            "typisdefined": True,
            "typdelim": ",",
            "typrelid": 0,
            "typsubscript": "-",
            "typbasetype": 0,
            "typtypmod": -1,
            "typndims": 0,
            "typnotnull": False,
            "typreceive": "-",
            "typsend": "-",
            "typmodin": "-",
            "typmodout": "-",
            "typanalyze": "-",
            "typstorage": _storage(name, typlen),
        }
        yield {
            **common,
            "oid": oid,
            "typname": tname,
            "typlen": typlen,
            "typbyval": 0 < typlen <= 8,
            "typtype": "p" if name in b.PSEUDO else "b",
            "typcategory": category,
            "typispreferred": name in b.PREFERRED,
            # int2vector and oidvector are arrays of int2/oid to clients (asyncpg decodes them so)
            "typelem": {"int2vector": 21, "oidvector": 26}.get(name, 0),
            "typarray": array_oid,
            "typinput": tin,
            "typoutput": tout,
            "typalign": "d" if typlen == 8 else ("c" if typlen == 1 else "i"),
            "typcollation": collation_of(t),
        }
        if array_oid:
            yield {
                **common,
                "oid": array_oid,
                "typname": "_" + tname,
                "typlen": -1,
                "typbyval": False,
                "typtype": "b",
                "typcategory": "A",
                "typispreferred": False,
                "typelem": oid,
                "typarray": 0,
                "typinput": "array_in",
                "typoutput": "array_out",
                "typsubscript": "array_subscript_handler",
                "typalign": "d" if typlen == 8 else "i",
                "typstorage": "x",
                "typcollation": collation_of(t),
            }


def _pg_type(st: CatalogState) -> Iterator[Row]:
    yield from _type_rows()
    yield from row_type_rows(st.tables(), st.nsp_oid, st.oid_of)


def _relkind_am(table: Table) -> tuple[str, int]:
    if table.kind == "v":
        return "v", 0
    return "r", b.AM_OIDS["heap"]


def _class_row(**values: Any) -> Row:
    row: Row = {
        "reltype": 0,
        "reloftype": 0,
        "relowner": b.BOOTSTRAP_SUPERUSER_OID,
        "relfilenode": 0,
        "reltablespace": 0,
        "relpages": 0,
        "reltuples": -1.0,
        "relallvisible": 0,
        "reltoastrelid": 0,
        "relhasindex": False,
        "relisshared": False,
        "relpersistence": "p",
        "relchecks": 0,
        "relhasrules": False,
        "relhastriggers": False,
        "relhassubclass": False,
        "relrowsecurity": False,
        "relforcerowsecurity": False,
        "relispopulated": True,
        "relreplident": "d",
        "relispartition": False,
        "relrewrite": 0,
        "relfrozenxid": 0,
        "relminmxid": 0,
    }
    row.update(values)
    return row


def _pg_class(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        kind, am = _relkind_am(table)
        yield _class_row(
            oid=table.oid,
            reltype=rowtype_oid(table.oid),
            relname=table.name,
            relnamespace=st.nsp_oid(table.schema),
            relowner=st.oid_of(table.owner),
            relam=am,
            relfilenode=table.oid if kind == "r" else 0,
            relkind=kind,
            relnatts=len(table.columns),
            relhasindex=bool(table.indexes),
            relhasrules=kind == "v",
            relacl=acl.items(table.acl, table.owner),
            **constraint_rows.class_flags(st.catalog, table),
        )
        for idx in table.indexes:
            options = [f"{k}={v}" for k, v in idx.options.items()] or None
            yield _class_row(
                oid=idx.oid,
                relname=idx.name,
                relnamespace=st.nsp_oid(table.schema),
                relam=b.AM_OIDS.get(idx.method, 0),
                relfilenode=idx.oid,
                relkind="i",
                relnatts=len(idx.columns) or 1,
                reloptions=options,
            )
    for seq in st.sequences():
        yield _class_row(
            oid=seq.oid,
            relname=seq.name,
            relnamespace=st.nsp_oid(seq.schema),
            relam=0,
            relfilenode=seq.oid,
            relkind="S",
            relnatts=3,
            relowner=st.oid_of(seq.owner),
            relacl=acl.items(seq.acl, seq.owner),
        )
    for (schema, name), (oid, kind, cols) in RELATIONS.items():
        yield _class_row(
            oid=oid,
            relname=name,
            relnamespace=PG_CATALOG_OID if schema == "pg_catalog" else INFORMATION_SCHEMA_OID,
            relam=b.AM_OIDS["heap"] if kind == "r" else 0,
            relfilenode=oid if kind == "r" else 0,
            relkind=kind,
            relnatts=len(cols),
        )


def _attribute_row(relid: int, num: int, name: str, t: SqlType, not_null: bool) -> Row:
    return {
        "attrelid": relid,
        "attname": name,
        "atttypid": t.oid,
        "attstattarget": -1,
        "attlen": t.typlen,
        "attnum": num,
        "attndims": 1 if t.is_array else 0,
        "attcacheoff": -1,
        "atttypmod": t.typmod,
        "attbyval": 0 < t.typlen <= 8,
        "attalign": "d" if t.typlen == 8 else ("c" if t.typlen == 1 else "i"),
        "attstorage": "x" if t.is_array else _storage(t.name, t.typlen),
        "attcompression": "",
        "attnotnull": not_null,
        "atthasdef": False,
        "atthasmissing": False,
        "attidentity": "",
        "attgenerated": "",
        "attisdropped": False,
        "attislocal": True,
        "attinhcount": 0,
        "attcollation": collation_of(t),
    }


def _pg_attribute(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        pk = table.primary_key
        pk_cols = set(pk.columns) if pk is not None else set()
        for num, col in enumerate(table.columns, start=1):
            row = _attribute_row(
                table.oid, num, col.name, col.type, col.not_null or col.name in pk_cols
            )
            row["atthasdef"] = col.default is not None
            if col.storage is not None:
                row["attstorage"] = col.storage
            yield row
        for idx in table.indexes:
            for num, name in enumerate(idx.columns or ["expr"], start=1):
                key = table.column(name)
                t = key.type if key is not None else SqlType("text")
                yield _attribute_row(idx.oid, num, name, t, False)
    for seq in st.sequences():
        bigint = SqlType("bigint")
        for num, name in enumerate(("last_value", "log_cnt"), start=1):
            yield _attribute_row(seq.oid, num, name, bigint, True)
        yield _attribute_row(seq.oid, 3, "is_called", SqlType("boolean"), True)
    for (schema, name), (_, _, specs) in RELATIONS.items():
        rel = system_table(schema, name)
        assert rel is not None
        for num, (col, spec) in enumerate(zip(rel.columns, specs, strict=True), start=1):
            # the type PostgreSQL declares (regproc, regtype[], xid), not the one kept
            declared = SqlType(spec[1], is_array=spec[2])
            yield _attribute_row(rel.oid, num, col.name, declared, col.not_null)


def _pg_attrdef(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        for num, col in enumerate(table.columns, start=1):
            if col.default is not None:
                yield {
                    "oid": attrdef_oid(table, num),
                    "adrelid": table.oid,
                    "adnum": num,
                    "adbin": col.default,
                }


def _pg_index(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        for idx in table.indexes:
            keys = index_key_attnums(table, idx)
            cols: list[str | None] = list(idx.columns) or [None]
            yield {
                "indexrelid": idx.oid,
                "indrelid": table.oid,
                "indnatts": len(keys),
                "indnkeyatts": len(keys),
                "indisunique": idx.unique or idx.primary,
                "indnullsnotdistinct": False,
                "indisprimary": idx.primary,
                "indisexclusion": False,
                "indimmediate": True,
                "indisclustered": False,
                "indisvalid": True,
                "indcheckxmin": False,
                "indisready": True,
                "indislive": True,
                "indisreplident": False,
                "indkey": keys,
                "indcollation": [
                    collation_of(c.type) if (c := table.column(n or "")) else 0 for n in cols
                ],
                "indclass": [opclass_oid(table, idx, n) for n in cols],
                "indoption": [0] * len(keys),
                "indexprs": idx.expression,
                "indpred": idx.predicate,
            }


def _constraint_indexes(table: Table) -> Iterator[Index]:
    for idx in table.indexes:
        if idx.primary or (idx.unique and idx.constraint_name):
            yield idx


def _pg_constraint(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        for idx in _constraint_indexes(table):
            yield {
                "oid": constraint_oid(idx),
                "conname": idx.constraint_name or idx.name,
                "connamespace": st.nsp_oid(table.schema),
                "contype": "p" if idx.primary else "u",
                "condeferrable": False,
                "condeferred": False,
                "convalidated": True,
                "conrelid": table.oid,
                "contypid": 0,
                "conindid": idx.oid,
                "conparentid": 0,
                "confrelid": 0,
                "confupdtype": " ",
                "confdeltype": " ",
                "confmatchtype": " ",
                "conislocal": True,
                "coninhcount": 0,
                "connoinherit": True,
                "conkey": index_key_attnums(table, idx),
            }
    yield from constraint_rows.pg_constraint(st)


def _has_vector(st: CatalogState) -> bool:
    """Whether pgvector's functions, operators and casts are listed (``CREATE EXTENSION
    vector`` creates them). Its access methods and operator classes are always listed:
    vecgres takes vector columns and their indexes without the extension, and an
    index's relam and opclass must resolve (SQLAlchemy's reflection looks them up)."""
    return "vector" in st.catalog.extensions


def _pg_am(st: CatalogState) -> Iterator[Row]:
    for oid, name, handler, kind in b.ACCESS_METHODS:
        yield {"oid": oid, "amname": name, "amhandler": handler, "amtype": kind}


def _type_oid(name: str) -> int:
    return pgv.sql_type(name).oid


# PostgreSQL's btree operator families of the default opclasses in BTREE_OPCLASSES
_BTREE_FAMILIES = (
    (424, "bool_ops"),
    (426, "bpchar_ops"),
    (428, "bytea_ops"),
    (434, "datetime_ops"),
    (1970, "float_ops"),
    (1976, "integer_ops"),
    (1988, "numeric_ops"),
    (1989, "oid_ops"),
    (1994, "text_ops"),
    (2968, "uuid_ops"),
    (4033, "jsonb_ops"),
)


def _pg_opfamily(st: CatalogState) -> Iterator[Row]:
    for oid, name in _BTREE_FAMILIES:
        yield {
            "oid": oid,
            "opfmethod": b.AM_OIDS["btree"],
            "opfname": name,
            "opfnamespace": PG_CATALOG_OID,
            "opfowner": b.BOOTSTRAP_SUPERUSER_OID,
        }
    for oid, name, method, _, _ in b.VECTOR_OPCLASSES:
        yield {
            "oid": oid,
            "opfmethod": b.AM_OIDS[method],
            "opfname": name,
            "opfnamespace": PUBLIC_OID,
            "opfowner": b.BOOTSTRAP_SUPERUSER_OID,
        }


def _pg_operator(st: CatalogState) -> Iterator[Row]:
    if not _has_vector(st):
        return
    for op in pgv.OPERATORS:
        yield {
            "oid": op.oid,
            "oprname": op.name,
            "oprnamespace": PUBLIC_OID,
            "oprowner": b.BOOTSTRAP_SUPERUSER_OID,
            "oprkind": "b",
            "oprcanmerge": False,
            "oprcanhash": False,
            "oprleft": _type_oid(op.left),
            "oprright": _type_oid(op.right),
            "oprresult": _type_oid(op.result),
            "oprcom": 0
            if op.commutator is None
            else pgv.operator_oid(op.commutator, op.right, op.left),
            "oprnegate": 0
            if op.negator is None
            else pgv.operator_oid(op.negator, op.left, op.right),
            "oprcode": op.proc[0],
            "oprrest": op.restrict or "-",
            "oprjoin": op.join or "-",
        }


def _pg_cast(st: CatalogState) -> Iterator[Row]:
    if not _has_vector(st):
        return
    for cast in pgv.CASTS:
        yield {
            "oid": cast.oid,
            "castsource": _type_oid(cast.source),
            "casttarget": _type_oid(cast.target),
            "castfunc": pgv.proc_oid(cast.func),
            "castcontext": cast.context,
            "castmethod": "f",
        }


def _pg_amop(st: CatalogState) -> Iterator[Row]:
    for amop in pgv.AMOPS:
        ordering = amop.purpose == "o"
        yield {
            "oid": amop.oid,
            "amopfamily": amop.family,
            "amoplefttype": _type_oid(amop.type),
            "amoprighttype": _type_oid(amop.type),
            "amopstrategy": amop.strategy,
            "amoppurpose": amop.purpose,
            "amopopr": pgv.operator_oid(amop.operator, amop.type, amop.type),
            "amopmethod": b.AM_OIDS[amop.method],
            "amopsortfamily": pgv.FLOAT_OPS_BTREE_FAMILY if ordering else 0,
        }


def _pg_amproc(st: CatalogState) -> Iterator[Row]:
    for amproc in pgv.AMPROCS:
        yield {
            "oid": amproc.oid,
            "amprocfamily": amproc.family,
            "amproclefttype": _type_oid(amproc.type),
            "amprocrighttype": _type_oid(amproc.type),
            "amprocnum": amproc.number,
            # the OID in text: psql joins it to pg_proc.oid, and ::regprocedure names it
            "amproc": str(amproc.proc),
        }


def _pg_prepared_statements(st: CatalogState) -> Iterator[Row]:
    for row in st.prepared() if st.prepared is not None else ():
        oids = row["parameter_types"]
        assert isinstance(oids, list)
        # regtype[]: the parameters' type names, as regtypeout spells them
        yield {**row, "parameter_types": [format_type(oid, -1) for oid in oids]}


def _pg_opclass(st: CatalogState) -> Iterator[Row]:
    seen = set()
    for type_oid, (oid, name, family) in b.BTREE_OPCLASSES.items():
        if oid in seen:
            continue
        seen.add(oid)
        yield {
            "oid": oid,
            "opcmethod": b.AM_OIDS["btree"],
            "opcname": name,
            "opcnamespace": PG_CATALOG_OID,
            "opcowner": b.BOOTSTRAP_SUPERUSER_OID,
            "opcfamily": family,
            "opcintype": type_oid,
            "opcdefault": True,
            "opckeytype": 0,
        }
    for oid, name, method, intype, default in b.VECTOR_OPCLASSES:
        yield {
            "oid": oid,
            "opcmethod": b.AM_OIDS[method],
            "opcname": name,
            "opcnamespace": PUBLIC_OID,
            "opcowner": b.BOOTSTRAP_SUPERUSER_OID,
            "opcfamily": oid,
            "opcintype": SqlType(intype).oid,
            "opcdefault": default,
            "opckeytype": 0,
        }


def _pg_database(st: CatalogState) -> Iterator[Row]:
    yield {
        "oid": b.DATABASE_OID,
        "datname": st.database,
        "datdba": st.oid_of(st.database_owner),
        "encoding": 6,
        "datlocprovider": "c",
        "datistemplate": False,
        "datallowconn": True,
        "datconnlimit": -1,
        "datfrozenxid": 0,
        "datminmxid": 1,
        "dattablespace": b.DEFAULT_TABLESPACE_OID,
        "datcollate": "C",
        "datctype": "C",
        "datacl": st.datacl,
    }


def _role(st: CatalogState, oid: int, name: str) -> Row:
    for row in st.role_rows or ():
        if row["oid"] == oid:
            return {
                "oid": oid,
                "rolname": name,
                "rolsuper": row["superuser"],
                "rolinherit": row["inherit"],
                "rolcreaterole": row["createrole"],
                "rolcreatedb": row["createdb"],
                "rolcanlogin": row["login"],
                "rolreplication": row["replication"],
                "rolconnlimit": row["connection_limit"],
                "rolbypassrls": row["bypassrls"],
            }
    return {
        "oid": oid,
        "rolname": name,
        "rolsuper": True,
        "rolinherit": True,
        "rolcreaterole": True,
        "rolcreatedb": True,
        "rolcanlogin": True,
        "rolreplication": oid == b.BOOTSTRAP_SUPERUSER_OID,
        "rolconnlimit": -1,
        "rolbypassrls": oid == b.BOOTSTRAP_SUPERUSER_OID,
    }


def _pg_roles(st: CatalogState) -> Iterator[Row]:
    for oid, name in st.roles():
        yield {**_role(st, oid, name), "rolpassword": "********"}


def _pg_authid(st: CatalogState) -> Iterator[Row]:
    for oid, name in st.roles():
        yield _role(st, oid, name)


def _enabled_roles(st: CatalogState) -> set[str]:
    """The roles whose privileges the current user has (all of them for a superuser)."""
    rows = {str(r["name"]): r for r in st.role_rows or ()}
    me = rows.get(st.user)
    if me is None:
        return {st.user}
    if me["superuser"]:
        return set(rows)
    seen, todo = {st.user}, [st.user]
    while todo:
        row = rows.get(todo.pop())
        if row is None or not row["inherit"]:
            continue
        for group in row["member_of"]:
            if group not in seen:
                seen.add(group)
                todo.append(group)
    return seen


def _is_enabled_roles(st: CatalogState) -> Iterator[Row]:
    for name in sorted(_enabled_roles(st)):
        yield {"role_name": name}


def _is_applicable_roles(st: CatalogState) -> Iterator[Row]:
    enabled = _enabled_roles(st)
    for row in st.role_rows or ():
        if row["name"] in enabled:
            for group in row["member_of"]:
                yield {"grantee": row["name"], "role_name": group, "is_grantable": "NO"}


_TABLE_PRIVILEGES = ("INSERT", "SELECT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")


def _is_table_privileges(st: CatalogState) -> Iterator[Row]:
    enabled = _enabled_roles(st)
    for table in st.tables():
        # a table never granted on has PostgreSQL's default: everything for its owner
        entries = table.acl or {table.owner: list(_TABLE_PRIVILEGES)}
        for grantee, privileges in entries.items():
            if not (grantee == "public" or grantee in enabled or table.owner in enabled):
                continue
            for privilege in privileges:
                yield {
                    "grantor": table.owner,
                    "grantee": "PUBLIC" if grantee == "public" else grantee,
                    "table_catalog": st.database,
                    "table_schema": table.schema,
                    "table_name": table.name,
                    "privilege_type": privilege,
                    "is_grantable": "YES" if grantee == table.owner else "NO",
                    "with_hierarchy": "YES" if privilege == "SELECT" else "NO",
                }


def _pg_auth_members(st: CatalogState) -> Iterator[Row]:
    for row in st.role_rows or ():
        for group in row["member_of"]:
            yield {
                "roleid": st.oid_of(group),
                "member": row["oid"],
                "grantor": b.BOOTSTRAP_SUPERUSER_OID,
                "admin_option": False,
            }


def _pg_user(st: CatalogState) -> Iterator[Row]:
    for oid, name in st.roles():
        role = _role(st, oid, name)
        if not role["rolcanlogin"]:
            continue  # pg_user shows the roles that may log in
        yield {
            "usename": name,
            "usesysid": oid,
            "usecreatedb": role["rolcreatedb"],
            "usesuper": role["rolsuper"],
            "userepl": oid == b.BOOTSTRAP_SUPERUSER_OID,
            "usebypassrls": oid == b.BOOTSTRAP_SUPERUSER_OID,
            "passwd": "********",
        }


def _pg_settings(st: CatalogState) -> Iterator[Row]:
    for name, guc in sorted(GUCS.items(), key=lambda kv: kv[0].lower()):
        value = st.setting(name)
        vartype = {"int": "integer", "real": "real"}.get(guc.kind, guc.kind)
        context = (
            "internal"
            if guc.name.startswith("server_")
            or guc.name
            in (
                "integer_datetimes",
                "max_identifier_length",
                "max_index_keys",
                "in_hot_standby",
            )
            else "user"
        )
        yield {
            "name": name,
            "setting": value,
            "unit": guc.unit,
            "category": "Customized Options" if "." in name else "Client Connection Defaults",
            "short_desc": guc.description or None,
            "context": context,
            "vartype": vartype,
            "source": "session" if st.changed(name) else "default",
            "min_val": _number(guc.min, guc.kind),
            "max_val": _number(guc.max, guc.kind),
            "enumvals": list(guc.choices) if guc.choices else None,
            "boot_val": guc.default,
            "reset_val": guc.default,
            "pending_restart": False,
        }


def _number(value: float | None, kind: str) -> str | None:
    if value is None:
        return None
    return str(int(value)) if kind == "int" else repr(value)


def _proc_rows() -> Iterator[tuple[int, str, tuple[str, ...], str]]:
    yield from pgv.FUNCTIONS


def _pg_proc(st: CatalogState) -> Iterator[Row]:
    if "vector" not in st.catalog.extensions:
        return
    for oid, name, args, result in _proc_rows():
        yield _pgvector_proc(oid, name, [_type_oid(a) for a in args], _type_oid(result))
    for oid, name in pgv.SUPPORT_FUNCTIONS:
        # pgvector's index support functions: (internal) RETURNS internal, volatile,
        # not strict, parallel unsafe (as sql/vector.sql declares them)
        internal = pgv.INTERNAL_OID
        yield _pgvector_proc(oid, name, [internal], internal, strict=False, volatile="v")


def _pgvector_proc(
    oid: int,
    name: str,
    args: list[int],
    result: int,
    *,
    strict: bool = True,
    volatile: str = "i",
) -> Row:
    """A pg_proc row of one of pgvector's C functions."""
    return {
        "oid": oid,
        "proname": name,
        "pronamespace": PUBLIC_OID,
        "proowner": b.BOOTSTRAP_SUPERUSER_OID,
        "prolang": 13,
        "procost": 1.0,
        "prorows": 0.0,
        "provariadic": 0,
        "prosupport": "-",
        "prokind": "f",
        "prosecdef": False,
        "proleakproof": False,
        "proisstrict": strict,
        "proretset": False,
        "provolatile": volatile,
        "proparallel": "s" if volatile == "i" else "u",
        "pronargs": len(args),
        "pronargdefaults": 0,
        "prorettype": result,
        "proargtypes": args,
        "prosrc": name,
        "probin": "$libdir/vector",
    }


def _pg_extension(st: CatalogState) -> Iterator[Row]:
    yield {
        "oid": b.PLPGSQL_OID,
        "extname": "plpgsql",
        "extowner": b.BOOTSTRAP_SUPERUSER_OID,
        "extnamespace": PG_CATALOG_OID,
        "extrelocatable": False,
        "extversion": "1.0",
    }
    for offset, (name, version) in enumerate(sorted(st.catalog.extensions.items())):
        yield {
            "oid": b.VECTOR_EXTENSION_OID + offset,
            "extname": name,
            "extowner": b.BOOTSTRAP_SUPERUSER_OID,
            "extnamespace": PUBLIC_OID,
            "extrelocatable": True,
            "extversion": version,
        }


def _pg_available_extensions(st: CatalogState) -> Iterator[Row]:
    installed = {row["extname"]: row["extversion"] for row in _pg_extension(st)}
    for name, default in (("plpgsql", "1.0"), ("vector", b.PGVECTOR_VERSION)):
        yield {
            "name": name,
            "default_version": default,
            "installed_version": installed.get(name),
            "comment": _EXTENSION_COMMENTS[name],
        }


def _pg_available_extension_versions(st: CatalogState) -> Iterator[Row]:
    # one installable version each: pgvector ships the install script of its current
    # release only (older releases are reached by update scripts, not installed)
    installed = {row["extname"]: row["extversion"] for row in _pg_extension(st)}
    for name, version, trusted, relocatable, schema in (
        ("plpgsql", "1.0", True, False, "pg_catalog"),
        ("vector", b.PGVECTOR_VERSION, False, True, None),
    ):
        yield {
            "name": name,
            "version": version,
            "installed": installed.get(name) == version,
            "superuser": True,
            "trusted": trusted,
            "relocatable": relocatable,
            "schema": schema,
            "requires": None,
            "comment": _EXTENSION_COMMENTS[name],
        }


_EXTENSION_COMMENTS = {
    "plpgsql": "PL/pgSQL procedural language",
    "vector": "vector data type and ivfflat and hnsw access methods",
}
PG_EXTENSION_OID = 3079  # pg_extension's own OID, the classoid of its comments


PG_CLASS_OID = 1259  # pg_class's own OID, the classoid of relations' and columns' comments


# PostgreSQL 15's languages (the plpgsql handler OIDs are its initdb's)
_LANGUAGES = (
    (12, "internal", False, False, 0, 0, 2246),
    (13, "c", False, False, 0, 0, 2247),
    (14, "sql", False, True, 0, 0, 2248),
    (13563, "plpgsql", True, True, 13560, 13561, 13562),
)


def _pg_language(st: CatalogState) -> Iterator[Row]:
    for oid, name, pl, trusted, handler, inline, validator in _LANGUAGES:
        yield {
            "oid": oid,
            "lanname": name,
            "lanowner": b.BOOTSTRAP_SUPERUSER_OID,
            "lanispl": pl,
            "lanpltrusted": trusted,
            "lanplcallfoid": handler,
            "laninline": inline,
            "lanvalidator": validator,
        }


def _pg_description(st: CatalogState) -> Iterator[Row]:
    # COMMENT ON TABLE/VIEW/COLUMN, then the extensions' own comments
    for table in st.tables():
        if table.comment is not None:
            yield {
                "objoid": table.oid,
                "classoid": PG_CLASS_OID,
                "objsubid": 0,
                "description": table.comment,
            }
        for num, col in enumerate(table.columns, start=1):
            if col.comment is not None:
                yield {
                    "objoid": table.oid,
                    "classoid": PG_CLASS_OID,
                    "objsubid": num,
                    "description": col.comment,
                }
    for row in _pg_extension(st):
        text = _EXTENSION_COMMENTS.get(row["extname"])
        if text is not None:
            yield {
                "objoid": row["oid"],
                "classoid": PG_EXTENSION_OID,
                "objsubid": 0,
                "description": text,
            }


def _pg_collation(st: CatalogState) -> Iterator[Row]:
    for oid, name, provider, collate in (
        (b.DEFAULT_COLLATION_OID, "default", "d", None),
        (b.C_COLLATION_OID, "C", "c", "C"),
        (951, "POSIX", "c", "POSIX"),
    ):
        yield {
            "oid": oid,
            "collname": name,
            "collnamespace": PG_CATALOG_OID,
            "collowner": b.BOOTSTRAP_SUPERUSER_OID,
            "collprovider": provider,
            "collisdeterministic": True,
            "collencoding": -1,
            "collcollate": collate,
            "collctype": collate,
        }


def _pg_sequence(st: CatalogState) -> Iterator[Row]:
    for seq in st.sequences():
        yield {
            "seqrelid": seq.oid,
            "seqtypid": SqlType(seq.type_name).oid,
            "seqstart": seq.start,
            "seqincrement": seq.increment,
            "seqmax": seq.max_value,
            "seqmin": seq.min_value,
            "seqcache": 1,
            "seqcycle": seq.cycle,
        }


def _pg_sequences(st: CatalogState) -> Iterator[Row]:
    for seq in st.sequences():
        yield {
            "schemaname": seq.schema,
            "sequencename": seq.name,
            "sequenceowner": seq.owner,
            "data_type": SqlType(seq.type_name).oid,
            "start_value": seq.start,
            "min_value": seq.min_value,
            "max_value": seq.max_value,
            "increment_by": seq.increment,
            "cycle": seq.cycle,
            "cache_size": 1,
        }


def _pg_tablespace(st: CatalogState) -> Iterator[Row]:
    for oid, name in (
        (b.DEFAULT_TABLESPACE_OID, "pg_default"),
        (b.GLOBAL_TABLESPACE_OID, "pg_global"),
    ):
        yield {"oid": oid, "spcname": name, "spcowner": b.BOOTSTRAP_SUPERUSER_OID}


def _pg_tables(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        if table.kind != "r":
            continue
        yield {
            "schemaname": table.schema,
            "tablename": table.name,
            "tableowner": table.owner,
            "hasindexes": bool(table.indexes),
            "hasrules": False,
            "hastriggers": False,
            "rowsecurity": False,
        }


def _pg_views(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        if table.kind == "v":
            yield {
                "schemaname": table.schema,
                "viewname": table.name,
                "viewowner": table.owner,
                "definition": table.view_sql,
            }


def _pg_indexes(st: CatalogState) -> Iterator[Row]:
    from vecgres.sql.pgcatalog.render import index_def

    for table in st.tables():
        for idx in table.indexes:
            yield {
                "schemaname": table.schema,
                "tablename": table.name,
                "indexname": idx.name,
                "indexdef": index_def(table, idx, qualify=True),
            }


def _pg_stat_activity(st: CatalogState) -> Iterator[Row]:
    if st.activity is not None:
        # every session of this database (each database is its own catalog here)
        roles = {name: oid for oid, name in st.roles()}
        for row in sorted(st.activity(), key=lambda r: r["pid"]):
            if row["datname"] == st.database:
                yield {
                    "datid": b.DATABASE_OID,
                    "datname": row["datname"],
                    "pid": row["pid"],
                    "usesysid": roles.get(row["usename"]),
                    "usename": row["usename"],
                    "application_name": row["application_name"],
                    "client_addr": row["client_addr"],
                    "state": row["state"],
                    "backend_type": "client backend",
                    "backend_start": _timestamp(row.get("backend_start")),
                    # PostgreSQL shows the latest statement, also once it finished
                    "query": row.get("query", ""),
                    "query_start": _timestamp(row.get("query_start")),
                }
        return
    yield {
        "datid": b.DATABASE_OID,
        "datname": st.database,
        "pid": st.pid,
        "usesysid": st.user_oid,
        "usename": st.user,
        "application_name": st.setting("application_name"),
        "state": "active",
        "backend_type": "client backend",
    }


def _timestamp(epoch: float | None) -> datetime.datetime | None:
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, datetime.UTC)


def _pg_stat_user_tables(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        if table.kind == "r":
            stats = st.table_stats(table.oid)
            yield {
                "relid": table.oid,
                "schemaname": table.schema,
                "relname": table.name,
                "n_live_tup": stats[1] if stats else 0,
            }


def _pg_stat_progress_create_index(st: CatalogState) -> Iterator[Row]:
    from vecgres.index import progress

    for item in progress.current():
        yield {
            "pid": st.pid,
            "datid": b.DATABASE_OID,
            "datname": st.database,
            "relid": item.table_oid,
            "index_relid": item.index_oid,
            # background builds after a seal report as the REINDEX they amount to
            "command": item.command if item.command != "BUILD" else "REINDEX",
            # PostgreSQL prefixes an access method's own phase names
            "phase": item.phase
            if item.phase.startswith(("initializing", "building"))
            else f"building index: {item.phase}",
            "tuples_total": item.tuples_total,
            "tuples_done": item.tuples_done,
        }


# --- information_schema ------------------------------------------------------------


def _is_tables(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        yield {
            "table_catalog": st.database,
            "table_schema": table.schema,
            "table_name": table.name,
            "table_type": "VIEW" if table.kind == "v" else "BASE TABLE",
            "is_insertable_into": "NO" if table.kind == "v" else "YES",
            "is_typed": "NO",
        }
    for schema, name in RELATIONS:
        kind = RELATIONS[(schema, name)][1]
        yield {
            "table_catalog": st.database,
            "table_schema": schema,
            "table_name": name,
            "table_type": "VIEW" if kind == "v" else "BASE TABLE",
            "is_insertable_into": "NO" if kind == "v" else "YES",
            "is_typed": "NO",
        }


_NUMERIC_PRECISION = {
    "smallint": 16,
    "integer": 32,
    "bigint": 64,
    "real": 24,
    "double precision": 53,
}


def _data_type(t: SqlType) -> tuple[str, str, str]:
    """information_schema's data_type, udt_schema and udt_name for a column type."""
    if t.is_array:
        return "ARRAY", "pg_catalog", typname(t)
    if t.name in ("vector", "halfvec", "sparsevec"):
        return "USER-DEFINED", "public", t.name
    if t.name == "char":
        return '"char"', "pg_catalog", "char"
    return t.name, "pg_catalog", typname(t)


def _column_rows(st: CatalogState, table: Table) -> Iterator[Row]:
    pk = table.primary_key
    pk_cols = set(pk.columns) if pk is not None else set()
    for num, col in enumerate(table.columns, start=1):
        t = col.type
        data_type, udt_schema, udt_name = _data_type(t)
        precision = _NUMERIC_PRECISION.get(t.name) if not t.is_array else None
        scale: int | None = 0 if t.name in ("smallint", "integer", "bigint") else None
        radix: int | None = 2 if precision else None
        if t.name == "numeric" and not t.is_array and t.typmod >= 4:
            packed = t.typmod - 4
            precision, scale, radix = packed >> 16, packed & 0xFFFF, 10
        elif t.name == "numeric" and not t.is_array:
            radix = 10
        length = None
        if t.name in ("character varying", "character") and t.typmod >= 4 and not t.is_array:
            length = t.typmod - 4
        yield {
            "table_catalog": st.database,
            "table_schema": table.schema,
            "table_name": table.name,
            "column_name": col.name,
            "ordinal_position": num,
            "column_default": col.default,
            "is_nullable": "NO" if col.not_null or col.name in pk_cols else "YES",
            "data_type": data_type,
            "character_maximum_length": length,
            "character_octet_length": None if length is None else length * 4,
            "numeric_precision": precision,
            "numeric_precision_radix": radix,
            "numeric_scale": scale,
            "udt_catalog": st.database,
            "udt_schema": udt_schema,
            "udt_name": udt_name,
            "dtd_identifier": str(num),
            "is_self_referencing": "NO",
            "is_identity": "NO",
            "identity_cycle": "NO",
            "is_generated": "NEVER",
            "is_updatable": "NO" if table.kind == "v" else "YES",
        }


def _is_columns(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        yield from _column_rows(st, table)
    for schema, name in RELATIONS:
        rel = system_table(schema, name)
        assert rel is not None
        yield from _column_rows(st, rel)


def _is_schemata(st: CatalogState) -> Iterator[Row]:
    for _, name, owner in st.namespaces():
        yield {
            "catalog_name": st.database,
            "schema_name": name,
            "schema_owner": st.role_name(owner),
        }


def _is_table_constraints(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        for idx in _constraint_indexes(table):
            yield {
                "constraint_catalog": st.database,
                "constraint_schema": table.schema,
                "constraint_name": idx.constraint_name or idx.name,
                "table_catalog": st.database,
                "table_schema": table.schema,
                "table_name": table.name,
                "constraint_type": "PRIMARY KEY" if idx.primary else "UNIQUE",
                "is_deferrable": "NO",
                "initially_deferred": "NO",
                "enforced": "YES",
                "nulls_distinct": "YES" if not idx.primary else None,
            }
    yield from constraint_rows.table_constraints(st)


def _is_key_column_usage(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        for idx in _constraint_indexes(table):
            for pos, col in enumerate(idx.columns, start=1):
                yield {
                    "constraint_catalog": st.database,
                    "constraint_schema": table.schema,
                    "constraint_name": idx.constraint_name or idx.name,
                    "table_catalog": st.database,
                    "table_schema": table.schema,
                    "table_name": table.name,
                    "column_name": col,
                    "ordinal_position": pos,
                }
    yield from constraint_rows.key_column_usage(st)


def _is_constraint_column_usage(st: CatalogState) -> Iterator[Row]:
    # the key columns of each constraint (vecgres has no CHECK or FOREIGN KEY constraints)
    for table in st.tables():
        for idx in _constraint_indexes(table):
            for col in idx.columns:
                yield {
                    "table_catalog": st.database,
                    "table_schema": table.schema,
                    "table_name": table.name,
                    "column_name": col,
                    "constraint_catalog": st.database,
                    "constraint_schema": table.schema,
                    "constraint_name": idx.constraint_name or idx.name,
                }
    yield from constraint_rows.constraint_column_usage(st)


def _is_constraint_table_usage(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        for idx in _constraint_indexes(table):
            yield {
                "table_catalog": st.database,
                "table_schema": table.schema,
                "table_name": table.name,
                "constraint_catalog": st.database,
                "constraint_schema": table.schema,
                "constraint_name": idx.constraint_name or idx.name,
            }
    yield from constraint_rows.constraint_table_usage(st)


def _is_views(st: CatalogState) -> Iterator[Row]:
    for table in st.tables():
        if table.kind == "v":
            yield {
                "table_catalog": st.database,
                "table_schema": table.schema,
                "table_name": table.name,
                "view_definition": table.view_sql,
                "check_option": "NONE",
                "is_updatable": "NO",
                "is_insertable_into": "NO",
                "is_trigger_updatable": "NO",
                "is_trigger_deletable": "NO",
                "is_trigger_insertable_into": "NO",
            }


def _is_routines(st: CatalogState) -> Iterator[Row]:
    if "vector" not in st.catalog.extensions:
        return
    for oid, name, _, result in _proc_rows():
        data_type, udt_schema, udt_name = _data_type(pgv.sql_type(result))
        yield {
            "specific_catalog": st.database,
            "specific_schema": "public",
            "specific_name": f"{name}_{oid}",
            "routine_catalog": st.database,
            "routine_schema": "public",
            "routine_name": name,
            "routine_type": "FUNCTION",
            "data_type": data_type,
            "type_udt_catalog": st.database,
            "type_udt_schema": udt_schema,
            "type_udt_name": udt_name,
            "routine_body": "EXTERNAL",
            "external_name": name,
            "external_language": "C",
            "parameter_style": "GENERAL",
            "is_deterministic": "YES",
            "sql_data_access": "MODIFIES",
            "is_null_call": "YES",
            "is_implicitly_invocable": "NO",
            "security_type": "INVOKER",
            "is_udt_dependent": "NO",
        }


_BUILDERS: dict[tuple[str, str], Callable[[CatalogState], Iterator[Row]]] = {
    ("pg_catalog", "pg_namespace"): _pg_namespace,
    ("pg_catalog", "pg_type"): _pg_type,
    ("pg_catalog", "pg_class"): _pg_class,
    ("pg_catalog", "pg_attribute"): _pg_attribute,
    ("pg_catalog", "pg_attrdef"): _pg_attrdef,
    ("pg_catalog", "pg_depend"): pg_depend,
    ("pg_catalog", "pg_index"): _pg_index,
    ("pg_catalog", "pg_constraint"): _pg_constraint,
    ("pg_catalog", "pg_am"): _pg_am,
    ("pg_catalog", "pg_opclass"): _pg_opclass,
    ("pg_catalog", "pg_opfamily"): _pg_opfamily,
    ("pg_catalog", "pg_operator"): _pg_operator,
    ("pg_catalog", "pg_cast"): _pg_cast,
    ("pg_catalog", "pg_amop"): _pg_amop,
    ("pg_catalog", "pg_amproc"): _pg_amproc,
    ("pg_catalog", "pg_prepared_statements"): _pg_prepared_statements,
    ("pg_catalog", "pg_available_extensions"): _pg_available_extensions,
    ("pg_catalog", "pg_available_extension_versions"): _pg_available_extension_versions,
    ("pg_catalog", "pg_database"): _pg_database,
    ("pg_catalog", "pg_roles"): _pg_roles,
    ("pg_catalog", "pg_authid"): _pg_authid,
    ("pg_catalog", "pg_user"): _pg_user,
    ("pg_catalog", "pg_auth_members"): _pg_auth_members,
    ("information_schema", "enabled_roles"): _is_enabled_roles,
    ("information_schema", "applicable_roles"): _is_applicable_roles,
    ("information_schema", "table_privileges"): _is_table_privileges,
    ("pg_catalog", "pg_settings"): _pg_settings,
    ("pg_catalog", "pg_proc"): _pg_proc,
    ("pg_catalog", "pg_extension"): _pg_extension,
    ("pg_catalog", "pg_collation"): _pg_collation,
    ("pg_catalog", "pg_language"): _pg_language,
    ("pg_catalog", "pg_description"): _pg_description,
    ("pg_catalog", "pg_sequence"): _pg_sequence,
    ("pg_catalog", "pg_sequences"): _pg_sequences,
    ("pg_catalog", "pg_tablespace"): _pg_tablespace,
    ("pg_catalog", "pg_tables"): _pg_tables,
    ("pg_catalog", "pg_views"): _pg_views,
    ("pg_catalog", "pg_indexes"): _pg_indexes,
    ("pg_catalog", "pg_stat_activity"): _pg_stat_activity,
    ("pg_catalog", "pg_stat_user_tables"): _pg_stat_user_tables,
    ("pg_catalog", "pg_stat_progress_create_index"): _pg_stat_progress_create_index,
    ("information_schema", "tables"): _is_tables,
    ("information_schema", "columns"): _is_columns,
    ("information_schema", "schemata"): _is_schemata,
    ("information_schema", "table_constraints"): _is_table_constraints,
    ("information_schema", "key_column_usage"): _is_key_column_usage,
    ("information_schema", "constraint_column_usage"): _is_constraint_column_usage,
    ("information_schema", "constraint_table_usage"): _is_constraint_table_usage,
    ("information_schema", "check_constraints"): constraint_rows.check_constraints,
    ("information_schema", "referential_constraints"): constraint_rows.referential_constraints,
    ("information_schema", "views"): _is_views,
    ("information_schema", "routines"): _is_routines,
}


def has_rows(schema: str, name: str) -> bool:
    """Whether vecgres computes the rows of this relation."""
    return (schema, name) in _BUILDERS


def _default(t: SqlType, not_null: bool) -> Any:
    """The value of a NOT NULL column a builder left out (false, 0, empty)."""
    if not not_null:
        return None
    if t.is_array:
        return []
    if t.name == "boolean":
        return False
    if t.name in ("smallint", "integer", "bigint", "oid", "xid", "regtype", "regclass"):
        return 0
    if t.name in ("real", "double precision"):
        return 0.0
    if t.name == "regproc":
        return "-"
    if t.name in ("name", "text", "char", "character varying"):
        return ""
    return None


def build(table: Table, st: CatalogState) -> pa.Table:
    """The Arrow table of a system relation (relations with no builder are empty)."""
    builder = _BUILDERS.get((table.schema, table.name))
    rows = list(builder(st)) if builder is not None else []
    arrays = []
    fields = []
    for col in table.columns:
        t = col.type
        atype = pa.list_(pa.string()) if t.is_array and t.name == "regproc" else arrow_type(t)
        if t.name == "regproc" and not t.is_array:
            atype = pa.string()  # regproc columns hold the function's name
        default = _default(t, col.not_null)
        values = [row.get(col.name, default) for row in rows]
        arrays.append(pa.array(values, type=atype))
        fields.append(pa.field(col.name, atype))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def pg_description(st: CatalogState) -> Iterator[Row]:
    """pg_description's rows (for ``obj_description``/``col_description``)."""
    return _pg_description(st)
