"""PostgreSQL's maintenance and session-reset statements: VACUUM, ANALYZE, CHECKPOINT,
DISCARD and LOCK, parsed and answered as PostgreSQL 15 does (tags, errors, SQLSTATEs).

What each does in vecgres:

* ``VACUUM`` is Milvus-style compaction: the store's ``compact`` purges deleted rows
  and merges small sealed segments of the named tables (every table when none is
  named), synchronously, by its compaction policy (a segment is rewritten once more
  than ``compaction_deleted_ratio`` of its rows are deleted; small ones are merged).
  Rows still in the growing segment (the WAL) are not touched: they are sealed when
  the segment fills, at CHECKPOINT, or by VACUUM FULL, which seals them first. The
  ANN indexes of the new segments are built before VACUUM answers, as CREATE INDEX
  waits for its builds, so a search right after uses them. VACUUM FULL also takes
  the table lock (ACCESS EXCLUSIVE); plain VACUUM takes none (SHARE UPDATE
  EXCLUSIVE does not conflict with writers).
* ``ANALYZE`` checks the relations and columns it names and does nothing else:
  vecgres keeps no planner statistics (pg_class.reltuples stays -1, as for a
  table never analyzed; pg_stat_user_tables shows live rows from storage).
* ``CHECKPOINT`` runs the store's checkpoint: seal every growing segment, write
  the manifest, recycle the WAL.
* ``DISCARD`` resets session state: cursors, role and settings, prepared
  statements (SQL PREPARE's and the protocol's), the plan cache, currval/lastval.
  vecgres has no temporary tables, listeners or advisory locks to drop.
* ``LOCK`` takes the table lock writers and DDL take (``Session.lock_table``) for
  the modes that conflict with writes (ROW EXCLUSIVE and stronger): vecgres has one
  exclusive lock per table, so two SHARE locks block each other where PostgreSQL
  lets both in. ACCESS SHARE and ROW SHARE take nothing: they conflict only with
  EXCLUSIVE and ACCESS EXCLUSIVE, whose point is to block readers, and vecgres's
  readers never wait (they read a snapshot); for the same reason ACCESS EXCLUSIVE
  does not keep readers out. LOCK on a view checks it and locks nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

from vecgres import errors
from vecgres.catalog.model import Sequence, Table
from vecgres.result import Notice, Result
from vecgres.sql import grants, pgcatalog, prepared_sql

# the engine's Session: sql/ may not import the engine (layers)
Session_ = Any

_FIRST_RE: Final = re.compile(r"^\s*(VACUUM|ANALYZE|ANALYSE|CHECKPOINT|DISCARD|LOCK)\b", re.I)
_TOKEN_RE: Final = re.compile(
    r"""(?:
        (?P<word>[A-Za-z_\x80-\uffff][\w$\x80-\uffff]*)
      | "(?P<quoted>(?:[^"]|"")*)"
      | '(?P<string>(?:[^']|'')*)'
      | (?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)
      | (?P<punct>[(),.;*+-])
    )""",
    re.X,
)
_MAX_PARALLEL: Final = 1024  # PostgreSQL's MAX_PARALLEL_WORKER_LIMIT
_LOCK_MODES: Final = (
    ("access", "share"),
    ("row", "share"),
    ("row", "exclusive"),
    ("share", "update", "exclusive"),
    ("share", "row", "exclusive"),
    ("share",),
    ("exclusive",),
    ("access", "exclusive"),
)
# ROW EXCLUSIVE (a writer) and every stronger mode: those conflicting with writers.
# vecgres's writers take the one table lock exclusively, so it is the lock they wait on
_WRITE_CONFLICTING: Final = frozenset(_LOCK_MODES[_LOCK_MODES.index(("row", "exclusive")) :])


def is_statement(sql: str) -> bool:
    return _FIRST_RE.match(sql) is not None


@dataclass(slots=True)
class _Token:
    kind: str  # word (folded to lower case), quoted, string, number, punct, end
    text: str
    pos: int  # 1-based character position in the statement (PostgreSQL's cursor position)
    raw: str = ""  # the text as written, for error messages


def _tokenize(sql: str) -> list[_Token]:
    out: list[_Token] = []
    at = 0
    body = sql.rstrip()
    while body.endswith(";"):
        body = body[:-1].rstrip()
    while True:
        while at < len(body) and body[at].isspace():
            at += 1
        if at >= len(body):
            break
        m = _TOKEN_RE.match(body, at)
        if m is None:
            raise errors.SyntaxError_(f'syntax error at or near "{body[at]}"', position=at + 1)
        kind = m.lastgroup or "punct"
        value = m.group(kind)
        if kind == "punct" and value == ";":
            # a simple query's statements arrive one by one: this is one run by itself
            raise errors.SyntaxError_("cannot insert multiple commands into a prepared statement")
        if kind == "word":
            value = value.lower()
        elif kind == "quoted":
            value = value.replace('""', '"')
        elif kind == "string":
            value = value.replace("''", "'")
        out.append(_Token(kind, value, at + 1, body[at : m.end()]))
        at = m.end()
    out.append(_Token("end", "", len(body) + 1))
    return out


class _Parser:
    def __init__(self, sql: str) -> None:
        self.tokens = _tokenize(sql)
        self.i = 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        tok = self.peek()
        self.i += 1
        return tok

    def at_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "word" and tok.text in words

    def at_punct(self, text: str) -> bool:
        tok = self.peek()
        return tok.kind == "punct" and tok.text == text

    def error(self, tok: _Token | None = None) -> errors.VecgresError:
        tok = tok or self.peek()
        if tok.kind == "end":
            return errors.SyntaxError_("syntax error at end of input", position=tok.pos)
        return errors.SyntaxError_(f'syntax error at or near "{tok.raw}"', position=tok.pos)

    def expect_punct(self, text: str) -> None:
        if not self.at_punct(text):
            raise self.error()
        self.take()

    def expect_end(self) -> None:
        if self.peek().kind != "end":
            raise self.error()

    def name(self) -> str:
        tok = self.peek()
        if tok.kind not in ("word", "quoted") or (tok.kind == "word" and tok.text in _RESERVED):
            raise self.error()
        self.take()
        return tok.text


# words that cannot name a relation or column unquoted (the ones these statements meet)
_RESERVED: Final = frozenset(
    {"analyze", "analyse", "verbose", "full", "freeze", "in", "nowait", "only", "table"}
)


@dataclass(slots=True)
class _Relation:
    name: str
    schema: str | None
    columns: list[str]
    pos: int
    shown: str  # as PostgreSQL names it in "does not exist"


@dataclass(slots=True)
class _Option:
    name: str
    kind: str  # none, word, quoted, string, number
    value: str
    pos: int


@dataclass(slots=True)
class _Vacuum:
    command: str  # VACUUM or ANALYZE
    options: dict[str, Any] = field(default_factory=dict)
    relations: list[_Relation] = field(default_factory=list)


def run(session: Session_, sql: str, *, in_block: bool) -> Result:
    first = _FIRST_RE.match(sql)
    assert first is not None
    word = first.group(1).upper()
    if word == "VACUUM":
        return _vacuum(session, _parse_vacuum(session, sql, "VACUUM"), in_block=in_block)
    if word in ("ANALYZE", "ANALYSE"):
        return _vacuum(session, _parse_vacuum(session, sql, "ANALYZE"), in_block=in_block)
    if word == "CHECKPOINT":
        return _checkpoint(session, sql)
    if word == "DISCARD":
        return _discard(session, sql, in_block=in_block)
    return _lock(session, sql, in_block=in_block)


# --- VACUUM and ANALYZE ---------------------------------------------------------------------
def _parse_vacuum(session: Session_, sql: str, command: str) -> _Vacuum:
    p = _Parser(sql)
    p.take()  # VACUUM / ANALYZE
    stmt = _Vacuum(command)
    if p.at_punct("("):
        options = _option_list(p)
        stmt.options = _check_options(command, options)
    else:
        # the old syntax: VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE], in this order
        flags = ("full", "freeze", "verbose", "analyze") if command == "VACUUM" else ("verbose",)
        for flag in flags:
            if p.at_word(flag) or (flag == "analyze" and p.at_word("analyse")):
                p.take()
                stmt.options[flag] = True
    if p.peek().kind != "end":
        stmt.relations.append(_relation(session, p))
        while p.at_punct(","):
            p.take()
            stmt.relations.append(_relation(session, p))
    p.expect_end()
    return stmt


def _option_list(p: _Parser) -> list[_Option]:
    p.expect_punct("(")
    options: list[_Option] = []
    while True:
        tok = p.peek()
        if tok.kind not in ("word", "quoted"):
            raise p.error()
        p.take()
        name = tok.text
        arg = p.peek()
        if arg.kind in ("word", "quoted", "string", "number"):
            p.take()
            options.append(_Option(name, arg.kind, arg.text, tok.pos))
        elif arg.kind == "punct" and arg.text in ("+", "-") and p.peek(1).kind == "number":
            p.take()
            number = p.take()
            sign = "-" if arg.text == "-" else ""
            options.append(_Option(name, "number", sign + number.text, tok.pos))
        else:
            options.append(_Option(name, "none", "", tok.pos))
        if p.at_punct(","):
            p.take()
            continue
        p.expect_punct(")")
        return options


def _boolean(opt: _Option) -> bool:
    """PostgreSQL's defGetBoolean: no value is true; 0/1, true/false, on/off."""
    if opt.kind == "none":
        return True
    value = opt.value.lower()
    if opt.kind == "number":
        if value in ("0", "1"):
            return value == "1"
    elif value in ("true", "on"):
        return True
    elif value in ("false", "off"):
        return False
    raise errors.SyntaxError_(f"{opt.name} requires a Boolean value")


