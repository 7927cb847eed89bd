"""pg_catalog and information_schema: PostgreSQL's catalog relations and functions.

``relations`` names the system relations (PostgreSQL's column sets and OIDs),
``rows`` computes their rows from the catalog, ``functions`` holds the catalog
functions (``format_type``, ``pg_get_indexdef``, ``::regclass``, ...) and
``rewrite`` turns client SQL onto them.
"""

from vecgres.sql.pgcatalog.relations import is_system, lookup, system_table
from vecgres.sql.pgcatalog.rewrite import rewrite

__all__ = ["is_system", "lookup", "rewrite", "system_table"]
