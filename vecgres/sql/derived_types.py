"""Column types through derived tables, CTEs, views, VALUES and set operations.

DuckDB holds vector and halfvec alike as ``FLOAT[n]`` and sparsevec and bit as
text, so the type a client sees for a column that passed through a subquery
cannot come from DuckDB. This pass runs on the qualified query, innermost
scope first: every column that names a derived source is annotated with the
type of the expression that produced it (``meta["vg_type"]``, which
``bind.expr_type`` reads first), scalar subqueries with the type of their one
column, and each UNION/INTERSECT/EXCEPT and VALUES list resolves its column
types as PostgreSQL's ``select_common_type`` does over pgvector's casts
(vector -> halfvec -> sparsevec implicit, bit <-> varbit both ways), with the
casts PostgreSQL would add spelled out in the branches that need them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.scope import Scope, traverse_scope

from vecgres import errors
from vecgres.sql.vector_resolve import KINDS, common_kind, operator_error, resolve
from vecgres.types import SqlType

TypeOf = Callable[[exp.Expr], SqlType | None]
# a base table's column -> (table oid, attnum), for RowDescription
SourceOf = Callable[[exp.Column], tuple[int, int] | None]

TYPE = "vg_type"
COLUMN_TYPES = "vg_column_types"  # on a set operation or VALUES: its resolved column types
SOURCE = "vg_source"  # on a derived column: (table oid, attnum) it reads, or (0, 0)
VIEW = "vg_view"  # on the subquery a view was expanded into: the view's oid

_UNKNOWN = SqlType("unknown")
_TEXT = SqlType("text")
_PGVECTOR = ("vector", "halfvec", "sparsevec")
_BITS = ("bit", "bit varying")
_STRINGS = ("text", "character varying", "character")
# the types whose values only an explicit cast gives DuckDB the right form
_CAST_TARGETS = (*_PGVECTOR, *_BITS)
_DENSE = ("vector", "halfvec")

_SETOP_WORDS = {exp.Union: "UNION", exp.Intersect: "INTERSECT", exp.Except: "EXCEPT"}

Column = SqlType | None  # None: not evident here (DuckDB's type is used)


# what makes a query more than one scope over tables, or needs IN coerced
_DERIVED: Final = (exp.Subquery, exp.With, exp.SetOperation, exp.UDTF, exp.In)  # UDTF: VALUES too


def propagate(ast: exp.Expr, type_of: TypeOf, source_of: SourceOf) -> None:
    """Annotate derived columns and resolve set operations, innermost scope first."""
    if ast.find(*_DERIVED) is None:
        return  # one scope reading tables only: nothing to annotate (the usual case)
    try:
        scopes = traverse_scope(ast)
    except OptimizeError:  # shapes sqlglot cannot scope keep DuckDB's types
        return
    resolver = _Resolver(type_of)
    for scope in scopes:
        for col in scope.columns:
            source = _source_of(scope, col.table)
            if isinstance(source, Scope):
                t = resolver.column(source.expression, col.name)
                if t is not None and t.name == "unknown" and _literal_output(source, col.name):
                    t = _TEXT  # a subquery's untyped literal leaves it as text (PostgreSQL 10+)
                if t is not None and t.name != "unknown":
                    col.meta[TYPE] = t
                col.meta[SOURCE] = _origin(source.expression, col.name, source_of)
        if isinstance(scope.expression, exp.SetOperation | exp.Values):
            types = resolver.outputs(scope.expression)
            _type_order_by(scope.expression, types)
        if scope.is_subquery:
            holder = scope.expression.parent
            if isinstance(holder, exp.Subquery) and _is_scalar(holder):
                types = resolver.outputs(scope.expression)
                if len(types) == 1 and types[0] is not None and types[0].name != "unknown":
                    holder.meta[TYPE] = types[0]
    for node in list(ast.find_all(exp.In)):
        _coerce_in_subquery(node, resolver)


def _coerce_in_subquery(node: exp.In, resolver: _Resolver) -> None:
    """``v IN (SELECT h ...)`` compares as halfvec = halfvec, as pgvector's implicit casts
    make PostgreSQL choose: both sides are cast to the operator's type (an unknown
    literal to the other side's)."""
    sub = node.args.get("query")
    query = sub.this if isinstance(sub, exp.Subquery) else sub
    if not isinstance(query, exp.Select | exp.SetOperation):
        _coerce_in_list(node, resolver)
        return
    left, right = resolver.value_type(node.this), resolver.outputs(query)
    if left is None or len(right) != 1 or right[0] is None:
        return
    other = right[0]
    if not (left.is_vector or other.is_vector) or _same(left, other):
        return
    if "unknown" in (left.name, other.name):
        kind: str | None = other.name if left.name == "unknown" else left.name
    else:
        names: list[str | None] = [t.name if t.is_vector else _shown(t) for t in (left, other)]
        kind = resolve(names, KINDS)
        if kind not in KINDS:
            raise operator_error("=", _shown(left), _shown(other), kind)
    target = SqlType(kind or "vector")
    if left.name != target.name:
        node.set("this", exp.Cast(this=node.this.copy(), to=_data_type(target)))
    if other.name != target.name:
        _cast_branch(query, 0, target, _CAST)


