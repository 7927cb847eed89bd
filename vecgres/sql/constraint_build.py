"""CHECK and FOREIGN KEY constraints from their sqlglot definitions, named as
PostgreSQL names them (``t_score_check``, ``t_check1``, ``c_pid_fkey``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp

from vecgres import errors
from vecgres.catalog.model import Catalog, Constraint, Index, Table
from vecgres.sql.dialect import DIALECT

NAMEDATALEN = 63
_ACTION_CODES = {
    "NO ACTION": "a",
    "RESTRICT": "r",
    "CASCADE": "c",
    "SET NULL": "n",
    "SET DEFAULT": "d",
}


@dataclass(slots=True)
class Spec:
    """A constraint as written: a CHECK expression or a REFERENCES clause."""

    node: exp.Expr  # CheckColumnConstraint | Reference
    name: str | None
    columns: list[str]  # the column it is written on, or FOREIGN KEY (...)
    not_valid: bool = False


def spec_of(node: exp.Expr, name: str | None = None) -> Spec | None:
    """A table element or ADD CONSTRAINT item that is a CHECK or FOREIGN KEY, else None."""
    if isinstance(node, exp.Constraint) and node.expressions:
        return spec_of(node.expressions[0], node.name or None)
    if isinstance(node, exp.CheckColumnConstraint):
        return Spec(node, name, [])
    if isinstance(node, exp.ForeignKey):
        ref = node.args.get("reference")
        if not isinstance(ref, exp.Reference):
            raise errors.SyntaxError_('syntax error at or near "FOREIGN"')
        cols = [e.name for e in node.expressions]
        return Spec(ref, name, cols)
    return None


def constraint_names(catalog: Catalog, schema: str) -> set[str]:
    """Names constraints of ``schema`` use (PostgreSQL picks a new name unlike all of them)."""
    out: set[str] = set()
    for table in catalog.tables.values():
        if table.schema != schema:
            continue
        out.update(c.name for c in table.constraints)
        out.update(i.constraint_name for i in table.indexes if i.constraint_name)
    return out


def choose_name(taken: set[str], table: str, column: str | None, suffix: str) -> str:
    """PostgreSQL's ChooseConstraintName: ``table_column_suffix``, then ``…1``, ``…2``."""
    n = 0
    while True:
        tail = f"_{suffix}{n or ''}"
        base = f"{table}_{column}" if column else table
        budget = NAMEDATALEN - len(tail)
        name = base[:budget] + tail
        if name not in taken:
            taken.add(name)
            return name
        n += 1


def _column_ids(table: Table, names: list[str], *, referenced: bool = False) -> list[int]:
    ids = []
    for name in names:
        col = table.column(name)
        if col is None:
            where = "referenced " if referenced else "referencing "
            raise errors.UndefinedColumn(
                f'column "{name}" {where}in foreign key constraint does not exist'
            )
        ids.append(col.id)
    return ids


def build(
    catalog: Catalog,
    table: Table,
    spec: Spec,
    search_path: list[str],
    taken: set[str],
) -> Constraint:
    """The catalog constraint for ``spec`` on ``table`` (in ``catalog``, being edited)."""
    if spec.name is not None and any(c.name == spec.name for c in table.constraints):
        raise errors.DuplicateObject(
            f'constraint "{spec.name}" for relation "{table.name}" already exists'
        )
    if isinstance(spec.node, exp.CheckColumnConstraint):
        return _check(catalog, table, spec, taken)
    assert isinstance(spec.node, exp.Reference)
    return _foreign_key(catalog, table, spec, search_path, taken)


def _check(catalog: Catalog, table: Table, spec: Spec, taken: set[str]) -> Constraint:
    body = spec.node.this
    if body is None:
        raise errors.SyntaxError_('syntax error at or near "CHECK"')
    refs = []
    for column in body.find_all(exp.Column):
        col = table.column(column.name)
        if col is None:
            raise errors.UndefinedColumn(f'column "{column.name}" does not exist')
        if col.id not in refs:
            refs.append(col.id)
    if any(isinstance(n, exp.Subquery | exp.Select) for n in body.find_all(exp.Expr)):
        raise errors.FeatureNotSupported("cannot use subquery in check constraint")
    if spec.name is not None:
        name = spec.name
        taken.add(name)
    else:
        only = table.column_by_id(refs[0]).name if len(refs) == 1 else None  # type: ignore[union-attr]
        only = spec.columns[0] if spec.columns else only
        name = choose_name(taken, table.name, only, "check")
    return Constraint(
        catalog.allocate_oid(),
        name,
        "c",
        columns=refs,
        expression=body.sql(dialect=DIALECT),
        validated=not spec.not_valid,
    )


