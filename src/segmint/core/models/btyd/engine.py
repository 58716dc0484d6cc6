"""BG/NBD scores as Ibis expressions, so P(alive), expected purchases and P(purchase within t) are
computed inside the engine (DuckDB, Spark, ...) over a summary table, without pulling customers into
Python. Only numbers (the fitted parameters) enter the expression; no text is pasted into SQL.

P(alive) and P(purchase within t) are closed-form. The conditional expectation (FHL 2005 eq. 10) needs
2F1(r+x, b+x; a+b+x-1; z), z = t/(alpha+T+t). After Euler's transformation (as in bgnbd.py) it is
(1-z)^(a-1) 2F1(A, B; c; z) with A = a+b-1-r, B = a-1, c = a+b-1+x, whose numerator parameters do not
grow with x. Its series is summed in Horner form from the innermost term outwards,

    H_j = 1 + z k_j / (c + j - 1) H_{j+1},   k_j = (A+j-1)(B+j-1)/j,   2F1 = H_1,

so each term costs one short, constant-size piece of SQL (k_j is a number known in Python). The number
of terms N is fixed from the largest z any customer can have (T = 0) with a rigorous bound on the
truncated tail (see :func:`series_terms`); customers with a larger x or T only converge faster. The
Horner levels are emitted in blocks of ``_BLOCK``, each block a select over the previous one, so the
SQL grows linearly with N and no expression nests deeper than one block (engines' parsers and Ibis'
compiler recurse on nesting depth).

When the horizon is so long relative to alpha that z gets close to 1, N would exceed ``_MAX_TERMS``;
then :class:`EngineScoringUnsupported` says so, and the caller scores in batches with numpy.
"""

from __future__ import annotations

import math

import ibis
import ibis.expr.types as ir

from segmint.core.models.btyd.errors import ModelInputError
from segmint.errors import SegmintError

__all__ = ["EngineScoringUnsupported", "bgnbd_score_expr", "series_terms"]

_MAX_EXP = 700.0  # exp() beyond this overflows a double; DuckDB raises instead of returning inf
_MAX_TERMS = 1500  # about 60 KB of SQL; reached when horizon / (alpha + horizon) > ~0.98
_BLOCK = 24  # Horner levels per select: bounds the nesting depth of any one expression
_TOL = 1e-14  # bound on the absolute truncation error of the expected purchases
_PREFIX = "_bgnbd_"


class EngineScoringUnsupported(SegmintError):
    """These parameters or this horizon cannot be scored exactly by the engine expression; the message
    says why. Score in numpy instead (``BetaGeoFitter.conditional_expected_purchases``)."""


def series_terms(z_max: float, A: float, B: float, c0: float, scale: float = 1.0, tol: float = _TOL) -> int:
    """Terms N of 2F1(A, B; c; z) = sum_j t_j so that scale * |sum_{j>N} t_j| <= tol for every
    0 <= z <= z_max and c >= c0 > 0.

    |t_j| grows with z and shrinks as c grows ((c)_j increases), so (z_max, c0) is the worst case; also
    c t_j(c) <= c0 t_j(c0) for j >= 1, which is why ``scale`` may carry the factor c0 of the expectation.
    The term ratio is t_{j+1}/t_j = z (A+j)(B+j) / ((c+j)(j+1)) = z (1 + e_j) with
    |e_j| <= kappa / j, kappa = |A+B-c-1| + |AB-c| (the denominator is >= j^2 for c >= 0), so beyond
    term n every ratio is at most q = z (1 + kappa/n) and the tail is at most |t_n| q / (1 - q).
    Raises :class:`EngineScoringUnsupported` beyond ``_MAX_TERMS`` terms.
    """
    if z_max <= 0:
        return 0
    kappa = abs(A + B - c0 - 1) + abs(A * B - c0)
    term = 1.0
    for n in range(1, _MAX_TERMS + 1):
        term *= z_max * (A + n - 1) * (B + n - 1) / ((c0 + n - 1) * n)
        if term == 0.0:  # A or B is a non-positive integer: the series is a polynomial
            return n - 1
        q = z_max * (1 + kappa / n)
        if q < 1 and scale * abs(term) * q / (1 - q) <= tol:
            return n
    raise EngineScoringUnsupported(
        f"the horizon is long relative to alpha (z up to {z_max:.4f}): the in-engine series would need "
        f"more than {_MAX_TERMS} terms; score in numpy instead"
    )