def _coerce_in_list(node: exp.In, resolver: _Resolver) -> None:
    """``v IN (h, '[1,2]')``: each ``v = item`` resolves as pgvector's casts make it
    (here for lists whose typed items share one pgvector type)."""
    items = list(node.expressions)
    left = resolver.value_type(node.this)
    if left is None or not items:
        return
    types = [resolver.value_type(item) for item in items]
    if any(t is None for t in types):
        return
    kinds = {t.name for t in types if t is not None and t.name != "unknown"}
    if len(kinds) > 1 or not (left.is_vector or any(t is not None and t.is_vector for t in types)):
        return
    if not kinds:  # only unknown literals: they are read as the left side's type
        kind: str | None = left.name if left.is_vector else None
    else:
        other = next(t for t in types if t is not None and t.name != "unknown")
        if left.name == "unknown":
            kind = other.name if other.is_vector else None
        elif _same(left, other):
            kind = left.name
        else:
            names: list[str | None] = [t.name if t.is_vector else _shown(t) for t in (left, other)]
            kind = resolve(names, KINDS)
            if kind not in KINDS:
                raise operator_error("=", _shown(left), _shown(other), kind)
    if kind is None:
        return
    target = SqlType(kind)
    if left.name != kind:
        node.set("this", exp.Cast(this=node.this.copy(), to=_data_type(target)))
    for item, t in zip(items, types, strict=True):
        if t is not None and t.name != kind:
            item.replace(exp.Cast(this=item.copy(), to=_data_type(target)))


def _type_order_by(query: exp.Expr, types: list[Column]) -> None:
    """A set operation's ORDER BY names its output columns: give them the resolved types."""
    order = query.args.get("order")
    if not isinstance(order, exp.Order):
        return
    names = _names(query, None)
    for col in order.find_all(exp.Column):
        if col.table or col.name not in names:
            continue
        t = types[names.index(col.name)] if names.index(col.name) < len(types) else None
        if t is not None and t.name != "unknown":
            col.meta[TYPE] = t


def _origin(source: exp.Expr, name: str, source_of: SourceOf) -> tuple[int, int]:
    """The (table oid, attnum) PostgreSQL reports for a derived column: a view's own
    column, or the table column a subquery/CTE passes through unchanged."""
    query, alias = _query_and_alias(source)
    names = _names(query, alias)
    if name not in names:
        return (0, 0)
    index = names.index(name)
    holder = query.parent
    view = holder.meta.get(VIEW) if isinstance(holder, exp.Subquery) and holder.meta else None
    if isinstance(view, int):
        return (view, index + 1)
    if not isinstance(query, exp.Select) or index >= len(query.expressions):
        return (0, 0)
    proj = query.expressions[index]
    inner = proj.this if isinstance(proj, exp.Alias) else proj
    if not isinstance(inner, exp.Column):
        return (0, 0)
    known = inner.meta.get(SOURCE) if inner.meta else None
    if isinstance(known, tuple):
        return known
    return source_of(inner) or (0, 0)


