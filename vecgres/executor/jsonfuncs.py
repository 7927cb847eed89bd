"""jsonb as PostgreSQL keeps it, as DuckDB functions over JSON text.

jsonb values are stored in PostgreSQL's canonical text (keys ordered by
length then bytes, the last duplicate key wins, ``", "`` and ``": "``
separators, numbers as numeric prints them), so DuckDB's text equality is
jsonb equality and output needs no further work. json keeps its input text.
"""

from __future__ import annotations

import decimal
import json
from typing import Any

import duckdb
from duckdb.func import SPECIAL

from vecgres import errors
from vecgres.executor.duck import error_payload

_NULL = object()


def _fail(err: errors.VecgresError) -> None:
    raise ValueError(error_payload(err))


def _loads(text: str) -> Any:
    try:
        return json.loads(text, parse_float=decimal.Decimal, object_pairs_hook=_last_wins)
    except (ValueError, RecursionError):
        _fail(errors.InvalidTextRepresentation("invalid input syntax for type json"))
        raise


def _last_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.pop(key, None)
        out[key] = value
    return out


def _key_order(key: str) -> tuple[int, bytes]:
    raw = key.encode()
    return (len(raw), raw)


def _number(value: int | float | decimal.Decimal) -> str:
    if isinstance(value, decimal.Decimal):
        text = format(value, "f")
        return "0" if text in ("-0",) else text
    return str(value)


def dump(value: Any, *, sort: bool = True, sep: str = ": ") -> str:
    """PostgreSQL's text for a parsed JSON value (jsonb style unless told otherwise)."""
    if isinstance(value, dict):
        keys = sorted(value, key=_key_order) if sort else list(value)
        items = [
            f"{json.dumps(k, ensure_ascii=False)}{sep}{dump(value[k], sort=sort)}" for k in keys
        ]
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump(v, sort=sort) for v in value) + "]"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float | decimal.Decimal):
        return _number(value)
    return json.dumps(value, ensure_ascii=False)


def jsonb_in(text: str | None) -> str | None:
    if text is None:
        return None
    return dump(_loads(text))


def jsonb_text(text: str | None) -> str | None:
    """#>> : a string without its quotes, anything else as jsonb prints it."""
    if text is None:
        return None
    value = _loads(text)
    if value is None:
        return None
    return value if isinstance(value, str) else dump(value)


def json_format(text: str | None, style: str | None) -> str | None:
    """Re-space DuckDB's compact JSON as PostgreSQL's builders print it."""
    if text is None:
        return None
    value = json.loads(text, parse_float=decimal.Decimal, object_pairs_hook=dict)
    if style == "object":  # json_build_object: {"k" : v, ...}
        return dump(value, sort=False, sep=" : ")
    if style == "compact":  # row_to_json and json_agg of scalars: as built
        return text
    return dump(value, sort=False)


def jsonb_concat(left: str | None, right: str | None) -> str | None:
    if left is None or right is None:
        return None
    a, b = _loads(left), _loads(right)
    if isinstance(a, dict) and isinstance(b, dict):
        return dump({**a, **b})
    if not isinstance(a, list):
        a = [a]
    if not isinstance(b, list):
        b = [b]
    return dump(a + b)


def jsonb_delete(doc: str | None, key: str | None) -> str | None:
    if doc is None or key is None:
        return None
    value = _loads(doc)
    if isinstance(value, dict):
        value.pop(key, None)
    elif isinstance(value, list):
        value = [v for v in value if v != key]
    else:
        _fail(errors.InvalidParameterValue("cannot delete from scalar"))
    return dump(value)


def _keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value)
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return {value} if isinstance(value, str) else set()


def jsonb_exists(doc: str | None, key: str | None) -> bool | None:
    if doc is None or key is None:
        return None
    return key in _keys_of(_loads(doc))


def jsonb_exists_any(doc: str | None, keys: list[str | None] | None) -> bool | None:
    if doc is None or keys is None:
        return None
    have = _keys_of(_loads(doc))
    return any(k in have for k in keys if k is not None)