def bgnbd_score_expr(
    summary: ir.Table,
    params: dict[str, float],
    horizon: float,
    *,
    purchase_horizon: float | None = None,
    x: str = "x",
    t_x: str = "t_x",
    T: str = "T",
) -> ir.Table:
    """``summary`` with more columns: p_alive, expected_purchases (in the next ``horizon`` time units)
    and, with ``purchase_horizon``, p_purchase (P(at least one purchase within it)), from BG/NBD
    parameters r, alpha, a, b. Matches BetaGeoFitter's numpy predictions to ~1e-12 relative.

    Raises :class:`EngineScoringUnsupported` when the expectation cannot be computed exactly in the
    engine (a = 1 or a + b <= 1, or a horizon so long that the series needs too many terms)."""
    try:
        r, alpha, a, b = (float(params[k]) for k in ("r", "alpha", "a", "b"))
    except KeyError as exc:
        raise ModelInputError(f"BG/NBD parameters need {exc.args[0]!r}") from None
    if not all(math.isfinite(v) and v > 0 for v in (r, alpha, a, b)):
        raise ModelInputError(f"BG/NBD parameters must be finite and positive, got {params!r}")
    if horizon < 0 or (purchase_horizon is not None and purchase_horizon < 0):
        raise ModelInputError("the horizon must be >= 0")
    c0, big_a, big_b = a + b - 1, a + b - 1 - r, a - 1
    if c0 <= 0 or a == 1:
        raise EngineScoringUnsupported(
            f"BG/NBD with a = {a:g}, b = {b:g}: the expectation's series has a pole (a + b <= 1) or "
            "divides by a - 1 = 0; score in numpy instead"
        )
    z_max = horizon / (alpha + horizon)
    # E = c/(a-1) (1 - (1-z)^(a-1) 2F1) P(alive): the series error reaches E scaled by at most this.
    scale = abs(c0 / big_b) * (1 - z_max) ** min(big_b, 0.0)
    n_terms = series_terms(z_max, big_a, big_b, c0, scale)

    cx, ctx, cT = summary[x].cast("float64"), summary[t_x].cast("float64"), summary[T].cast("float64")
    log_at = (cT + alpha).ln()
    log_odds = (
        math.log(a) - ibis.greatest(cx + (b - 1), 1e-300).ln() + (cx + r) * (log_at - (ctx + alpha).ln())
    )
    log_odds = ibis.ifelse(log_odds > _MAX_EXP, _MAX_EXP, log_odds)
    cols = {
        "p": ibis.ifelse(cx > 0, 1.0 / (1.0 + log_odds.exp()), 1.0),
        "z": horizon / (cT + (alpha + horizon)),
        # log(1 - z) = log((alpha+T) / (alpha+T+t)): one rounding inside the log, as with log1p(-z).
        "l1z": ((cT + alpha) / (cT + (alpha + horizon))).ln(),
        "c": cx + c0,
    }
    if purchase_horizon is not None:
        cols["u"] = purchase_horizon / (cT + alpha)
        cols["rx"] = cx + r
    stage = summary.mutate(**{_PREFIX + k: v for k, v in cols.items()})
    series = _horner_blocks(stage, [_coef(big_a, big_b, j) for j in range(1, n_terms + 1)])
    col = {k: series[_PREFIX + k] for k in (*cols, "h")}
    tail = (col["l1z"] * big_b).exp() * col["h"]
    out = {
        "p_alive": col["p"],
        "expected_purchases": ibis.ifelse(col["z"] > 0, col["c"] / big_b * (1.0 - tail) * col["p"], 0.0),
    }
    if purchase_horizon is not None:
        # P(alive) (1 - (1 + u)^-(r+x)), u = t / (alpha+T), with log1p(u) = u ln(w) / (w - 1), w = 1 + u
        # (Kahan's identity: exact to a few ulps where ln(1 + u) alone would lose digits for tiny u).
        u, w = col["u"], col["u"] + 1.0
        log1p = ibis.ifelse(w == 1.0, u, u * w.ln() / (w - 1.0))
        out["p_purchase"] = col["p"] * (1.0 - (-(col["rx"] * log1p)).exp())
    return series.mutate(**out).drop(*(c for c in series.columns if c.startswith(_PREFIX)))