def _check_options(command: str, options: list[_Option]) -> dict[str, Any]:
    """The option list's values, checked as PostgreSQL's ExecVacuum checks them."""
    out: dict[str, Any] = {}
    allowed = (
        {"verbose", "skip_locked"}
        if command == "ANALYZE"
        else {
            "verbose",
            "skip_locked",
            "analyze",
            "freeze",
            "full",
            "disable_page_skipping",
            "process_toast",
            "truncate",
            "index_cleanup",
            "parallel",
        }
    )
    for opt in options:
        if opt.name not in allowed:
            raise errors.SyntaxError_(
                f'unrecognized {command} option "{opt.name}"', position=opt.pos
            )
        if opt.name == "index_cleanup":
            out[opt.name] = (
                "auto"
                if opt.kind == "none" or opt.value.lower() == "auto"
                else ("on" if _boolean(opt) else "off")
            )
        elif opt.name == "parallel":
            if opt.kind == "none":
                raise errors.SyntaxError_(
                    f"parallel option requires a value between 0 and {_MAX_PARALLEL}",
                    position=opt.pos,
                )
            if opt.kind != "number" or not re.fullmatch(r"-?\d+", opt.value):
                raise errors.SyntaxError_("parallel requires an integer value")
            workers = int(opt.value)
            if not -(2**31) <= workers < 2**31:
                raise errors.SyntaxError_("parallel requires an integer value")
            if not 0 <= workers <= _MAX_PARALLEL:
                raise errors.SyntaxError_(
                    f"parallel workers for vacuum must be between 0 and {_MAX_PARALLEL}",
                    position=opt.pos,
                )
            out[opt.name] = workers
        else:
            out[opt.name] = _boolean(opt)
    return out


