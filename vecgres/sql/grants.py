"""Privileges: GRANT/REVOKE, table and schema ownership, and their checks.

Privileges live in the catalog (``Table.acl``, ``Catalog.schema_acl``,
``Catalog.schema_owners``), so they are transactional and survive restarts like
any DDL. Who is a superuser is the cluster's business (roles are cluster-wide):
the session asks its ``ClusterHooks``; a database opened without a cluster
(``vecgres.connect()``) has a single, all-powerful user.

The checks follow PostgreSQL: the owner and superusers may do everything;
others need the privilege, granted to them or to PUBLIC; DROP, ALTER and
CREATE INDEX need ownership; a view's tables are checked as the view's owner.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Final, TypeVar

from sqlglot import exp

from vecgres import errors
from vecgres.catalog.model import Catalog, Sequence, Table
from vecgres.result import Result

if TYPE_CHECKING:
    from vecgres.engine import PreparedStatement, Session

R = TypeVar("R", Table, Sequence)

TABLE_PRIVILEGES: Final = (
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "TRUNCATE",
    "REFERENCES",
    "TRIGGER",
)
SCHEMA_PRIVILEGES: Final = ("USAGE", "CREATE")
DATABASE_PRIVILEGES: Final = ("CREATE", "TEMPORARY", "CONNECT")
SEQUENCE_PRIVILEGES: Final = ("USAGE", "SELECT", "UPDATE")
PUBLIC: Final = "public"  # the PUBLIC pseudo-role, as a grantee
BOOTSTRAP: Final = "postgres"  # the role initdb makes
DATABASE_OWNER_ROLE: Final = "pg_database_owner"  # owns public; its member is the database owner
_SYSTEM_SCHEMAS: Final = ("pg_catalog", "information_schema")

_GRANT_RE: Final = re.compile(
    r"^\s*(GRANT|REVOKE)\s+(?P<privs>.+?)\s+ON\s+(?P<target>.+?)\s+(?:TO|FROM)\s+(?P<who>.+?)"
    r"(?P<tail>\s+WITH\s+GRANT\s+OPTION|\s+(?:CASCADE|RESTRICT))?\s*;?\s*$",
    re.I | re.S,
)
_IS_GRANT_RE: Final = re.compile(r"^\s*(GRANT|REVOKE)\b", re.I)
# functions only superusers may call: they read every table's files
_SUPERUSER_FUNCTIONS: Final = frozenset({"vecgres_check"})


# objects PostgreSQL grants on that vecgres has no privileges for (yet)
_OTHER_OBJECTS: Final = frozenset(
    {
        "FUNCTION",
        "PROCEDURE",
        "ROUTINE",
        "LANGUAGE",
        "DOMAIN",
        "TYPE",
        "FOREIGN",
        "TABLESPACE",
        "LARGE",
        "PARAMETER",
    }
)


class InvalidGrantOperation(errors.VecgresError):
    sqlstate = "0LP01"


# --- who may do what -------------------------------------------------------------------------
def is_superuser(session: Session, user: str | None = None) -> bool:
    cluster = session.db.cluster
    if cluster is None:
        return True
    attrs = cluster.role_attributes(user or session.user)
    # no such role (dropped while its session lives on): no privileges at all
    return attrs is not None and attrs.get("superuser", False)


def roles_of(session: Session, user: str) -> set[str]:
    """``user`` and the roles whose privileges it inherits (GRANT role TO user, INHERIT)."""
    cluster = session.db.cluster
    return {user} if cluster is None else cluster.privileges_of(user)


def database_owner(session: Session) -> str:
    cluster = session.db.cluster
    return BOOTSTRAP if cluster is None else cluster.database_owner(session.database)


def _kind_word(table: Table | Sequence) -> str:
    if isinstance(table, Sequence):
        return "sequence"
    return "view" if table.kind == "v" else "table"


def has_privilege(session: Session, user: str, rel: Table, privilege: str) -> bool:
    if is_superuser(session, user):
        return True
    mine = roles_of(session, user)
    if rel.owner in mine:
        return True
    return any(privilege in rel.acl.get(grantee, ()) for grantee in (*mine, PUBLIC))


def schema_owner(session: Session, catalog: Catalog, schema: str) -> str:
    """The schema's owner; public belongs to pg_database_owner (the database's owner)."""
    owner = catalog.schema_owners.get(schema)
    if owner is not None:
        return owner
    return DATABASE_OWNER_ROLE if schema == "public" else BOOTSTRAP


def _schema_roles(session: Session, user: str) -> set[str]:
    mine = roles_of(session, user)
    if database_owner(session) in mine:
        mine = mine | {DATABASE_OWNER_ROLE}
    return mine


def schema_default_acl(owner: str, schema: str) -> dict[str, list[str]]:
    acl = {owner: list(SCHEMA_PRIVILEGES)}
    if schema == "public":
        acl[PUBLIC] = ["USAGE"]  # PostgreSQL 15: USAGE for everyone, CREATE for the owner only
    return acl


def has_schema_privilege(session: Session, user: str, schema: str, privilege: str) -> bool:
    if schema in _SYSTEM_SCHEMAS:
        return privilege == "USAGE"
    catalog = session._catalog()
    if is_superuser(session, user):
        return True
    mine = _schema_roles(session, user)
    owner = schema_owner(session, catalog, schema)
    if owner in mine:
        return True
    acl = catalog.schema_acl.get(schema)
    if acl is None:
        acl = schema_default_acl(owner, schema)
    return any(privilege in acl.get(g, ()) for g in (*mine, PUBLIC))


def has_database_privilege(session: Session, user: str, database: str, privilege: str) -> bool:
    cluster = session.db.cluster
    if cluster is None or is_superuser(session, user):
        return True
    mine = roles_of(session, user)
    owner = cluster.database_owner(database)
    if owner in mine:
        return True
    acl = cluster.database_acl(database)
    if acl is None:
        acl = database_default_acl(owner)
    return any(privilege in acl.get(g, ()) for g in (*mine, PUBLIC))


def database_default_acl(owner: str) -> dict[str, list[str]]:
    return {PUBLIC: ["TEMPORARY", "CONNECT"], owner: list(DATABASE_PRIVILEGES)}


def _require(session: Session, user: str, rel: Table, privilege: str) -> None:
    _require_schema(session, user, rel.schema)
    if not has_privilege(session, user, rel, privilege):
        raise errors.InsufficientPrivilege(f"permission denied for {_kind_word(rel)} {rel.name}")


def _require_schema(session: Session, user: str, schema: str, privilege: str = "USAGE") -> None:
    if not has_schema_privilege(session, user, schema, privilege):
        raise errors.InsufficientPrivilege(f"permission denied for schema {schema}")


def _owns(session: Session, owner: str) -> bool:
    return is_superuser(session) or owner in roles_of(session, session.user)


def _require_owner(session: Session, rel: Table | Sequence, kind: str | None = None) -> None:
    owner = getattr(rel, "owner", BOOTSTRAP)
    if not _owns(session, owner):
        raise errors.InsufficientPrivilege(f"must be owner of {kind or _kind_word(rel)} {rel.name}")


# --- the statement check (one call from the engine before a statement runs) -------------------
def check(session: Session, stmt: PreparedStatement) -> None:
    """Raise 42501 unless the session's user may run ``stmt``."""
    if is_superuser(session):
        return
    kind, ast = stmt.kind, stmt.ast
    if ast is not None:
        for func in ast.find_all(exp.Anonymous):
            if func.name.lower() in _SUPERUSER_FUNCTIONS:
                # like PostgreSQL's admin functions, EXECUTE is not granted to PUBLIC
                raise errors.InsufficientPrivilege(
                    f"permission denied for function {func.name.lower()}"
                )
    if kind == "copy":
        _check_copy(session, stmt.sql)
        return
    if ast is None:
        return
    _check_qualified_schemas(session, ast)
    if kind == "query":
        _check_reads(session, ast, session.user)
    elif kind in ("insert", "update", "delete"):
        _check_dml(session, ast)
    elif kind == "explain":
        _check_explain(session, ast)
    else:
        _check_ddl(session, ast)


