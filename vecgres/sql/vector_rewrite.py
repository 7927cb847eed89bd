"""pgvector's types in a bound query: operators, functions, casts and aggregates
rewritten into ``pgv_*`` DuckDB functions, bottom-up and by type.

Each rewritten node records its SQL type in ``node.meta["vg_type"]`` so the
enclosing expression (and the result description) knows it is a vector,
halfvec, sparsevec or bit value even though DuckDB sees FLOAT[] or VARCHAR.
Literals are parsed here, at bind time, so malformed ones fail with
pgvector's errors before anything runs.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Final

import numpy as np
import sqlglot
from sqlglot import exp

from vecgres import errors
from vecgres.index.predicate import COMPARISON_SYMBOLS
from vecgres.sql import vector_arrays
from vecgres.sql.bitops import (
    is_bit_operation,
    rewrite_bit_aggregate,
    rewrite_bit_call,
    rewrite_bit_operation,
)
from vecgres.sql.dialect import VectorOp
from vecgres.sql.literals import scalar_literal
from vecgres.sql.records import cte_query
from vecgres.sql.typemap import sql_type
from vecgres.sql.vector_resolve import (
    DENSE,
    FUNCTION_KINDS,
    KINDS,
    UNKNOWN,
    branch_result,
    branches,
    common_kind,
    function_error,
    operator_error,
    resolve,
)
from vecgres.types import BOOL, FLOAT8, INT4, TEXT, SqlType
from vecgres.vector import bits
from vecgres.vector import half as H
from vecgres.vector import sparse as S
from vecgres.vector import text as vector_text

META = "vg_type"
NAME = "vg_name"  # the output column name PostgreSQL would give the rewritten node
STRENGTH = "vg_name_strength"  # how FigureColname ranks that name (2 beats a cast's type)
BIT = SqlType("bit")
BIT_TYPES = ("bit", "bit varying")

TypeOf = Callable[[exp.Expr], SqlType | None]


def typed(node: exp.Expr, t: SqlType | None) -> exp.Expr:
    if t is not None:
        node.meta[META] = t
    return node


def meta_type(node: exp.Expr) -> SqlType | None:
    t = node.meta.get(META) if node.meta else None
    return t if isinstance(t, SqlType) else None


# --------------------------------------------------------------- literals


def float_list_literal(values: np.ndarray, dims: int | None = None) -> exp.Expr:
    """A DuckDB FLOAT[] literal holding exactly these float32 values."""
    items = ",".join(_float_repr(float(x)) for x in np.asarray(values, dtype=np.float32))
    size = f"[{dims}]" if dims else "[]"
    return exp.cast(exp.Literal.string("[" + items + "]"), "FLOAT" + size, dialect="duckdb")


def _float_repr(x: float) -> str:
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def parse_literal(text: str, t: SqlType) -> exp.Expr:
    """A text literal of a pgvector type as a typed DuckDB literal."""
    if t.name == "vector":
        out = float_list_literal(vector_text.parse_vector(text, t.typmod), t.dims)
    elif t.name == "halfvec":
        h = vector_text.parse_halfvec(text, t.typmod)
        out = float_list_literal(h.astype(np.float32), t.dims)
    else:
        out = exp.Literal.string(S.parse(text, t.typmod).text())
    return typed(out, SqlType(t.name, t.typmod))


def _positioned_literal(literal: exp.Literal, t: SqlType) -> exp.Expr:
    """``parse_literal`` of a ``'...'::type`` constant; an input error points at the
    literal as PostgreSQL's parser does (LINE/caret), a typmod mismatch does not (the
    length coercion runs apart from the input function, which gets typmod -1)."""
    try:
        return parse_literal(literal.this, t)
    except errors.VecgresError as exc:
        if t.typmod >= 0:
            try:
                parse_literal(literal.this, SqlType(t.name))
            except errors.VecgresError:
                pass
            else:
                raise  # the text is fine: the typmod check failed
        _point_at(exc, literal)
        raise


@contextlib.contextmanager
def _at_literal(literal: exp.Expr) -> Iterator[None]:
    """Errors raised inside point at ``literal`` (an input function's error)."""
    try:
        yield
    except errors.VecgresError as exc:
        _point_at(exc, literal)
        raise


def _point_at(exc: errors.VecgresError, literal: exp.Expr) -> None:
    start = literal.meta.get("start") if literal.meta else None
    if exc.position is None and isinstance(start, int):
        exc.position = start + 1


def value_literal(value: object, t: SqlType) -> exp.Expr:
    """A bound parameter value (text or a sequence of numbers) of a pgvector type,
    or a list of them for an array of one (a binary array parameter)."""
    if t.is_array and isinstance(value, list):
        elem = t.element
        parts = [exp.null() if v is None else value_literal(v, elem) for v in value]
        duck = "VARCHAR[]" if elem.name == "sparsevec" else "FLOAT[][]"
        return typed(exp.cast(exp.Array(expressions=parts), duck, dialect="duckdb"), t)
    if t.is_array and isinstance(value, str):
        return _array_literal(exp.Literal.string(value), t)  # array_in of a text parameter
    if isinstance(value, str):
        return parse_literal(value, t)
    if t.name == "sparsevec":
        if isinstance(value, tuple) and len(value) == 3:
            dim, idx, vals = value
            s = S.Sparse(int(dim), np.asarray(idx, np.int32), np.asarray(vals, np.float32))
            S.check_typmod(s, t.typmod)
            return exp.Literal.string(s.text())
        return exp.Literal.string(S.from_dense(np.asarray(value, np.float32), t.typmod).text())
    arr = np.asarray(value, dtype=np.float32)
    vector_text.check_expected_dim(t.typmod, len(arr))
    if t.name == "halfvec":
        arr = H.to_half(arr)
    return float_list_literal(arr, t.dims)


def _pg_array_items(text: str) -> list[str | None]:
    """The elements of a one-dimensional PostgreSQL array literal (``{"[1,2]",NULL}``)."""
    s = text.strip()
    if not (s.startswith("{") and s.endswith("}")):
        raise errors.InvalidTextRepresentation(
            f'malformed array literal: "{text}"',
            detail='Array value must start with "{" or dimension information.',
        )
    body = s[1:-1]
    items: list[str | None] = []
    i, n = 0, len(body)
    while i < n:
        while i < n and body[i].isspace():
            i += 1
        if i >= n:
            break
        if body[i] == '"':
            i += 1
            buf = []
            while i < n and body[i] != '"':
                if body[i] == "\\" and i + 1 < n:
                    i += 1
                buf.append(body[i])
                i += 1
            i += 1
            items.append("".join(buf))
        else:
            start = i
            depth = 0
            while i < n and (body[i] != "," or depth):
                depth += body[i] in "[{"
                depth -= body[i] in "]}"
                i += 1
            token = body[start:i].strip()
            items.append(None if token.upper() == "NULL" else token)
        while i < n and body[i].isspace():
            i += 1
        if i < n and body[i] == ",":
            i += 1
    return items


# pgvector's array casts (vector--0.8.0.sql): integer[], real[], double precision[], numeric[]
_ARRAY_CAST_ELEMENTS = ("integer", "real", "double precision", "numeric")


def _check_array_source(inner: exp.Expr, source: SqlType | None, target: SqlType) -> None:
    """pgvector's errors for array casts that DuckDB would word its own way."""
    if isinstance(inner, exp.Array) and any(isinstance(e, exp.Array) for e in inner.expressions):
        raise errors.DataException("array must be 1-D")
    elems = inner.expressions if isinstance(inner, exp.Array) else []
    if elems and all(
        isinstance(e, exp.Literal) and e.is_string and meta_type(e) is None for e in elems
    ):
        source = SqlType("text").array_of()  # ARRAY['1'] is text[] in PostgreSQL
    elif elems and all(isinstance(e, exp.Boolean) for e in elems):
        source = SqlType("boolean").array_of()
    if (
        source is not None
        and source.is_array
        and source.name not in _ARRAY_CAST_ELEMENTS
        and source.name not in KINDS
    ):
        raise errors.CannotCoerce(f"cannot cast type {source.format()} to {target.format()}")


def _is_array_text(node: exp.Expr) -> bool:
    return isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string


def _numeric_array_literal(text: str) -> exp.Expr:
    """A PostgreSQL numeric array literal (``'{1,2.5,NULL}'``) as DuckDB DOUBLE[]."""
    items = _pg_array_items(text)
    if any(i is not None and i.lstrip().startswith("{") for i in items):
        raise errors.DataException("array must be 1-D")
    parts: list[exp.Expr] = [
        exp.null() if i is None else exp.cast(exp.Literal.string(i), "DOUBLE") for i in items
    ]
    return exp.cast(exp.Array(expressions=parts), "DOUBLE[]", dialect="duckdb")


def _array_literal(literal: exp.Literal, t: SqlType) -> exp.Expr:
    """``'{...}'::vector(3)[]``: array_in runs vector_in on each element (its errors
    point at the literal), then the length coercion checks each element's typmod."""
    elem = t.element
    with _at_literal(literal):
        items = vector_arrays.element_texts(literal.this, t)
    parts = [exp.null() if item is None else parse_literal(item, elem) for item in items]
    duck = "VARCHAR[]" if elem.name == "sparsevec" else "FLOAT[][]"
    return typed(exp.cast(exp.Array(expressions=parts), duck, dialect="duckdb"), t)


# --------------------------------------------------------------- the rewriter


class VectorRewriter:
    def __init__(self, base_type: TypeOf) -> None:
        self._base_type = base_type

    def type_of(self, node: exp.Expr) -> SqlType | None:
        t = meta_type(node)
        if t is not None:
            return t
        if isinstance(node, exp.Paren):
            return self.type_of(node.this)
        if isinstance(node, exp.Column):
            base = self._base_type(node)
            return base if base is not None else self._column_type(node)
        if isinstance(node, exp.Explode | exp.Unnest):
            inner = node.this if isinstance(node, exp.Explode) else None
            if inner is None and node.expressions:
                inner = node.expressions[0]
            it = self.type_of(inner) if inner is not None else None
            if it is not None and it.is_array and it.name in KINDS:
                return it.element
            return None
        if isinstance(node, exp.Array):
            for e in node.expressions:
                et = self.type_of(e)
                if et is not None and et.is_vector:
                    return et.array_of()
        return self._base_type(node)

    def rewrite(self, ast: exp.Expr) -> exp.Expr:
        return self._visit(ast)

    def _visit(self, node: exp.Expr) -> exp.Expr:
        children = list(node.iter_expressions())
        # sources before the expressions that read them, so their types are known
        children.sort(key=lambda c: 0 if isinstance(c, exp.With | exp.From | exp.Join) else 1)
        for child in children:
            self._visit(child)
        return self._node(node)

    def _column_type(self, col: exp.Column) -> SqlType | None:
        """Type of a column read from a subquery, CTE or unnest() in the FROM clause."""
        select = col.find_ancestor(exp.Select)
        if not col.table:
            # qualified names are table columns; a bare one standing alone as an ORDER BY
            # item is an output alias (inside an expression it is an input column: PG)
            if not isinstance(col.parent, exp.Ordered):
                return None
            for proj in select.expressions if select is not None else []:
                if isinstance(proj, exp.Alias) and proj.alias == col.name:
                    return self.type_of(proj.this)
            return None
        while select is not None:
            sources: list[exp.Expr] = []
            from_ = select.args.get("from_") or select.args.get("from")
            if from_ is not None:
                sources.append(from_.this)
            sources.extend(j.this for j in select.args.get("joins") or [])
            for src in sources:
                if src.alias_or_name != col.table:
                    continue
                if isinstance(src, exp.Unnest) and src.expressions:
                    t = self.type_of(src.expressions[0])
                    return t.element if t is not None and t.is_array else None
                query = src.this if isinstance(src, exp.Subquery) else None
                if isinstance(src, exp.Table):
                    query = cte_query(select, src.name)
                if isinstance(query, exp.Select):
                    for proj in query.expressions:
                        if proj.alias_or_name == col.name:
                            return self.type_of(proj.this if isinstance(proj, exp.Alias) else proj)
                return None
            select = select.find_ancestor(exp.Select)
        return None

    def _node(self, node: exp.Expr) -> exp.Expr:
        name, strength = _figure_colname(node)
        literal = (
            node.this if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) else None
        )
        out = self._rewrite_node(node)
        if out is not node and name is not None:
            out.meta[NAME] = name
            out.meta[STRENGTH] = strength
            # sqlglot aliased the select item after the (innermost) literal's text; an
            # inner cast already rewritten carries it (its literal may be reformatted)
            inner = node.this if isinstance(node, exp.Cast) else None
            while isinstance(inner, exp.Cast) and "vg_literal" not in inner.meta:
                inner = inner.this
            if inner is not None and isinstance(inner.meta.get("vg_literal"), str):
                out.meta["vg_literal"] = inner.meta["vg_literal"]
            elif literal is not None:
                out.meta["vg_literal"] = literal.name
            elif isinstance(inner, exp.Literal):
                out.meta["vg_literal"] = inner.name
        return out

    def _rewrite_node(self, node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Cast) and not isinstance(node, exp.TryCast):
            return self._cast(node)
        if isinstance(node, VectorOp):
            return self._operator(node)
        if isinstance(node, exp.CosineDistance):
            return self._call(node, "cosine_distance", [node.this, node.expression])
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
            if name.startswith("pgv_") and meta_type(node) is None:
                # vecgres's own functions, as the user wrote them: PostgreSQL has none
                shown = [self._arg(a)[1] for a in node.expressions]
                raise function_error(name, shown, None)
            if name == "pg_typeof" and len(node.expressions) == 1:
                t = self.type_of(node.expressions[0])
                if t is not None:
                    label = SqlType(t.name, is_array=t.is_array).format()
                    out = exp.Literal.string(label)
                    out.meta[NAME] = "pg_typeof"
                    node.replace(out)
                    return out
            if name == "bit_count":
                counted = rewrite_bit_call(name, list(node.expressions), self._arg)
                if counted is not None:
                    node.replace(typed(counted, SqlType("bigint")))
                    return counted
            if name == "array_fill":
                filled = rewrite_array_fill(node)
                if filled is not None:
                    node.replace(filled)
                    return filled
            return self._call(node, name, list(node.expressions))
        if isinstance(node, exp.EQ | exp.NEQ | exp.LT | exp.LTE | exp.GT | exp.GTE):
            return self._comparison(node)
        if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.DPipe):
            return self._arith(node)
        if isinstance(node, exp.Avg | exp.Sum):
            return self._aggregate(node)
        if is_bit_operation(node, self._arg):
            bit_out = typed(rewrite_bit_operation(node, self._arg), BIT)
            bit_out.meta[NAME] = "?column?"
            node.replace(bit_out)
            return bit_out
        if isinstance(node, exp.BitwiseAndAgg | exp.BitwiseOrAgg):
            node.meta[NAME] = "bit_and" if isinstance(node, exp.BitwiseAndAgg) else "bit_or"
            agg = rewrite_bit_aggregate(node, self._arg)
            if agg is not None:
                agg.meta[NAME] = node.meta[NAME]
                node.replace(typed(agg, BIT))
                return agg
            return node
        if isinstance(node, _NO_VECTOR_OPERATORS) and self._has_vector(node.this, node.expression):
            symbol = _NO_VECTOR_OPERATORS_SYMBOL[type(node)]
            raise operator_error(
                symbol, self._arg(node.this)[1], self._arg(node.expression)[1], None
            )
        if isinstance(node, exp.Neg | exp.BitwiseNot) and self._has_vector(node.this):
            symbol = "-" if isinstance(node, exp.Neg) else "~"
            raise errors.UndefinedFunction(
                f"operator does not exist: {symbol} {self._arg(node.this)[1]}",
                hint="No operator matches the given name and argument type. "
                "You might need to add an explicit type cast.",
            )
        if isinstance(node, exp.Concat | exp.ConcatWs | exp.Format):
            # "any" arguments: PostgreSQL prints each with its type's output function
            for arg in list(node.expressions):
                t = self.type_of(arg)
                if t is not None and t.is_vector and t.name != "sparsevec":
                    arg.replace(typed(exp.func(f"pgv_{t.name}_out", arg.copy()), TEXT))
            return node
        if isinstance(node, exp.Bracket) and node.expressions:
            t = self.type_of(node.this)
            if t is not None and t.is_array and t.name in KINDS:
                sliced = isinstance(node.expressions[0], exp.Slice)
                return typed(node, t if sliced else t.element)  # vector[] subscripted
        if isinstance(node, exp.Min | exp.Max | exp.GroupConcat):
            self._check_generic_aggregate(node)
            return node
        if isinstance(node, exp.Case | exp.Coalesce | exp.Greatest | exp.Least | exp.Nullif):
            return self._common(node)
        if isinstance(node, exp.Array):
            return self._array(node)
        if isinstance(node, exp.Ordered):
            t = self.type_of(node.this)
            if t is not None and t.name == "sparsevec" and not t.is_array:
                # canonical text does not sort like sparsevec_cmp; a key that does
                node.set("this", exp.func("pgv_sparsevec_sortkey", node.this.copy()))
            return node
        if isinstance(node, exp.BitString):
            bit_literal = typed(exp.Literal.string(bits.bit_in(str(node.this))), BIT)
            node.replace(bit_literal)
            return bit_literal
        if isinstance(node, exp.Explode | exp.Unnest):
            t = self.type_of(node)
            if t is not None:
                typed(node, t)
        if isinstance(node, _SCALAR_BUILTINS):
            self._check_builtin(node)
        return node

    def _check_builtin(self, node: exp.Func) -> None:
        """PostgreSQL's error for a numeric or string builtin given a pgvector value
        (DuckDB would name the stored form, ``abs(float[3])``)."""
        args = [a for a in node.args.values() if isinstance(a, exp.Expr)]
        info = [self._arg(a) for a in args]
        rejected = _VECTOR_ONLY if isinstance(node, exp.Length) else _VECTOR_OR_BIT
        if any(kind in rejected for kind, _ in info):
            name = _BUILTIN_NAMES.get(node.key, node.key)
            raise function_error(name, [shown for _, shown in info], None)

    # ---- operands

    def _operand(self, node: exp.Expr, kind: SqlType) -> exp.Expr:
        """``node`` as a value of ``kind``: untyped literals parsed, vector -> halfvec etc."""
        if isinstance(node, exp.Literal) and node.is_string and meta_type(node) is None:
            if kind.name in BIT_TYPES:
                with _at_literal(node):
                    out = typed(exp.Literal.string(bits.bit_in(node.this)), BIT)
                node.replace(out)
                return out
            out = _positioned_literal(node, SqlType(kind.name))
            node.replace(out)
            return out
        t = self.type_of(node)
        if t is None or not t.is_vector or t.name == kind.name:
            return node
        out = self._convert(node.copy(), t, SqlType(kind.name))
        node.replace(out)
        return out

    def _has_vector(self, *nodes: exp.Expr) -> bool:
        for n in nodes:
            t = self.type_of(n)
            if t is not None and t.is_vector:
                return True
        return False

    # ---- casts

    def _convert(self, inner: exp.Expr, source: SqlType, target: SqlType) -> exp.Expr:
        """A value of pgvector type ``source`` converted to ``target`` (with its typmod)."""
        mod = exp.Literal.number(target.typmod)
        s, t = source.name, target.name
        if s == t:
            if target.typmod == -1:
                out = inner
            elif t == "sparsevec":
                out = exp.func("pgv_sparsevec_typmod", inner, mod)
            else:
                out = exp.func("pgv_check_typmod", inner, mod)
        elif t == "halfvec" and s == "vector":
            out = exp.func("pgv_to_halfvec", inner, mod)
        elif t == "vector" and s == "halfvec":
            out = exp.func("pgv_check_typmod", inner, mod)
        elif t == "sparsevec":
            out = exp.func("pgv_to_sparsevec", inner, mod)
        else:
            out = exp.func(f"pgv_sparsevec_to_{t}", inner, mod)
        return typed(out, target)

    def _cast(self, cast: exp.Cast) -> exp.Expr:
        try:
            target = sql_type(cast.to)
        except errors.VecgresError:
            to = cast.to
            if to.this in (exp.DataType.Type.USERDEFINED, exp.DataType.Type.VECTOR):
                raise
            if (
                to.this == exp.DataType.Type.ARRAY
                and to.expressions
                and isinstance(to.expressions[0], exp.DataType)
                and to.expressions[0].this == exp.DataType.Type.VECTOR
            ):
                raise
            return cast
        inner = cast.this
        source = self.type_of(inner)
        untyped_text = (
            isinstance(inner, exp.Literal) and inner.is_string and meta_type(inner) is None
        )
        if target.is_array and target.name in KINDS:
            if untyped_text:
                out = _array_literal(inner, target)
                cast.replace(out)
                return out
            duck = "VARCHAR[]" if target.name == "sparsevec" else "FLOAT[][]"
            out = typed(exp.cast(inner.copy(), duck, dialect="duckdb"), target)
            if source is not None and source.is_array and source.name in KINDS:
                out = self._convert_elements(inner.copy(), source, target)
            elif _texts_source(inner, source):
                out = typed(vector_arrays.from_texts(inner.copy(), source, target), target)
            cast.replace(out)
            return out
        if target.name in BIT_TYPES and not target.is_array:
            if source is not None and source.is_vector:
                raise errors.CannotCoerce(f"cannot cast type {_shown(source)} to {_shown(target)}")
            varying = target.name == "bit varying"
            if untyped_text:
                with _at_literal(inner):  # an explicit cast only cuts or pads
                    value = bits.bit_cast(inner.this, target.typmod, varying)
                out = typed(exp.Literal.string(value), target)
            else:
                out = typed(
                    exp.func(
                        "pgv_bit_cast",
                        exp.cast(inner.copy(), "VARCHAR", dialect="duckdb"),
                        exp.Literal.number(target.typmod),
                        exp.true() if varying else exp.false(),
                    ),
                    target,
                )
            cast.replace(out)
            return out
        if (
            source is not None
            and not source.is_array
            and source.name in ("real", "double precision")
            and not target.is_array
            and target.name in ("text", "character varying")
        ):
            # float4out / float8out: 1, not DuckDB's 1.0
            fn = "vg_float4_text" if source.name == "real" else "vg_float8_text"
            out = exp.func(fn, inner.copy())
            if target.name == "character varying" and target.typmod > 4:
                out = exp.func("left", out, exp.Literal.number(target.typmod - 4))
            typed(out, target)
            cast.replace(out)
            return out
        if (
            source is not None
            and source.is_array
            and source.name in KINDS
            and target.name in ("text", "character varying")
        ):
            out = _vector_array_text(inner.copy(), source, target)
            cast.replace(out)
            return out
        if target.name not in KINDS:
            if source is not None and source.is_vector:
                return self._cast_from_vector(cast, source, target)
            return cast
        if untyped_text:
            out = _positioned_literal(inner, target)
        elif isinstance(inner, exp.Parameter) and (source is None or source.is_vector):
            out = typed(inner.copy(), target)  # bound as a literal of the target type
        elif source is not None and source.is_vector:
            out = self._convert(inner.copy(), source, target)
        elif source is not None and source.is_array and _is_array_text(inner):
            _check_array_source(inner, source, target)
            out = typed(
                exp.func(
                    f"pgv_array_to_{target.name}",
                    _numeric_array_literal(inner.this.this),
                    exp.Literal.number(target.typmod),
                ),
                target,
            )
        elif (source is not None and source.is_array) or isinstance(
            inner, exp.ArrayAgg | exp.Array
        ):
            _check_array_source(inner, source, target)
            out = typed(
                exp.func(
                    f"pgv_array_to_{target.name}",
                    exp.cast(inner.copy(), "DOUBLE[]", dialect="duckdb"),
                    exp.Literal.number(target.typmod),
                ),
                target,
            )
        else:
            if source is None:
                source = _constant_type(inner)
            if source is not None and not source.is_array and source.name not in _VIA_TEXT:
                # only string types reach a pgvector type by I/O conversion: 1::vector,
                # B'101'::vector have no cast (find_coercion_pathway)
                raise errors.CannotCoerce(f"cannot cast type {_shown(source)} to {target.name}")
            out = typed(
                exp.func(
                    f"pgv_{target.name}_in",
                    exp.cast(inner.copy(), "VARCHAR", dialect="duckdb"),
                    exp.Literal.number(target.typmod),
                ),
                target,
            )
            if target.name == "vector":
                out = typed(
                    exp.func(
                        "pgv_vector_in",
                        exp.cast(inner.copy(), "VARCHAR", dialect="duckdb"),
                        exp.Literal.number(target.typmod),
                    ),
                    target,
                )
        cast.replace(out)
        return out

    def _convert_elements(self, inner: exp.Expr, source: SqlType, target: SqlType) -> exp.Expr:
        """An array of pgvector values cast element by element (typmod checks included),
        as PostgreSQL's array coercion applies the element cast to each element."""
        if source.name == target.name and target.typmod < 0:
            return typed(inner, target)
        elem = typed(exp.column("pgv_elem"), source.element)
        body = self._convert(elem, source.element, target.element)
        lam = exp.Lambda(this=body, expressions=[exp.to_identifier("pgv_elem")])
        return typed(exp.func("list_transform", inner, lam), target)

    def _cast_from_vector(self, cast: exp.Cast, source: SqlType, target: SqlType) -> exp.Expr:
        inner = cast.this.copy()
        if target.is_array and target.name == "real" and source.name != "sparsevec":
            # vector_to_float4 / halfvec_to_float4; sparsevec and double precision[]
            # have no cast
            out: exp.Expr = exp.cast(inner, "FLOAT[]", dialect="duckdb")
        elif target.name in ("text", "character varying"):
            if source.name == "sparsevec":
                out = inner
            else:
                out = exp.func(f"pgv_{source.name}_out", inner)
            if target.name == "character varying" and target.typmod > 4:
                # an explicit cast to varchar(n) cuts the text (VARHDRSZ + n typmod)
                out = exp.func("left", out, exp.Literal.number(target.typmod - 4))
        else:
            raise errors.CannotCoerce(f"cannot cast type {_shown(source)} to {_shown(target)}")
        typed(out, target)
        cast.replace(out)
        return out

    # ---- operators and functions

    def _arg(self, node: exp.Expr) -> tuple[str | None, str]:
        """An operand for overload resolution: (type name or ``unknown`` or ``None``
        when not evident, the name PostgreSQL shows for it in errors)."""
        if isinstance(node, exp.Null) or (
            isinstance(node, exp.Literal) and node.is_string and meta_type(node) is None
        ):
            return UNKNOWN, "unknown"
        t = self.type_of(node)
        if t is None:
            t = _constant_type(node)
        if t is None:
            return None, "unknown"
        shown = SqlType(t.name, is_array=t.is_array).format()
        return (t.name if t.is_vector else shown), shown

    def _operator(self, op: VectorOp) -> exp.Expr:
        if op.metric in ("hamming", "jaccard"):
            (left, left_shown), (right, right_shown) = self._arg(op.this), self._arg(op.expression)
            if left not in _BIT_ARGUMENTS or right not in _BIT_ARGUMENTS:
                symbol = "<~>" if op.metric == "hamming" else "<%>"
                raise operator_error(symbol, left_shown, right_shown, None)
            self._operand(op.this, BIT)
            self._operand(op.expression, BIT)
            name = f"pgv_{op.metric}_distance"
        else:
            symbol = {"l2": "<->", "ip": "<#>", "cosine": "<=>", "l1": "<+>"}[op.metric]
            kind = self._resolve_operator(symbol, op, KINDS)
            self._operand(op.this, kind)
            self._operand(op.expression, kind)
            metric = {
                "l2": "l2_distance",
                "cosine": "cosine_distance",
                "ip": "negative_inner_product",
                "l1": "l1_distance",
            }[op.metric]
            name = f"pgv_{metric}" if kind.name == "vector" else f"pgv_{kind.name}_{metric}"
        out = typed(exp.func(name, op.this.copy(), op.expression.copy()), FLOAT8)
        op.replace(out)
        return out

    def _resolve_operator(
        self, symbol: str, node: exp.Binary, candidates: tuple[str, ...]
    ) -> SqlType:
        (left, left_shown), (right, right_shown) = self._arg(node.this), self._arg(node.expression)
        kind = resolve([left, right], candidates)
        if kind is None or kind == "ambiguous":
            raise operator_error(symbol, left_shown, right_shown, kind)
        return SqlType(kind)

    def _comparison(self, node: exp.Binary) -> exp.Expr:
        if _quantified_array(node.expression) is not None:
            return self._quantified(node)
        if not self._has_vector(node.this, node.expression):
            return node
        kind = self._resolve_operator(COMPARISON_SYMBOLS[type(node)], node, KINDS)
        self._operand(node.this, kind)
        self._operand(node.expression, kind)
        suffix = _COMPARE_SUFFIX[type(node)]
        name = f"pgv_sparsevec_{suffix}" if kind.name == "sparsevec" else f"pgv_{suffix}"
        out = typed(exp.func(name, node.this.copy(), node.expression.copy()), BOOL)
        node.replace(out)
        return out

    def _common(self, node: exp.Expr) -> exp.Expr:
        """CASE/COALESCE/GREATEST/LEAST/NULLIF over pgvector values: one common type
        (select_common_type: vector and halfvec give halfvec), every argument cast to it."""
        values = branches(node) or []
        kind = common_kind([self._arg(v)[0] for v in values])
        if kind is None:
            return node
        target = SqlType(kind)
        for v in values:
            self._operand(v, target)
        if isinstance(node, exp.Nullif):
            self._operand(node.expression, target)
        return typed(node, target)

    def _quantified(self, node: exp.Binary) -> exp.Expr:
        """``v = ANY(array)`` / ``v < ALL(array)``: the array's elements read as the
        left side's type; DuckDB compares the lists (element-wise, then by length,
        as vector_cmp does)."""
        t = self.type_of(node.this)
        arr = _quantified_array(node.expression)
        if t is None or not t.is_vector or arr is None:
            return node
        kind = SqlType(t.name)
        if isinstance(arr, exp.Literal) and arr.is_string and meta_type(arr) is None:
            arr = arr.replace(_array_literal(arr, kind.array_of()))
        elif isinstance(arr, exp.Array):
            for e in list(arr.expressions):
                self._operand(e, kind)
        if kind.name == "sparsevec" and not isinstance(node, exp.EQ | exp.NEQ):
            return self._quantified_sparse(node, arr)
        return node

    def _quantified_sparse(self, node: exp.Binary, arr: exp.Expr) -> exp.Expr:
        """sparsevec ``<`` ANY/ALL: its stored form does not sort as pgvector orders the
        values, so each element is compared by ``pgv_sparsevec_lt`` (and kin) and the
        results combined with PostgreSQL's rules (empty array, NULL elements)."""
        quantifier = node.expression
        every = isinstance(quantifier, exp.All) or (
            isinstance(quantifier, exp.Anonymous) and quantifier.name.lower() == "all"
        )
        elem = typed(exp.column("pgv_elem"), SqlType("sparsevec"))
        body = exp.func(f"pgv_sparsevec_{_COMPARE_SUFFIX[type(node)]}", node.this.copy(), elem)
        results = exp.func(
            "list_transform",
            arr.copy(),
            exp.Lambda(this=body, expressions=[exp.to_identifier("pgv_elem")]),
        )
        template = _ALL_TEMPLATE if every else _ANY_TEMPLATE
        out = template.transform(
            lambda n: results.copy() if isinstance(n, exp.Column) and n.name == "pgv_r" else n
        )
        node.replace(out)
        return typed(out, BOOL)

    def _arith(self, node: exp.Binary) -> exp.Expr:
        if not self._has_vector(node.this, node.expression):
            return node
        kind = self._resolve_operator(_SYMBOL[type(node)], node, DENSE)
        self._operand(node.this, kind)
        self._operand(node.expression, kind)
        op = {exp.Add: "add", exp.Sub: "sub", exp.Mul: "mul", exp.DPipe: "concat"}[type(node)]
        name = f"pgv_{op}" if kind.name == "vector" else f"pgv_halfvec_{op}"
        out = typed(exp.func(name, node.this.copy(), node.expression.copy()), SqlType(kind.name))
        node.replace(out)
        return out

    def _aggregate(self, agg: exp.Expr) -> exp.Expr:
        t = self.type_of(agg.this)
        if t is not None and not t.is_array and t.name in ("bit", "bit varying"):
            fn = "avg" if isinstance(agg, exp.Avg) else "sum"
            raise function_error(fn, [SqlType(t.name).format()], None)
        if t is None or not t.is_vector:
            return agg
        if t.name == "sparsevec":
            fn = "avg" if isinstance(agg, exp.Avg) else "sum"
            raise errors.UndefinedFunction(
                f"function {fn}(sparsevec) does not exist",
                hint="No function matches the given name and argument types. "
                "You might need to add explicit type casts.",
            )
        kind = "avg" if isinstance(agg, exp.Avg) else "sum"
        name = f"pgv_{kind}_list" if t.name == "vector" else f"pgv_halfvec_{kind}_list"
        collected: exp.Expr = exp.func("list", agg.this.copy())
        target: exp.Expr = agg
        if isinstance(agg.parent, exp.Filter):
            # avg(v) FILTER (WHERE ...): the filter belongs to the list aggregate
            target = agg.parent
            collected = exp.Filter(this=collected, expression=target.expression.copy())
        out = typed(exp.func(name, collected), SqlType(t.name))
        target.replace(out)
        return out

    def _check_generic_aggregate(self, agg: exp.Expr) -> None:
        """min/max/string_agg have no vector, halfvec, sparsevec or bit variant
        (DuckDB would take them all)."""
        arg = agg.this
        if isinstance(arg, exp.Order | exp.Distinct):
            arg = arg.this if isinstance(arg, exp.Order) else arg.expressions[0]
        if arg is None or agg.expressions:
            return
        t = self.type_of(arg)
        if t is None or t.is_array or t.name not in (*KINDS, "bit", "bit varying"):
            return
        shown = [self._arg(arg)[1]]
        name = "min" if isinstance(agg, exp.Min) else "max" if isinstance(agg, exp.Max) else ""
        name = name or "string_agg"
        separator = agg.args.get("separator")
        if name == "string_agg" and separator is not None:
            shown.append(self._arg(separator)[1])
        raise function_error(name, shown, None)

    def _array(self, node: exp.Array) -> exp.Expr:
        # the elements' common type: ARRAY[vector, halfvec] is halfvec[]
        kind: SqlType | None = branch_result([self.type_of(e) for e in node.expressions])
        for e in node.expressions if kind is None else []:
            t = self.type_of(e)
            if t is not None and t.is_vector:
                kind = SqlType(t.name)
                break
        if kind is None:
            return node
        for e in list(node.expressions):
            self._operand(e, kind)
        if kind.name != "sparsevec":
            _unsized_elements(node, [self.type_of(e) for e in node.expressions])
        return typed(node, kind.array_of())

    def _cast_function(self, node: exp.Expr, name: str, args: list[exp.Expr]) -> exp.Expr:
        """pgvector's cast functions called by name: the typmod coercions
        ``vector(v, typmod, explicit)`` (halfvec, sparsevec), ``array_to_vector(arr, typmod,
        explicit)``, ``vector_to_halfvec(...)``, ``vector_to_float4(...)`` and the like."""
        if name in KINDS:
            if len(args) == 1:
                # vector(x) is a function-style cast
                cast = exp.Cast(this=args[0].copy(), to=exp.DataType.build(name, udt=True))
                node.replace(cast)
                return self._node(cast)
            source_name = target_name = name
        else:
            source_name, _, target_name = name.partition("_to_")
        info = [self._arg(a) for a in args]
        shown = [s for _, s in info]
        if (
            len(args) != 3
            or info[1][0] not in (INT4.name, "smallint", UNKNOWN, None)
            or info[2][0] not in (BOOL.name, UNKNOWN, None)
        ):
            raise function_error(name, shown, None)
        for a, (kind, _) in zip(args[1:], info[1:], strict=True):
            if kind == UNKNOWN and isinstance(a, exp.Literal):
                # '3' and 'true' are read as the parameters' integer and boolean
                scalar_literal(a.this, INT4 if a is args[1] else BOOL)
        typmod = _constant_int(args[1])
        if isinstance(args[1], exp.Literal) and args[1].is_string:
            typmod = _constant_int(exp.Literal.number(args[1].this.strip()))
        if typmod is None:
            raise errors.FeatureNotSupported(f"{name}() needs a constant typmod")
        if target_name == "float4":
            target = SqlType("real", is_array=True)
        else:
            target = SqlType(target_name, typmod)
        arg = args[0]
        if source_name == "array":
            kind = info[0][0]
            if kind == UNKNOWN:
                raise function_error(name, shown, "ambiguous")
            if kind is not None and kind not in _ARRAY_ARGUMENTS:
                raise function_error(name, shown, None)
            if _is_array_text(arg):
                doubles = _numeric_array_literal(arg.this.this)
            else:
                doubles = exp.cast(arg.copy(), "DOUBLE[]", dialect="duckdb")
            out: exp.Expr = typed(
                exp.func(f"pgv_array_to_{target_name}", doubles, exp.Literal.number(typmod)),
                target,
            )
        else:
            source = SqlType(source_name)
            if resolve([info[0][0]], (source_name,)) != source_name:
                raise function_error(name, shown, None)
            arg = self._operand(arg, source)
            if target.is_array:
                out = typed(exp.cast(arg.copy(), "FLOAT[]", dialect="duckdb"), target)
            else:
                out = self._convert(arg.copy(), source, target)
        node.replace(out)
        return out

    def _state_function(self, node: exp.Expr, name: str, args: list[exp.Expr]) -> exp.Expr:
        """pgvector's avg state functions on ``double precision[]`` states."""
        kinds = _STATE_FUNCS[name]
        info = [self._arg(a) for a in args]
        if len(args) != len(kinds) or any(
            k != "state" and resolve([a], (k,)) != k for k, (a, _) in zip(kinds, info, strict=False)
        ):
            raise function_error(name, [shown for _, shown in info], None)
        new_args: list[exp.Expr] = []
        for kind, a in zip(kinds, args, strict=True):
            untyped = isinstance(a, exp.Literal) and a.is_string and meta_type(a) is None
            if kind == "state":
                try:
                    arg = _numeric_array_literal(a.this) if untyped else a.copy()
                except errors.DataException as e:  # CheckStateArray: a 1-D array only
                    raise errors.InternalError(f"{name}: expected state array") from e
                new_args.append(exp.cast(arg, "DOUBLE[]", dialect="duckdb"))
            else:
                new_args.append(self._operand(a, SqlType(kind)).copy())
        udf, result = {
            "vector_accum": ("pgv_vector_accum", DOUBLES),
            "halfvec_accum": ("pgv_halfvec_accum", DOUBLES),
            "vector_combine": ("pgv_vector_combine", DOUBLES),
            "vector_avg": ("pgv_vector_avg_state", SqlType("vector")),
            "halfvec_avg": ("pgv_halfvec_avg_state", SqlType("halfvec")),
        }[name]
        out = typed(exp.func(udf, *new_args), result)
        node.replace(out)
        return out

    def _call(self, node: exp.Expr, name: str, args: list[exp.Expr]) -> exp.Expr:
        if name in _STATE_FUNCS:
            return self._state_function(node, name, args)
        if name in _CAST_FUNCS:
            return self._cast_function(node, name, args)
        spec = _FUNCS.get(name)
        if spec is None:
            return node
        family, default, result = spec
        n_vec = 1 if family in ("unary", "sub") else 2
        arg_info = [self._arg(a) for a in args]
        if len(args) != (3 if family == "sub" else n_vec) or not all(
            kind in _INTEGER_ARGUMENTS for kind, _ in arg_info[n_vec:]
        ):
            # subvector(vector, integer, integer): no implicit cast from numeric or bigint
            raise function_error(name, [shown for _, shown in arg_info], None)
        if family == "bit":
            if not all(kind in _BIT_ARGUMENTS for kind, _ in arg_info):
                raise function_error(name, [shown for _, shown in arg_info], None)
            kind = BIT
            for a in args[:n_vec]:
                self._operand(a, kind)  # an unknown literal goes through bit_in
        else:
            candidates = FUNCTION_KINDS.get(name, (default,))
            resolved = resolve([a for a, _ in arg_info[:n_vec]], candidates)
            if resolved is None or resolved == "ambiguous":
                raise function_error(name, [shown for _, shown in arg_info], resolved)
            kind = SqlType(resolved)
            for a in args[:n_vec]:
                self._operand(a, kind)
        new_args = [a.copy() for a in (node.args.get("expressions") or [])]
        if isinstance(node, exp.CosineDistance):
            new_args = [node.this.copy(), node.expression.copy()]
        udf = _udf_name(name, kind.name)
        if udf is None:
            raise errors.UndefinedFunction(
                f"function {name}({', '.join(kind.name for _ in args[:n_vec])}) does not exist",
                hint="No function matches the given name and argument types. "
                "You might need to add explicit type casts.",
            )
        rtype = result if isinstance(result, SqlType) else SqlType(kind.name)
        out = typed(exp.func(udf, *new_args), rtype)
        node.replace(out)
        return out


