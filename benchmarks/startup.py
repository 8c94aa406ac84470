"""Start-up costs: `rnn-tui --help` wall time; a cold compile of every kernel, in one process
and as `rnn-tui compile` does it (a process per core), then loading all of them from that
cache; the time to the first training step of the default model with a cold and with a warm
cache; peak RSS of a default training run.

    python benchmarks/startup.py [--json FILE] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

FIRST_STEP = r"""
import time, sys
t0 = time.perf_counter()
from rnn_tui.config import RunConfig
from rnn_tui.tasks.language import LanguageTask
cfg = RunConfig()
cfg.update({"data": {"corpus": "pydoc"}})
task = LanguageTask.from_config(cfg.validate())
task.step()
print(time.perf_counter() - t0)
"""

COMPILE_ALL = r"""
import json, time
t0 = time.perf_counter()
from rnn_tui.core.fast.precompile import JOBS, run_job
for name in JOBS:  # every cell, both float types, the fused step, the sampler, every optimizer
    run_job(name)
elapsed = time.perf_counter() - t0
# every kernel must have been reached above, or the figure would flatter the truth
import importlib, pkgutil, sys
import rnn_tui.core as core
from numba.core.registry import CPUDispatcher
missed, compiled, seen = [], 0, set()
for m in pkgutil.walk_packages(core.__path__, "rnn_tui.core."):
    mod = importlib.import_module(m.name)
    for name, obj in vars(mod).items():
        obj = getattr(obj, "dispatcher", obj)  # a kernel called by address
        if (not isinstance(obj, CPUDispatcher) or obj.__module__ != mod.__name__
                or id(obj) in seen):
            continue
        seen.add(id(obj))
        compiled += sum(obj.stats.cache_misses.values())
        linked = obj.targetoptions.get("no_cpython_wrapper") and obj is getattr(mod, name)
        # (an internal kernel linked into its callers is in their cache entries, not its own)
        if obj.targetoptions.get("inline") != "always" and not linked and not obj.signatures:
            missed.append(f"{m.name.removeprefix('rnn_tui.core.')}.{name}")
if missed:
    print("not compiled by this script:", ", ".join(missed), file=sys.stderr)
print(json.dumps({"seconds": elapsed, "compiled": compiled}))
"""


def timed(cmd, env=None):
    t = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - t


def run_py(code, env):
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, env=env)
    if out.stderr.strip():
        print(out.stderr.strip(), file=sys.stderr)
    last = out.stdout.strip().splitlines()[-1]
    return json.loads(last) if last.startswith("{") else float(last)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    exe = shutil.which("rnn-tui") or "rnn-tui"
    rows = {}
    timed([exe, "--help"])
    rows["help_s"] = statistics.median(timed([exe, "--help"]) for _ in range(args.repeats))
    cold_dir = tempfile.mkdtemp(prefix="rnn-tui-cold-")
    env_cold = dict(os.environ, XDG_CACHE_HOME=cold_dir, NUMBA_CACHE_DIR="")
    rows["first_step_cold_s"] = run_py(FIRST_STEP, env_cold)  # the default model, from nothing
    shutil.rmtree(cold_dir, ignore_errors=True)
    # every kernel from nothing in one process (Numba compiles one kernel at a time) ...
    cold = run_py(COMPILE_ALL, env_cold)
    rows["cold_compile_s"] = cold["seconds"]
    rows["cold_compile_kernels"] = cold["compiled"]
    shutil.rmtree(cold_dir, ignore_errors=True)
    # ... and as `rnn-tui compile` does it, one process per core side by side; then a process
    # that needs every kernel loads them all from that cache and compiles none
    t = time.perf_counter()
    subprocess.run([exe, "compile"], check=True, capture_output=True, env=env_cold)
    rows["cold_compile_rnn_tui_compile_s"] = time.perf_counter() - t
    warm = run_py(COMPILE_ALL, env_cold)
    rows["warm_load_all_s"] = warm["seconds"]
    rows["warm_load_kernels_compiled"] = warm["compiled"]
    run_py(FIRST_STEP, env_cold)
    rows["first_step_warm_s"] = statistics.median(
        run_py(FIRST_STEP, env_cold) for _ in range(args.repeats))
    runs = tempfile.mkdtemp(prefix="rnn-tui-rss-")  # (kernels from the warm cache above)
    out = subprocess.run(["/usr/bin/time", "-v", exe, "train", "--time-budget", "30",
                          "--runs-dir", runs, "--quiet"], capture_output=True, text=True,
                         env=env_cold)
    shutil.rmtree(cold_dir, ignore_errors=True)
    for line in out.stderr.splitlines():
        if "Maximum resident set size" in line:
            rows["peak_rss_mb_default_train_30s"] = int(line.split()[-1]) / 1024
    shutil.rmtree(runs, ignore_errors=True)
    for k, v in rows.items():
        print(f"{k:<34} {v:8.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