def _check_qualified_schemas(session: Session, ast: exp.Expr) -> None:
    """A schema named in the statement needs USAGE, whatever the statement does with it."""
    schemas = session._catalog().schemas
    for node in ast.find_all(exp.Table):
        schema = node.text("db")
        if node.name and schema in schemas and not _is_cte_ref(node):
            _require_schema(session, session.user, schema)


def _resolve(session: Session, node: exp.Table) -> Table | None:
    if not node.name:
        return None
    found = session._catalog().resolve(node.name, node.db or None, session.settings.search_path())
    return found if isinstance(found, Table) else None


def _is_cte_ref(node: exp.Table) -> bool:
    """Whether ``node`` names a CTE in scope (PostgreSQL's rules), not a table.

    A CTE is seen by its query's body and by the CTEs after it in the same WITH
    (and by itself under WITH RECURSIVE); nowhere else. Erring towards "a table"
    only makes the check stricter.
    """
    if node.args.get("db") is not None or node.args.get("catalog") is not None:
        return False
    name = node.name
    child: exp.Expr = node
    parent = node.parent
    while parent is not None:
        if isinstance(parent, exp.With):
            position = next(i for i, c in enumerate(parent.expressions) if c is child)
            seen = parent.expressions[: position + (1 if parent.args.get("recursive") else 0)]
            if any(c.alias_or_name == name for c in seen):
                return True
            owner = parent.parent  # its query: its WITH was just looked at
            if owner is None:
                return False
            child, parent = owner, owner.parent
            continue
        with_ = parent.args.get("with_") or parent.args.get("with")
        if (
            isinstance(with_, exp.With)
            and with_ is not child
            and any(c.alias_or_name == name for c in with_.expressions)
        ):
            return True
        child, parent = parent, parent.parent
    return False


