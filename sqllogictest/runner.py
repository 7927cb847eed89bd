"""A sqllogictest runner for vecgres: DuckDB's dialect, plus SQLSTATEs.

The same ``.test`` files run against three backends, so every expected output
can be checked against a real PostgreSQL first and then held over vecgres:

* ``embedded``: ``vecgres.engine.Database`` in-process, values rendered with
  ``vecgres.codec.text`` (PostgreSQL's text output);
* ``postgres``: a real PostgreSQL through libpq (psycopg), values taken as the
  raw text the server sends, i.e. exactly what ``psql -A`` prints;
* ``wire``: the same code as ``postgres``, pointed at ``vecgres serve``.

Format (one record per blank-line-separated block)::

    # status: xfail <reason>        first line only: vecgres can't pass this file yet
    require vecgres                 skip the whole file on backends without the label
    statement ok
    statement error [SQLSTATE]      optionally followed by ---- and the primary message
    query <types> [nosort|rowsort|valuesort]
    <sql ...>
    ----
    <tab-separated rows; NULL for null, (empty) for the empty string>
    restart                         reopen the database on the same directory (durability)
    onlyif <label> / skipif <label> conditions on the next record
    mode skip / mode unskip         skip the records in between
    halt                            stop the file here
    loop i 0 10 ... endloop         repeat with ${i} = 0..9 (foreach x a b c also works)

``__TEST_DIR__`` in SQL or results becomes a scratch directory that the
database server can write (for COPY to and from files).

Run from the command line to check files, rewrite expectations from a real
PostgreSQL, or produce ``STATUS.md``::

    python sqllogictest/runner.py --backend postgres --dsn "$DSN" sqllogictest/*.test
    python sqllogictest/runner.py --backend postgres --dsn "$DSN" --rewrite FILE
    python sqllogictest/runner.py --backend embedded --status sqllogictest/STATUS.md
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

HERE = Path(__file__).resolve().parent

# Run from a checkout without `pip install -e .`: the repository root holds the
# vecgres package, so make it importable (an installed vecgres still wins).
if importlib.util.find_spec("vecgres") is None:
    sys.path.append(str(HERE.parent))

# Each backend answers to these names in onlyif/skipif/require: "vecgres"
# covers both ways of reaching vecgres, so vector-only records say it once.
BACKEND_LABELS: dict[str, frozenset[str]] = {
    "embedded": frozenset({"vecgres", "embedded"}),
    "wire": frozenset({"vecgres", "wire"}),
    "postgres": frozenset({"postgres"}),
}

SORT_MODES = ("nosort", "rowsort", "valuesort")
NULL_TEXT = "NULL"
EMPTY_TEXT = "(empty)"


# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class Record:
    """One executable unit of a test file, after loops are expanded."""

    kind: str  # "statement" | "query" | "restart" | "halt"
    line: int  # 1-based line of the header in the file
    conditions: list[tuple[str, str]] = field(default_factory=list)  # ("onlyif"|"skipif", label)
    sql: str = ""
    # statement
    expect_error: bool = False
    sqlstate: str | None = None
    message: str | None = None
    # query
    types: str = ""
    sort: str = "nosort"
    expected: list[str] = field(default_factory=list)
    # where the record sits in the source file (0-based line indexes, end exclusive),
    # used by --rewrite; None inside loops, whose text is shared by many records
    span: tuple[int, int] | None = None
    sql_span: tuple[int, int] | None = None

    def applies_to(self, labels: frozenset[str]) -> bool:
        for cond, label in self.conditions:
            if cond == "onlyif" and label not in labels:
                return False
            if cond == "skipif" and label in labels:
                return False
        return True


@dataclass(slots=True)
class TestFile:
    path: Path
    records: list[Record]
    xfail: str | None  # reason from "# status: xfail <reason>"
    requires: list[str]


class ParseError(Exception):
    pass


_STATUS_RE = re.compile(r"^#\s*status:\s*xfail\b\s*(.*)$")


def parse_file(path: Path) -> TestFile:
    lines = path.read_text(encoding="utf-8").split("\n")
    xfail = None
    if lines and (m := _STATUS_RE.match(lines[0])):
        xfail = m.group(1).strip() or "not supported yet"
    requires: list[str] = []
    records = list(_parse_block(path, lines, 0, len(lines), {}, requires, top_level=True))
    return TestFile(path, records, xfail, requires)


def _subst(text: str, env: dict[str, str]) -> str:
    for name, value in env.items():
        text = text.replace("${" + name + "}", value)
    return text


def _find_endloop(path: Path, lines: list[str], start: int, stop: int) -> int:
    depth = 1
    for idx in range(start, stop):
        word = lines[idx].split()[:1]
        if word and word[0] in ("loop", "foreach"):
            depth += 1
        elif word == ["endloop"]:
            depth -= 1
            if depth == 0:
                return idx
    raise ParseError(f"{path}:{start}: loop without endloop")


def _parse_block(
    path: Path,
    lines: list[str],
    start: int,
    stop: int,
    env: dict[str, str],
    requires: list[str],
    *,
    top_level: bool,
) -> Iterator[Record]:
    idx = start
    conditions: list[tuple[str, str]] = []
    skipping = False
    while idx < stop:
        raw = lines[idx]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            idx += 1
            continue
        words = stripped.split()
        head = words[0]
        where = f"{path.name}:{idx + 1}"
        if head in ("onlyif", "skipif"):
            if len(words) != 2:
                raise ParseError(f"{where}: {head} takes one label")
            conditions.append((head, words[1]))
            idx += 1
            continue
        if head == "mode":
            if words[1:] == ["skip"]:
                skipping = True
            elif words[1:] == ["unskip"]:
                skipping = False
            else:
                raise ParseError(f"{where}: unknown mode {words[1:]}")
            idx += 1
            continue
        if head == "require":
            requires.extend(words[1:])
            idx += 1
            continue
        if head in ("loop", "foreach"):
            end = _find_endloop(path, lines, idx + 1, stop)
            if head == "loop":
                if len(words) != 4:
                    raise ParseError(f"{where}: loop <var> <start> <end>")
                values = [str(v) for v in range(int(words[2]), int(words[3]))]
            else:
                values = words[2:]
            if not skipping:
                for value in values:
                    inner = {**env, words[1]: value}
                    yield from _parse_block(
                        path, lines, idx + 1, end, inner, requires, top_level=False
                    )
            conditions = []
            idx = end + 1
            continue
        if head in ("restart", "halt"):
            rec = Record(head, idx + 1, conditions)
            conditions = []
            idx += 1
            if not skipping:
                yield rec
            continue
        if head not in ("statement", "query"):
            raise ParseError(f"{where}: unknown record type {head!r}")

        rec = Record(head, idx + 1, conditions)
        conditions = []
        if head == "statement":
            if words[1:2] == ["ok"] and len(words) == 2:
                pass
            elif words[1:2] == ["error"] and len(words) <= 3:
                rec.expect_error = True
                rec.sqlstate = words[2] if len(words) == 3 else None
            else:
                raise ParseError(f"{where}: statement ok | statement error [SQLSTATE]")
        else:
            if len(words) < 2 or len(words) > 3:
                raise ParseError(f"{where}: query <types> [nosort|rowsort|valuesort]")
            rec.types = words[1]
            if len(words) == 3:
                if words[2] not in SORT_MODES:
                    raise ParseError(f"{where}: unknown sort mode {words[2]!r}")
                rec.sort = words[2]
        header = idx
        idx += 1
        sql_start = idx
        while idx < stop and lines[idx].strip() and lines[idx].rstrip() != "----":
            idx += 1
        sql_end = idx
        rec.sql = _subst("\n".join(lines[sql_start:sql_end]), env)
        if not rec.sql.strip():
            raise ParseError(f"{where}: record without SQL")
        if idx < stop and lines[idx].rstrip() == "----":
            idx += 1
            result_start = idx
            while idx < stop and lines[idx].strip():
                idx += 1
            result = [_subst(line.rstrip("\r"), env) for line in lines[result_start:idx]]
            if rec.kind == "query":
                rec.expected = result
            elif rec.expect_error:
                rec.message = "\n".join(result)
            else:
                raise ParseError(f"{where}: statement ok takes no ---- section")
        elif rec.kind == "query":
            raise ParseError(f"{where}: query without ---- section")
        if top_level:
            rec.span = (header, idx)
            rec.sql_span = (sql_start, sql_end)
        if not skipping:
            yield rec


# --------------------------------------------------------------------------- backends


class BackendError(Exception):
    """An error the database reported for a statement."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(f"{sqlstate}: {message}")
        self.sqlstate = sqlstate
        self.message = message


