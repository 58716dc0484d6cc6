"""The cluster use case on a workspace: fit, report, segments, history, refit continuity, CLI, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from clusters.synthetic import NUMERIC, persona_frame
from segmint.cli.main import main
from segmint.models import clusters as uc

TRAITS = [*NUMERIC, "preferred_device"]


def _load(ws, frame) -> None:
    ws.con.create_table("traits", frame.drop(columns="persona"), overwrite=True)


@pytest.fixture
def fitted(workspace):
    frame = persona_frame(1800, seed=1)
    _load(workspace, frame)
    result = uc.fit_clusters(workspace, traits=TRAITS, stability_rounds=2, k_range=range(4, 9))
    return workspace, frame, result


def test_fit_assigns_everyone_and_profiles_are_data(fitted):
    ws, frame, result = fitted
    model = result.model
    assert model.k == 6 and result.assigned == 1800
    assert sorted(model.numbers) == [1, 2, 3, 4, 5, 6]
    assigned = ws.table("cluster_assignments").to_pandas().merge(frame, on="customer_id")
    assert adjusted_rand_score(assigned.persona, assigned.cluster) > 0.95
    report = uc.cluster_report(ws, "default")
    sizes = {c["cluster"]: c["size"] for c in report["clusters"]}
    assert sizes == assigned.cluster.value_counts().to_dict()
    names = [c["name"] for c in report["clusters"]]
    assert len(set(names)) == 6  # acceptance 3: different clusters, different names
    # The frequent buyers' cluster says so, with values from the whole base.
    loyal = assigned[assigned.persona == "loyal"].cluster.mode()[0]
    row = next(c for c in report["clusters"] if c["cluster"] == loyal)
    assert row["name"].startswith("Frequent")
    orders = next(d for d in row["effects"] if d["trait"] == "orders_count")
    assert orders["value"] == pytest.approx(assigned[assigned.cluster == loyal].orders_count.mean())
    assert orders["base"] == pytest.approx(frame.orders_count.mean())
    assert report["selection"]["auto"] and len(report["selection"]["scores"]) == 5
    assert report["stability"]["ari_mean"] > 0.9


def test_clusters_are_segments(fitted):
    ws, _, _ = fitted
    counts = ws.table("cluster_assignments").to_pandas().cluster.value_counts()
    members = uc.segment_members(ws, "cluster:default:2").to_pandas()
    assert list(members.columns) == ["customer_id"] and len(members) == counts[2]
    assert uc.segment_members(ws, "vip") is None
    with pytest.raises(uc.ClusterError, match="no cluster 9"):
        uc.cluster_members(ws, "default", 9)
    with pytest.raises(uc.ClusterError, match="no cluster model named 'other'"):
        uc.cluster_members(ws, "other", 1)
    with pytest.raises(uc.ClusterError, match="cluster:<model>:<number>"):
        uc.parse_segment("cluster:default")


def test_refit_on_new_data_keeps_numbers_names_and_history(fitted):
    ws, frame, first = fitted
    old_names = first.model.names()
    old = ws.table("cluster_assignments").to_pandas().merge(frame, on="customer_id")
    number_of = old.groupby("persona").cluster.agg(lambda s: s.mode()[0]).to_dict()

    new_frame = persona_frame(2400, seed=7)  # new customers and new values: a refit
    _load(ws, new_frame)
    second = uc.fit_clusters(ws, traits=TRAITS, stability_rounds=0, k_range=range(4, 9))
    assert second.model.version == 2
    new = ws.table("cluster_assignments").to_pandas().merge(new_frame, on="customer_id")
    # Each persona keeps its cluster number and its cluster keeps its name.
    assert new.groupby("persona").cluster.agg(lambda s: s.mode()[0]).to_dict() == number_of
    assert second.model.names() == old_names
    assert len(second.model.matched["continued"]) == 6
    # History (recorded like every segment's): customers whose cluster changed have a closed interval
    # and an open one.
    history = ws.table("membership_history").to_pandas()
    history = history[history.segment.str.startswith("cluster:")]
    open_rows = history[history.valid_to.isna()]
    assert len(open_rows) == 2400 and open_rows.customer_id.is_unique
    assert set(open_rows.segment) == {f"cluster:default:{n}" for n in range(1, 7)}
    moved = old.merge(new, on="customer_id", suffixes=("_old", "_new"))
    moved = moved[moved.cluster_old != moved.cluster_new]
    closed = history[history.valid_to.notna()]
    gone = set(old.customer_id) - set(new.customer_id)
    assert set(closed.customer_id) == set(moved.customer_id) | gone


def test_cli_fit_and_report(workspace, capsys):
    _load(workspace, persona_frame(900, seed=3))
    root = str(workspace.root)
    workspace.close()
    main(["-w", root, "--json", "cluster", "fit", "--traits", ",".join(TRAITS), "--k", "6", "--name", "m1"])
    fit = json.loads(capsys.readouterr().out)
    assert fit["k"] == 6 and fit["assigned"] == 900 and fit["k_reason"] == "given"
    assert set(fit["timings"]) >= {"sampling", "preprocessing", "k_search", "fit", "assignment", "profiles"}
    main(["-w", root, "--json", "cluster", "report", "--model", "m1"])
    report = json.loads(capsys.readouterr().out)
    assert [c["segment"] for c in report["clusters"]] == [f"cluster:m1:{n}" for n in range(1, 7)]
    assert np.isclose(sum(c["share"] for c in report["clusters"]), 1.0)
    main(["-w", root, "cluster", "report", "--model", "m1"])
    text = capsys.readouterr().out
    assert "cluster:m1:1" in text and "k=6" in text


def test_errors_are_clear(workspace, capsys):
    _load(workspace, persona_frame(300, seed=3))
    with pytest.raises(uc.ClusterError, match="unknown trait"):
        uc.fit_clusters(workspace, traits=["orders_count", "nope"])
    with pytest.raises(uc.ClusterError, match="unknown algorithm"):
        uc.fit_clusters(workspace, algorithm="dbscan")
    with pytest.raises(uc.ClusterError, match="whole number or 'auto'"):
        uc.fit_clusters(workspace, k="many")
    with pytest.raises(uc.ClusterError, match="needs at least"):
        uc.fit_clusters(workspace, traits=NUMERIC, k=40)
    root = str(workspace.root)
    workspace.close()
    with pytest.raises(SystemExit) as exc:
        main(["-w", root, "cluster", "report", "--model", "nothing"])
    assert exc.value.code == 2
    assert "no cluster model named 'nothing'" in capsys.readouterr().err
