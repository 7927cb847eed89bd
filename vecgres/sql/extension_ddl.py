"""CREATE / ALTER / DROP EXTENSION for the two extensions vecgres has: vector and plpgsql.

plpgsql is always installed (as in a fresh PostgreSQL database); vector is
installed by ``CREATE EXTENSION vector`` and recorded in the catalog with its
version. The checks, their order and their wording follow PostgreSQL 15's
extension.c (CreateExtension, ExecAlterExtensionStmt, check_valid_version_name,
identify_update_path).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from vecgres import errors
from vecgres.catalog.model import Catalog, Column, Table
from vecgres.result import Notice, Result
from vecgres.sql import ddl
from vecgres.sql.pgcatalog.builtins import PGVECTOR_VERSION, PGVECTOR_VERSIONS

if TYPE_CHECKING:
    from vecgres.engine import Session

# a name or a version: an identifier, a "quoted identifier" or a 'string'
_WORD = r"(?:\"(?:[^\"]|\"\")*\"|'(?:[^']|'')*'|[\w.\-]+)"
_CREATE: Final = re.compile(
    rf"CREATE\s+EXTENSION\s+(?P<ine>IF\s+NOT\s+EXISTS\s+)?(?P<name>{_WORD})"
    rf"(?P<options>(?:\s+(?:WITH|SCHEMA\s+{_WORD}|VERSION\s+{_WORD}|CASCADE))*)\s*;?\s*$",
    re.I | re.S,
)
_OPTION: Final = re.compile(rf"(SCHEMA|VERSION)\s+({_WORD})", re.I)
_ALTER: Final = re.compile(
    rf"ALTER\s+EXTENSION\s+(?P<name>{_WORD})\s+UPDATE(?:\s+TO\s+(?P<version>{_WORD}))?\s*;?\s*$",
    re.I | re.S,
)
_DROP: Final = re.compile(
    rf"DROP\s+EXTENSION\s+(?P<ie>IF\s+EXISTS\s+)?(?P<names>{_WORD}(?:\s*,\s*{_WORD})*)"
    r"(?:\s+(?P<behavior>CASCADE|RESTRICT))?\s*;?\s*$",
    re.I | re.S,
)
_ALWAYS_INSTALLED: Final = {"plpgsql": "1.0"}
VECTOR_TYPES: Final = ("vector", "halfvec", "sparsevec")


def is_extension_statement(text: str) -> bool:
    return re.match(r"(CREATE|ALTER|DROP)\s+EXTENSION\b", text, re.I) is not None


def run(session: Session, text: str) -> Result:
    """Execute one CREATE/ALTER/DROP EXTENSION statement given as text."""
    m = _CREATE.match(text)
    if m:
        return _create(session, m)
    m = _ALTER.match(text)
    if m:
        return _alter(session, _word(m.group("name")), m.group("version"))
    m = _DROP.match(text)
    if m:
        names = [_word(n) for n in re.findall(_WORD, m.group("names"))]
        return _drop(session, names, bool(m.group("ie")), (m.group("behavior") or "").upper())
    word = text.split()[2] if len(text.split()) > 2 else ""
    raise errors.SyntaxError_(f'syntax error at or near "{word}"')


def _word(token: str) -> str:
    """An identifier folded like PostgreSQL's (quoted: as written), or a string's value."""
    if token.startswith('"'):
        return token[1:-1].replace('""', '"')
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    return token.lower()


def _installed(session: Session) -> dict[str, str]:
    return {**_ALWAYS_INSTALLED, **session._catalog().extensions}


def _check_version_name(version: str) -> None:
    """PostgreSQL's check_valid_version_name."""
    detail = None
    if version == "":
        detail = "Version names must not be empty."
    elif "--" in version:
        detail = 'Version names must not contain "--".'
    elif version.startswith("-") or version.endswith("-"):
        detail = 'Version names must not begin or end with "-".'
    elif "/" in version or "\\" in version:
        detail = "Version names must not contain directory separator characters."
    if detail is not None:
        raise errors.InvalidParameterValue(
            f'invalid extension version name: "{version}"', detail=detail
        )


def _create(session: Session, m: re.Match[str]) -> Result:
    name = _word(m.group("name"))
    options = {k.upper(): _word(v) for k, v in _OPTION.findall(m.group("options") or "")}
    if name not in ("vector", "plpgsql"):
        raise errors.UndefinedFile(
            f'extension "{name}" is not available',
            detail=f'Could not open extension control file for "{name}".',
            hint="The extension must first be installed on the system where PostgreSQL is running.",
        )
    if name in _installed(session):
        if m.group("ine"):
            session.notice(f'extension "{name}" already exists, skipping', "42710")
            return Result(None, None, "CREATE EXTENSION", notices=session._take_notices())
        raise errors.DuplicateObject(f'extension "{name}" already exists')
    version = options.get("VERSION", PGVECTOR_VERSION)
    _check_version_name(version)
    # pgvector ships one install script (its current version) and update scripts
    # from older versions only, so no other version can be installed
    if version != PGVECTOR_VERSION:
        raise errors.InvalidParameterValue(
            f'extension "{name}" has no installation script nor update path for version "{version}"'
        )
    schema = options.get("SCHEMA")
    catalog = session._catalog()
    if schema is not None:
        if schema not in catalog.schemas:
            raise errors.InvalidSchemaName(f'schema "{schema}" does not exist')
        if schema != "public":
            raise errors.FeatureNotSupported(
                'extension "vector" can only be installed in schema "public" in vecgres'
            )
    cat = catalog.edit()
    cat.extensions[name] = version
    return session._apply_ddl(ddl.DdlResult(cat, "CREATE EXTENSION"))


