"""Traits ranked against every customer (RFM scores, the CLV percentile) have the same values when the
live service evaluates only the customers an event touched as in a batch run over everyone."""

from __future__ import annotations

import shutil
from datetime import datetime
from importlib import resources
from pathlib import Path

from segmint.batch.evaluate import evaluate_segments
from segmint.batch.importing import import_files
from segmint.live.evaluator import RuleEvaluator
from segmint.models import predict

AS_OF = datetime(1998, 6, 30)
LIBRARY = Path(str(resources.files("segmint.core.segments") / "library"))


def test_rank_based_segments_live_equal_batch(workspace, cdnow_dir):
    import_files(workspace, "cdnow", [cdnow_dir / "CDNOW_sample.txt"])
    for model in ("bgnbd", "gg"):
        predict.fit_model(workspace, model, calibration_end=AS_OF, time_unit="W")
    predict.score(workspace, None, AS_OF)
    for path in [*LIBRARY.glob("rfm_*.yaml"), *LIBRARY.glob("predicted_clv_*.yaml")]:
        shutil.copy(path, workspace.segments_dir / path.name)
    evaluate_segments(workspace, AS_OF)
    batch = set(workspace.con.con.execute("SELECT segment, customer_id FROM memberships").fetchall())
    assert {s for s, _ in batch} >= {"rfm_champions", "rfm_lost", "predicted_clv_top"}

    evaluator = RuleEvaluator(workspace)
    customers = sorted({c for _, c in batch})
    for touched in (customers[:40], customers[1000:1300]):  # a small and a larger tick
        live = evaluator.members(touched, AS_OF)
        assert live == {(s, c) for s, c in batch if c in set(touched)}
