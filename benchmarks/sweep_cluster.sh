#!/usr/bin/env bash
# The sweep on a Ray cluster, on one machine: start a head with `ray start --head` (token
# authentication on, with a token of its own), run the rnn/lstm/gru sweep against it with
# `--address 127.0.0.1:PORT`, check that every trial ran on the cluster (its run_started event
# names the engine "ray" and the head's node), and stop the head again (only the processes this
# script started).
#
#   benchmarks/sweep_cluster.sh [SECONDS_PER_TRIAL] [RUNS_DIR]
#
# Needs the [sweep] extra: pip install "rnn-tui[sweep]". The last line is `best=… val_loss=…`.
set -euo pipefail
cd "$(dirname "$0")/.."
budget="${1:-20}"
runs="${2:-$(mktemp -d /tmp/rnn-tui-cluster-XXXX)}"
py="${PYTHON:-python}"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
free_port() { "$py" -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])'; }
port="$(free_port)"
temp="$(mktemp -d /tmp/rtXXXX)"          # Ray's socket paths must stay short
token="$temp/token"
"$py" -c 'import uuid; print(uuid.uuid4().hex * 2)' > "$token"
log="$temp/head.log"

# the head, in its own session so that stopping it stops exactly what it started
RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH="$token" setsid "$py" -m ray.scripts.scripts start \
    --head --port "$port" --ray-client-server-port "$(free_port)" --num-cpus "$(nproc)" \
    --include-dashboard=false --disable-usage-stats --temp-dir "$temp" --block >"$log" 2>&1 &
head_pid=$!
stop_head() { kill -TERM -- "-$head_pid" 2>/dev/null || true; wait "$head_pid" 2>/dev/null || true; }
trap stop_head EXIT
for _ in $(seq 120); do grep -q "Ray runtime started" "$log" && break; sleep 1; done
grep -q "Ray runtime started" "$log" || { cat "$log"; echo "the Ray head did not start" >&2; exit 1; }
echo "ray head on 127.0.0.1:$port (token authentication on)"

# the sweep, from a driver that holds the head's token (RAY_AUTH_TOKEN_PATH; rnn-tui sets
# RAY_AUTH_MODE=token itself when it finds one)
name="cluster-$(date +%H%M%S)"
RAY_AUTH_TOKEN_PATH="$token" "$py" -m rnn_tui.cli sweep --address "127.0.0.1:$port" \
    --task char --corpus arithmetic --cell rnn,lstm,gru --hidden 64 --time-budget "$budget" \
    --runs-dir "$runs" --name "$name" | tee "$temp/out.txt"

"$py" - "$runs/$name" <<'EOF'
import json, sys
from pathlib import Path
sweep = Path(sys.argv[1])
record = json.loads((sweep / "sweep.json").read_text())
print(f"\n{'trial':8} {'status':12} {'engine':7} {'node':12} trial_id")
for t in record["trials"]:
    f = Path(t["run_dir"]) / "metrics.jsonl"
    started = next(json.loads(l) for l in f.read_text().splitlines() if '"run_started"' in l)
    p = started["provenance"]
    assert p["engine"] == "ray", p
    print(f"{t['name']:8} {t['status']:12} {p['engine']:7} {p['node']:12} {p['trial_id']}")
print(f"address {record['address']}, {record['nodes']} node(s), {record['cpus']} CPUs")
(sweep / "cluster.json").write_text(json.dumps(record, indent=1))
EOF
tail -n 1 "$temp/out.txt"
