"""vecgres.index."""