def output_types(query: exp.Expr) -> list[Column] | None:
    """The column types a set operation resolved to, if this pass saw it."""
    found = query.meta.get(COLUMN_TYPES) if query.meta else None
    return list(found) if isinstance(found, list) else None


def _is_scalar(sub: exp.Subquery) -> bool:
    """A subquery used as a value (a select item keeps its column alias on the node)."""
    sources = (exp.From, exp.Join, exp.Lateral, exp.In, exp.Exists, exp.SetOperation, exp.CTE)
    return not isinstance(sub.parent, sources)


def _source_of(scope: Scope, name: str) -> exp.Table | Scope | None:
    found: Scope | None = scope
    while found is not None:
        if name in found.sources:
            return found.sources[name]
        found = found.parent
    return None


class _Resolver:
    def __init__(self, type_of: TypeOf) -> None:
        self.type_of = type_of
        self.done: dict[int, list[Column]] = {}

    def column(self, source: exp.Expr, name: str) -> Column:
        """The type of column ``name`` of a derived source (subquery, CTE, VALUES, LATERAL)."""
        query, alias = _query_and_alias(source)
        names = _names(query, alias)
        if name not in names:
            return None
        recursive = _recursive_cte(query)
        # a recursive CTE's columns have its non-recursive term's types
        types = self.outputs(query.this if recursive is not None else query)
        index = names.index(name)
        return types[index] if index < len(types) else None

    def outputs(self, query: exp.Expr) -> list[Column]:
        key = id(query)
        if key not in self.done:
            self.done[key] = self._outputs(query)
            query.meta[COLUMN_TYPES] = self.done[key]
        return self.done[key]

    def _outputs(self, query: exp.Expr) -> list[Column]:
        while isinstance(query, exp.Subquery):
            query = query.this
        if isinstance(query, exp.Unnest):
            # FROM unnest(a, ...) AS u(x, ...): each array's element type
            types = [self.type_of(arg) for arg in query.expressions]
            return [t.element if t is not None and t.is_array else None for t in types]
        if isinstance(query, exp.Select):
            return [self._projection(p) for p in query.expressions]
        if isinstance(query, exp.SetOperation):
            return self._set_operation(query)
        if isinstance(query, exp.Values):
            return self._values(query)
        return []

    def _projection(self, proj: exp.Expr) -> Column:
        return self.value_type(proj.this if isinstance(proj, exp.Alias) else proj)

    def value_type(self, node: exp.Expr) -> Column:
        """An expression's type, ``unknown`` for untyped literals and parameters."""
        if isinstance(node, exp.Parameter):  # untyped, it takes the other branches' type
            return self.type_of(node) or _UNKNOWN
        return _UNKNOWN if _is_unknown(node) else _number_type(node) or self.type_of(node)

    def _set_operation(self, op: exp.SetOperation) -> list[Column]:
        left, right = self.outputs(op.this), self.outputs(op.expression)
        if len(left) != len(right):
            return left  # DuckDB reports the arity error
        word = _SETOP_WORDS.get(type(op), "UNION")
        recursive = _recursive_cte(op)
        result: list[Column] = []
        for index, (a, b) in enumerate(zip(left, right, strict=True)):
            common = _common([a, b], word)
            result.append(common)
            if recursive is not None and a is not None and a.name != "unknown":
                if common is not None and common != a:
                    raise errors.DatatypeMismatch(
                        f'recursive query "{recursive}" column {index + 1} has type {a.format()}'
                        f" in non-recursive term but type {common.format()} overall",
                        hint="Cast the output of the non-recursive term to the correct type.",
                    )
                result[-1] = a
            if common is None or common.name == "unknown":
                continue
            for side, t in ((op.this, a), (op.expression, b)):
                if common.name not in _CAST_TARGETS:
                    if t is not None and t.name == "unknown" and common.name != "numeric":
                        # $n takes the common type (numeric: DuckDB's bare DECIMAL has scale 3)
                        _cast_branch(side, index, common, _PARAMS)
                elif t is None or t.name != common.name:
                    _cast_branch(side, index, common, _CAST)
                elif common.name in _DENSE and common.typmod < 0 and t.typmod > 0:
                    # branches of other dimensions: DuckDB must see a list, not FLOAT[n]
                    _cast_branch(side, index, common, _LIST)
        return result

    def _values(self, values: exp.Values) -> list[Column]:
        rows = [r.expressions if isinstance(r, exp.Tuple) else [r] for r in values.expressions]
        if not rows:
            return []
        result: list[Column] = []
        for index in range(len(rows[0])):
            cells = [row[index] for row in rows if index < len(row)]
            types = [self.value_type(c) for c in cells]
            common = _common(types, "VALUES")
            result.append(common)
            if common is None or common.name == "unknown":
                continue
            for cell, t in zip(cells, types, strict=True):
                special = common.name in _CAST_TARGETS
                if (special and (t is None or t.name != common.name)) or (
                    isinstance(cell, exp.Parameter)
                    and t is not None
                    and t.name == "unknown"
                    and common.name != "numeric"
                ):
                    cell.replace(exp.Cast(this=cell.copy(), to=_data_type(common)))
        return result