def _check_reads(session: Session, ast: exp.Expr, user: str, skip: exp.Table | None = None) -> None:
    for node in ast.find_all(exp.Table):
        if node is skip or _is_cte_ref(node):
            continue
        rel = _resolve(session, node)
        if rel is None or rel.schema in _SYSTEM_SCHEMAS:
            continue
        _require(session, user, rel, "SELECT")
        if rel.kind == "v" and rel.view_sql:
            # the view's own tables are read with its owner's privileges (PostgreSQL's rule)
            _check_reads(session, session._parse_view(rel.view_sql), rel.owner)


def _check_dml(session: Session, ast: exp.Expr) -> None:
    target = ast.this
    if isinstance(target, exp.Schema):
        target = target.this
    if not isinstance(target, exp.Table):
        return
    rel = _resolve(session, target)
    if rel is None:
        return
    privilege = (
        "INSERT"
        if isinstance(ast, exp.Insert)
        else "UPDATE"
        if isinstance(ast, exp.Update)
        else "DELETE"
    )
    _require(session, session.user, rel, privilege)
    # UPDATE/DELETE that look at the rows (WHERE, RETURNING, SET from columns) need SELECT too
    reads_target = isinstance(ast, exp.Update | exp.Delete) and (
        ast.args.get("where") is not None or ast.args.get("returning") is not None
    )
    if reads_target or (isinstance(ast, exp.Insert) and ast.args.get("returning") is not None):
        _require(session, session.user, rel, "SELECT")
    _check_reads(session, ast, session.user, skip=target)


_EXPLAIN_OPTIONS_RE: Final = re.compile(
    r"^\s*(?:\((?:[^()]|\([^()]*\))*\)|(?:ANALYZE|VERBOSE)\b\s*)*", re.I
)


def _check_explain(session: Session, ast: exp.Expr) -> None:
    """EXPLAIN plans (and ANALYZE runs) the statement: the statement's privileges apply."""
    if isinstance(ast, exp.Command):
        text = _EXPLAIN_OPTIONS_RE.sub("", ast.text("expression"), count=1)
        try:
            inner = session._parse_one(text)
        except errors.VecgresError:
            return  # EXPLAIN reports its own syntax error
    else:
        inner = ast.this if isinstance(ast.this, exp.Expr) else ast
    if isinstance(inner, exp.Insert | exp.Update | exp.Delete):
        _check_dml(session, inner)
    else:
        _check_reads(session, inner, session.user)


