"""Compile every kernel into the compile cache ahead of use, on several cores at once.

Numba compiles one kernel at a time in a process (it holds one compiler lock), so a cold compile
of every kernel is some twenty seconds of one core. The kernels fall into independent jobs that
share few callees (float32 training, float64 training, sampling), so separate processes can
compile them side by side into the one cache (see :mod:`rnn_tui.core.fast._jit`, whose saves are
locked against each other). ``rnn-tui compile`` runs this; a run afterwards loads every kernel
from the cache in about a second.

    python -m rnn_tui.core.fast.precompile JOB [JOB ...]   (one worker: compiles JOBs in turn)

It sits above every kernel it compiles; :mod:`rnn_tui.core.fast.ahead`, below them, starts a
job in the background and waits for it.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import numpy as np

from rnn_tui.core import NetSpec, Network, clip_global_norm, make_optimizer
from rnn_tui.core import attention_kernels as attk
from rnn_tui.core.fast.ahead import SAMPLING, WORKER, usable_cores
from rnn_tui.core.fast.fused import FusedLM
from rnn_tui.core.fast.sampler import generate_tokens
from rnn_tui.core.optim import OPTIMIZERS

CELLS = ("rnn", "rnn_relu", "lstm", "gru")


def _training(dtype) -> None:
    """Every training kernel of one float type: each cell's sequence kernels through the
    network (token input with softmax cross-entropy, real input with MSE on the last step),
    the fused step (float32 only; two workers = two halves), every optimizer, clipping."""
    for cell in CELLS:
        net = Network(NetSpec(cell=cell, input_mode="embedding", input_size=7, embed_dim=3,
                              hidden=4, output_size=7), dtype=dtype)
        x = np.zeros((3, 4), int)
        net.loss_and_grad(x, x, net.initial_state(4))
        if dtype == np.float32:
            FusedLM(net, 3, 4, workers=2).loss_and_grad(x, x, net.initial_state(4))
        r = Network(NetSpec(cell=cell, input_mode="real", input_size=2, hidden=4,
                            output_size=1), dtype=dtype)
        r.loss_and_grad(np.zeros((3, 2, 2)), np.zeros((2, 1)), r.initial_state(2),
                        loss="mse", last_only=True)
    for name in OPTIMIZERS:
        make_optimizer(name, net.params.data.size, dtype).step(net.params.data, net.params.grad)
    clip_global_norm(net.params.grad, 1.0)
    _attention(dtype)


def _attention(dtype) -> None:
    """The encoder-decoder's attention kernels, dot and additive, forward and backward."""
    S, B, H = 2, 3, 4
    keys, q = np.ones((S, B, H), dtype), np.ones((B, H), dtype)
    mask = np.ones((S, B), bool)
    alpha, ctx, u = np.empty((S, B), dtype), np.empty((B, H), dtype), np.empty_like(keys)
    attk.dot_step_forward(q, keys, mask, alpha, ctx)
    attk.dot_step_backward(alpha, q, keys, ctx, np.zeros_like(keys), np.empty_like(q))
    v = np.ones(H, dtype)
    attk.additive_step_forward(keys, q, v, keys, mask, u, alpha, ctx)
    attk.additive_step_backward(u, alpha, keys, v, ctx, np.zeros_like(keys), np.zeros_like(u),
                                np.zeros_like(v), np.empty_like(q))


def _sampling() -> None:
    """The generation kernel for every cell (it runs in float32 whatever the model's type)."""
    for cell in CELLS:
        net = Network(NetSpec(cell=cell, input_mode="embedding", input_size=7, embed_dim=3,
                              hidden=4, output_size=7), dtype=np.float32)
        st = net.initial_state(1)
        generate_tokens(net, 0, 3, np.ascontiguousarray(st.h[:, 0]),
                        None if st.c is None else np.ascontiguousarray(st.c[:, 0]),
                        1.0, 2, np.random.rand(3))


# name -> (what it compiles, its share of a cold compile: for balancing the workers)
JOBS: dict[str, tuple[Callable[[], None], float]] = {
    "train-float32": (lambda: _training(np.float32), 10.0),
    "train-float64": (lambda: _training(np.float64), 7.0),
    SAMPLING: (_sampling, 4.0),
}


def run_job(name: str) -> float:
    """Compile (or load from the cache) job ``name``'s kernels here; returns its seconds."""
    t0 = time.perf_counter()
    JOBS[name][0]()
    return time.perf_counter() - t0


def plan(workers: int) -> list[list[str]]:
    """The jobs split into at most ``workers`` groups of about equal cost (longest first, each
    to the least loaded group)."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(workers, len(JOBS))))]
    load = [0.0] * len(groups)
    for name in sorted(JOBS, key=lambda n: -JOBS[n][1]):
        i = load.index(min(load))
        groups[i].append(name)
        load[i] += JOBS[name][1]
    return groups


def compile_all(workers: int, report: Callable[[str, float], None] | None = None) -> float:
    """Compile every kernel into the cache with ``workers`` processes side by side; calls
    ``report(job, seconds)`` as each job finishes. Returns the wall seconds.

    Raises ``RuntimeError`` with the worker's last line of error output if one fails."""
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", WORKER, *group],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for group in plan(workers)]
    events: queue.Queue = queue.Queue()

    def follow(proc: subprocess.Popen) -> None:
        for line in proc.stdout:  # one JSON line per job, as it finishes
            events.put(json.loads(line))
        events.put({"exit": proc.wait(), "stderr": proc.stderr.read()})

    for proc in procs:
        threading.Thread(target=follow, args=(proc,), daemon=True).start()
    try:
        running = len(procs)
        while running:
            event = events.get()
            if "job" in event:
                if report is not None:
                    report(event["job"], event["seconds"])
                continue
            running -= 1
            if event["exit"] != 0:
                err = event["stderr"].strip()
                last = err.splitlines()[-1] if err else f"exit status {event['exit']}"
                raise RuntimeError(f"compiling kernels failed: {last}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return time.perf_counter() - t0


def default_workers() -> int:
    """One worker per core this process may use, at most one per job."""
    return max(1, min(usable_cores(), len(JOBS)))


def main(argv: list[str]) -> int:
    unknown = [n for n in argv if n not in JOBS]
    if unknown or not argv:
        print(f"usage: python -m rnn_tui.core.fast.precompile JOB ...  (JOBs: {', '.join(JOBS)})",
              file=sys.stderr)
        return 2
    for name in argv:
        print(json.dumps({"job": name, "seconds": run_job(name)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
