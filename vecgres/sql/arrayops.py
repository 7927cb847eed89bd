"""Array functions and operators where DuckDB's lists differ from PostgreSQL's arrays."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from vecgres import errors
from vecgres.sql.calltypes import note_call_types
from vecgres.types import SqlType

TypeOf = Callable[[exp.Expr], SqlType | None]


def _call(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _is_array(node: exp.Expr, type_of: TypeOf) -> bool:
    if isinstance(node, exp.Array):
        return True
    if isinstance(node, exp.Paren):
        return _is_array(node.this, type_of)
    t = type_of(node)
    return t is not None and t.is_array


def _null_if_empty(arr: exp.Expr, value: exp.Expr) -> exp.Expr:
    # PostgreSQL's empty array has no dimensions: its length and dims are NULL
    return exp.Case(
        ifs=[
            exp.If(
                this=exp.EQ(this=exp.func("len", arr), expression=exp.Literal.number(0)),
                true=exp.null(),
            )
        ],
        default=value,
    )


# types PostgreSQL cannot subscript that DuckDB would (vectors are lists, bit strings text)
_NOT_SUBSCRIPTABLE = ("vector", "halfvec", "sparsevec", "bit", "bit varying")


def _check_subscripts(ast: exp.Expr, type_of: TypeOf) -> None:
    for bracket in ast.find_all(exp.Bracket):
        t = type_of(bracket.this)
        if t is not None and not t.is_array and t.name in _NOT_SUBSCRIPTABLE:
            raise errors.DatatypeMismatch(
                f"cannot subscript type {t.name} because it does not support subscripting"
            )


def _named(out: exp.Expr, call: exp.Expr) -> exp.Expr:
    """``out``, replacing the call ``call``, keeps the column name PostgreSQL gives it."""
    name = "array_length" if isinstance(call, exp.ArraySize) else call.name.lower()
    out.meta["vg_name"] = name
    return out


def _subscript_names(ast: exp.Expr) -> None:
    """``a[1]`` is named after what it subscripts (FigureColname): ``a``, ``array``,
    the function's name; sqlglot aliased it after the index."""
    for alias in list(ast.find_all(exp.Alias)):
        ident = alias.args.get("alias")
        if not isinstance(alias.this, exp.Bracket) or not isinstance(ident, exp.Identifier):
            continue
        index = alias.this.expressions[0] if alias.this.expressions else None
        if not isinstance(index, exp.Literal) or ident.name != index.name:
            continue  # the user's own alias (sqlglot names a subscript after its index)
        base = alias.this.this
        while isinstance(base, exp.Paren | exp.Bracket):
            base = base.this
        if isinstance(base, exp.Column):
            name = base.name
        elif isinstance(base, exp.Anonymous):
            name = base.name.lower()
            if name.startswith("vgc_"):  # a catalog function's UDF: vgc_<name>_<arity>
                name = name[len("vgc_") :].rsplit("_", 1)[0]
        elif isinstance(base, exp.Array):
            name = "array"
        else:
            name = "?column?"
        # only the column the client sees: the alias itself stays (ORDER BY 1 reads it)
        alias.meta["vg_name"] = name


