"""COPY: bulk load into a table and bulk export of a table or query.

``COPY t [(cols)] FROM 'file' | STDIN`` and ``COPY t [(cols)] | (query) TO 'file' |
STDOUT`` in PostgreSQL's text, CSV and binary formats, plus Parquet
(``FORMAT parquet``, files only). Rows go through the same conversion and
checks as INSERT (types and typmods, NOT NULL, unique keys, defaults for the
columns not listed) in batches, and land in the transaction's pending writes;
a failure anywhere loads nothing. STDIN/STDOUT hand a ``CopyRequest`` to the
front end, which moves the data.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from vecgres import errors
from vecgres.codec.copy import (
    BINARY_TRAILER,
    BinaryDecoder,
    CopyOptions,
    Decoder,
    Part,
    binary_header,
    encode_batch,
    encode_rows,
    header_line,
    make_decoder,
)
from vecgres.codec.copy_columns import ColumnBatch
from vecgres.codec.text import encode_text_column
from vecgres.result import ColumnInfo, CopyRequest, Result
from vecgres.sql.copy_input import text_column, value_column
from vecgres.sql.copy_stmt import CopyStmt, parse_copy
from vecgres.sql.copy_vectors import vector_text_array
from vecgres.sql.writes import SRC, _allocate, _checked_rows, _conversion, _default_sql

if TYPE_CHECKING:
    from vecgres.catalog.model import Column, Table
    from vecgres.engine import Session
    from vecgres.types import SqlType

log = logging.getLogger("vecgres.copy")

# rows converted and checked at a time; Python-decoded formats use smaller batches
ARROW_BATCH_ROWS = 262_144
TEXT_BATCH_ROWS = 50_000
READ_CHUNK = 1 << 20
PROGRESS_EVERY_S = 5.0

_FORMATS = ("text", "csv", "binary", "parquet")


def run_copy(session: Session, sql: str) -> Result:
    stmt = parse_copy(sql)
    if stmt.direction == "from":
        return _copy_from(session, stmt)
    return _copy_to(session, stmt)


# --- options ------------------------------------------------------------------------------


def _bool_option(name: str, value: object) -> bool:
    if value is None:
        return True
    text = str(value).lower()
    if text in ("true", "on", "1", "t", "yes", "y"):
        return True
    if text in ("false", "off", "0", "f", "no", "n"):
        return False
    if name == "header" and text == "match":
        raise errors.FeatureNotSupported("COPY HEADER MATCH is not supported")
    raise errors.InvalidParameterValue(f"{name} requires a Boolean value")


def _char_option(opts: dict[str, object], name: str) -> str | None:
    value = opts.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.SyntaxError_(f"{name} requires a string value")
    return value


def _options(stmt: CopyStmt, names: Sequence[str]) -> tuple[CopyOptions, set[str], set[str]]:
    """Check COPY's options as PostgreSQL's ProcessCopyOptions does.

    Returns the codec options and the FORCE_NOT_NULL / FORCE_NULL column names.
    """
    raw = dict(stmt.options)
    known = {
        "format",
        "header",
        "delimiter",
        "null",
        "quote",
        "escape",
        "force_quote",
        "force_not_null",
        "force_null",
        "encoding",
        "freeze",
    }
    for name in raw:
        if name not in known:
            raise errors.SyntaxError_(f'option "{name}" not recognized')
    fmt = str(raw.get("format") or "text").lower()
    if fmt not in _FORMATS:
        raise errors.InvalidParameterValue(f'COPY format "{fmt}" not recognized')
    csv = fmt == "csv"
    header = _bool_option("header", raw["header"]) if "header" in raw else False
    delimiter = _char_option(raw, "delimiter")
    null = _char_option(raw, "null")
    quote = _char_option(raw, "quote")
    escape = _char_option(raw, "escape")
    encoding = _char_option(raw, "encoding")
    if encoding is not None and encoding.lower().replace("-", "") not in ("utf8", "sqlascii"):
        raise errors.FeatureNotSupported(f'encoding "{encoding}" is not supported by COPY')
    if "freeze" in raw:
        _bool_option("freeze", raw["freeze"])
    if fmt in ("binary", "parquet"):
        label = fmt.upper()
        if delimiter is not None:
            raise errors.SyntaxError_(f"cannot specify DELIMITER in {label} mode")
        if null is not None:
            raise errors.SyntaxError_(f"cannot specify NULL in {label} mode")
        if header:
            raise errors.FeatureNotSupported(f"cannot specify HEADER in {label} mode")
    if delimiter is not None:
        if len(delimiter.encode()) != 1:
            raise errors.FeatureNotSupported("COPY delimiter must be a single one-byte character")
        if delimiter in "\r\n":
            raise errors.InvalidParameterValue(
                "COPY delimiter cannot be newline or carriage return"
            )
        if not csv and delimiter in "\\.abcdefghijklmnopqrstuvwxyz0123456789":
            raise errors.InvalidParameterValue(f'COPY delimiter cannot be "{delimiter}"')
    if null is not None and ("\r" in null or "\n" in null):
        raise errors.InvalidParameterValue(
            "COPY null representation cannot use newline or carriage return"
        )
    if quote is not None:
        if not csv:
            raise errors.FeatureNotSupported("COPY quote available only in CSV mode")
        if len(quote.encode()) != 1:
            raise errors.FeatureNotSupported("COPY quote must be a single one-byte character")
    if escape is not None:
        if not csv:
            raise errors.FeatureNotSupported("COPY escape available only in CSV mode")
        if len(escape.encode()) != 1:
            raise errors.FeatureNotSupported("COPY escape must be a single one-byte character")
    if csv and delimiter is not None and delimiter == (quote or '"'):
        raise errors.InvalidParameterValue("COPY delimiter and quote must be different")
    options = CopyOptions(
        format=fmt,
        delimiter=delimiter,
        null=null,
        header=header,
        quote=quote or '"',
        escape=escape,
    )
    if fmt in ("text", "csv") and options.delim in options.null_text:
        raise errors.InvalidParameterValue(
            "COPY delimiter must not appear in the NULL specification"
        )
    if csv and options.quote in options.null_text:
        raise errors.InvalidParameterValue(
            "CSV quote character must not appear in the NULL specification"
        )
    force_quote = raw.get("force_quote")
    forced: frozenset[int] = frozenset()
    if force_quote is not None:
        if not csv:
            raise errors.FeatureNotSupported("COPY force quote available only in CSV mode")
        if stmt.direction != "to":
            raise errors.FeatureNotSupported("COPY force quote only available using COPY TO")
        forced = frozenset(
            range(len(names)) if force_quote == "*" else _positions(force_quote, names, "QUOTE")
        )
    not_null: set[str] = set()
    force_null: set[str] = set()
    for key, label, into in (
        ("force_not_null", "not null", not_null),
        ("force_null", "null", force_null),
    ):
        value = raw.get(key)
        if value is None:
            continue
        if not csv:
            raise errors.FeatureNotSupported(f"COPY force {label} available only in CSV mode")
        if stmt.direction != "from":
            raise errors.FeatureNotSupported(f"COPY force {label} only available using COPY FROM")
        into.update(names[i] for i in _positions(value, names, label.upper()))
    if forced:
        options = dataclasses.replace(options, force_quote=forced)
    return options, not_null, force_null


def _positions(value: object, names: Sequence[str], what: str) -> list[int]:
    cols = value if isinstance(value, list) else [value]
    out = []
    for col in cols:
        if col not in names:
            raise errors.InvalidColumnReference(
                f'FORCE_{what.replace(" ", "_")} column "{col}" not referenced by COPY'
            )
        out.append(list(names).index(str(col)))
    return out


# --- tables and files ---------------------------------------------------------------------


def _table(session: Session, stmt: CopyStmt) -> Table:
    assert stmt.table is not None
    return session._catalog().resolve_table(stmt.table, stmt.schema, session.settings.search_path())


def _columns(table: Table, names: list[str] | None) -> list[Column]:
    if not names:
        return list(table.columns)
    cols: list[Column] = []
    for name in names:
        col = table.column(name)
        if col is None:
            raise errors.UndefinedColumn(
                f'column "{name}" of relation "{table.name}" does not exist'
            )
        if col in cols:
            raise errors.DuplicateColumn(f'column "{name}" specified more than once')
        cols.append(col)
    return cols


def _path(session: Session, target: str, writing: bool) -> Path:
    path = Path(target)
    if not path.is_absolute():
        if writing:
            raise errors.VecgresError(
                "relative path not allowed for COPY to file", sqlstate="42602"
            )
        # PostgreSQL reads a relative name from the data directory
        path = session.db.path / path
    return path


def _open(path: Path, mode: str) -> IO[bytes]:
    reading = "r" in mode
    try:
        return open(path, mode)
    except FileNotFoundError:
        raise errors.UndefinedFile(
            f'could not open file "{path}" for {"reading" if reading else "writing"}: '
            "No such file or directory"
        ) from None
    except IsADirectoryError:
        raise errors.VecgresError(f'"{path}" is a directory', sqlstate="42809") from None
    except PermissionError:
        raise errors.InsufficientPrivilege(
            f'could not open file "{path}" for {"reading" if reading else "writing"}: '
            "Permission denied"
        ) from None
    except OSError as exc:
        raise errors.IoError(
            f'could not open file "{path}" for {"reading" if reading else "writing"}: '
            f"{exc.strerror}"
        ) from None


# --- COPY FROM ----------------------------------------------------------------------------


class Loader:
    """Rows of one COPY FROM: decode, convert and check in batches, then buffer them."""

    def __init__(
        self,
        session: Session,
        table: Table,
        columns: list[Column],
        options: CopyOptions,
        not_null: set[str],
        force_null: set[str],
    ) -> None:
        self.session = session
        self.table = table
        self.columns = columns
        self.options = options
        self.types: list[SqlType] = [c.type for c in columns]
        self.decoder: Decoder | None = (
            make_decoder(options, self.types, [c.name for c in columns])
            if options.format != "parquet"
            else None
        )
        self.not_null = [c.name in not_null for c in columns]
        self.force_null = [c.name in force_null for c in columns]
        self.rows: list[list[object]] = []
        # rows decoded a chunk at a time, as columns (never at once with ``rows``)
        self.batches: list[ColumnBatch] = []
        self.batched = 0
        self.unchecked: list[pa.Table] = []
        self.count = 0
        self.started = time.monotonic()
        self.last_report = self.started

    def feed(self, chunk: bytes) -> None:
        assert self.decoder is not None
        self.session._check_cancel()
        self._take(self.decoder.feed_parts(chunk))

    def _take(self, parts: list[Part]) -> None:
        for part in parts:
            # rows stay in data order: what is pending of the other kind goes first
            if isinstance(part, ColumnBatch):
                self._flush_rows()
                if self.options.format == "binary":
                    # already megabytes of rows: loaded as they are (no concatenation)
                    self._flush_batches()
                    self.load(_table_of(part.columns))
                    continue
                # converted chunk by chunk: the vector parse's passes stay in cache
                part = ColumnBatch(self._text_arrays(part.columns), part.num_rows)
                self.batches.append(part)
                self.batched += part.num_rows
                if self.batched >= TEXT_BATCH_ROWS:
                    self._flush_batches()
            else:
                self._flush_batches()
                self.rows.extend(part)
                if len(self.rows) >= TEXT_BATCH_ROWS:
                    self._flush_rows()

    def _buffer(self, converted: pa.Table) -> None:
        assert self.session.txn is not None
        pending = self.session.txn.writes(self.table.oid)
        pending.inserts.append(_allocate(self.session, self.table, converted))

    def finish(self) -> int:
        """End of data: the last rows, the key check, and the rows into the transaction."""
        if isinstance(self.decoder, BinaryDecoder):
            self._take(self.decoder.finish_parts())
        elif self.decoder is not None:
            rows = self.decoder.finish()
            if rows:
                self._flush_batches()
                self.rows.extend(rows)
        if self.decoder is not None:
            self._flush_batches()
            self._flush_rows()
        if self.unchecked:
            batches, self.unchecked = self.unchecked, []
            assert self.session.txn is not None
            pending = self.session.txn.writes(self.table.oid)
            self.session.db.keys.check(
                self.table, pa.concat_tables(batches), pending, np.empty(0, dtype=np.int64)
            )
            for converted in batches:
                self._buffer(converted)
        if self.count >= TEXT_BATCH_ROWS:
            log.info(
                'COPY into "%s": %d rows in %.1f s',
                self.table.name,
                self.count,
                time.monotonic() - self.started,
            )
        return self.count

    def _flush_rows(self) -> None:
        if not self.rows:
            return
        rows, self.rows = self.rows, []
        cols = list(zip(*rows, strict=True))
        if self.options.format == "binary":
            arrays = [value_column(vals, t) for vals, t in zip(cols, self.types, strict=True)]
        else:
            arrays = self._text_arrays([pa.array(vals, pa.string()) for vals in cols])
        self.load(pa.Table.from_arrays(arrays, names=[f"s{i}" for i in range(len(arrays))]))

    def _flush_batches(self) -> None:
        if not self.batches:
            return
        batches, self.batches, self.batched = self.batches, [], 0
        arrays = [
            pa.concat_arrays([b.columns[i] for b in batches]) for i in range(len(self.columns))
        ]
        self.load(_table_of(arrays))

    def _text_arrays(self, columns: list[pa.Array]) -> list[pa.Array]:
        """Text/CSV fields (strings, NULL for the null marker) -> the conversion's input."""
        null = self.options.null_text
        arrays = []
        for i, (values, t) in enumerate(zip(columns, self.types, strict=True)):
            if self.not_null[i]:
                values = pc.fill_null(values, null)
            if self.force_null[i]:
                values = pc.if_else(pc.equal(values, null), pa.scalar(None, pa.string()), values)
            if t.name == "vector" and not t.is_array:
                arrays.append(vector_text_array(values, t.typmod))  # in bulk, not per row
            elif t.is_array or t.name == "bytea":
                arrays.append(text_column(values.to_pylist(), t))
            else:
                arrays.append(values)
        return arrays

    def load(self, source: pa.Table) -> None:
        """Convert, check and buffer one batch of source rows (columns in COPY's order)."""
        session = self.session
        session._check_cancel()
        if source.num_columns != len(self.columns):
            raise errors.BadCopyFileFormat(
                f"file has {source.num_columns} columns, expected {len(self.columns)}"
            )
        source = source.rename_columns([f"s{i}" for i in range(source.num_columns)])
        converted = _convert(session, self.table, self.columns, source)
        if self.table.unique_indexes:
            # keys are checked once at the end: per batch would rescan the pending rows
            self.unchecked.append(converted)
        else:
            self._buffer(converted)
        self.count += converted.num_rows
        now = time.monotonic()
        if now - self.last_report >= PROGRESS_EVERY_S:
            self.last_report = now
            elapsed = now - self.started
            log.info(
                'COPY into "%s": %d rows so far (%.0f rows/s)',
                self.table.name,
                self.count,
                self.count / elapsed if elapsed else 0.0,
            )


