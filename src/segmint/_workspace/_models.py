"""Methods of :class:`segmint.Workspace` that fit, score and report models (BTYD, clusters)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from segmint._workspace._args import Time, _instant, _rows, _text, _time
from segmint._workspace._base import _Plumbing

if TYPE_CHECKING:
    import pandas as pd


class _Models(_Plumbing):
    """BTYD and cluster models: fitting and scoring write, the reports read."""

    # -- models -------------------------------------------------------------------------------------
    def fit(
        self,
        model: str = "bgnbd",
        *,
        calibration_end: Time,
        holdout_end: Time | None = None,
        time_unit: str = "weeks",
    ) -> dict[str, Any]:
        """Fit a BTYD model (``bgnbd``, ``pnbd``, ``mbgnbd`` or ``gg``) on the orders up to
        ``calibration_end``, as ``segmint predict fit``; the stored run with parameters and metrics."""
        from segmint.models.predict import fit_model

        return self._write(
            "fit a model",
            fit_model,
            _text(model, "model"),
            _instant(calibration_end, "calibration_end"),
            _time(holdout_end, "holdout_end"),
            _text(time_unit, "time_unit"),
        )

    def runs(self, model: str | None = None) -> pd.DataFrame:
        """Every fitted model run, newest first, as ``segmint predict report``."""
        from segmint.models.predict import list_runs

        return _rows(self._read(list_runs, model))

    def score(
        self,
        run_id: str | None = None,
        as_of: Time | None = None,
        *,
        monthly_discount_rate: float = 0.01,
    ) -> dict[str, Any]:
        """Score every customer with a run (newest by default) as of ``as_of`` (default: the end of the
        run's data), as ``segmint predict score``; the predictions become the traits ``p_alive``,
        ``expected_orders_90d``, ``clv_12m`` and ``purchase_propensity_30d``."""
        from segmint.models.predict import score

        return self._write(
            "score customers",
            score,
            run_id,
            _time(as_of),
            monthly_discount_rate=float(monthly_discount_rate),
        )

    def cluster(
        self,
        *,
        traits: Iterable[str] | None = None,
        k: int | str = "auto",
        algorithm: str = "kmeans",
        sample: int = 50_000,
        name: str = "default",
        as_of: Time | None = None,
        seed: int = 0,
    ) -> dict[str, Any]:
        """Fit (or refit) a cluster model and assign every customer, as ``segmint cluster fit``; each
        cluster becomes the segment ``cluster:<name>:<n>``."""
        from segmint.models.clusters import fit_clusters

        fitted = self._write(
            "fit clusters",
            fit_clusters,
            traits=list(traits) if traits is not None else None,
            k=k,
            algorithm=_text(algorithm, "algorithm"),
            sample=int(sample),
            name=_text(name, "name"),
            as_of=_time(as_of),
            seed=int(seed),
        )
        return fitted.to_dict()

    def cluster_report(self, name: str = "default") -> dict[str, Any]:
        """A cluster model's profiles (size, name, description, distinguishing traits), as ``segmint
        cluster report``."""
        from segmint.models.clusters import cluster_report

        return self._read(cluster_report, _text(name, "name"))
