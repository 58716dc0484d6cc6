"""BTYD fitting speed and agreement: Segmint against lifetimes, side by side in one run.

1. BG/NBD on N (default 1,000,000) synthetic customers simulated from a BG/NBD process;
2. Pareto/NBD on M (default 100,000) synthetic customers simulated from a Pareto/NBD process.

Both simulations use the CDNOW estimates as true parameters, a 39-week calibration with acquisition
spread over the first 12 weeks, and times in whole days expressed in weeks (as a real summary is).
lifetimes 0.11.3 (archived; it needs numpy < 2 and pandas < 2.2) is never a project dependency: this
script creates ``benchmarks/.venv-lifetimes`` on first use with pinned versions from PyPI and runs
lifetimes there in a subprocess. Fit times exclude imports and data loading for both; each side
fits the same (x, t_x, T) arrays, saved to a temporary .npz file.

    python benchmarks/bench_btyd.py [--bgnbd-customers 1000000] [--pnbd-customers 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv-lifetimes"
PINS = ["lifetimes==0.11.3", "numpy>=1.26,<2", "pandas>=2.0,<2.2", "scipy>=1.11,<1.13", "autograd==1.6.2"]

BG_TRUE = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PNBD_TRUE = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}

LIFETIMES_RUNNER = r"""
import json, sys, time
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, ParetoNBDFitter
data = np.load(sys.argv[2])
x, t_x, T = (pd.Series(data[k]) for k in ("x", "t_x", "T"))
model = {"bgnbd": BetaGeoFitter, "pnbd": ParetoNBDFitter}[sys.argv[1]]()
start = time.perf_counter()
model.fit(x, t_x, T)
seconds = time.perf_counter() - start
params = {k: float(v) for k, v in model.params_.items()}
ll = float(model._negative_log_likelihood_) if hasattr(model, "_negative_log_likelihood_") else None
print(json.dumps({"seconds": seconds, "params": params}))
"""


def simulate_bgnbd(n: int, rng: np.random.Generator, p: dict) -> tuple[np.ndarray, ...]:
    """BG/NBD: lambda ~ Gamma(r, alpha), drop-out probability ~ Beta(a, b) after each repeat purchase.
    Given N(T) Poisson arrivals and death after the D-th purchase (D geometric), x = min(N, D) and the
    time of the x-th arrival is T times the x-th of N uniform order statistics: Beta(x, N - x + 1)."""
    trial_day = rng.integers(0, 84, n)
    T_days = 272 - trial_day
    lam = rng.gamma(p["r"], 1 / p["alpha"], n) / 7  # per day
    drop = rng.beta(p["a"], p["b"], n)
    arrivals = rng.poisson(lam * T_days)
    death_after = rng.geometric(drop)
    x = np.minimum(arrivals, death_after)
    frac = rng.beta(np.maximum(x, 1), np.maximum(arrivals - x + 1, 1))
    t_x_days = np.where(x > 0, np.floor(frac * T_days), 0)
    return _weeks(x, t_x_days, T_days)


def simulate_pnbd(n: int, rng: np.random.Generator, p: dict) -> tuple[np.ndarray, ...]:
    """Pareto/NBD: lambda ~ Gamma(r, alpha), lifetime ~ Exponential(mu), mu ~ Gamma(s, beta); purchases
    in (0, min(tau, T)], the last one the maximum of x uniforms on that interval."""
    trial_day = rng.integers(0, 84, n)
    T_days = 272 - trial_day
    lam = rng.gamma(p["r"], 1 / p["alpha"], n) / 7
    mu = rng.gamma(p["s"], 1 / p["beta"], n) / 7
    active = np.minimum(rng.exponential(1 / mu), T_days)
    x = rng.poisson(lam * active)
    t_x_days = np.where(x > 0, np.floor(active * rng.beta(np.maximum(x, 1), 1)), 0)
    return _weeks(x, t_x_days, T_days)


def _weeks(x: np.ndarray, t_x_days: np.ndarray, T_days: np.ndarray) -> tuple[np.ndarray, ...]:
    # Whole days: a purchase at the very start of a day counts on that day, so t_x <= T still holds and
    # x = 0 leaves t_x = 0.
    t_x_days = np.where(x > 0, np.maximum(t_x_days, 1), 0)
    return x.astype(float), np.minimum(t_x_days, T_days) / 7.0, T_days / 7.0


def ensure_lifetimes_venv() -> Path:
    python = VENV / "bin" / "python"
    if python.exists():
        return python
    print(f"creating {VENV} with {' '.join(PINS)} (first run only)", flush=True)
    venv.EnvBuilder(with_pip=True).create(VENV)
    subprocess.run([str(python), "-m", "pip", "install", "-q", *PINS], check=True)
    return python


def run_lifetimes(python: Path, model: str, data: Path) -> dict:
    out = subprocess.run(
        [str(python), "-c", LIFETIMES_RUNNER, model, str(data)],
        check=True,
        capture_output=True,
        text=True,
        # Single-threaded BLAS, as Segmint's fit uses (threadpool_limits): with 3-4 parameters, spinning
        # BLAS threads only add noise on a shared machine, so this is lifetimes' best case.
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_segmint(model: str, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> dict:
    from segmint.core.models.btyd import BetaGeoFitter, ParetoNBDFitter

    cls = {"bgnbd": BetaGeoFitter, "pnbd": ParetoNBDFitter}[model]
    start = time.perf_counter()
    fitted = cls().fit(x, t_x, T)
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "params": fitted.params_,
        "ll": fitted.log_likelihood_,
        "rows": fitted.n_unique_rows_,
    }


def log_likelihood(model: str, params: dict, x, t_x, T) -> float:
    """The log-likelihood of any parameter set under Segmint's likelihood (to compare the two optima)."""
    from segmint.core.models.btyd import BetaGeoFitter, ParetoNBDFitter

    cls = {"bgnbd": BetaGeoFitter, "pnbd": ParetoNBDFitter}[model]
    return float(cls.from_params(params).log_likelihood(x, t_x, T).sum())


