"""``segmint segments ...`` and ``segmint explain``: parse options, call the segment use cases, render.
Commands that read at a time say which one they used (a line on stdout, ``as_of`` in ``--json``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from segmint.batch import definitions, exports, reads, select
from segmint.batch.explain import explain as explain_segment
from segmint.batch.kpis import kpis as segment_kpis
from segmint.batch.versions import version_rows
from segmint.cli._common import console, emit, open_workspace, state
from segmint.core.rules import to_text
from segmint.core.segments.definition import SegmentNotFound
from segmint.core.timeutil import parse_as_of


def _when(ctx: typer.Context, label: str, as_of: datetime | None) -> None:
    """Say which time a command read at (people only; --json carries it in the data)."""
    if not state(ctx).json:
        text = f"{as_of:%Y-%m-%d %H:%M:%S} UTC" if as_of is not None else "now (current members)"
        console.print(f"{label} as of [bold]{text}[/]", highlight=False)


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Segments as code: list, validate, count, members, history, KPIs.", no_args_is_help=True
    )
    app.add_typer(group, name="segments")

    @group.command("list")
    def list_(
        ctx: typer.Context,
        as_of: str | None = typer.Option(None, "--as-of", help="A past run time (default: current)."),
    ) -> None:
        """Every segment with its family, group, rule, version and members."""
        t = parse_as_of(as_of) if as_of is not None else None
        with open_workspace(ctx, read_only=True) as ws:
            rows = reads.segment_summaries(ws, t)
        _when(ctx, "members", t)
        emit(ctx, rows, title="segments", columns=["name", "family", "group", "members", "version", "rule"])

    @group.command("show")
    def show(ctx: typer.Context, name: str = typer.Argument(..., help="Segment name.")) -> None:
        """One segment: its definition, resolved rule and stored versions."""
        with open_workspace(ctx, read_only=True) as ws:
            defs = {d.name: d for d in definitions.load_definitions(ws)}
            if name not in defs:
                reads.require_segment(ws, name)  # raises with a "did you mean"
                raise SegmentNotFound(f"segment {name!r} has no definition under segments/")
            d = defs[name]
            out = {
                **d.to_mapping(),
                "resolved_rule": to_text(definitions.resolve_rule(d)),
                "hash": d.content_hash,
                "members": reads.counts(ws).get(name, 0),
                "versions": sorted(version_rows(ws, name), key=lambda r: r["version"]),
            }
        emit(ctx, out, title=name)

    @group.command("validate")
    def validate(ctx: typer.Context) -> None:
        """Check every segment file (fields, rule syntax and names, params, cycles)."""
        with open_workspace(ctx, read_only=True) as ws:
            rows = definitions.validate(ws)
        emit(ctx, rows, title=f"{len(rows)} segments valid")

    @group.command("count")
    def count(
        ctx: typer.Context,
        rule: str = typer.Argument(..., help="A rule, e.g. \"orders_count >= 5 and country = 'FR'\"."),
        as_of: str | None = typer.Option(
            None, "--as-of", help="Time to evaluate at (default: the latest run, else the end of the data)."
        ),
    ) -> None:
        """How many customers a rule selects (nothing is stored)."""
        with open_workspace(ctx, read_only=True) as ws:
            chosen = select.select(ws, rule, as_of)
            n = chosen.count()
        _when(ctx, "counted", chosen.as_of)
        emit(ctx, {"rule": rule, "customers": n, "as_of": chosen.as_of})

    @group.command("members")
    def members(
        ctx: typer.Context,
        name: str,
        as_of: str | None = typer.Option(None, "--as-of", help="A past time (default: current members)."),
        limit: int = typer.Option(50, help="Rows to show (0: all)."),
    ) -> None:
        """Customers in a segment."""
        t = parse_as_of(as_of) if as_of is not None else None
        with open_workspace(ctx, read_only=True) as ws:
            table = reads.members(ws, name, t)
            rows = (table.limit(limit) if limit else table).to_pyarrow().to_pylist()
            total = reads.counts(ws, t).get(name, 0)
        _when(ctx, f"{name}: {total:,} members", t)
        emit(ctx, rows, title=name, columns=["customer_id", "since"])

    @group.command("export")
    def export(
        ctx: typer.Context,
        name: str,
        output: Path = typer.Option(..., "--output", "-o", help="A .csv or .parquet file."),
        as_of: str | None = typer.Option(None, "--as-of", help="A past time (default: current members)."),
    ) -> None:
        """Write a segment's members (with e-mail and opt-in) to a file."""
        t = parse_as_of(as_of) if as_of is not None else None
        with open_workspace(ctx, read_only=True) as ws:
            n = exports.export_members(ws, name, output, t)
        _when(ctx, "exported", t)
        emit(ctx, {"segment": name, "file": str(output), "customers": n, "as_of": t})

    @group.command("install-library")
    def install_library(
        ctx: typer.Context, overwrite: bool = typer.Option(False, help="Replace files you already have.")
    ) -> None:
        """Copy the ready-made segments into segments/."""
        with open_workspace(ctx) as ws:
            names = definitions.install_library(ws, overwrite)
        emit(ctx, {"installed": len(names), "segments": ", ".join(names) or "(none: all present)"})

    @group.command("history")
    def history(
        ctx: typer.Context, names: list[str] = typer.Argument(None, help="Segments (default: all).")
    ) -> None:
        """Size of segments at every run time."""
        with open_workspace(ctx, read_only=True) as ws:
            rows = reads.size_over_time(ws, names or None)
        emit(ctx, rows, title="size over time", columns=["segment", "as_of", "size"])

    @group.command("changes")
    def changes(
        ctx: typer.Context,
        name: str,
        start: str = typer.Option(..., "--from"),
        end: str = typer.Option(..., "--to"),
    ) -> None:
        """Customers who entered or exited a segment between two run times."""
        with open_workspace(ctx, read_only=True) as ws:
            rows = reads.entries_exits(ws, name, start, end)
        emit(ctx, rows, title=f"{name}: {start} → {end}", columns=["customer_id", "change"])

    @group.command("migration")
    def migration(
        ctx: typer.Context,
        family: str = typer.Argument(..., help="An exclusive group, e.g. rfm or lifecycle."),
        start: str = typer.Option(..., "--from"),
        end: str = typer.Option(..., "--to"),
    ) -> None:
        """Migration matrix between two run times for a group of exclusive segments."""
        with open_workspace(ctx, read_only=True) as ws:
            rows = reads.migration(ws, family, start, end)
        if state(ctx).json:
            emit(ctx, rows)
            return
        froms = sorted({r["from_segment"] for r in rows})
        tos = sorted({r["to_segment"] for r in rows})
        cell = {(r["from_segment"], r["to_segment"]): r["customers"] for r in rows}
        emit(
            ctx,
            [{"from \\ to": f, **{t: cell.get((f, t), 0) for t in tos}} for f in froms],
            title=f"{family}: {start} → {end}",
            columns=["from \\ to", *tos],
        )

    @group.command("overlap")
    def overlap(
        ctx: typer.Context,
        names: list[str] = typer.Argument(..., help="Two or more segments."),
        as_of: str | None = typer.Option(None, "--as-of", help="A past time (default: current members)."),
    ) -> None:
        """How much chosen segments overlap (customers in both, share of the row segment, Jaccard)."""
        t = parse_as_of(as_of) if as_of is not None else None
        with open_workspace(ctx, read_only=True) as ws:
            rows = reads.overlap(ws, names, t)
        _when(ctx, "members", t)
        emit(ctx, [{**r, "as_of": t} for r in rows] if state(ctx).json else rows, title="overlap")

    @group.command("kpis")
    def kpis(
        ctx: typer.Context,
        names: list[str] = typer.Argument(None, help="Segments (default: all)."),
        as_of: str | None = typer.Option(None, "--as-of", help="A past time (default: current members)."),
        period: str = typer.Option("90d", help="Window for retention, conversion and e-mail rates."),
    ) -> None:
        """KPIs per segment beside the whole base."""
        with open_workspace(ctx, read_only=True) as ws:
            rows = segment_kpis(ws, names or None, as_of, period)
        _when(ctx, "KPIs", rows[0]["as_of"] if rows else None)
        emit(
            ctx,
            rows if state(ctx).json else [{k: v for k, v in r.items() if k != "as_of"} for r in rows],
            title="KPIs",
        )

    @app.command("explain")
    def explain(
        ctx: typer.Context,
        customer: str = typer.Argument(..., help="Customer id."),
        segment: str = typer.Argument(..., help="Segment name."),
        as_of: str | None = typer.Option(
            None, "--as-of", help="Time to explain at (default: the latest run, else the end of the data)."
        ),
    ) -> None:
        """Each clause of a segment's rule with the customer's values and whether it holds."""
        with open_workspace(ctx, read_only=True) as ws:
            out = explain_segment(ws, customer, segment, as_of)
        if state(ctx).json:
            emit(ctx, out)
            return
        verdict = "IN" if out["result"] else "NOT in"
        console.print(f"customer {customer} is {verdict} {segment} as of {out['as_of']}", highlight=False)
        for line in out["lines"]:
            console.print(line, highlight=False, markup=False)
