"""Segments in a workspace: load and validate ``segments/*.yaml``, version them, evaluate them as of a
time, materialise memberships and their history, and answer questions about them (size over time,
entries and exits, migrations, overlap, KPIs, why a customer is in a segment).

One run (:func:`evaluate_segments`) computes traits once, evaluates segments layer by layer in
dependency order (a segment using ``in_segment('x')`` runs after ``x``), and then updates history in one
set-based pass for all segments: the engine does the work, Python only orchestrates. All writes of a run
happen in one transaction on DuckDB.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir
import pyarrow as pa

from segmint.adapters.workspace import Workspace
from segmint.core.rules import nodes as n
from segmint.core.rules.errors import RuleCycleError, RuleError
from segmint.core.rules.parser import parse
from segmint.core.schema import CHANGES, MEMBERSHIP_HISTORY, MEMBERSHIPS, SEGMENT_RUNS, SEGMENTS
from segmint.core.segments import history as hist
from segmint.core.segments.definition import SegmentDef, SegmentError, parse_segment_yaml, segment_to_yaml
from segmint.core.segments.kpis import customer_facts, segment_kpis
from segmint.core.segments.overlap import overlap_matrix
from segmint.core.segments.params import ParamError, substitute
from segmint.core.timeutil import DurationError, parse_as_of, parse_duration

__all__ = [
    "RunSummary",
    "SegmentRun",
    "backfill",
    "count_rule",
    "entries_exits",
    "evaluate_segments",
    "explain",
    "export_members",
    "install_library",
    "kpis",
    "library_definitions",
    "load_definitions",
    "members",
    "migration",
    "overlap",
    "record_run",
    "resolve_rule",
    "run_times",
    "segment_expressions",
    "size_over_time",
    "validate",
]

_tmp = itertools.count()


# ------------------------------------------------------------------ definitions


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


def _read_dir(folder: Path) -> list[SegmentDef]:
    defs: list[SegmentDef] = []
    seen: dict[str, str] = {}
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        d = parse_segment_yaml(path.read_text(encoding="utf-8"), source=str(path.name))
        if d.name in seen:
            raise SegmentError(
                f"{path.name}: segment {d.name!r} is already defined in {seen[d.name]}",
                detail={"file": path.name, "field": "name"},
            )
        seen[d.name] = path.name
        defs.append(d)
    return defs


def load_definitions(ws: Workspace) -> list[SegmentDef]:
    """Every segment under the workspace's ``segments/`` folder, validated field by field."""
    return _read_dir(ws.segments_dir) if ws.segments_dir.exists() else []


def library_definitions() -> list[SegmentDef]:
    """The ready-made segments shipped with Segmint."""
    folder = resources.files("segmint.core.segments") / "library"
    return _read_dir(Path(str(folder)))


def install_library(ws: Workspace, overwrite: bool = False) -> list[str]:
    """Copy the ready-made segments into ``segments/``; files a user already has are kept unless
    ``overwrite``. Returns the names written."""
    ws.segments_dir.mkdir(exist_ok=True)
    written = []
    for d in library_definitions():
        target = ws.segments_dir / f"{d.name}.yaml"
        if target.exists() and not overwrite:
            continue
        target.write_text(segment_to_yaml(d), encoding="utf-8")
        written.append(d.name)
    return written


def resolve_rule(defn: SegmentDef) -> n.Rule:
    """The rule tree of a definition with its parameters bound; errors point into the YAML file."""
    try:
        return substitute(defn.rule, defn.params, parse)
    except RuleError as exc:
        raise _located(defn, exc) from None
    except ParamError as exc:
        raise SegmentError(
            f"{defn.source or defn.name}:{defn.rule_line}:{defn.rule_column}: segment {defn.name!r}: "
            f"{exc.message}",
            detail={"file": defn.source, "field": "params", "segment": defn.name},
        ) from None


def _located(defn: SegmentDef, exc: RuleError) -> SegmentError:
    line, col = defn.file_position(exc.line or 1, exc.column or 1)
    where = f"{defn.source or defn.name}:{line}:{col}"
    return SegmentError(
        f"{where}: segment {defn.name!r}, field 'rule': {exc.kind}: {exc.reason}",
        detail={
            "file": defn.source,
            "segment": defn.name,
            "field": "rule",
            "line": line,
            "column": col,
            "rule_line": exc.line,
            "rule_column": exc.column,
            "reason": exc.reason,
        },
    )


def _dependencies(rule: n.Rule) -> set[str]:
    return {node.name for node in n.walk(rule.body) if isinstance(node, n.InSegment)}