def _relation(session: Session_, p: _Parser) -> _Relation:
    start = p.peek()
    parts = [p.name()]
    while p.at_punct("."):
        p.take()
        parts.append(p.name())
    if len(parts) > 3:
        raise errors.SyntaxError_(
            f"improper qualified name (too many dotted names): {'.'.join(parts)}",
            position=start.pos,
        )
    if len(parts) == 3 and parts[0] != session.database:
        raise errors.FeatureNotSupported(
            f"cross-database references are not implemented: {'.'.join(parts)}",
            position=start.pos,
        )
    columns: list[str] = []
    if p.at_punct("("):
        p.take()
        columns.append(p.name())
        while p.at_punct(","):
            p.take()
            columns.append(p.name())
        p.expect_punct(")")
    schema = parts[-2] if len(parts) > 1 else None
    shown = ".".join(parts[-2:])
    return _Relation(parts[-1], schema, columns, start.pos, shown)


def _vacuum(session: Session_, stmt: _Vacuum, *, in_block: bool) -> Result:
    opts = stmt.options
    vacuum = stmt.command == "VACUUM"
    analyze = not vacuum or bool(opts.get("analyze"))
    if vacuum:
        full = bool(opts.get("full"))
        if full and opts.get("parallel", 0) > 0:
            raise errors.FeatureNotSupported("VACUUM FULL cannot be performed in parallel")
        if not analyze and any(rel.columns for rel in stmt.relations):
            raise errors.FeatureNotSupported(
                "ANALYZE option must be specified when a column list is provided"
            )
        if full and opts.get("disable_page_skipping"):
            raise errors.FeatureNotSupported(
                "VACUUM option DISABLE_PAGE_SKIPPING cannot be used with FULL"
            )
        if full and opts.get("process_toast") is False:
            raise errors.FeatureNotSupported("PROCESS_TOAST required with VACUUM FULL")
        if in_block:
            raise errors.ActiveSqlTransaction("VACUUM cannot run inside a transaction block")
    targets = _targets(session, stmt.relations)
    verbose = bool(opts.get("verbose"))
    for rel, found in targets:
        if found is None:
            continue  # a system catalog: its rows are computed, there is nothing to vacuum
        if not isinstance(found, Table) or found.kind != "r":
            verb = "vacuum" if vacuum else "analyze"
            _warn(
                session,
                f'skipping "{found.name}" --- cannot {verb} non-tables or special system tables',
            )
            continue
        if vacuum:
            if not _may_process(session, found, "vacuum"):
                continue  # its ANALYZE is skipped too, without a second warning
            _compact(session, found, full=bool(opts.get("full")), verbose=verbose)
        if analyze and (vacuum or _may_process(session, found, "analyze")):
            _analyze(session, found, rel.columns if rel is not None else [], verbose=verbose)
    return Result(None, None, stmt.command, notices=session._take_notices())