def _alter(session: Session, name: str, target: str | None) -> Result:
    installed = _installed(session)
    if name not in installed:
        raise errors.UndefinedObject(f'extension "{name}" does not exist')
    current = installed[name]
    version = _word(target) if target is not None else _default_version(name)
    _check_version_name(version)
    if version == current:
        session.notice(f'version "{version}" of extension "{name}" is already installed')
        return Result(None, None, "ALTER EXTENSION", notices=session._take_notices())
    if not _has_update_path(name, current, version):
        raise errors.InvalidParameterValue(
            f'extension "{name}" has no update path from version "{current}" to version "{version}"'
        )
    cat = session._catalog().edit()
    cat.extensions[name] = version
    return session._apply_ddl(ddl.DdlResult(cat, "ALTER EXTENSION"))


def _default_version(name: str) -> str:
    return PGVECTOR_VERSION if name == "vector" else _ALWAYS_INSTALLED[name]


def _has_update_path(name: str, old: str, new: str) -> bool:
    """pgvector's update scripts go from each release to the next one."""
    if name != "vector" or old not in PGVECTOR_VERSIONS or new not in PGVECTOR_VERSIONS:
        return False
    return PGVECTOR_VERSIONS.index(old) < PGVECTOR_VERSIONS.index(new)


def _drop(session: Session, names: list[str], if_exists: bool, behavior: str) -> Result:
    """DROP EXTENSION: refused while a column still has one of vector's types (2BP01)."""
    catalog = session._catalog()
    installed = _installed(session)
    dropping = []
    for name in names:
        if name not in installed:
            if not if_exists:
                raise errors.UndefinedObject(f'extension "{name}" does not exist')
            session.notice(f'extension "{name}" does not exist, skipping')
        elif name in _ALWAYS_INSTALLED:
            raise errors.FeatureNotSupported(f"DROP EXTENSION {name} is not supported by vecgres")
        else:
            dropping.append(name)
    if not dropping:
        return Result(None, None, "DROP EXTENSION", notices=session._take_notices())
    # PostgreSQL reports dependents in pg_depend's order: tables as created, each
    # table's columns last first (checked on the reference server with cube)
    dependents = [
        (table, col)
        for table in sorted(catalog.tables.values(), key=lambda t: t.oid)
        if table.kind == "r"
        for col in reversed(table.columns)
        if col.type.name in VECTOR_TYPES
    ]
    if dependents and behavior != "CASCADE":
        raise errors.DependentObjectsStillExist(
            "cannot drop extension vector because other objects depend on it",
            detail="\n".join(
                f"column {col.name} of table {table.name} depends on type {col.type.name}"
                for table, col in dependents
            ),
            hint="Use DROP ... CASCADE to drop the dependent objects too.",
        )
    cat = catalog.edit()
    if dependents:
        _drop_columns(session, cat, dependents)
    for name in dropping:
        cat.extensions.pop(name, None)
    return session._apply_ddl(ddl.DdlResult(cat, "DROP EXTENSION"))


def _drop_columns(session: Session, cat: Catalog, columns: list[tuple[Table, Column]]) -> None:
    """DROP EXTENSION ... CASCADE: the columns of vector's types go, with their indexes
    (as ALTER TABLE ... DROP COLUMN), after PostgreSQL's notice."""
    path = session.settings.search_path()
    for old, col in columns:
        table = cat.tables[old.oid]
        if ddl._dependent_views(cat, table, path):
            raise errors.FeatureNotSupported(
                f"DROP EXTENSION vector CASCADE is not supported while a view reads "
                f"table {table.name}"
            )
        session.lock_table(table)
        table.indexes = [i for i in table.indexes if col.name not in i.columns]
        table.columns = [c for c in table.columns if c.name != col.name]
        if not table.columns:
            raise errors.FeatureNotSupported("cannot drop the last column of a table")
    lines = [f"drop cascades to column {col.name} of table {table.name}" for table, col in columns]
    if len(lines) == 1:
        session.notice(lines[0])
    else:
        session.notices.append(
            Notice(
                "NOTICE",
                "00000",
                f"drop cascades to {len(lines)} other objects",
                detail="\n".join(lines),
            )
        )