# types whose values a pgvector type reads by I/O conversion in an explicit cast
_VIA_TEXT = ("text", "character varying", "character", "name", "unknown")


def _texts_source(inner: exp.Expr, source: SqlType | None) -> bool:
    """A text value or an array of texts: cast to vector[] by array_in or by the
    element's input function (I/O conversion), not by DuckDB's list parsing."""
    if source is not None:
        return source.name in _VIA_TEXT
    if isinstance(inner, exp.Array):
        return all(_is_text(e) or isinstance(e, exp.Null) for e in inner.expressions)
    return _is_text(inner)


def _is_text(node: exp.Expr) -> bool:
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, exp.DPipe) or (isinstance(node, exp.Literal) and node.is_string)


def _unsized_elements(node: exp.Array, types: list[SqlType | None]) -> None:
    """ARRAY['[1,2]'::vector(2), '[1,2,3]']: elements of different typmods make an
    array of unconstrained vectors (transformArrayExpr keeps a typmod only when all
    agree); DuckDB's fixed-size FLOAT[n] would not mix, so each becomes a FLOAT[]."""
    if len({t.typmod for t in types if t is not None}) < 2:
        return
    for e in list(node.expressions):
        if not isinstance(e, exp.Null):
            to = exp.DataType.build("FLOAT[]", dialect="duckdb")
            e.replace(exp.Cast(this=e.copy(), to=to))  # exp.cast() sees FLOAT[2] as FLOAT[]


