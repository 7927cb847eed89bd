"""vecgres: a vector database that speaks PostgreSQL's wire protocol and pgvector's SQL.

``vecgres.connect(path)`` opens an embedded database (a PEP 249 connection);
``vecgres serve`` runs the server.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def connect(path: str = "vecgres-data", **settings: Any) -> Any:
    """Open (or create) the database in directory ``path`` and return a DB-API connection."""
    from vecgres.dbapi import connect as _connect

    return _connect(path, **settings)


__all__ = ["__version__", "connect"]