def _table_of(arrays: list[pa.Array]) -> pa.Table:
    return pa.Table.from_arrays(arrays, names=[f"s{i}" for i in range(len(arrays))])


def _convert(session: Session, table: Table, columns: list[Column], source: pa.Table) -> pa.Table:
    """Source rows -> every column of ``table`` in its storage type, as INSERT converts them.

    Columns that already arrive in their storage layout (Parquet/Arrow input:
    integers, floats, checked vectors) pass through without a trip through DuckDB.
    """

    source = _prepare_vectors(columns, source)
    provided = {col.name: index for index, col in enumerate(columns)}
    direct: dict[str, pa.ChunkedArray] = {}
    exprs: list[str] = []
    types: list[str] = []
    if not all(_passes(c, source.column(i).type) for i, c in enumerate(columns)):
        duck = session.duck
        duck.con.register(SRC, source)
        try:
            types = [str(t) for t in duck.con.sql(f"SELECT * FROM {SRC} LIMIT 0").types]
        finally:
            duck.con.unregister(SRC)
    for col in table.columns:
        index = provided.get(col.name)
        if index is not None and _passes(col, source.column(index).type):
            direct[col.name] = source.column(index)
        elif index is not None:
            src = _quote(source.schema.names[index])
            exprs.append(f"{_conversion(col, src, types[index], table)} AS {_quote(col.name)}")
        else:
            exprs.append(f"{_default_sql(session, col)} AS {_quote(col.name)}")
    computed: pa.Table | None = None
    if exprs:
        duck = session.duck
        duck.con.register(SRC, source)
        try:
            computed = duck.arrow(f"SELECT {', '.join(exprs)} FROM {SRC}")
        finally:
            duck.con.unregister(SRC)
    arrays = [
        direct[col.name] if col.name in direct else computed.column(col.name)  # type: ignore[union-attr]
        for col in table.columns
    ]
    out = pa.Table.from_arrays(arrays, names=[col.name for col in table.columns])
    return _checked_rows(table, out)