@dataclass(slots=True)
class Outcome:
    columns: int  # 0 for statements without a result set
    rows: list[list[str | None]]


class Backend(Protocol):
    labels: frozenset[str]
    test_dir: Path

    def execute(self, sql: str) -> Outcome: ...
    def restart(self) -> None: ...
    def close(self) -> None: ...


def _scratch_dir() -> Path:
    # A real PostgreSQL server runs as its own OS user and must read and write
    # COPY files here, hence world-writable.
    path = Path(tempfile.mkdtemp(prefix="vecgres-slt-"))
    path.chmod(0o777)
    return path


class EmbeddedBackend:
    """vecgres in this process: Database.open(dir) + Session.execute."""

    labels = BACKEND_LABELS["embedded"]

    def __init__(self) -> None:
        from vecgres.codec.text import encode_text_column
        from vecgres.engine import Database

        self._database_cls: Any = Database
        self._encode: Any = encode_text_column
        self.test_dir = _scratch_dir()
        self._data_dir = self.test_dir / "data"
        self._db: Any = None
        self._session: Any = None
        self._open()

    def _open(self) -> None:
        self._db = self._database_cls.open(str(self._data_dir))
        self._session = self._db.session()

    def execute(self, sql: str) -> Outcome:
        from vecgres.errors import VecgresError

        try:
            result = self._session.execute(sql)
            rows: list[list[str | None]] = []
            # Drain the batches even for statements: errors may surface lazily.
            for batch in result.batches():
                cols = [
                    self._encode(batch.column(col_idx), info.type)
                    for col_idx, info in enumerate(result.columns or [])
                ]
                rows.extend(
                    [_decode(col[row_idx]) for col in cols] for row_idx in range(batch.num_rows)
                )
            return Outcome(len(result.columns or []), rows)
        except VecgresError as exc:
            raise BackendError(exc.code, exc.message) from exc

    def restart(self) -> None:
        self._close_db()
        self._open()

    def _close_db(self) -> None:
        for obj in (self._session, self._db):
            close = getattr(obj, "close", None)
            if close is not None:
                close()
        self._session = self._db = None

    def close(self) -> None:
        try:
            self._close_db()
        finally:
            shutil.rmtree(self.test_dir, ignore_errors=True)