def _shown(t: SqlType) -> str:
    """A type as PostgreSQL names it in cast errors: without its typmod."""
    return SqlType(t.name, is_array=t.is_array).format()


def _pg_output_name(node: exp.Expr) -> str | None:
    """The column name PostgreSQL gives ``node`` as a select item (FigureColname), kept
    for the ``pgv_*`` call that replaces it."""
    return _figure_colname(node)[0]


def _figure_colname(node: exp.Expr) -> tuple[str | None, int]:
    """PostgreSQL's FigureColnameInternal: (name, strength). A cast names the column
    after its type only when its argument has no better name (strength <= 1): a column or
    a call keeps its name through casts, ``ARRAY[...]::vector`` is ``array``."""
    known = node.meta.get(NAME) if node.meta else None
    if isinstance(known, str):
        strength = node.meta.get(STRENGTH)
        return known, strength if isinstance(strength, int) else 2
    if isinstance(node, exp.Column):
        return node.name, 2
    if isinstance(node, exp.Array):
        return "array", 2
    if isinstance(node, exp.Paren):
        return _figure_colname(node.this)
    if isinstance(node, exp.Cast):
        name, strength = _figure_colname(node.this)
        if strength > 1:
            return name, strength
        try:
            t = sql_type(node.to)
        except errors.VecgresError:
            return None, 0
        return _TYPE_COLUMN_NAMES.get(t.name, t.name), 1
    if isinstance(node, VectorOp | exp.Binary):
        return "?column?", 0
    if isinstance(node, exp.CosineDistance):
        return "cosine_distance", 2
    if isinstance(node, exp.Anonymous):
        return node.name.lower(), 2
    if isinstance(node, exp.Avg | exp.Sum):
        return ("avg" if isinstance(node, exp.Avg) else "sum"), 2
    return None, 0