def jsonb_exists_all(doc: str | None, keys: list[str | None] | None) -> bool | None:
    if doc is None or keys is None:
        return None
    have = _keys_of(_loads(doc))
    return all(k in have for k in keys if k is not None)


def _contains(a: Any, b: Any) -> bool:
    """PostgreSQL's jsonb containment (a @> b)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and all(k in a and _contains(a[k], v) for k, v in b.items())
    if isinstance(a, list):
        if isinstance(b, list):
            return all(any(_contains(x, y) for x in a) for y in b)
        return any(not isinstance(x, list | dict) and x == b for x in a)
    return not isinstance(b, list | dict) and a == b and type(a) is type(b)


def jsonb_contains(a: str | None, b: str | None) -> bool | None:
    if a is None or b is None:
        return None
    return _contains(_loads(a), _loads(b))


def jsonb_set(doc: str | None, path: list[str | None] | None, new: str | None) -> str | None:
    if doc is None or path is None or new is None:
        return None
    root = _loads(doc)
    value = _loads(new)
    node = root
    for depth, key in enumerate(path):
        last = depth == len(path) - 1
        if isinstance(node, dict) and key is not None:
            if last:
                node[key] = value
            elif key in node:
                node = node[key]
            else:
                break
        elif isinstance(node, list) and key is not None:
            try:
                index = int(key)
            except ValueError:
                _fail(
                    errors.InvalidTextRepresentation(
                        f'path element at position {depth + 1} is not an integer: "{key}"'
                    )
                )
            if -len(node) <= index < len(node):
                if last:
                    node[index] = value
                else:
                    node = node[index]
            elif last:
                node.insert(0 if index < 0 else len(node), value)
            else:
                break
        else:
            break
    return dump(root)


_TYPEOF = {
    "OBJECT": "object",
    "ARRAY": "array",
    "VARCHAR": "string",
    "BOOLEAN": "boolean",
    "NULL": "null",
}


def json_typeof(kind: str | None) -> str | None:
    if kind is None:
        return None
    return _TYPEOF.get(kind.upper(), "number")


_PG_NAMES = {
    "BOOLEAN": "boolean",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "HUGEINT": "bigint",  # sum() of integers
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "VARCHAR": "text",
    "BLOB": "bytea",
    "DATE": "date",
    "TIME": "time without time zone",
    "TIMESTAMP": "timestamp without time zone",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone",
    "INTERVAL": "interval",
    "UUID": "uuid",
    "JSON": "json",
}


def pg_type_name(duck: str | None) -> str | None:
    """pg_typeof's answer for a DuckDB type name (when binding could not tell)."""
    if duck is None:
        return None
    d = duck.upper()
    suffix = ""
    if d.endswith("[]"):
        d, suffix = d[:-2], "[]"
    if d.startswith("DECIMAL"):
        return "numeric" + suffix
    return _PG_NAMES.get(d, d.lower()) + suffix


def register(con: duckdb.DuckDBPyConnection) -> None:
    J = duckdb.sqltype("JSON")
    V = duckdb.sqltype("VARCHAR")
    B = duckdb.sqltype("BOOLEAN")
    VL = duckdb.sqltype("VARCHAR[]")

    def fn(name: str, f: Any, params: list[Any], ret: Any) -> None:
        con.create_function(name, f, params, ret, null_handling=SPECIAL)

    fn("vg_jsonb_in", jsonb_in, [V], J)
    fn("vg_json_format", json_format, [V, V], J)
    fn("vg_jsonb_text", jsonb_text, [V], V)
    fn("vg_pg_type_name", pg_type_name, [V], V)
    fn("vg_jsonb_concat", jsonb_concat, [V, V], J)
    fn("vg_jsonb_delete", jsonb_delete, [V, V], J)
    fn("vg_jsonb_exists", jsonb_exists, [V, V], B)
    fn("vg_jsonb_exists_any", jsonb_exists_any, [V, VL], B)
    fn("vg_jsonb_exists_all", jsonb_exists_all, [V, VL], B)
    fn("vg_jsonb_contains", jsonb_contains, [V, V], B)
    fn("vg_jsonb_set", jsonb_set, [V, VL, V], J)
    fn("vg_json_typeof", json_typeof, [V], V)
