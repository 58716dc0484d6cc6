"""Plotly figures as plain dicts (``{"data": [...], "layout": {...}}``), built from page data.

The browser draws them with the Plotly JavaScript served from the installed ``plotly`` package (or inlined
in the report), so no Python plotting library runs per request and nothing is fetched from a CDN.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "bars",
    "calibration",
    "cluster_scatter",
    "clv_histogram",
    "distribution",
    "funnel",
    "holdout",
    "holdout_by_frequency",
    "holdout_tracking",
    "overlap_bars",
    "rfm_heatmap",
    "sankey",
    "size_line",
    "sparkline",
]

Figure = dict[str, Any]


def _layout(title: str = "", height: int = 320, **extra: Any) -> dict[str, Any]:
    return {
        "title": {"text": title, "font": {"size": 14}},
        "height": height,
        "margin": {"l": 50, "r": 20, "t": 40 if title else 10, "b": 40},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        **extra,
    }


def bars(labels: list[str], values: list[float], title: str = "", horizontal: bool = True) -> Figure:
    trace: dict[str, Any] = {"type": "bar", "marker": {"color": "#3b6ea8"}}
    if horizontal:
        trace.update(x=values[::-1], y=labels[::-1], orientation="h")
        height = max(240, 22 * len(labels) + 60)
        return {
            "data": [trace],
            "layout": _layout(title, height, margin={"l": 180, "r": 20, "t": 40, "b": 30}),
        }
    trace.update(x=labels, y=values)
    return {"data": [trace], "layout": _layout(title)}


def rfm_heatmap(grid: dict[str, Any] | None) -> Figure | None:
    if not grid:
        return None
    return {
        "data": [
            {
                "type": "heatmap",
                "x": [f"R{r}" for r in grid["r"]],
                "y": [f"F{f}" for f in grid["f"]],
                "z": grid["counts"],
                "customdata": grid["spend"],
                "hovertemplate": "%{x} %{y}<br>%{z} customers<br>mean spend %{customdata}<extra></extra>",
                "colorscale": "Blues",
                "texttemplate": "%{z}",
            }
        ],
        "layout": _layout("RFM grid: customers by recency and frequency score", 360),
    }


def funnel(stages: list[dict[str, Any]]) -> Figure | None:
    if not stages:
        return None
    return {
        "data": [
            {
                "type": "funnel",
                "y": [s["stage"].removeprefix("lifecycle_").replace("_", " ") for s in stages],
                "x": [s["members"] for s in stages],
                "marker": {"color": "#5b8fc7"},
            }
        ],
        "layout": _layout("Lifecycle", 360, margin={"l": 100, "r": 20, "t": 40, "b": 30}),
    }


def sparkline(points: list[tuple[Any, int]]) -> Figure:
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines",
                "x": [str(t) for t, _ in points],
                "y": [v for _, v in points],
                "line": {"color": "#3b6ea8", "width": 1.5},
                "hovertemplate": "%{x}: %{y}<extra></extra>",
            }
        ],
        "layout": {
            "height": 36,
            "width": 140,
            "margin": {"l": 0, "r": 0, "t": 2, "b": 2},
            "xaxis": {"visible": False},
            "yaxis": {"visible": False},
            "showlegend": False,
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
        },
        "config": {"staticPlot": True},
    }


def size_line(points: list[tuple[Any, int]], title: str = "Size over time") -> Figure:
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": [str(t) for t, _ in points],
                "y": [v for _, v in points],
                "line": {"color": "#3b6ea8"},
            }
        ],
        "layout": _layout(title, 300),
    }


def sankey(flows: list[dict[str, Any]], t1: Any, t2: Any) -> Figure | None:
    if not flows:
        return None
    left = sorted({f["from_segment"] for f in flows})
    right = sorted({f["to_segment"] for f in flows})
    labels = [f"{n} ({t1:%Y-%m-%d})" for n in left] + [f"{n} ({t2:%Y-%m-%d})" for n in right]
    return {
        "data": [
            {
                "type": "sankey",
                "node": {"label": labels, "pad": 12},
                "link": {
                    "source": [left.index(f["from_segment"]) for f in flows],
                    "target": [len(left) + right.index(f["to_segment"]) for f in flows],
                    "value": [f["customers"] for f in flows],
                },
            }
        ],
        "layout": _layout("Migration between the group's segments", 480),
    }


def overlap_bars(rows: list[dict[str, Any]]) -> Figure | None:
    if not rows:
        return None
    labels = [r["segment"] for r in rows]
    fig = bars(labels, [round(100 * (r["share"] or 0), 1) for r in rows], "% of this segment also in …")
    fig["data"][0]["customdata"] = [r["both"] for r in rows]
    fig["data"][0]["hovertemplate"] = "%{y}: %{x}% (%{customdata} customers)<extra></extra>"
    return fig


def distribution(d: dict[str, Any]) -> Figure:
    base_total = sum(d["base"]) or 1
    mem_total = sum(d["members"]) or 1
    x = [str(v) for v in d["labels"]]
    return {
        "data": [
            {
                "type": "bar",
                "name": "all customers",
                "x": x,
                "y": [v / base_total for v in d["base"]],
                "marker": {"color": "#b8c7d9"},
            },
            {
                "type": "bar",
                "name": "segment",
                "x": x,
                "y": [v / mem_total for v in d["members"]],
                "marker": {"color": "#3b6ea8"},
            },
        ],
        "layout": _layout(
            d["trait"], 260, barmode="group", yaxis={"tickformat": ".0%"}, legend={"orientation": "h"}
        ),
    }


def cluster_scatter(report: dict[str, Any] | None) -> Figure | None:
    if not report or not report.get("projection"):
        return None
    points = report["projection"].get("points") or []
    names = {c["cluster"]: c["name"] for c in report["clusters"]}
    traces = []
    for number in sorted(names):
        mine = [p for p in points if p[2] == number]
        traces.append(
            {
                "type": "scattergl" if len(mine) > 2000 else "scatter",
                "mode": "markers",
                "name": f"{number}: {names[number]}",
                "x": [p[0] for p in mine],
                "y": [p[1] for p in mine],
                "marker": {"size": 5, "opacity": 0.7},
            }
        )
    explained = report["projection"].get("explained") or [0, 0]
    return {
        "data": traces,
        "layout": _layout(
            "Customers in two dimensions (principal components)",
            460,
            xaxis={"title": {"text": f"PC1 ({explained[0]:.0%})"}},
            yaxis={"title": {"text": f"PC2 ({explained[1]:.0%})"}},
        ),
    }


def clv_histogram(scored: dict[str, Any] | None) -> Figure | None:
    if not scored:
        return None
    return {
        "data": [
            {
                "type": "bar",
                "x": scored["clv_bins"],
                "y": scored["clv_counts"],
                "marker": {"color": "#3b6ea8"},
            }
        ],
        "layout": _layout(
            "12-month CLV (customers per band, top band includes the top 1%)", 320, bargap=0.05
        ),
    }


def calibration(scored: dict[str, Any] | None) -> Figure | None:
    """Expected orders in 90 days against P(alive) decile: a model that ranks well rises steadily."""
    if not scored or not scored.get("alive"):
        return None
    rows = scored["alive"]
    x = [f"{r['bin'] / 10:.1f}–{(r['bin'] + 1) / 10:.1f}" for r in rows]
    return {
        "data": [
            {
                "type": "bar",
                "name": "customers",
                "x": x,
                "y": [r["n"] for r in rows],
                "yaxis": "y2",
                "marker": {"color": "#d9e2ec"},
            },
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": "expected orders (90 d)",
                "x": x,
                "y": [r["orders"] for r in rows],
            },
        ],
        "layout": _layout(
            "Expected orders by P(alive) band",
            320,
            yaxis={"title": {"text": "orders per customer"}},
            yaxis2={"overlaying": "y", "side": "right", "showgrid": False, "title": {"text": "customers"}},
            legend={"orientation": "h"},
        ),
    }


def holdout(runs: list[dict[str, Any]]) -> Figure | None:
    """Actual against predicted holdout orders for each run fitted with a holdout period."""
    if not runs:
        return None
    labels = [f"{r['model']} {r['calibration_end']:%Y-%m-%d}→{r['holdout_end']:%Y-%m-%d}" for r in runs]
    return {
        "data": [
            {
                "type": "bar",
                "name": "actual",
                "x": labels,
                "y": [r["metrics"]["holdout_actual"] for r in runs],
            },
            {
                "type": "bar",
                "name": "predicted",
                "x": labels,
                "y": [r["metrics"]["holdout_predicted"] for r in runs],
            },
        ],
        "layout": _layout(
            "Holdout tracking: orders in the holdout period",
            320,
            barmode="group",
            legend={"orientation": "h"},
        ),
    }


def _actual_vs_model(x: list, rows: list[dict], mode: str, key: str, name: str) -> dict[str, Any]:
    """One line of an actual-against-model chart: solid for the data, dashed for the model."""
    trace: dict[str, Any] = {
        "type": "scatter",
        "mode": mode,
        "name": name,
        "x": x,
        "y": [r[key] for r in rows],
    }
    if key != "actual":
        trace["line"] = {"dash": "dash"}
    return trace


def holdout_tracking(run: dict[str, Any] | None) -> Figure | None:
    """Cumulative repeat transactions of the cohort, actual against the model, through calibration and
    holdout (Fader, Hardie & Lee 2005, Figure 3), with a line at the calibration end."""
    rows = (run or {}).get("metrics", {}).get("tracking")
    if run is None or not rows:
        return None
    ends = [r["end"] for r in rows]
    calibration = [r["end"] for r in rows if not r["holdout"]]
    shapes = []
    if calibration and len(calibration) < len(rows):
        shapes.append(
            {
                "type": "line",
                "x0": calibration[-1],
                "x1": calibration[-1],
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"dash": "dot", "color": "#888"},
            }
        )
    return {
        "data": [
            _actual_vs_model(ends, rows, "lines", "actual", "actual"),
            _actual_vs_model(ends, rows, "lines", "expected", f"{run['model']} forecast"),
        ],
        "layout": _layout(
            f"Cumulative repeat transactions ({run['model']} run {run['run_id']}; holdout after the dotted line)",
            320,
            shapes=shapes,
            legend={"orientation": "h"},
        ),
    }


def holdout_by_frequency(run: dict[str, Any] | None) -> Figure | None:
    """Mean holdout purchases of customers grouped by calibration purchases, actual against the model's
    conditional expectation (Fader, Hardie & Lee 2005, Figure 4)."""
    rows = (run or {}).get("metrics", {}).get("holdout_by_frequency")
    if run is None or not rows:
        return None
    labels = [r["calibration_purchases"] for r in rows]
    customers = [r["customers"] for r in rows]
    return {
        "data": [
            {
                **_actual_vs_model(labels, rows, "lines+markers", "actual", "actual"),
                "customdata": customers,
                "hovertemplate": "%{y:.3f} (%{customdata} customers)<extra>actual</extra>",
            },
            _actual_vs_model(labels, rows, "lines+markers", "expected", f"{run['model']} expected"),
        ],
        "layout": _layout(
            "Mean holdout purchases by repeat purchases in calibration",
            320,
            xaxis={"type": "category"},  # the title names the axis; an axis title would hit the legend
            yaxis={"title": {"text": "mean purchases in holdout"}},
            legend={"orientation": "h"},
        ),
    }