def _passes(col: Column, arrow: pa.DataType) -> bool:
    """Whether a source column is already valid storage for ``col`` (no cast, no typmod)."""
    from vecgres.codec.arrow import arrow_type

    t = col.type
    # vectors were checked by _prepare_vectors; other typmods (varchar(n)) need the cast
    return arrow == arrow_type(t) and (t.typmod < 0 or (t.name == "vector" and not t.is_array))


def _prepare_vectors(columns: list[Column], source: pa.Table) -> pa.Table:
    """Vector columns that arrive as Arrow lists of numbers are checked here, in bulk.

    INSERT's conversion would round-trip them through a DuckDB function; for a
    bulk load the same checks (dimensions, NaN/Infinity) run on numpy views and
    the result is already in the storage layout.
    """
    from vecgres.codec.arrow import arrow_type

    for index, col in enumerate(columns):
        t = col.type
        arr = source.column(index)
        if t.name != "vector" or t.is_array:
            continue
        if not (pa.types.is_list(arr.type) or pa.types.is_fixed_size_list(arr.type)):
            continue
        vt = arr.type.value_type
        if not (pa.types.is_floating(vt) or pa.types.is_integer(vt)):
            continue
        # combine_chunks copies even a single chunk
        out = _vector_array(arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks(), t.typmod)
        if out is None:
            continue
        if t.typmod > 0 and out.type != arrow_type(t):
            out = out.cast(arrow_type(t))
        source = source.set_column(index, source.schema.names[index], out)
    return source