_TYPE_COLUMN_NAMES = {
    "bit varying": "varbit",
    "real": "float4",
    "double precision": "float8",
    "integer": "int4",
    "character varying": "varchar",
}


def alias_unnest_columns(ast: exp.Expr) -> None:
    """``FROM unnest(x) v`` names its one column ``v``, as PostgreSQL does; without an
    alias the columns are ``unnest`` (several arrays: ``unnest`` each, which the star
    expansion needs spelled out to count them)."""
    for node in ast.find_all(exp.Unnest):
        if not isinstance(node.parent, exp.From | exp.Join):
            continue
        alias = node.args.get("alias")
        if isinstance(alias, exp.TableAlias) and alias.columns:
            continue
        if not (isinstance(alias, exp.TableAlias) and alias.this is not None):
            alias = exp.TableAlias(this=exp.to_identifier("unnest"))
            node.set("alias", alias)
        if len(node.expressions) == 1:
            alias.set("columns", [exp.to_identifier(alias.name)])
        else:
            alias.set(
                "columns",
                [exp.to_identifier(f"unnest{i or ''}") for i in range(len(node.expressions))],
            )


def rewrite_array_fill(node: exp.Anonymous) -> exp.Expr | None:
    """``array_fill(v, ARRAY[n])``: a one-dimensional array of n copies."""
    args = node.expressions
    if len(args) != 2 or not isinstance(args[1], exp.Array) or len(args[1].expressions) != 1:
        return None
    n = args[1].expressions[0].copy()
    return exp.func(
        "list_transform",
        exp.func("range", n),
        exp.Lambda(this=args[0].copy(), expressions=[exp.to_identifier("_")]),
    )


