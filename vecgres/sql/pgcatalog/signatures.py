"""Which catalog functions vecgres has, by name and arity, and their DuckDB names."""

from __future__ import annotations

V = "VARCHAR"
I8 = "BIGINT"
I4 = "BIGINT"  # integer arguments: DuckDB does not narrow BIGINT implicitly
BOOL = "BOOLEAN"
VLIST = "VARCHAR[]"

# (pg name, arity) -> (param types, result type); the UDF is vgc_<name>_<arity>
SIGNATURES: dict[tuple[str, int], tuple[list[str], str]] = {
    ("version", 0): ([], V),
    ("current_schema", 0): ([], V),
    ("current_schemas", 1): ([BOOL], VLIST),
    ("current_database", 0): ([], V),
    ("current_user", 0): ([], V),
    ("has_table_privilege", 2): ([V, V], BOOL),
    ("has_table_privilege", 3): ([V, V, V], BOOL),
    ("has_schema_privilege", 2): ([V, V], BOOL),
    ("has_schema_privilege", 3): ([V, V, V], BOOL),
    ("has_database_privilege", 2): ([V, V], BOOL),
    ("has_database_privilege", 3): ([V, V, V], BOOL),
    ("session_user", 0): ([], V),
    ("pg_backend_pid", 0): ([], "INTEGER"),
    ("format_type", 2): ([I8, I4], V),
    ("pg_get_userbyid", 1): ([I8], V),
    ("pg_table_is_visible", 1): ([I8], BOOL),
    ("pg_get_expr", 2): ([V, I8], V),
    ("pg_get_expr", 3): ([V, I8, BOOL], V),
    ("pg_get_indexdef", 1): ([I8], V),
    ("pg_get_indexdef", 3): ([I8, I4, BOOL], V),
    ("pg_get_constraintdef", 1): ([I8], V),
    ("pg_get_constraintdef", 2): ([I8, BOOL], V),
    ("pg_get_viewdef", 1): ([I8], V),
    ("pg_get_viewdef", 2): ([I8, BOOL], V),
    ("pg_get_serial_sequence", 2): ([V, V], V),
    ("pg_relation_size", 1): ([I8], I8),
    ("pg_total_relation_size", 1): ([I8], I8),
    ("pg_table_size", 1): ([I8], I8),
    ("pg_indexes_size", 1): ([I8], I8),
    ("pg_encoding_to_char", 1): ([I4], V),
    ("pg_relation_is_publishable", 1): ([I8], BOOL),
    ("pg_get_function_result", 1): ([I8], V),
    ("pg_get_function_arguments", 1): ([I8], V),
    ("pg_get_function_identity_arguments", 1): ([I8], V),
    ("to_regtype", 1): ([V], I8),
    ("to_regclass", 1): ([V], I8),
    ("to_regnamespace", 1): ([V], I8),
    ("regclass_in", 1): ([V], I8),
    ("regclass_out", 1): ([I8], V),
    ("regtype_in", 1): ([V], I8),
    ("regtype_out", 1): ([I8], V),
    ("regnamespace_in", 1): ([V], I8),
    ("regnamespace_out", 1): ([I8], V),
    ("regrole_in", 1): ([V], I8),
    ("regrole_out", 1): ([I8], V),
    ("regoperator_out", 1): ([I8], V),
    ("regproc_out", 1): ([V], V),
    ("amvalidate", 1): ([I8], BOOL),
    ("regprocedure_out", 1): ([V], V),
    ("quote_ident", 1): ([V], V),
    ("quote_literal", 1): ([V], V),
    ("parse_ident", 1): ([V], VLIST),
    ("parse_ident", 2): ([V, BOOL], VLIST),
    ("pg_tablespace_location", 1): ([I8], V),
    ("pg_size_pretty", 1): ([I8], V),
    ("obj_description", 1): ([I8], V),
    ("obj_description", 2): ([I8, V], V),
    ("col_description", 2): ([I8, I4], V),
}

# functions that are macros over their arguments (no catalog needed)
MACROS: dict[tuple[str, int], str] = {
    ("array_upper", 2): "CASE WHEN a IS NULL OR len(a) = 0 OR b <> 1 THEN NULL ELSE len(a) END",
    ("array_lower", 2): "CASE WHEN a IS NULL OR len(a) = 0 OR b <> 1 THEN NULL ELSE 1 END",
    ("array_length", 2): "CASE WHEN a IS NULL OR len(a) = 0 OR b <> 1 THEN NULL ELSE len(a) END",
}
# string_to_array(text, delimiter[, null string]): '' is no elements, a NULL delimiter
# splits into characters, an empty one keeps the string whole
_SPLIT = (
    "CASE WHEN a IS NULL THEN NULL WHEN a = '' THEN []::VARCHAR[] WHEN b IS NULL"
    " THEN string_split(a, '') WHEN b = '' THEN [a] ELSE string_split(a, b) END"
)
MACROS[("string_to_array", 2)] = _SPLIT
MACROS[("string_to_array", 3)] = (
    f"list_transform({_SPLIT}, lambda x: CASE WHEN x IS NOT DISTINCT FROM c THEN NULL ELSE x END)"
)
MACRO_ARGS = ("a", "b", "c")


def udf_name(name: str, arity: int) -> str:
    return f"vgc_{name}_{arity}"