def dependency_layers(rules: Mapping[str, n.Rule]) -> list[list[str]]:
    """Segments in layers: each layer only uses segments of earlier layers. Cycles are errors."""
    # Cluster segments (cluster:<model>:<n>) come from fitted cluster models, not from definitions.
    deps = {name: {d for d in _dependencies(rule) if not _is_cluster(d)} for name, rule in rules.items()}
    for name, used in deps.items():
        for other in used:
            if other not in rules:
                raise SegmentError(
                    f"segment {name!r} uses in_segment({other!r}) but no segment is called {other!r}",
                    detail={"segment": name, "field": "rule"},
                )
    layers: list[list[str]] = []
    done: set[str] = set()
    while len(done) < len(rules):
        layer = sorted(name for name in rules if name not in done and deps[name] <= done)
        if not layer:
            stuck = sorted(name for name in rules if name not in done)
            raise RuleCycleError(f"segments depend on each other in a cycle: {', '.join(stuck)}")
        layers.append(layer)
        done.update(layer)
    return layers


# ------------------------------------------------------------------ engine glue (rules + traits)


def _catalog(ws: Workspace | None = None):
    """The trait catalog rules are checked against (with the workspace's category traits)."""
    if ws is None:
        from segmint.core.traits import default_catalog

        return default_catalog()
    from segmint.batch.traits import workspace_catalog

    return workspace_catalog(ws)


def _check(rule: n.Rule, defn: SegmentDef | None, catalog, segment_names: Iterable[str]) -> None:
    from segmint.core.rules import check

    try:
        check(rule, _check_context(catalog, segment_names))
    except RuleError as exc:
        if defn is None:
            raise
        raise _located(defn, exc) from None


class _SegmentNames(frozenset):
    """Defined segment names, plus every well-formed cluster segment name (``cluster:<model>:<n>``):
    whether that model and cluster exist is only known against a workspace, when the rule is run."""

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or (isinstance(name, str) and _is_cluster(name))


def _is_cluster(name: str) -> bool:
    from segmint.models.clusters import PREFIX

    return name.startswith(PREFIX)


def _cluster_lookup(ws: Workspace):
    """Resolve ``in_segment('cluster:<model>:<n>')`` to that cluster's current members."""
    from segmint.models.clusters import segment_members

    def lookup(name: str) -> ir.Table:
        table = segment_members(ws, name)
        assert table is not None  # only called for cluster names
        return table

    return lookup


def _check_context(catalog, segment_names: Iterable[str]):
    from segmint.core.rules import CheckContext

    return CheckContext(catalog=catalog, segments=_SegmentNames(segment_names))


def _compile(
    rule: n.Rule, traits: ir.Table, tables: Mapping[str, ir.Table], as_of: datetime, catalog, lookup
):
    from segmint.core.rules import CompileContext, compile_rule

    ctx = CompileContext(
        traits=traits,
        events=_stitched(tables),
        customers=tables["customers"],
        as_of=as_of,
        catalog=catalog,
        segment_members=lookup,
    )
    return compile_rule(rule, ctx)


def _stitched(tables: Mapping[str, ir.Table]) -> ir.Table:
    """Events with anonymous ones attributed through ``identities``: segments see the stitched
    customer, as traits do."""
    from segmint.core.traits.events import stitched_events

    return stitched_events(tables["events"], tables["identities"])


def trait_expression(tables: Mapping[str, ir.Table], as_of: datetime, settings: Mapping | None = None):
    """The traits of every customer as of ``as_of`` as an (unmaterialised) expression."""
    from segmint.core.traits import trait_table

    return trait_table(tables, as_of) if settings is None else trait_table(tables, as_of, settings)


def segment_expressions(
    defs: list[SegmentDef],
    traits: ir.Table,
    tables: Mapping[str, ir.Table],
    as_of: datetime,
    catalog=None,
    materialise=None,
    clusters=None,
) -> dict[str, ir.Table]:
    """``name -> customer_id table`` for every definition, on whatever backend ``tables`` are bound
    to. ``materialise(name, expr) -> table`` may cache a segment so dependants read it once;
    ``clusters(name) -> table`` resolves cluster segments (``cluster:<model>:<n>``)."""
    catalog = catalog if catalog is not None else _catalog()
    rules = {d.name: resolve_rule(d) for d in defs}
    by_name = {d.name: d for d in defs}
    out: dict[str, ir.Table] = {}

    def lookup(name: str) -> ir.Table:
        if _is_cluster(name):
            if clusters is None:
                raise SegmentError(f"{name!r} is a cluster segment: evaluate it against a workspace")
            return clusters(name)
        return out[name]

    for layer in dependency_layers(rules):
        for name in layer:
            _check(rules[name], by_name[name], catalog, rules)
            expr = _compile(rules[name], traits, tables, as_of, catalog, lookup)
            # One member type for every segment (nullable text), whatever joins produced it, so the
            # per-segment tables can be unioned on any engine.
            expr = expr.select(customer_id=expr.customer_id.cast(dt.String(nullable=True))).distinct()
            out[name] = materialise(name, expr) if materialise else expr
    return out


