"""The per-session DuckDB connection: settings, functions, and running SQL on Arrow views."""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any, Final

import duckdb
import pyarrow as pa
from duckdb.func import SPECIAL

from vecgres import errors

# relations a session keeps registered between statements (one per table read recently)
_STICKY_MAX = 16
_MARK = re.compile("\x1eVGERR(.*?)\x1e", re.S)


def error_payload(err: errors.VecgresError) -> str:
    """How a Python function run by DuckDB smuggles a VecgresError through DuckDB's error text."""
    body = {"sqlstate": err.code, "message": err.message, "detail": err.detail, "hint": err.hint}
    return "\x1eVGERR" + json.dumps(body) + "\x1e"


def _sql_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def raise_sql(err: errors.VecgresError) -> str:
    """A DuckDB expression that raises ``err`` when evaluated."""
    return f"error({_sql_quote(error_payload(err))})"


def translate_error(exc: Exception, sql: str = "") -> errors.VecgresError:
    """A DuckDB exception as the PostgreSQL error a client expects (``sql``: what ran)."""
    text = str(exc)
    m = _MARK.search(text)
    if m:
        body = json.loads(m.group(1))
        return errors.VecgresError(
            body["message"],
            detail=body.get("detail"),
            hint=body.get("hint"),
            sqlstate=body["sqlstate"],
        )
    return _without_internals(_map_duckdb_message(text, exc, sql))


_INTERNAL_NAME = re.compile(r"\bpgv_(?:halfvec_|sparsevec_)?(\w+)", re.I)
_STORED_VECTOR_TYPE = re.compile(r"\bFLOAT\[\d+\]", re.I)


def _without_internals(err: errors.VecgresError) -> errors.VecgresError:
    """A DuckDB message passed on as it is must not name vecgres's internal functions
    (``pgv_subvector``) or a vector's stored form (``FLOAT[3]``): pgvector's names."""
    message = _STORED_VECTOR_TYPE.sub("vector", _INTERNAL_NAME.sub(r"\1", err.message))
    if message != err.message:
        err.message = message
        err.args = (message, *err.args[1:])
    return err


_TYPE_NAMES = {
    "INT16": "smallint",
    "INT32": "integer",
    "INT64": "bigint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "DOUBLE": "double precision",
    "FLOAT": "real",
    "BOOL": "boolean",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "UUID": "uuid",
    "JSON": "json",
    "INTERVAL": "interval",
    "TIME": "time",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "BLOB": "bytea",
}


def _pg_type_name(duck: str) -> str:
    duck = duck.strip().upper()
    if duck.startswith("DECIMAL"):
        return "numeric"
    return _TYPE_NAMES.get(duck, duck.lower())


# PostgreSQL's integer input syntax (spaces, sign, ASCII digits)
_INT_TEXT = re.compile(r"[ \t\n\r\f\v]*[+-]?[0-9]+[ \t\n\r\f\v]*")
_DUCK_PHYSICAL = {"INT16": "smallint", "INT32": "integer", "INT64": "bigint", "INT128": "numeric"}


def _duck_arg_type(duck: str) -> str:
    """A DuckDB argument type (as binder errors print them) in PostgreSQL's words."""
    duck = duck.strip().upper()
    if duck == "INTEGER_LITERAL":
        return "integer"
    if duck == "STRING_LITERAL":
        return "unknown"
    if duck == "VARCHAR":
        return "text"
    if duck.endswith("[]"):
        return _duck_arg_type(duck[:-2]) + "[]"
    return _pg_type_name(duck)


