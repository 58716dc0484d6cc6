"""Why is (or isn't) a customer in a segment: every clause with the customer's values and its truth.

Core stays pure: :func:`explain_plan` builds one Ibis query that returns a single row (the customer's
values and every clause's result as columns), and the caller runs it on its engine; :func:`explain` takes
that runner as an argument. The answer is an :class:`Explanation` holding a tree of
:class:`ClauseResult` that mirrors the rule's and/or/not structure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import ibis.expr.types as ir

from segmint.core.rules import nodes as n
from segmint.core.rules.checker import TypedRule
from segmint.core.rules.compiler import CompileContext, Plan, build_plan, json_path
from segmint.core.rules.printer import to_text

__all__ = ["ClauseResult", "ExplainPlan", "Explanation", "explain", "explain_plan"]


@dataclass(frozen=True)
class ClauseResult:
    """One clause: its canonical text, whether it holds for the customer, the values it looked at
    (name → value, None when missing) and, for and/or/not, the clauses inside it."""

    text: str
    result: bool
    values: dict[str, Any] = field(default_factory=dict)
    children: tuple[ClauseResult, ...] = ()
    kind: str = "clause"  # clause, and, or, not

    def to_dict(self) -> dict:
        out: dict = {"text": self.text, "kind": self.kind, "result": self.result, "values": self.values}
        if self.children:
            out["children"] = [c.to_dict() for c in self.children]
        return out

    def lines(self, depth: int = 0) -> list[str]:
        """Human-readable lines: ``[x] clause   (name=value, ...)``, indented by depth."""
        mark = "[x]" if self.result else "[ ]"
        vals = ", ".join(f"{k}={_show(v)}" for k, v in self.values.items())
        text = self.kind if self.kind in ("and", "or", "not") else self.text
        line = f"{'  ' * depth}{mark} {text}" + (f"   ({vals})" if vals else "")
        return [line] + [ln for c in self.children for ln in c.lines(depth + 1)]


@dataclass(frozen=True)
class Explanation:
    customer_id: str
    as_of: datetime
    found: bool  # False when no such customer exists (every clause is then false)
    result: bool
    root: ClauseResult

    def to_dict(self) -> dict:
        return {
            "customer_id": self.customer_id,
            "as_of": self.as_of.isoformat(),
            "found": self.found,
            "result": self.result,
            "clauses": self.root.to_dict(),
        }


@dataclass(frozen=True)
class _Slot:
    node: n.Node
    result: str  # column holding the clause's truth
    values: tuple[tuple[str, str], ...]  # (label, column)
    children: tuple[_Slot, ...]
    kind: str


class ExplainPlan:
    """The one-row query of an explanation (``expr``) and how to read its row (``build``)."""

    def __init__(self, plan: Plan, customer_id: str) -> None:
        self.plan = plan
        self.customer_id = customer_id
        self._columns: dict[str, ir.Value] = {}
        self.root = self._slot(plan.typed.rule.body)
        self.expr: ir.Table = plan.wide.select(**self._columns)

    def _add(self, expr: ir.Value) -> str:
        name = f"x_{len(self._columns)}"
        self._columns[name] = expr
        return name

    def _slot(self, node: n.Node) -> _Slot:
        plan, wide = self.plan, self.plan.wide
        result = self._add(plan.predicate(node))
        if isinstance(node, n.And | n.Or):
            kids = tuple(self._slot(item) for item in node.items)
            return _Slot(node, result, (), kids, type(node).__name__.lower())
        if isinstance(node, n.Not):
            return _Slot(node, result, (), (self._slot(node.item),), "not")
        values: list[tuple[str, str]] = []
        left = getattr(node, "left", None)
        if isinstance(left, n.Field):
            res = plan.resolved(left, "customer")
            col = (
                json_path(wide[res.column], res.path).cast("string")
                if res.source == "attr"
                else wide[res.column]
            )
            values.append((left.name, self._add(col)))
        elif isinstance(left, n.Aggregate):
            values.append((to_text(left), self._add(wide[plan.aggregates[left]])))
        elif isinstance(node, n.Did):
            count = n.Aggregate("count", node.event, None, node.where, node.window)
            values.append((to_text(count), self._add(wide[plan.aggregates[count]])))
        elif isinstance(node, n.WithinKm):
            values.append(("distance_km", self._add(plan.distance_km(node, wide))))
        elif isinstance(node, n.Consent):
            for col in (f"{node.channel}_opt_in", f"{node.channel}_opt_in_at"):
                if col in wide.columns:
                    values.append((col, self._add(wide[col])))
        return _Slot(node, result, tuple(values), (), "clause")

    def build(self, row: Mapping[str, Any] | None) -> Explanation:
        """The explanation from the query's row (None or empty when the customer does not exist)."""
        found = bool(row)
        root = self._read(self.root, row or {})
        return Explanation(self.customer_id, self.plan.as_of, found, root.result, root)

    def _read(self, slot: _Slot, row: Mapping[str, Any]) -> ClauseResult:
        result = bool(_plain(row.get(slot.result)) or False)
        values = {label: _plain(row.get(col)) for label, col in slot.values}
        kids = tuple(self._read(child, row) for child in slot.children)
        return ClauseResult(to_text(slot.node), result, values, kids, slot.kind)


def explain_plan(rule: n.Rule | TypedRule, ctx: CompileContext, customer_id: str) -> ExplainPlan:
    """Lay out the explanation query of ``rule`` for one customer."""
    restricted = replace(ctx, customer_ids=(customer_id,))
    return ExplainPlan(build_plan(rule, restricted), customer_id)


def explain(
    rule: n.Rule | TypedRule,
    ctx: CompileContext,
    customer_id: str,
    execute: Callable[[ir.Table], Mapping[str, Any] | None],
) -> Explanation:
    """Explain ``rule`` for one customer; ``execute`` runs a one-row query and returns that row as a
    mapping (or None), e.g. ``lambda e: next(iter(con.execute(e).to_dict("records")), None)``."""
    plan = explain_plan(rule, ctx, customer_id)
    return plan.build(execute(plan.expr))


def _plain(value: Any) -> Any:
    """Engine values as plain Python: NaN/NaT → None, numpy scalars → int/float, timestamps → datetime."""
    if value is None:
        return None
    if hasattr(value, "to_pydatetime"):
        try:
            return value.to_pydatetime()
        except ValueError:
            return None
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict | str):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NaTType",):
        return None
    return value


def _show(value: Any) -> str:
    if value is None:
        return "missing"
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    return repr(value) if isinstance(value, str) else str(value)
