"""The live engine's evaluator: the workspace's segment definitions, compiled exactly as a batch run
compiles them, evaluated on the canonical tables restricted to a set of customers.

Restriction filters the *inputs*: the customers' rows, their orders (and lines), their events, including
anonymous events whose anonymous id is linked to one of them (every link of such an id is kept so that
identity resolution picks the same customer as in batch). Traits are computed from those inputs, then the
segment expressions, and only the requested customers' memberships are kept.

One consequence to know: a trait that ranks a customer against the whole base (RFM quintile scores) would
be ranked against the restricted set only. Segments using such traits are still kept exact by the periodic
full sweep, which evaluates everyone on unrestricted inputs; per-customer traits, event aggregates,
sequences and segment references are exact on every tick.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from segmint.adapters.live_plan import (
    IDS,
    POPULATION,
    compile_backend,
    create_scratch,
    materialise,
    run_plan,
    set_ids,
    stage_shape,
)
from segmint.adapters.workspace import Workspace
from segmint.batch.definitions import (
    check_context,
    check_definition,
    dependencies,
    dependency_layers,
    load_definitions,
    resolve_rule,
    with_dependencies,
)
from segmint.batch.evaluate import segment_expressions
from segmint.batch.traits import catalog_for, restrict, rule_traits, trait_settings, workspace_catalog
from segmint.batch.versions import sync_versions
from segmint.core.rules import nodes as n
from segmint.core.schema import CANONICAL
from segmint.core.traits.value import RANK_POPULATION
from segmint.live.engine import LiveSegment
from segmint.live.sql_template import SqlTemplate, learn_offsets

__all__ = ["RuleEvaluator", "rule_shifts"]

# The buyer population (POPULATION) RFM scores of touched customers rank against: orders only change by
# import, never through the service, so it is built once and rebuilt at every sweep.


def rule_shifts(rule: n.Rule) -> set[timedelta]:
    """Every delay after a dated row at which the rule's truth may flip. Windows, ``within`` deadlines and
    ``since`` limits flip exactly at ``t + d`` (``(as_of - d, as_of]`` excludes ``t`` from then on);
    a relative time compared with ``>=``/``<=`` flips one microsecond later, so both instants are kept."""
    out: set[timedelta] = set()
    for node in n.walk(rule.body):
        if isinstance(node, n.Duration) and node.seconds > 0:
            out.add(timedelta(seconds=node.seconds))
        elif isinstance(node, n.RelTime) and node.offset:
            d = timedelta(seconds=abs(node.offset))
            out.update((d, d + timedelta(microseconds=1)))
    return out


class RuleEvaluator:
    """Loads ``segments/*.yaml`` (again whenever a file changes) and evaluates them for customers."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._stamp: tuple | None = None
        self._defs: list = []
        self._live: list[LiveSegment] = []
        self._needed: set[str] = set()
        self._catalog = None
        self._templates: dict[tuple, list[tuple[str | None, SqlTemplate]]] = {}
        self._untemplatable: set[tuple] = set()
        self._settings: dict = {}
        self._sweep: tuple | None = None
        # Compiling runs on its own cursor (and may run on any thread, one at a time) so the writer's
        # connection is only busy while statements execute.
        self._lock = threading.RLock()
        self._compile_con = compile_backend(ws)
        self._population_at: datetime | None = None

    # -- definitions -----------------------------------------------------------------------------------
    def _files_stamp(self) -> tuple:
        folder = self.ws.segments_dir
        if not folder.exists():
            return ()
        return tuple(
            sorted(
                (p.name, p.stat().st_mtime_ns, p.stat().st_size)
                for p in folder.iterdir()
                if p.suffix in (".yaml", ".yml")
            )
        )

    def refresh(self, force: bool = False) -> None:
        """Reload definitions if a segment file changed; record new versions as a batch run does."""
        stamp = self._files_stamp()
        if stamp == self._stamp and not force:
            return
        defs = load_definitions(self.ws)
        rules = {d.name: resolve_rule(d) for d in defs}
        catalog = workspace_catalog(self.ws)
        for d in defs:
            check_definition(rules[d.name], d, catalog, rules)
        dependency_layers(rules)
        versions = sync_versions(self.ws, defs, rules) if defs else {}
        shifts = {name: rule_shifts(rule) for name, rule in rules.items()}
        deps = {name: {x for x in dependencies(rule) if x in rules} for name, rule in rules.items()}
        # A segment's timing also depends on the segments it refers to.
        changed = True
        while changed:
            changed = False
            for name, used in deps.items():
                for other in used:
                    if not shifts[other] <= shifts[name]:
                        shifts[name] |= shifts[other]
                        changed = True
        trait_catalog = self._trait_catalog(rules, catalog)
        with self._lock:
            self._defs = defs
            self._catalog = trait_catalog
            self._needed = set().union(*deps.values()) if deps else set()
            self._live = [
                LiveSegment(d.name, versions.get(d.name, 0), tuple(sorted(shifts[d.name]))) for d in defs
            ]
            self._stamp = stamp
            self._settings = trait_settings(self.ws)

    def _trait_catalog(self, rules: Mapping[str, n.Rule], check_catalog):
        """Only the trait groups the rules read (and what those groups depend on): building and compiling
        the whole catalog on every tick would cost far more than evaluating a few customers."""
        return catalog_for(check_catalog, rule_traits(rules.values(), check_context(check_catalog, rules)))

    def segments(self) -> list[LiveSegment]:
        self.refresh()
        return list(self._live)

    # -- evaluation ------------------------------------------------------------------------------------
    def members(
        self, customer_ids: Sequence[str] | None, as_of: datetime, segments: Iterable[str] | None = None
    ) -> set[tuple[str, str]]:
        self.refresh()
        if not self._defs or (customer_ids is not None and not customer_ids):
            return set()
        if segments is not None:
            return self._members_of(set(segments), customer_ids, as_of)
        restricted = customer_ids is not None
        if not restricted or self._population_at is None:
            self._build_population(as_of)
        if customer_ids is not None:  # restricted
            set_ids(self.ws, customer_ids)
        return run_plan(self.ws, self._statements(restricted, as_of))

    def _members_of(
        self, names: set[str], customer_ids: Sequence[str] | None, as_of: datetime
    ) -> set[tuple[str, str]]:
        """Members of a few segments (a saved one and its dependants): compiled for them alone, with
        only the trait groups their rules read, instead of the plan of every segment."""
        known = {d.name for d in self._defs}
        defs = with_dependencies(self._defs, names & known)
        if not defs:
            return set()
        con = self.ws.con
        rules = {d.name: resolve_rule(d) for d in defs}
        full = workspace_catalog(self.ws)
        catalog = catalog_for(full, rule_traits(rules.values(), check_context(full, known)))
        tables: Mapping[str, ir.Table] = {name: con.table(name) for name in CANONICAL}
        if customer_ids is not None:
            ids = ibis.memtable(pa.table({"customer_id": pa.array(list(customer_ids), pa.string())}))
            tables = restrict(tables, ids)
        traits = None
        if catalog is not None:
            from segmint.core.traits import trait_table
            from segmint.core.traits.predictive import PREDICTIONS_KEY

            sources = dict(tables)
            if PREDICTIONS_KEY in con.list_tables():
                sources[PREDICTIONS_KEY] = con.table(PREDICTIONS_KEY)
            if customer_ids is not None:
                from segmint.core.traits.value import buyer_population

                sources[RANK_POPULATION] = buyer_population(con.table("orders"), as_of)
            traits = trait_table(sources, as_of, catalog, self._settings)
        memberships = con.table("memberships")

        def lookup(name: str) -> ir.Table:
            return memberships.filter(memberships.segment == ibis.literal(name)).select("customer_id")

        exprs = segment_expressions(defs, traits, tables, as_of, full, None, lookup)
        parts = [
            e.select(segment=ibis.literal(n), customer_id=e.customer_id)
            for n, e in exprs.items()
            if n in names
        ]
        union = ibis.union(*parts, distinct=True) if len(parts) > 1 else parts[0].distinct()
        rows = union.to_pyarrow()
        return set(
            zip(rows.column("segment").to_pylist(), rows.column("customer_id").to_pylist(), strict=True)
        )

    def _build_population(self, as_of: datetime) -> None:
        from segmint.core.traits.value import buyer_population

        with self._lock:
            sql = self._compile_con.compile(buyer_population(self._compile_con.table("orders"), as_of))
        materialise(self.ws, POPULATION, sql)
        self._population_at = as_of

    def close(self) -> None:
        self._compile_con.disconnect()

    def prepare(self, as_of: datetime) -> None:
        """Learn the restricted plan's template for ``as_of``'s day ahead of time (any thread), so the
        tick that needs it only executes."""
        with self._lock:
            if self._defs:
                self._template(True, as_of)

    def prepare_sweep(self, as_of: datetime) -> None:
        """Compile the full evaluation at ``as_of`` ahead of time (any thread)."""
        with self._lock:
            if self._defs:
                self._sweep = (as_of, self._stamp, self._compile(False, as_of))

    def _statements(self, restricted: bool, as_of: datetime) -> list[tuple[str | None, str]]:
        """The SQL of one evaluation at ``as_of``: rendered from the day's template for the frequent
        restricted evaluations; compiled afresh (or ahead, by ``prepare_sweep``) for the rare full sweeps."""
        with self._lock:
            if not restricted:
                if self._sweep is not None and self._sweep[:2] == (as_of, self._stamp):
                    return self._sweep[2]
                return self._compile(False, as_of)
            templates = self._template(True, as_of)
            if templates is None:
                return self._compile(True, as_of)
            return [(target, template.render(as_of)) for target, template in templates]

    def _template(self, restricted: bool, as_of: datetime) -> list[tuple[str | None, SqlTemplate]] | None:
        key = (restricted, as_of.date(), self._stamp)
        if key in self._templates:
            return self._templates[key]
        if key in self._untemplatable:
            return None
        instants = learn_offsets(as_of)
        compiled = [self._compile(restricted, t) for t in instants]
        templates = []
        for parts in zip(*compiled, strict=True):
            template = SqlTemplate.learn([sql for _, sql in parts], instants)
            if template is None:
                self._untemplatable.add(key)
                return None
            templates.append((parts[0][0], template))
        self._templates = {k: v for k, v in self._templates.items() if k[1] >= as_of.date()}
        self._templates[key] = templates
        return templates

    def _with_predictions(self, tables: Mapping[str, ir.Table], restricted: bool) -> Mapping[str, ir.Table]:
        """The trait inputs plus the stored model scores (as `segmint run` reads them), so predictive
        traits and segments have the same values live as in batch."""
        from segmint.core.traits.predictive import PREDICTIONS_KEY

        con = self._compile_con
        if PREDICTIONS_KEY not in con.list_tables():
            return tables
        # Not restricted to the touched customers: clv_12m_percentile ranks against every scored one.
        return {**tables, PREDICTIONS_KEY: con.table(PREDICTIONS_KEY)}

    def _cluster_lookup(self, as_of: datetime):
        """``in_segment`` of a segment the definitions do not hold (a cluster): its current members."""
        memberships = self._compile_con.table("memberships")

        def lookup(name: str) -> ir.Table:
            return memberships.filter(memberships.segment == ibis.literal(name)).select("customer_id")

        return lookup

    def _compile(self, restricted: bool, as_of: datetime) -> list[tuple[str | None, str]]:
        """Build and compile the plan. Temp tables it reads (traits, segments other segments use) are
        created by the statements themselves, so the texts only name stable tables; the compile cursor
        gets empty copies of them to know their columns."""
        con = self._compile_con
        tables: Mapping[str, ir.Table] = {name: con.table(name) for name in CANONICAL}
        if restricted:
            create_scratch(con)
            tables = {**restrict(tables, con.table(IDS)), RANK_POPULATION: con.table(POPULATION)}
        out: list[tuple[str | None, str]] = []

        def stage(target: str, expr: ir.Table) -> ir.Table:
            sql = con.compile(expr)
            out.append((target, sql))
            stage_shape(con, target, sql)
            return con.table(target)

        traits = None
        if self._catalog is not None:
            from segmint.core.traits import trait_table

            expr = trait_table(
                self._with_predictions(tables, restricted), as_of, self._catalog, self._settings
            )
            traits = stage(f"_segmint_live_traits_{int(restricted)}", expr)

        def materialise(name: str, expr: ir.Table) -> ir.Table:
            if name not in self._needed:
                return expr
            return stage(f"_segmint_live_seg_{int(restricted)}_{name}", expr)

        exprs = segment_expressions(
            self._defs, traits, tables, as_of, None, materialise, self._cluster_lookup(as_of)
        )
        parts = [e.select(segment=ibis.literal(name), customer_id=e.customer_id) for name, e in exprs.items()]
        union = ibis.union(*parts, distinct=True) if len(parts) > 1 else parts[0].distinct()
        if restricted:
            union = union.filter(union.customer_id.isin(con.table(IDS).customer_id))
        out.append((None, con.compile(union)))
        return out
