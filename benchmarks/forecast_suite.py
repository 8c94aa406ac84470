"""Train the series forecaster on every CSV in a directory, a few seeds each, and print one table:
MAE and MASE of the model, the seasonal naive forecast and Holt-Winters (the median over the
seeds for the model; the baselines do not depend on the seed). Writes the table as JSON too.

Holdout and period per file: the three series in tests/fixtures/series have the published settings
(airline passengers 24/12, shampoo 12/12, daily female births 28/7). Any other CSV gets its
period from rnn_tui.data.series.detect_period on the whole file (that choice only sets up the
test; the model itself never sees the held-out part) and holds out two periods (at most a
quarter of the series); without a period, a tenth of the series (at least 6 points).

    python benchmarks/forecast_suite.py DIR [--seeds 0,1,2] [--json FILE] [--steps N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

KNOWN = {"airline-passengers": (24, 12), "shampoo": (12, 12),
         "daily-total-female-births": (28, 7)}


def settings_for(path: Path) -> tuple[int, int, str]:
    """(holdout, period, where they come from)."""
    if path.stem in KNOWN:
        h, p = KNOWN[path.stem]
        return h, p, "published"
    from rnn_tui.data.series import detect_period, load_series

    v = load_series(str(path)).values
    p = detect_period(v)
    if p > 1:
        return int(min(2 * p, len(v) // 4)), p, "rule: 2 detected periods"
    return int(max(6, len(v) // 10)), 1, "rule: no period, a tenth"


def run_one(path: Path, holdout: int, period: int, seed: int, steps: int | None):
    from rnn_tui.config import SERIES_DEFAULTS, RunConfig
    from rnn_tui.session import build_task
    from rnn_tui.train.trainer import Trainer

    cfg = RunConfig()
    cfg.update(SERIES_DEFAULTS)
    cfg.update({"data": {"task": "series", "corpus": str(path), "holdout": holdout,
                         "period": period}, "train": {"seed": seed}})
    if steps:
        cfg.train.steps = steps
    cfg.validate()
    t0 = time.perf_counter()
    task = build_task(cfg)
    Trainer(task, cfg, None, []).run()
    errs, _, _ = task.errors()
    return errs, task.forecaster.combine if task.legacy is None else "legacy", \
        time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--steps", type=int, default=0, help="override the default step count")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    from rnn_tui.runtime import configure_threads

    configure_threads(1)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    files = sorted(p for p in args.dir.glob("*.csv") if p.is_file())
    if not files:
        print(f"no CSV files in {args.dir}", file=sys.stderr)
        return 2
    rows = []
    for path in files:
        holdout, period, why = settings_for(path)
        runs = [run_one(path, holdout, period, s, args.steps) for s in seeds]

        def med(name, key, runs=runs):
            return statistics.median(r[0][name][key] for r in runs)

        errs = runs[0][0]
        hw = next((k for k in ("holt_winters_add", "holt_winters_mul") if k in errs), "holt")
        hw_best = min((k for k in ("holt_winters_add", "holt_winters_mul", "holt") if k in errs),
                      key=lambda k: errs[k]["mae"])
        row = {"series": path.stem, "holdout": holdout, "period": period, "settings": why,
               "seeds": seeds, "model_mae": med("model", "mae"),
               "model_mase": med("model", "mase"),
               "model_mae_runs": [r[0]["model"]["mae"] for r in runs],
               "model_es_mae": med("model_es", "mae"),
               "model_es_rnn_mae": med("model_es_rnn", "mae"),
               "combination": [r[1] for r in runs],
               "seasonal_naive_mae": errs["seasonal_naive"]["mae"],
               "seasonal_naive_mase": errs["seasonal_naive"]["mase"],
               "hw": hw, "hw_mae": errs[hw]["mae"], "hw_mase": errs[hw]["mase"],
               "hw_mul_mae": errs.get("holt_winters_mul", {}).get("mae"),
               "hw_mul_mase": errs.get("holt_winters_mul", {}).get("mase"),
               "hw_best": hw_best, "hw_best_mae": errs[hw_best]["mae"],
               "seconds_median": statistics.median(r[2] for r in runs)}
        rows.append(row)
        print(f"{path.stem}: model MAE {row['model_mae']:.4g} (runs "
              + ", ".join(f"{v:.4g}" for v in row["model_mae_runs"])
              + f"; chose {', '.join(row['combination'])}), seasonal naive "
              f"{row['seasonal_naive_mae']:.4g}, {hw.replace('_', ' ')} {row['hw_mae']:.4g}, "
              f"{row['seconds_median']:.0f} s a run", file=sys.stderr, flush=True)
    print_table(rows, seeds)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


def print_table(rows, seeds) -> None:
    head = (f"{'series':<26} {'hold':>4} {'per':>3} | {'model MAE':>9} {'MASE':>6} | "
            f"{'s.naive MAE':>11} {'MASE':>6} | {'HW add/Holt':>11} {'MASE':>6} | "
            f"{'HW mul':>9} {'MASE':>6} | {'ES alone':>8} {'ES+RNN':>8} | {'s/run':>5}")
    print(f"median over seeds {','.join(map(str, seeds))}; lower is better")
    print(head)
    print("-" * len(head))
    for r in rows:
        mark = "" if r["hw"] != "holt" else "*"
        mul = (f"{r['hw_mul_mae']:>9.4g} {r['hw_mul_mase']:>6.3f}" if r["hw_mul_mae"] is not None
               else f"{'-':>9} {'-':>6}")
        print(f"{r['series'][:26]:<26} {r['holdout']:>4} {r['period']:>3} | "
              f"{r['model_mae']:>9.4g} {r['model_mase']:>6.3f} | "
              f"{r['seasonal_naive_mae']:>11.4g} {r['seasonal_naive_mase']:>6.3f} | "
              f"{r['hw_mae']:>10.4g}{mark or ' '} {r['hw_mase']:>6.3f} | {mul} | "
              f"{r['model_es_mae']:>8.4g} {r['model_es_rnn_mae']:>8.4g} | "
              f"{r['seconds_median']:>5.0f}")
    if any(r["hw"] == "holt" for r in rows):
        print("* Holt's linear trend: too short for two seasons plus two, or no period")
    wins = sum(r["model_mae"] < r["seasonal_naive_mae"] for r in rows)
    hw_wins = sum(r["model_mae"] < r["hw_mae"] for r in rows)
    print(f"model beats seasonal naive on {wins}/{len(rows)}, Holt-Winters (or Holt) on "
          f"{hw_wins}/{len(rows)}")


if __name__ == "__main__":
    sys.exit(main())