def rewrite_arrays(ast: exp.Expr, type_of: TypeOf) -> None:
    _check_subscripts(ast, type_of)
    _subscript_names(ast)
    note_call_types(ast, type_of)
    for size in list(ast.find_all(exp.ArraySize)):
        arr, dim = size.this, size.expression
        arr_type = type_of(arr)
        if dim is None or (arr_type is not None and arr_type.is_vector):
            continue  # array_length(vector, …) does not exist: vector_rewrite says so
        length = _null_if_empty(arr.copy(), exp.func("len", arr.copy()))
        is_one = exp.EQ(this=dim.copy(), expression=exp.Literal.number(1))
        size.replace(
            _named(exp.Case(ifs=[exp.If(this=is_one, true=length)], default=exp.null()), size)
        )
    for call in list(ast.find_all(exp.Anonymous)):
        name = call.name.lower()
        args = [a.copy() for a in call.expressions]
        if name == "array_dims" and len(args) == 1:
            dims = exp.DPipe(
                this=exp.DPipe(
                    this=exp.Literal.string("[1:"),
                    expression=exp.cast(exp.func("len", args[0]), "VARCHAR", dialect="duckdb"),
                ),
                expression=exp.Literal.string("]"),
            )
            call.replace(_named(_null_if_empty(args[0].copy(), dims), call))
        elif name == "array_replace" and len(args) == 3:
            x = exp.to_identifier("x")
            body = exp.Case(
                ifs=[
                    exp.If(
                        this=exp.NullSafeEQ(this=exp.column("x"), expression=args[1]),
                        true=args[2],
                    )
                ],
                default=exp.column("x"),
            )
            lam = exp.Lambda(this=body, expressions=[x])
            call.replace(_named(_call("list_transform", args[0], lam), call))
        elif (
            name in ("all", "any", "some")
            and len(args) == 1
            and not isinstance(args[0], exp.Subquery | exp.Select)
        ):
            _null_array_quantifier(call, args[0])
    for quant in list(ast.find_all(exp.All, exp.Any)):
        inner = quant.this
        if not isinstance(inner, exp.Subquery | exp.Select) and inner is not None:
            _null_array_quantifier(quant, inner.copy())
    for contains in list(ast.find_all(exp.ArrayContainsAll)):
        left, right = contains.this, contains.expression
        if _is_array(left, type_of) or _is_array(right, type_of):
            # NULL elements never match in PostgreSQL's containment
            no_nulls = exp.EQ(
                this=_call("list_count", right.copy()), expression=exp.func("len", right.copy())
            )
            contains.replace(exp.Paren(this=exp.And(this=contains.copy(), expression=no_nulls)))
    for pipe in list(ast.find_all(exp.DPipe)):
        left, right = pipe.this, pipe.expression
        la, ra = _is_array(left, type_of), _is_array(right, type_of)
        if la and not ra:
            pipe.replace(_call("list_append", left.copy(), right.copy()))
        elif ra and not la:
            pipe.replace(_call("list_prepend", left.copy(), right.copy()))
        elif la and ra:
            pipe.replace(_call("list_concat", left.copy(), right.copy()))
    for fn in list(ast.find_all(exp.Unnest)):
        if len(fn.expressions) > 1 and isinstance(fn.parent, exp.From | exp.Join):
            _zip_unnest(fn)


def _null_array_quantifier(node: exp.Expr, arr: exp.Expr) -> None:
    """x op ALL/ANY (array) is NULL for a NULL array (DuckDB says true/false)."""
    cmp = node.parent
    if not isinstance(cmp, exp.Binary):
        return
    guarded = exp.Case(
        ifs=[exp.If(this=exp.Is(this=arr, expression=exp.null()), true=exp.null())],
        default=cmp.copy(),
    )
    guarded.meta["vg_name"] = "?column?"  # still the comparison, to a client
    cmp.replace(guarded)


def _zip_unnest(fn: exp.Unnest) -> None:
    """unnest(a, b, ...) in FROM: the arrays side by side, shorter ones padded with NULL."""
    alias = fn.args.get("alias")
    names = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
    projections = []
    for index, arr in enumerate(fn.expressions):
        name = names[index] if index < len(names) else f"unnest{index + 1}"
        projections.append(exp.alias_(exp.Unnest(expressions=[arr.copy()]), name))
    offset = fn.args.get("offset")
    if isinstance(offset, exp.Identifier):
        # WITH ORDINALITY: 1..length of the longest array, zipped like the arrays
        longest = exp.func("greatest", *(exp.func("len", a.copy()) for a in fn.expressions))
        ordinal = exp.func(
            "range", exp.Literal.number(1), exp.Add(this=longest, expression=exp.Literal.number(1))
        )
        projections.append(exp.alias_(exp.Unnest(expressions=[ordinal]), offset.name))
    sub = exp.Subquery(this=exp.select(*projections), alias=alias.copy() if alias else None)
    fn.replace(sub)


__all__ = ["rewrite_arrays"]