def _check_copy(session: Session, sql: str) -> None:
    from vecgres.sql.copy_stmt import parse_copy

    try:
        stmt = parse_copy(sql)
    except errors.VecgresError:
        return  # the COPY itself reports its syntax error
    hint = "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone."
    if stmt.options.get("program") or stmt.target.lower().startswith("program"):
        raise errors.InsufficientPrivilege(
            "must be superuser or have privileges of the pg_execute_server_program role "
            "to COPY to or from an external program",
            hint=hint,
        )
    if stmt.target.lower() not in ("stdin", "stdout"):
        if stmt.direction == "from":
            raise errors.InsufficientPrivilege(
                "must be superuser or have privileges of the pg_read_server_files role "
                "to COPY from a file",
                hint=hint,
            )
        raise errors.InsufficientPrivilege(
            "must be superuser or have privileges of the pg_write_server_files role "
            "to COPY to a file",
            hint=hint,
        )
    if stmt.query is not None:
        _check_reads(session, session._parse_one(stmt.query), session.user)
        return
    if stmt.table is None:
        return
    if stmt.schema is not None and stmt.schema in session._catalog().schemas:
        _require_schema(session, session.user, stmt.schema)
    found = session._catalog().resolve(stmt.table, stmt.schema, session.settings.search_path())
    if isinstance(found, Table):
        _require(session, session.user, found, "INSERT" if stmt.direction == "from" else "SELECT")


def _check_ddl(session: Session, ast: exp.Expr) -> None:
    catalog = session._catalog()
    path = session.settings.search_path()
    if isinstance(ast, exp.Create):
        kind = (ast.kind or "").upper()
        if kind == "SCHEMA":
            if not has_database_privilege(session, session.user, session.database, "CREATE"):
                raise errors.InsufficientPrivilege(
                    f"permission denied for database {session.database}"
                )
            return
        if kind == "INDEX":
            index = ast.this
            table = index.args.get("table") if isinstance(index, exp.Index) else None
            if isinstance(table, exp.Table):
                rel = _resolve(session, table)
                if rel is not None:
                    _require_owner(session, rel, "table")
            return
        if kind in ("TABLE", "VIEW", "SEQUENCE"):
            target = ast.this.this if isinstance(ast.this, exp.Schema) else ast.this
            schema = target.db if isinstance(target, exp.Table) and target.db else None
            if schema is None:
                schema = next((s for s in path if s in catalog.schemas), "public")
            _require_schema(session, session.user, schema, "CREATE")
            if ast.args.get("replace") and isinstance(target, exp.Table):
                # CREATE OR REPLACE of an existing relation is the owner's
                existing = catalog.find_relation(schema, target.name)
                if existing is not None:
                    _require_owner(session, existing)
            # CREATE VIEW reads nothing yet (its reader is checked); CREATE TABLE AS reads now
            if kind == "TABLE" and isinstance(ast.expression, exp.Query):
                _check_reads(session, ast.expression, session.user)
        return
    if isinstance(ast, exp.Drop):
        kind = (ast.kind or "").upper()
        for node in ast.args.get("tables") or ast.expressions or []:
            if not isinstance(node, exp.Table):
                continue
            if kind == "INDEX":
                found_index = catalog.find_index(node.db or _first(catalog, path), node.name)
                if found_index is not None:
                    table, index = found_index
                    if not _owns(session, table.owner):
                        raise errors.InsufficientPrivilege(f"must be owner of index {index.name}")
                continue
            if kind == "SCHEMA":
                name = node.name or node.db  # sqlglot reads a bare schema name as a qualifier
                owner = schema_owner(session, catalog, name)
                if name in catalog.schemas and not (
                    is_superuser(session) or owner in _schema_roles(session, session.user)
                ):
                    raise errors.InsufficientPrivilege(f"must be owner of schema {name}")
                continue
            found = catalog.resolve(node.name, node.db or None, path)
            if found is not None:
                _require_owner(session, found)
        return
    if isinstance(ast, exp.Comment):
        _check_comment(session, catalog, path, ast)
        return
    if isinstance(ast, exp.TruncateTable):
        for node in ast.expressions:
            if isinstance(node, exp.Table):
                rel = _resolve(session, node)
                if rel is not None:
                    _require(session, session.user, rel, "TRUNCATE")
        return
    if isinstance(ast, exp.Alter) and str(ast.args.get("kind")).upper() == "INDEX":
        found_index = catalog.find_index(ast.this.db or _first(catalog, path), ast.this.name)
        if found_index is not None and not _owns(session, found_index[0].owner):
            raise errors.InsufficientPrivilege(f"must be owner of index {found_index[1].name}")
        return
    if isinstance(ast, exp.Select) and isinstance(ast.args.get("into"), exp.Into):
        # SELECT INTO creates a table (CREATE on its schema) and reads its sources now
        target = ast.args["into"].this
        _require_schema(session, session.user, target.db or _first(catalog, path), "CREATE")
        query = ast.copy()
        query.set("into", None)
        _check_reads(session, query, session.user)
        return
    if isinstance(ast, exp.Alter) and isinstance(ast.this, exp.Table):
        rel = _resolve(session, ast.this)
        if rel is not None:
            _require_owner(session, rel)
        return
    if isinstance(ast, exp.Command) and ast.name.upper() == "ALTER":
        m = re.match(
            r"\s*(TABLE|VIEW|INDEX)\s+(?:IF\s+EXISTS\s+)?([\w.\"]+)", ast.text("expression"), re.I
        )
        if m is not None:
            schema, _, name = m.group(2).replace('"', "").rpartition(".")
            if schema.lower() in catalog.schemas:
                _require_schema(session, session.user, schema.lower())
            if m.group(1).upper() == "INDEX":
                found_index = catalog.find_index(schema or _first(catalog, path), name.lower())
                if found_index is not None:
                    _require_owner(session, found_index[0], "table")
                return
            found = catalog.resolve(name.lower(), schema.lower() or None, path)
            if found is not None:
                _require_owner(session, found)