_CAST_FUNCS = frozenset(
    {
        "vector",
        "halfvec",
        "sparsevec",
        "array_to_vector",
        "array_to_halfvec",
        "array_to_sparsevec",
        "vector_to_float4",
        "halfvec_to_float4",
        "vector_to_halfvec",
        "halfvec_to_vector",
        "vector_to_sparsevec",
        "halfvec_to_sparsevec",
        "sparsevec_to_vector",
        "sparsevec_to_halfvec",
    }
)

# pgvector's avg state functions: argument kinds ("state" = double precision[])
_STATE_FUNCS: dict[str, tuple[str, ...]] = {
    "vector_accum": ("state", "vector"),
    "halfvec_accum": ("state", "halfvec"),
    "vector_combine": ("state", "state"),
    "vector_avg": ("state",),
    "halfvec_avg": ("state",),
}
DOUBLES = SqlType("double precision").array_of()

_SYMBOL = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.DPipe: "||"}
# binary operators pgvector does not define for its types (DuckDB's lists would take some)
_NO_VECTOR_OPERATORS_SYMBOL: dict[type[exp.Expr], str] = {
    exp.Div: "/",
    exp.IntDiv: "/",
    exp.Mod: "%",
    exp.Pow: "^",
    exp.BitwiseAnd: "&",
    exp.BitwiseOr: "|",
    exp.BitwiseXor: "#",
    exp.BitwiseLeftShift: "<<",
    exp.BitwiseRightShift: ">>",
}
_NO_VECTOR_OPERATORS = tuple(_NO_VECTOR_OPERATORS_SYMBOL)
# array_to_vector() and friends are declared for these
_ARRAY_ARGUMENTS = ("integer[]", "real[]", "double precision[]", "numeric[]", "smallint[]")


