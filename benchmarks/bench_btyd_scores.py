"""BTYD scoring speed and agreement: Segmint against lifetimes on the same customers and parameters.

For N (default 100,000) customers simulated from the CDNOW Pareto/NBD and BG/NBD estimates (as in
bench_btyd.py), both libraries compute, with the same fitted parameters: P(alive), the expected
purchases in the next 39 weeks, and P(exactly n purchases in the next 39 weeks | history) for
n = 0..3 (for Pareto/NBD the formula of Fader & Hardie's note on its conditional PMF, which lifetimes
implements in closed form and Segmint by quadrature and, for n = 0, by the likelihood's series).
The script prints both times and the largest absolute difference of each score.

    python benchmarks/bench_btyd_scores.py [--customers 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_btyd import BG_TRUE, PNBD_TRUE, ensure_lifetimes_venv, simulate_bgnbd, simulate_pnbd

HORIZON = 39.0
COUNTS = range(4)

LIFETIMES_RUNNER = r"""
import json, sys, time
import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, ParetoNBDFitter
data = np.load(sys.argv[2])
params = json.loads(sys.argv[3])
cls = {"bgnbd": BetaGeoFitter, "pnbd": ParetoNBDFitter}[sys.argv[1]]
model = cls()
model.params_ = pd.Series(params)
x, t_x, T = (data[k] for k in ("x", "t_x", "T"))
out, times = {}, {}
start = time.perf_counter()
out["p_alive"] = np.asarray(model.conditional_probability_alive(x, t_x, T), float)
times["p_alive"] = time.perf_counter() - start
start = time.perf_counter()
out["expected"] = np.asarray(model.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, T), float)
times["expected"] = time.perf_counter() - start
start = time.perf_counter()
for n in range(4):
    if sys.argv[1] == "pnbd":
        value = model.conditional_probability_of_n_purchases_up_to_time(n, 39.0, x, t_x, T)
    else:  # lifetimes has no conditional PMF for BG/NBD
        value = np.full(x.size, np.nan)
    out[f"p{n}"] = np.asarray(value, float)
times["pmf"] = time.perf_counter() - start
np.savez(sys.argv[4], **out)
print(json.dumps(times))
"""


def segmint_scores(name: str, params: dict, x, t_x, T) -> tuple[dict, dict]:
    from segmint.core.models.btyd import BetaGeoFitter, ParetoNBDFitter

    model = {"bgnbd": BetaGeoFitter, "pnbd": ParetoNBDFitter}[name].from_params(params)
    out, times = {}, {}
    start = time.perf_counter()
    out["p_alive"] = model.probability_alive(x, t_x, T)
    times["p_alive"] = time.perf_counter() - start
    start = time.perf_counter()
    out["expected"] = model.conditional_expected_purchases(HORIZON, x, t_x, T)
    times["expected"] = time.perf_counter() - start
    start = time.perf_counter()
    for n in COUNTS:
        out[f"p{n}"] = model.conditional_probability_of_purchases(n, HORIZON, x, t_x, T)
    times["pmf"] = time.perf_counter() - start
    return out, times


def compare(name: str, x, t_x, T, python: Path, tmp: Path) -> None:
    from segmint.core.models.btyd import BetaGeoFitter, ParetoNBDFitter

    params = {"bgnbd": BetaGeoFitter, "pnbd": ParetoNBDFitter}[name]().fit(x, t_x, T).params_
    data, result = tmp / f"{name}.npz", tmp / f"{name}-lifetimes.npz"
    np.savez(data, x=x, t_x=t_x, T=T)
    run = subprocess.run(
        [str(python), "-c", LIFETIMES_RUNNER, name, str(data), json.dumps(params), str(result)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    their_times = json.loads(run.stdout.strip().splitlines()[-1])
    theirs = dict(np.load(result))
    ours, our_times = segmint_scores(name, params, x, t_x, T)
    print(
        f"\n{name}: {x.size:,} customers, parameters {', '.join(f'{k}={v:.4f}' for k, v in params.items())}"
    )
    print(f"  {'score':28} {'segmint s':>10} {'lifetimes s':>12} {'max |difference|':>17}")
    for key, label in (
        ("p_alive", "P(alive)"),
        ("expected", "E[purchases in 39 weeks]"),
        ("pmf", "P(n in 39 weeks), n=0..3"),
    ):
        if key == "pmf":
            diffs = [
                np.nanmax(np.abs(ours[f"p{n}"] - theirs[f"p{n}"]))
                if np.isfinite(theirs[f"p{n}"]).any()
                else np.nan
                for n in COUNTS
            ]
            diff = np.nanmax(diffs) if np.isfinite(diffs).any() else float("nan")
        else:
            diff = float(np.nanmax(np.abs(ours[key] - theirs[key])))
            bad = int((~np.isfinite(theirs[key])).sum())
            if bad:
                label += f" (lifetimes: {bad} not finite)"
        shown = "no lifetimes equivalent" if not np.isfinite(diff) else f"{diff:.2e}"
        print(f"  {label:28} {our_times[key]:10.3f} {their_times[key]:12.3f} {shown:>17}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=2005)
    args = parser.parse_args()
    python = ensure_lifetimes_venv()
    rng = np.random.default_rng(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        compare("pnbd", *simulate_pnbd(args.customers, rng, PNBD_TRUE), python, Path(tmp))
        compare("bgnbd", *simulate_bgnbd(args.customers, rng, BG_TRUE), python, Path(tmp))


if __name__ == "__main__":
    main()