# ------------------------------------------------------------------ validation


def validate(ws: Workspace) -> list[dict[str, Any]]:
    """Check every segment file: fields, rule syntax, names against the trait catalog, parameters and
    dependency cycles. Returns one row per segment; raises the first error with its file position."""
    defs = load_definitions(ws)
    catalog = _catalog(ws)
    rules = {d.name: resolve_rule(d) for d in defs}
    for d in defs:
        _check(rules[d.name], d, catalog, rules)
    dependency_layers(rules)
    return [
        {"name": d.name, "family": d.family, "group": d.group, "file": d.source, "hash": d.content_hash}
        for d in defs
    ]


# ------------------------------------------------------------------ versions


def _sync_versions(ws: Workspace, defs: list[SegmentDef], rules: Mapping[str, n.Rule]) -> dict[str, int]:
    """Record a new version of every segment whose content hash changed; return current versions."""
    from segmint.core.rules.printer import to_text

    stored = ws.table("segments")
    latest = stored.group_by("name").aggregate(version=stored.version.max())
    rows = latest.inner_join(stored, ["name", "version"]).select("name", "version", "hash").to_pyarrow()
    have = {r["name"]: (r["version"], r["hash"]) for r in rows.to_pylist()}
    now = datetime.now(UTC).replace(tzinfo=None)
    new_rows, versions = [], {}
    for d in defs:
        version, digest = have.get(d.name, (0, None))
        if digest != d.content_hash:
            version += 1
            new_rows.append(
                {
                    "name": d.name,
                    "version": version,
                    "family": d.family,
                    "description": d.description,
                    "rule": to_text(rules[d.name]),
                    "tags": list(d.tags),
                    "owner": d.owner,
                    "created_at": now,
                    "hash": d.content_hash,
                }
            )
        versions[d.name] = version
    if new_rows:
        ws.store.append("segments", pa.Table.from_pylist(new_rows, schema=SEGMENTS.schema.to_pyarrow()))
    return versions


# ------------------------------------------------------------------ traits for a time


def _traits(ws: Workspace, as_of: datetime) -> tuple[ir.Table, bool]:
    """The materialised ``traits`` table for ``as_of``: reused when the last computation was for the same
    time, else recomputed (``compute_traits`` materialises it)."""
    from segmint.batch import traits as traits_usecase

    # Reuse needs to know which time the stored table is for; older trait modules do not say.
    stored_as_of = getattr(traits_usecase, "traits_as_of", None)
    if stored_as_of is not None and "traits" in ws.con.list_tables() and stored_as_of(ws) == as_of:
        return ws.table("traits"), True
    traits_usecase.compute_traits(ws, as_of)
    return ws.table("traits"), False


# ------------------------------------------------------------------ evaluation


def _temp(ws: Workspace, expr: ir.Table, prefix: str) -> ir.Table:
    name = f"_segmint_{prefix}_{next(_tmp)}"
    return ws.con.create_table(name, expr, temp=ws.store.is_duckdb, overwrite=True)


def _name(t: ir.Table) -> str:
    """A table's bare name (DuckDB qualifies temporary tables as ``temp.main.x``)."""
    return t.get_name().split(".")[-1]


def _drop_temps(ws: Workspace, tables: Iterable[ir.Table]) -> None:
    for t in tables:
        ws.store.drop(_name(t))


def evaluate_segments(
    ws: Workspace,
    as_of: datetime | str | None = None,
    names: Iterable[str] | None = None,
    cause: str | None = None,
) -> RunSummary:
    """Evaluate every segment (or ``names`` and what they depend on) as of ``as_of``; record members,
    history and changes. Re-running a time with the same data changes nothing."""
    as_of = parse_as_of(as_of)
    summary = RunSummary(as_of=as_of)
    clock, cpu = time.perf_counter(), time.process_time()

    def lap(phase: str) -> None:
        nonlocal clock, cpu
        summary.timings[phase] = time.perf_counter() - clock
        summary.cpu[phase] = time.process_time() - cpu
        clock, cpu = time.perf_counter(), time.process_time()

    defs = load_definitions(ws)
    if names is not None:
        defs = _with_dependencies(defs, set(names))
    if not defs:
        raise SegmentError(
            "no segments to evaluate: add YAML files under segments/ or run `segmint segments install-library`"
        )
    catalog = _catalog(ws)
    rules = {d.name: resolve_rule(d) for d in defs}
    for d in defs:
        _check(rules[d.name], d, catalog, rules)
    lap("load")
    traits, summary.traits_reused = _traits(ws, as_of)
    lap("traits")
    temps: list[ir.Table] = []

    # Only segments other segments use are cached; the rest run together in one union query.
    used = set().union(*(_dependencies(r) for r in rules.values()))

    def materialise(name: str, expr: ir.Table) -> ir.Table:
        if name not in used:
            return expr
        t = _temp(ws, expr, "seg")
        temps.append(t)
        return t

    exprs = segment_expressions(defs, traits, ws.tables(), as_of, catalog, materialise, _cluster_lookup(ws))
    parts = [
        e.select(segment=ibis.literal(name), customer_id=e.customer_id.cast("string"))
        for name, e in exprs.items()
    ]
    members_all = _temp(ws, ibis.union(*parts) if len(parts) > 1 else parts[0], "members")
    temps.append(members_all)
    lap("evaluate")
    try:
        with ws.store.transaction():
            versions = _sync_versions(ws, defs, rules)
            runs = _record(ws, as_of, versions, members_all, cause, temps)
    finally:
        _drop_temps(ws, temps)
    lap("history")
    summary.segments = [runs[d.name] for d in sorted(defs, key=lambda d: d.name)]
    summary.timings["total"] = sum(v for k, v in summary.timings.items())
    summary.cpu["total"] = sum(summary.cpu.values())
    return summary