def _query_and_alias(source: exp.Expr) -> tuple[exp.Expr, exp.Expr | None]:
    """A derived source's query and the alias that may rename its columns."""
    query = source
    alias = source.args.get("alias")
    while isinstance(query, exp.Lateral | exp.Subquery):
        alias = alias or query.args.get("alias")
        query = query.this
    if alias is None and isinstance(source.parent, exp.CTE | exp.Subquery):
        alias = source.parent.args.get("alias")  # a CTE's body, a derived table's query
    return query, alias


def _recursive_cte(query: exp.Expr) -> str | None:
    """The name of the recursive CTE whose body (referring to itself) this is."""
    cte = query.parent
    if not (isinstance(query, exp.SetOperation) and isinstance(cte, exp.CTE)):
        return None
    with_ = cte.parent
    if not (isinstance(with_, exp.With) and with_.args.get("recursive")):
        return None
    name = cte.alias_or_name
    refers = any(t.name == name and not t.db for t in query.expression.find_all(exp.Table))
    return name if refers else None


def _names(query: exp.Expr, alias: exp.Expr | None) -> list[str]:
    columns = alias.args.get("columns") if isinstance(alias, exp.TableAlias) else None
    if columns:
        return [c.name for c in columns]
    while isinstance(query, exp.SetOperation | exp.Subquery):
        query = query.this
    if isinstance(query, exp.Select):
        return [p.alias_or_name for p in query.expressions]
    return []


def _literal_output(source: Scope, name: str) -> bool:
    """Whether a plain SELECT's output ``name`` is an untyped string literal (not NULL,
    not a parameter, whose types are still settled by their use)."""
    query = source.expression
    if not isinstance(query, exp.Select):
        return False
    for proj in query.expressions:
        if proj.alias_or_name == name:
            inner = proj.this if isinstance(proj, exp.Alias) else proj
            return isinstance(inner, exp.Literal) and inner.is_string
    return False


def _is_unknown(node: exp.Expr) -> bool:
    """An untyped string literal or NULL: PostgreSQL's type ``unknown``."""
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, exp.Null) or (isinstance(node, exp.Literal) and node.is_string)


def _number_type(node: exp.Expr) -> SqlType | None:
    """A numeric constant's type: integer, bigint or numeric by its value."""
    if not (isinstance(node, exp.Literal) and not node.is_string):
        return None
    if node.this.isdigit():
        value = int(node.this)
        return SqlType("integer" if value < 2**31 else "bigint" if value < 2**63 else "numeric")
    return SqlType("numeric")


