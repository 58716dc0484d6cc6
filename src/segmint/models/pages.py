"""The data behind the dashboard's Clusters and Predictions pages, as plain dicts and lists (reads only)."""

from __future__ import annotations

from typing import Any

import ibis

from segmint.models import clusters as cl
from segmint.models import predict as pr

__all__ = ["cluster_page", "prediction_page"]


def _scalar(expr) -> Any:
    return expr.to_pyarrow().as_py()


def _rows(expr) -> list[dict[str, Any]]:
    return expr.to_pyarrow().to_pylist()


def cluster_page(ws, name: str | None = None) -> dict[str, Any]:
    """The cluster models, one model's report and a sample of customers in its 2-D projection."""
    models = cl.list_models(ws)
    if not models:
        return {"models": [], "report": None, "points": []}
    name = name if name is not None and name in {m["model"] for m in models} else models[0]["model"]
    report = cl.cluster_report(ws, name)
    return {"models": models, "report": report, "name": name}


def prediction_page(ws) -> dict[str, Any]:
    """Model runs with metrics, the CLV and P(alive) distributions of the latest scoring, and the holdout
    tracking of runs fitted with a holdout period."""
    if not ws.store.exists("model_runs"):
        return {"runs": [], "scored": None}
    runs = pr.list_runs(ws)
    scored = None
    if ws.store.exists("predictions"):
        p = ws.table("predictions")
        last = _rows(
            p.group_by("run_id")
            .aggregate(at=p.scored_at.max(), n=p.count())
            .order_by(ibis.desc("at"))
            .limit(1)
        )
        if last:
            run_id = last[0]["run_id"]
            mine = p.filter(p.run_id == ibis.literal(run_id))
            hi = _scalar(mine.clv_12m.quantile(0.99)) or 0.0
            width = hi / 30 if hi > 0 else 1.0
            b = mine.filter(mine.clv_12m.notnull()).mutate(
                bin=(mine.clv_12m.clip(lower=0, upper=hi) / width).floor().cast("int64").clip(upper=29)
            )
            clv = [0] * 30
            for r in _rows(b.group_by("bin").aggregate(n=b.count())):
                clv[r["bin"]] += r["n"]
            pb = mine.filter(mine.p_alive.notnull()).mutate(
                bin=(mine.p_alive * 10).floor().cast("int64").clip(lower=0, upper=9)
            )
            agg = pb.group_by("bin").aggregate(
                n=pb.count(), orders=pb.expected_orders_90d.mean(), clv=pb.clv_12m.mean()
            )
            alive = sorted(_rows(agg), key=lambda r: r["bin"])
            totals = _rows(
                mine.aggregate(
                    n=mine.count(),
                    clv=mine.clv_12m.sum(),
                    orders=mine.expected_orders_90d.sum(),
                    alive=mine.p_alive.mean(),
                )
            )[0]
            scored = {
                "run_id": run_id,
                "as_of": _scalar(mine.as_of.max()),
                "customers": int(totals["n"]),
                "clv_total": float(totals["clv"] or 0),
                "orders_90d": float(totals["orders"] or 0),
                "p_alive_mean": float(totals["alive"] or 0),
                "clv_bins": [round(width * (i + 0.5), 2) for i in range(30)],
                "clv_counts": clv,
                "alive": alive,
            }
    holdout = [
        r for r in runs if r.get("holdout_end") is not None and "holdout_actual" in (r.get("metrics") or {})
    ]
    return {"runs": runs, "scored": scored, "holdout": holdout}
