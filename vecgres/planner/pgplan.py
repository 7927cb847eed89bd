"""A plan tree as PostgreSQL's EXPLAIN prints it, and its text and JSON renderings.

vecgres runs a statement in DuckDB (or its own top-k search); EXPLAIN translates
what ran into these nodes (``planner/duckplan.py``) so psql, ORMs and BI tools see
PostgreSQL's node names, ``->`` indentation and option behaviour.

Costs: DuckDB has no cost model (only a cardinality estimate per operator), so no
node carries ``cost=…``; every plan is printed as PostgreSQL prints it with
``COSTS OFF``, whatever the COSTS option says.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field


@dataclass(slots=True)
class ExplainOptions:
    analyze: bool = False
    verbose: bool = False
    costs: bool = True
    buffers: bool = False
    timing: bool | None = None  # None: on with ANALYZE
    summary: bool | None = None  # None: on with ANALYZE
    format: str = "text"
    settings: bool = False
    # SETTINGS: the planner-relevant parameters changed from their defaults, with
    # their values as SHOW prints them (filled by the statement's session)
    changed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def timed(self) -> bool:
        return self.analyze and self.timing is not False

    @property
    def summarized(self) -> bool:
        return self.summary if self.summary is not None else self.analyze


@dataclass(slots=True)
class Actual:
    """What a node did under ANALYZE: milliseconds to its first and last row, rows."""

    startup_ms: float
    total_ms: float
    rows: int


@dataclass(slots=True)
class PlanNode:
    node_type: str  # "Seq Scan", "Hash Join", "Limit", ...
    relation: str | None = None  # "on t" part (Seq Scan, Update, CTE Scan ...)
    alias: str | None = None
    index: str | None = None  # "using <index>"
    # (label, text) lines under the node: ("Filter", "(v = 1)"), ("Sort Key", "v")
    details: list[tuple[str, str]] = field(default_factory=list)
    children: list[PlanNode] = field(default_factory=list)
    # a child shown under a label instead of an arrow: "CTE c", "SubPlan 1"
    label: str | None = None
    actual: Actual | None = None
    never_executed: bool = False

    def title(self, verbose: bool = False, schema: str = "public") -> str:
        text = self.node_type
        if self.index is not None:
            text += f" using {self.index}"
        if self.relation is not None:
            rel = f"{schema}.{self.relation}" if verbose and self.node_type in _QUALIFIED else ""
            text += f" on {rel or self.relation}"
            if self.alias is not None and self.alias != self.relation:
                text += f" {self.alias}"
        return text


# node types whose relation VERBOSE qualifies with its schema
_QUALIFIED = {"Seq Scan", "Index Scan", "Insert", "Update", "Delete"}


def _actual_text(actual: Actual | None, never: bool, opts: ExplainOptions) -> str:
    if never:
        return " (never executed)"
    if actual is None:
        return ""
    if opts.timed:
        return (
            f" (actual time={actual.startup_ms:.3f}..{actual.total_ms:.3f} "
            f"rows={actual.rows} loops=1)"
        )
    return f" (actual rows={actual.rows} loops=1)"


def render_text(root: PlanNode, opts: ExplainOptions) -> list[str]:
    out: list[str] = []

    def walk(node: PlanNode, head: str, pad: str) -> None:
        suffix = _actual_text(node.actual, node.never_executed, opts) if opts.analyze else ""
        out.append(f"{head}{node.title(opts.verbose)}{suffix}")
        for label, text in node.details:
            out.append(f"{pad}{label}: {text}")
        for child in node.children:
            if child.label is not None:
                out.append(f"{pad}{child.label}")
                walk(child, pad + "  ->  ", pad + "        ")
            else:
                walk(child, pad + "->  ", pad + "      ")

    walk(root, "", "  ")
    return out


def render_json(
    root: PlanNode,
    opts: ExplainOptions,
    planning_ms: float | None,
    execution_ms: float | None,
) -> str:
    """PostgreSQL's FORMAT JSON: one object per statement with a "Plan" tree."""

    def obj(node: PlanNode, relationship: str | None) -> dict[str, object]:
        out: dict[str, object] = {"Node Type": node.node_type}
        if relationship is not None:
            out["Parent Relationship"] = relationship
        if node.label is not None and node.label.startswith(("CTE ", "SubPlan", "InitPlan")):
            out["Subplan Name"] = node.label
        out["Parallel Aware"] = False
        out["Async Capable"] = False
        if node.relation is not None:
            key = "CTE Name" if node.node_type == "CTE Scan" else "Relation Name"
            out[key] = node.relation
            if opts.verbose and node.node_type in _QUALIFIED:
                out["Schema"] = "public"
            out["Alias"] = node.alias or node.relation
        if node.index is not None:
            out["Index Name"] = node.index
        if opts.analyze:
            if node.never_executed or node.actual is None:
                if opts.timed:
                    out["Actual Startup Time"] = 0.0
                    out["Actual Total Time"] = 0.0
                out["Actual Rows"] = 0
                out["Actual Loops"] = 0
            else:
                if opts.timed:
                    out["Actual Startup Time"] = round(node.actual.startup_ms, 3)
                    out["Actual Total Time"] = round(node.actual.total_ms, 3)
                out["Actual Rows"] = node.actual.rows
                out["Actual Loops"] = 1
        for label, text in node.details:
            value: object = text
            if label in ("Sort Key", "Group Key", "Output"):
                value = split_list(text)
            elif label.startswith("Rows Removed"):
                value = int(text)
            out[label] = value
        if node.children:
            kids = []
            for i, child in enumerate(node.children):
                rel = _relationship(node, child, i)
                kids.append(obj(child, rel))
            out["Plans"] = kids
        return out

    doc: dict[str, object] = {"Plan": obj(root, None)}
    if opts.settings:
        doc["Settings"] = dict(opts.changed)
    if planning_ms is not None:
        doc["Planning Time"] = round(planning_ms, 3)
    doc["Triggers"] = []
    if execution_ms is not None:
        doc["Execution Time"] = round(execution_ms, 3)
    if not opts.analyze:
        del doc["Triggers"]
    return json.dumps([doc], indent=2)


