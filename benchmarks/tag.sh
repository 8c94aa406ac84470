#!/usr/bin/env bash
# Train the default tagger for SECONDS on TRAIN (CoNLL-U, UPOS by default, or word<TAB>tag),
# choosing its best weights on a held-out tenth of TRAIN, then score TEST with them.
# Last line: accuracy=<A> baseline_accuracy=<B>, where B is the most-frequent-tag baseline
# (fitted on TRAIN) on the same TEST.
#   benchmarks/tag.sh TRAIN TEST [SECONDS] [extra train options…]
# (for instance en_ewt-ud-dev.conllu and en_ewt-ud-test.conllu of the English Web Treebank)
set -euo pipefail
train="${1:?give TRAIN and TEST: benchmarks/tag.sh TRAIN TEST [SECONDS]}"
test="${2:?give TEST too: benchmarks/tag.sh TRAIN TEST [SECONDS]}"
seconds="${3:-120}"
shift $(( $# < 3 ? $# : 3 ))
runs="$(mktemp -d)"
trap 'rm -rf "$runs"' EXIT
rnn-tui train --task tag --corpus "$train" --time-budget "$seconds" --runs-dir "$runs" \
  --name tag --quiet "$@" >&2
rnn-tui evaluate "$runs/tag" --data "$test" | tee /dev/stderr | tail -n 1 | python -c '
import sys
m = dict(kv.split("=") for kv in sys.stdin.read().split())
print("accuracy=%.4f baseline_accuracy=%.4f" % (float(m["accuracy"]), float(m["baseline_accuracy"])))'
