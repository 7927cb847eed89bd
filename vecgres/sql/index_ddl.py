"""ANN index DDL as pgvector has it: ``CREATE INDEX … USING hnsw|ivfflat|flat``, REINDEX.

Access methods, opclasses, option bounds and error texts are pgvector's
(src/hnsw.c, src/ivfflat.c, vector--*.sql). ``flat`` and the ``quantization``
option are vecgres extras. Building waits until every sealed segment has its
index; the growing segment is always searched exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from sqlglot import exp

from vecgres import errors
from vecgres.catalog.model import Catalog, Column, Index, Table
from vecgres.config import INT_MAX
from vecgres.executor.keycols import key_dims
from vecgres.executor.relation import layout_of
from vecgres.index import expression as index_expression
from vecgres.index import predicate
from vecgres.index import sparse as sparse_index
from vecgres.index.expression import (
    HALFVEC_SUBVECTOR,
    SUBVECTOR,
    expression_key,
    expression_text,
    expression_type,
    is_identity,
    subvector_start,
)
from vecgres.result import Notice, Result
from vecgres.sql import ddl
from vecgres.types import SqlType
from vecgres.vector.storage import sparse_csr
from vecgres.vector.text import SPARSEVEC_MAX_DIM

# the engine's Session: sql/ may not import engine (layers), so it is duck-typed here
Session_ = Any

ANN_METHODS = ("hnsw", "ivfflat", "flat")
KNOWN_METHODS = ("btree", "hash", "gist", "gin", "spgist", "brin", *ANN_METHODS)

_METRICS = ("l2", "ip", "cosine", "l1")
# opclass -> data type it indexes, per access method (pgvector's vector--0.8.0.sql)
OPCLASSES: dict[str, dict[str, str]] = {
    "hnsw": {
        **{f"vector_{m}_ops": "vector" for m in _METRICS},
        **{f"halfvec_{m}_ops": "halfvec" for m in _METRICS},
        **{f"sparsevec_{m}_ops": "sparsevec" for m in _METRICS},
        "bit_hamming_ops": "bit",
        "bit_jaccard_ops": "bit",
    },
    "ivfflat": {
        **{f"vector_{m}_ops": "vector" for m in ("l2", "ip", "cosine")},
        **{f"halfvec_{m}_ops": "halfvec" for m in ("l2", "ip", "cosine")},
        "bit_hamming_ops": "bit",
    },
    # vecgres's exhaustive method takes every metric of the dense types, and Hamming
    "flat": {
        **{f"vector_{m}_ops": "vector" for m in _METRICS},
        **{f"halfvec_{m}_ops": "halfvec" for m in _METRICS},
        "bit_hamming_ops": "bit",
    },
}
# pgvector declares only vector_l2_ops DEFAULT FOR TYPE vector USING ivfflat
DEFAULT_OPCLASS = {"ivfflat": {"vector": "vector_l2_ops"}}
# the types vecgres builds indexes on (sparsevec: an inverted index, index/sparse.py)
BUILDABLE_TYPES = ("vector", "halfvec", "bit", "sparsevec")


@dataclass(frozen=True, slots=True)
class _IntOption:
    default: int
    low: int
    high: int


INT_OPTIONS: dict[str, dict[str, _IntOption]] = {
    "hnsw": {"m": _IntOption(16, 2, 100), "ef_construction": _IntOption(64, 4, 1000)},
    "ivfflat": {"lists": _IntOption(100, 1, 32768)},
    "flat": {},
}
QUANTIZATIONS = ("sq8", "pq", "fp16")
MAX_DIMS = {"hnsw": 2000, "ivfflat": 2000, "flat": 16000}
# pgvector's limits per type (HALFVEC_MAX_DIM * …, bit: 64000 for both methods)
TYPE_MAX_DIMS = {
    "halfvec": {"hnsw": 4000, "ivfflat": 4000},
    "bit": {"hnsw": 64000, "ivfflat": 64000},
    "sparsevec": {"hnsw": SPARSEVEC_MAX_DIM},
}


def is_ann(method: str) -> bool:
    return method in ANN_METHODS


def _option_value(node: exp.Expr) -> str:
    if isinstance(node, exp.Literal):
        return str(node.this)
    if isinstance(node, exp.Neg):
        return "-" + _option_value(node.this)
    return node.name if node.name else node.sql()


def parse_options(method: str, props: list[exp.Expr]) -> dict[str, str]:
    """pgvector's reloptions: names, integer parsing, bounds and their messages."""
    ints = INT_OPTIONS[method]
    out: dict[str, str] = {}
    for prop in props:
        name = prop.this.name.lower() if isinstance(prop.this, exp.Expr) else str(prop.this)
        raw = _option_value(prop.args["value"])
        if name == "quantization":
            value = raw.lower()
            if value not in QUANTIZATIONS:
                raise errors.InvalidParameterValue(
                    f'invalid value for enum option "quantization": {raw}',
                    detail='Valid values are "sq8", "pq", and "fp16".',
                )
            out[name] = value
            continue
        spec = ints.get(name)
        if spec is None:
            raise errors.InvalidParameterValue(f'unrecognized parameter "{name}"')
        if not re.fullmatch(r"\s*[+-]?\d+\s*", raw):
            raise errors.InvalidParameterValue(f'invalid value for integer option "{name}": {raw}')
        number = int(raw)
        if number > INT_MAX or number < -INT_MAX - 1:
            raise errors.InvalidParameterValue(f'invalid value for integer option "{name}": {raw}')
        if not spec.low <= number <= spec.high:
            raise errors.InvalidParameterValue(
                f'value {raw.strip()} out of bounds for option "{name}"',
                detail=f'Valid values are between "{spec.low}" and "{spec.high}".',
            )
        out[name] = str(number)
    if method == "hnsw":
        m = int(out.get("m", ints["m"].default))
        efc = int(out.get("ef_construction", ints["ef_construction"].default))
        if efc < 2 * m:
            raise errors.InvalidParameterValue(
                "ef_construction must be greater than or equal to 2 * m"
            )
    return out