def _with_dependencies(defs: list[SegmentDef], wanted: set[str]) -> list[SegmentDef]:
    by_name = {d.name: d for d in defs}
    missing = wanted - set(by_name)
    if missing:
        raise SegmentError(f"no segment called {', '.join(sorted(missing))}")
    todo, keep = list(wanted), set()
    while todo:
        name = todo.pop()
        if name in keep:
            continue
        keep.add(name)
        todo.extend(_dependencies(resolve_rule(by_name[name])) - keep)
    return [d for d in defs if d.name in keep]


def _bounds(ws: Workspace, as_of: datetime, versions: Mapping[str, int]) -> tuple[pa.Table, bool]:
    """Per segment: this run's time, the neighbouring runs and the version. Also whether this run is
    the latest for every segment (a forward run, the common case)."""
    runs = ws.table("segment_runs")
    names = list(versions)
    r = runs.filter(runs.segment.isin(names), runs.as_of != as_of)
    t = ibis.literal(as_of, type="timestamp")
    agg = (
        r.group_by("segment")
        .aggregate(t_prev=r.as_of.max(where=r.as_of < t), t_next=r.as_of.min(where=r.as_of > t))
        .to_pyarrow()
        .to_pylist()
    )
    found = {row["segment"]: row for row in agg}
    rows = [
        {
            "segment": name,
            "t": as_of,
            "t_prev": found.get(name, {}).get("t_prev"),
            "t_next": found.get(name, {}).get("t_next"),
            "version": versions[name],
        }
        for name in names
    ]
    forward = all(row["t_next"] is None for row in rows)
    schema = pa.schema(
        [
            ("segment", pa.string()),
            ("t", pa.timestamp("us")),
            ("t_prev", pa.timestamp("us")),
            ("t_next", pa.timestamp("us")),
            ("version", pa.int64()),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema), forward


def _record(
    ws: Workspace,
    as_of: datetime,
    versions: Mapping[str, int],
    members_all: ir.Table,
    cause: str | None,
    temps: list[ir.Table],
) -> dict[str, SegmentRun]:
    bounds_rows, forward = _bounds(ws, as_of, versions)
    if forward and not _ran_at(ws, as_of, versions):
        return _record_forward(ws, as_of, versions, members_all, cause or "run", temps)
    bounds = _temp(ws, ibis.memtable(bounds_rows), "bounds")
    temps.append(bounds)
    history = ws.table("membership_history")
    old, new = hist.rebuild(history, bounds, members_all)
    delete, insert = hist.diff(old, new)
    delete = _temp(ws, delete, "del")
    insert = _temp(ws, insert, "ins")
    temps.extend([delete, insert])

    # Change events: boundaries the new intervals add, and boundaries the old ones had that are gone.
    ck = ["segment", "customer_id", "kind", "at"]
    b_del, b_ins = hist.boundaries(delete), hist.boundaries(insert)
    added = _temp(ws, b_ins.anti_join(b_del, ck), "added")
    retracted = _temp(ws, b_del.anti_join(b_ins, ck), "retracted")
    temps.extend([added, retracted])
    n_retracted = int(retracted.count().to_pyarrow().as_py())

    # History: a key-preserving rewrite (the forward case) is a merge; anything else rebuilds the table.
    key = list(MEMBERSHIP_HISTORY.key)
    orphan_deletes = int(delete.anti_join(insert, key).count().to_pyarrow().as_py())
    n_insert = int(insert.count().to_pyarrow().as_py())
    if orphan_deletes == 0:
        if n_insert:
            ws.store.upsert(MEMBERSHIP_HISTORY, _name(insert))
    else:
        cols = ["segment", "customer_id", "valid_from"]
        kept = history.anti_join(delete, cols)
        rebuilt = kept.union(insert.select(*kept.columns))
        staged = _temp(ws, rebuilt, "hist")
        temps.append(staged)
        ws.store.replace("membership_history", ws.table(_name(staged)))

    # Change log: append new boundaries with increasing seq; drop retracted ones (backfills only).
    kind_cause = cause or ("run" if forward else "backfill")
    changes = ws.table("changes")
    if n_retracted:
        kept_changes = changes.anti_join(retracted, ck)
        staged = _temp(ws, kept_changes, "chg")
        temps.append(staged)
        ws.store.replace("changes", ws.table(_name(staged)))
        changes = ws.table("changes")
    start = int(changes.seq.max().fill_null(0).to_pyarrow().as_py())
    ordered = added.mutate(
        seq=ibis.row_number().over(order_by=["at", "segment", "kind", "customer_id"]) + start + 1,
        cause=ibis.literal(kind_cause),
    )
    ws.store.append("changes", ordered.select(*CHANGES.columns))

    # Run bookkeeping and per-segment counts (entered / exited at this time).
    counts = {
        row["segment"]: row["members"]
        for row in members_all.group_by("segment")
        .aggregate(members=members_all.count())
        .to_pyarrow()
        .to_pylist()
    }
    moved = added.filter(added.at == ibis.literal(as_of, type="timestamp"))
    moves = moved.group_by("segment", "kind").aggregate(c=moved.count()).to_pyarrow().to_pylist()
    entered = {r["segment"]: r["c"] for r in moves if r["kind"] == "entered"}
    exited = {r["segment"]: r["c"] for r in moves if r["kind"] == "exited"}
    _record_runs(ws, as_of, versions, counts)

    # Current memberships: the open intervals of the segments defined now.
    h = ws.table("membership_history")
    current = h.filter(h.valid_to.isnull(), h.segment.isin(_defined_segments(ws, versions)))
    ws.store.replace(
        "memberships",
        current.select(
            "segment", "customer_id", since=current.valid_from, segment_version=current.segment_version
        ),
    )
    return {
        name: SegmentRun(
            name=name,
            version=versions[name],
            members=int(counts.get(name, 0)),
            entered=int(entered.get(name, 0)),
            exited=int(exited.get(name, 0)),
        )
        for name in versions
    }


def _ran_at(ws: Workspace, as_of: datetime, versions: Mapping[str, int]) -> bool:
    """Whether any of these segments already has a run at ``as_of`` (a re-run of that time)."""
    runs = ws.table("segment_runs")
    hit = runs.filter(runs.as_of == ibis.literal(as_of, type="timestamp"), runs.segment.isin(list(versions)))
    return bool(hit.count().to_pyarrow().as_py())


def _record_forward(
    ws: Workspace,
    as_of: datetime,
    versions: Mapping[str, int],
    members_all: ir.Table,
    cause: str,
    temps: list[ir.Table],
) -> dict[str, SegmentRun]:
    """History for a run later than every earlier run of its segments (the usual ``segmint run``).

    Then the members at the previous run are exactly the open intervals, and :func:`hist.rebuild`
    reduces to: customers in the new members but not in an open interval enter (a new open interval
    from ``as_of``), open intervals whose customer is no longer a member exit (closed at ``as_of``),
    everyone else is untouched. Only those changed (segment, customer) pairs are written: history,
    the change log and current memberships are updated in place rather than rebuilt, so a run costs
    the size of the members plus the size of the change, not of the whole history."""
    t = ibis.literal(as_of, type="timestamp")
    names = list(versions)
    key = ["segment", "customer_id"]
    h = ws.table("membership_history")
    prev = h.filter(h.valid_to.isnull(), h.segment.isin(names))
    version_rows = pa.table(
        {
            "segment": pa.array(names, pa.string()),
            "version": pa.array([versions[x] for x in names], pa.int64()),
        }
    )
    vers = _temp(ws, ibis.memtable(version_rows), "versions")
    temps.append(vers)
    new = members_all.anti_join(prev, key)
    new = new.inner_join(vers, "segment")
    entered = _temp(
        ws,
        new.select(
            segment=new.segment.cast("string"),
            customer_id=new.customer_id.cast("string"),
            valid_from=t,
            valid_to=ibis.null("timestamp"),
            segment_version=new.version.cast("int64"),
        ),
        "entered",
    )
    gone = prev.anti_join(members_all, key)
    exited = _temp(
        ws,
        gone.select(
            "segment",
            "customer_id",
            valid_from=gone.valid_from,
            valid_to=t,
            segment_version=gone.segment_version,
        ),
        "exited",
    )
    temps.extend([entered, exited])
    n_entered = _per_segment(entered)
    n_exited = _per_segment(exited)

    # History: closed intervals replace their open selves (same key); new intervals start at as_of,
    # where no interval of theirs can start yet (no run there), so they are plain appends.
    if n_exited:
        ws.store.upsert(MEMBERSHIP_HISTORY, _name(exited))
    if n_entered:
        ws.store.append("membership_history", entered.select(*MEMBERSHIP_HISTORY.columns))

    # Change log: this run's entries and exits, numbered after the last one in a stable order.
    if n_entered or n_exited:
        moves = entered.mutate(kind=ibis.literal("entered")).union(exited.mutate(kind=ibis.literal("exited")))
        start = int(ws.table("changes").seq.max().fill_null(0).to_pyarrow().as_py())
        # Numbered in (segment, kind, customer_id) order as offset of its (segment, kind) block plus
        # rank inside it: the same numbers as one global row_number, but blocks rank in parallel.
        blocks = moves.group_by("segment", "kind").aggregate(n=moves.count())
        blocks = blocks.mutate(
            off=blocks.n.cumsum(order_by=[blocks.segment, blocks.kind]) - blocks.n + start + 1
        )
        numbered = moves.inner_join(blocks, ["segment", "kind"])
        ordered = numbered.mutate(
            at=t,
            seq=numbered.off
            + ibis.row_number().over(group_by=["segment", "kind"], order_by=numbered.customer_id),
            cause=ibis.literal(cause),
        )
        ws.store.append("changes", ordered.select(*CHANGES.columns))

    counts = _per_segment(members_all)
    _record_runs(ws, as_of, versions, counts)
    _update_memberships(ws, versions, entered, exited)
    return {
        name: SegmentRun(
            name=name,
            version=versions[name],
            members=int(counts.get(name, 0)),
            entered=int(n_entered.get(name, 0)),
            exited=int(n_exited.get(name, 0)),
        )
        for name in versions
    }


def _per_segment(table: ir.Table) -> dict[str, int]:
    rows = table.group_by("segment").aggregate(n=table.count()).to_pyarrow().to_pylist()
    return {r["segment"]: int(r["n"]) for r in rows}


def _update_memberships(
    ws: Workspace, versions: Mapping[str, int], entered: ir.Table, exited: ir.Table
) -> None:
    """Current memberships (open intervals of the segments defined now), changed in place: exits
    removed, entries added, segments no longer defined dropped. Should the table not match history
    afterwards (it was written by an older Segmint, say), it is rebuilt from history."""
    defined = _defined_segments(ws, versions)
    m = ws.table("memberships")
    stale = _temp(ws, m.filter(~m.segment.isin(defined)).select("segment", "customer_id"), "stale")
    try:
        ws.store.delete(MEMBERSHIPS, _name(exited))
        ws.store.delete(MEMBERSHIPS, _name(stale))
    finally:
        ws.store.drop(_name(stale))
    ws.store.append(
        "memberships",
        entered.select(
            "segment", "customer_id", since=entered.valid_from, segment_version=entered.segment_version
        ),
    )
    h = ws.table("membership_history")
    current = h.filter(h.valid_to.isnull(), h.segment.isin(defined))
    have = int(ws.table("memberships").count().to_pyarrow().as_py())
    if have != int(current.count().to_pyarrow().as_py()):
        ws.store.replace(
            "memberships",
            current.select(
                "segment", "customer_id", since=current.valid_from, segment_version=current.segment_version
            ),
        )


def record_run(
    ws: Workspace,
    as_of: datetime | str,
    members_by_segment: Mapping[str, Iterable[str]],
    versions: Mapping[str, int] | None = None,
    cause: str | None = None,
) -> dict[str, SegmentRun]:
    """Record already-known members of segments at ``as_of`` into history (what a run does after
    evaluating rules; also used by services that evaluate elsewhere)."""
    t = parse_as_of(as_of)
    versions = dict(versions or dict.fromkeys(members_by_segment, 1))
    rows = [(seg, cid) for seg, ids in members_by_segment.items() for cid in ids]
    data = pa.table(
        {
            "segment": pa.array([r[0] for r in rows], pa.string()),
            "customer_id": pa.array([r[1] for r in rows], pa.string()),
        }
    )
    temps: list[ir.Table] = []
    try:
        with ws.store.transaction():
            staged = _temp(ws, ibis.memtable(data), "members")
            temps.append(staged)
            return _record(ws, t, versions, staged, cause, temps)
    finally:
        _drop_temps(ws, temps)


def _defined_segments(ws: Workspace, versions: Mapping[str, int]) -> list[str]:
    names = set(versions)
    with contextlib.suppress(SegmentError):
        names |= {d.name for d in load_definitions(ws)}
    return sorted(names)


def _record_runs(
    ws: Workspace, as_of: datetime, versions: Mapping[str, int], counts: Mapping[str, int]
) -> None:
    runs = ws.table("segment_runs")
    existing = {
        r["segment"]: (r["segment_version"], r["members"])
        for r in runs.filter(runs.as_of == ibis.literal(as_of, type="timestamp")).to_pyarrow().to_pylist()
    }
    now = datetime.now(UTC).replace(tzinfo=None)
    rows = [
        {
            "segment": name,
            "as_of": as_of,
            "segment_version": version,
            "members": int(counts.get(name, 0)),
            "evaluated_at": now,
        }
        for name, version in versions.items()
        if existing.get(name) != (version, int(counts.get(name, 0)))
    ]
    if not rows:
        return
    data = pa.Table.from_pylist(rows, schema=SEGMENT_RUNS.schema.to_pyarrow())
    staged = ws.store.stage(data.to_batches(), data.schema, prefix="runs")
    ws.store.upsert(SEGMENT_RUNS, staged)
    ws.store.drop(staged)


def backfill(
    ws: Workspace, start: datetime | str, end: datetime | str, every: str | timedelta = "1w"
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
    out, t = [], t0
    while t <= t1:
        out.append(evaluate_segments(ws, t, cause="backfill"))
        t += step
    return out


# ------------------------------------------------------------------ reading members and history


def run_times(ws: Workspace, segment: str | None = None) -> list[datetime]:
    runs = ws.table("segment_runs")
    if segment is not None:
        runs = runs.filter(runs.segment == segment)
    return [r["as_of"] for r in runs.select("as_of").distinct().order_by("as_of").to_pyarrow().to_pylist()]


def _latest_run(ws: Workspace) -> datetime:
    times = run_times(ws)
    if not times:
        raise SegmentError("no segment run yet: run `segmint run` first")
    return times[-1]


def _members_at(ws: Workspace, as_of: datetime | str | None) -> tuple[ir.Table, datetime]:
    t = _latest_run(ws) if as_of is None else parse_as_of(as_of)
    return hist.members_at(ws.table("membership_history"), t), t


def _known_segment(ws: Workspace, name: str) -> None:
    names = {d.name for d in load_definitions(ws)}
    stored = ws.table("segment_runs")
    names |= {r["segment"] for r in stored.select("segment").distinct().to_pyarrow().to_pylist()}
    if name not in names:
        from difflib import get_close_matches

        near = get_close_matches(name, sorted(names), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise SegmentError(f"no segment called {name!r}{hint}")


def members(ws: Workspace, name: str, as_of: datetime | str | None = None) -> ir.Table:
    """``customer_id, since`` of a segment now (current memberships) or at a past run time."""
    _known_segment(ws, name)
    if as_of is None:
        m = ws.table("memberships")
        return m.filter(m.segment == name).select("customer_id", "since").order_by("customer_id")
    h = ws.table("membership_history")
    t = ibis.literal(parse_as_of(as_of), type="timestamp")
    h = h.filter(h.segment == name, h.valid_from <= t, h.valid_to.isnull() | (h.valid_to > t))
    return h.select("customer_id", since=h.valid_from).order_by("customer_id")


def export_members(ws: Workspace, name: str, path: Path, as_of: datetime | str | None = None) -> int:
    """Write a segment's members with their e-mail and opt-in to CSV or Parquet (by extension)."""
    m = members(ws, name, as_of)
    c = ws.table("customers")
    out = (
        m.left_join(c, "customer_id")
        .select(m.customer_id, m.since, c.email, c.email_opt_in, c.first_name, c.last_name, c.country)
        .order_by("customer_id")
    )
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        ws.con.to_parquet(out, path)
    elif path.suffix.lower() == ".csv":
        ws.con.to_csv(out, path)
    else:
        raise SegmentError(f"cannot export to {path.name}: use a .csv or .parquet file name")
    return int(m.count().to_pyarrow().as_py())


def size_over_time(ws: Workspace, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
    runs = ws.table("segment_runs")
    h = ws.table("membership_history")
    if names:
        names = list(names)
        runs = runs.filter(runs.segment.isin(names))
        h = h.filter(h.segment.isin(names))
    return hist.size_over_time(h, runs).to_pyarrow().to_pylist()


def _check_run_time(ws: Workspace, segment_names: list[str], t: datetime) -> None:
    runs = ws.table("segment_runs")
    found = runs.filter(runs.as_of == ibis.literal(t, type="timestamp"), runs.segment.isin(segment_names))
    have = {r["segment"] for r in found.select("segment").to_pyarrow().to_pylist()}
    missing = sorted(set(segment_names) - have)
    if missing:
        raise SegmentError(
            f"{', '.join(missing)} not evaluated at {t}: history is known at run times only; "
            f"run `segmint run --as-of {t.isoformat()}` (or a backfill) first",
            detail={"missing": missing, "as_of": t.isoformat()},
        )


def entries_exits(ws: Workspace, name: str, t1: datetime | str, t2: datetime | str) -> list[dict[str, Any]]:
    """Customers who entered (member at ``t2``, not at ``t1``) or exited (the reverse)."""
    _known_segment(ws, name)
    a, b = parse_as_of(t1), parse_as_of(t2)
    _check_run_time(ws, [name], a)
    _check_run_time(ws, [name], b)
    return hist.entries_exits(ws.table("membership_history"), name, a, b).to_pyarrow().to_pylist()


def group_segments(ws: Workspace, group: str) -> list[str]:
    defs = load_definitions(ws)
    names = [d.name for d in defs if d.group == group]
    if not names:
        groups = sorted({d.group for d in defs if d.group})
        raise SegmentError(
            f"no exclusive group called {group!r}; groups: {', '.join(groups) or 'none (set group: in YAML)'}"
        )
    return names


def migration(ws: Workspace, group: str, t1: datetime | str, t2: datetime | str) -> list[dict[str, Any]]:
    """How customers moved between the exclusive segments of ``group`` from ``t1`` to ``t2``."""
    names = group_segments(ws, group)
    a, b = parse_as_of(t1), parse_as_of(t2)
    h = ws.table("membership_history")
    for t in (a, b):
        _check_run_time(ws, names, t)
        clash = int(hist.overlapping(h, names, t).count().to_pyarrow().as_py())
        if clash:
            raise SegmentError(
                f"group {group!r} is not exclusive at {t}: {clash} customers are in more than one of "
                f"{', '.join(names)}; fix the rules so each customer is in at most one"
            )
    return hist.migration_matrix(h, names, a, b).to_pyarrow().to_pylist()


def overlap(ws: Workspace, names: list[str], as_of: datetime | str | None = None) -> list[dict[str, Any]]:
    for name in names:
        _known_segment(ws, name)
    m, _ = _members_at(ws, as_of)
    return overlap_matrix(m, names).to_pyarrow().to_pylist()


def kpis(
    ws: Workspace,
    names: list[str] | None = None,
    as_of: datetime | str | None = None,
    period: str = "90d",
) -> list[dict[str, Any]]:
    """KPIs of segments (all by default) at a run time, beside the whole base."""
    m, t = _members_at(ws, as_of)
    tables = ws.tables()
    facts = customer_facts(tables["customers"], tables["orders"], tables["events"], t, parse_duration(period))
    return segment_kpis(facts, m, names).to_pyarrow().to_pylist()


# ------------------------------------------------------------------ ad-hoc rules and explanations


def count_rule(ws: Workspace, text: str, as_of: datetime | str | None = None) -> int:
    """How many customers a rule selects as of a time (in_segment reads current memberships)."""
    t = parse_as_of(as_of)
    rule = parse(text)
    catalog = _catalog(ws)
    defined = [d.name for d in load_definitions(ws)]
    _check(rule, None, catalog, defined)
    traits, _ = _traits(ws, t)
    mem = ws.table("memberships")

    def lookup(name: str) -> ir.Table:
        if _is_cluster(name):
            return _cluster_lookup(ws)(name)
        return mem.filter(mem.segment == name).select("customer_id")

    expr = _compile(rule, traits, ws.tables(), t, catalog, lookup)
    return int(expr.select("customer_id").distinct().count().to_pyarrow().as_py())


def explain(
    ws: Workspace, customer_id: str, segment: str, as_of: datetime | str | None = None
) -> dict[str, Any]:
    """Each clause of a segment's rule with this customer's values and whether it holds."""
    from segmint.core.rules import explain as explain_rule

    defs = {d.name: d for d in load_definitions(ws)}
    if segment not in defs:
        _known_segment(ws, segment)
        raise SegmentError(f"segment {segment!r} has no definition under segments/")
    t = parse_as_of(as_of) if as_of is not None else _latest_or_now(ws)
    rule = resolve_rule(defs[segment])
    catalog = _catalog(ws)
    _check(rule, defs[segment], catalog, defs)
    customers = ws.table("customers")
    if not int(customers.filter(customers.customer_id == customer_id).count().to_pyarrow().as_py()):
        raise SegmentError(f"no customer with id {customer_id!r}")
    traits, _ = _traits(ws, t)
    h = ws.table("membership_history")

    def lookup(name: str) -> ir.Table:
        if _is_cluster(name):
            return _cluster_lookup(ws)(name)
        return hist.members_at(h.filter(h.segment == name), t).select("customer_id")

    from segmint.core.rules import CompileContext

    ctx = CompileContext(
        traits=traits,
        events=_stitched(ws.tables()),
        customers=customers,
        as_of=t,
        catalog=catalog,
        segment_members=lookup,
    )

    def execute(expr: ir.Table) -> dict[str, Any] | None:
        rows = ws.con.to_pyarrow(expr).to_pylist()
        return rows[0] if rows else None

    result = explain_rule(rule, ctx, customer_id, execute)
    return {"segment": segment, **result.to_dict(), "lines": result.root.lines()}


def _latest_or_now(ws: Workspace) -> datetime:
    times = run_times(ws)
    return times[-1] if times else parse_as_of(None)
