"""COPY between tables and files (CSV, text, Parquet); COPY over the wire is the server's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from vecgres import errors
from vecgres.result import Result

if TYPE_CHECKING:
    from vecgres.engine import Session


def run_copy(session: Session, ast: exp.Expr) -> Result:
    raise errors.FeatureNotSupported("COPY is not supported yet")