def _coef(big_a: float, big_b: float, j: int) -> float:
    """k_j = (A+j-1)(B+j-1)/j: the numeric part of the ratio of term j to term j-1 (times j!/(c)_j)."""
    return (big_a + j - 1) * (big_b + j - 1) / j


def _horner_blocks(stage: ir.Table, coefs: list[float]) -> ir.Table:
    """``stage`` with the column _bgnbd_h = H_1 (see the module docstring) in two selects.

    The levels are cut into blocks [s, e] of at most ``_BLOCK``: H_s = A + P H_{e+1}, with the
    block's partial Horner sum A = 1 + rho_s (1 + ... (1 + rho_{e-1})) and product P = rho_s ... rho_e.
    Every block's A and P come from the first select (independent of each other, so no expression is
    deeper than a block); the second chains them, H_1 = A_1 + P_1 (A_2 + P_2 (... + P_M)). Two
    selects rather than one per block keeps Ibis' compile time linear in the number of terms.
    """
    h_name = _PREFIX + "h"
    n = len(coefs)
    if n == 0:
        return stage.mutate(**{h_name: ibis.literal(1.0, "float64")})
    z, c = stage[_PREFIX + "z"], stage[_PREFIX + "c"]

    def rho(j: int) -> ir.FloatingValue:
        return z * coefs[j - 1] / (c + float(j - 1) if j > 1 else c)

    parts: dict[str, ir.FloatingValue] = {}
    starts = list(range(1, n + 1, _BLOCK))
    for m, start in enumerate(starts):
        end = min(start + _BLOCK - 1, n)
        a = ibis.literal(1.0, "float64")
        for j in range(end - 1, start - 1, -1):
            # a on the left: the nesting runs through one product and one sum per level.
            a = a * rho(j) + 1.0
        parts[f"{_PREFIX}a{m}"] = a
        # P = z^K prod(k_j) / prod(c + j - 1): the constants multiply in Python, the rest stays short.
        # Each factor c + j - 1 is at most ~1e6 for any real customer, so K of them cannot overflow.
        const = math.prod(coefs[start - 1 : end])
        shifts = [c + float(j - 1) if j > 1 else c for j in range(start, end + 1)]
        parts[f"{_PREFIX}p{m}"] = z ** (end - start + 1) * const / _balanced_product(shifts)
    # view(): a relation boundary Ibis does not inline into the next select.
    blocks = stage.mutate(**parts).view()
    h = blocks[f"{_PREFIX}a{len(starts) - 1}"] + blocks[f"{_PREFIX}p{len(starts) - 1}"]
    for m in range(len(starts) - 2, -1, -1):
        h = blocks[f"{_PREFIX}a{m}"] + blocks[f"{_PREFIX}p{m}"] * h
    return blocks.mutate(**{h_name: h})


def _balanced_product(values: list[ir.FloatingValue]) -> ir.FloatingValue:
    """a * b * c * ... as a balanced tree: depth log2(n) rather than n."""
    while len(values) > 1:
        values = [
            values[i] * values[i + 1] if i + 1 < len(values) else values[i] for i in range(0, len(values), 2)
        ]
    return values[0]
