"""Rewriting client catalog SQL onto vecgres's catalog relations and functions.

Runs on the parsed statement before binding: drops ``pg_catalog.`` qualifiers,
``COLLATE pg_catalog.default`` and ``OPERATOR(pg_catalog.op)`` spellings,
turns ``::regclass``-style casts into lookups, and renames catalog functions
to the session's ``vgc_*`` functions. A catalog function vecgres does not
have fails with 0A000 naming it, rather than with DuckDB's own answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlglot import exp

from vecgres import errors
from vecgres.sql.pgcatalog import REG_TYPES as _REG_TYPES
from vecgres.sql.pgcatalog import SYSTEM_SCHEMAS
from vecgres.sql.pgcatalog.signatures import MACROS, SIGNATURES, udf_name

_PRIVILEGE_FUNCTIONS = ("has_table_privilege", "has_schema_privilege", "has_database_privilege")

# functions that answer the same for every object vecgres has
_CONSTANT: dict[str, exp.Expr] = {
    **{
        name: exp.true()
        for name in (
            "has_any_column_privilege",
            "has_column_privilege",
            "has_function_privilege",
            "has_sequence_privilege",
            "has_type_privilege",
            "pg_type_is_visible",
            "pg_function_is_visible",
            "pg_collation_is_visible",
            "pg_opclass_is_visible",
        )
    },
    # vecgres counts no scans, as PostgreSQL with track_counts off: every counter is 0
    "pg_stat_get_numscans": exp.cast(exp.Literal.number(0), "BIGINT"),
    # no comments on shared objects (COMMENT ON DATABASE/ROLE is not supported), ...
    **{
        name: exp.cast(exp.null(), "VARCHAR")
        for name in (
            "shobj_description",
            "pg_get_triggerdef",
            "pg_get_partkeydef",
            "pg_get_statisticsobjdef_columns",
            # pg_rewrite has no rows here, and no rule OID has a definition
            "pg_get_ruledef",
            # void: vecgres takes no advisory locks, so there are none to release
            "pg_advisory_unlock_all",
        )
    },
}

# catalog functions vecgres does not have (so DuckDB's look-alikes never answer)
_MISSING = frozenset(
    {
        "pg_get_keywords",  # in a select list; in FROM it is the keyword list
        "pg_partition_tree",
        "pg_get_function_sqlbody",
        "pg_show_all_settings",
        "pg_get_statisticsobjdef",
    }
)

# pg_index's int2vector/oidvector columns (kept as lists; see pgcatalog.shown_type)
_VECTOR_COLUMNS = frozenset({"indkey", "indoption", "indclass", "indcollation"})

# functions answering subscripts, which start at 0 for int2vector/oidvector
_SUBSCRIPT_FUNCS = frozenset({"array_lower", "array_upper", "generate_subscripts"})


def _is_vector_column(node: exp.Expr) -> bool:
    name = node.name.lower() if isinstance(node, exp.Column) else ""
    return name in _VECTOR_COLUMNS or name == "proargtypes"


# functions whose first parameter is regclass
_REGCLASS_FIRST = frozenset(
    {"pg_relation_size", "pg_total_relation_size", "pg_table_size", "pg_indexes_size"}
)

_SEQUENCE_FUNCS = frozenset({"nextval", "currval", "setval"})

# same function, DuckDB's name
_RENAMED: dict[str, str] = {}

_OPERATORS: dict[str, type[exp.Expr]] = {
    "~": exp.RegexpLike,
    "~*": exp.RegexpILike,
    "=": exp.EQ,
    "<>": exp.NEQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    ">": exp.GT,
    "<=": exp.LTE,
    ">=": exp.GTE,
    "~~": exp.Like,
    "~~*": exp.ILike,
}


def rewrite(ast: exp.Expr) -> None:
    """Rewrite ``ast`` in place.

    One walk collects the nodes of interest (this runs for every statement, so
    it must stay cheap); the rewrites then reuse nodes rather than copy them,
    so nodes collected inside a rewritten one stay in the tree.
    """
    found: dict[type[exp.Expr], list[exp.Expr]] = {}
    for node in ast.walk():
        for cls in _COLLECTED:
            if isinstance(node, cls):
                found.setdefault(cls, []).append(node)
                break
    if not found:
        return
    for select in found.get(exp.Select, []):
        _name_outputs(select)
    for bracket in found.get(exp.Bracket, []):
        if _is_vector_column(bracket.this) and len(bracket.expressions) == 1:
            # int2vector/oidvector subscripts start at 0; the lists here at 1
            index = bracket.expressions[0]
            bracket.set("expressions", [exp.Add(this=index, expression=exp.Literal.number(1))])
    for table in found.get(exp.Table, []):
        if (
            isinstance(table.this, exp.Anonymous)
            and table.this.name.lower() == "pg_partition_ancestors"
            and len(table.this.expressions) == 1
        ):
            # no partitioning: a table's only "ancestor" is itself (psql's \d asks)
            assert isinstance(table, exp.Table)
            found[exp.Func] = [f for f in found.get(exp.Func, []) if f is not table.this]
            table.replace(_ancestors(table))
            continue
        if isinstance(table.this, exp.Anonymous) and table.this.name.lower() == "pg_get_keywords":
            assert isinstance(table, exp.Table)
            found[exp.Func] = [f for f in found.get(exp.Func, []) if f is not table.this]
            table.replace(_keywords(table))
            continue
        if isinstance(table.this, exp.StringToArray):
            # a scalar function in FROM is one row holding its value
            alias = table.args.get("alias")
            name = alias.name if isinstance(alias, exp.TableAlias) and alias.name else "s"
            value = exp.alias_(table.this, name, quoted=True)
            table.replace(
                exp.Subquery(
                    this=exp.select(value), alias=exp.TableAlias(this=exp.to_identifier(name))
                )
            )
            continue
        if isinstance(table.this, exp.Anonymous) and table.this.name.lower() in _SELECT_LIST_SRFS:
            found[exp.Func] = [f for f in found.get(exp.Func, []) if f is not table.this]
            assert isinstance(table, exp.Table)
            table.replace(_srf_subquery(table))
            continue
        if isinstance(table.this, exp.Func):
            # pg_catalog.generate_series(...) s: the alias also names its one column
            if table.text("db") in SYSTEM_SCHEMAS:
                table.set("db", None)
            alias = table.args.get("alias")
            if isinstance(alias, exp.TableAlias) and not alias.columns and alias.this:
                alias.set("columns", [exp.to_identifier(alias.name)])
    for col in found.get(exp.Column, []):
        assert isinstance(col, exp.Column)
        if col.args.get("db") is not None and col.text("db") in SYSTEM_SCHEMAS:
            col.set("db", None)
            col.set("catalog", None)
        elif (
            not col.table
            and col.name.lower() == "user"
            and not col.this.args.get("quoted")
            and not isinstance(col.parent, exp.Dot)
        ):
            col.replace(_call(udf_name("current_user", 0), []))
    for node in found.get(exp.Collate, []):
        node.replace(node.this)
    for op in found.get(exp.Operator, []):
        assert isinstance(op, exp.Operator)
        _operator(op)
    for dot in found.get(exp.Dot, []):
        if (
            isinstance(dot.this, exp.Identifier)
            and dot.this.name.lower() in SYSTEM_SCHEMAS
            and isinstance(dot.expression, exp.Func)
        ):
            dot.replace(dot.expression)
    for func in found.get(exp.Func, []):
        assert isinstance(func, exp.Func)
        _function(func)
    for dt in found.get(exp.DataType, []):
        assert isinstance(dt, exp.DataType)
        _qualified_type(dt)
    # innermost first, so an outer cast sees an already rewritten inner one
    for cast in reversed(found.get(exp.Cast, [])):
        assert isinstance(cast, exp.Cast)
        _cast(cast)


# checked in this order: Cast and Operator are Funcs too in sqlglot's hierarchy
_COLLECTED: tuple[type[exp.Expr], ...] = (
    exp.Bracket,
    exp.Select,
    exp.Table,
    exp.Column,
    exp.Collate,
    exp.Operator,
    exp.Dot,
    exp.Cast,
    exp.DataType,
    exp.Func,
)


def _call(name: str, args: Sequence[exp.Expr]) -> exp.Expr:
    # not exp.func(): that copies the arguments, detaching nodes still to be rewritten
    return exp.Anonymous(this=name, expressions=list(args))


def _name_outputs(select: exp.Expr) -> None:
    """Alias projections the rewrite would rename, with the name PostgreSQL gives them."""
    out = []
    changed = False
    for proj in select.expressions:
        name = _pg_name(proj)
        if name is not None:
            proj = exp.Alias(this=proj, alias=exp.to_identifier(name, quoted=True))
            changed = True
        out.append(proj)
    if changed:
        select.set("expressions", out)


def _pg_name(proj: exp.Expr) -> str | None:
    if isinstance(proj, exp.Alias):
        return None
    if isinstance(proj, exp.Dot) and isinstance(proj.expression, exp.Func):
        return _func_name(proj.expression)
    if isinstance(proj, exp.Cast):
        target = _cast_target(proj)
        if target is None:
            return None
        inner = proj.this
        while isinstance(inner, exp.Cast):
            inner = inner.this
        if isinstance(inner, exp.Column):
            return inner.name
        return target
    if isinstance(proj, exp.Func):
        name = _func_name(proj)
        if name in _CONSTANT or (name, len(_args(proj))) in SIGNATURES:
            return name
        if isinstance(proj, _SESSION_NODES):
            return name
    if isinstance(proj, exp.Column) and not proj.table and proj.name.lower() == "user":
        return None if proj.this.args.get("quoted") else "user"
    return None


_SESSION_NODES = (
    exp.CurrentSchema,
    exp.CurrentSchemas,
    exp.CurrentUser,
    exp.SessionUser,
    exp.CurrentDatabase,
    exp.CurrentCatalog,
    exp.CurrentVersion,
)
_SESSION_NAMES: dict[type[exp.Expr], str] = {
    exp.CurrentSchema: "current_schema",
    exp.CurrentSchemas: "current_schemas",
    exp.CurrentUser: "current_user",
    exp.SessionUser: "session_user",
    exp.CurrentDatabase: "current_database",
    exp.CurrentCatalog: "current_catalog",
    exp.CurrentVersion: "version",
}


def _func_name(func: exp.Expr) -> str:
    if isinstance(func, exp.Anonymous):
        return func.name.lower()
    for cls, name in _SESSION_NAMES.items():
        if isinstance(func, cls):
            return name
    return func.sql_name().lower() if isinstance(func, exp.Func) else ""


def _args(func: exp.Expr) -> list[exp.Expr]:
    if isinstance(func, exp.Anonymous):
        return list(func.expressions)
    return list(func.iter_expressions())


def _operator(op: exp.Operator) -> None:
    symbol = str(op.args.get("operator") or "").split(".")[-1].strip()
    negate = symbol.startswith("!") and symbol not in ("!=",)
    base = symbol[1:] if negate else symbol
    cls = _OPERATORS.get(base)
    if cls is None:
        raise errors.FeatureNotSupported(f"operator {symbol} is not supported")
    node: exp.Expr = cls(this=op.this, expression=op.expression)
    if negate:
        node = exp.Not(this=node)
    op.replace(node)


def _function(func: exp.Func, shift: bool = True) -> None:
    if isinstance(func, _SESSION_NODES):
        name = _SESSION_NAMES[type(func)]
        if name == "current_catalog":
            name = "current_database"
        args = list(func.iter_expressions()) if name == "current_schemas" else []
        func.replace(_call(udf_name(name, len(args)), args))
        return
    if isinstance(func, exp.StringToArray):
        parts = [func.this, func.expression, func.args.get("null")]
        args = [a for a in parts if a is not None]
        func.replace(_call(udf_name("string_to_array", len(args)), args))
        return
    if isinstance(func, exp.Format):
        spelled = _format(func)
        if spelled is not None:
            func.replace(spelled)
        return
    if not isinstance(func, exp.Anonymous):
        return
    name = func.name.lower()
    args = list(func.expressions)
    if name == "format" and args:
        # pg_catalog.format(...) (psql's \dAc, \dAf) parses as a call, not exp.Format
        fmt = exp.Format(this=args[0], expressions=args[1:])
        spelled = _format(fmt)
        if spelled is None:  # no %I/%L: printf, as bind.py does for an unqualified format
            casts = [exp.cast(a, "VARCHAR", dialect="duckdb", copy=False) for a in args[1:]]
            spelled = _call("printf", [args[0], *casts])
        func.replace(spelled)
        return
    if shift and name in _SUBSCRIPT_FUNCS and len(args) == 2 and _is_vector_column(args[0]):
        # array_lower(indkey, 1) is 0 in PostgreSQL: int2vector/oidvector start at 0
        inner = exp.Anonymous(this=func.this, expressions=args)
        func.replace(exp.Paren(this=exp.Sub(this=inner, expression=exp.Literal.number(1))))
        _function(inner, shift=False)
    elif name in _RENAMED:
        func.set("this", _RENAMED[name])
    elif name in _CONSTANT:
        func.replace(_CONSTANT[name].copy())
    elif (name, len(args)) in SIGNATURES or (name, len(args)) in MACROS:
        if name in _REGCLASS_FIRST and isinstance(args[0], exp.Literal) and args[0].is_string:
            # pg_relation_size('items'): a string literal is read as a regclass
            first = _call(udf_name("regclass_in", 1), [args[0]])
            func.replace(_call(udf_name(name, len(args)), [first, *args[1:]]))
            return
        if name in _PRIVILEGE_FUNCTIONS:  # a name or an oid: the function takes text
            args = [exp.cast(a, "VARCHAR", copy=False) for a in args]
        elif name == "obj_description" and len(args) == 2:
            # an oid, or a regproc column (pg_operator.oprcode holds the function's name,
            # and pgvector's functions have no comments): NULL for a name
            args = [exp.TryCast(this=args[0], to=exp.DataType.build("BIGINT")), args[1]]
        func.replace(_call(udf_name(name, len(args)), args))
    elif name == "pg_partition_ancestors" and len(args) == 1:
        func.replace(_call(udf_name("regclass_in", 1), [args[0]]))
    elif name == "_pg_expandarray" and len(args) == 1:
        func.replace(_expandarray(args[0]))
    elif name in _MISSING or (name.startswith("pg_") and name in _unsupported()):
        raise errors.FeatureNotSupported(f"function {name}() is not supported by vecgres")


def _unsupported() -> frozenset[str]:
    from vecgres.sql.pgcatalog.unsupported import UNSUPPORTED

    return UNSUPPORTED


def _cast_target(cast: exp.Cast) -> str | None:
    """The reg* or ``pg_catalog.``-qualified type a cast goes to, as a lower-case name.

    None for every other cast (``::vector`` included): those are the binder's.
    """
    to = cast.to
    if isinstance(to, exp.ObjectIdentifier):
        return to.name.lower()
    if to.this == exp.DataType.Type.USERDEFINED:
        kind = to.args.get("kind")
        if isinstance(kind, exp.Dot):
            return str(kind.expression.name).lower()
        name = str(getattr(kind, "name", kind)).lower() if kind is not None else ""
        if name in _REG_TYPES:
            return name
    return None


_PG_TYPES = {
    "text": "TEXT",
    "name": "VARCHAR",
    "char": "VARCHAR",
    "varchar": "VARCHAR",
    "bpchar": "VARCHAR",
    "int2": "SMALLINT",
    "int4": "INTEGER",
    "int8": "BIGINT",
    "bool": "BOOLEAN",
    "float4": "REAL",
    "float8": "DOUBLE",
    "oid": "BIGINT",
    "numeric": "DECIMAL(38,10)",
}


def _cast(cast: exp.Cast) -> None:
    inner_col = cast.this
    if (
        isinstance(inner_col, exp.Column)
        and inner_col.name.lower() in _VECTOR_COLUMNS
        and (cast.to.is_type(*exp.DataType.TEXT_TYPES) or _cast_target(cast) in ("text", "name"))
    ):
        # pg_index.indkey::text: an int2vector/oidvector prints as "1 2", not as a list
        cast.replace(_call("array_to_string", [inner_col, exp.Literal.string(" ")]))
        return
    target = _cast_target(cast)
    if target is None:
        return
    parent = cast.parent
    if isinstance(parent, exp.Anonymous) and parent.name.lower() in _SEQUENCE_FUNCS:
        return  # nextval('s'::regclass): the binder resolves the sequence by name
    inner = cast.this.copy()
    to_text = _wants_text(cast)
    if target == "oid":
        cast.replace(exp.cast(inner, "BIGINT", dialect="duckdb"))
        return
    if target == "regoperator":  # psql's \dAo: shown as text, "<->(vector,vector)"
        oid = exp.cast(inner, "BIGINT", dialect="duckdb")
        cast.replace(_call(udf_name("regoperator_out", 1), [oid]))
        return
    if target in ("regproc", "regprocedure"):
        if isinstance(inner, exp.Literal) and inner.is_string:
            cast.replace(exp.Literal.string(inner.this.split(".")[-1].split("(")[0]))
        else:
            # a name stays a name; an OID (pg_amproc.amproc, p.oid) becomes the function
            text = exp.cast(inner, "VARCHAR", dialect="duckdb")
            cast.replace(_call(udf_name(f"{target}_out", 1), [text]))
        return
    if target in ("regclass", "regtype", "regnamespace", "regrole"):
        if isinstance(inner, exp.Parameter):
            # a name or an OID in text form; the _in functions take both
            inner = exp.cast(inner, "VARCHAR", dialect="duckdb")
        if (isinstance(inner, exp.Literal) and inner.is_string) or _is_text_expr(inner):
            value: exp.Expr = _call(udf_name(f"{target}_in", 1), [inner])
        else:
            value = exp.cast(inner, "BIGINT", dialect="duckdb")
        if to_text:
            value = _call(udf_name(f"{target}_out", 1), [value])
        cast.replace(value)
        return
    duck = _PG_TYPES.get(target)
    if duck is None:
        if isinstance(cast.to.args.get("kind"), exp.Dot):
            cast.set("to", exp.DataType.build(target, dialect="postgres"))
        return
    cast.set("to", exp.DataType.build(duck, dialect="duckdb"))


def _qualified_type(dt: exp.DataType) -> None:
    """``pg_catalog.int2`` (inside ``int2[]`` too) as the plain type."""
    kind = dt.args.get("kind")
    if dt.this != exp.DataType.Type.USERDEFINED or not isinstance(kind, exp.Dot):
        return
    name = kind.expression.name.lower()
    if name in _REG_TYPES or (isinstance(dt.parent, exp.Cast) and dt.arg_key == "to"):
        return  # the cast rewrite handles these
    dt.replace(exp.DataType.build(_PG_TYPES.get(name, name), dialect="duckdb"))


def _is_text_expr(node: exp.Expr) -> bool:
    if isinstance(node, exp.Concat | exp.DPipe | exp.Format):
        return True  # format(...), a || b: text
    return isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEXT_TYPES)


def _wants_text(cast: exp.Cast) -> bool:
    """Whether a reg* value is shown (its name) rather than compared (its OID)."""
    parent = cast.parent
    if isinstance(parent, exp.Cast):
        return _cast_target(parent) in ("text", "name", "varchar") or parent.to.is_type(
            *exp.DataType.TEXT_TYPES
        )
    if isinstance(parent, exp.Alias):
        parent = parent.parent
    return (isinstance(parent, exp.Select) and cast in parent.expressions) or (
        isinstance(cast.parent, exp.Alias) and isinstance(cast.parent.parent, exp.Select)
    )


def _expandarray(array: exp.Expr) -> exp.Expr:
    """``information_schema._pg_expandarray(a)``: one ``(x, n)`` row per element, n from 1.

    A set-returning call in the select list, as pgjdbc uses it; DuckDB zips
    several UNNESTs of one select list like PostgreSQL zips its SRFs.
    """
    return exp.Struct(
        expressions=[
            exp.PropertyEQ(this=exp.to_identifier("x"), expression=exp.Unnest(expressions=[array])),
            exp.PropertyEQ(
                this=exp.to_identifier("n"),
                expression=exp.Anonymous(
                    this="generate_subscripts", expressions=[array.copy(), exp.Literal.number(1)]
                ),
            ),
        ]
    )


_FORMAT_SPEC = re.compile(r"%(?:(\d+)\$)?([sIL%])")


def _format(func: exp.Format) -> exp.Expr | None:
    """``format('%I.%I', a, b)`` with %I/%L as a concatenation; None leaves it to printf.

    Only literal format strings with ``%I`` or ``%L`` (quote_ident/quote_literal),
    plus ``%s``, ``%%`` and ``n$`` positions; width and ``-`` flags are printf's.
    """
    template = func.this
    if not (isinstance(template, exp.Literal) and template.is_string):
        return None
    text = template.this
    if not re.search(r"%(\d+\$)?[IL]", text):
        return None
    values = list(func.expressions)
    pieces: list[exp.Expr] = []
    last = 0
    arg = 0
    for m in _FORMAT_SPEC.finditer(text):
        if text[last : m.start()]:
            pieces.append(exp.Literal.string(text[last : m.start()]))
        last = m.end()
        position, kind = m.group(1), m.group(2)
        if kind == "%":
            pieces.append(exp.Literal.string("%"))
            continue
        index = int(position) - 1 if position else arg
        arg = index + 1
        if index >= len(values):
            raise errors.InvalidParameterValue("too few arguments for format()")
        value = exp.cast(values[index].copy(), "VARCHAR", dialect="duckdb")
        if kind == "I":
            pieces.append(_call(udf_name("quote_ident", 1), [value]))
        elif kind == "L":
            quoted = _call(udf_name("quote_literal", 1), [value])
            pieces.append(exp.func("coalesce", quoted, exp.Literal.string("NULL")))
        else:
            pieces.append(exp.func("coalesce", value, exp.Literal.string("")))
    if "%" in text[last:]:
        return None  # a spec this does not know: printf's error
    if text[last:]:
        pieces.append(exp.Literal.string(text[last:]))
    return exp.Concat(expressions=pieces or [exp.Literal.string("")])


# set-returning functions DuckDB has only in a select list (integer results in PostgreSQL)
_SELECT_LIST_SRFS = frozenset({"generate_subscripts"})


def _srf_subquery(table: exp.Table) -> exp.Expr:
    """``FROM generate_subscripts(a, 1) k`` as ``FROM (SELECT generate_subscripts(a, 1) AS k) k``.

    DuckDB has the function in a select list only; the subquery may still refer
    to earlier FROM items (DuckDB joins such subqueries laterally).
    """
    func = table.this
    alias = table.args.get("alias")
    columns = list(alias.columns) if isinstance(alias, exp.TableAlias) else []
    name = alias.name if isinstance(alias, exp.TableAlias) and alias.name else func.name.lower()
    column = columns[0].name if columns else name
    args = list(func.expressions)
    call: exp.Expr = exp.cast(exp.Anonymous(this=func.name.lower(), expressions=args), "INT")
    if args and _is_vector_column(args[0]):
        call = exp.Sub(this=call, expression=exp.Literal.number(1))
    select = exp.select(exp.alias_(call, column, quoted=True))
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(name)))


def _ancestors(table: exp.Table) -> exp.Expr:
    """``FROM pg_partition_ancestors(rel)`` without partitions: one row, ``relid`` = rel."""
    arg = table.this.expressions[0]
    value = _call(udf_name("regclass_in", 1), [arg]) if isinstance(arg, exp.Literal) else arg
    alias = table.args.get("alias")
    name = (
        alias.name if isinstance(alias, exp.TableAlias) and alias.name else "pg_partition_ancestors"
    )
    given = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
    names = given + ["relid", "ordinality"][len(given) :]
    # WITH ORDINALITY AS a(relid, depth): the one row is the first
    values = [value, exp.Literal.number(1)][: max(len(given), 1)]
    select = exp.select(
        *[exp.alias_(v, n, quoted=True) for v, n in zip(values, names[: len(values)], strict=True)]
    )
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(name)))


def _keywords(table: exp.Table) -> exp.Expr:
    """``FROM pg_get_keywords()`` as the VALUES list of PostgreSQL 15's keywords."""
    from vecgres.sql.pgcatalog.keywords import CATEGORY, KEYWORDS

    if _args(table.this):
        raise errors.UndefinedFunction("function pg_get_keywords() does not exist")
    rows = []
    for entry in KEYWORDS:
        word, code = entry.split(" ")
        bare = not code.endswith("*")
        code = code.rstrip("*")
        rows.append(
            exp.Tuple(
                expressions=[
                    exp.Literal.string(word),
                    exp.Literal.string(code),
                    exp.Boolean(this=bare),
                    exp.Literal.string(CATEGORY[code]),
                    exp.Literal.string("can be bare label" if bare else "requires AS"),
                ]
            )
        )
    alias = table.args.get("alias")
    name = alias.name if isinstance(alias, exp.TableAlias) and alias.name else "pg_get_keywords"
    given = list(alias.columns) if isinstance(alias, exp.TableAlias) else []
    names = [c.name for c in given] + ["word", "catcode", "barelabel", "catdesc", "baredesc"][
        len(given) :
    ]
    return exp.Values(
        expressions=rows,
        alias=exp.TableAlias(
            this=exp.to_identifier(name), columns=[exp.to_identifier(n) for n in names]
        ),
    )
