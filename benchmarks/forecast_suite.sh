#!/usr/bin/env bash
# Train the series forecaster on every CSV in DIR (default: tests/fixtures/series),
# three seeds each, and print one table: MAE and MASE of the model, seasonal naive and
# Holt-Winters (model: median over the seeds). Holdout/period: airline 24/12, shampoo 12/12,
# daily births 28/7; any other CSV: two periods of its detected period (see forecast_suite.py).
#   benchmarks/forecast_suite.sh [DIR] [--seeds 0,1,2] [--json FILE]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$here/../tests/fixtures/series"
if [[ $# -gt 0 && "$1" != --* ]]; then
  dir="$1"
  shift
fi
exec python "$here/forecast_suite.py" "$dir" "$@"
