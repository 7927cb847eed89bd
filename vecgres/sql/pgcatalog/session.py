"""What the catalog needs of a session, as a Protocol (sql/ must not import the engine)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from vecgres.catalog.model import Catalog
    from vecgres.executor.duck import DuckSession
    from vecgres.sql.settings import SessionSettings


class CatalogSession(Protocol):
    user: str
    database: str
    duck: DuckSession
    settings: SessionSettings
    db: Any  # the engine's Database: only its snapshot() is used

    def _catalog(self) -> Catalog: ...