def _pg_wording(text: str, body: str) -> errors.VecgresError | None:
    """DuckDB messages that have a PostgreSQL counterpart with a fixed wording."""
    m = re.search(r"out of range for the destination type (\w+)", text)
    if m:
        target = _DUCK_PHYSICAL.get(m.group(1), _pg_type_name(m.group(1)))
        return errors.NumericValueOutOfRange(f"{target} out of range")
    if re.search(r"to type DECIMAL\(\d+,\d+\) failed: value is out of range", text):
        return errors.NumericValueOutOfRange("numeric field overflow")
    m = re.search(r"Overflow in \w+ of (INT16|INT32|INT64|INT128)", text)
    if m:
        return errors.NumericValueOutOfRange(f"{_DUCK_PHYSICAL[m.group(1)]} out of range")
    m = re.search(r"(date|timestamp) field value out of range: (\"[^\"]*\")", text)
    if m:
        return errors.VecgresError(
            f"date/time field value out of range: {m.group(2)}", sqlstate="22008"
        )
    m = re.search(r"invalid (date|timestamp) field format: (\"[^\"]*\")", text)
    if m:
        kind = "date" if m.group(1) == "date" else "timestamp"
        return errors.InvalidDatetimeFormat(f"invalid input syntax for type {kind}: {m.group(2)}")
    m = re.search(r"Unimplemented type for cast \((\S+) -> ([^)]+)\)", text)
    if m:
        source, target = _pgvector_call("", [_duck_arg_type(m.group(i)) for i in (1, 2)])[1]
        return errors.CannotCoerce(f"cannot cast type {source} to {target}")
    m = re.search(r"Cannot mix values of type (\S+) and (\S+) in (CASE|COALESCE) ", text)
    if m:
        first, second = _pgvector_call("", [_duck_arg_type(m.group(i)) for i in (1, 2)])[1]
        return errors.DatatypeMismatch(f"{m.group(3)} types {first} and {second} cannot be matched")
    if "Malformed JSON" in text:
        detail = re.search(r"Malformed JSON at byte \d+ of input: ([^.]*)", text)
        return errors.InvalidTextRepresentation(
            "invalid input syntax for type json",
            detail=detail.group(1).capitalize() + "." if detail else None,
        )
    if "WHERE clause cannot contain aggregates" in text:
        return errors.GroupingError("aggregate functions are not allowed in WHERE")
    if "WHERE clause cannot contain window functions" in text:
        return errors.VecgresError("window functions are not allowed in WHERE", sqlstate="42P20")
    if "Set operations can only apply to expressions with the same number" in text:
        return errors.SyntaxError_("each UNION query must have the same number of columns")
    if re.search(r"Subquery returns \d+ columns - expected 1", text):
        return errors.SyntaxError_("subquery must return only one column")
    if "LIMIT/OFFSET cannot be negative" in text:
        return errors.VecgresError("LIMIT must not be negative", sqlstate="2201W")
    m = re.search(r"No function matches the given name and argument types '(.+?)\((.*?)\)'", text)
    if m:
        name, args = m.group(1), [a for a in m.group(2).split(", ") if a]
        types = [_duck_arg_type(a) for a in args]
        name, types = _pgvector_call(name, types)
        hint = (
            "No {} matches the given name and argument types. "
            "You might need to add explicit type casts."
        )
        if not re.match(r"^\w+$", name):
            if len(types) == 2:
                shown = f"{types[0]} {name} {types[1]}"
            else:
                shown = f"{name} {types[0]}" if types else name
            return errors.UndefinedFunction(
                f"operator does not exist: {shown}", hint=hint.format("operator")
            )
        return errors.UndefinedFunction(
            f"function {name}({', '.join(types)}) does not exist", hint=hint.format("function")
        )
    m = re.search(r"Cannot deduce template type '\w+' in function: '([^(]+)\(", text)
    if m and not re.match(r"^\w+$", m.group(1)):
        found = re.findall(r"inferred to be: .*?'(\w+)'.*?'(\w+)'", text.replace("\n", " "))
        if found:
            left, right = (_duck_arg_type(x) for x in found[0])
            return errors.UndefinedFunction(
                f"operator does not exist: {left}[] {m.group(1)} {right}[]",
                hint="No operator matches the given name and argument types. "
                "You might need to add explicit type casts.",
            )
    return None


_STORED_VECTOR = re.compile(r"^float\[\d*\]$")


def _pgvector_call(name: str, types: list[str]) -> tuple[str, list[str]]:
    """An internal ``pgv_*`` function and vector/halfvec's stored form (``float[3]``)
    as pgvector's function and type names; the binder reports most of these itself."""
    kind = "vector"
    if name.startswith("pgv_"):
        name = name[len("pgv_") :]
        for prefix in ("halfvec_", "sparsevec_"):
            if name.startswith(prefix) and name != "sparsevec_to_vector":
                kind, name = prefix[:-1], name[len(prefix) :]
                break
    # a fixed-size float list is how vector(n)/halfvec(n) are stored, never a real[]
    return name, [kind if _STORED_VECTOR.match(t) and t != "float[]" else t for t in types]


# the binder's record of call argument types (sql/calltypes.py), a leading SQL comment
CALLS_MARK = "vg:calls "


