"""What every BTYD estimator shares: input checks, compression of customers into unique rows with
weights, maximum likelihood in log-parameter space with analytic gradients, a Newton polish, and
standard errors from the Hessian.

Why compress: customers with the same (x, t_x, T) contribute identical likelihood terms, and real
summaries (times in whole days) repeat a lot, so the likelihood is evaluated once per unique row and
weighted by its count. Why log space: parameters must stay positive, and the optimiser behaves better
when a step of 0.1 means "10% larger" for both r ~ 0.2 and alpha ~ 10.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

from segmint.core.models.btyd.errors import (
    ConvergenceError,
    InsufficientDataError,
    ModelInputError,
    NotFittedError,
)

__all__ = ["BaseFitter", "Rows", "as_array", "compress", "weighted_sum"]

_LOG_BOUND = 30.0
# A parameter beyond e^18 (or below e^-18) on the rescaled data means the likelihood is flat in that
# direction: the data do not identify it (e.g. nobody drops out, or everybody buys at the same rate).
_DEGENERATE = 18.0


def as_array(name: str, values: Any, *, size: int | None = None) -> np.ndarray:
    """A 1-d float array with no missing or infinite values (a scalar is broadcast to ``size``)."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ModelInputError(f"{name} must be numbers") from None
    if arr.ndim == 0 and size is not None:
        arr = np.full(size, float(arr))
    arr = arr.reshape(-1) if arr.ndim > 1 and 1 in arr.shape else arr
    if arr.ndim != 1:
        raise ModelInputError(f"{name} must be a one-dimensional array, got shape {arr.shape}")
    if size is not None and arr.size != size:
        raise ModelInputError(f"{name} has {arr.size} values but x has {size}: pass one value per customer")
    if not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ModelInputError(f"{name} has a missing or infinite value (position {bad}): drop or fill it")
    return arr


@dataclass
class Rows:
    """Unique input rows, their weights (how many customers share them) and the map back."""

    columns: tuple[np.ndarray, ...]
    weights: np.ndarray
    inverse: np.ndarray | None
    # Per-model precomputations on the unique rows (e.g. the distinct x values and their index).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.weights.size)


def compress(columns: tuple[np.ndarray, ...], weights: np.ndarray) -> Rows:
    """Unique rows of ``columns`` with summed weights. Each column is factorised by hashing (no sort),
    the codes are combined into one integer key, and that key is factorised again: linear time, about
    ten times faster than a lexicographic sort on a million rows."""
    size = columns[0].size
    if size == 0:
        return Rows(columns, weights, None)
    key = np.zeros(size, dtype=np.int64)
    span = 1
    for col in columns:
        codes, uniques = pd.factorize(col)
        if span * max(len(uniques), 1) >= 2**62:  # would overflow: re-key what we have so far
            key, kept = pd.factorize(key)
            span = len(kept)
        key = key * len(uniques) + codes
        span *= max(len(uniques), 1)
    group, uniq = pd.factorize(key)
    n_groups = len(uniq)
    first = np.empty(n_groups, dtype=np.int64)
    first[group[::-1]] = np.arange(size - 1, -1, -1)
    summed = np.bincount(group, weights=weights, minlength=n_groups)
    keep = summed > 0
    if not keep.all():
        remap = np.cumsum(keep) - 1
        return Rows(tuple(c[first][keep] for c in columns), summed[keep], remap[group])
    return Rows(tuple(c[first] for c in columns), summed, group.astype(np.int64))