def _vector_array(arr: pa.Array, dims: int) -> pa.Array | None:
    """A list array of numbers as ``list<float32>`` after pgvector's input checks.

    None when the rows have mixed dimensions and no typmod (the row-wise path decides).
    """
    valid = (
        np.ones(len(arr), dtype=bool)
        if arr.null_count == 0
        else arr.is_valid().to_numpy(zero_copy_only=False)
    )
    if isinstance(arr, pa.FixedSizeListArray):
        size = arr.type.list_size
    else:
        live = arr.value_lengths().to_numpy(zero_copy_only=False)[valid]
        if live.size and live.min() != live.max():
            if dims <= 0:
                return None
            bad = live[live != dims]
            raise errors.DataException(f"expected {dims} dimensions, not {int(bad[0])}")
        size = int(live[0]) if live.size else max(dims, 1)
    if valid.any():
        if dims > 0 and size != dims:
            raise errors.DataException(f"expected {dims} dimensions, not {size}")
        if size < 1:
            raise errors.DataException("vector must have at least 1 dimension")
    # flatten() skips null rows and honours the array's offset
    values = arr.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    if values.size and not np.isfinite(values).all():
        if np.isnan(values).any():
            raise errors.DataException("NaN not allowed in vector")
        raise errors.DataException("infinite value not allowed in vector")
    if dims > 0 and arr.null_count == 0:
        # vector(n)'s storage layout, built directly (a list -> fixed-size cast copies)
        return pa.FixedSizeListArray.from_arrays(pa.array(values), dims)
    offsets = np.zeros(len(arr) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum(np.where(valid, size, 0))
    mask = None if arr.null_count == 0 else pa.array(~valid)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(values), mask=mask)


