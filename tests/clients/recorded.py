"""The catalog statements of ../shared/clients/recorded/*.log, with PostgreSQL's answers' shape.

Each log line is ``[conn] F|B <message>``; a statement is a Parse (``F P``, SQL
as a Python literal) or a simple Query (``F Q``), its parameters come from the
next Bind and the shape of PostgreSQL's answer from the next RowDescription
(``B T name:oidN/...``) on the same connection.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

RECORDED = Path(__file__).resolve().parents[3] / "shared" / "clients" / "recorded"
if not RECORDED.is_dir():
    RECORDED = Path("/work/shared/clients/recorded")

_LINE = re.compile(r"^\[(\d+)\] ([FB]) (\S) ?(.*)$")
_COLUMN = re.compile(r"(\S+?):oid(\d+)/len")
# what makes a statement a catalog statement
_CATALOG = re.compile(
    r"pg_catalog|information_schema|\bpg_[a-z_]+\b|version\(|current_schema|to_regtype|"
    r"current_database|current_setting|set_config",
    re.I,
)


@dataclass
class Statement:
    log: str
    sql: str
    params: list[bytes | None] = field(default_factory=list)
    param_formats: list[int] = field(default_factory=list)
    param_oids: list[int] = field(default_factory=list)  # declared in Parse (0 = unknown)
    described_oids: list[int] | None = None  # PostgreSQL's ParameterDescription
    column_oids: list[int] | None = None  # PostgreSQL's RowDescription


def _literal(text: str) -> object:
    return ast.literal_eval(text)


def _bind_key(conn: str, rest: str) -> str:
    name = re.search(r"stmt='([^']*)'", rest)
    return conn + ":" + (name.group(1) if name else "")


def statements() -> list[Statement]:
    out: list[Statement] = []
    for path in sorted(RECORDED.glob("*.log")):
        open_parse: dict[str, Statement] = {}
        pending_shape: dict[str, Statement] = {}
        for raw in path.read_text(errors="replace").splitlines():
            m = _LINE.match(raw)
            if not m:
                continue
            conn, side, kind, rest = m.groups()
            if side == "F" and kind == "P":
                sql = _literal(rest[rest.index(" sql=") + 5 :])
                oids = _literal(re.search(r"paramoids=(\[[^\]]*\])", rest).group(1))  # type: ignore[union-attr]
                stmt = Statement(path.stem, str(sql), param_oids=list(oids))  # type: ignore[arg-type]
                name = re.match(r"stmt='([^']*)'", rest)
                open_parse[conn + ":" + (name.group(1) if name else "")] = stmt
                pending_shape[conn] = stmt
                out.append(stmt)
            elif side == "F" and kind == "Q":
                sql = str(_literal(rest))
                if ";" in sql.strip().rstrip(";"):
                    continue  # multi-statement strings: each part is its own case elsewhere
                stmt = Statement(path.stem, sql)
                pending_shape[conn] = stmt
                out.append(stmt)
            elif side == "F" and kind == "B" and _bind_key(conn, rest) in open_parse:
                stmt = open_parse.pop(_bind_key(conn, rest))
                fmts = re.search(r"paramfmts=(\[[^\]]*\])", rest)
                params = re.search(r"params=(\[.*\]) resultfmts", rest)
                stmt.param_formats = list(_literal(fmts.group(1))) if fmts else []  # type: ignore[call-overload]
                stmt.params = list(_literal(params.group(1))) if params else []  # type: ignore[call-overload]
            elif side == "B" and kind == "t" and conn in pending_shape:
                pending_shape[conn].described_oids = list(_literal(rest))  # type: ignore[call-overload]
            elif side == "B" and kind == "T" and conn in pending_shape:
                pending_shape.pop(conn).column_oids = [int(o) for _, o in _COLUMN.findall(rest)]
            elif side == "B" and kind == "n" and conn in pending_shape:
                pending_shape.pop(conn).column_oids = []
    return [s for s in out if _CATALOG.search(s.sql)]