def _options(ref: exp.Reference) -> str:
    return " ".join(str(o) for o in ref.args.get("options") or []).upper()


def _foreign_key(
    catalog: Catalog, table: Table, spec: Spec, search_path: list[str], taken: set[str]
) -> Constraint:
    ref = spec.node
    assert isinstance(ref, exp.Reference)
    target = ref.this
    ref_names: list[str] = []
    if isinstance(target, exp.Schema):
        ref_names = [e.name for e in target.expressions]
        target = target.this
    if not isinstance(target, exp.Table):
        raise errors.SyntaxError_('syntax error at or near "REFERENCES"')
    if target.name == table.name and (not target.db or target.db == table.schema):
        parent = table  # a self-reference (the table may not be in the catalog yet)
    else:
        parent = catalog.resolve_table(target.name, target.db or None, search_path)
    if parent.kind != "r":
        raise errors.WrongObjectType(f'referenced relation "{parent.name}" is not a table')
    options = _options(ref)
    if "MATCH PARTIAL" in options:
        raise errors.FeatureNotSupported("MATCH PARTIAL not yet implemented")
    if not ref_names:
        pk = parent.primary_key
        if pk is None:
            raise errors.InvalidForeignKey(
                f'there is no primary key for referenced table "{parent.name}"'
            )
        ref_names = list(pk.columns)
    if len(ref_names) != len(spec.columns):
        raise errors.InvalidForeignKey(
            "number of referencing and referenced columns for foreign key disagree"
        )
    cols = _column_ids(table, spec.columns)
    ref_cols = _column_ids(parent, ref_names, referenced=True)
    name = spec.name or choose_name(set(taken), table.name, "_".join(spec.columns), "fkey")
    for own, ref_name in zip(spec.columns, ref_names, strict=True):
        _check_comparable(name, table, own, parent, ref_name)
    if key_index(parent, ref_names) is None:
        raise errors.InvalidForeignKey(
            "there is no unique constraint matching given keys for referenced table "
            f'"{parent.name}"'
        )
    on_update = on_delete = "a"
    for verb, code in _ACTION_CODES.items():
        if f"ON UPDATE {verb}" in options:
            on_update = code
        if f"ON DELETE {verb}" in options:
            on_delete = code
    deferrable = bool(re.search(r"(?<!NOT )DEFERRABLE", options))
    deferred = "INITIALLY DEFERRED" in options
    if deferred and not deferrable:
        deferrable = True
    if spec.name is not None:
        name = spec.name
        taken.add(name)
    else:
        name = choose_name(taken, table.name, "_".join(spec.columns), "fkey")
    return Constraint(
        catalog.allocate_oid(),
        name,
        "f",
        columns=cols,
        ref_table=parent.oid,
        ref_columns=ref_cols,
        on_update=on_update,
        on_delete=on_delete,
        match="f" if "MATCH FULL" in options else "s",
        deferrable=deferrable,
        deferred=deferred,
        validated=not spec.not_valid,
    )


# btree operator families: key columns compare only within one (PostgreSQL's rule)
_FAMILIES = (
    {"smallint", "integer", "bigint"},
    {"real", "double precision"},
    {"text", "character varying", "character"},
)


def _family(type_name: str) -> frozenset[str]:
    for family in _FAMILIES:
        if type_name in family:
            return frozenset(family)
    return frozenset({type_name})


def _check_comparable(name: str, table: Table, own: str, parent: Table, ref: str) -> None:
    a, b = table.column(own), parent.column(ref)
    assert a is not None
    assert b is not None
    if a.type.is_array == b.type.is_array and _family(a.type.name) == _family(b.type.name):
        return
    raise errors.DatatypeMismatch(
        f'foreign key constraint "{name}" cannot be implemented',
        detail=f'Key columns "{own}" and "{ref}" are of incompatible types: '
        f"{a.type.format()} and {b.type.format()}.",
    )


def key_index(parent: Table, names: list[str]) -> Index | None:
    """The primary key or unique constraint/index of ``parent`` on exactly ``names``."""
    for idx in parent.indexes:
        if (
            idx.unique
            and idx.predicate is None
            and idx.expression is None
            and sorted(idx.columns) == sorted(names)
        ):
            return idx
    return None