def _check_comment(session: Session, catalog: Catalog, path: list[str], ast: exp.Comment) -> None:
    """COMMENT ON is for the object's owner (PostgreSQL's check_object_ownership)."""
    kind = str(ast.args.get("kind") or "").upper()
    target = ast.this
    if kind == "SCHEMA" and isinstance(target, exp.Table):
        name = target.name
        owner = schema_owner(session, catalog, name)
        if name in catalog.schemas and not (
            is_superuser(session) or owner in _schema_roles(session, session.user)
        ):
            raise errors.InsufficientPrivilege(f"must be owner of schema {name}")
        return
    if kind == "INDEX" and isinstance(target, exp.Table):
        found_index = catalog.find_index(target.db or _first(catalog, path), target.name)
        if found_index is not None:
            _require_owner(session, found_index[0], "index")
        return
    if kind == "COLUMN" and isinstance(target, exp.Column):
        table_name, schema = target.table, target.db or None
    elif isinstance(target, exp.Table):
        table_name, schema = target.name, target.db or None
    else:
        return
    found = catalog.resolve(table_name, schema, path)
    if found is not None:
        _require_owner(session, found)


def _first(catalog: Catalog, path: list[str]) -> str:
    return next((s for s in path if s in catalog.schemas), "public")


# --- ownership of what a DDL statement creates -------------------------------------------------
def stamp_owner(session: Session, before: Catalog | None, after: Catalog) -> None:
    """Make the session's user the owner of the tables and schemas ``after`` adds."""
    if after is before:
        return
    old_tables = before.tables if before is not None else {}
    for oid, table in after.tables.items():
        if oid not in old_tables:
            table.owner = session.user
    old_sequences = before.sequences if before is not None else {}
    for oid, seq in after.sequences.items():
        if oid not in old_sequences:
            seq.owner = session.user
    old_schemas = before.schemas if before is not None else {}
    for name in after.schemas:
        if name not in old_schemas:
            after.schema_owners[name] = session.user


# --- GRANT / REVOKE ----------------------------------------------------------------------------
def is_grant(sql: str) -> bool:
    """GRANT/REVOKE, and ALTER ... OWNER TO (both change who may do what)."""
    from vecgres.sql import owned, ownership

    return (
        _IS_GRANT_RE.match(sql) is not None
        or ownership.is_owner_change(sql)
        or owned.is_owned_statement(sql)
    )


