"""pg_depend's rows: what PostgreSQL records between the objects vecgres has.

Relations and sequences depend on their schema ('n'), a sequence on the
column that owns it ('a'), a column default on its column ('a') and on the
sequence its ``nextval`` names ('n'), a constraint's index on the constraint
('i'), a constraint or plain index on its key columns ('a'). Clients read it
for sequence ownership (Django's ``get_sequences``, psql's "Owned by").
Row types of tables are not in pg_type here, so their rows are absent too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from vecgres.catalog.model import Table

PG_CLASS = 1259
PG_ATTRDEF = 2604
PG_CONSTRAINT = 2606
PG_NAMESPACE = 2615

_NEXTVAL = re.compile(r"nextval\('([^']+)'")

Row = dict[str, Any]


def _dep(classid: int, objid: int, refclassid: int, refobjid: int, refsub: int, kind: str) -> Row:
    return {
        "classid": classid,
        "objid": objid,
        "objsubid": 0,
        "refclassid": refclassid,
        "refobjid": refobjid,
        "refobjsubid": refsub,
        "deptype": kind,
    }


def pg_depend(st: Any) -> Iterator[Row]:
    """The rows for ``st`` (a ``rows.CatalogState``)."""
    from vecgres.sql.pgcatalog.rows import attrdef_oid, constraint_oid, index_key_attnums

    tables: dict[tuple[str, str], Table] = {(t.schema, t.name): t for t in st.tables()}
    seq_oids = {(s.schema, s.name): s.oid for s in st.sequences()}
    for seq in st.sequences():
        yield _dep(PG_CLASS, seq.oid, PG_NAMESPACE, st.nsp_oid(seq.schema), 0, "n")
        owner = tables.get((seq.schema, seq.owned_by[0])) if seq.owned_by else None
        if owner is not None and seq.owned_by is not None:
            yield _dep(PG_CLASS, seq.oid, PG_CLASS, owner.oid, owner.attnum(seq.owned_by[1]), "a")
    for table in tables.values():
        yield _dep(PG_CLASS, table.oid, PG_NAMESPACE, st.nsp_oid(table.schema), 0, "n")
        for num, col in enumerate(table.columns, start=1):
            if col.default is None:
                continue
            ad = attrdef_oid(table, num)
            named = _NEXTVAL.search(col.default)
            if named is not None:
                schema, _, name = named.group(1).rpartition(".")
                seq_oid = seq_oids.get((schema.strip('"') or table.schema, name.strip('"')))
                if seq_oid is not None:
                    yield _dep(PG_ATTRDEF, ad, PG_CLASS, seq_oid, 0, "n")
            yield _dep(PG_ATTRDEF, ad, PG_CLASS, table.oid, num, "a")
        for idx in table.indexes:
            keys = [k for k in index_key_attnums(table, idx) if k > 0]
            if idx.primary or (idx.unique and idx.constraint_name):
                con = constraint_oid(idx)
                yield _dep(PG_CLASS, idx.oid, PG_CONSTRAINT, con, 0, "i")
                for key in keys:
                    yield _dep(PG_CONSTRAINT, con, PG_CLASS, table.oid, key, "a")
            else:
                for key in keys:
                    yield _dep(PG_CLASS, idx.oid, PG_CLASS, table.oid, key, "a")
