"""Per-session parameters: SET, SET LOCAL, RESET, SHOW, set_config, current_setting."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from vecgres import errors
from vecgres.config import GUCS, Guc

T = TypeVar("T")

# parameters a client is told of (ParameterStatus) when their value changes
_REPORTED = tuple(key for key, guc in GUCS.items() if guc.report)

_ALIASES = {
    "datestyle": "DateStyle",
    "timezone": "TimeZone",
    "intervalstyle": "IntervalStyle",
    "time zone": "TimeZone",
    "names": "client_encoding",
}


def canonical(name: str) -> str:
    if name in GUCS:
        return name  # the spelling the engine itself asks for (every statement)
    key = name.strip().strip('"')
    lowered = key.lower()
    if lowered in _ALIASES:
        return _ALIASES[lowered]
    for guc in GUCS:
        if guc.lower() == lowered:
            return guc
    return key


class SessionSettings:
    def __init__(self, user: str) -> None:
        self._values: dict[str, str] = {}
        self._local: dict[str, str] | None = None
        # session values as the explicit transaction found them: a ROLLBACK restores them
        self._before: dict[str, str] | None = None
        self.user = user
        # bumped by every change: values derived from the settings are kept until then
        self._generation = 0
        self._derived: dict[tuple[Any, Hashable], tuple[int, Any]] = {}

    def _guc(self, name: str) -> Guc | None:
        return GUCS.get(canonical(name))

    def get(self, name: str) -> str:
        key = canonical(name)
        if self._local is not None and key in self._local:
            return self._local[key]
        if key in self._values:
            return self._values[key]
        guc = GUCS.get(key)
        if guc is None:
            if "." in key:
                raise errors.UndefinedObject(f'unrecognized configuration parameter "{name}"')
            raise errors.UndefinedObject(f'unrecognized configuration parameter "{name}"')
        if key == "session_authorization":
            return self.user
        if key == "transaction_isolation":
            return self.get("default_transaction_isolation")  # where each transaction starts
        return guc.default

    def get_int(self, name: str) -> int:
        return int(float(self.get(name)))

    def derived(self, make: Callable[[SessionSettings, Any], T], arg: Hashable = None) -> T:
        """``make(self, arg)``, a value computed from these settings, kept until one
        changes (what every statement of a kind reads, such as the top-k search's
        settings). ``make`` and ``arg`` are the key: pass the same callable each time."""
        key = (make, arg)
        found = self._derived.get(key)
        if found is not None and found[0] == self._generation:
            return found[1]  # type: ignore[no-any-return]
        value = make(self, arg)
        if len(self._derived) >= 16:
            self._derived.clear()
        self._derived[key] = (self._generation, value)
        return value

    def search_path(self) -> list[str]:
        out = []
        for part in self.get("search_path").split(","):
            part = part.strip().strip('"')
            if part == "$user":
                part = self.user
            if part:
                out.append(part)
        return out

    def show_name(self, rest: str) -> str:
        name = rest.strip().rstrip(";").strip()
        if name.upper() == "ALL":
            return "name"
        return canonical(name).lower() if canonical(name) not in GUCS else canonical(name)

    def show(self, rest: str) -> tuple[str, str]:
        name = rest.strip().rstrip(";").strip()
        if name.lower() in ("transaction isolation level",):
            return "transaction_isolation", self.get("transaction_isolation")
        key = canonical(name)
        value = self.get(key)
        guc = GUCS.get(key)
        if guc is not None and guc.unit == "ms" and value != "0":
            value = _format_ms(int(value))
        elif guc is not None and guc.unit == "kB":
            value = _format_kb(int(value))
        return key if key in GUCS else name, value

    def validate(self, name: str, value: str) -> tuple[str, str]:
        key = canonical(name)
        guc = GUCS.get(key)
        if guc is None:
            prefix = key.split(".")[0]
            if "." in key and prefix not in ("hnsw", "ivfflat", "vecgres"):
                return key, value  # custom placeholder variables are allowed, as in PostgreSQL
            if "." in key and prefix != "vecgres":
                # pgvector's MarkGUCPrefixReserved("hnsw") / ("ivfflat")
                raise errors.VecgresError(
                    f'invalid configuration parameter name "{name}"',
                    sqlstate="42602",
                    detail=f'"{prefix}" is a reserved prefix.',
                )
            raise errors.UndefinedObject(f'unrecognized configuration parameter "{name}"')
        if guc.kind in ("int", "real"):
            number = _parse_number(value, guc)
            if guc.min is not None and guc.max is not None and not guc.min <= number <= guc.max:
                shown = int(number) if guc.kind == "int" else f"{number:g}"  # %g, as PostgreSQL
                lo = int(guc.min) if guc.kind == "int" else guc.min
                hi = int(guc.max) if guc.kind == "int" else guc.max
                raise errors.InvalidParameterValue(
                    f'{shown} is outside the valid range for parameter "{key}" ({lo} .. {hi})'
                )
            return key, str(int(number)) if guc.kind == "int" else str(number)
        if guc.kind == "bool":
            lowered = value.lower()
            if lowered in ("on", "true", "yes", "1", "t", "y"):
                return key, "on"
            if lowered in ("off", "false", "no", "0", "f", "n"):
                return key, "off"
            raise errors.InvalidParameterValue(f'parameter "{key}" requires a Boolean value')
        if guc.kind == "enum":
            lowered = value.lower()
            if lowered not in guc.choices:
                raise errors.InvalidParameterValue(
                    f'invalid value for parameter "{key}": "{value}"',
                    hint="Available values: " + ", ".join(guc.choices) + ".",
                )
            return key, lowered
        return key, value

    def set(self, name: str, value: str, *, local: bool, txn: Any) -> dict[str, str]:
        key, value = self.validate(name, value)
        self._generation += 1
        if local:
            if txn is not None and txn.explicit:
                if self._local is None:
                    self._local = {}
                self._local[key] = value
            return {}
        self._remember(txn)
        self._values[key] = value
        if self._local is not None:
            self._local.pop(key, None)  # a SET after SET LOCAL wins, as in PostgreSQL
        guc = GUCS.get(key)
        return {key: value} if guc is not None and guc.report else {}

    def _remember(self, txn: Any) -> None:
        if txn is not None and txn.explicit and self._before is None:
            self._before = dict(self._values)

    def end_transaction(self, *, commit: bool) -> dict[str, str]:
        """SET LOCAL values end with the transaction; a rollback also undoes its SETs
        and RESETs, as PostgreSQL does. Returns the reported parameters that changed."""
        if self._local is None and self._before is None:
            return {}  # nothing set in the transaction (every autocommit statement)
        shown = self._reported()
        self._generation += 1
        self._local = None
        if not commit and self._before is not None:
            self._values = self._before
        self._before = None
        return self._changed(shown)

    def mark(self) -> tuple[dict[str, str], dict[str, str] | None]:
        """The values a SAVEPOINT keeps."""
        return dict(self._values), None if self._local is None else dict(self._local)

    def rollback_to(self, mark: tuple[dict[str, str], dict[str, str] | None]) -> dict[str, str]:
        """ROLLBACK TO SAVEPOINT: the SETs since the mark are undone."""
        shown = self._reported()
        self._generation += 1
        values, local = mark
        self._values, self._local = dict(values), None if local is None else dict(local)
        return self._changed(shown)

    def _reported(self) -> dict[str, str]:
        return {key: self.get(key) for key in _REPORTED}

    def _changed(self, shown: dict[str, str]) -> dict[str, str]:
        return {key: value for key in _REPORTED if (value := self.get(key)) != shown[key]}

    def reset(self, rest: str, txn: Any) -> dict[str, str]:
        name = rest.strip()
        self._remember(txn)
        self._generation += 1
        if name.upper() == "ALL":
            self._values.clear()
            return {}
        key = canonical(name)
        if key not in GUCS:
            # as SET does: unknown and reserved-prefix names fail; a placeholder
            # variable is reset to its empty boot value
            self.validate(name, "")
            self._values[key] = ""
            return {}
        self._values.pop(key, None)
        guc = GUCS[key]
        return {key: guc.default} if guc.report else {}

    def set_from_sql(self, rest: str, txn: Any) -> dict[str, str]:
        local = False
        m = re.match(r"(SESSION|LOCAL)\s+(.*)$", rest, re.I | re.S)
        if m:
            local = m.group(1).upper() == "LOCAL"
            rest = m.group(2)
        tm = re.match(r"TIME\s+ZONE\s+(.*)$", rest, re.I | re.S)
        if tm:
            return self.set("TimeZone", _unquote(tm.group(1)), local=local, txn=txn)
        if re.match(r"(SESSION\s+CHARACTERISTICS|TRANSACTION)\b", rest, re.I):
            return {}
        nm = re.match(r"NAMES\s+(.*)$", rest, re.I | re.S)
        if nm:
            return self.set("client_encoding", _unquote(nm.group(1)), local=local, txn=txn)
        m = re.match(r'("?[\w.$]+"?)\s*(?:=|\bTO\b)\s*(.*)$', rest, re.I | re.S)
        if not m:
            raise errors.SyntaxError_(
                f'syntax error at or near "{rest.split()[0] if rest else ""}"'
            )
        name, raw = m.group(1), m.group(2).strip()
        if raw.upper() == "DEFAULT":
            return self.reset(name, txn)
        value = ", ".join(_unquote(v) for v in _split_list(raw))
        return self.set(name, value, local=local, txn=txn)


def _split_list(raw: str) -> list[str]:
    parts, current, quote = [], "", ""
    for ch in raw:
        if quote:
            current += ch
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
            current += ch
        elif ch == ",":
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def _unquote(v: str) -> str:
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] == "'":
        return v[1:-1].replace("''", "'")
    if len(v) >= 2 and v[0] == v[-1] == '"':
        return v
    return v


def _parse_number(value: str, guc: Guc) -> float:
    m = re.fullmatch(r"\s*(-?[\d.]+)\s*(ms|s|min|h|d|kB|MB|GB|TB)?\s*", value)
    if not m:
        raise errors.InvalidParameterValue(f'invalid value for parameter "{guc.name}": "{value}"')
    number = float(m.group(1))
    unit = m.group(2)
    scale = {
        "ms": 1,
        "s": 1000,
        "min": 60000,
        "h": 3600000,
        "d": 86400000,
        "kB": 1,
        "MB": 1024,
        "GB": 1024 * 1024,
        "TB": 1024 * 1024 * 1024,
    }
    if unit:
        number *= scale[unit]
    return round(number) if guc.kind == "int" else number


def _format_ms(ms: int) -> str:
    for unit, size in (("d", 86400000), ("h", 3600000), ("min", 60000), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def _format_kb(kb: int) -> str:
    for unit, size in (("TB", 1024**3), ("GB", 1024**2), ("MB", 1024)):
        if kb % size == 0:
            return f"{kb // size}{unit}"
    return f"{kb}kB"
