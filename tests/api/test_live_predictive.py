"""Predictive segments read the stored model scores live exactly as in batch."""

from __future__ import annotations

from datetime import datetime

from segmint.batch.evaluate import evaluate_segments
from segmint.batch.importing import import_files
from segmint.live.evaluator import RuleEvaluator
from segmint.models import predict

AS_OF = datetime(1998, 6, 30)


def test_live_members_of_predictive_segments_equal_batch(workspace, cdnow_dir):
    import_files(workspace, "cdnow", [cdnow_dir / "CDNOW_sample.txt"])
    run = predict.fit_model(workspace, "bgnbd", calibration_end=AS_OF, time_unit="W")
    predict.score(workspace, run["run_id"], AS_OF)
    (workspace.segments_dir / "fading.yaml").write_text(
        "name: fading\nfamily: predictive\ndescription: likely gone\nrule: p_alive < 0.3\n"
    )
    (workspace.segments_dir / "scored.yaml").write_text(
        "name: scored\nfamily: predictive\ndescription: has a score\nrule: p_alive is present\n"
    )
    evaluate_segments(workspace, AS_OF)
    batch = set(workspace.con.con.execute("SELECT segment, customer_id FROM memberships").fetchall())
    assert {s for s, _ in batch} == {"fading", "scored"}
    assert sum(1 for s, _ in batch if s == "scored") == 2357

    evaluator = RuleEvaluator(workspace)
    touched = sorted({c for _, c in batch})[:300]
    live = evaluator.members(touched, AS_OF)
    assert live == {(s, c) for s, c in batch if c in set(touched)}
    assert evaluator.members(None, AS_OF) == batch