def _constant_int(node: exp.Expr) -> int | None:
    if isinstance(node, exp.Neg):
        inner = _constant_int(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Literal) and node.name.lstrip("-").isdigit():
        return int(node.name)
    return None


# the suffix of each comparison's pgvector function (pgv_lt, pgv_sparsevec_ge, ...)
_COMPARE_SUFFIX: dict[type[exp.Expr], str] = {
    exp.EQ: "eq",
    exp.NEQ: "ne",
    exp.LT: "lt",
    exp.LTE: "le",
    exp.GT: "gt",
    exp.GTE: "ge",
}
# ``pgv_r``: the list of per-element results; PostgreSQL's ANY is true if one is true,
# else NULL if one is NULL, else false (ALL: false if one is false, ...); empty: false/true
_ANY_TEMPLATE: Final = sqlglot.parse_one(
    "CASE WHEN pgv_r IS NULL THEN NULL WHEN len(pgv_r) = 0 THEN FALSE"
    " WHEN list_bool_or(pgv_r) THEN TRUE WHEN list_count(pgv_r) < len(pgv_r) THEN NULL"
    " ELSE FALSE END",
    read="duckdb",
)
_ALL_TEMPLATE: Final = sqlglot.parse_one(
    "CASE WHEN pgv_r IS NULL THEN NULL WHEN len(pgv_r) = 0 THEN TRUE"
    " WHEN NOT list_bool_and(pgv_r) THEN FALSE WHEN list_count(pgv_r) < len(pgv_r) THEN NULL"
    " ELSE TRUE END",
    read="duckdb",
)