def before_admin(session: Session, sql: str) -> Result | None:
    """Checks (and ALTER DATABASE ... OWNER TO) for the cluster-wide statements of admin.py."""
    from vecgres.sql import membership, ownership

    if ownership.is_owner_change(sql):
        return ownership.run(session, sql)
    membership.check_drop_role(session, sql)
    ownership.check_drop_database(session, sql)
    return None


def run(session: Session, sql: str) -> Result:
    from vecgres.sql import membership, owned, ownership

    if ownership.is_owner_change(sql):
        return ownership.run(session, sql)
    if owned.is_owned_statement(sql):
        return owned.run(session, sql)
    m = _GRANT_RE.match(sql)
    if m is None:
        if re.search(r"\sON\s", sql, re.I) is None:
            return membership.run(session, sql)
        raise errors.SyntaxError_('syntax error at or near "' + sql.split()[0] + '"')
    verb = m.group(1).upper()
    if m.group("tail") and "GRANT" in m.group("tail").upper():
        raise errors.FeatureNotSupported("WITH GRANT OPTION is not supported yet")
    grantees = [_role_spec(session, w) for w in _split_list(m.group("who"))]
    cluster = session.db.cluster
    for name in grantees:
        if name != PUBLIC and cluster is not None and cluster.role_attributes(name) is None:
            raise errors.UndefinedObject(f'role "{name}" does not exist')
    target = m.group("target").strip()
    words = target.split()
    other = words[0].upper()
    upper = target.upper()
    if other in _OTHER_OBJECTS or (
        other == "ALL" and "TABLES" not in upper and "SEQUENCES" not in upper
    ):
        raise errors.FeatureNotSupported(
            f"GRANT and REVOKE on {other.lower()} are not supported yet"
        )
    privs = [p.strip().upper() for p in _split_list(m.group("privs"))]
    if any("(" in p for p in privs):
        raise errors.FeatureNotSupported("column privileges are not supported yet")
    privs = [re.sub(r"\s+PRIVILEGES$", "", p) for p in privs]
    privs = ["TEMPORARY" if p == "TEMP" else p for p in privs]
    grant = verb == "GRANT"
    if other == "DATABASE":
        wanted = _privileges(privs, DATABASE_PRIVILEGES, "database")
        _grant_databases(session, target[len(words[0]) :], grantees, wanted, grant=grant)
        return Result(None, None, verb)
    txn = session._begin_ddl()
    catalog = (txn.catalog or session.db.catalog).edit()
    if other == "SCHEMA":
        wanted = _privileges(privs, SCHEMA_PRIVILEGES, "schema")
        for name in (ident(w) for w in _split_list(target[len(words[0]) :])):
            if name not in catalog.schemas:
                raise errors.InvalidSchemaName(f'schema "{name}" does not exist')
            owner = schema_owner(session, catalog, name)
            if not is_superuser(session) and owner not in _schema_roles(session, session.user):
                raise errors.InsufficientPrivilege(f"permission denied for schema {name}")
            acl = catalog.schema_acl.setdefault(name, schema_default_acl(owner, name))
            _apply(acl, grantees, wanted, grant=grant)
    elif other == "SEQUENCE" or re.match(r"ALL\s+SEQUENCES\b", target, re.I):
        wanted = _privileges(privs, SEQUENCE_PRIVILEGES, "sequence")
        for seq in _grant_targets(
            session, catalog, target, "SEQUENCE", catalog.sequences.values(), Sequence
        ):
            if not _owns(session, seq.owner):
                raise errors.InsufficientPrivilege(f"permission denied for sequence {seq.name}")
            if not seq.acl:
                seq.acl[seq.owner] = list(SEQUENCE_PRIVILEGES)
            _apply(seq.acl, grantees, wanted, grant=grant)
    else:
        wanted = _privileges(privs, TABLE_PRIVILEGES, "table")
        for rel in _grant_targets(
            session, catalog, target, "TABLE", catalog.tables.values(), Table
        ):
            if not _owns(session, rel.owner):
                raise errors.InsufficientPrivilege(
                    f"permission denied for {_kind_word(rel)} {rel.name}"
                )
            if not rel.acl:
                # the first GRANT/REVOKE makes the owner's implicit privileges explicit (acldefault)
                rel.acl[rel.owner] = list(TABLE_PRIVILEGES)
            _apply(rel.acl, grantees, wanted, grant=grant)
    from vecgres.sql.ddl import DdlResult

    return session._apply_ddl(DdlResult(catalog, verb))