def _copy_from(session: Session, stmt: CopyStmt) -> Result:
    table = _table(session, stmt)
    if table.kind != "r":
        raise errors.WrongObjectType(f'cannot copy to view "{table.name}"')
    columns = _columns(table, stmt.columns)
    options, not_null, force_null = _options(stmt, [c.name for c in columns])
    if stmt.where is not None:
        raise errors.FeatureNotSupported("COPY FROM with a WHERE clause is not supported")
    if options.format == "parquet" and stmt.is_stdio:
        raise errors.FeatureNotSupported("COPY FROM STDIN does not support FORMAT parquet")
    session.lock_table(table)
    loader = Loader(session, table, columns, options, not_null, force_null)
    if stmt.is_stdio:

        def finish() -> str:
            return f"COPY {loader.finish()}"

        return Result(
            None,
            copy=CopyRequest(
                "in",
                options.format,
                len(columns),
                write=loader.feed,
                finish=finish,
                fail=lambda message: None,
            ),
        )
    path = _path(session, stmt.target, writing=False)
    if options.format == "parquet":
        _read_parquet(path, loader)
    else:
        with _open(path, "rb") as f:
            while chunk := f.read(READ_CHUNK):
                loader.feed(chunk)
    return Result(None, None, f"COPY {loader.finish()}")