def check_plain_opclasses(table: Table, method: str, keys: list[exp.Expr]) -> None:
    """``CREATE INDEX … USING btree|hash (col opclass)``: PostgreSQL's ResolveOpClass
    errors for an operator class of another access method or another type."""
    from vecgres.sql.pgcatalog.pg_opclasses import PG_OPCLASSES

    known = {**PG_OPCLASSES.get(method, {})}
    if method == "btree":  # pgvector's btree opclasses
        known.update({f"{t}_ops": t for t in ("vector", "halfvec", "sparsevec")})
    for key in keys:
        node = key.this if isinstance(key, exp.Ordered) else key
        if not isinstance(node, exp.Opclass):
            continue
        opclass = node.expression.name.lower()
        accepted = known.get(opclass)
        if accepted is None:
            raise errors.UndefinedObject(
                f'operator class "{opclass}" does not exist for access method "{method}"'
            )
        column = table.column(node.this.name) if isinstance(node.this, exp.Column) else None
        if column is None:
            continue  # the caller reports the missing column
        t = column.type
        shown = SqlType(t.name, is_array=t.is_array).format()
        fits = (
            shown == accepted
            or (accepted == "anyarray" and t.is_array)
            or (accepted == "text" and shown == "character varying")  # binary coercible
        )
        if not fits:
            raise errors.DatatypeMismatch(
                f'operator class "{opclass}" does not accept data type {shown}'
            )


def choose_index_name(cat: Catalog, table: Table, columns: list[str]) -> str:
    """PostgreSQL's ChooseIndexName: ``<table>_<cols>_idx``, then ``…_idx1``, ``…_idx2``."""
    base = f"{table.name}_{'_'.join(columns)}_idx"
    name, n = base, 0
    while cat.name_taken(table.schema, name):
        n += 1
        name = f"{base}{n}"
    return name


