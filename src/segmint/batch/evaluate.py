"""Evaluating segments as of a time: compile every definition against the traits and the stitched
events, in dependency order (a segment using ``in_segment('x')`` runs after ``x``), and record the
members through the one membership recorder (:mod:`segmint.batch.history`).

The engine does the work, Python only orchestrates: the members of every segment are one union query,
only segments other segments use are materialised first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from segmint.adapters.workspace import Workspace
from segmint.batch import history
from segmint.batch.definitions import (
    check_context,
    check_definition,
    dependencies,
    dependency_layers,
    is_cluster,
    load_definitions,
    resolve_rule,
    with_dependencies,
)
from segmint.batch.reads import segment_members_at
from segmint.batch.traits import compute_traits, rule_traits, workspace_catalog
from segmint.batch.versions import current_versions, sync_versions
from segmint.core.progress import NO_PROGRESS, Progress
from segmint.core.rules import CompileContext, compile_rule
from segmint.core.rules import nodes as n
from segmint.core.segments.definition import SegmentDef, SegmentError
from segmint.core.timeutil import DurationError, parse_as_of, parse_duration
from segmint.core.traits.events import stitched_events

__all__ = [
    "RunSummary",
    "SegmentRun",
    "backfill",
    "compile_context",
    "evaluate_segments",
    "members_expression",
    "segment_expressions",
]


@dataclass
class SegmentRun:
    name: str
    version: int
    members: int
    entered: int
    exited: int


@dataclass
class RunSummary:
    """What one evaluation did: per segment sizes and changes, and where the time went."""

    as_of: datetime
    segments: list[SegmentRun] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    traits_reused: bool = False
    # CPU seconds of this process per phase (engine threads included): on a shared machine wall time
    # says how busy the machine was, CPU time what the run cost.
    cpu: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "traits_reused": self.traits_reused,
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
            "segments": [vars(s) for s in self.segments],
        }


def compile_context(
    traits: ir.Table | None,
    tables: Mapping[str, ir.Table],
    as_of: datetime,
    catalog,
    lookup: Callable[[str], ir.Table],
) -> CompileContext:
    """How rules see a workspace at ``as_of``: traits, events stitched to customers with the links
    known then, the customers table, and ``in_segment`` members from ``lookup``."""
    return CompileContext(
        traits=traits,
        events=stitched_events(tables["events"], tables["identities"], as_of),
        customers=tables["customers"],
        as_of=as_of,
        catalog=catalog,
        segment_members=lookup,
    )


def segment_expressions(
    defs: list[SegmentDef],
    traits: ir.Table | None,
    tables: Mapping[str, ir.Table],
    as_of: datetime,
    catalog=None,
    materialise: Callable[[str, ir.Table], ir.Table] | None = None,
    lookup: Callable[[str], ir.Table] | None = None,
) -> dict[str, ir.Table]:
    """``name -> customer_id table`` for every definition, on whatever backend ``tables`` are bound
    to. ``materialise(name, expr) -> table`` may cache a segment so dependants read it once;
    ``lookup(name) -> table`` gives the members of segments outside ``defs`` (cluster segments, and the
    segments a partial evaluation does not re-evaluate)."""
    if catalog is None:
        from segmint.core.traits import default_catalog

        catalog = default_catalog()
    rules = {d.name: resolve_rule(d) for d in defs}
    by_name = {d.name: d for d in defs}
    out: dict[str, ir.Table] = {}

    def members_of(name: str) -> ir.Table:
        if name in out:
            return out[name]
        if lookup is None:
            raise SegmentError(f"segment {name!r} is not evaluated here: evaluate it against a workspace")
        return lookup(name)

    outside = _outside_refs(rules) if lookup is not None else set()
    for layer in dependency_layers(rules, external=outside):
        for name in layer:
            check_definition(rules[name], by_name[name], catalog, set(rules) | outside)
            ctx = compile_context(traits, tables, as_of, catalog, members_of)
            expr = compile_rule(rules[name], ctx)
            # One member type for every segment (nullable text), whatever joins produced it, so the
            # per-segment tables can be unioned on any engine.
            expr = expr.select(customer_id=expr.customer_id.cast(dt.String(nullable=True))).distinct()
            out[name] = materialise(name, expr) if materialise else expr
    return out


def _outside_refs(rules: Mapping[str, n.Rule]) -> set[str]:
    """Segments the rules use that are not among them (resolved through ``lookup``)."""
    return {d for rule in rules.values() for d in dependencies(rule)} - set(rules)


def members_expression(exprs: Mapping[str, ir.Table]) -> ir.Table:
    """``segment, customer_id`` of every segment in one union."""
    parts = [
        e.select(segment=ibis.literal(name).cast("string"), customer_id=e.customer_id.cast("string"))
        for name, e in exprs.items()
    ]
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def _lookup(ws: Workspace, as_of: datetime) -> Callable[[str], ir.Table]:
    """Members of segments a run does not evaluate, at the run's time (cluster segments)."""

    def lookup(name: str) -> ir.Table:
        return segment_members_at(ws, name, as_of)

    return lookup


