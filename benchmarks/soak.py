"""Soak: train headless for a long time and watch memory and the metrics file.

Starts `rnn-tui train` (default settings, built-in corpus unless given) for DURATION seconds,
samples its RSS from /proc every few seconds, and reports RSS shortly after start and at the end,
its growth, and the size of metrics.jsonl.

    python benchmarks/soak.py [--seconds 1800] [--corpus pydoc] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1800)
    ap.add_argument("--corpus", default="pydoc")
    ap.add_argument("--warmup", type=float, default=60, help="seconds before the start sample")
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)
    runs = Path(tempfile.mkdtemp(prefix="rnn-tui-soak-"))
    exe = shutil.which("rnn-tui") or "rnn-tui"
    p = subprocess.Popen([exe, "train", "--corpus", args.corpus, "--time-budget",
                          str(args.seconds), "--runs-dir", str(runs), "--name", "soak",
                          "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    samples: list[tuple[float, float]] = []
    t0 = time.time()
    while p.poll() is None:
        r = rss_mb(p.pid)
        if r is not None:
            samples.append((time.time() - t0, r))
        time.sleep(5)
    err = p.stderr.read().decode() if p.stderr else ""
    if p.returncode != 0:
        print(f"training failed ({p.returncode}): {err}", file=sys.stderr)
        return 1
    start = [r for t, r in samples if args.warmup <= t < args.warmup + 60]
    end = [r for t, r in samples if t >= samples[-1][0] - 60]
    metrics = runs / "soak" / "metrics.jsonl"
    lines = metrics.read_text().splitlines()
    out = {
        "seconds": args.seconds,
        "rss_start_mb": statistics.median(start) if start else None,
        "rss_end_mb": statistics.median(end) if end else None,
        "rss_peak_mb": max(r for _, r in samples),
        "metrics_bytes": metrics.stat().st_size,
        "metrics_lines": len(lines),
        "hidden_snapshots_in_file": sum('"type":"hidden"' in x for x in lines),
    }
    if out["rss_start_mb"] and out["rss_end_mb"]:
        out["rss_growth_pct"] = 100 * (out["rss_end_mb"] / out["rss_start_mb"] - 1)
    for k, v in out.items():
        print(f"{k:<26} {v:.1f}" if isinstance(v, float) else f"{k:<26} {v}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    shutil.rmtree(runs, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