def create_ann_index(session: Session_, ast: exp.Create, method: str) -> Result:
    catalog = session._catalog()
    index_node = ast.this
    table_node = index_node.args["table"]
    if ast.args.get("concurrently") and session.txn is not None and session.txn.explicit:
        raise errors.ActiveSqlTransaction(
            "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
        )
    table = catalog.resolve_table(
        table_node.name, table_node.db or None, session.settings.search_path()
    )
    params = index_node.args["params"]
    keys = params.args.get("columns") or []
    if ast.args.get("unique"):
        raise errors.FeatureNotSupported(
            f'access method "{method}" does not support unique indexes'
        )
    if len(keys) > 1:
        raise errors.FeatureNotSupported(
            f'access method "{method}" does not support multicolumn indexes'
        )
    where = params.args.get("where")
    predicate_text: str | None = None
    if where is not None:
        conds = predicate.conditions(where.this)
        if conds is None:
            raise errors.FeatureNotSupported(
                "partial ANN indexes support only a conjunction of column <op> constant, "
                "column IS [NOT] NULL and boolean columns"
            )
        for name, _op, _value in conds:
            if table.column(name) is None:
                raise errors.UndefinedColumn(f'column "{name}" does not exist')
        predicate_text = _pg_text(where.this)
    if isinstance(keys[0], exp.Ordered):
        # hnsw and ivfflat cannot order (amcanorder is false): DefineIndex refuses both
        if keys[0].args.get("desc") is not None:
            raise errors.FeatureNotSupported(
                f'access method "{method}" does not support ASC/DESC options'
            )
        if keys[0].args.get("nulls_first"):
            raise errors.FeatureNotSupported(
                f'access method "{method}" does not support NULLS FIRST/LAST options'
            )
    node = keys[0].this if isinstance(keys[0], exp.Ordered) else keys[0]
    opclass: str | None = None
    if isinstance(node, exp.Opclass):
        opclass = node.expression.name.lower()
        node = node.this
    expression: str | None = None
    name_part = node.name if isinstance(node, exp.Column) else ""
    found = None
    if not isinstance(node, exp.Column):
        form = _expression_key(node)
        if form is None:
            raise errors.FeatureNotSupported(
                "expression indexes support only (col::type(n)), "
                "(binary_quantize(col)::bit(n)) and (subvector(col, s, n)::type(n))"
            )
        node = form.column
        column = table.column(node.name)
        if column is None:
            raise errors.UndefinedColumn(f'column "{node.name}" does not exist')
        key_type = _key_type(column, form)
        name_part = node.name
        if not is_identity(column.type, key_type, form.dims):
            # (col::type(n)) of the column's own type is the column: PostgreSQL drops
            # the cast (coerce_type_typmod) and indexes it like (col)
            found = (node, key_type, form.dims)
            name_part = {"vector>bit": "binary_quantize"}.get(key_type, node.name)
            if subvector_start(key_type) is not None:
                name_part = "subvector"
    column = table.column(node.name)
    if column is None:
        raise errors.UndefinedColumn(f'column "{node.name}" does not exist')
    type_name = column.type.name
    if found is not None:
        _node, key_type, n = found
        # PostgreSQL evaluates the expression on every row while building (on an
        # empty vector(2) table, ((v::vector(3))) is accepted and every insert fails)
        _check_expression_rows(session, table, column, key_type, n, predicate_text)
        expression = expression_text(column.name, key_type, n)
        type_name = expression_type(key_type)
    shown_type = type_name
    if opclass is None:
        opclass = DEFAULT_OPCLASS.get(method, {}).get(type_name)
        if opclass is None:
            raise errors.UndefinedObject(
                f"data type {shown_type} has no default operator class for access method "
                f'"{method}"',
                hint="You must specify an operator class for the index or define a default "
                "operator class for the data type.",
            )
    accepted = OPCLASSES[method].get(opclass)
    if accepted is None:
        raise errors.UndefinedObject(
            f'operator class "{opclass}" does not exist for access method "{method}"'
        )
    if accepted == "bit" and type_name == "bit varying" and not column.type.is_array:
        # varbit is binary-coercible to bit; pgvector's build then rejects it (elog)
        raise errors.InternalError(f"type not supported for {method} index")
    if accepted != type_name or column.type.is_array:
        raise errors.DatatypeMismatch(
            f'operator class "{opclass}" does not accept data type {shown_type}'
        )
    if type_name not in BUILDABLE_TYPES:
        raise errors.FeatureNotSupported(
            f"{method} indexes on {type_name} are not supported; "
            f"{type_name} searches are exact (without an index)"
        )
    options = parse_options(method, list(params.args.get("with_storage") or []))
    dims = key_dims(column.type) if found is None else found[2]
    if dims is None:
        raise errors.InternalError("column does not have dimensions")
    limit = TYPE_MAX_DIMS.get(type_name, {}).get(method, MAX_DIMS[method])
    if dims > limit:
        raise errors.ProgramLimitExceeded(
            f"column cannot have more than {limit} dimensions for {method} index"
        )
    if method == "ivfflat" and dims == 1 and opclass.rsplit("_", 2)[-2] in ("ip", "cosine"):
        # spherical k-means needs a direction (pgvector's ivfbuild.c, an elog)
        raise errors.InternalError("dimensions must be greater than one for this opclass")
    if type_name == "sparsevec":
        dense = column.type.name != "sparsevec"
        _check_sparse_rows(session, table, column, method, predicate_text, dense)
    cat = catalog.edit()
    table = cat.tables[table.oid]
    name = index_node.name
    if not name:
        name = choose_index_name(cat, table, [name_part])
    elif cat.name_taken(table.schema, name):
        if ast.args.get("exists"):
            session.notice(f'relation "{name}" already exists, skipping', "42P07")
            return Result(None, None, "CREATE INDEX", notices=session._take_notices())
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    session.lock_table(table)
    idx = Index(
        cat.allocate_oid(),
        name,
        [column.name],
        method=method,
        options=options,
        opclass=opclass,
        expression=expression,
        predicate=predicate_text,
    )
    table.indexes.append(idx)
    if method == "ivfflat":
        snap = session.db.snapshot().table(table.oid)
        rows = snap.num_rows() if snap is not None else 0
        if rows < int(options.get("lists", 100)):
            session.notices.append(
                _notice(
                    "ivfflat index created with little data",
                    "This will cause low recall.",
                    "Drop the index until the table has more data.",
                )
            )
    result: Result = session._apply_ddl(ddl.DdlResult(cat, "CREATE INDEX"))
    session.db.ann.build_all(table, idx, "CREATE INDEX")
    return result