def compare(name: str, n: int, x, t_x, T, python: Path, tmp: Path) -> bool:
    data = tmp / f"{name}.npz"
    np.savez(data, x=x, t_x=t_x, T=T)
    ours = run_segmint(name, x, t_x, T)
    theirs = run_lifetimes(python, name, data)
    speedup = theirs["seconds"] / ours["seconds"]
    theirs["ll"] = log_likelihood(name, theirs["params"], x, t_x, T)
    same = all(round(ours["params"][k], 3) == round(theirs["params"][k], 3) for k in ours["params"])
    print(
        f"\n{name}: {n:,} customers ({ours['rows']:,} unique (x, t_x, T) rows), repeat purchases {int(x.sum()):,}"
    )
    header = "  ".join(f"{k:>9}" for k in ours["params"])
    print(f"  {'':10} {'seconds':>9}  {header}  {'log-likelihood':>15}")
    for label, res in (("segmint", ours), ("lifetimes", theirs)):
        values = "  ".join(f"{res['params'][k]:9.4f}" for k in ours["params"])
        print(f"  {label:10} {res['seconds']:9.3f}  {values}  {res['ll']:15.4f}")
    print(f"  speed-up {speedup:.1f}x; parameters equal to 3 decimals: {same}")
    return speedup >= 10 and same


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bgnbd-customers", type=int, default=1_000_000)
    parser.add_argument("--pnbd-customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2005)
    args = parser.parse_args()
    python = ensure_lifetimes_venv()
    rng = np.random.default_rng(args.seed)
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        bg = simulate_bgnbd(args.bgnbd_customers, rng, BG_TRUE)
        ok &= compare("bgnbd", args.bgnbd_customers, *bg, python, Path(tmp))
        pn = simulate_pnbd(args.pnbd_customers, rng, PNBD_TRUE)
        ok &= compare("pnbd", args.pnbd_customers, *pn, python, Path(tmp))
    print("\nacceptance (>= 10x faster, same parameters to 3 decimals):", "PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