def noted_call_types(sql: str, name: str) -> list[str] | None:
    """The argument types ``sql/calltypes.py`` recorded for ``name`` in ``sql``."""
    m = re.search(r"/\*\s*" + re.escape(CALLS_MARK) + r"(.*?)\s*\*/", sql)
    if m is None:
        return None
    for sig in m.group(1).split(";"):
        called, _, args = sig.partition("(")
        if called == name.lower():
            return [a for a in args.rstrip(")").split(", ") if a]
    return None


def _call_arg_types(sql: str, name: str) -> list[str]:
    """The argument types of the first call of ``name`` in ``sql``, as far as literals tell."""
    from sqlglot import exp, parse_one
    from sqlglot.errors import SqlglotError

    noted = noted_call_types(sql, name)
    if noted is not None:
        return noted
    try:
        tree = parse_one(sql, dialect="duckdb")
    except SqlglotError:
        return []
    for call in tree.find_all(exp.Anonymous):
        if call.name.lower() != name.lower():
            continue
        out = []
        for arg in call.expressions:
            if isinstance(arg, exp.Literal) and arg.is_string:
                out.append("unknown")
            elif isinstance(arg, exp.Literal):
                out.append("integer" if arg.this.isdigit() and int(arg.this) < 2**31 else "numeric")
            elif isinstance(arg, exp.Boolean):
                out.append("boolean")
            elif isinstance(arg, exp.Cast):
                out.append(_duck_arg_type(arg.to.sql(dialect="duckdb")))
            else:
                return []  # types of other expressions are not known here
        return out
    return []


def _map_duckdb_message(text: str, exc: Exception, sql: str) -> errors.VecgresError:
    first = text.split("\n")[0]
    body = first.split(": ", 1)[1] if ": " in first else first
    mapped = _pg_wording(text, body)
    if mapped is not None:
        return mapped
    m = re.search(
        r"Could not convert string '(.*?)' to (\w+(?: WITH TIME ZONE)?)", text
    ) or re.search(r'Could not convert string "(.*?)" to (\w+)', text)
    if m:
        name = _pg_type_name(m.group(2))
        if name in ("smallint", "integer", "bigint") and _INT_TEXT.fullmatch(m.group(1)):
            # well-formed digits that do not fit: PostgreSQL's int2in/int4in/int8in say so
            return errors.NumericValueOutOfRange(
                f'value "{m.group(1)}" is out of range for type {name}'
            )
        return errors.InvalidTextRepresentation(
            f'invalid input syntax for type {name}: "{m.group(1)}"'
        )
    m = re.search(r"(?:Type|Cast) (\w+) with value (\S+) can't be cast .*? to (\w+)", text)
    if m or ("out of range" in text.lower() and "Conversion Error" in text):
        target = _DUCK_PHYSICAL.get(m.group(3), _pg_type_name(m.group(3))) if m else "integer"
        return errors.NumericValueOutOfRange(f"{target} out of range")
    if "Division by zero" in text or "division by zero" in text:
        return errors.DivisionByZero("division by zero")
    if "Overflow in" in text or ("out of range" in text and "Out of Range" in text):
        return errors.NumericValueOutOfRange(body.strip())
    m = re.search(r"Table with name (\S+) does not exist", text)
    if m:
        return errors.UndefinedTable(f'relation "{m.group(1)}" does not exist')
    m = re.search(r'Referenced column "?([^"\s]+)"? not found', text)
    if m:
        return errors.UndefinedColumn(f'column "{m.group(1)}" does not exist')
    m = re.search(r"Scalar Function with name (\w+) does not exist", text) or re.search(
        r"Function with name (\w+) does not exist", text
    )
    if m:
        return errors.UndefinedFunction(
            f"function {m.group(1)}({', '.join(_call_arg_types(sql, m.group(1)))}) does not exist",
            hint="No function matches the given name and argument "
            "types. You might need to add explicit type casts.",
        )
    if "No function matches" in text:
        fn = re.search(r"'(\w+)\(", text)
        name = fn.group(1) if fn else "function"
        return errors.UndefinedFunction(
            f"function {name} does not exist",
            hint="No function matches the given name and argument "
            "types. You might need to add explicit type casts.",
        )
    if "must appear in the GROUP BY clause" in text:
        col = re.search(r'column "?(\w+)"?', text)
        shown = col.group(1) if col else "?"
        # PostgreSQL names the column with its range variable, which only the SQL tells
        qualified = re.search(r"\b(\w+)\.\"?" + re.escape(shown) + r"\b", sql) if col else None
        if qualified:
            shown = f"{qualified.group(1)}.{shown}"
        return errors.GroupingError(
            f'column "{shown}" must appear in the GROUP BY clause '
            "or be used in an aggregate function"
        )
    if "Parser Error" in text:
        return errors.SyntaxError_(body.strip())
    if "Conversion Error" in text:
        return errors.InvalidTextRepresentation(body.strip())
    if "More than one row returned by a subquery" in text:
        return errors.CardinalityViolation(
            "more than one row returned by a subquery used as an expression"
        )
    if "Binder Error" in text:
        return errors.DatatypeMismatch(body.strip())
    if "Not implemented" in text:
        return errors.FeatureNotSupported(body.strip())
    if "Out of Memory" in text:
        return errors.OutOfMemory("out of memory", detail=body.strip())
    if "INTERRUPT" in text.upper() or "Interrupted" in text:
        return errors.QueryCanceled("canceling statement due to user request")
    return errors.DataException(body.strip() or type(exc).__name__)