def _stored_values(
    session: Session_, table: Table, column: Column, where: str | None = None
) -> Iterator[pa.ChunkedArray | pa.Array]:
    """The column's committed, visible values, one array per segment (what PostgreSQL
    reads while it builds an index; of a partial index, the rows ``where`` accepts)."""
    snap = session.db.snapshot().table(table.oid)
    layout = layout_of(table)
    for seg in snap.segments if snap is not None else ():
        data = seg.conformed(layout)
        if column.field_name not in data.column_names:
            continue
        keep = seg.visible
        held = index_expression.indexed_rows(table, where, data)
        if held is not None:
            keep = held if keep is None else np.asarray(keep, dtype=bool) & held
        values = data.column(column.field_name)
        if keep is not None:
            values = values.filter(pa.array(keep))
        yield values


def _check_expression_rows(
    session: Session_, table: Table, column: Column, key_type: str, dims: int, where: str | None
) -> None:
    """pgvector's errors for stored rows an expression key cannot take."""
    for values in _stored_values(session, table, column, where):
        index_expression.check_rows(key_type, dims, values)


def _check_sparse_rows(
    session: Session_, table: Table, column: Column, method: str, where: str | None, dense: bool
) -> None:
    """pgvector's build-time limit on the stored rows (``HNSW_MAX_NNZ``); ``dense``: the
    key is ``(col::sparsevec(n))`` over a vector or halfvec column."""
    for values in _stored_values(session, table, column, where if dense else None):
        if dense:
            counts = index_expression.nonzeros_per_row(values)
        else:
            counts = np.diff(sparse_csr(values)[0])
        if counts.size:
            sparse_index.check_nnz(method, int(counts.max()))


def _pg_text(node: exp.Expr) -> str:
    """The predicate as PostgreSQL text, columns unqualified, no outer parentheses."""
    copy = node.copy()
    while isinstance(copy, exp.Paren):
        copy = copy.this
    for col in copy.find_all(exp.Column):
        col.set("table", None)
    return str(copy.sql(dialect="postgres"))


def _unwrap(node: exp.Expr) -> exp.Expr:
    node = node.this if isinstance(node, exp.Ordered) else node
    node = node.this if isinstance(node, exp.Opclass) else node
    while isinstance(node, exp.Paren):
        node = node.this
    return node


@dataclass(frozen=True, slots=True)
class _KeyForm:
    """An expression key as written: ``(col::target(n))``, ``(binary_quantize(col)::bit(n))``
    (target "binary_quantize") or ``(subvector(col, start, n)::target(n))``."""

    column: exp.Column
    target: str
    dims: int
    start: int | None = None


