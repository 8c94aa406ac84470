"""The app over a terminal: bytes per second written to it while training, and training speed
inside the app against the same run headless.

Runs the real ``rnn-tui`` in a pseudo-terminal (120x40, TERM=xterm-256color, no COLORTERM, as
over SSH) and counts what it writes, after the first full paint, over a window of training;
then the same run with ``--low-bandwidth``; then ``rnn-tui train`` with the same settings.
Tokens/s are the medians of the runs' own step events in ``metrics.jsonl``.

    python benchmarks/terminal.py [--seconds 40] [--keys G] [--size 80x24] [--app-only]
                                  [--json FILE]

``--keys G`` presses G once training shows (the gates view open while it measures); any keys
of the dashboard work (``p`` the next-token view, ``e`` the embeddings, ``d`` the gradients
over training, ``u`` the model view, maximised).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from pty_app import PtyApp  # noqa: E402
from rnn_tui.config import APP_DEFAULTS  # noqa: E402

# the app's defaults, spelled out so the headless run is the same run
SAME = [f"--{k.replace('_', '-')}={v}" for sec in APP_DEFAULTS.values() for k, v in sec.items()
        if k != "time_budget"]
RUN = [*SAME, "--time-budget", "0", "--steps", "1000000"]
TRAINING = re.compile(r"step [0-9][0-9,]* ·")  # the status line while it trains (80 columns
# leave out tok/s)


def median_tok_s(run_dir: Path, after_s: float) -> float:
    vals = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        d = json.loads(line)
        if d.get("type") == "step" and d["elapsed_s"] >= after_s:
            vals.append(d["tokens_per_s"])
    return statistics.median(vals) if vals else 0.0


def in_app(tmp: Path, name: str, seconds: float, extra: list[str], keys: str = "",
           theme: str = "rnn-dark", size: tuple[int, int] = (120, 40)) -> dict:
    env = {"RNN_TUI_CONFIG_DIR": str(tmp / "cfg")}
    app = PtyApp([*RUN, "--runs-dir", str(tmp), "--name", name, "--theme", theme, *extra],
                 *size, env=env)
    try:
        if not app.wait_for(lambda t: "tok/s" in t or TRAINING.search(t), 180):
            raise SystemExit(f"the app did not start training:\n{app.text()}")
        for key in keys:
            app.send(key)
            time.sleep(0.5)
        time.sleep(5)  # past the first full paint and warm-up
        # from here on the harness only counts bytes: emulating them in Python (pyte) took
        # about a tenth of a core from the two the app trains on
        app.emulate = False
        b0, t0 = app.bytes_read, time.monotonic()
        cpu0 = time.process_time()
        time.sleep(seconds)
        b1, t1 = app.bytes_read, time.monotonic()
        harness = (time.process_time() - cpu0) / (t1 - t0)
        app.emulate = True
        stale = app.text()  # still drawing after the window: the status line (tok/s) or a
        # maximised view (the model view, u) redrawn since
        if not app.wait_for(lambda t: t != stale and ("tok/s" in t or "W_hh" in t or
                                                      TRAINING.search(t)), 30):
            raise SystemExit(f"the app stopped drawing while measured:\n{app.text()}")
        screen = app.text()
        app.send("q")
        app.wait(120)
    finally:
        app.kill()
    return {"bytes_per_s": (b1 - b0) / (t1 - t0), "tok_s": median_tok_s(tmp / name, 5.0),
            "harness_cpu": harness, "screen": screen}


def headless(tmp: Path, name: str, seconds: float, threads: str | None) -> float:
    env = dict(os.environ)
    if threads:
        env["RNN_TUI_BLAS_THREADS"] = threads
    subprocess.run([sys.executable, "-m", "rnn_tui.cli", "train", "--runs-dir", str(tmp),
                    "--name", name, "--quiet", *SAME, "--time-budget", str(seconds + 8),
                    "--steps", "0"], env=env, check=True, stdout=subprocess.DEVNULL)
    return median_tok_s(tmp / name, 5.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=40.0, help="measuring window (40)")
    ap.add_argument("--keys", default="", help="dashboard keys pressed before measuring (G: "
                    "the gates view)")
    ap.add_argument("--theme", default="rnn-dark", help="the app's theme (rnn-dark; ansi-16: "
                    "the 16-colour one)")
    ap.add_argument("--size", default="120x40", metavar="COLSxROWS",
                    help="the terminal's size (120x40)")
    ap.add_argument("--app-only", action="store_true", help="only the default app run: no "
                    "--low-bandwidth run, no headless runs; print the last screen")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--run-args", default="", metavar="ARGS",
                    help="more options for the run, e.g. \"--task seq2seq --pairs 5000\" "
                    "(with --app-only)")
    args = ap.parse_args()
    import shlex

    more = shlex.split(args.run_args)
    size = tuple(int(v) for v in args.size.lower().split("x"))
    if args.app_only:
        with tempfile.TemporaryDirectory() as d:
            r = in_app(Path(d), "app", args.seconds, more, args.keys, args.theme, size)
        print(r["screen"])
        print(f"rnn-tui in a {args.size} pseudo-terminal, theme {args.theme}, "
              + ("the run of --run-args" if args.run_args else "default model")
              + (f", keys {args.keys!r} pressed" if args.keys else "")
              + (f", {args.run_args}" if args.run_args else "")
              + f": terminal output {r['bytes_per_s'] / 1000:.1f} KB/s (<= 50 KB/s), "
              f"{r['tok_s']:,.0f} tokens/s")
        if args.json:
            Path(args.json).write_text(json.dumps({k: v for k, v in r.items()} | {
                "size": args.size, "keys": args.keys, "seconds": args.seconds}, indent=2))
        return
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        default = in_app(tmp, "app", args.seconds, [], args.keys, args.theme, size)
        low = in_app(tmp, "app-low", args.seconds, ["--low-bandwidth"], args.keys,
                     args.theme, size)
        # the same run headless, with the default threads (as the app) and with one thread
        auto = headless(tmp, "headless-auto", args.seconds, None)
        same = headless(tmp, "headless-1", args.seconds, "1")
    rows = [
        ("terminal output, default", f"{default['bytes_per_s'] / 1000:.1f} KB/s", "<= 50 KB/s"),
        ("terminal output, --low-bandwidth", f"{low['bytes_per_s'] / 1000:.1f} KB/s",
         "<= 16 KB/s"),
        ("tokens/s in the app", f"{default['tok_s']:,.0f}", ""),
        ("tokens/s in the app, --low-bandwidth", f"{low['tok_s']:,.0f}", ""),
        ("tokens/s headless (same run)", f"{auto:,.0f}", ""),
        ("app / headless", f"{default['tok_s'] / auto:.1%}", ">= 90 %"),
        ("tokens/s headless, 1 BLAS thread", f"{same:,.0f}", "(for reference)"),
        ("this harness's CPU while measuring", f"{default['harness_cpu']:.1%}", "of a core"),
    ]
    w = max(len(r[0]) for r in rows)
    print(f"rnn-tui in a {args.size} pseudo-terminal, 256 colours, theme {args.theme}, "
          "default model (GRU-256, pydoc)"
          + (f", keys {args.keys!r} pressed" if args.keys else ""))
    for name, val, target in rows:
        print(f"  {name:<{w}}  {val:>12}  {target}")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "bytes_per_s_default": default["bytes_per_s"], "bytes_per_s_low": low["bytes_per_s"],
            "app_tok_s": default["tok_s"], "app_low_tok_s": low["tok_s"],
            "headless_tok_s_1thread": same, "headless_tok_s_default": auto,
            "harness_cpu": default["harness_cpu"], "theme": args.theme,
            "seconds": args.seconds, "keys": args.keys}, indent=2))


if __name__ == "__main__":
    main()