def _decode(value: bytes | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return bytes(value).decode("utf-8")


class PostgresBackend:
    """A PostgreSQL server (the real one, or `vecgres serve`) through libpq.

    Each file gets a fresh database so files cannot see each other's tables.
    Statements go through the simple query protocol, as psql sends them, and
    values come back as the raw text the server sent.
    """

    def __init__(self, dsn: str, labels: frozenset[str], *, fresh_database: bool = True) -> None:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        self._psycopg: Any = psycopg
        self.labels = labels
        self.test_dir = _scratch_dir()
        self._admin_dsn = dsn
        self._dbname: str | None = None
        self._dsn = dsn
        if fresh_database:
            self._dbname = f"slt_{uuid.uuid4().hex[:12]}"
            with psycopg.connect(dsn, autocommit=True) as admin:
                admin.execute(f"CREATE DATABASE {self._dbname}")
                # Fixed session defaults, whatever the server's config says:
                # timestamptz output depends on TimeZone, message text on lc_messages.
                for setting, value in (
                    ("TimeZone", "UTC"),
                    ("DateStyle", "ISO, MDY"),
                    ("IntervalStyle", "postgres"),
                    ("extra_float_digits", "1"),
                    ("lc_messages", "C"),
                ):
                    admin.execute(f"ALTER DATABASE {self._dbname} SET {setting} = '{value}'")
            params = conninfo_to_dict(dsn)
            params["dbname"] = self._dbname
            self._dsn = make_conninfo(**params)
        self._conn: Any = None
        self._connect()

    def _connect(self) -> None:
        self._conn = self._psycopg.connect(self._dsn, autocommit=True)

    def execute(self, sql: str) -> Outcome:
        from psycopg import pq

        res = self._conn.pgconn.exec_(sql.encode("utf-8"))
        if res.status == pq.ExecStatus.FATAL_ERROR:
            state = res.error_field(pq.DiagnosticField.SQLSTATE) or b"XX000"
            msg = res.error_field(pq.DiagnosticField.MESSAGE_PRIMARY) or res.error_message
            raise BackendError(state.decode(), msg.decode("utf-8"))
        if res.status != pq.ExecStatus.TUPLES_OK:
            return Outcome(0, [])
        rows = [
            [_decode(res.get_value(row_idx, col_idx)) for col_idx in range(res.nfields)]
            for row_idx in range(res.ntuples)
        ]
        return Outcome(res.nfields, rows)

    def restart(self) -> None:
        self._conn.close()
        self._connect()

    def close(self) -> None:
        try:
            if self._conn is not None:
                self._conn.close()
            if self._dbname is not None:
                with self._psycopg.connect(self._admin_dsn, autocommit=True) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {self._dbname} WITH (FORCE)")
        finally:
            shutil.rmtree(self.test_dir, ignore_errors=True)


def make_backend(name: str, dsn: str | None) -> Backend:
    if name == "embedded":
        return EmbeddedBackend()
    if name in ("postgres", "wire"):
        if not dsn:
            msg = f"the {name} backend needs a DSN (VECGRES_SLT_DSN or --dsn)"
            raise ValueError(msg)
        # vecgres serve has one database per data directory: no CREATE DATABASE there.
        return PostgresBackend(dsn, BACKEND_LABELS[name], fresh_database=name == "postgres")
    msg = f"unknown backend {name!r}"
    raise ValueError(msg)


# --------------------------------------------------------------------------- running


def render(value: str | None) -> str:
    if value is None:
        return NULL_TEXT
    if value == "":
        return EMPTY_TEXT
    return value


@dataclass(slots=True)
class Failure:
    record: Record
    reason: str
    expected: list[str]
    actual: list[str]

    def format(self, path: Path) -> str:
        out = [f"{path}:{self.record.line}: {self.reason}", "SQL:", _indent(self.record.sql)]
        out += ["expected:", _indent("\n".join(self.expected) or "(nothing)")]
        out += ["actual:", _indent("\n".join(self.actual) or "(nothing)")]
        return "\n".join(out)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.split("\n"))