class DuckSession:
    """One DuckDB connection per session, configured for PostgreSQL's semantics."""

    def __init__(self, *, threads: int = 2, memory_limit_bytes: int | None = None) -> None:
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET integer_division = true")
        self.con.execute("SET default_null_order = 'nulls_last_on_asc_first_on_desc'")
        self.con.execute(f"SET threads = {threads}")
        self.con.execute("SET TimeZone = 'UTC'")
        if memory_limit_bytes:
            self.con.execute(f"SET memory_limit = '{memory_limit_bytes // (1024 * 1024)}MB'")
        self._registered: set[str] = set()
        # relations kept across statements: name -> (key, masked); see register()
        self._sticky: OrderedDict[str, tuple[tuple[object, ...], bool]] = OrderedDict()
        self.cancel_message = "canceling statement due to user request"
        self._open: _Stream | None = None
        self._lock = threading.RLock()
        from vecgres.executor.udfs import register_vector_udfs

        register_vector_udfs(self.con)
        from vecgres.executor.jsonfuncs import register as register_json

        register_json(self.con)
        from vecgres.executor.numeric import register as register_numeric

        register_numeric(self.con)

    def function(
        self,
        name: str,
        fn: Callable[..., Any],
        params: list[Any],
        ret: Any,
        *,
        side_effects: bool = False,
    ) -> None:
        """Register a scalar Python function (a session function such as nextval)."""
        self.con.create_function(
            name,
            fn,
            params,
            ret,
            null_handling=SPECIAL,
            exception_handling=duckdb.PythonExceptionHandling.DEFAULT,
            side_effects=side_effects,
        )

    def register(
        self,
        name: str,
        table: pa.Table,
        masked: bool,
        key: tuple[object, ...] | None = None,
        convert: dict[str, str] | None = None,
    ) -> None:
        """Expose ``table`` to SQL as ``name`` until the next ``clear()``.

        ``convert`` maps stored columns to the function giving their DuckDB form; a
        view applies it, so only the columns a query reads are converted. With a
        ``key`` the relation outlives ``clear()`` and ``is_current(name, key)`` lets
        the next statement reuse it instead of registering again (registration and
        teardown cost more than a point query).
        """
        self._detach_open()  # DuckDB refuses to register while a result is open
        if name in self._sticky:
            self._forget(name)
        viewed = masked or bool(convert)
        names = [name + "__raw", "view:" + name] if viewed else [name]
        if viewed:
            raw = name + "__raw"
            self.con.register(raw, table)
            exclude = " EXCLUDE (__vis)" if masked else ""
            replace = ", ".join(f'{fn}("{col}") AS "{col}"' for col, fn in (convert or {}).items())
            replace = f" REPLACE ({replace})" if replace else ""
            where = " WHERE __vis" if masked else ""
            self.con.execute(
                f'CREATE OR REPLACE TEMP VIEW "{name}" AS '
                f'SELECT *{exclude}{replace} FROM "{raw}"{where}'
            )
        else:
            self.con.register(name, table)
        if key is None:
            self._registered.update(names)
            return
        self._registered.difference_update(names)
        self._sticky[name] = (key, viewed)
        while len(self._sticky) > _STICKY_MAX:
            self._forget(next(iter(self._sticky)))

    def is_current(self, name: str, key: tuple[object, ...]) -> bool:
        """Whether ``name`` is still registered under ``key`` (objects compared by
        identity, integers by value)."""
        hit = self._sticky.get(name)
        if hit is None or len(hit[0]) != len(key):
            return False
        if all(
            a is b or (type(a) is int and type(b) is int and a == b)
            for a, b in zip(hit[0], key, strict=True)
        ):
            self._sticky.move_to_end(name)
            return True
        return False

    def _forget(self, name: str) -> None:
        _key, viewed = self._sticky.pop(name)
        self._detach_open()
        self._drop(["view:" + name, name + "__raw"] if viewed else [name])

    def _drop(self, names: list[str]) -> None:
        for name in names:
            try:
                if name.startswith("view:"):
                    self.con.execute(f'DROP VIEW IF EXISTS "{name[5:]}"')
                else:
                    self.con.unregister(name)
            except duckdb.Error:
                pass

    def clear(self) -> None:
        """Drop the relations registered without a key."""
        if not self._registered:
            return
        # a view before the relation it reads
        self._drop(sorted(self._registered, key=lambda n: not n.startswith("view:")))
        self._registered.clear()

    def query(self, sql: str, batch_rows: int) -> tuple[list[str], Iterator[pa.RecordBatch]]:
        """Run SQL and stream its result; returns DuckDB's column types and the batches.

        DuckDB allows one open result per connection, so a stream still open
        when the next query starts (a suspended portal) is read to the end
        into memory first.
        """
        self._detach_open()
        try:
            # None for statements without a result, whatever the stubs say
            rel: duckdb.DuckDBPyRelation | None = self.con.sql(sql)
        except duckdb.Error as exc:
            raise translate_error(exc, sql) from None
        if rel is None:
            return [], iter(())
        types = [str(t) for t in rel.types]
        try:
            reader = rel.to_arrow_reader(batch_rows)
        except duckdb.Error as exc:
            raise self._translate(exc) from None
        stream = _Stream(reader, self._translate)
        self._open = stream
        return types, iter(stream)

    def _detach_open(self) -> None:
        if self._open is not None:
            self._open.detach()
            self._open = None

    def arrow(self, sql: str) -> pa.Table:
        """Run SQL and return the whole result (for small internal results)."""
        self._detach_open()
        try:
            rel: duckdb.DuckDBPyRelation | None = self.con.sql(sql)
            if rel is None:
                return pa.table({})
            return rel.to_arrow_table()
        except _READ_ERRORS as exc:
            raise translate_error(exc, sql) from None

    def execute(self, sql: str) -> None:
        self._detach_open()
        try:
            self.con.execute(sql)
        except duckdb.Error as exc:
            raise translate_error(exc) from None

    def interrupt(self, message: str = "canceling statement due to user request") -> None:
        self.cancel_message = message
        self.con.interrupt()

    def _translate(self, exc: Exception) -> errors.VecgresError:
        err = translate_error(exc)
        if isinstance(err, errors.QueryCanceled):
            # a statement_timeout interrupt says so (PostgreSQL's wording)
            err = errors.QueryCanceled(self.cancel_message)
            self.cancel_message = "canceling statement due to user request"
        return err

    def close(self) -> None:
        self._detach_open()
        self.clear()
        while self._sticky:
            self._forget(next(iter(self._sticky)))
        self.con.close()