def _expression_key(node: exp.Expr) -> _KeyForm | None:
    node = _unwrap(node)
    if not isinstance(node, exp.Cast):
        return None
    to = node.to
    params = to.expressions
    if len(params) != 1 or not isinstance(params[0].this, exp.Literal):
        return None
    n = int(params[0].this.this)
    inner = node.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    kind = to.args.get("kind")
    if to.this == exp.DataType.Type.VECTOR:
        target = "vector"
    elif to.this == exp.DataType.Type.BIT:
        target = "bit"
    elif to.this == exp.DataType.Type.USERDEFINED and kind is not None:
        target = kind.name.lower()
    else:
        return None
    if isinstance(inner, exp.Column):
        return _KeyForm(inner, target, n)
    if _is_call(inner, "subvector", 3):
        assert isinstance(inner, exp.Anonymous)
        col, start, count = inner.expressions
        first = _integer(start)
        fits = first is not None and first >= 1 and _integer(count) == n
        if isinstance(col, exp.Column) and fits:
            return _KeyForm(col, target, n, first)
        return None
    if (
        target == "bit"
        and _is_call(inner, "binary_quantize", 1)
        and isinstance(inner.expressions[0], exp.Column)
    ):
        return _KeyForm(inner.expressions[0], "binary_quantize", n)
    return None


def _key_type(column: Column, form: _KeyForm) -> str:
    """The key type of ``form`` over ``column``, or PostgreSQL's error for a cast or
    call the column's type does not have."""
    t = column.type
    source = "array" if t.is_array else t.name
    shown = SqlType(t.name, is_array=t.is_array).format()
    if form.target == "binary_quantize":
        if source not in ("vector", "halfvec"):
            raise errors.UndefinedFunction(
                f"function binary_quantize({shown}) does not exist",
                hint="No function matches the given name and argument types. "
                "You might need to add explicit type casts.",
            )
        return "vector>bit"
    if form.start is not None:
        if source not in ("vector", "halfvec"):
            raise errors.UndefinedFunction(
                f"function subvector({shown}, integer, integer) does not exist",
                hint="No function matches the given name and argument types. "
                "You might need to add explicit type casts.",
            )
        if form.target != source:
            raise errors.FeatureNotSupported(
                f"expression indexes support subvector({source})::{source}(n) only"
            )
        return f"{SUBVECTOR if source == 'vector' else HALFVEC_SUBVECTOR}{form.start}"
    key = None if t.is_array else expression_key(source, form.target)
    if key is not None:
        return key
    raise errors.CannotCoerce(f"cannot cast type {shown} to {form.target}")


def _is_call(node: exp.Expr, name: str, args: int) -> bool:
    return (
        isinstance(node, exp.Anonymous)
        and node.name.lower() == name
        and len(node.expressions) == args
    )


def _integer(node: exp.Expr) -> int | None:
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return int(node.this)
    return None


def truncate_notices(session: Session_, table: Table) -> None:
    """TRUNCATE rebuilds every index on an empty table: pgvector's ivfflat build warns
    that it has fewer rows than lists, once per ivfflat index."""
    for idx in table.indexes:
        if idx.method == "ivfflat":
            session.notices.append(
                _notice(
                    "ivfflat index created with little data",
                    "This will cause low recall.",
                    "Drop the index until the table has more data.",
                )
            )


def _notice(message: str, detail: str, hint: str) -> Notice:
    return Notice("NOTICE", "00000", message, detail=detail, hint=hint)


_REINDEX_RE = re.compile(
    r"^\s*REINDEX\s+(?:\(\s*VERBOSE\s*\)\s+)?(INDEX|TABLE)\s+(CONCURRENTLY\s+)?(\S+)\s*;?\s*$",
    re.I,
)


def reindex(session: Session_, text: str) -> Result:
    m = _REINDEX_RE.match(text)
    if m is None:
        raise errors.FeatureNotSupported("REINDEX supports only INDEX and TABLE")
    kind = m.group(1).upper()
    target = m.group(3)
    schema, _, name = target.rpartition(".")
    schema_name = schema.strip('"') or None
    name = name.strip('"') if name.startswith('"') else name.lower()
    catalog = session._catalog()
    path = session.settings.search_path()
    if kind == "TABLE":
        table = catalog.resolve_table(name, schema_name, path)
        targets = [(table, idx) for idx in table.indexes]
    else:
        found = None
        for candidate in [schema_name] if schema_name else path:
            found = catalog.find_index(candidate, name)
            if found is not None:
                break
        if found is None:
            shown = f"{schema_name}.{name}" if schema_name else name
            raise errors.UndefinedTable(f'relation "{shown}" does not exist')
        targets = [found]
    for table, idx in targets:
        if is_ann(idx.method):
            session.lock_table(table)
            session.db.ann.build_all(table, idx, "REINDEX", force=True)
    return Result(None, None, "REINDEX")