def _quantified_array(node: exp.Expr) -> exp.Expr | None:
    """The array of ``ANY (array)`` / ``ALL (array)`` (sqlglot reads ALL as a call)."""
    inner: exp.Expr | None = None
    if isinstance(node, exp.Any | exp.All):
        inner = node.this
    elif isinstance(node, exp.Anonymous) and node.name.lower() in ("all", "any", "some"):
        inner = node.expressions[0] if len(node.expressions) == 1 else None
    while isinstance(inner, exp.Paren):
        inner = inner.this
    if inner is None or isinstance(inner, exp.Subquery | exp.Select):
        return None
    return inner


# numeric and string builtins no pgvector type casts to implicitly (length(bit) exists)
_SCALAR_BUILTINS = (
    exp.Abs, exp.Sqrt, exp.Cbrt, exp.Ln, exp.Log, exp.Exp, exp.Floor, exp.Ceil, exp.Sign,
    exp.Round, exp.Trunc, exp.Pow, exp.Degrees, exp.Upper, exp.Lower, exp.Initcap,
    exp.Reverse, exp.Trim, exp.MD5, exp.Length, exp.ArraySize,
)  # fmt: skip
_BUILTIN_NAMES = {"arraysize": "array_length"}  # sqlglot's node key -> PostgreSQL's name
_VECTOR_ONLY = frozenset({"vector", "halfvec", "sparsevec"})
_VECTOR_OR_BIT = _VECTOR_ONLY | {"bit", "bit varying"}
# what PostgreSQL coerces implicitly to integer and to bit (varbit is binary-coercible)
_INTEGER_ARGUMENTS = frozenset({"integer", "smallint", UNKNOWN, None})
_BIT_ARGUMENTS = frozenset({"bit", "bit varying", UNKNOWN, None})


def _constant_type(node: exp.Expr) -> SqlType | None:
    """The type PostgreSQL gives a constant (``2`` integer, ``2.5`` numeric, ``ARRAY[1,2]``
    integer[]) where the binder has none."""
    if isinstance(node, exp.Neg):
        return _constant_type(node.this)
    if isinstance(node, exp.Boolean):
        return BOOL
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.this
        if text.isdigit():
            n = int(text)
            return INT4 if n < 2**31 else SqlType("bigint") if n < 2**63 else SqlType("numeric")
        return SqlType("numeric")
    if isinstance(node, exp.Array) and node.expressions:
        if all(isinstance(e, exp.Literal) and e.is_string for e in node.expressions):
            return SqlType("text", is_array=True)
        elems = [_constant_type(e) for e in node.expressions]
        if any(e is None for e in elems):
            return None
        names = {e.name for e in elems if e is not None}
        for name in ("numeric", "bigint", "integer", "boolean"):
            if names == {name} or (name != "boolean" and name in names and "boolean" not in names):
                return SqlType(name, is_array=True)
    return None


_COMPARE = ("lt", "le", "eq", "ne", "ge", "gt")
# name -> (argument family, default type for untyped literals, result type or "same")
_FUNCS: dict[str, tuple[str, str, SqlType | str]] = {
    "l2_distance": ("binary", "any", FLOAT8),
    "inner_product": ("binary", "any", FLOAT8),
    "cosine_distance": ("binary", "any", FLOAT8),
    "l1_distance": ("binary", "any", FLOAT8),
    "vector_dims": ("unary", "any", INT4),
    "vector_norm": ("unary", "vector", FLOAT8),
    "l2_norm": ("unary", "any", FLOAT8),
    "l2_normalize": ("unary", "any", "same"),
    "binary_quantize": ("unary", "any", BIT),
    "subvector": ("sub", "any", "same"),
    "vector_cmp": ("binary", "vector", INT4),
    "halfvec_cmp": ("binary", "halfvec", INT4),
    "sparsevec_cmp": ("binary", "sparsevec", INT4),
    "vector_l2_squared_distance": ("binary", "vector", FLOAT8),
    "vector_negative_inner_product": ("binary", "vector", FLOAT8),
    "vector_spherical_distance": ("binary", "vector", FLOAT8),
    "halfvec_l2_squared_distance": ("binary", "halfvec", FLOAT8),
    "halfvec_negative_inner_product": ("binary", "halfvec", FLOAT8),
    "sparsevec_l2_squared_distance": ("binary", "sparsevec", FLOAT8),
    "sparsevec_negative_inner_product": ("binary", "sparsevec", FLOAT8),
    "vector_add": ("binary", "vector", "same"),
    "vector_sub": ("binary", "vector", "same"),
    "vector_mul": ("binary", "vector", "same"),
    "vector_concat": ("binary", "vector", "same"),
    "halfvec_add": ("binary", "halfvec", "same"),
    "halfvec_sub": ("binary", "halfvec", "same"),
    "halfvec_mul": ("binary", "halfvec", "same"),
    "halfvec_concat": ("binary", "halfvec", "same"),
    "vector_lt": ("binary", "vector", BOOL),
    "vector_le": ("binary", "vector", BOOL),
    "vector_eq": ("binary", "vector", BOOL),
    "vector_ne": ("binary", "vector", BOOL),
    "vector_ge": ("binary", "vector", BOOL),
    "vector_gt": ("binary", "vector", BOOL),
    "hamming_distance": ("bit", "bit", FLOAT8),
    "jaccard_distance": ("bit", "bit", FLOAT8),
    "halfvec_spherical_distance": ("binary", "halfvec", FLOAT8),
    **{f"{t}_{c}": ("binary", t, BOOL) for t in ("halfvec", "sparsevec") for c in _COMPARE},
}


