"""DuckDB's physical plan (its ``EXPLAIN (FORMAT json)`` or ``EXPLAIN ANALYZE (FORMAT
json)`` profile) translated into PostgreSQL's plan nodes.

DuckDB operators map to the PostgreSQL nodes doing the same work: a table scan is
``Seq Scan on t``, ``HASH_JOIN`` is ``Hash Join`` with its build side under
``Hash``, ``TOP_N`` is ``Limit -> Sort``, ``HASH_GROUP_BY`` is ``HashAggregate``
and so on. Operators PostgreSQL has no node for are folded as PostgreSQL folds
them: a ``FILTER`` becomes the ``Filter:`` line of the node under it, a
``PROJECTION`` disappears into its input. Expressions are DuckDB's text given
back in the user's words by the ``deparse`` callback (the SQL layer owns parsing).

Times: DuckDB profiles each operator's own time; PostgreSQL prints the time to a
node's first and last row including its inputs, so the total is the node's time
plus its inputs', and the first row comes after the inputs of a blocking node
(sort, hash, aggregate) and at once (0) for a streaming one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vecgres.planner.pgplan import Actual, PlanNode


@dataclass(frozen=True, slots=True)
class Relation:
    """A table the statement reads: how the plan should name it."""

    name: str  # the user's table name
    alias: str
    columns: frozenset[str]  # DuckDB column names (lower case)
    hidden: int = 0  # rows its scan reads that are deleted (filtered by visibility)
    physical: tuple[str, ...] = ()  # its columns in order (a scan under an aggregate)


# deparse(duckdb_expression_text, scope, right_scope) -> PostgreSQL text. ``scope``
# maps a column name to the alias that qualifies it (empty: leave names bare); with
# ``right_scope`` the text is a comparison whose right side is qualified by it.
Deparse = Callable[[str, dict[str, str], "dict[str, str] | None"], str]

_BLOCKING = {"Sort", "Hash", "HashAggregate", "Aggregate", "WindowAgg", "Materialize"}

_JOIN_TYPES = {
    "INNER": "",
    "LEFT": " Left",
    "RIGHT": " Right",
    "OUTER": " Full",
    "FULL": " Full",
    "SEMI": " Semi",
    "ANTI": " Anti",
    "MARK": " Semi",
    "SINGLE": " Left",
    "RIGHT_SEMI": " Right Semi",
    "RIGHT_ANTI": " Right Anti",
}

# nodes PostgreSQL cannot put a Filter on: a filter above one scans the subquery
_SUBQUERY_TOPS = {"Limit", "Sort", "WindowAgg", "Append", "Unique"}

_SCANS = {"TABLE_SCAN", "SEQ_SCAN", "PYTHON_ARROW_SCAN", "ARROW_SCAN", "READ_PARQUET"}
_COLUMN_RE = re.compile(r'^(?:[\w$]+|"[^"]*")(?:\.(?:[\w$]+|"[^"]*"))?$')
_COMPARISON_RE = re.compile(r"^\s*(\S+)\s+(=|<>|!=|<=|>=|<|>|IS NOT DISTINCT FROM)\s+(\S+)\s*$")
# table functions DuckDB's plain EXPLAIN names by the function
_FUNCTION_OPERATORS = {"GENERATE_SERIES", "RANGE", "UNNEST", "GENERATE_SUBSCRIPTS"}
_FUNCTION_NAMES = {"range": "generate_series", "generate_series": "generate_series"}


class Translator:
    def __init__(
        self,
        relations: list[Relation],
        deparse: Deparse,
        analyze: bool,
        qualify: bool,
        subquery: str = "unnamed_subquery",
        verbose: bool = False,
        names: dict[str, str] | None = None,
        keys: dict[str, str] | None = None,
    ) -> None:
        self.verbose = verbose
        # output aliases the plan prints for expressions (``_col_1``) -> the expression
        self.names = names or {}
        # column -> alias of the grouping and ordering columns as the query wrote them
        self.keys = keys or {}
        self.relations = relations
        self.subquery = subquery  # the alias a Subquery Scan shows
        self.used: list[int] = []
        self.deparse = deparse
        self.analyze = analyze
        self.qualify = qualify  # more than one relation: PostgreSQL qualifies upper nodes
        # more than one relation (or a subquery): VERBOSE qualifies every Output too
        self.several = len(relations) > 1 or subquery != "unnamed_subquery"
        self.ctes: dict[str, str] = {}  # CTE table index -> name

    # --- the raw tree --------------------------------------------------------------
    @staticmethod
    def name_of(raw: dict[str, Any]) -> str:
        return str(raw.get("name") or raw.get("operator_type") or raw.get("type") or "")

    @staticmethod
    def info(raw: dict[str, Any]) -> dict[str, Any]:
        extra = raw.get("extra_info")
        return extra if isinstance(extra, dict) else {}

    def _own(self, raw: dict[str, Any]) -> tuple[float, int]:
        """(the operator's own milliseconds, rows it produced) from the profile."""
        seconds = raw.get("operator_timing", raw.get("timing", 0.0)) or 0.0
        rows = raw.get("operator_cardinality", raw.get("intermediate_rows", 0)) or 0
        return float(seconds) * 1000, int(rows)

    # --- translation ---------------------------------------------------------------
    def translate(self, raw: dict[str, Any]) -> PlanNode:
        node, _ = self._node(raw)
        return node

    def _children(self, raw: dict[str, Any]) -> list[dict[str, Any]]:
        kids = raw.get("children")
        return list(kids) if isinstance(kids, list) else []

    def _node(self, raw: dict[str, Any]) -> tuple[PlanNode, float]:
        """The PostgreSQL node for ``raw`` and its total milliseconds (with inputs)."""
        name = self.name_of(raw)
        info = self.info(raw)
        own_ms, rows = self._own(raw)
        kids = self._children(raw)
        if name in ("RESULT_COLLECTOR", "EXPLAIN_ANALYZE", "PROJECTION") and len(kids) == 1:
            child, ms = self._node(kids[0])
            if name == "PROJECTION" and self.verbose:  # the columns the node hands up
                shown = [
                    self.deparse(self._resolve(p, kids[0]), self._output_scope(child), None)
                    for p in _items(info.get("Projections", ""))
                ]
                child.details = [d for d in child.details if d[0] != "Output"]
                child.details.insert(0, ("Output", ", ".join(shown)))
            if name == "PROJECTION" and child.actual is not None:
                child.actual.total_ms += own_ms
            return child, ms + own_ms
        if name == "FILTER" and len(kids) == 1:
            return self._filter(raw, kids[0], own_ms, rows)
        if name == "CTE" and len(kids) == 2:
            self.ctes[str(info.get("Table Index", ""))] = str(info.get("CTE Name", ""))
            definition, def_ms = self._node(kids[0])
            main, main_ms = self._node(kids[1])
            definition.label = f"CTE {info.get('CTE Name', '')}"
            main.children.insert(0, definition)
            if main.actual is not None:
                main.actual.total_ms += def_ms
            return main, main_ms + def_ms
        if name == "TOP_N" and len(kids) == 1:
            child, child_ms = self._node(kids[0])
            total = child_ms + own_ms
            sort = PlanNode("Sort", details=[("Sort Key", self._order(info, kids[0]))])
            sort.children.append(child)
            limit = PlanNode("Limit", children=[sort])
            if self.analyze:
                sort.actual = Actual(total, total, rows)
                limit.actual = Actual(total, total, rows)
            return limit, total

        children: list[PlanNode] = []
        child_ms = 0.0
        for kid in kids:
            child, ms = self._node(kid)
            children.append(child)
            child_ms += ms
        node = self._map(name, info, kids, children)
        total = child_ms + own_ms
        if self.analyze and node.node_type == "Append":  # DuckDB counts no rows for UNION
            rows = sum(c.actual.rows for c in node.children if c.actual is not None)
        if self.analyze:
            start = child_ms if node.node_type in _BLOCKING else 0.0
            node.actual = Actual(start, total, rows)
            for child in node.children:  # Hash under a Hash Join: as its input
                if child.node_type == "Hash" and child.actual is None and child.children:
                    below = child.children[0].actual
                    if below is not None:
                        child.actual = Actual(below.total_ms, below.total_ms, below.rows)
        return node, total

    def _filter(
        self, raw: dict[str, Any], kid: dict[str, Any], own_ms: float, rows: int
    ) -> tuple[PlanNode, float]:
        child, child_ms = self._node(kid)
        text = str(self.info(raw).get("Expression", ""))
        scope: dict[str, str] = {}
        if _is_scan(child):
            if self.verbose:  # PostgreSQL qualifies scan filters only when verbose
                scope = {"*": child.alias or child.relation or ""}
        elif self.qualify:
            scope = self._scope(child)
        shown = self.deparse(text, scope, None) if text else ""
        if child.node_type in _SUBQUERY_TOPS:  # a filter over a LIMIT-ed subquery
            child = PlanNode(
                "Subquery Scan", relation=self.subquery, children=[child], actual=child.actual
            )
            shown = self.deparse(text, {"*": self.subquery}, None)
        if child.node_type == "Result" and not child.children:
            child.details.append(("One-Time Filter", shown))
        elif shown:
            existing = [d for d in child.details if d[0] == "Filter"]
            if existing:
                i = child.details.index(existing[0])
                child.details[i] = ("Filter", f"({existing[0][1]} AND {shown})")
            else:
                child.details.append(("Filter", shown))
        total = child_ms + own_ms
        if child.actual is not None:
            removed = child.actual.rows - rows
            if "__vis" in text and _is_scan(child):  # rows deleted are not "removed"
                rel = next((r for r in self.relations if r.alias == child.alias), None)
                removed -= rel.hidden if rel is not None else 0
            if shown and removed >= 0:
                child.details.append(("Rows Removed by Filter", str(removed)))
            child.actual = Actual(child.actual.startup_ms, total, rows)
        return child, total

    def _map(
        self,
        name: str,
        info: dict[str, Any],
        kids: list[dict[str, Any]],
        children: list[PlanNode],
    ) -> PlanNode:
        if name in _SCANS or (name.endswith("_SCAN") and "Function" in info):
            return self._scan(info)
        if name in _FUNCTION_OPERATORS and not children:
            fn = name.lower()
            return PlanNode("Function Scan", relation=_FUNCTION_NAMES.get(fn, fn))
        if name == "DUMMY_SCAN":
            return PlanNode("Result")
        if name == "EMPTY_RESULT":
            return PlanNode("Result", details=[("One-Time Filter", "false")])
        if name == "COLUMN_DATA_SCAN":
            return PlanNode("Values Scan", relation='"*VALUES*"')
        if name == "CTE_SCAN":
            cte = self.ctes.get(str(info.get("CTE Index", "")), "cte")
            return PlanNode("CTE Scan", relation=cte)
        if name in ("RECURSIVE_CTE_SCAN",):
            return PlanNode("WorkTable Scan", relation=str(info.get("CTE Name", "cte")))
        if name == "RECURSIVE_CTE":
            return PlanNode("Recursive Union", children=children)
        if name.endswith("HASH_JOIN") or name.endswith("DELIM_JOIN"):
            return self._hash_join(info, children, kids)
        if name in (
            "NESTED_LOOP_JOIN",
            "BLOCKWISE_NL_JOIN",
            "PIECEWISE_MERGE_JOIN",
            "CROSS_PRODUCT",
            "POSITIONAL_JOIN",
        ):
            kind = _JOIN_TYPES.get(str(info.get("Join Type", "INNER")), "")
            node = PlanNode(f"Nested Loop{kind}", children=children)
            cond = _text(info.get("Conditions", info.get("Condition", "")))
            if cond:
                node.details.append(("Join Filter", self._join_cond(cond, children)))
            return node
        if name in ("HASH_GROUP_BY", "PERFECT_HASH_GROUP_BY", "STREAMING_GROUP_BY"):
            groups = _items(info.get("Groups", ""))
            node = PlanNode("HashAggregate" if groups else "Aggregate", children=children)
            keys = [self._expr(g, kids, children) for g in groups]
            if self.verbose:
                shown = [self._expr(g, kids, children, qualify=self.several) for g in groups]
                node.details.append(("Output", self._aggregate_output(shown, info, children)))
            if groups:
                node.details.append(("Group Key", ", ".join(keys)))
            return node
        if name in ("UNGROUPED_AGGREGATE", "SIMPLE_AGGREGATE"):
            node = PlanNode("Aggregate", children=children)
            if self.verbose:
                node.details.append(("Output", self._aggregate_output([], info, children)))
            return node
        if name == "ORDER_BY":
            return PlanNode(
                "Sort",
                details=[("Sort Key", self._order(info, kids[0] if kids else None))],
                children=children,
            )
        if name in ("LIMIT", "STREAMING_LIMIT", "LIMIT_PERCENT"):
            return PlanNode("Limit", children=children)
        if name == "UNION":
            flat: list[PlanNode] = []
            for child in children:  # UNION ALL of three: one Append of three
                flat.extend(child.children if child.node_type == "Append" else [child])
            return PlanNode("Append", children=flat)
        if name in ("WINDOW", "STREAMING_WINDOW"):
            return PlanNode("WindowAgg", children=children)
        if name == "UNNEST":
            return PlanNode("ProjectSet", children=children)
        return PlanNode(name.replace("_", " ").title(), children=children)

    def _aggregate_output(
        self, keys: list[str], info: dict[str, Any], children: list[PlanNode]
    ) -> str:
        """VERBOSE's ``Output:`` of an aggregate: its group keys, then its aggregates."""
        scope: dict[str, str] = {}
        if self.several:
            for child in children:
                scope.update(self._scope(child))
        aggregates = [self.deparse(a, scope, None) for a in _items(info.get("Aggregates", ""))]
        for child in children:  # PostgreSQL's scan under an aggregate reads whole rows
            rel = next((r for r in self.relations if r.alias == child.alias), None)
            if child.node_type == "Seq Scan" and rel is not None and rel.physical:
                prefix = f"{child.alias}." if self.several else ""
                shown = ", ".join(prefix + c for c in rel.physical)
                child.details = [d for d in child.details if d[0] != "Output"]
                child.details.insert(0, ("Output", shown))
        return ", ".join(keys + aggregates)

    def _scan(self, info: dict[str, Any]) -> PlanNode:
        function = str(info.get("Function", "")).lower()
        projections = {p.lower() for p in _items(info.get("Projections", "")) if p != "__vis"}
        if function in ("python_arrow_scan", "arrow_scan", "") or "Table" in info:
            if "Table" in info and not self.relations:
                table = str(info["Table"]).rsplit(".", 1)[-1]
                node = PlanNode("Seq Scan", relation=table)
            else:
                rel = self._relation(projections)
                node = (
                    PlanNode("Seq Scan", relation=rel.name, alias=rel.alias)
                    if rel is not None
                    else PlanNode("Seq Scan", relation="?")
                )
        else:
            fn = _FUNCTION_NAMES.get(function, function)
            node = PlanNode("Function Scan", relation=fn)
        if self.verbose:
            label = node.alias or node.relation or ""
            shown = [
                f"{label}.{p}" if node.node_type == "Seq Scan" and len(self.relations) > 1 else p
                for p in _items(info.get("Projections", ""))
                if p != "__vis"
            ]
            if shown:
                node.details.append(("Output", ", ".join(shown)))
        filters = _text(info.get("Filters", ""))
        filters = " AND ".join(
            f for f in (p.strip() for p in filters.split("\n")) if f and f != "__vis"
        )
        if filters:
            scope = {"*": node.alias or node.relation or ""} if self.verbose else {}
            node.details.append(("Filter", self.deparse(f"({filters})", scope, None)))
        return node

    def _relation(self, columns: set[str]) -> Relation | None:
        """The statement's table a DuckDB scan reads: the first one not yet placed
        whose columns hold the scan's (DuckDB does not name registered tables)."""
        fits = [i for i, r in enumerate(self.relations) if columns <= r.columns]
        for i in fits:
            if i not in self.used:
                self.used.append(i)
                return self.relations[i]
        if fits:
            return self.relations[fits[0]]
        unused = [i for i in range(len(self.relations)) if i not in self.used]
        if unused:
            self.used.append(unused[0])
            return self.relations[unused[0]]
        return self.relations[0] if self.relations else None

    def _hash_join(
        self, info: dict[str, Any], children: list[PlanNode], kids: list[dict[str, Any]]
    ) -> PlanNode:
        kind = _JOIN_TYPES.get(str(info.get("Join Type", "INNER")), "")
        node = PlanNode(f"Hash{kind} Join")
        cond = _items(info.get("Conditions", ""))
        if cond:
            parts = [self._join_cond(c, children, kids) for c in cond]
            text = parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"
            node.details.append(("Hash Cond", text))
        if len(children) == 2:
            node.children = [children[0], PlanNode("Hash", children=[children[1]])]
        else:
            node.children = children
        return node

    def _join_cond(
        self, cond: str, children: list[PlanNode], kids: list[dict[str, Any]] | None = None
    ) -> str:
        if kids is not None and len(kids) == 2:
            m = _COMPARISON_RE.match(cond)
            if m is not None:  # #i on either side: the column of that input
                left = self._resolve(m.group(1), kids[0])
                right = self._resolve(m.group(3), kids[1])
                cond = f"{left} {m.group(2)} {right}"
        if len(children) != 2:
            return self.deparse(cond, {}, None)
        return self.deparse(cond, self._scope(children[0]), self._scope(children[1]))

    def _output_scope(self, node: PlanNode) -> dict[str, str]:
        return self._scope(node) if len(self.relations) > 1 else {}

    def _scope(self, node: PlanNode) -> dict[str, str]:
        """column -> alias of the one relation under ``node`` that has it."""
        owners: dict[str, set[str]] = {}
        for scan in _scans(node):
            rel = next(
                (r for r in self.relations if r.alias == (scan.alias or scan.relation)), None
            )
            label = scan.alias or scan.relation or ""
            columns = rel.columns if rel is not None else frozenset()
            for col in columns:
                owners.setdefault(col, set()).add(label)
        return {col: next(iter(a)) for col, a in owners.items() if len(a) == 1}

    def _order(self, info: dict[str, Any], kid: dict[str, Any] | None) -> str:
        keys = []
        for item in _items(info.get("Order By", info.get("Order", ""))):
            key, _, direction = item.rpartition(" ")
            if direction not in ("ASC", "DESC"):
                key, direction = item, "ASC"
            shown = self._expr(key, [kid] if kid else [], [], sort=True)
            keys.append(shown if direction == "ASC" else f"{shown} DESC")
        return ", ".join(keys)

    def _expr(
        self,
        text: str,
        kids: list[dict[str, Any]],
        children: list[PlanNode],
        sort: bool = False,
        qualify: bool | None = None,
    ) -> str:
        """A group or sort key: ``#i`` is column i of the input, named by the
        projection or scan below; other names are qualified when PostgreSQL would."""
        text = self._resolve(text, kids[0] if kids else None)
        text = self.names.get(text, text)
        scope: dict[str, str] = {}
        if self.qualify if qualify is None else qualify:
            scope.update(self.keys)
            for child in children:
                scope.update(self._scope(child))
            if not children and self.relations:
                scope.update(_unique_scope(self.relations))
        shown = self.deparse(text, scope, None)
        # PostgreSQL parenthesizes a sort key that is not a column: (count(*)) DESC,
        # ((x + 1)); a group key only as the expression prints itself: abs(x), (x + 1)
        if sort and not _COLUMN_RE.match(shown):
            shown = f"({shown})"
        return shown

    def _resolve(self, text: str, kid: dict[str, Any] | None) -> str:
        while text.startswith("#") and text[1:].isdigit() and kid is not None:
            i = int(text[1:])
            name = self.name_of(kid)
            projections = _items(self.info(kid).get("Projections", ""))
            if name == "PROJECTION" and i < len(projections):
                text = projections[i]
                kids = self._children(kid)
                kid = kids[0] if kids else None
            elif name.endswith("GROUP_BY"):
                info = self.info(kid)
                outputs = _items(info.get("Groups", "")) + _items(info.get("Aggregates", ""))
                if i < len(outputs):
                    text = outputs[i]
                    kids = self._children(kid)
                    kid = kids[0] if kids else None
                else:
                    break
            elif name in ("FILTER", "ORDER_BY", "LIMIT", "STREAMING_LIMIT") or (
                name.endswith("_SCAN") and i < len(projections)
            ):
                if name.endswith("_SCAN"):
                    return projections[i]
                kids = self._children(kid)
                kid = kids[0] if kids else None
            else:
                break
        return text


def _unique_scope(relations: list[Relation]) -> dict[str, str]:
    owners: dict[str, set[str]] = {}
    for rel in relations:
        for col in rel.columns:
            owners.setdefault(col, set()).add(rel.alias)
    return {col: next(iter(a)) for col, a in owners.items() if len(a) == 1}


def _is_scan(node: PlanNode) -> bool:
    return node.node_type.endswith("Scan") and node.relation is not None


def _scans(node: PlanNode) -> list[PlanNode]:
    if _is_scan(node):
        return [node]
    out = []
    for child in node.children:
        if child.label is None:
            out.extend(_scans(child))
    return out


def _items(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    text = str(value or "").strip()
    if not text:
        return []
    return [line.strip() for line in text.split("\n") if line.strip()]


def _text(value: object) -> str:
    return " AND ".join(_items(value))


def translate(
    tree: list[dict[str, Any]] | dict[str, Any],
    relations: list[Relation],
    deparse: Deparse,
    analyze: bool,
    *,
    verbose: bool = False,
    subquery: str = "unnamed_subquery",
    names: dict[str, str] | None = None,
    keys: dict[str, str] | None = None,
) -> PlanNode:
    """The PostgreSQL plan of DuckDB's plan JSON (``physical_plan`` list or the
    ``EXPLAIN ANALYZE`` profile object)."""
    if isinstance(tree, dict):
        roots = tree.get("operator") or tree.get("children") or []
        root = roots[0] if roots else tree
    else:
        root = tree[0]
    qualify = len(relations) > 1 or verbose or subquery != "unnamed_subquery"
    translator = Translator(relations, deparse, analyze, qualify, subquery, verbose, names, keys)
    return translator.translate(root)
