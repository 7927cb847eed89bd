"""Render a bound query for DuckDB without copying and regenerating its AST each run.

``BoundQuery.render`` deep-copies the AST, swaps parameters for typed literals
and generates SQL: about as long as DuckDB takes to run a point query. A
``Template`` generates the SQL once with a marker per parameter and then
splices each run's literal text in. Only literals whose SQL cannot depend on
their surroundings (a number, string, NULL, boolean, or a CAST of one) are
spliced; the first splice of a template is checked against ``render`` and a
mismatch (or any other literal) falls back to ``render`` for good. A string
value for a typed parameter (what text-format Bind sends) is spliced as
``CAST('...' AS T)`` from a prefix and suffix made once per parameter, so a run
builds no sqlglot expression at all; so is an int (what binary-format Bind sends).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlglot import exp

from vecgres.sql.bind import BoundQuery, literal
from vecgres.sql.dialect import DUCK


def _atomic(node: exp.Expr) -> bool:
    if isinstance(node, exp.Cast):
        node = node.this
    return isinstance(node, exp.Literal | exp.Null | exp.Boolean)


class Template:
    """The SQL of one BoundQuery with parameter markers (built once, used per run)."""

    __slots__ = ("bound", "casts", "checked", "markers", "sql")

    def __init__(self, bound: BoundQuery) -> None:
        self.bound = bound
        self.casts: dict[int, tuple[str, str] | None] = {}
        self.checked = False
        self.markers: list[tuple[str, int]] | None = []
        ast = bound.ast.copy()
        salt = secrets.token_hex(6)
        for n, node in enumerate(list(ast.find_all(exp.Parameter))):
            inner = node.this
            if not (isinstance(inner, exp.Literal) and not inner.is_string):
                continue
            marker = f"__vgparam{n}x{salt}__"
            node.replace(exp.var(marker))
            self.markers.append((marker, int(inner.this)))
        self.sql = ast.sql(dialect=DUCK)
        if any(self.sql.count(m) != 1 for m, _ in self.markers):
            self.markers = None

    def render(self, params: Sequence[object]) -> str:
        bound = self.bound
        if self.markers is None:
            return bound.render(params)
        sql = self.sql
        for marker, index in self.markers:
            if index > len(params):
                return bound.render(params)  # raises UndefinedParameter
            value = params[index - 1]
            kind = type(value)
            cast = self._cast(index) if kind is str else None
            numeric = self._int_cast(index) if kind is int else None
            if cast is not None:
                text = cast[0] + value.replace("'", "''") + cast[1]  # type: ignore[attr-defined]
            elif numeric is not None:
                text = numeric[0] + str(value) + numeric[1]
            else:
                lit = literal(value, bound.param_types[index - 1])
                if not _atomic(lit):
                    return bound.render(params)
                text = lit.sql(dialect=DUCK)
            sql = sql.replace(marker, text, 1)
        if not self.checked:
            self.checked = True
            if sql != bound.render(params):
                self.markers = None
                return bound.render(params)
        return sql

    def _cast(self, index: int) -> tuple[str, str] | None:
        """(prefix, suffix) around a quoted string for parameter ``index``, when a probe
        with every character sqlglot might escape renders exactly that way."""
        if index in self.casts:
            return self.casts[index]
        t = self.bound.param_types[index - 1]
        probe = "'a\\b\n\t\r\x00é"
        quoted = "'" + probe.replace("'", "''") + "'"
        found: tuple[str, str] | None = None
        lit: exp.Expr | None
        text = empty = ""
        try:
            lit = literal(probe, t)
            text = lit.sql(dialect=DUCK)
            empty = literal("", t).sql(dialect=DUCK)
        except Exception:  # a type whose strings are checked while rendering (vectors)
            lit = None
        if isinstance(lit, exp.Cast) and isinstance(lit.this, exp.Literal) and quoted in text:
            prefix, _, suffix = text.partition(quoted)
            if prefix == "CAST(" and empty == f"{prefix}''{suffix}":
                found = (prefix + "'", "'" + suffix)
        self.casts[index] = found
        return found

    def _int_cast(self, index: int) -> tuple[str, str] | None:
        """(prefix, suffix) around the digits of an int for parameter ``index`` (a binary
        Bind's integers), when probes of both signs render exactly that way."""
        key = -index
        if key in self.casts:
            return self.casts[key]
        t = self.bound.param_types[index - 1]
        found: tuple[str, str] | None = None
        try:
            lit = literal(12345, t)
            text = lit.sql(dialect=DUCK)
            negative = literal(-678, t).sql(dialect=DUCK)
        except Exception:  # a type that checks its values while rendering
            lit, text, negative = None, "", ""
        if isinstance(lit, exp.Cast) and text.count("12345") == 1:
            prefix, _, suffix = text.partition("12345")
            if prefix == "CAST(" and negative == f"{prefix}-678{suffix}":
                found = (prefix, suffix)
        self.casts[key] = found
        return found