def _targets(
    session: Session_, relations: list[_Relation]
) -> list[tuple[_Relation | None, Table | Sequence | None]]:
    """The relations named (all of an error's checks before any work), or every table."""
    catalog = session._catalog()
    if not relations:
        tables = [t for t in catalog.tables.values() if t.kind == "r"]
        return [(None, t) for t in sorted(tables, key=lambda t: t.oid)]
    path = session.settings.search_path()
    out: list[tuple[_Relation | None, Table | Sequence | None]] = []
    for rel in relations:
        found = catalog.resolve(rel.name, rel.schema, path)
        if found is None and pgcatalog.lookup(catalog, rel.schema, rel.name, path) is None:
            raise errors.UndefinedTable(f'relation "{rel.shown}" does not exist')
        out.append((rel, found))
    return out


def _may_process(session: Session_, table: Table, verb: str) -> bool:
    """Whether the user may VACUUM/ANALYZE ``table``; a WARNING says why not, as PostgreSQL's."""
    mine = grants.roles_of(session, session.user)
    if (
        grants.is_superuser(session)
        or table.owner in mine
        or grants.database_owner(session) in mine
    ):
        return True
    _warn(session, f'skipping "{table.name}" --- only table or database owner can {verb} it')
    return False


def _warn(session: Session_, message: str) -> None:
    session.notices.append(Notice("WARNING", "01000", message))


def _info(session: Session_, message: str) -> None:
    session.notices.append(Notice("INFO", "00000", message))


