"""A session's ``CatalogState``: the catalog it sees, its user, settings and storage sizes."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pyarrow as pa

from vecgres import errors
from vecgres.sql.pgcatalog.rows import CatalogState, build

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

    pid = getattr(session, "backend_pid", None) or os.getpid()
    return CatalogState(
        session._catalog(), session.user, session.database, setting, changed, pid, table_stats
    )


def catalog_rows(session: Session, table: Table) -> pa.Table:
    """The rows of system relation ``table`` as ``session`` sees them now."""
    return build(table, session_state(session))
