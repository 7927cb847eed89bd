"""vecgres.planner."""
