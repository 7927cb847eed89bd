"""The COPY statement, parsed from sqlglot's tokens into a ``CopyStmt``.

sqlglot's own COPY parser follows Snowflake/DuckDB and drops PostgreSQL's
forms (``FORMAT binary``, the pre-9.0 ``WITH CSV HEADER`` list, ``FORCE QUOTE *``),
so the statement is read here from the token stream; the query of
``COPY (query) TO`` is handed back as text for the normal parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot.tokenizer_core import Token, TokenType

from vecgres import errors
from vecgres.sql.dialect import DIALECT


@dataclass(slots=True)
class CopyStmt:
    """One COPY, as written (names unresolved, options unchecked)."""

    direction: str  # "from" | "to"
    table: str | None = None
    schema: str | None = None
    columns: list[str] | None = None
    query: str | None = None
    target: str = ""  # a file name, or "stdin" / "stdout"
    options: dict[str, object] = field(default_factory=dict)
    where: str | None = None

    @property
    def is_stdio(self) -> bool:
        return self.target in ("stdin", "stdout")


class _Reader:
    def __init__(self, sql: str) -> None:
        self.sql = sql
        self.tokens: list[Token] = [
            t for t in DIALECT.tokenize(sql) if t.token_type != TokenType.SEMICOLON
        ]
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def word(self) -> str:
        tok = self.peek()
        return tok.text.lower() if tok is not None and tok.token_type != TokenType.STRING else ""

    def next(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise errors.SyntaxError_(
                "syntax error at end of input", position=len(self.sql.rstrip()) + 1
            )
        self.pos += 1
        return tok

    def error(self) -> errors.VecgresError:
        tok = self.peek()
        if tok is None:
            return errors.SyntaxError_(
                "syntax error at end of input", position=len(self.sql.rstrip()) + 1
            )
        return errors.SyntaxError_(f'syntax error at or near "{tok.text}"', position=tok.start + 1)

    def accept(self, *words: str) -> bool:
        if self.word() in words:
            self.pos += 1
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            raise self.error()

    def is_(self, kind: TokenType) -> bool:
        tok = self.peek()
        return tok is not None and tok.token_type == kind

    def name(self) -> str:
        tok = self.next()
        if tok.token_type in (TokenType.STRING, TokenType.L_PAREN, TokenType.R_PAREN):
            self.pos -= 1
            raise self.error()
        # unquoted identifiers fold to lower case, as PostgreSQL does
        return tok.text if tok.token_type == TokenType.IDENTIFIER else tok.text.lower()

    def name_list(self) -> list[str]:
        if not self.is_(TokenType.L_PAREN):
            raise self.error()
        self.next()
        names = [self.name()]
        while self.is_(TokenType.COMMA):
            self.next()
            names.append(self.name())
        if not self.is_(TokenType.R_PAREN):
            raise self.error()
        self.next()
        return names

    def string(self) -> str:
        tok = self.next()
        if tok.token_type not in (TokenType.STRING, TokenType.BYTE_STRING):
            self.pos -= 1
            raise self.error()
        return tok.text

    def value(self) -> object:
        """An option argument: a string, number, identifier, ``*`` or a column list."""
        tok = self.peek()
        if tok is None:
            raise self.error()
        if tok.token_type in (TokenType.STRING, TokenType.BYTE_STRING):
            self.next()
            return tok.text
        if tok.token_type == TokenType.STAR:
            self.next()
            return "*"
        if tok.token_type == TokenType.L_PAREN:
            return self.name_list()
        if tok.token_type in (TokenType.COMMA, TokenType.R_PAREN):
            return None
        self.next()
        return tok.text.lower()


def parse_copy(sql: str) -> CopyStmt:
    """``COPY ...`` into a ``CopyStmt``; syntax errors carry PostgreSQL's wording."""
    r = _Reader(sql)
    r.expect("copy")
    stmt = CopyStmt("from")
    if r.is_(TokenType.L_PAREN):
        start = r.next()
        depth = 1
        end = start
        while depth:
            tok = r.next()
            if tok.token_type == TokenType.L_PAREN:
                depth += 1
            elif tok.token_type == TokenType.R_PAREN:
                depth -= 1
            end = tok
        stmt.query = sql[start.end + 1 : end.start].strip()
    else:
        first = r.name()
        if r.is_(TokenType.DOT):
            r.next()
            stmt.schema, stmt.table = first, r.name()
        else:
            stmt.table = first
        if r.is_(TokenType.L_PAREN):
            stmt.columns = r.name_list()
    if r.accept("from"):
        stmt.direction = "from"
    elif r.accept("to"):
        stmt.direction = "to"
    else:
        raise r.error()
    if stmt.query is not None and stmt.direction == "from":
        raise errors.SyntaxError_('syntax error at or near "FROM"')
    if r.word() in ("stdin", "stdout"):
        stmt.target = r.next().text.lower()
        if (stmt.target == "stdin") != (stmt.direction == "from"):
            raise errors.SyntaxError_(f'syntax error at or near "{stmt.target.upper()}"')
    elif r.word() == "program":
        raise errors.FeatureNotSupported("COPY to or from an external program is not supported")
    else:
        stmt.target = r.string()
    r.accept("with")
    if r.is_(TokenType.L_PAREN):
        _option_list(r, stmt)
    else:
        _legacy_options(r, stmt)
    if r.accept("where"):
        cond = r.peek()
        if stmt.direction != "from" or cond is None:
            raise r.error()
        stmt.where = sql[cond.start :].strip().rstrip(";")
        r.pos = len(r.tokens)
    if r.peek() is not None:
        raise r.error()
    return stmt


def _set(stmt: CopyStmt, name: str, value: object) -> None:
    if name in stmt.options:
        raise errors.SyntaxError_("conflicting or redundant options")
    stmt.options[name] = value


def _option_list(r: _Reader, stmt: CopyStmt) -> None:
    r.next()
    while True:
        name = r.name()
        _set(stmt, name, r.value())
        if r.is_(TokenType.COMMA):
            r.next()
            continue
        if r.is_(TokenType.R_PAREN):
            r.next()
            return
        raise r.error()


def _legacy_options(r: _Reader, stmt: CopyStmt) -> None:
    """The pre-9.0 option words psql's \\copy still sends (``CSV HEADER DELIMITER ','``)."""
    while r.peek() is not None and r.word() != "where":
        word = r.word()
        r.next()
        if word in ("binary", "csv"):
            _set(stmt, "format", word)
        elif word == "header":
            _set(stmt, "header", "true")
        elif word in ("delimiter", "null", "quote", "escape", "encoding"):
            r.accept("as")
            _set(stmt, word, r.string())
        elif word == "force":
            if r.accept("quote"):
                _set(stmt, "force_quote", "*" if r.is_(TokenType.STAR) and r.next() else _cols(r))
            elif r.accept("not"):
                r.expect("null")
                _set(stmt, "force_not_null", _cols(r))
            elif r.accept("null"):
                _set(stmt, "force_null", _cols(r))
            else:
                raise r.error()
        elif word == "freeze":
            _set(stmt, "freeze", "true")
        else:
            r.pos -= 1
            raise r.error()


def _cols(r: _Reader) -> list[str]:
    names = [r.name()]
    while r.is_(TokenType.COMMA):
        r.next()
        names.append(r.name())
    return names