@dataclass(slots=True)
class FileResult:
    path: Path
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    # record -> what the backend produced, for --rewrite
    observed: dict[int, tuple[Outcome | None, BackendError | None]] = field(default_factory=dict)
    crashed: str | None = None  # setup failed (backend could not open, ...)
    test_dir: str | None = None  # what __TEST_DIR__ stood for, to undo it in --rewrite

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.crashed is None


def _expected_lines(rec: Record) -> list[str]:
    if rec.sort == "valuesort":
        values = [v for line in rec.expected for v in line.split("\t")]
        return sorted(values)
    if rec.sort == "rowsort":
        return sorted(rec.expected)
    return list(rec.expected)


def _actual_lines(rec: Record, out: Outcome) -> list[str]:
    rendered = [[render(v) for v in row] for row in out.rows]
    if rec.sort == "valuesort":
        return sorted(v for row in rendered for v in row)
    lines = ["\t".join(row) for row in rendered]
    return sorted(lines) if rec.sort == "rowsort" else lines


def check_record(rec: Record, backend: Backend, result: FileResult) -> Failure | None:
    subst_dir = str(backend.test_dir)
    sql = rec.sql.replace("__TEST_DIR__", subst_dir)
    try:
        out = backend.execute(sql)
        err = None
    except BackendError as exc:
        out, err = None, exc
    result.observed[rec.line] = (out, err)

    if rec.kind == "statement":
        if not rec.expect_error:
            if err is not None:
                return Failure(rec, "statement failed", ["ok"], [f"{err.sqlstate}: {err.message}"])
            return None
        want = f"{rec.sqlstate or '<any SQLSTATE>'}" + (
            f": {rec.message.replace('__TEST_DIR__', subst_dir)}" if rec.message is not None else ""
        )
        if err is None:
            return Failure(rec, "statement succeeded, expected an error", [want], ["ok"])
        got = f"{err.sqlstate}: {err.message}"
        if rec.sqlstate is not None and err.sqlstate != rec.sqlstate:
            return Failure(rec, "wrong SQLSTATE", [want], [got])
        want_msg = None if rec.message is None else rec.message.replace("__TEST_DIR__", subst_dir)
        if want_msg is not None and err.message != want_msg:
            return Failure(rec, "wrong error message", [want], [got])
        return None

    expected = [line.replace("__TEST_DIR__", subst_dir) for line in _expected_lines(rec)]
    if err is not None:
        return Failure(rec, "query failed", expected, [f"{err.sqlstate}: {err.message}"])
    assert out is not None
    if out.columns != len(rec.types):
        return Failure(
            rec,
            f"query returned {out.columns} columns, header says {len(rec.types)} ({rec.types})",
            expected,
            _actual_lines(rec, out),
        )
    actual = _actual_lines(rec, out)
    if actual != expected:
        return Failure(rec, "wrong result", expected, actual)
    return None