class BaseFitter:
    """Maximum-likelihood estimator on compressed rows. Subclasses define the parameter names, the
    per-row log-likelihood with its gradient, input checks, and which parameters carry a scale."""

    param_names: ClassVar[tuple[str, ...]] = ()
    # Parameters measured in the unit of the scaled input (alpha, beta in time; gamma in money): they
    # are divided by the scale factor after fitting on rescaled data.
    scaled_params: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        tol: float = 1e-12,
        max_iter: int = 3000,
        initial_params: dict[str, float] | None = None,
        min_customers: int = 30,
        min_repeaters: int = 5,
    ) -> None:
        self.tol = tol
        self.max_iter = max_iter
        self.initial_params = initial_params
        self.min_customers = min_customers
        self.min_repeaters = min_repeaters

    # -- subclass hooks -------------------------------------------------------------------------
    def _loglik(self, params: np.ndarray, rows: Rows, grad: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Per-row log-likelihood and (if ``grad``) its gradient in the natural parameters, shape (n, k)."""
        raise NotImplementedError

    def _scale_factor(self, rows: Rows) -> float:
        return 1.0

    def _rescale(self, rows: Rows, factor: float) -> Rows:
        return rows

    def _start(self, rows: Rows) -> np.ndarray:
        return np.ones(len(self.param_names))

    # -- fitting --------------------------------------------------------------------------------
    def _fit_rows(self, rows: Rows) -> Self:
        # The optimiser works on 3-4 parameters: a multi-threaded BLAS only adds thread wake-ups (10x
        # slower on a busy machine), so the fit runs single-threaded.
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit_rows_single_thread(rows)

    def _fit_rows_single_thread(self, rows: Rows) -> Self:
        factor = self._scale_factor(rows)
        scaled = self._rescale(rows, factor)
        scale_vec = np.array([factor if n in self.scaled_params else 1.0 for n in self.param_names])
        if self.initial_params:
            start = np.array([float(self.initial_params[n]) for n in self.param_names]) * scale_vec
        else:
            start = self._start(scaled)
        total = float(scaled.weights.sum())

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            params = np.exp(theta)
            with np.errstate(all="ignore"):
                ll, g = self._loglik(params, scaled, True)
                assert g is not None  # _loglik returns the gradient when asked for it
                value = -weighted_sum(scaled.weights, ll) / total
                gradient = -weighted_sum(scaled.weights, g) * params / total
            if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
                return 1e100, np.zeros_like(theta)
            return value, gradient

        bounds = [(-_LOG_BOUND, _LOG_BOUND)] * len(start)
        result = minimize(
            objective,
            np.log(start),
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": self.max_iter, "ftol": self.tol, "gtol": 1e-10, "maxcor": 20},
        )
        theta = self._newton_polish(objective, result.x)
        value, gradient = objective(theta)
        names = ", ".join(self.param_names)
        if not np.isfinite(value) or value >= 1e99:
            raise ConvergenceError(
                f"{type(self).__name__}: the likelihood could not be evaluated at any parameter value; "
                "check that x, t_x and T are in the same time unit and not all identical",
                detail={"message": str(result.message)},
            )
        if np.max(np.abs(gradient)) > 1e-4:
            raise ConvergenceError(
                f"{type(self).__name__} did not converge after {result.nit} iterations "
                f"({result.message}); try more iterations (max_iter), other starting values "
                f"(initial_params for {names}), or a longer calibration period",
                detail={"gradient": gradient.tolist(), "iterations": int(result.nit)},
            )
        if np.any(np.abs(theta) >= _DEGENERATE):
            at = [n for n, t in zip(self.param_names, theta, strict=True) if abs(t) >= _DEGENERATE]
            raise ConvergenceError(
                f"{type(self).__name__}: parameter(s) {', '.join(at)} ran off to 0 or infinity; the data "
                "do not identify the model (too little repeat buying or too short a history): use a longer "
                "calibration period or a simpler model",
                detail={"parameters": dict(zip(self.param_names, np.exp(theta).tolist(), strict=True))},
            )
        params = np.exp(theta) / scale_vec
        self._set_fitted(params, rows, int(result.nit))
        return self

    def _newton_polish(self, objective, theta: np.ndarray, steps: int = 3) -> np.ndarray:
        """A few Newton steps from the quasi-Newton answer: quadratic convergence makes the optimum
        accurate to many more digits than the line-search tolerances allow, at the cost of 2k gradients."""
        value, gradient = objective(theta)
        for _ in range(steps):
            hess = _numeric_jacobian(lambda t: objective(t)[1], theta)
            try:
                step = np.linalg.solve(hess, -gradient)
            except np.linalg.LinAlgError:
                break
            if not np.all(np.isfinite(step)) or np.max(np.abs(step)) > 1.0:
                break
            new_theta = np.clip(theta + step, -_LOG_BOUND, _LOG_BOUND)
            new_value, new_gradient = objective(new_theta)
            if not new_value <= value + 1e-14:
                break
            theta, value, gradient = new_theta, new_value, new_gradient
            if np.max(np.abs(gradient)) < 1e-13:
                break
        return theta

    def _set_fitted(self, params: np.ndarray, rows: Rows, n_iter: int) -> None:
        for name, value in zip(self.param_names, params, strict=True):
            setattr(self, f"{name}_", float(value))
        ll, _ = self._loglik(params, rows, False)
        self.log_likelihood_ = weighted_sum(rows.weights, ll)
        self.n_customers_ = round(float(rows.weights.sum()))
        self.n_unique_rows_ = rows.n
        self.n_iter_ = n_iter
        self.standard_errors_ = self._standard_errors(params, rows)

    def _standard_errors(self, params: np.ndarray, rows: Rows) -> dict[str, float]:
        """sqrt(diag(H^-1)) of the negative log-likelihood, H from central differences of the analytic
        gradient in log space, mapped to natural parameters by the delta method."""

        def grad_log(theta: np.ndarray) -> np.ndarray:
            p = np.exp(theta)
            _, g = self._loglik(p, rows, True)
            assert g is not None  # _loglik returns the gradient when asked for it
            return -weighted_sum(rows.weights, g) * p

        hess = _numeric_jacobian(grad_log, np.log(params))
        try:
            cov = np.linalg.inv(hess)
        except np.linalg.LinAlgError:
            return {n: float("nan") for n in self.param_names}
        var = np.diag(cov) * params**2
        se = np.sqrt(np.where(var > 0, var, np.nan))
        return dict(zip(self.param_names, se.tolist(), strict=True))

    # -- fitted state ---------------------------------------------------------------------------
    @property
    def params_(self) -> dict[str, float]:
        self._check_fitted()
        return {n: getattr(self, f"{n}_") for n in self.param_names}

    def _params(self) -> np.ndarray:
        self._check_fitted()
        return np.array([getattr(self, f"{n}_") for n in self.param_names])

    def _check_fitted(self) -> None:
        if not all(hasattr(self, f"{n}_") for n in self.param_names):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(...) or from_params(...) first"
            )

    @classmethod
    def from_params(cls, params: dict[str, float], **hyper: Any) -> Self:
        """A fitted model from stored parameters (e.g. a ``model_runs`` row), ready to predict."""
        model = cls(**hyper)
        missing = [n for n in cls.param_names if n not in params]
        if missing:
            raise ModelInputError(f"{cls.__name__} needs parameters {', '.join(missing)}")
        for name in cls.param_names:
            value = float(params[name])
            if not (np.isfinite(value) and value > 0):
                raise ModelInputError(f"{cls.__name__} parameter {name} must be positive, got {value}")
            setattr(model, f"{name}_", value)
        return model

    def __repr__(self) -> str:
        if all(hasattr(self, f"{n}_") for n in self.param_names):
            shown = ", ".join(f"{n}={getattr(self, n + '_'):.4g}" for n in self.param_names)
            return f"<{type(self).__name__} fitted on {self.n_customers_} customers: {shown}>"
        return f"<{type(self).__name__} (not fitted)>"

    def _require(self, n_customers: float, n_repeaters: float, what: str) -> None:
        if n_customers < self.min_customers:
            raise InsufficientDataError(
                f"{type(self).__name__} needs at least {self.min_customers} customers to fit, got "
                f"{n_customers:g}: use a longer or wider data window",
                detail={"customers": n_customers},
            )
        if n_repeaters < max(1, self.min_repeaters):
            raise InsufficientDataError(
                f"{type(self).__name__} needs at least {max(1, self.min_repeaters)} customers with {what}, "
                f"got {n_repeaters:g}: the model learns purchase rates from repeat buying; use a longer "
                "calibration period",
                detail={"customers": n_customers, "repeaters": n_repeaters},
            )


def unique_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The distinct rows of equally long 1-d columns (each as a column) and each row's index among them.
    A lexsort and one comparison pass: several times faster than np.unique(..., axis=0)."""
    if columns[0].size == 0:
        return [c[:0] for c in columns], np.zeros(0, dtype=np.int64)
    order = np.lexsort(columns[::-1])
    ordered = [c[order] for c in columns]
    new = np.zeros(order.size, dtype=bool)
    new[0] = True
    for c in ordered:
        new[1:] |= c[1:] != c[:-1]
    inverse = np.empty(order.size, dtype=np.int64)
    inverse[order] = np.cumsum(new) - 1
    return [c[new] for c in ordered], inverse


def weighted_sum(weights: np.ndarray, values: np.ndarray) -> Any:
    """sum_i w_i values_i (over rows). Written with einsum, not ``@``: a matrix product goes to the
    multi-threaded BLAS, whose spinning threads cost far more than this small sum on a busy machine."""
    if values.ndim == 1:
        return float(np.einsum("i,i->", weights, values))
    return np.einsum("i,ij->j", weights, values)


def _numeric_jacobian(fun, theta: np.ndarray, rel: float = 1e-5) -> np.ndarray:
    """Central-difference Jacobian of a vector function, symmetrised (it is a Hessian here)."""
    k = theta.size
    jac = np.empty((k, k))
    for j in range(k):
        h = rel * max(1.0, abs(theta[j]))
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        jac[:, j] = (np.asarray(fun(up)) - np.asarray(fun(down))) / (2 * h)
    return (jac + jac.T) / 2
