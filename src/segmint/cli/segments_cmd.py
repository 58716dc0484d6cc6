"""``segmint segments ...`` and ``segmint explain``: parse options, call the segments use case, render."""

from __future__ import annotations

from pathlib import Path

import typer

from segmint.batch import segments as uc
from segmint.cli._common import console, emit, open_workspace, state


def _rows(table) -> list[dict]:
    return table.to_pyarrow().to_pylist()


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Segments as code: list, validate, count, members, history, KPIs.", no_args_is_help=True
    )
    app.add_typer(group, name="segments")

    @group.command("list")
    def list_(ctx: typer.Context) -> None:
        """Every segment under segments/ with its family, group and rule."""
        with open_workspace(ctx) as ws:
            rows = [
                {"name": d.name, "family": d.family, "group": d.group, "rule": d.rule, "file": d.source}
                for d in uc.load_definitions(ws)
            ]
        emit(ctx, rows, title="segments", columns=["name", "family", "group", "rule", "file"])

    @group.command("show")
    def show(ctx: typer.Context, name: str = typer.Argument(..., help="Segment name.")) -> None:
        """One segment: its definition, resolved rule and stored versions."""
        from segmint.core.rules import to_text

        with open_workspace(ctx) as ws:
            defs = {d.name: d for d in uc.load_definitions(ws)}
            if name not in defs:
                uc.members(ws, name)  # raises with a "did you mean"
            d = defs[name]
            stored = ws.table("segments")
            versions = _rows(
                stored.filter(stored.name == name).select("version", "hash", "created_at").order_by("version")
            )
            out = {
                **d.to_mapping(),
                "resolved_rule": to_text(uc.resolve_rule(d)),
                "hash": d.content_hash,
                "versions": versions,
            }
        emit(ctx, out, title=name)

    @group.command("validate")
    def validate(ctx: typer.Context) -> None:
        """Check every segment file (fields, rule syntax and names, params, cycles)."""
        with open_workspace(ctx) as ws:
            rows = uc.validate(ws)
        emit(ctx, rows, title=f"{len(rows)} segments valid")

    @group.command("count")
    def count(
        ctx: typer.Context,
        rule: str = typer.Argument(..., help="A rule, e.g. \"orders_count >= 5 and country = 'FR'\"."),
        as_of: str | None = typer.Option(None, "--as-of", help="Time to evaluate at (default now)."),
    ) -> None:
        """How many customers a rule selects."""
        with open_workspace(ctx) as ws:
            n = uc.count_rule(ws, rule, as_of)
        emit(ctx, {"rule": rule, "customers": n})

    @group.command("members")
    def members(
        ctx: typer.Context,
        name: str,
        as_of: str | None = typer.Option(None, "--as-of", help="A past run time (default: current)."),
        limit: int = typer.Option(50, help="Rows to show (0: all)."),
    ) -> None:
        """Customers in a segment."""
        with open_workspace(ctx) as ws:
            t = uc.members(ws, name, as_of)
            rows = _rows(t.limit(limit) if limit else t)
        emit(ctx, rows, title=name, columns=["customer_id", "since"])

    @group.command("export")
    def export(
        ctx: typer.Context,
        name: str,
        output: Path = typer.Option(..., "--output", "-o", help="A .csv or .parquet file."),
        as_of: str | None = typer.Option(None, "--as-of"),
    ) -> None:
        """Write a segment's members (with e-mail and opt-in) to a file."""
        with open_workspace(ctx) as ws:
            n = uc.export_members(ws, name, output, as_of)
        emit(ctx, {"segment": name, "file": str(output), "customers": n})

    @group.command("install-library")
    def install_library(
        ctx: typer.Context, overwrite: bool = typer.Option(False, help="Replace files you already have.")
    ) -> None:
        """Copy the ready-made segments into segments/."""
        with open_workspace(ctx) as ws:
            names = uc.install_library(ws, overwrite)
        emit(ctx, {"installed": len(names), "segments": ", ".join(names) or "(none: all present)"})

    @group.command("history")
    def history(
        ctx: typer.Context, names: list[str] = typer.Argument(None, help="Segments (default: all).")
    ) -> None:
        """Size of segments at every run time."""
        with open_workspace(ctx) as ws:
            rows = uc.size_over_time(ws, names or None)
        emit(ctx, rows, title="size over time", columns=["segment", "as_of", "size"])

    @group.command("changes")
    def changes(
        ctx: typer.Context,
        name: str,
        start: str = typer.Option(..., "--from"),
        end: str = typer.Option(..., "--to"),
    ) -> None:
        """Customers who entered or exited a segment between two run times."""
        with open_workspace(ctx) as ws:
            rows = uc.entries_exits(ws, name, start, end)
        emit(ctx, rows, title=f"{name}: {start} → {end}", columns=["customer_id", "change"])

    @group.command("migration")
    def migration(
        ctx: typer.Context,
        family: str = typer.Argument(..., help="An exclusive group, e.g. rfm or lifecycle."),
        start: str = typer.Option(..., "--from"),
        end: str = typer.Option(..., "--to"),
    ) -> None:
        """Migration matrix between two run times for a group of exclusive segments."""
        with open_workspace(ctx) as ws:
            rows = uc.migration(ws, family, start, end)
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
        as_of: str | None = typer.Option(None, "--as-of"),
    ) -> None:
        """How much chosen segments overlap (customers in both, share of the row segment, Jaccard)."""
        with open_workspace(ctx) as ws:
            rows = uc.overlap(ws, names, as_of)
        emit(ctx, rows, title="overlap")

    @group.command("kpis")
    def kpis(
        ctx: typer.Context,
        names: list[str] = typer.Argument(None, help="Segments (default: all)."),
        as_of: str | None = typer.Option(None, "--as-of"),
        period: str = typer.Option("90d", help="Window for retention, conversion and e-mail rates."),
    ) -> None:
        """KPIs per segment beside the whole base."""
        with open_workspace(ctx) as ws:
            rows = uc.kpis(ws, names or None, as_of, period)
        emit(ctx, rows, title="KPIs")

    @app.command("explain")
    def explain(
        ctx: typer.Context,
        customer: str = typer.Argument(..., help="Customer id."),
        segment: str = typer.Argument(..., help="Segment name."),
        as_of: str | None = typer.Option(None, "--as-of"),
    ) -> None:
        """Each clause of a segment's rule with the customer's values and whether it holds."""
        with open_workspace(ctx) as ws:
            out = uc.explain(ws, customer, segment, as_of)
        if state(ctx).json:
            emit(ctx, out)
            return
        verdict = "IN" if out["result"] else "NOT in"
        console.print(f"customer {customer} is {verdict} {segment} as of {out['as_of']}", highlight=False)
        for line in out["lines"]:
            console.print(line, highlight=False, markup=False)
