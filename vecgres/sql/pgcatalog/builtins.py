"""Fixed rows of the catalog: PostgreSQL's built-in objects vecgres has, with their OIDs.

OIDs are PostgreSQL 15's where the object is built into PostgreSQL. Objects
that pgvector's ``CREATE EXTENSION vector`` would create (access methods,
operator classes, functions) get fixed OIDs in 16200..16383, a range initdb
never uses and below ``config.FIRST_USER_OID``, so they never collide with
user objects and stay the same across restarts.
"""

from __future__ import annotations

from typing import Final

from vecgres.catalog.model import INFORMATION_SCHEMA_OID, PG_CATALOG_OID

PG_TOAST_OID: Final = 99
BOOTSTRAP_SUPERUSER_OID: Final = 10
PG_DATABASE_OWNER_OID: Final = 6171
# a session user other than postgres (vecgres keeps no role catalog)
SESSION_ROLE_OID: Final = 16384
DATABASE_OID: Final = 5
DEFAULT_TABLESPACE_OID: Final = 1663
GLOBAL_TABLESPACE_OID: Final = 1664
DEFAULT_COLLATION_OID: Final = 100
C_COLLATION_OID: Final = 950
PLPGSQL_OID: Final = 13559
VECTOR_EXTENSION_OID: Final = 16200

# the pgvector release vecgres implements (PGVECTOR.md), and every release before it:
# pgvector ships update scripts from each release to the next
PGVECTOR_VERSION: Final = "0.8.6"
PGVECTOR_VERSIONS: Final = (
    *(f"0.1.{i}" for i in range(9)),
    *(f"0.2.{i}" for i in range(8)),
    "0.3.0",
    "0.3.1",
    "0.3.2",
    *(f"0.4.{i}" for i in range(5)),
    "0.5.0",
    "0.5.1",
    "0.6.0",
    "0.6.1",
    "0.6.2",
    *(f"0.7.{i}" for i in range(5)),
    *(f"0.8.{i}" for i in range(7)),
)

NAMESPACES: Final[tuple[tuple[int, str, int], ...]] = (
    (PG_TOAST_OID, "pg_toast", BOOTSTRAP_SUPERUSER_OID),
    (PG_CATALOG_OID, "pg_catalog", BOOTSTRAP_SUPERUSER_OID),
    (INFORMATION_SCHEMA_OID, "information_schema", BOOTSTRAP_SUPERUSER_OID),
)
PUBLIC_OWNER: Final = PG_DATABASE_OWNER_OID

# vecgres type name -> (typname, input function, output function)
TYPE_NAMES: Final[dict[str, tuple[str, str, str]]] = {
    "boolean": ("bool", "boolin", "boolout"),
    "bytea": ("bytea", "byteain", "byteaout"),
    "char": ("char", "charin", "charout"),
    "name": ("name", "namein", "nameout"),
    "bigint": ("int8", "int8in", "int8out"),
    "smallint": ("int2", "int2in", "int2out"),
    "integer": ("int4", "int4in", "int4out"),
    "regproc": ("regproc", "regprocin", "regprocout"),
    "text": ("text", "textin", "textout"),
    "oid": ("oid", "oidin", "oidout"),
    "json": ("json", "json_in", "json_out"),
    "real": ("float4", "float4in", "float4out"),
    "double precision": ("float8", "float8in", "float8out"),
    "unknown": ("unknown", "unknownin", "unknownout"),
    "character": ("bpchar", "bpcharin", "bpcharout"),
    "character varying": ("varchar", "varcharin", "varcharout"),
    "date": ("date", "date_in", "date_out"),
    "time without time zone": ("time", "time_in", "time_out"),
    "timestamp without time zone": ("timestamp", "timestamp_in", "timestamp_out"),
    "timestamp with time zone": ("timestamptz", "timestamptz_in", "timestamptz_out"),
    "interval": ("interval", "interval_in", "interval_out"),
    "bit": ("bit", "bit_in", "bit_out"),
    "bit varying": ("varbit", "varbit_in", "varbit_out"),
    "numeric": ("numeric", "numeric_in", "numeric_out"),
    "regclass": ("regclass", "regclassin", "regclassout"),
    "regtype": ("regtype", "regtypein", "regtypeout"),
    "record": ("record", "record_in", "record_out"),
    "void": ("void", "void_in", "void_out"),
    "uuid": ("uuid", "uuid_in", "uuid_out"),
    "jsonb": ("jsonb", "jsonb_in", "jsonb_out"),
    "regnamespace": ("regnamespace", "regnamespacein", "regnamespaceout"),
    "xid": ("xid", "xidin", "xidout"),
    "int2vector": ("int2vector", "int2vectorin", "int2vectorout"),
    "oidvector": ("oidvector", "oidvectorin", "oidvectorout"),
    "pg_node_tree": ("pg_node_tree", "pg_node_tree_in", "pg_node_tree_out"),
    "vector": ("vector", "vector_in", "vector_out"),
    "halfvec": ("halfvec", "halfvec_in", "halfvec_out"),
    "sparsevec": ("sparsevec", "sparsevec_in", "sparsevec_out"),
}

