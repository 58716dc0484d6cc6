"""BG/NBD scores as Ibis expressions, so P(alive) and expected purchases are computed inside the engine
(DuckDB, Spark, ...) over a summary table, without pulling customers into Python.

P(alive) is closed-form. The conditional expectation needs 2F1(a+b-1-r, a-1; a+b+x-1; z) after Euler's
transformation (see bgnbd.py); its parameters stay bounded, so a fixed number of series terms, chosen
from the largest possible z for the horizon, reaches double precision. The series is written in
Horner form, 1 + z k0 (1 + z k1 (1 + ...)), so the SQL grows linearly with the number of terms. Only
numbers (the fitted parameters) enter the expression; no text is pasted into SQL.
"""

from __future__ import annotations

import math

import ibis
import ibis.expr.types as ir

from segmint.core.models.btyd.errors import ModelInputError

__all__ = ["bgnbd_score_expr", "series_terms"]

_MAX_EXP = 700.0  # exp() beyond this overflows a double; DuckDB raises instead of returning inf
_MAX_TERMS = 600
_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def series_terms(z_max: float, tol: float = 1e-14) -> int:
    """Terms of the Horner series so that the tail (terms shrink at least like z^n) is below ``tol``."""
    if z_max <= 0:
        return 1
    return int(min(_MAX_TERMS, math.ceil(math.log(tol) / math.log(z_max)) + 10))


def bgnbd_score_expr(
    summary: ir.Table,
    params: dict[str, float],
    horizon: float,
    *,
    x: str = "x",
    t_x: str = "t_x",
    T: str = "T",
) -> ir.Table:
    """``summary`` with two more columns: p_alive and expected_purchases (in the next ``horizon`` time
    units), from BG/NBD parameters r, alpha, a, b."""
    try:
        r, alpha, a, b = (float(params[k]) for k in ("r", "alpha", "a", "b"))
    except KeyError as exc:
        raise ModelInputError(f"BG/NBD parameters need {exc.args[0]!r}") from None
    if horizon < 0:
        raise ModelInputError("the horizon must be >= 0")
    cx, ctx, cT = summary[x].cast("float64"), summary[t_x].cast("float64"), summary[T].cast("float64")
    log_odds = math.log(a) - (cx + (b - 1)).ln() + (cx + r) * ((cT + alpha).ln() - (ctx + alpha).ln())
    log_odds = ibis.ifelse(log_odds > _MAX_EXP, _MAX_EXP, log_odds)
    p_alive = ibis.ifelse(cx > 0, 1.0 / (1.0 + log_odds.exp()), 1.0)
    z = horizon / (cT + alpha + horizon)
    staged = summary.mutate(_p_alive=p_alive, _z=z, _c=cx + (a + b - 1))
    zc, cc = staged._z, staged._c
    n_terms = series_terms(horizon / (alpha + horizon))
    big_a, big_b = a + b - 1 - r, a - 1
    # term_j = K_j z^j j! / (c)_j with K_j = (A)_j (B)_j / (j!)^2 a bounded constant and
    # (c)_j = Gamma(c+j)/Gamma(c) through a fixed-size log-gamma: the SQL grows linearly in the number
    # of terms and stays shallow.
    log_z = zc.ln()
    lg_c = _log_gamma(cc, shift=8)
    terms: list[ir.FloatingValue] = []
    coef = 1.0
    for j in range(n_terms):
        if j:
            coef *= (big_a + j - 1) * (big_b + j - 1) / (j * j)
        if coef == 0.0:
            break
        log_ratio = math.lgamma(j + 1) - (_log_gamma(cc + j, shift=max(0, 8 - j)) - lg_c)
        terms.append(coef * (log_z * j + log_ratio).exp())
    series = _balanced_sum(terms)
    tail = ((1.0 - zc).ln() * (a - 1)).exp() * series
    expected = ibis.ifelse(zc > 0, cc / (a - 1) * (1.0 - tail) * staged._p_alive, 0.0)
    return staged.mutate(p_alive=staged._p_alive, expected_purchases=expected).drop("_p_alive", "_z", "_c")


def _log_gamma(y: ir.FloatingValue, shift: int) -> ir.FloatingValue:
    """log Gamma(y) for y > 0 by Stirling's series at y + shift (accurate to ~1e-12 once y + shift >= 8),
    brought back with log Gamma(y) = log Gamma(y + shift) - log(y (y+1) ... (y+shift-1)). SQL engines
    share no lgamma function, so it is spelled out with ln and arithmetic."""
    w = y + shift if shift else y
    inv = 1.0 / w
    inv2 = inv * inv
    series = inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 * (1.0 / 1260 - inv2 / 1680)))
    out = (w - 0.5) * w.ln() - w + _HALF_LOG_2PI + series
    if shift:
        prod = y
        for i in range(1, shift):
            prod = prod * (y + i)
        out = out - prod.ln()
    return out


def _balanced_sum(values: list[ir.FloatingValue]) -> ir.FloatingValue:
    """a + b + c + ... as a balanced tree, so the expression depth is log2(n) rather than n."""
    while len(values) > 1:
        values = [
            values[i] + values[i + 1] if i + 1 < len(values) else values[i] for i in range(0, len(values), 2)
        ]
    return values[0]
