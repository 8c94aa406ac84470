#!/usr/bin/env bash
# Train the series forecaster on a CSV with the last HOLDOUT points held out, then print the
# forecast table and the baselines' errors. Last line: model_mae=<x> seasonal_naive_mae=<y>
#   benchmarks/forecast.sh [CSV] [HOLDOUT] [PERIOD]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
csv="${1:-$here/../tests/fixtures/series/airline-passengers.csv}"
holdout="${2:-24}"
period="${3:-12}"
runs="$(mktemp -d)"
trap 'rm -rf "$runs"' EXIT
rnn-tui train --task series --corpus "$csv" --holdout "$holdout" --period "$period" \
  --runs-dir "$runs" --name forecast --quiet >&2
rnn-tui forecast "$runs/forecast" --no-chart