def _read_parquet(path: Path, loader: Loader) -> None:
    if not path.exists():
        _open(path, "rb").close()
    try:
        reader = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise errors.BadCopyFileFormat(f'could not read Parquet file "{path}": {exc}') from None
    names = reader.schema_arrow.names
    wanted = [c.name for c in loader.columns]
    # columns are matched by name when the file has them all, else by position
    by_name = all(n in names for n in wanted)
    if not by_name and len(names) != len(wanted):
        raise errors.BadCopyFileFormat(
            f"Parquet file has {len(names)} columns, expected {len(wanted)}"
        )
    try:
        for batch in reader.iter_batches(
            batch_size=ARROW_BATCH_ROWS, columns=wanted if by_name else None
        ):
            loader.load(pa.Table.from_batches([batch]))
    except (pa.ArrowInvalid, OSError) as exc:
        raise errors.BadCopyFileFormat(f'could not read Parquet file "{path}": {exc}') from None


def end_with_copy(session: Session, copy: CopyRequest, autocommit: bool, mark: Any) -> None:
    """COPY FROM STDIN outlives ``execute``: it commits or fails when the data has ended.

    The engine calls this instead of ending the statement's transaction; the
    front end's ``finish``/``fail`` (and a failing ``write``) end it here.
    """
    txn = session.txn
    assert txn is not None
    assert copy.write is not None
    assert copy.finish is not None
    write, finish = copy.write, copy.finish
    state = {"open": True}

    def abort() -> None:
        if not state["open"]:
            return
        state["open"] = False
        if autocommit:
            session._end_transaction(commit=False)
        else:
            txn.rollback_to(mark)
            txn.failed = True

    def guarded_write(chunk: bytes) -> None:
        try:
            write(chunk)
        except BaseException as exc:
            abort()
            raise user_error(exc) from exc

    def guarded_finish() -> str:
        try:
            tag = finish()
        except BaseException as exc:
            abort()
            raise user_error(exc) from exc
        state["open"] = False
        if autocommit:
            session._end_transaction(commit=True)
        return tag

    def guarded_fail(message: str) -> None:
        abort()

    copy.write, copy.finish, copy.fail = guarded_write, guarded_finish, guarded_fail


def user_error(exc: BaseException) -> BaseException:
    if isinstance(exc, errors.VecgresError | KeyboardInterrupt | SystemExit):
        return exc
    return errors.InternalError(f"internal error: {type(exc).__name__}: {exc}")


# --- COPY TO ------------------------------------------------------------------------------


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source_sql(session: Session, stmt: CopyStmt) -> str:
    if stmt.query is not None:
        from sqlglot import exp

        ast = session._parse_one(stmt.query)
        if isinstance(ast, exp.Values) and ast.expressions:
            # a bare VALUES list: PostgreSQL names its columns column1, column2, ...
            names = ", ".join(f"column{i + 1}" for i in range(len(ast.expressions[0].expressions)))
            return f"SELECT * FROM ({stmt.query}) AS v({names})"
        return stmt.query
    table = _table(session, stmt)
    if table.kind != "r":
        raise errors.WrongObjectType(
            f'cannot copy from view "{table.name}"',
            hint="Try the COPY (SELECT ...) TO variant.",
        )
    cols = _columns(table, stmt.columns)
    return (
        f"SELECT {', '.join(_quote(c.name) for c in cols)} "
        f"FROM {_quote(table.schema)}.{_quote(table.name)}"
    )


