"""Settings: every limit has a name and a default here.

``Settings`` holds the per-database (server-wide) knobs fixed at open time.
``GUCS`` is the table of per-session parameters (``SET``/``SHOW``), with
PostgreSQL's and pgvector's names, defaults and ranges.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Final, Literal

# pgvector limits (src/vector.h, src/hnsw.h, src/ivfflat.h)
VECTOR_MAX_DIM: Final = 16000

# user objects get OIDs from here on (PostgreSQL's FirstNormalObjectId is 16384;
# 16384..16399 are taken by the vector extension's types, see types.py)
FIRST_USER_OID: Final = 16400


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Knobs of one open database. All have defaults; tests shrink the sizes."""

    # a growing segment is sealed into an Arrow IPC file once it holds this many rows
    seal_rows: int = 100_000
    # ... or this many bytes of column data, whichever comes first
    seal_bytes: int = 256 * 1024 * 1024
    # compaction merges sealed segments smaller than this many rows
    compaction_small_rows: int = 50_000
    # a segment whose deleted fraction exceeds this is rewritten by compaction
    compaction_deleted_ratio: float = 0.2
    # run compaction in a background thread
    background_compaction: bool = True
    # WAL files are switched when they grow past this size
    wal_file_bytes: int = 64 * 1024 * 1024
    # fsync the WAL before acknowledging a commit (D1). Off only in tests (logged as UNSAFE).
    fsync: bool = True
    synchronous_commit: bool = True
    # group commit window: a committer waits this long for others to share its fsync
    commit_delay_us: int = 0
    # how long a writer waits for a table lock by default (0 = wait forever, as PostgreSQL)
    lock_timeout_ms: int = 0
    deadlock_timeout_ms: int = 1000
    # rows per Arrow batch handed out of the engine
    batch_rows: int = 8192
    # wire protocol limits (WIRE.md, STYLE.md): startup and small messages, large messages
    max_startup_bytes: int = 10_000
    max_small_message_bytes: int = 10_000
    max_message_bytes: int = 16 * 1024 * 1024
    # server
    host: str = "127.0.0.1"
    port: int = 5433
    max_connections: int = 100
    authentication_timeout_s: float = 60.0
    # per-query memory budget for sorts, aggregates and ANN buffers (53200 past it)
    query_memory_limit_bytes: int = 4 * 1024 * 1024 * 1024
    # a segment with at most this many rows passing the filter is searched exactly, not by ANN
    ann_exact_max_rows: int = 2000
    extra: dict[str, str] = field(default_factory=dict)

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


GucKind = Literal["bool", "int", "real", "string", "enum"]


@dataclass(frozen=True, slots=True)
class Guc:
    """One session parameter as pg_settings describes it."""

    name: str
    kind: GucKind
    default: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()
    unit: str | None = None
    # PostgreSQL reports these to the client in ParameterStatus when they change
    report: bool = False
    description: str = ""


INT_MAX: Final = 2147483647

GUCS: Final[dict[str, Guc]] = {
    g.name: g
    for g in (
        Guc("server_version", "string", "16.4", report=True),
        Guc("server_version_num", "int", "160004"),
        Guc("server_encoding", "string", "UTF8", report=True),
        Guc("client_encoding", "string", "UTF8", report=True),
        Guc("application_name", "string", "", report=True),
        Guc("DateStyle", "string", "ISO, MDY", report=True),
        Guc("IntervalStyle", "string", "postgres", report=True),
        Guc("TimeZone", "string", "UTC", report=True),
        Guc("integer_datetimes", "bool", "on", report=True),
        Guc("standard_conforming_strings", "bool", "on", report=True),
        Guc("is_superuser", "bool", "on", report=True),
        Guc("session_authorization", "string", "postgres", report=True),
        Guc("in_hot_standby", "bool", "off", report=True),
        Guc("default_transaction_read_only", "bool", "off", report=True),
        Guc("search_path", "string", '"$user", public'),
        Guc("default_table_access_method", "string", "heap"),
        Guc("extra_float_digits", "int", "1", min=-15, max=3),
        Guc("statement_timeout", "int", "0", min=0, max=INT_MAX, unit="ms"),
        Guc("lock_timeout", "int", "0", min=0, max=INT_MAX, unit="ms"),
        Guc("idle_in_transaction_session_timeout", "int", "0", min=0, max=INT_MAX, unit="ms"),
        Guc("work_mem", "int", "4096", min=64, max=INT_MAX, unit="kB"),
        Guc("maintenance_work_mem", "int", "65536", min=1024, max=INT_MAX, unit="kB"),
        Guc("max_parallel_workers_per_gather", "int", "2", min=0, max=1024),
        Guc("max_parallel_maintenance_workers", "int", "2", min=0, max=1024),
        Guc(
            "client_min_messages",
            "enum",
            "notice",
            choices=(
                "debug5",
                "debug4",
                "debug3",
                "debug2",
                "debug1",
                "log",
                "notice",
                "warning",
                "error",
            ),
        ),
        Guc(
            "transaction_isolation",
            "enum",
            "read committed",
            choices=("serializable", "repeatable read", "read committed", "read uncommitted"),
        ),
        Guc(
            "default_transaction_isolation",
            "enum",
            "read committed",
            choices=("serializable", "repeatable read", "read committed", "read uncommitted"),
        ),
        Guc(
            "synchronous_commit",
            "enum",
            "on",
            choices=("local", "remote_write", "remote_apply", "on", "off"),
        ),
        Guc("enable_seqscan", "bool", "on"),
        Guc("enable_indexscan", "bool", "on"),
        Guc("enable_bitmapscan", "bool", "on"),
        Guc("jit", "bool", "off"),
        Guc("row_security", "bool", "on"),
        Guc("bytea_output", "enum", "hex", choices=("escape", "hex")),
        Guc("max_identifier_length", "int", "63"),
        Guc("max_index_keys", "int", "32"),
        Guc("lc_messages", "string", "C"),
        Guc("lc_monetary", "string", "C"),
        Guc("lc_numeric", "string", "C"),
        Guc("lc_time", "string", "C"),
        # pgvector (src/hnsw.c, src/ivfflat.c)
        Guc("hnsw.ef_search", "int", "40", min=1, max=1000),
        Guc("hnsw.iterative_scan", "enum", "off", choices=("off", "relaxed_order", "strict_order")),
        Guc("hnsw.max_scan_tuples", "int", "20000", min=1, max=INT_MAX),
        Guc("hnsw.scan_mem_multiplier", "real", "1", min=1, max=1000),
        Guc("ivfflat.probes", "int", "1", min=1, max=32768),
        Guc("ivfflat.iterative_scan", "enum", "off", choices=("off", "relaxed_order")),
        Guc("ivfflat.max_probes", "int", "32768", min=1, max=32768),
        # vecgres
        Guc("vecgres.enable_ann", "bool", "on"),
        # off: pgvector's fixed ivfflat.probes (index/ivf_probe.py)
        Guc("vecgres.ivfflat_adaptive_probes", "bool", "on"),
    )
}


def default_data_dir() -> str:
    """The embedded default data directory (``./vecgres-data`` or ``$VECGRES_DATA``)."""
    return os.environ.get("VECGRES_DATA", "vecgres-data")