def run_file(tf: TestFile, backend_name: str, dsn: str | None) -> FileResult:
    result = FileResult(tf.path)
    labels = BACKEND_LABELS[backend_name]
    if any(req not in labels for req in tf.requires):
        result.skipped = len(tf.records)
        return result
    try:
        backend = make_backend(backend_name, dsn)
    except Exception as exc:  # reported per file: the engine may not exist yet
        result.crashed = f"{type(exc).__name__}: {exc}"
        return result
    result.test_dir = str(backend.test_dir)
    try:
        for rec in tf.records:
            if not rec.applies_to(labels):
                result.skipped += 1
                continue
            if rec.kind == "halt":
                break
            if rec.kind == "restart":
                try:
                    backend.restart()
                except Exception as exc:  # a failed reopen ends the file
                    result.crashed = f"restart at line {rec.line}: {type(exc).__name__}: {exc}"
                    break
                continue
            try:
                failure = check_record(rec, backend, result)
            except Exception as exc:  # engine bugs fail a record, not the run
                want = ["ok"] if rec.kind == "statement" and not rec.expect_error else []
                failure = Failure(rec, "backend raised", want, [f"{type(exc).__name__}: {exc}"])
            if failure is None:
                result.passed += 1
            else:
                result.failed += 1
                result.failures.append(failure)
    finally:
        with contextlib.suppress(Exception):
            backend.close()
    return result


def discover(root: Path = HERE) -> list[Path]:
    return sorted(root.rglob("*.test"))


# --------------------------------------------------------------------------- rewrite


def rewrite_file(tf: TestFile, result: FileResult) -> int:
    """Replace expectations with what the backend produced; returns records changed.

    Only for records outside loops; statements that were expected to succeed
    (or fail) and did not are left alone and reported, since a wrong statement
    needs a human, not a new expectation.
    """
    lines = tf.path.read_text(encoding="utf-8").split("\n")
    edits: list[tuple[int, int, list[str]]] = []
    for rec in tf.records:
        if rec.span is None or rec.sql_span is None or rec.line not in result.observed:
            continue
        out, err = result.observed[rec.line]
        sql_lines = lines[rec.sql_span[0] : rec.sql_span[1]]
        if rec.kind == "statement":
            if not rec.expect_error or err is None:
                continue
            new = [f"statement error {err.sqlstate}", *sql_lines]
            if rec.message is not None:
                message = err.message
                if result.test_dir:
                    message = message.replace(result.test_dir, "__TEST_DIR__")
                new += ["----", message]
        else:
            if out is None:
                continue
            types = rec.types
            if len(types) != out.columns:
                types = (types + "T" * out.columns)[: out.columns] if out.columns else types
            header = f"query {types}" + (f" {rec.sort}" if rec.sort != "nosort" else "")
            if rec.sort == "valuesort":
                body = sorted(render(v) for row in out.rows for v in row)
            else:
                body = ["\t".join(render(v) for v in row) for row in out.rows]
                if rec.sort == "rowsort":
                    body.sort()
            new = [header, *sql_lines, "----", *body]
        old = lines[rec.span[0] : rec.span[1]]
        if new != old:
            edits.append((rec.span[0], rec.span[1], new))
    for start, end, new in reversed(edits):
        lines[start:end] = new
    tf.path.write_text("\n".join(lines), encoding="utf-8")
    return len(edits)


