"""``segmint report``: one self-contained HTML file with the overview, the segments and their charts.

The Plotly JavaScript of the installed ``plotly`` package is inlined, figures are embedded as JSON and
drawn on load, and nothing refers to another file or address, so the report opens offline, from e-mail or
a shared drive. Page data comes from the same queries as the dashboard (:mod:`segmint.batch.dashboard`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from segmint.adapters.workspace import Workspace
from segmint.core.timeutil import parse_as_of
from segmint.errors import SegmintError

__all__ = ["ReportError", "build_report", "write_report"]


class ReportError(SegmintError):
    """The report cannot be written as asked."""


def _context(ws: Workspace, as_of: datetime | None) -> dict[str, Any]:
    from segmint.batch import pages as queries
    from segmint.web import charts

    if as_of is not None and as_of not in queries.run_times(ws):
        times = ", ".join(t.isoformat(sep=" ") for t in queries.run_times(ws)[-5:]) or "none"
        raise ReportError(f"no segment run at {as_of}: the report shows run times (latest: {times})")
    data = queries.overview(ws, as_of)
    listing = queries.segment_list(ws, as_of)
    top = data["segments"][:25]
    figures = {
        "sizes": charts.bars([s["name"] for s in top], [s["members"] for s in top], "Largest segments"),
        "rfm": charts.rfm_heatmap(data["rfm_grid"]),
        "funnel": charts.funnel(data["lifecycle"]),
    }
    history = {s["name"]: s["history"] for s in listing["segments"] if len(s["history"]) > 1}
    if history:
        biggest = sorted(history, key=lambda n: -history[n][-1][1])[:8]
        figures["history"] = {
            "data": [
                {
                    "type": "scatter",
                    "mode": "lines+markers",
                    "name": n,
                    "x": [str(t) for t, _ in history[n]],
                    "y": [v for _, v in history[n]],
                }
                for n in biggest
            ],
            "layout": {
                "title": {"text": "Largest segments over time"},
                "height": 360,
                "legend": {"orientation": "h"},
            },
        }
    sparks = {s["name"]: charts.sparkline(s["history"]) for s in listing["segments"] if len(s["history"]) > 1}
    return {
        "workspace": ws.setting("workspace", "name", ws.root.name),
        "generated_at": datetime.now(UTC).replace(tzinfo=None),
        "data": data,
        "listing": listing,
        "figs": {k: v for k, v in figures.items() if v},
        "sparks": sparks,
    }


def build_report(ws: Workspace, as_of: datetime | str | None = None) -> str:
    """The report's HTML text as of a segment run time (default: the latest run)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from segmint.web import filters
    from segmint.web.app import HERE, plotly_js_path

    t = parse_as_of(as_of) if as_of is not None else None
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(default=True)
    )
    env.policies["json.dumps_kwargs"] = {"default": str, "sort_keys": False}
    filters.register(env)
    # "</script" inside the bundle would end the inline script early: escape the slash (still valid JS).
    plotly_js = plotly_js_path().read_text(encoding="utf-8").replace("</script", "<\\/script")
    script = (HERE / "static" / "segmint.js").read_text(encoding="utf-8")
    style = (HERE / "static" / "segmint.css").read_text(encoding="utf-8")
    return env.get_template("report.html").render(
        plotly_js=plotly_js, script=script, style=style, **_context(ws, t)
    )


def write_report(ws: Workspace, out: str | Path, as_of: datetime | str | None = None) -> Path:
    """Write the report to ``out`` (an ``.html`` file) and return its path."""
    path = Path(out)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ReportError(f"{path.name}: the report is an HTML file; use a name ending in .html")
    if path.parent and not path.parent.exists():
        raise ReportError(f"folder {path.parent} does not exist")
    path.write_text(build_report(ws, as_of), encoding="utf-8")
    return path
