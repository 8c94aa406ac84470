#!/usr/bin/env bash
# Split DATA (text<TAB>label, UTF-8; CRLF and Latin-1 lines are read too) into a seeded,
# stratified 80 % / 20 %, train the default classifier for SECONDS on the 80 % (its best weights
# chosen on a held-out tenth of it), then score the other 20 %.
# Last line: accuracy=<A> majority_accuracy=<M> (and the Naive Bayes baseline on stderr).
#   benchmarks/classify.sh DATA [SECONDS] [extra train options…]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="${1:-sentiment}"
seconds="${2:-120}"
shift $(( $# < 2 ? $# : 2 ))
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python - "$data" "$work" <<'PY'
import sys
from rnn_tui.data.labelled import load_labelled, stratified_split
d = load_labelled(sys.argv[1])
train, test = stratified_split(d.labels, 0.2, seed=0)
for name, idx in (("train", train), ("test", test)):
    with open(f"{sys.argv[2]}/{name}.tsv", "w", encoding="utf-8") as f:
        f.writelines(f"{d.texts[i]}\t{d.labels[i]}\n" for i in idx)
PY
rnn-tui train --task classify --corpus "$work/train.tsv" --time-budget "$seconds" \
  --runs-dir "$work" --name classify --quiet "$@" >&2
rnn-tui evaluate "$work/classify" --data "$work/test.tsv" | tee /dev/stderr | tail -n 1 | \
  python -c '
import sys
m = dict(kv.split("=") for kv in sys.stdin.read().split())
print("naive_bayes_accuracy=%.4f" % float(m["naive_bayes_accuracy"]), file=sys.stderr)
print("accuracy=%.4f majority_accuracy=%.4f" % (float(m["accuracy"]), float(m["majority_accuracy"])))'
