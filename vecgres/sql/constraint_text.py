"""CHECK and FOREIGN KEY constraints as PostgreSQL prints them (pg_get_constraintdef,
information_schema.check_constraints, psql's ``\\d``).

PostgreSQL prints a CHECK from its stored expression tree: every operator
parenthesized (the pretty form only where precedence needs it), and the implicit
casts it added made visible (``score >= (0)::numeric``, ``name <> ''::text``).
This deparser covers the expressions constraints are written with (comparisons,
arithmetic, AND/OR/NOT, IS [NOT] NULL, IN, function calls); anything else falls
back to sqlglot's PostgreSQL text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from vecgres.sql.dialect import DIALECT

if TYPE_CHECKING:
    from vecgres.catalog.model import Catalog, Constraint, Table
    from vecgres.types import SqlType

_BINARY: dict[type[exp.Expr], str] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
    exp.Add: "+",
    exp.Sub: "-",
    exp.Mul: "*",
    exp.Div: "/",
    exp.Mod: "%",
    exp.And: "AND",
    exp.Or: "OR",
    exp.DPipe: "||",
}
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_FLOATS = ("double precision", "real")
_ACTIONS = {"r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


def quote(name: str) -> str:
    plain = name.isidentifier() and name == name.lower() and name.isascii()
    return name if plain else '"' + name.replace('"', '""') + '"'


class _Deparser:
    def __init__(self, table: Table, pretty: bool) -> None:
        self.table = table
        self.pretty = pretty

    def type_of(self, node: exp.Expr) -> SqlType | None:
        if isinstance(node, exp.Column):
            col = self.table.column(node.name)
            return col.type if col is not None else None
        return None

    def literal(self, node: exp.Literal, want: SqlType | None) -> str:
        if node.is_string:
            text = "'" + node.this.replace("'", "''") + "'"
            if want is not None and want.name == "character":
                return f"{text}::bpchar"
            if want is not None and want.name not in ("text", "character varying"):
                return f"{text}::{want.format()}"
            return f"{text}::text"
        text = str(node.this)
        is_int = text.lstrip("-").isdigit()
        if want is not None and is_int and (want.name == "numeric" or want.name in _FLOATS):
            return f"{text}::{want.name}" if self.pretty else f"({text})::{want.name}"
        return text

    def operand(self, node: exp.Expr, other: exp.Expr) -> str:
        want = self.type_of(other)
        if isinstance(node, exp.Literal):
            return self.literal(node, want)
        if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
            negative = exp.Literal.number(f"-{node.this.this}")
            assert isinstance(negative, exp.Literal)
            return self.literal(negative, want)
        mine = self.type_of(node)
        if (
            mine is not None
            and mine.name == "character varying"
            and isinstance(other, exp.Literal)
            and other.is_string
        ):
            return f"({self.expr(node)})::text"
        return self.expr(node)

    def expr(self, node: exp.Expr, top: bool = False) -> str:
        if isinstance(node, exp.Paren):
            return self.expr(node.this, top)
        if isinstance(node, exp.Column):
            return quote(node.name)
        if isinstance(node, exp.Literal):
            return self.literal(node, None)
        if isinstance(node, exp.Boolean):
            return "true" if node.this else "false"
        if isinstance(node, exp.Null):
            return "NULL"
        op = _BINARY.get(type(node))
        if op is not None:
            if isinstance(node, _COMPARISONS):
                left = self.operand(node.this, node.expression)
                right = self.operand(node.expression, node.this)
            else:
                left = self.child(node.this, node)
                right = self.child(node.expression, node)
            text = f"{left} {op} {right}"
            return text if self.pretty else f"({text})"
        if isinstance(node, exp.Not):
            inner = node.this
            if isinstance(inner, exp.Is):
                return self.is_null(inner, negated=True)
            text = f"NOT {self.child(inner, node)}"
            return text if self.pretty else f"(NOT {self.expr(inner)})"
        if isinstance(node, exp.Is):
            return self.is_null(node, negated=False)
        if isinstance(node, exp.In) and node.expressions:
            col_type = self.type_of(node.this)
            items = ", ".join(
                self.literal(e, col_type) if isinstance(e, exp.Literal) else self.expr(e)
                for e in node.expressions
            )
            text = f"{self.expr(node.this)} IN ({items})"
            return text if self.pretty else f"({text})"
        return node.sql(dialect=DIALECT)

    def child(self, node: exp.Expr, parent: exp.Expr) -> str:
        text = self.expr(node)
        # pretty: OR under AND (and arithmetic under a tighter operator) keeps its parens
        if self.pretty and isinstance(node, exp.Paren | exp.Or) and isinstance(parent, exp.And):
            return f"({text})"
        if (
            self.pretty
            and isinstance(node, exp.Add | exp.Sub)
            and isinstance(parent, exp.Mul | exp.Div)
        ):
            return f"({text})"
        return text

    def is_null(self, node: exp.Is, negated: bool) -> str:
        word = "IS NOT NULL" if negated else "IS NULL"
        text = f"{self.expr(node.this)} {word}"
        return text if self.pretty else f"({text})"


def check_clause(table: Table, expression: str, pretty: bool = False) -> str:
    """The expression as information_schema.check_constraints shows it: ``((a > 0))``."""
    parsed = DIALECT.parse(f"SELECT {expression}")[0]
    assert isinstance(parsed, exp.Select)
    node = parsed.expressions[0]
    text = _Deparser(table, pretty).expr(node, top=True)
    if not pretty and not text.startswith("("):
        text = f"({text})"
    return f"({text})"


def constraint_def(catalog: Catalog, table: Table, con: Constraint, pretty: bool = False) -> str:
    """pg_get_constraintdef of a CHECK or FOREIGN KEY constraint."""
    if con.kind == "c":
        text = f"CHECK {check_clause(table, con.expression or 'true', pretty)}"
        return text + (" NOT VALID" if not con.validated else "")
    cols = ", ".join(quote(_name(table, c)) for c in con.columns)
    ref = catalog.tables.get(con.ref_table)
    ref_name = "???" if ref is None else quote(ref.name)
    if ref is not None and ref.schema != table.schema:
        ref_name = f"{quote(ref.schema)}.{ref_name}"
    ref_cols = ", ".join(quote(_name(ref, c)) for c in con.ref_columns) if ref else ""
    text = f"FOREIGN KEY ({cols}) REFERENCES {ref_name}({ref_cols})"
    if con.match == "f":
        text += " MATCH FULL"
    if con.on_update in _ACTIONS:
        text += f" ON UPDATE {_ACTIONS[con.on_update]}"
    if con.on_delete in _ACTIONS:
        text += f" ON DELETE {_ACTIONS[con.on_delete]}"
    if con.deferrable:
        text += " DEFERRABLE"
    if con.deferred:
        text += " INITIALLY DEFERRED"
    if not con.validated:
        text += " NOT VALID"
    return text


def _name(table: Table | None, column_id: int) -> str:
    col = table.column_by_id(column_id) if table is not None else None
    return col.name if col is not None else "???"


def rule_name(code: str) -> str:
    """information_schema's update_rule/delete_rule spelling of a confupdtype code."""
    return _ACTIONS.get(code, "NO ACTION")