def mark_xfail(tf: TestFile, result: FileResult) -> None:
    """Keep a file's first-line xfail marker in step with what vecgres passes."""
    lines = tf.path.read_text(encoding="utf-8").split("\n")
    if _STATUS_RE.match(lines[0]):
        lines = lines[1:]
    if not result.ok:
        total = result.passed + result.failed
        reason = (result.crashed or "").split("\n")[0] or (
            f"{result.failed} of {total} records fail, see STATUS.md"
        )
        lines.insert(0, f"# status: xfail {reason}")
    tf.path.write_text("\n".join(lines), encoding="utf-8")


# --------------------------------------------------------------------------- status report


def status_markdown(
    results: Sequence[FileResult], files: dict[Path, TestFile], backend: str
) -> str:
    total_pass = sum(r.passed for r in results)
    total_fail = sum(r.failed for r in results)
    out = [
        "# sqllogictest status",
        "",
        f"Backend `{backend}`, generated {time.strftime('%Y-%m-%d %H:%M')} by",
        f"`python sqllogictest/runner.py --backend {backend} --status sqllogictest/STATUS.md`.",
        "Expected outputs are PostgreSQL 15's; a failure here is a vecgres to-do, not a test bug.",
        "",
        f"Total: {total_pass} records pass, {total_fail} fail.",
        "",
        "| file | pass | fail | skipped | marked xfail |",
        "|---|---:|---:|---:|---|",
    ]
    for r in results:
        tf = files[r.path]
        crashed = " (crashed)" if r.crashed else ""
        out.append(
            f"| {r.path.name}{crashed} | {r.passed} | {r.failed} | {r.skipped} | {tf.xfail or ''} |"
        )
    out.append("")
    for r in results:
        if r.ok:
            continue
        out += [f"## {r.path.name}", ""]
        if r.crashed:
            out += [f"Could not run: `{r.crashed}`", ""]
        for failure in r.failures[:5]:
            out += ["```", failure.format(Path(r.path.name)), "```", ""]
        if len(r.failures) > 5:
            out += [f"... and {len(r.failures) - 5} more failing records.", ""]
    return "\n".join(out)


# --------------------------------------------------------------------------- CLI


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument(
        "--backend",
        default=os.environ.get("VECGRES_SLT_BACKEND", "embedded"),
        choices=sorted(BACKEND_LABELS),
    )
    parser.add_argument("--dsn", default=os.environ.get("VECGRES_SLT_DSN"))
    parser.add_argument(
        "--rewrite",
        action="store_true",
        help="replace expected results and error texts with what the backend returns",
    )
    parser.add_argument("--status", type=Path, help="write a markdown status report here")
    parser.add_argument(
        "--mark-xfail",
        action="store_true",
        help="vecgres backends: add '# status: xfail' to failing files, drop it from passing ones",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print every failure")
    args = parser.parse_args(argv)

    paths = args.files or discover()
    results: list[FileResult] = []
    files: dict[Path, TestFile] = {}
    for path in paths:
        tf = parse_file(path)
        files[path] = tf
        res = run_file(tf, args.backend, args.dsn)
        results.append(res)
        mark = "ok" if res.ok else "FAIL"
        print(
            f"{mark:4} {path}: {res.passed} passed, {res.failed} failed, {res.skipped} skipped"
            + (f" [xfail: {tf.xfail}]" if tf.xfail else "")
            + (f" [crashed: {res.crashed}]" if res.crashed else "")
        )
        shown = res.failures if args.verbose else res.failures[:3]
        for failure in shown:
            print(_indent(failure.format(path)))
        if args.rewrite:
            changed = rewrite_file(tf, res)
            print(f"     rewrote {changed} records")
        if args.mark_xfail and "vecgres" in BACKEND_LABELS[args.backend]:
            mark_xfail(tf, res)
    if args.status:
        args.status.write_text(status_markdown(results, files, args.backend) + "\n")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
