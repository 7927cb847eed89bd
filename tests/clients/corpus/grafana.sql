-- Grafana (PostgreSQL data source, query editor): version, schemas, tables, columns.

-- query: server version number
-- expect: 1600
SELECT current_setting('server_version_num')::int/100 as version

-- query: timescaledb installed
-- expect: False
select exists(select 1 from pg_extension where extname = 'timescaledb')

-- query: schemas
-- expect: public
select quote_ident(schema_name) as "schema" from information_schema.schemata
where schema_name not like 'pg_%' and schema_name not like '\_timescaledb\_%' and schema_name <> 'information_schema'
order by 1

-- query: tables on the search path
-- expect: items | notes
-- rows: 2
select quote_ident(table_name) as "table" from information_schema.tables
    where quote_ident(table_schema) not in ('information_schema',
                             'pg_catalog',
                             '_timescaledb_cache',
                             '_timescaledb_catalog',
                             '_timescaledb_internal',
                             '_timescaledb_config',
                             'timescaledb_information',
                             'timescaledb_experimental')
      and table_type = 'BASE TABLE' and
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )

-- query: columns of a qualified table
-- expect: id | name | embedding | integer | text | USER-DEFINED
-- rows: 3
select quote_ident(column_name) as "column", data_type as "type"
    from information_schema.columns
    where
      CASE WHEN array_length(parse_ident('public.items'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('public.items'))[1]
          AND quote_ident(table_name) = (parse_ident('public.items'))[2]
        ELSE quote_ident(table_name) = 'public.items'
          AND
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END

-- query: columns of an unqualified table
-- expect: note_id | item_id | body | created | timestamp with time zone
-- rows: 4
select quote_ident(column_name) as "column", data_type as "type"
    from information_schema.columns
    where
      CASE WHEN array_length(parse_ident('notes'),1) = 2
        THEN quote_ident(table_schema) = (parse_ident('notes'))[1]
          AND quote_ident(table_name) = (parse_ident('notes'))[2]
        ELSE quote_ident(table_name) = 'notes'
          AND
          quote_ident(table_schema) IN (
          SELECT
            CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END
          FROM
            generate_series(
              array_lower(string_to_array(current_setting('search_path'),','),1),
              array_upper(string_to_array(current_setting('search_path'),','),1)
            ) as i,
            string_to_array(current_setting('search_path'),',') s
          )
      END

-- query: time columns for the macro editor
-- expect: created
select quote_ident(column_name) as "column" from information_schema.columns
where table_name = 'notes' and data_type in ('timestamp without time zone', 'timestamp with time zone', 'date')
