"""ML segments on a workspace: fit a cluster model on a sample of traits, assign every customer in the
engine, profile and name the clusters, keep numbers and names across refits, and serve clusters as
segments (``in_segment('cluster:<model>:<n>')``).

Where the work happens: the sample is pulled into memory for fitting (k search, final fit, stability);
assignment and the profile statistics run in the engine as Ibis expressions, so they scale with it and
run on Spark as on DuckDB.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from segmint.adapters.workspace import Workspace
from segmint.batch import history
from segmint.batch.definitions import CLUSTER_PREFIX
from segmint.batch.reads import data_end, segment_members_at
from segmint.batch.traits import stored_traits_time, traits_at
from segmint.core.models.clusters import (
    ALGORITHMS,
    ClusterModel,
    FitSettings,
    assignment_expr,
    build_profiles,
    finish_profiles,
    fit_sample,
    profile_aggregates,
    segment_name,
)
from segmint.core.schema import DERIVED
from segmint.errors import SegmintError

__all__ = [
    "DEFAULT_TRAITS",
    "ClusterError",
    "ClusterFit",
    "assign_clusters",
    "cluster_members",
    "cluster_report",
    "fit_clusters",
    "list_models",
    "load_model",
    "parse_segment",
    "segment_members",
]

# Value and behavioural traits that describe how a customer shops, one per idea (the catalog also has
# 7- and 30-day windows of the same counts; using all of them would weigh one idea several times). The
# 90-day windows are used because shorter ones are zero for most customers: mostly noise for distances.
DEFAULT_TRAITS = (
    "recency_days",
    "orders_count",
    "total_spent",
    "aov",
    "discount_share",
    "seasonal_share",
    "tenure_days",
    "sessions_90d",
    "product_views_90d",
    "cart_adds_90d",
    "email_open_rate_90d",
)
PREFIX = CLUSTER_PREFIX


class ClusterError(SegmintError):
    """A cluster model cannot be fitted, found or used; the message says why and what to do."""


@dataclass
class ClusterFit:
    """What :func:`fit_clusters` returns: the stored model and how long each step took."""

    model: ClusterModel
    timings: dict[str, float] = field(default_factory=dict)
    assigned: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model.name,
            "version": self.model.version,
            "algorithm": self.model.algorithm,
            "k": self.model.k,
            "k_reason": self.model.selection.get("reason"),
            "stability_ari": self.model.stability.get("ari_mean"),
            "sample_size": self.model.sample_size,
            "as_of": self.model.as_of,
            "assigned": self.assigned,
            "clusters": [
                {"cluster": p.cluster, "name": p.name, "size": p.size, "share": round(p.share, 4)}
                for p in self.model.profiles
            ],
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


# -- traits ----------------------------------------------------------------------------------------
def _trait_table(ws: Workspace, as_of: datetime | None) -> tuple[ir.Table, datetime]:
    """The traits to cluster on and their time: the stored ``traits`` table (the latest run's) when no
    time is asked, else traits as of ``as_of`` (the stored ones when still valid for it)."""
    if as_of is None and ws.store.exists("traits"):
        return ws.table("traits"), stored_traits_time(ws) or data_end(ws)
    when = as_of or data_end(ws)
    table, _ = traits_at(ws, when)
    return table, when


def _split_traits(table: ir.Table, traits: Sequence[str] | None) -> tuple[list[str], list[str]]:
    schema = table.schema()
    if traits is None:
        chosen = [t for t in DEFAULT_TRAITS if t in schema]
        if len(chosen) < 2:
            raise ClusterError(
                "the traits table has too few of the default clustering traits "
                f"({', '.join(DEFAULT_TRAITS)}); pass --traits"
            )
    else:
        chosen = list(dict.fromkeys(traits))
        unknown = [t for t in chosen if t not in schema]
        if unknown:
            raise ClusterError(f"unknown trait(s): {', '.join(unknown)}", detail={"unknown": unknown})
        if not chosen:
            raise ClusterError("name at least one trait to cluster on")
    numeric, categorical = [], []
    for trait in chosen:
        dtype = schema[trait]
        if dtype.is_numeric() or dtype.is_boolean():
            numeric.append(trait)
        elif dtype.is_string():
            categorical.append(trait)
        else:
            raise ClusterError(f"trait {trait} is a {dtype}; clusters use numbers, flags and text traits")
    return numeric, categorical


# -- fitting ---------------------------------------------------------------------------------------
def fit_clusters(
    ws: Workspace,
    *,
    traits: Sequence[str] | None = None,
    k: int | str | None = "auto",
    algorithm: str = "kmeans",
    sample: int = 50_000,
    name: str = "default",
    as_of: datetime | None = None,
    seed: int = 0,
    stability_rounds: int = 5,
    k_range: Sequence[int] = range(2, 11),
) -> ClusterFit:
    """Fit (or refit) model ``name`` and assign every customer. A refit continues the previous
    version's cluster numbers and names where clusters match."""
    if algorithm not in ALGORITHMS:
        raise ClusterError(f"unknown algorithm {algorithm!r}: use one of {', '.join(ALGORITHMS)}")
    k_value = _parse_k(k)
    _check_name(name)
    if sample < 100:
        raise ClusterError("--sample must be at least 100 customers")
    _ensure_tables(ws)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    table, when = _trait_table(ws, as_of)
    numeric, categorical = _split_traits(table, traits)
    frame = _sample(table, [*numeric, *categorical], sample, seed)
    timings["sampling"] = time.perf_counter() - t0
    if len(frame) < 20:
        raise ClusterError(f"only {len(frame)} customers have traits; clustering needs at least 20")

    previous = _latest(ws, name)
    settings = FitSettings(
        algorithm=algorithm, k=k_value, k_range=k_range, seed=seed, stability_rounds=stability_rounds
    )
    try:
        fitted = fit_sample(frame, numeric, categorical, settings, name=name, previous=previous)
    except ValueError as exc:
        raise ClusterError(f"cannot fit clusters: {exc}") from None
    timings.update(fitted.timings)
    model = fitted.model
    model.as_of = when  # the time of the traits clustered on, and of the memberships recorded
    model.fitted_at = _now()

    t0 = time.perf_counter()
    with ws.store.transaction():
        assigned = _write_assignments(ws, table, model, when, timings)
    timings["assignment"] = time.perf_counter() - t0 - timings["history"]

    t0 = time.perf_counter()
    model.profiles = _profiles(ws, table, model, previous)
    _store_model(ws, model)
    timings["profiles"] = time.perf_counter() - t0
    return ClusterFit(model, timings, assigned)


def assign_clusters(ws: Workspace, name: str = "default", *, as_of: datetime | None = None) -> int:
    """Re-assign every customer with the stored model (e.g. after new traits), recording history."""
    model = load_model(ws, name)
    table, when = _trait_table(ws, as_of)
    with ws.store.transaction():
        return _write_assignments(ws, table, model, when)


def _parse_k(k: int | str | None) -> int | None:
    if k is None or (isinstance(k, str) and k.strip().lower() == "auto"):
        return None
    try:
        value = int(k)
    except (TypeError, ValueError):
        raise ClusterError(f"--k must be a whole number or 'auto', not {k!r}") from None
    if not 1 <= value <= 50:
        raise ClusterError("--k must be between 1 and 50")
    return value


def _check_name(name: str) -> None:
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise ClusterError(f"model name {name!r}: use letters, digits, '_' and '-'")


def _sample(table: ir.Table, columns: list[str], size: int, seed: int):
    """A reproducible sample: the same data and seed give the same rows in the same order, whatever
    order the engine returns rows in (engine row sampling is neither exact nor order-stable)."""
    n = int(table.count().to_pyarrow().as_py())
    chosen = table.select("customer_id", *columns)
    if n > size:
        key = (chosen.customer_id.cast("string") + ibis.literal(f"#{seed}")).hash()
        chosen = chosen.order_by([key, chosen.customer_id]).limit(size)
    return chosen.order_by("customer_id").to_pandas()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


# -- storage ---------------------------------------------------------------------------------------
def _ensure_tables(ws: Workspace) -> None:
    ws.store.ensure([DERIVED[n] for n in ("cluster_models", "cluster_assignments")])


def _write_assignments(
    ws: Workspace,
    traits: ir.Table,
    model: ClusterModel,
    at: datetime,
    timings: dict[str, float] | None = None,
) -> int:
    """Replace the model's rows in ``cluster_assignments`` and record the cluster segments' members at
    ``at`` through the membership recorder, as any segment's (history, changes, runs)."""
    cached: list[ir.Table] = []

    def stage(expr: ir.Table) -> ir.Table:
        table = expr.cache()
        cached.append(table)
        return table

    try:
        fresh = assignment_expr(traits, model.prep, model.scorer, numbers=model.numbers, stage=stage)
    except KeyError as exc:
        raise ClusterError(f"cannot assign with model {model.name}: {exc.args[0]}") from None
    fresh = fresh.select(
        model=ibis.literal(model.name),
        customer_id=fresh.customer_id,
        cluster=fresh.cluster,
        version=ibis.literal(model.version, "int64"),
        assigned_at=ibis.literal(at, "timestamp"),
    )
    staged = ws.store.temp(fresh, "cluster_new")
    try:
        new = ws.table(staged)
        t0 = time.perf_counter()
        prefix = f"{PREFIX}{model.name}:"
        m = ws.table("memberships")
        held = m.filter(m.segment.startswith(prefix)).select("segment").distinct().to_pyarrow()
        segments = {segment_name(model.name, n) for n in model.numbers} | set(
            held.column("segment").to_pylist()
        )
        members = new.select(
            segment=ibis.literal(prefix) + new.cluster.cast("string"), customer_id=new.customer_id
        )
        history.record(ws, at, members, versions=dict.fromkeys(segments, model.version), cause="cluster")
        if timings is not None:
            timings["history"] = time.perf_counter() - t0
        current = ws.table("cluster_assignments")
        kept = current.filter(current.model != model.name)
        merged = kept.union(_conform(new, current))
        ws.store.rewrite("cluster_assignments", merged)
        count = int(new.count().to_pyarrow().as_py())
    finally:
        ws.store.drop(staged)
        for table in cached:
            table.release()
    return count


def _conform(expr: ir.Table, target: ir.Table) -> ir.Table:
    """``expr`` with ``target``'s columns in order and types (for unions with a stored table)."""
    schema = target.schema()
    return expr.select(*[expr[c].cast(schema[c]).name(c) for c in target.columns])


def _profiles(ws: Workspace, traits: ir.Table, model: ClusterModel, previous: ClusterModel | None):
    current = ws.table("cluster_assignments")
    mine = current.filter(current.model == model.name).select("customer_id", "cluster")
    per_cluster, base = profile_aggregates(traits, mine, model.prep)
    profiles = build_profiles(per_cluster.to_pandas(), base.to_pandas(), model.prep)
    return finish_profiles(model, profiles, previous)


def _store_model(ws: Workspace, model: ClusterModel) -> None:
    spec = DERIVED["cluster_models"]
    row = pa.Table.from_pylist([model.to_record()], schema=spec.schema.to_pyarrow())
    ws.store.append("cluster_models", row)


# -- reading ---------------------------------------------------------------------------------------
def _latest(ws: Workspace, name: str) -> ClusterModel | None:
    if not ws.store.exists("cluster_models"):
        return None
    t = ws.table("cluster_models")
    rows = t.filter(t.model == name).order_by(ibis.desc("version")).limit(1).to_pyarrow().to_pylist()
    return ClusterModel.from_record(rows[0]) if rows else None


def load_model(ws: Workspace, name: str = "default", version: int | None = None) -> ClusterModel:
    """A stored model (its latest version unless ``version`` is given)."""
    if version is None:
        model = _latest(ws, name)
    else:
        t = ws.table("cluster_models") if ws.store.exists("cluster_models") else None
        rows = (
            t.filter((t.model == name) & (t.version == version)).to_pyarrow().to_pylist()
            if t is not None
            else []
        )
        model = ClusterModel.from_record(rows[0]) if rows else None
    if model is None:
        known = [m["model"] for m in list_models(ws)]
        hint = f" (known: {', '.join(known)})" if known else "; run `segmint cluster fit` first"
        raise ClusterError(f"no cluster model named {name!r}{hint}")
    return model


def list_models(ws: Workspace) -> list[dict[str, Any]]:
    """The latest version of every model: name, version, algorithm, k, fitted_at."""
    if not ws.store.exists("cluster_models"):
        return []
    t = ws.table("cluster_models")
    latest = t.group_by("model").aggregate(version=t.version.max())
    rows = t.join(latest, ["model", "version"]).select(
        "model", "version", "algorithm", "k", "stability_ari", "sample_size", "fitted_at"
    )
    return rows.order_by("model").to_pyarrow().to_pylist()


def cluster_report(ws: Workspace, name: str = "default") -> dict[str, Any]:
    """The model's profiles as data: per cluster its number, segment name, name, description, size,
    share, stability, distinguishing traits; plus the k search and the 2-D projection."""
    model = load_model(ws, name)
    clusters = []
    for p in model.profiles:
        clusters.append(
            {
                "cluster": p.cluster,
                "segment": segment_name(model.name, p.cluster),
                "name": p.name,
                "description": p.description,
                "size": p.size,
                "share": p.share,
                "stability": p.stability,
                "center_2d": p.center_2d,
                "distinguishing": [
                    {"trait": e.label, "value": e.value, "base": e.base, "effect": round(e.effect, 3)}
                    for e in p.distinguishing()
                ],
                "effects": [
                    {"trait": e.label, "value": e.value, "base": e.base, "effect": round(e.effect, 3)}
                    for e in p.effects
                ],
            }
        )
    return {
        "model": model.name,
        "version": model.version,
        "algorithm": model.algorithm,
        "k": model.k,
        "traits": model.traits,
        "selection": model.selection,
        "stability": model.stability,
        "projection": model.projection,
        "fitted_at": model.fitted_at,
        "as_of": model.as_of,
        "matched": model.matched,
        "clusters": clusters,
    }


# -- clusters as segments --------------------------------------------------------------------------
def parse_segment(segment: str) -> tuple[str, int] | None:
    """``cluster:<model>:<n>`` -> (model, n); None for any other segment name."""
    if not segment.startswith(PREFIX):
        return None
    model, _, number = segment[len(PREFIX) :].rpartition(":")
    if not model or not number.isdigit():
        raise ClusterError(f"cluster segment {segment!r}: write cluster:<model>:<number>")
    return model, int(number)


def cluster_members(ws: Workspace, model: str, n: int, as_of: datetime | None = None) -> ir.Table:
    """The customers in cluster ``n`` of ``model`` (currently, or at ``as_of``): one column,
    customer_id. Read from memberships like any segment's."""
    stored = load_model(ws, model)
    if n not in stored.numbers:
        raise ClusterError(
            f"model {model!r} has no cluster {n} (clusters: {', '.join(map(str, sorted(stored.numbers)))})"
        )
    return segment_members_at(ws, segment_name(model, n), as_of)


def segment_members(ws: Workspace, segment: str) -> ir.Table | None:
    """Members of ``cluster:<model>:<n>`` (checked against the stored model), or None when ``segment``
    is not a cluster segment."""
    parsed = parse_segment(segment)
    if parsed is None:
        return None
    return cluster_members(ws, *parsed)
