"""Start-up costs: `rnn-tui --help` wall time, a cold compile of every kernel, the time to the
first training step of the default model with a cold and with a warm cache, and peak RSS of a
default training run.

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
import time
t0 = time.perf_counter()
import numpy as np
from rnn_tui.core import NetSpec, Network, make_optimizer, clip_global_norm
from rnn_tui.core.fused import FusedLM
from rnn_tui.core.sampler import generate_tokens
for dtype in (np.float32, np.float64):
    for cell in ("rnn", "rnn_relu", "lstm", "gru"):
        net = Network(NetSpec(cell=cell, input_mode="embedding", input_size=7, embed_dim=3,
                              hidden=4, output_size=7), dtype=dtype)
        x = np.zeros((3, 4), int)
        net.loss_and_grad(x, x, net.initial_state(4))
        if dtype == np.float32:  # the fused step is float32 only; two workers = two halves
            FusedLM(net, 3, 4, workers=2).loss_and_grad(x, x, net.initial_state(4))
        st = net.initial_state(1)
        generate_tokens(net, 0, 3, np.ascontiguousarray(st.h[:, 0]),
                        None if st.c is None else np.ascontiguousarray(st.c[:, 0]),
                        1.0, 2, np.random.rand(3))
        r = Network(NetSpec(cell=cell, input_mode="real", input_size=2, hidden=4,
                            output_size=1), dtype=dtype)
        r.loss_and_grad(np.zeros((3, 2, 2)), np.zeros((2, 1)), r.initial_state(2),
                        loss="mse", last_only=True)
        for name in ("sgd", "adam", "adamw", "adagrad", "rmsprop"):
            make_optimizer(name, net.params.data.size, dtype).step(net.params.data,
                                                                   net.params.grad)
        clip_global_norm(net.params.grad, 1.0)
elapsed = time.perf_counter() - t0
# every kernel must have been compiled above, or the figure would flatter the truth
import importlib, pkgutil, sys
import rnn_tui.core as core
from numba.core.registry import CPUDispatcher
missed = []
for m in pkgutil.iter_modules(core.__path__):
    mod = importlib.import_module("rnn_tui.core." + m.name)
    for name, obj in vars(mod).items():
        if (isinstance(obj, CPUDispatcher) and obj.__module__ == mod.__name__
                and obj.targetoptions.get("inline") != "always"
                and not obj.targetoptions.get("no_cpython_wrapper") and not obj.signatures):
            missed.append(f"{m.name}.{name}")
if missed:
    print("not compiled by this script:", ", ".join(missed), file=sys.stderr)
print(elapsed)
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
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    exe = shutil.which("rnn-tui") or "rnn-tui"
    rows = {}
    timed([exe, "--help"])
    rows["help_s"] = statistics.median(timed([exe, "--help"]) for _ in range(args.repeats))
    cold = tempfile.mkdtemp(prefix="rnn-tui-cold-")
    env_cold = dict(os.environ, XDG_CACHE_HOME=cold, NUMBA_CACHE_DIR="")
    rows["first_step_cold_s"] = run_py(FIRST_STEP, env_cold)  # the default model, from nothing
    shutil.rmtree(cold, ignore_errors=True)
    rows["cold_compile_s"] = run_py(COMPILE_ALL, env_cold)
    rows["warm_load_all_s"] = run_py(COMPILE_ALL, env_cold)
    run_py(FIRST_STEP, env_cold)
    rows["first_step_warm_s"] = statistics.median(
        run_py(FIRST_STEP, env_cold) for _ in range(args.repeats))
    shutil.rmtree(cold, ignore_errors=True)
    runs = tempfile.mkdtemp(prefix="rnn-tui-rss-")
    out = subprocess.run(["/usr/bin/time", "-v", exe, "train", "--time-budget", "30",
                          "--runs-dir", runs, "--quiet"], capture_output=True, text=True)
    for line in out.stderr.splitlines():
        if "Maximum resident set size" in line:
            rows["peak_rss_mb_default_train_30s"] = int(line.split()[-1]) / 1024
    shutil.rmtree(runs, ignore_errors=True)
    for k, v in rows.items():
        print(f"{k:<32} {v:8.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