def _compact(session: Session_, table: Table, *, full: bool, verbose: bool) -> None:
    db = session.db
    if full:
        session.lock_table(table)  # ACCESS EXCLUSIVE: waits for the table's writers
    name = f"{session.database}.{table.schema}.{table.name}"
    if verbose:
        _info(session, f'vacuuming "{name}"')
    before = _sealed(db.store.snapshot(), table.oid)
    session._check_cancel()
    if full:
        # FULL rewrites the whole table: the growing segment's rows are sealed first,
        # so compaction sees their deleted rows too
        db.store.flush(table.oid)
    db.store.compact(table.oid, force=full)
    after = _sealed(db.store.snapshot(), table.oid)
    gone = [sid for sid in before if sid not in after]
    new = [sid for sid in after if sid not in before]
    if new:
        # the new segments' ANN indexes are built before VACUUM answers (CREATE INDEX
        # waits too); the other segments' are loaded from their files
        for idx in table.indexes:
            db.ann.build_all(table, idx, "BUILD")
    if verbose:
        purged = sum(before[sid][0] - before[sid][1] for sid in gone)
        live = sum(rows for rows, _ in after.values())
        _info(
            session,
            f'finished vacuuming "{name}": {purged} deleted rows removed, '
            f"{len(gone)} segments rewritten into {len(new)}; "
            f"{len(after)} sealed segments hold {live} rows",
        )


def _sealed(snap: Any, oid: int) -> dict[int, tuple[int, int]]:
    """Sealed segment id -> (rows, visible rows) of a table at a snapshot."""
    tsnap = snap.table(oid)
    out: dict[int, tuple[int, int]] = {}
    for seg in tsnap.segments if tsnap is not None else ():
        if seg.segment_id is not None:
            out[seg.segment_id] = (seg.data.num_rows, seg.num_visible())
    return out


def _analyze(session: Session_, table: Table, columns: list[str], *, verbose: bool) -> None:
    # vecgres keeps no statistics: ANALYZE checks what it is given and computes nothing
    seen: set[str] = set()
    for col in columns:
        if table.column(col) is None:
            raise errors.UndefinedColumn(
                f'column "{col}" of relation "{table.name}" does not exist'
            )
        if col in seen:
            raise errors.DuplicateColumn(
                f'column "{col}" of relation "{table.name}" appears more than once'
            )
        seen.add(col)
    if verbose:
        _info(session, f'analyzing "{table.schema}.{table.name}"')


# --- CHECKPOINT ---------------------------------------------------------------------------
def _checkpoint(session: Session_, sql: str) -> Result:
    p = _Parser(sql)
    p.take()
    p.expect_end()
    if not (
        grants.is_superuser(session) or "pg_checkpoint" in grants.roles_of(session, session.user)
    ):
        raise errors.InsufficientPrivilege(
            "must be superuser or have privileges of pg_checkpoint to do CHECKPOINT"
        )
    session.db.store.checkpoint()
    return Result(None, None, "CHECKPOINT")


# --- DISCARD --------------------------------------------------------------------------------
def _discard(session: Session_, sql: str, *, in_block: bool) -> Result:
    p = _Parser(sql)
    p.take()
    tok = p.peek()
    if tok.kind != "word" or tok.text not in ("all", "plans", "sequences", "temp", "temporary"):
        raise p.error()
    p.take()
    p.expect_end()
    what = tok.text
    changes: dict[str, str] = {}
    if what == "all":
        if in_block:
            raise errors.ActiveSqlTransaction("DISCARD ALL cannot run inside a transaction block")
        session.cursors.close_all()  # CLOSE ALL
        changes = _reset_all(session)  # SET SESSION AUTHORIZATION DEFAULT; RESET ALL
        _deallocate_all(session)  # DEALLOCATE ALL
        # UNLISTEN *, pg_advisory_unlock_all(), DISCARD TEMP: vecgres has no listeners,
        # advisory locks or temporary tables
    if what in ("all", "plans"):
        session._plans.clear()
    if what in ("all", "sequences"):
        session.currvals.clear()
        session.lastval = None
    tag = "DISCARD TEMP" if what == "temporary" else f"DISCARD {what.upper()}"
    return Result(None, None, tag, parameter_changes=changes)