def _grant_databases(
    session: Session, names: str, grantees: list[str], wanted: list[str], *, grant: bool
) -> None:
    cluster = session.db.cluster
    if cluster is None:
        raise errors.FeatureNotSupported(
            "GRANT and REVOKE on databases need the server's data directory of several databases"
        )
    for name in (ident(w) for w in _split_list(names)):
        from vecgres.sql.ownership import database_exists

        if not database_exists(session, name):
            raise errors.InvalidCatalogName(f'database "{name}" does not exist')
        owner = cluster.database_owner(name)
        if not _owns(session, owner):
            raise errors.InsufficientPrivilege(f"permission denied for database {name}")
        acl = cluster.database_acl(name)
        if acl is None:
            acl = database_default_acl(owner)
        _apply(acl, grantees, wanted, grant=grant)
        cluster.set_database_acl(name, acl)


def _role_spec(session: Session, word: str) -> str:
    """A grantee: a role name, PUBLIC, CURRENT_USER/CURRENT_ROLE or SESSION_USER."""
    upper = word.strip().upper()
    if upper in ("CURRENT_USER", "CURRENT_ROLE"):
        return session.user
    if upper == "SESSION_USER":
        from vecgres.sql.membership import session_user

        return session_user(session)
    if upper == "GROUP" or upper.startswith("GROUP "):
        return ident(word.strip()[5:])
    return ident(word)


def _grant_targets(
    session: Session, catalog: Catalog, target: str, keyword: str, pool: Iterable[R], kind: type[R]
) -> list[R]:
    """The tables or sequences a GRANT/REVOKE names: ``ALL <keyword>S IN SCHEMA s, …``
    or a list of (qualified) names after an optional ``<keyword>``."""
    m = re.match(rf"^ALL\s+{keyword}S\s+IN\s+SCHEMA\s+(.+)$", target, re.I | re.S)
    if m is not None:
        schemas = [ident(w) for w in _split_list(m.group(1))]
        for name in schemas:
            if name not in catalog.schemas:
                raise errors.InvalidSchemaName(f'schema "{name}" does not exist')
        return [r for r in pool if r.schema in schemas]
    if re.match(rf"{keyword}\s", target, re.I):
        target = target[len(keyword) :]
    out: list[R] = []
    for word in _split_list(target):
        schema, _, name = word.strip().rpartition(".")
        if schema and ident(schema) in catalog.schemas and not is_superuser(session):
            _require_schema(session, session.user, ident(schema))
        rel = catalog.resolve(
            ident(name), ident(schema) if schema else None, session.settings.search_path()
        )
        if not isinstance(rel, kind):
            shown = f"{ident(schema)}.{ident(name)}" if schema else ident(name)
            raise errors.UndefinedTable(f'relation "{shown}" does not exist')
        out.append(rel)
    return out


def require_sequence(session: Session, seq: Sequence, any_of: tuple[str, ...]) -> None:
    """nextval needs USAGE or UPDATE, currval USAGE or SELECT, setval UPDATE (PostgreSQL's)."""
    if is_superuser(session):
        return
    _require_schema(session, session.user, seq.schema)
    mine = roles_of(session, session.user)
    if seq.owner in mine:
        return
    if not any(p in seq.acl.get(g, ()) for p in any_of for g in (*mine, PUBLIC)):
        raise errors.InsufficientPrivilege(f"permission denied for sequence {seq.name}")


def _privileges(privs: list[str], allowed: tuple[str, ...], what: str) -> list[str]:
    if privs == ["ALL"]:
        return list(allowed)
    for p in privs:
        if p not in TABLE_PRIVILEGES + SCHEMA_PRIVILEGES + DATABASE_PRIVILEGES:
            raise errors.SyntaxError_(f'unrecognized privilege type "{p.lower()}"')
        if p not in allowed:
            raise InvalidGrantOperation(f"invalid privilege type {p} for {what}")
    return privs


