"""vecgres.sql."""
