"""A session's ``CatalogState``: the catalog it sees, its user, settings and storage sizes."""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

import pyarrow as pa

from vecgres import errors
from vecgres.sql import prepared_sql
from vecgres.sql.pgcatalog.rows import CatalogState, build
from vecgres.storage.indexfiles import INDEX_DIR

if TYPE_CHECKING:
    from vecgres.catalog.model import Table
    from vecgres.sql.pgcatalog.session import CatalogSession as Session


def session_state(session: Session) -> CatalogState:
    settings = session.settings

    def setting(name: str) -> str:
        try:
            return settings.get(name)
        except errors.VecgresError:
            return ""

    def changed(name: str) -> bool:
        return name in getattr(settings, "_values", {})

    def table_stats(oid: int) -> tuple[int, int] | None:
        """(bytes, live rows) of a table at the newest snapshot, or None."""
        snap = session.db.snapshot().table(oid)
        if snap is None:
            return None
        return sum(seg.data.nbytes for seg in snap.segments), snap.num_rows()

    def index_bytes(table_oid: int, index_oid: int) -> int:
        """Bytes of an ANN index's files (one per sealed segment); other indexes keep none."""
        folder = os.path.join(str(session.db.path), INDEX_DIR, str(table_oid))
        try:
            names = os.listdir(folder)
        except OSError:
            return 0
        total = 0
        for name in names:
            parts = name.split(".")
            if len(parts) == 3 and parts[1] == str(index_oid) and parts[2] == "faiss":
                with contextlib.suppress(OSError):
                    total += os.path.getsize(os.path.join(folder, name))
        return total

    pid = getattr(session, "backend_pid", None) or os.getpid()
    return CatalogState(
        session._catalog(),
        session.user,
        session.database,
        setting,
        changed,
        pid,
        table_stats,
        index_bytes,
        getattr(getattr(session.db, "cluster", None), "activity", None),
        getattr(session, "session_user", session.user),
        _datacl(session),
        _role_rows(session),
        _database_owner(session),
        lambda: prepared_sql.statement_rows(session),
    )


def _role_rows(session: Session) -> list[dict[str, object]] | None:
    cluster = getattr(session.db, "cluster", None)
    return None if cluster is None else cluster.role_catalog()


def _database_owner(session: Session) -> str:
    cluster = getattr(session.db, "cluster", None)
    return "postgres" if cluster is None else str(cluster.database_owner(session.database))


def _datacl(session: Session) -> list[str] | None:
    from vecgres.sql import acl

    cluster = getattr(session.db, "cluster", None)
    if cluster is None:
        return None
    return acl.items(
        cluster.database_acl(session.database), cluster.database_owner(session.database)
    )


def catalog_rows(session: Session, table: Table) -> pa.Table:
    """The rows of system relation ``table`` as ``session`` sees them now."""
    return build(table, session_state(session))
