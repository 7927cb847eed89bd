"""Argument types of calls, as PostgreSQL names them in ``function f(…) does not exist``.

The binder knows the types; DuckDB, which finds that a function does not exist, only
sees columns. The signatures therefore travel with the SQL as a leading comment that
executor/duck.py reads when it words the error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from vecgres.executor.duck import CALLS_MARK as MARK
from vecgres.types import SqlType

TypeOf = Callable[[exp.Expr], SqlType | None]

_WORD = re.compile(r"^\w+$")


def _arg_type(arg: exp.Expr, type_of: TypeOf) -> str | None:
    if isinstance(arg, exp.Null) or (isinstance(arg, exp.Literal) and arg.is_string):
        return "unknown"
    if isinstance(arg, exp.Literal):
        return "integer" if arg.this.isdigit() and int(arg.this) < 2**31 else "numeric"
    t = type_of(arg)
    if t is None or t.name == "unknown":
        return None
    # PostgreSQL names argument types without their typmod: vector, not vector(3)
    return SqlType(t.name, -1, t.is_array).format()


def note_call_types(ast: exp.Expr, type_of: TypeOf) -> None:
    """Attach ``/* vg:calls f(vector);g(integer, unknown) */`` to the statement."""
    calls = []
    for call in ast.find_all(exp.Anonymous):
        name = call.name.lower()
        if not _WORD.match(name) or name.startswith(("pgv_", "vgc_")):
            continue
        types = [_arg_type(a, type_of) for a in call.expressions]
        if any(t is None for t in types):
            continue
        calls.append(f"{name}({', '.join(t for t in types if t is not None)})")
    if calls:
        ast.add_comments([MARK + ";".join(dict.fromkeys(calls))])


__all__ = ["note_call_types"]
