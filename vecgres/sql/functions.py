"""Functions that need the session: sequences and settings, registered in its DuckDB."""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from vecgres import errors
from vecgres.executor.duck import error_payload

if TYPE_CHECKING:
    from vecgres.engine import Session


def _fail(err: errors.VecgresError) -> None:
    raise ValueError(error_payload(err))


def _split_name(name: str) -> tuple[str | None, str]:
    if "." in name:
        schema, _, rel = name.partition(".")
        return schema.strip('"'), rel.strip('"')
    return None, name.strip('"').lower() if not name.startswith('"') else name.strip('"')


def install(session: Session) -> None:
    duck = session.duck

    def sequence(name: str, *any_of: str):  # type: ignore[no-untyped-def]
        from vecgres.sql.grants import require_sequence

        schema, rel = _split_name(name)
        try:
            found = session._catalog().resolve_sequence(rel, schema, session.settings.search_path())
            require_sequence(session, found, any_of)
            return found
        except errors.VecgresError as exc:
            _fail(exc)
            raise

    def nextval(name: str | None) -> int | None:
        if name is None:
            return None
        seq = sequence(name, "USAGE", "UPDATE")
        try:
            value = session.db.sequences.nextval(seq)[0]
        except errors.VecgresError as exc:
            _fail(exc)
            raise
        session.currvals[seq.oid] = value
        session.lastval = value
        return value

    def currval(name: str | None) -> int | None:
        if name is None:
            return None
        seq = sequence(name, "SELECT", "USAGE")
        if seq.oid not in session.currvals:
            _fail(
                errors.ObjectNotInPrerequisiteState(
                    f'currval of sequence "{seq.name}" is not yet defined in this session'
                )
            )
        return session.currvals[seq.oid]

    def lastval() -> int | None:
        if session.lastval is None:
            _fail(errors.ObjectNotInPrerequisiteState("lastval is not yet defined in this session"))
        return session.lastval

    def setval(name: str | None, value: int | None, is_called: bool | None = True) -> int | None:
        if name is None or value is None or is_called is None:
            return None
        seq = sequence(name, "UPDATE")
        try:
            session.db.sequences.setval(seq, value, is_called)
        except errors.VecgresError as exc:
            _fail(exc)
        if is_called:  # as PostgreSQL: currval changes only when the value counts as used
            session.currvals[seq.oid] = value
        return value

    def current_setting(name: str | None) -> str | None:
        if name is None:
            return None
        try:
            return session.settings.get(name)
        except errors.VecgresError as exc:
            _fail(exc)
            raise

    def set_config(name: str | None, value: str | None, local: bool | None) -> str | None:
        if name is None:
            return None
        try:
            session.settings.set(name, value or "", local=bool(local), txn=session.txn)
            return session.settings.get(name)
        except errors.VecgresError as exc:
            _fail(exc)
            raise

    V, B, BOOL = duckdb.sqltype("VARCHAR"), duckdb.sqltype("BIGINT"), duckdb.sqltype("BOOLEAN")
    duck.function("vg_nextval", nextval, [V], B, side_effects=True)
    duck.function("vg_currval", currval, [V], B, side_effects=True)
    duck.function("vg_lastval", lastval, [], B, side_effects=True)

    def setval2(name: str | None, value: int | None) -> int | None:
        return setval(name, value, True)

    duck.function("vg_setval", setval2, [V, B], B, side_effects=True)
    duck.function("vg_setval3", setval, [V, B, BOOL], B, side_effects=True)
    duck.function("vg_current_setting", current_setting, [V], V, side_effects=True)
    duck.function("vg_set_config", set_config, [V, V, BOOL], V, side_effects=True)

    def vecgres_check() -> str:
        report = session.db.store.check()
        if not report.ok:
            _fail(errors.DataCorrupted(report.problems[0], detail=report.summary()))
        return report.summary()

    duck.function("vg_check", vecgres_check, [], V, side_effects=True)