def evaluate_segments(
    ws: Workspace,
    as_of: datetime | str | None = None,
    names: Iterable[str] | None = None,
    cause: str | None = None,
) -> RunSummary:
    """Evaluate every segment (or ``names`` and what they depend on) as of ``as_of``; record members,
    history and changes. Re-running a time with the same data changes nothing. Segments whose
    definition was removed lose their members at ``as_of`` (a full run only)."""
    as_of = parse_as_of(as_of)
    summary = RunSummary(as_of=as_of)
    clock, cpu = time.perf_counter(), time.process_time()

    def lap(phase: str) -> None:
        nonlocal clock, cpu
        summary.timings[phase] = time.perf_counter() - clock
        summary.cpu[phase] = time.process_time() - cpu
        clock, cpu = time.perf_counter(), time.process_time()

    all_defs = load_definitions(ws)
    defs = all_defs if names is None else with_dependencies(all_defs, set(names))
    if not defs:
        raise SegmentError(
            "no segments to evaluate: add YAML files under segments/ or run `segmint segments install-library`"
        )
    catalog = workspace_catalog(ws)
    rules = {d.name: resolve_rule(d) for d in defs}
    for d in defs:
        check_definition(rules[d.name], d, catalog, rules)
    lap("load")
    # Traits are materialised for the run when a segment reads one (reused when still valid for this
    # time); segments on events and other segments alone need none.
    traits = None
    if rule_traits(rules.values(), check_context(catalog, rules)):
        summary.traits_reused = compute_traits(ws, as_of).reused
        traits = ws.table("traits")
    lap("traits")
    used = set().union(*(dependencies(r) for r in rules.values()))
    with ws.store.scratch() as temps:

        def materialise(name: str, expr: ir.Table) -> ir.Table:
            # Only segments other segments use are cached; the rest run together in one union query.
            if name not in used:
                return expr
            table = ws.store.temp(expr, "seg")
            temps.append(table)
            return ws.table(table)

        exprs = segment_expressions(
            defs, traits, ws.tables(), as_of, catalog, materialise, _lookup(ws, as_of)
        )
        lap("evaluate")
        with ws.store.transaction():
            versions = sync_versions(ws, defs, rules)
            recorded = history.record(
                ws, as_of, members_expression(exprs), versions=versions, cause=cause or "run"
            )
            if names is None:
                _retire_removed(ws, as_of, {d.name for d in all_defs}, cause or "run")
    lap("history")
    summary.segments = [
        SegmentRun(
            name=d.name,
            version=versions[d.name],
            members=recorded.members.get(d.name, 0),
            entered=recorded.entered.get(d.name, 0),
            exited=recorded.exited.get(d.name, 0),
        )
        for d in sorted(defs, key=lambda d: d.name)
    ]
    summary.timings["total"] = sum(summary.timings.values())
    summary.cpu["total"] = sum(summary.cpu.values())
    return summary


def _retire_removed(ws: Workspace, as_of: datetime, defined: set[str], cause: str) -> None:
    """Segments with members but no definition any more (and not clusters) lose them at ``as_of``."""
    m = ws.table("memberships")
    held = {r["segment"] for r in m.select("segment").distinct().to_pyarrow().to_pylist()}
    removed = sorted(s for s in held - defined if not is_cluster(s))
    if not removed:
        return
    versions = current_versions(ws)
    empty = m.filter(ibis.literal(False)).select("segment", "customer_id")
    history.record(
        ws, as_of, empty, versions={s: versions.get(s, 0) for s in removed}, cause="deleted", run=False
    )


def backfill(
    ws: Workspace,
    start: datetime | str,
    end: datetime | str,
    every: str | timedelta = "1w",
    progress: Progress = NO_PROGRESS,
) -> list[RunSummary]:
    """Evaluate every segment at ``start``, ``start + every``, ... up to ``end`` (inclusive). Times may
    fall before, between or after earlier runs: history is kept consistent whatever the order."""
    t0, t1 = parse_as_of(start), parse_as_of(end)
    try:
        step = parse_duration(every) if isinstance(every, str) else every
    except DurationError as exc:
        raise SegmentError(f"--every: {exc}") from None
    if step <= timedelta(0):
        raise SegmentError("--every must be a positive duration such as 1d or 1w")
    if t1 < t0:
        raise SegmentError(f"--from ({t0}) is after --to ({t1})")
    times = []
    t = t0
    while t <= t1:
        times.append(t)
        t += step
    out = []
    for i, t in enumerate(times):
        progress(i, len(times), f"as of {t:%Y-%m-%d %H:%M}")
        out.append(evaluate_segments(ws, t, cause="backfill"))
    progress(len(times), len(times), "done")
    return out