def _relationship(parent: PlanNode, child: PlanNode, position: int) -> str:
    if child.label is not None:
        return "InitPlan" if child.label.startswith(("CTE ", "InitPlan")) else "SubPlan"
    if parent.node_type.endswith("Join") or parent.node_type == "Nested Loop":
        return "Outer" if position == 0 else "Inner"
    if parent.node_type in ("Append", "Merge Append"):
        return "Member"
    if parent.node_type == "Subquery Scan":
        return "Subquery"
    return "Outer"


def split_list(text: str) -> list[str]:
    """``a, f(b, c)`` -> ["a", "f(b, c)"]: commas outside parentheses and quotes."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch in "([":
            depth += 1
        elif not quoted and ch in ")]":
            depth -= 1
        elif not quoted and depth == 0 and ch == ",":
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


_ARROW_RE = re.compile(r"^(\s*)->  (.*)$")
_ACTUAL_RE = re.compile(r"^(.*?) \(actual (?:time=([0-9.]+)\.\.([0-9.]+) )?rows=(\d+) loops=\d+\)$")
_TITLE_RE = re.compile(r"^(.*?)(?: using (\S+))?(?: on (\S+)(?: (\S+))?)?$")


def parse_text(lines: list[str]) -> PlanNode:
    """The tree of plan lines printed in PostgreSQL's text format (the top-k searches
    print their lines directly): for FORMAT JSON and the TIMING option."""
    root: PlanNode | None = None
    stack: list[tuple[int, PlanNode]] = []  # (indent of the node's details, node)
    pending_label: str | None = None
    for line in lines:
        if line.startswith(("Planning Time:", "Execution Time:")):
            continue
        m = _ARROW_RE.match(line)
        if m is None and root is not None:
            indent = len(line) - len(line.lstrip(" "))
            while stack and stack[-1][0] > indent:
                stack.pop()
            text = line.strip()
            label, sep, value = text.partition(": ")
            if not sep:  # "CTE c": the next arrow is a labelled child
                pending_label = text
                continue
            stack[-1][1].details.append((label, value))
            continue
        indent = len(m.group(1)) if m is not None else 0
        node = _node_of(m.group(2) if m is not None else line.strip())
        if root is None:
            root = node
            stack = [(2, node)]
            continue
        while stack and stack[-1][0] > indent:
            stack.pop()
        node.label, pending_label = pending_label, None
        stack[-1][1].children.append(node)
        stack.append((indent + 6, node))
    assert root is not None
    return root


def _node_of(text: str) -> PlanNode:
    actual = None
    m = _ACTUAL_RE.match(text)
    if m is not None:
        text = m.group(1)
        start = float(m.group(2)) if m.group(2) else 0.0
        total = float(m.group(3)) if m.group(3) else 0.0
        actual = Actual(start, total, int(m.group(4)))
    t = _TITLE_RE.match(text)
    assert t is not None
    node = PlanNode(t.group(1), relation=t.group(3), alias=t.group(4), index=t.group(2))
    node.actual = actual
    return node


def graft(
    root: PlanNode,
    subtrees: dict[str, PlanNode],
    labels: dict[str, str],
    outputs: dict[str, str] | None = None,
) -> PlanNode:
    """``root`` with each scan of a relation in ``subtrees`` (and the Sort of it by rank
    that keeps its rows in order) replaced by that subtree: the plan of a statement
    whose top-k subqueries ran on their own, with their plans in place. A filter
    DuckDB pushed into the scan stays, on a ``Subquery Scan on <labels[relation]>``
    (with ``outputs[relation]`` as its VERBOSE ``Output:``)."""

    def replacement(node: PlanNode) -> PlanNode | None:
        scan = node
        if node.node_type == "Sort" and len(node.children) == 1:
            scan = node.children[0]
        if scan.node_type != "Seq Scan" or scan.relation not in subtrees:
            return None
        sub = subtrees[scan.relation]
        filters = [d for d in scan.details if d[0] in ("Filter", "Rows Removed by Filter")]
        if filters:
            shown = (outputs or {}).get(scan.relation)
            sub = PlanNode(
                "Subquery Scan",
                relation=labels.get(scan.relation),
                details=([("Output", shown)] if shown else []) + filters,
                children=[sub],
                actual=scan.actual,
            )
        sub.label = node.label
        return sub

    def walk(node: PlanNode) -> tuple[PlanNode, float]:
        """The node with its subtrees in place, and their milliseconds (the searches
        ran before DuckDB: every node above one includes its time, as in PostgreSQL)."""
        found = replacement(node)
        if found is not None:
            ms = found.actual.total_ms if found.actual is not None else 0.0
            if found.actual is not None and found.children:
                below = found.children[0].actual
                if below is not None and found.node_type == "Subquery Scan":
                    found.actual.total_ms += below.total_ms
                    ms = found.actual.total_ms
            return found, ms
        added = 0.0
        children = []
        for child in node.children:
            new, ms = walk(child)
            children.append(new)
            added += ms
        node.children = children
        if node.actual is not None and added:
            node.actual.total_ms += added
            if node.actual.startup_ms > 0:  # a blocking node starts after its inputs
                node.actual.startup_ms += added
        return node, added

    return walk(root)[0]


# nodes that hand up their input's rows as they are: VERBOSE shows their input's columns
_PASS_THROUGH = {"Limit", "Sort", "Hash", "Materialize", "Unique", "Incremental Sort"}


def fill_outputs(node: PlanNode) -> None:
    """VERBOSE: a node that does not project shows its input's ``Output:``, with the
    expressions its input computed parenthesized, as PostgreSQL prints references to
    them (``(x + 1)`` below, ``((x + 1))`` above; ``count(*)`` below, ``(count(*))``)."""
    for child in node.children:
        fill_outputs(child)
    if node.node_type not in _PASS_THROUGH or not node.children:
        return
    below = next((text for label, text in node.children[0].details if label == "Output"), None)
    if below is None:
        return
    shown = ", ".join(_reference(item) for item in split_list(below))
    node.details = [d for d in node.details if d[0] != "Output"]
    node.details.insert(0, ("Output", shown))


_COLUMN_REF = re.compile(r'^(?:[\w$]+|"[^"]*")(?:\.(?:[\w$]+|"[^"]*"))*$')
_CALL = re.compile(r"^[\w$.]+\(.*\)$", re.S)


def _reference(item: str) -> str:
    """``item`` as a node above the one computing it shows it."""
    if _COLUMN_REF.match(item):
        return item
    if item.startswith("(") and _closing(item) == len(item) - 1:
        inner = item[1:-1]
        if (inner.startswith("(") and _closing(inner) == len(inner) - 1) or _CALL.match(inner):
            return item  # already a reference: ((x + 1)), (count(*))
    return f"({item})"


def _closing(text: str) -> int:
    """The index of the parenthesis closing the one ``text`` opens with (-1: none)."""
    depth = 0
    quoted = False
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1