def _copy_to(session: Session, stmt: CopyStmt) -> Result:
    sql = _source_sql(session, stmt)
    prepared = session.prepare(sql)
    if prepared.kind != "query":
        raise errors.FeatureNotSupported("COPY query must be a SELECT or VALUES query")
    if prepared.param_types:
        raise errors.VecgresError("there is no parameter $1", sqlstate="42P02")
    names = [c.name for c in prepared.columns or []]
    options, _, _ = _options(stmt, names)
    if options.format == "parquet" and stmt.is_stdio:
        raise errors.FeatureNotSupported("COPY TO STDOUT does not support FORMAT parquet")
    path = None if stmt.is_stdio else _path(session, stmt.target, writing=True)
    result = session._run_query(prepared, ())
    columns = result.columns or []
    types = [c.type for c in columns]
    counter = {"rows": 0}

    def messages() -> Iterator[bytes]:
        """One CopyData per row, as PostgreSQL sends them (binary: header with the first)."""
        prefix = b""
        if options.format == "binary":
            prefix = binary_header()
        elif options.header:
            yield header_line([c.name for c in columns], options)
        for batch in result.batches():
            counter["rows"] += batch.num_rows
            for row in encode_rows(batch, types, options):
                yield prefix + row
                prefix = b""
        if options.format == "binary":
            yield prefix + BINARY_TRAILER

    def chunks() -> Iterator[bytes]:
        """File output: whole batches at a time."""
        if options.format == "binary":
            yield binary_header()
        elif options.header:
            yield header_line([c.name for c in columns], options)
        for batch in result.batches():
            counter["rows"] += batch.num_rows
            if batch.num_rows:
                yield encode_batch(batch, types, options)
        if options.format == "binary":
            yield BINARY_TRAILER

    if path is None:
        return Result(
            None,
            copy=CopyRequest(
                "out",
                options.format,
                len(columns),
                chunks=messages,
                tag=lambda: f"COPY {counter['rows']}",
            ),
        )
    try:
        if options.format == "parquet":
            _write_parquet(path, result, counter)
        else:
            with _open(path, "wb") as f:
                for chunk in chunks():
                    f.write(chunk)
    finally:
        result.close()
    return Result(None, None, f"COPY {counter['rows']}")


def _parquet_safe(data: pa.Table, columns: Sequence[ColumnInfo]) -> pa.Table:
    """Parquet has no month-day-nano interval: intervals go out as PostgreSQL's text."""
    for index, col in enumerate(columns):
        if col.type.name == "interval" or pa.types.is_interval(data.column(index).type):
            cells = encode_text_column(data.column(index).combine_chunks(), col.type)
            text = pa.array([None if c is None else c.decode() for c in cells], pa.string())
            data = data.set_column(index, col.name, text)
    return data


def _write_parquet(path: Path, result: Result, counter: dict[str, int]) -> None:
    from vecgres.codec.arrow import arrow_type

    columns = result.columns or []
    schema = pa.schema(
        [
            pa.field(c.name, pa.string() if c.type.name == "interval" else arrow_type(c.type))
            for c in columns
        ]
    )
    tmp = path.with_name(path.name + ".part")
    try:
        with _open(tmp, "wb") as f:
            writer: pq.ParquetWriter | None = None
            for batch in result.batches():
                counter["rows"] += batch.num_rows
                data = _parquet_safe(
                    pa.Table.from_batches([batch]).rename_columns(schema.names), columns
                )
                # else DuckDB's own layout for the type is still valid Parquet
                with contextlib.suppress(pa.ArrowInvalid, pa.ArrowNotImplementedError):
                    data = data.cast(schema)
                if writer is None:
                    written = data.schema
                    writer = pq.ParquetWriter(f, written)
                writer.write_table(data.cast(written))
            if writer is None:
                writer = pq.ParquetWriter(f, schema)
            writer.close()
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
