"""PostgreSQL as vecgres reads it: sqlglot's Postgres dialect plus pgvector's operators.

sqlglot has no token types for pgvector's operators, so the tokenizer maps
them onto token types the Postgres dialect never produces, and the parser
turns those into our own expression classes. pgvector's operators are
user-defined operators in PostgreSQL, so they bind tighter than comparisons
and looser than ``+``/``-``: the same level as sqlglot's bitwise operators.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

from sqlglot import exp, parser, tokens
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.dialects.postgres import Postgres
from sqlglot.generators.duckdb import DuckDBGenerator
from sqlglot.generators.postgres import PostgresGenerator
from sqlglot.parsers.postgres import PostgresParser
from sqlglot.tokenizer_core import TokenizerCore, TokenType


class VectorOp(exp.Expression, exp.Binary):
    """A pgvector distance operator; ``metric`` names it."""

    metric: ClassVar[str] = ""
    symbol: ClassVar[str] = ""


class L2Distance(VectorOp):
    metric = "l2"
    symbol = "<->"


class CosineDistance(VectorOp):
    metric = "cosine"
    symbol = "<=>"


class NegativeInnerProduct(VectorOp):
    metric = "ip"
    symbol = "<#>"


class L1Distance(VectorOp):
    metric = "l1"
    symbol = "<+>"


class HammingDistance(VectorOp):
    metric = "hamming"
    symbol = "<~>"


class JaccardDistance(VectorOp):
    metric = "jaccard"
    symbol = "<%>"


VECTOR_OPS: tuple[type[VectorOp], ...] = (
    L2Distance,
    CosineDistance,
    NegativeInnerProduct,
    L1Distance,
    HammingDistance,
    JaccardDistance,
)

# token types the Postgres dialect never emits, borrowed for pgvector's operators
_TOKENS: dict[str, TokenType] = {
    "<->": TokenType.LR_ARROW,
    "<=>": TokenType.NULLSAFE_EQ,
    "<#>": TokenType.MATCH_CONDITION,
    "<+>": TokenType.SEPARATOR,
    "<~>": TokenType.STORAGE_INTEGRATION,
    "<%>": TokenType.INTEGRATION,
}
_OPS_BY_TOKEN: dict[TokenType, type[exp.Binary]] = {_TOKENS[op.symbol]: op for op in VECTOR_OPS}


# statements sqlglot cannot parse are recognised by our own code (EXPLAIN, COPY, ...);
# its "falling back to parsing as a Command" warning would only be noise on stderr
logging.getLogger("sqlglot").setLevel(logging.ERROR)


class _TokenizerCore(TokenizerCore):
    """sqlglot's core with one PostgreSQL rule: ``$`` before a digit is a parameter.

    sqlglot reads ``$1,$2`` as a dollar-quoted string tagged ``1,``; PostgreSQL's
    tags never start with a digit, so ``$<digit>`` is always a positional parameter.
    """

    __slots__ = ()

    def _scan_string(self, start: str) -> bool:
        if start == "$" and self._peek.isdigit():
            self._add(self.heredoc_string_alternative)
            return True
        return bool(super()._scan_string(start))


class Vecgres(Postgres):
    class Tokenizer(Postgres.Tokenizer):
        def _init_core(self) -> TokenizerCore:
            core = super()._init_core()
            core.__class__ = _TokenizerCore  # same slots: only the method differs
            return core

        KEYWORDS: ClassVar[dict[str, TokenType]] = {
            **Postgres.Tokenizer.KEYWORDS,
            **_TOKENS,
            # one word to the parser, so it names a type like varbit does
            "BIT VARYING": TokenType.VAR,
        }

    class Parser(PostgresParser):
        FACTOR: ClassVar[dict[TokenType, type[exp.Binary]]] = {
            k: v
            for k, v in PostgresParser.FACTOR.items()
            if k not in (TokenType.LR_ARROW, TokenType.LLRR_ARROW)
        }
        BITWISE: ClassVar[dict[TokenType, type[exp.Binary]]] = {
            **PostgresParser.BITWISE,
            **_OPS_BY_TOKEN,
        }
        # sqlglot's LENGTH builder drops arguments past the second: keep them, so the
        # call fails as PostgreSQL's does instead of running as a different call
        FUNCTIONS: ClassVar[dict[str, Any]] = {
            **PostgresParser.FUNCTIONS,
            "LENGTH": lambda args: (
                PostgresParser.FUNCTIONS["LENGTH"](args)
                if len(args) <= 2
                else exp.Anonymous(this="length", expressions=args)
            ),
        }
        # PostgreSQL has no lambdas: ``f(j -> 'k')`` is json's -> operator
        LAMBDAS: ClassVar[dict[TokenType, Any]] = {}
        # jsonb's ``?`` (has key): a placeholder token in operator position
        RANGE_PARSERS: ClassVar[dict[TokenType, Any]] = {
            **PostgresParser.RANGE_PARSERS,
            TokenType.PLACEHOLDER: parser.binary_range_parser(exp.JSONBContains),
        }
        EQUALITY: ClassVar[dict[TokenType, type[exp.Binary]]] = {
            k: v for k, v in PostgresParser.EQUALITY.items() if k != TokenType.NULLSAFE_EQ
        }

        def _parse_vector_expressions(self, expressions: list[exp.Expr]) -> list[exp.Expr]:
            # pgvector's vector(n): the parameters are typmods, not an element type
            return expressions

        def _parse_types(
            self,
            check_func: bool = False,
            schema: bool = False,
            allow_identifiers: bool = True,
            with_collation: bool = False,
        ) -> exp.Expr | None:
            # where the type name starts: a typmod error points there (typenameTypeMod)
            first = self._curr
            out = super()._parse_types(check_func, schema, allow_identifiers, with_collation)
            if isinstance(out, exp.DataType) and "start" not in out.meta:
                out.meta["start"] = first.start
            return out

        def _parse_type_size(self) -> exp.DataTypeParam | None:
            # a typmod is an expression in PostgreSQL's grammar: vector(-1) reaches
            # pgvector's typmod check ("dimensions ... must be at least 1"), not the
            # parser; only pgvector's types, whose checks every path applies
            before = self._tokens[self._index - 2] if self._index >= 2 else None
            if (
                not self._match(TokenType.DASH, advance=False)
                or before is None
                or before.text.lower() not in ("vector", "halfvec", "sparsevec")
            ):
                return super()._parse_type_size()
            self._advance()  # the minus sign
            size = super()._parse_type_size()
            if size is not None:
                size.set("this", exp.Neg(this=size.this))
            return size

    class Generator(PostgresGenerator):
        TRANSFORMS: ClassVar[dict[type[exp.Expr], Any]] = {
            **PostgresGenerator.TRANSFORMS,
            **{op: (lambda self, e, s=op.symbol: self.binary(e, s)) for op in VECTOR_OPS},
        }


DIALECT = Vecgres()


class DuckPg(DuckDB):
    """DuckDB as our sessions configure it: PostgreSQL's NULL ordering (``default_null_order``).

    sqlglot leaves out NULLS FIRST/LAST when they match the target's default,
    so the target must know the default we set.
    """

    NULL_ORDERING = "nulls_are_large"

    class Generator(DuckDBGenerator):
        def datatype_sql(self, expression: exp.DataType) -> str:
            # PostgreSQL's unconstrained numeric: the DECIMAL numeric columns are
            # stored as, not DuckDB's bare DECIMAL(18,3), which rounds and overflows
            if expression.this == exp.DType.DECIMAL and not expression.expressions:
                return "DECIMAL(38,10)"
            if expression.this == exp.DType.NAME:
                return "VARCHAR"  # PostgreSQL's name (catalog queries cast to it)
            text: str = super().datatype_sql(expression)
            return text


DUCK = DuckPg()


def parse(sql: str) -> list[exp.Expr | None]:
    """Parse a string of one or more statements."""
    return DIALECT.parse(sql)


__all__ = ["DIALECT", "DUCK", "VECTOR_OPS", "Vecgres", "VectorOp", "parse", "parser", "tokens"]