def _common(types: list[Column], word: str) -> Column:
    """select_common_type (and select_common_typmod) where the types are evident and
    one of them is a pgvector or bit type; None leaves other mixes to DuckDB."""
    if any(t is None for t in types):
        return None
    known = [t for t in types if t is not None and t.name != "unknown"]
    if not known:
        return _TEXT  # unknown literals alone resolve to text
    first = known[0]
    if all(t == first for t in known) and len(known) == len(types):
        return first  # one type, one typmod
    if all(t.name == first.name and t.is_array == first.is_array for t in known):
        # the type survives, a typmod only when every input had it
        return SqlType(first.name, is_array=first.is_array)
    if all(not t.is_array and t.name in _STRINGS for t in known):
        # text, varchar and char cast to each other implicitly: the first one stays
        return SqlType(first.name)
    if not any(_special(t) for t in known):
        return None
    common = first
    for other in known[1:]:
        if _same(other, common):
            continue
        if other.category != common.category:
            raise errors.DatatypeMismatch(
                f"{word} types {_shown(common)} and {_shown(other)} cannot be matched"
            )
        if _implicit(common, other) and not _implicit(other, common):
            common = other
    for other in known:
        if not _same(other, common) and not _implicit(other, common):
            raise errors.CannotCoerce(
                f"{word} could not convert type {_shown(other)} to {_shown(common)}"
            )
    return SqlType(common.name)


def _special(t: SqlType) -> bool:
    return not t.is_array and t.name in _CAST_TARGETS


def _same(a: SqlType, b: SqlType) -> bool:
    return a.name == b.name and a.is_array == b.is_array


def _implicit(source: SqlType, target: SqlType) -> bool:
    """An implicit cast among pgvector's types (and bit <-> varbit, both ways)."""
    if source.is_array or target.is_array:
        return False
    if source.name in _BITS and target.name in _BITS:
        return True
    return common_kind([source.name, target.name]) == target.name


def _shown(t: SqlType) -> str:
    return SqlType(t.name, is_array=t.is_array).format()


def _data_type(t: SqlType) -> exp.DataType:
    """The type name a cast to ``t`` (without its typmod) is written with."""
    if t.is_array and t.name in _CAST_TARGETS:
        # vector[]: an array of the user-defined type, not a type named "vector[]"
        return exp.DataType(
            this=exp.DType.ARRAY, expressions=[_data_type(SqlType(t.name))], nested=True
        )
    name = SqlType(t.name, is_array=t.is_array).format()
    if t.name == "bit varying":
        name = name.replace("bit varying", "varbit")  # sqlglot reads "bit varying" as bit
    return exp.DataType.build(name, dialect="postgres", udt=t.name in _CAST_TARGETS)


_CAST, _LIST, _PARAMS = "cast", "list", "params"


def _cast_branch(branch: exp.Expr, index: int, target: SqlType, how: str) -> None:
    """Cast output column ``index`` of every SELECT under a set-operation branch:
    ``_CAST`` any value, ``_PARAMS`` only a bare parameter, ``_LIST`` a dense vector
    to DuckDB's variable-length list."""
    if isinstance(branch, exp.Subquery):
        _cast_branch(branch.this, index, target, how)
    elif isinstance(branch, exp.SetOperation):
        _cast_branch(branch.this, index, target, how)
        _cast_branch(branch.expression, index, target, how)
    elif isinstance(branch, exp.Select) and index < len(branch.expressions):
        proj = branch.expressions[index]
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        cast: exp.Expr
        if how == _PARAMS and not isinstance(inner, exp.Parameter):
            return
        if how == _LIST:
            # DuckDB's own array -> list cast (TRY_CAST: pgvector's cast rewrite skips it)
            cast = exp.TryCast(
                this=inner.copy(), to=exp.DataType.build("FLOAT[]", dialect="duckdb")
            )
            cast.meta[TYPE] = target
        else:
            cast = exp.Cast(this=inner.copy(), to=_data_type(target))
        if isinstance(proj, exp.Alias):
            proj.set("this", cast)
        else:
            proj.replace(exp.alias_(cast, proj.alias_or_name))
