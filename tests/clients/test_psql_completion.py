"""psql 15's tab-completion queries (src/bin/psql/tab-complete.c) answer from our catalog."""

from __future__ import annotations

import vecgres

TABLES = (
    "SELECT pg_catalog.quote_ident(c.relname) FROM pg_catalog.pg_class c WHERE c.relkind IN "
    "('r', 'p', 'v', 'm', 'f') AND substring(pg_catalog.quote_ident(c.relname),1,2)='it' AND "
    "pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM "
    "pg_catalog.pg_namespace WHERE nspname = 'pg_catalog') UNION SELECT "
    "pg_catalog.quote_ident(n.nspname) || '.' FROM pg_catalog.pg_namespace n WHERE "
    "substring(pg_catalog.quote_ident(n.nspname) || '.',1,2)='it' AND (SELECT "
    "pg_catalog.count(*) FROM pg_catalog.pg_namespace WHERE "
    "substring(pg_catalog.quote_ident(nspname) || '.',1,2) = "
    "substring('it',1,pg_catalog.length(pg_catalog.quote_ident(nspname))+1)) > 1 LIMIT 1000"
)
COLUMNS = (
    "SELECT pg_catalog.quote_ident(attname) FROM pg_catalog.pg_attribute a, "
    "pg_catalog.pg_class c WHERE c.oid = a.attrelid AND a.attnum > 0 AND NOT a.attisdropped "
    "AND substring(pg_catalog.quote_ident(attname),1,0)='' AND "
    "(pg_catalog.quote_ident(relname)='items' OR '\"' || relname || '\"'='items') "
    "AND pg_catalog.pg_table_is_visible(c.oid) LIMIT 1000"
)
SETTINGS = (
    "SELECT name FROM (SELECT pg_catalog.lower(name) AS name FROM pg_catalog.pg_settings "
    "WHERE context IN ('user', 'superuser') UNION ALL SELECT 'constraints' UNION ALL SELECT "
    "'transaction' UNION ALL SELECT 'session' UNION ALL SELECT 'role' UNION ALL SELECT "
    "'tablespace' UNION ALL SELECT 'all') ss WHERE substring(name,1,3)='sta' LIMIT 1000"
)


def test_psql_tab_completion_queries(tmp_path):
    con = vecgres.connect(str(tmp_path / "db"))
    try:
        cur = con.cursor()
        cur.execute('CREATE TABLE items (id int, "Name" text, embedding vector(3))')
        cur.execute(TABLES)
        assert cur.fetchall() == [("items",)]
        cur.execute(COLUMNS)
        assert sorted(r[0] for r in cur.fetchall()) == ['"Name"', "embedding", "id"]
        cur.execute(SETTINGS)
        assert sorted(r[0] for r in cur.fetchall()) == [
            "standard_conforming_strings",
            "statement_timeout",
        ]
    finally:
        con.close()
