#!/usr/bin/env bash
# Train the default character model on CORPUS for SECONDS of wall time (headless), then print
# a sample. Last line: best_val_loss=<nats per char>
#   benchmarks/charlm.sh [CORPUS] [SECONDS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
corpus="${1:-shakespeare}"  # the built-in Tiny Shakespeare (fetched once)
seconds="${2:-300}"
runs="${RUNS_DIR:-$(mktemp -d)}"
rnn-tui train --corpus "$corpus" --time-budget "$seconds" --runs-dir "$runs" --name charlm \
  --quiet >&2
rnn-tui sample "$runs/charlm" --prime "ROMEO:" -n 300 --temperature 0.8 --seed 0 >&2
python - "$runs/charlm/metrics.jsonl" <<'PY'
import json, sys
best = min(json.loads(l)["val_loss"] for l in open(sys.argv[1]) if '"type":"eval"' in l)
print(f"best_val_loss={best:.4f}")
PY