# what reading a DuckDB result can raise: DuckDB's own errors, and Arrow's when they
# come through its record batch reader (an error found mid-stream, such as a failed
# cast, arrives as OSError)
_READ_ERRORS: Final = (duckdb.Error, pa.ArrowException, OSError)


class _Stream:
    """A DuckDB result reader that can be drained into memory on demand."""

    def __init__(
        self,
        reader: pa.RecordBatchReader,
        translate: Callable[[Exception], errors.VecgresError] = translate_error,
    ) -> None:
        self._reader: pa.RecordBatchReader | None = reader
        self._translate = translate
        self._buffered: list[pa.RecordBatch] = []
        self._failed: errors.VecgresError | None = None  # met while detaching

    def _next(self) -> pa.RecordBatch | None:
        if self._buffered:
            return self._buffered.pop(0)
        if self._failed is not None:
            failed, self._failed = self._failed, None
            raise failed
        if self._reader is None:
            return None
        try:
            return self._reader.read_next_batch()
        except StopIteration:
            self._reader = None
            return None
        except _READ_ERRORS as exc:
            self._reader = None
            raise self._translate(exc) from None

    def detach(self) -> None:
        while self._reader is not None:
            try:
                self._buffered.append(self._reader.read_next_batch())
            except StopIteration:
                self._reader = None
            except _READ_ERRORS as exc:
                # the error surfaces when the stream is read, as it would have
                self._reader = None
                self._failed = self._translate(exc)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        while True:
            batch = self._next()
            if batch is None:
                return
            yield batch