def _reset_all(session: Session_) -> dict[str, str]:
    """RESET ALL (the role too), with the reported parameters it changed."""
    from vecgres.sql import membership

    settings = session.settings
    shown = settings._reported()
    membership.role_setting(session, "RESET", "ALL")
    settings.reset("ALL", session.txn)
    return dict(settings._changed(shown))


def _deallocate_all(session: Session_) -> None:
    """Drop SQL PREPARE's statements and the server's named protocol-level ones."""
    pgcatalog.deallocate("DEALLOCATE ALL", session.sql_prepared)
    prepared_sql.drop_protocol_statements(session)


# --- LOCK -----------------------------------------------------------------------------------
def _lock(session: Session_, sql: str, *, in_block: bool) -> Result:
    p = _Parser(sql)
    p.take()
    if p.at_word("table"):
        p.take()
    names: list[_Relation] = []
    while True:
        if p.at_word("only"):
            p.take()
        names.append(_relation(session, p))
        if names[-1].columns:
            raise p.error(p.tokens[p.i - 1])
        if p.at_punct("*"):
            p.take()
        if not p.at_punct(","):
            break
        p.take()
    mode: tuple[str, ...] = ("access", "exclusive")
    if p.at_word("in"):
        p.take()
        words: list[str] = []
        while p.peek().kind == "word" and p.peek().text != "mode":
            words.append(p.take().text)
            if len(words) > 3:
                break
        if tuple(words) not in _LOCK_MODES:
            raise p.error(p.tokens[p.i - len(words)] if words else None)
        if not p.at_word("mode"):
            raise p.error()
        p.take()
        mode = tuple(words)
    nowait = False
    if p.at_word("nowait"):
        p.take()
        nowait = True
    p.expect_end()
    if not in_block:
        raise errors.NoActiveSqlTransaction("LOCK TABLE can only be used in transaction blocks")
    catalog = session._catalog()
    path = session.settings.search_path()
    for rel in names:
        found = catalog.resolve(rel.name, rel.schema, path)
        if found is None:
            if pgcatalog.lookup(catalog, rel.schema, rel.name, path) is None:
                raise errors.UndefinedTable(f'relation "{rel.shown}" does not exist')
            continue  # a system catalog: computed rows, nothing to lock
        if isinstance(found, Sequence):
            raise errors.WrongObjectType(f'cannot lock relation "{rel.name}"')
        _check_lock_privilege(session, found, mode)
        if found.kind != "r" or mode not in _WRITE_CONFLICTING:
            continue
        if nowait:
            if not session.db.locks.try_acquire(found.oid, session.txn):
                raise errors.LockNotAvailable(f'could not obtain lock on relation "{rel.name}"')
        else:
            session.lock_table(found)
    return Result(None, None, "LOCK TABLE")


def _check_lock_privilege(session: Session_, table: Table, mode: tuple[str, ...]) -> None:
    """PostgreSQL's LockTableAclCheck: SELECT for ACCESS SHARE; for ROW EXCLUSIVE any of
    INSERT, UPDATE, DELETE, TRUNCATE; for the stronger modes UPDATE, DELETE or TRUNCATE."""
    user = session.user
    if not grants.has_schema_privilege(session, user, table.schema, "USAGE"):
        raise errors.InsufficientPrivilege(f"permission denied for schema {table.schema}")
    if mode == ("access", "share"):
        needed: tuple[str, ...] = ("SELECT",)
    elif mode == ("row", "exclusive"):
        needed = ("INSERT", "UPDATE", "DELETE", "TRUNCATE")
    else:
        needed = ("UPDATE", "DELETE", "TRUNCATE")
    if not any(grants.has_privilege(session, user, table, priv) for priv in needed):
        kind = "view" if table.kind == "v" else "table"
        raise errors.InsufficientPrivilege(f"permission denied for {kind} {table.name}")