def _udf_name(name: str, kind: str) -> str | None:
    for prefix in ("vector_", "halfvec_", "sparsevec_"):
        if name.startswith(prefix) and name not in ("vector_dims", "vector_norm", "vector_cmp"):
            name = name[len(prefix) :]
            break
    if name in ("hamming_distance", "jaccard_distance"):
        return f"pgv_{name}"
    if name in ("cmp", "vector_cmp"):
        return "pgv_sparsevec_cmp" if kind == "sparsevec" else "pgv_vector_cmp"
    if name == "spherical_distance":
        return "pgv_spherical_distance" if kind in ("vector", "halfvec") else None
    if name in _COMPARE and kind in ("halfvec", "sparsevec"):
        return f"pgv_{name}" if kind == "halfvec" else f"pgv_sparsevec_{name}"
    if kind == "vector":
        return {
            "l2_distance": "pgv_l2_distance",
            "inner_product": "pgv_inner_product",
            "cosine_distance": "pgv_cosine_distance",
            "l1_distance": "pgv_l1_distance",
            "vector_dims": "pgv_vector_dims",
            "vector_norm": "pgv_vector_norm",
            "l2_norm": "pgv_vector_norm",
            "l2_normalize": "pgv_l2_normalize",
            "binary_quantize": "pgv_binary_quantize",
            "subvector": "pgv_subvector",
            "l2_squared_distance": "pgv_l2_squared_distance",
            "negative_inner_product": "pgv_negative_inner_product",
            "add": "pgv_add",
            "sub": "pgv_sub",
            "mul": "pgv_mul",
            "concat": "pgv_concat",
            "lt": "pgv_lt",
            "le": "pgv_le",
            "eq": "pgv_eq",
            "ne": "pgv_ne",
            "ge": "pgv_ge",
            "gt": "pgv_gt",
        }.get(name)
    if kind == "halfvec":
        return {
            "l2_distance": "pgv_halfvec_l2_distance",
            "inner_product": "pgv_halfvec_inner_product",
            "cosine_distance": "pgv_halfvec_cosine_distance",
            "l1_distance": "pgv_halfvec_l1_distance",
            "vector_dims": "pgv_vector_dims",
            "l2_norm": "pgv_vector_norm",
            "l2_normalize": "pgv_halfvec_l2_normalize",
            "binary_quantize": "pgv_binary_quantize",
            "subvector": "pgv_halfvec_subvector",
            "l2_squared_distance": "pgv_halfvec_l2_squared_distance",
            "negative_inner_product": "pgv_halfvec_negative_inner_product",
            "add": "pgv_halfvec_add",
            "sub": "pgv_halfvec_sub",
            "mul": "pgv_halfvec_mul",
            "concat": "pgv_halfvec_concat",
        }.get(name)
    if kind == "sparsevec":
        return {
            "l2_distance": "pgv_sparsevec_l2_distance",
            "inner_product": "pgv_sparsevec_inner_product",
            "cosine_distance": "pgv_sparsevec_cosine_distance",
            "l1_distance": "pgv_sparsevec_l1_distance",
            "l2_norm": "pgv_sparsevec_l2_norm",
            "l2_normalize": "pgv_sparsevec_l2_normalize",
            "l2_squared_distance": "pgv_sparsevec_l2_squared_distance",
            "negative_inner_product": "pgv_sparsevec_negative_inner_product",
        }.get(name)
    return None


def rewrite_vectors(ast: exp.Expr, base_type: TypeOf) -> exp.Expr:
    return VectorRewriter(base_type).rewrite(ast)


def storage_conversion(t: SqlType, src_expr: str, src_type: str) -> str:
    """DuckDB SQL turning an INSERT/UPDATE source value into a column of pgvector type ``t``."""
    up = src_type.upper()
    mod = t.typmod
    if t.name in BIT_TYPES:
        varying = "true" if t.name == "bit varying" else "false"
        return f"pgv_bit_in(CAST({src_expr} AS VARCHAR), {mod}, {varying})"
    if up in ("VARCHAR", "JSON", '"NULL"', "NULL"):
        return f"pgv_{t.name}_in(CAST({src_expr} AS VARCHAR), {mod})"
    if "[" in up:
        if up.startswith("FLOAT["):
            fn = {
                "vector": "pgv_check_typmod",
                "halfvec": "pgv_to_halfvec",
                "sparsevec": "pgv_to_sparsevec",
            }[t.name]
            return f"{fn}(CAST({src_expr} AS FLOAT[]), {mod})"
        return f"pgv_array_to_{t.name}(CAST({src_expr} AS DOUBLE[]), {mod})"
    raise errors.DatatypeMismatch(
        f"column is of type {t} but expression is of type {src_type.lower()}",
        hint="You will need to rewrite or cast the expression.",
    )


def _vector_array_text(inner: exp.Expr, source: SqlType, target: SqlType) -> exp.Expr:
    """``vector[]::text[]`` applies the element's output function to each element;
    ``vector[]::text`` is array_out over those texts: an element holding a comma or
    a brace is double-quoted (pgvector's texts hold no quote, backslash or space)."""
    elem = exp.column("pgv_elem")
    text: exp.Expr = (
        elem if source.name == "sparsevec" else exp.func(f"pgv_{source.name}_out", elem)
    )
    if target.is_array:
        lam = exp.Lambda(this=text, expressions=[exp.to_identifier("pgv_elem")])
        return typed(exp.func("list_transform", inner, lam), target)
    quoted = sqlglot.parse_one(
        "CASE WHEN pgv_elem IS NULL THEN 'NULL' WHEN regexp_matches(t, '[,{}]') "
        "THEN '\"' || t || '\"' ELSE t END",
        dialect="duckdb",
    )
    for col in quoted.find_all(exp.Column):
        if col.name == "t":
            col.replace(text.copy())
    lam = exp.Lambda(this=quoted, expressions=[exp.to_identifier("pgv_elem")])
    body = exp.func(
        "array_to_string", exp.func("list_transform", inner, lam), exp.Literal.string(",")
    )
    out: exp.Expr = exp.DPipe(
        this=exp.DPipe(this=exp.Literal.string("{"), expression=body),
        expression=exp.Literal.string("}"),
    )
    if target.name == "character varying" and target.typmod > 4:
        # an explicit cast to varchar(n) cuts the text (VARHDRSZ + n typmod)
        out = exp.func("left", exp.paren(out), exp.Literal.number(target.typmod - 4))
    return typed(exp.paren(out), target)
