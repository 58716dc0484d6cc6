"""Segments that use other segments (``in_segment('vip')``): find the references, reject cycles, and
compile a family of rules so each refers to the others' members.

A cycle (a uses b, b uses a) has no meaning as a set definition, so it is an error that spells out the
loop, found either up front (:func:`find_cycle` over a whole library) or while compiling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

import ibis.expr.types as ir

from segmint.core.rules import nodes as n
from segmint.core.rules.compiler import CompileContext, compile_rule
from segmint.core.rules.errors import RuleCycleError, RuleTypeError

__all__ = ["SegmentResolver", "find_cycle", "segment_refs"]


def segment_refs(rule: n.Rule | n.Node) -> list[str]:
    """Names of the segments a rule refers to, in order of first use."""
    names: list[str] = []
    for node in n.walk(rule):
        if isinstance(node, n.InSegment) and node.name not in names:
            names.append(node.name)
    return names


def find_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle in ``segment → segments it uses``, as the path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for ref in graph.get(name, ()):
            if state.get(ref) == 1:
                return [*path[path.index(ref) :], ref]
            if state.get(ref) is None and ref in graph:
                found = visit(ref)
                if found:
                    return found
        path.pop()
        state[name] = 2
        return None

    for name in graph:
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None


class SegmentResolver:
    """Compiles named rules on demand; ``in_segment(x)`` inside one compiles ``x`` (once) with the same
    tables and as_of. ``members(name)`` is the callback a :class:`CompileContext` expects."""

    def __init__(self, rules: Mapping[str, n.Rule], ctx: CompileContext) -> None:
        self.rules = dict(rules)
        self.ctx = replace(ctx, segment_members=self.members, segments=tuple(self.rules))
        self._done: dict[str, ir.Table] = {}
        self._stack: list[str] = []

    def members(self, name: str) -> ir.Table:
        if name in self._done:
            return self._done[name]
        if name in self._stack:
            loop = " → ".join([*self._stack[self._stack.index(name) :], name])
            raise RuleCycleError(f"segment '{name}' depends on itself: {loop}")
        if name not in self.rules:
            raise RuleTypeError(f"unknown segment '{name}'")
        self._stack.append(name)
        try:
            self._done[name] = compile_rule(self.rules[name], self.ctx)
        finally:
            self._stack.pop()
        return self._done[name]