PREFERRED: Final = frozenset({"boolean", "text", "double precision", "oid", "interval"})
COLLATABLE: Final = frozenset({"text", "character varying", "character", "name"})
PSEUDO: Final = frozenset({"record", "void", "unknown"})

# access methods: oid -> (name, handler, type)
ACCESS_METHODS: Final[tuple[tuple[int, str, str, str], ...]] = (
    (2, "heap", "heap_tableam_handler", "t"),
    (403, "btree", "bthandler", "i"),
    (405, "hash", "hashhandler", "i"),
    (783, "gist", "gisthandler", "i"),
    (2742, "gin", "ginhandler", "i"),
    (4000, "spgist", "spghandler", "i"),
    (3580, "brin", "brinhandler", "i"),
    (16201, "hnsw", "hnswhandler", "i"),
    (16202, "ivfflat", "ivfflathandler", "i"),
)
AM_OIDS: Final = {name: oid for oid, name, _, _ in ACCESS_METHODS}

# default btree operator classes: type oid -> (opclass oid, name, family)
BTREE_OPCLASSES: Final[dict[int, tuple[int, str, int]]] = {
    16: (10003, "bool_ops", 424),
    1042: (10004, "bpchar_ops", 426),
    17: (10006, "bytea_ops", 428),
    1082: (3122, "date_ops", 434),
    700: (10012, "float4_ops", 1970),
    701: (3123, "float8_ops", 1970),
    21: (1979, "int2_ops", 1976),
    23: (1978, "int4_ops", 1976),
    20: (3124, "int8_ops", 1976),
    19: (10028, "name_ops", 1994),
    1700: (3125, "numeric_ops", 1988),
    26: (1981, "oid_ops", 1989),
    25: (3126, "text_ops", 1994),
    1043: (3126, "text_ops", 1994),
    1184: (3127, "timestamptz_ops", 434),
    1114: (3128, "timestamp_ops", 434),
    2950: (10065, "uuid_ops", 2968),
    3802: (10088, "jsonb_ops", 4033),
}

# pgvector's operator classes: (oid, name, access method, input type name, default)
VECTOR_OPCLASSES: Final[tuple[tuple[int, str, str, str, bool], ...]] = (
    (16210, "vector_l2_ops", "hnsw", "vector", False),
    (16211, "vector_ip_ops", "hnsw", "vector", False),
    (16212, "vector_cosine_ops", "hnsw", "vector", False),
    (16213, "vector_l1_ops", "hnsw", "vector", False),
    (16214, "halfvec_l2_ops", "hnsw", "halfvec", False),
    (16215, "halfvec_ip_ops", "hnsw", "halfvec", False),
    (16216, "halfvec_cosine_ops", "hnsw", "halfvec", False),
    (16217, "halfvec_l1_ops", "hnsw", "halfvec", False),
    (16218, "sparsevec_l2_ops", "hnsw", "sparsevec", False),
    (16219, "sparsevec_ip_ops", "hnsw", "sparsevec", False),
    (16220, "sparsevec_cosine_ops", "hnsw", "sparsevec", False),
    (16221, "sparsevec_l1_ops", "hnsw", "sparsevec", False),
    (16230, "vector_l2_ops", "ivfflat", "vector", True),
    (16231, "vector_ip_ops", "ivfflat", "vector", False),
    (16232, "vector_cosine_ops", "ivfflat", "vector", False),
    (16233, "halfvec_l2_ops", "ivfflat", "halfvec", False),
    (16234, "halfvec_ip_ops", "ivfflat", "halfvec", False),
    (16235, "halfvec_cosine_ops", "ivfflat", "halfvec", False),
    (16236, "bit_hamming_ops", "hnsw", "bit", False),
    (16237, "bit_jaccard_ops", "hnsw", "bit", False),
    (16238, "bit_hamming_ops", "ivfflat", "bit", False),
    (16240, "vector_ops", "btree", "vector", True),
    (16241, "halfvec_ops", "btree", "halfvec", True),
    (16242, "sparsevec_ops", "btree", "sparsevec", True),
)

# pgvector's SQL functions shown in pg_proc: (oid, name, argument types, result type)
VECTOR_FUNCTIONS: Final[tuple[tuple[int, str, tuple[str, ...], str], ...]] = (
    (16250, "l2_distance", ("vector", "vector"), "double precision"),
    (16251, "inner_product", ("vector", "vector"), "double precision"),
    (16252, "cosine_distance", ("vector", "vector"), "double precision"),
    (16253, "l1_distance", ("vector", "vector"), "double precision"),
    (16254, "vector_dims", ("vector",), "integer"),
    (16255, "vector_norm", ("vector",), "double precision"),
    (16256, "l2_normalize", ("vector",), "vector"),
    (16257, "binary_quantize", ("vector",), "bit"),
    (16258, "subvector", ("vector", "integer", "integer"), "vector"),
    (16259, "vector_negative_inner_product", ("vector", "vector"), "double precision"),
    (16260, "vector_l2_squared_distance", ("vector", "vector"), "double precision"),
    (16261, "vector_cmp", ("vector", "vector"), "integer"),
)
