"""Special functions the BTYD likelihoods need, computed in log space with exact derivatives.

The Pareto/NBD likelihood contains Gauss hypergeometric functions 2F1(a, b; a+1; z). After Euler's
transformation every one of them becomes (1 - z)^k times

    S(p, q, z) = 2F1(1, p; q; z) = sum_n (p)_n / (q)_n z^n,   0 <= z < 1,  0 < p < q,

whose terms are positive and shrink at least as fast as z^n, so the series is summed in log space with
no cancellation and no overflow whatever x is. Its derivatives in p, q and z are sums of the same terms
weighted by digamma differences (psi(p + n) - psi(p) = sum_{k<n} 1/(p + k)), which makes the
gradient exact rather than a finite difference. Rows are grouped by how many terms their z needs, so
rows with a small z cost little.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

__all__ = ["LogSeries", "gauss_legendre_panels", "log_nb_pmf", "log_series_1pq"]

_TOL = 1e-17
_MAX_TERMS = 1 << 15
_CHUNK_ELEMENTS = 1 << 21


@dataclass
class LogSeries:
    """log S and its partial derivatives d(log S)/dp, d(log S)/dq, d(log S)/dz."""

    log: np.ndarray
    dp: np.ndarray
    dq: np.ndarray
    dz: np.ndarray


def _terms_needed(z: np.ndarray) -> np.ndarray:
    """How many terms bring the tail (bounded by z^K / (1 - z)) below _TOL, rounded up to a power of 2."""
    with np.errstate(divide="ignore"):
        need = np.where(z > 0, np.log(_TOL * (1.0 - z)) / np.log(np.clip(z, 1e-300, None)), 1.0)
    need = np.clip(np.ceil(need) + 1, 8, _MAX_TERMS)
    return (2 ** np.ceil(np.log2(need))).astype(np.int64)


def log_series_1pq(p: np.ndarray, q: np.ndarray, z: np.ndarray, grad: bool = True) -> LogSeries:
    """log of 2F1(1, p; q; z) = sum_n (p)_n/(q)_n z^n for 0 < p < q, 0 <= z < 1 (element-wise)."""
    p, q, z = np.broadcast_arrays(np.asarray(p, float), np.asarray(q, float), np.asarray(z, float))
    n_rows = p.shape[0]
    out = LogSeries(np.zeros(n_rows), np.zeros(n_rows), np.zeros(n_rows), np.zeros(n_rows))
    if n_rows == 0:
        return out
    z = np.clip(z, 0.0, 1.0 - 1e-15)
    terms = _terms_needed(z)
    for k_terms in np.unique(terms):
        rows = np.flatnonzero(terms == k_terms)
        step = max(1, _CHUNK_ELEMENTS // int(k_terms))
        for start in range(0, rows.size, step):
            idx = rows[start : start + step]
            _sum_block(p[idx], q[idx], z[idx], int(k_terms), out, idx, grad)
    return out


def _sum_block(
    p: np.ndarray, q: np.ndarray, z: np.ndarray, k_terms: int, out: LogSeries, idx: np.ndarray, grad: bool
) -> None:
    k = np.arange(k_terms - 1, dtype=float)
    pk = p[:, None] + k
    qk = q[:, None] + k
    log_ratio = np.log(pk / qk)
    log_coef = np.zeros((p.size, k_terms))
    np.cumsum(log_ratio, axis=1, out=log_coef[:, 1:])
    n = np.arange(k_terms, dtype=float)
    positive = z > 0
    log_z = np.log(np.where(positive, z, 1.0))
    log_terms = log_coef + n * log_z[:, None]
    log_terms[~positive, 1:] = -np.inf
    peak = log_terms.max(axis=1, keepdims=True)
    weights = np.exp(log_terms - peak)
    total = weights.sum(axis=1)
    out.log[idx] = peak[:, 0] + np.log(total)
    if not grad:
        return
    weights /= total[:, None]
    harm_p = np.zeros_like(log_coef)
    np.cumsum(1.0 / pk, axis=1, out=harm_p[:, 1:])
    harm_q = np.zeros_like(log_coef)
    np.cumsum(1.0 / qk, axis=1, out=harm_q[:, 1:])
    out.dp[idx] = (weights * harm_p).sum(axis=1)
    out.dq[idx] = -(weights * harm_q).sum(axis=1)
    mean_n = np.einsum("ij,j->i", weights, n)  # not @: see _base.weighted_sum
    # d log S / dz = E_w[n] / z; at z = 0 it is the first coefficient p / q.
    out.dz[idx] = np.where(positive, mean_n / np.where(positive, z, 1.0), p / q)


_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)


def gauss_legendre_panels(lo: np.ndarray, hi: np.ndarray, panels: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights, row by row, of ``panels`` equal 8-point Gauss-Legendre panels on [lo, hi]:
    two (rows, 8 * panels) arrays, so that sum(f(nodes) * weights, axis=1) integrates f per row."""
    width = (hi - lo) / panels
    offsets = (np.arange(panels)[:, None] + (_GL_X[None, :] + 1.0) / 2.0).reshape(-1)
    nodes = lo[:, None] + width[:, None] * offsets[None, :]
    weights = width[:, None] * np.tile(_GL_W / 2.0, panels)[None, :]
    return nodes, weights


def log_nb_pmf(n: np.ndarray, shape: np.ndarray, rate: np.ndarray, u: np.ndarray) -> np.ndarray:
    """log NB(n; shape, u/(rate + u)): the count in time u of a Poisson process whose rate is
    Gamma(shape, rate). At u = 0 it is 0 for n = 0 and -inf otherwise."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_u = np.log(u)
        log_ru = np.log(rate + u)
        core = gammaln(shape + n) - gammaln(shape) - gammaln(n + 1) + shape * (np.log(rate) - log_ru)
        return np.where(n > 0, core + n * (log_u - log_ru), core)