def _apply(
    acl: dict[str, list[str]], grantees: list[str], privs: list[str], *, grant: bool
) -> None:
    for name in grantees:
        have = acl.get(name, [])
        if grant:
            acl[name] = have + [p for p in privs if p not in have]
        else:
            left = [p for p in have if p not in privs]
            if left:
                acl[name] = left
            else:
                acl.pop(name, None)


def _split_list(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


def ident(word: str) -> str:
    word = word.strip()
    if len(word) >= 2 and word[0] == word[-1] == '"':
        return word[1:-1].replace('""', '"')
    return word.lower()


# --- has_table_privilege ---------------------------------------------------------------------
def table_privilege(session: Session, user: str | None, table: str, privilege: str) -> bool:
    """has_table_privilege: ``table`` is a name or an oid; privileges comma-separated (any)."""
    catalog = session._catalog()
    rel: Table | Sequence | None
    if table.strip().isdigit():
        rel = catalog.tables.get(int(table)) or catalog.sequences.get(int(table))
        if rel is None:
            return False
    else:
        schema, _, name = table.strip().rpartition(".")
        rel = catalog.resolve(
            ident(name), ident(schema) if schema else None, session.settings.search_path()
        )
        if rel is None:
            shown = table.strip()
            raise errors.UndefinedTable(f'relation "{shown}" does not exist')
    who = user if user is not None else session.user
    cluster = session.db.cluster
    if cluster is not None and who != session.user and cluster.role_attributes(who) is None:
        raise errors.UndefinedObject(f'role "{who}" does not exist')
    if not isinstance(rel, Table):
        return True
    for given in privilege.split(","):
        p = re.sub(r"\s+WITH\s+GRANT\s+OPTION$", "", given.strip().upper())
        if p not in TABLE_PRIVILEGES:
            raise errors.InvalidParameterValue(f'unrecognized privilege type: "{given.strip()}"')
        if has_privilege(session, who, rel, p):
            return True
    return False


def _privilege_list(privilege: str, allowed: tuple[str, ...]) -> list[str]:
    out = []
    for given in privilege.split(","):
        p = re.sub(r"\s+WITH\s+GRANT\s+OPTION$", "", given.strip().upper())
        p = "TEMPORARY" if p == "TEMP" else p
        if p not in allowed:
            raise errors.InvalidParameterValue(f'unrecognized privilege type: "{given.strip()}"')
        out.append(p)
    return out


def _who(session: Session, user: str | None) -> str:
    who = user if user is not None else session.user
    cluster = session.db.cluster
    if cluster is not None and who != session.user and cluster.role_attributes(who) is None:
        raise errors.UndefinedObject(f'role "{who}" does not exist')
    return who


def schema_privilege(session: Session, user: str | None, schema: str, privilege: str) -> bool:
    """has_schema_privilege: ``schema`` is a name or an oid; privileges comma-separated (any)."""
    catalog = session._catalog()
    names = {oid: name for name, oid in catalog.schemas.items()}
    text = schema.strip()
    if text.isdigit():
        name = names.get(int(text))
        if name is None:
            return False
    else:
        name = text
        if name not in catalog.schemas and name not in _SYSTEM_SCHEMAS:
            raise errors.InvalidSchemaName(f'schema "{name}" does not exist')
    who = _who(session, user)
    wanted = _privilege_list(privilege, SCHEMA_PRIVILEGES)
    return any(has_schema_privilege(session, who, name, p) for p in wanted)


def database_privilege(session: Session, user: str | None, database: str, privilege: str) -> bool:
    """has_database_privilege: ``database`` is a name (or the current database's oid)."""
    from vecgres.sql.ownership import DATABASE_OID, database_exists

    name = database.strip()
    if name.isdigit():
        if int(name) != DATABASE_OID:
            return False
        name = session.database
    elif not database_exists(session, name):
        raise errors.InvalidCatalogName(f'database "{name}" does not exist')
    who = _who(session, user)
    wanted = _privilege_list(privilege, DATABASE_PRIVILEGES)
    return any(has_database_privilege(session, who, name, p) for p in wanted)
