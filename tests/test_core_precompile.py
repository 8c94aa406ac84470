"""Compiling ahead: `rnn-tui compile` fills the cache with every kernel from processes working side
by side; kernels called by address are bound again when their caller loads from the cache; the
cache's saves are locked against other processes; a new install's run compiles its sampler
beside its training step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest

# every kernel, then how many this process compiled (cache misses) rather than loaded
ALL_KERNELS = r"""
import json
import numba
from rnn_tui.core.fast.precompile import JOBS, run_job
from rnn_tui.core.fast import _jit
for name in JOBS:
    run_job(name)
seen, compiled = set(), 0
import importlib, pkgutil, rnn_tui.core as core
from numba.core.registry import CPUDispatcher
for m in pkgutil.walk_packages(core.__path__, "rnn_tui.core."):
    for obj in vars(importlib.import_module(m.name)).values():
        obj = getattr(obj, "dispatcher", obj)
        if isinstance(obj, CPUDispatcher) and id(obj) not in seen:
            seen.add(id(obj))
            compiled += sum(obj.stats.cache_misses.values())
print(json.dumps({"compiled": compiled, "cache": _jit.cache_dir}))
"""

# the fused step's loss and a checksum of its gradient, and whether it came from the cache
FUSED = r"""
import json, numpy as np
from rnn_tui.core import NetSpec, Network
from rnn_tui.core.fast.fused import FusedLM, lm_forward_backward
net = Network(NetSpec(cell="lstm", input_mode="embedding", input_size=11, embed_dim=5,
                      hidden=24, layers=2, output_size=11), seed=3)
rng = np.random.default_rng(0)
x, y = rng.integers(0, 11, (7, 3)), rng.integers(0, 11, (7, 3))
net.params.grad[:] = 0
loss = FusedLM(net, 7, 3, workers=1).loss_and_grad(x, y, net.initial_state(3)).loss
print(json.dumps({"loss": float(loss), "grad": float(np.abs(net.params.grad).sum()),
                  "hits": sum(lm_forward_backward.stats.cache_hits.values())}))
"""


def _run(code: str, cache: str, **env) -> dict:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, env=dict(os.environ, NUMBA_CACHE_DIR=cache, **env))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_compile_command_leaves_every_kernel_in_the_cache(tmp_path):
    """Two workers compile side by side into one fresh cache (they share callees such as the
    float32 product); afterwards a process that needs every kernel compiles none."""
    cache = str(tmp_path / "cache")
    out = subprocess.run([sys.executable, "-m", "rnn_tui.cli", "compile", "--jobs", "2"],
                         capture_output=True, text=True, timeout=600,
                         env=dict(os.environ, NUMBA_CACHE_DIR=cache))
    assert out.returncode == 0, out.stderr
    from rnn_tui.core.fast.precompile import JOBS

    for job in JOBS:
        assert job in out.stdout
    assert "2 at a time" in out.stdout and "done in" in out.stdout
    after = _run(ALL_KERNELS, cache)
    assert after["compiled"] == 0
    assert after["cache"].startswith(cache)


def test_compile_command_refuses_no_workers():
    out = subprocess.run([sys.executable, "-m", "rnn_tui.cli", "compile", "--jobs", "0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.strip() == "rnn-tui: error: --jobs must be at least 1, not 0"


def test_compile_command_without_a_writable_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")  # a cache folder below a regular file cannot be made
    env = dict(os.environ, NUMBA_CACHE_LOCATOR_CLASSES="UserProvidedCacheLocator",
               NUMBA_CACHE_DIR=str(blocker / "cache"))
    out = subprocess.run([sys.executable, "-m", "rnn_tui.cli", "compile"], capture_output=True,
                         text=True, timeout=120, env=env)
    assert out.returncode == 2
    assert out.stderr.strip() == ("rnn-tui: error: no writable compile cache, so there is "
                                  "nothing to compile ahead: set NUMBA_CACHE_DIR to a writable "
                                  "folder")


def test_plan_balances_the_jobs():
    from rnn_tui.core.fast.precompile import JOBS, plan

    assert plan(1) == [sorted(JOBS, key=lambda n: -JOBS[n][1])]
    two = plan(2)
    assert sorted(sum(two, [])) == sorted(JOBS) and all(two)
    assert len(plan(10)) == len(JOBS)  # never more workers than jobs


def test_cached_caller_binds_a_recompiled_callee(tmp_path):
    """The fused step calls the sequence kernels by address. Loaded from the cache, it must
    find them whether they load from the cache too or, their entries gone, are compiled
    again in this process (under another of Numba's per-process names): same numbers."""
    cache = tmp_path / "cache"
    first = _run(FUSED, str(cache))
    assert first["hits"] == 0
    gone = [p for p in cache.rglob("layers.sequence_*") if p.is_file()]
    assert gone, "the sequence kernels were not cached"
    for p in gone:
        p.unlink()
    again = _run(FUSED, str(cache))
    assert again["hits"] == 1  # the fused step itself loaded from the cache ...
    assert again["loss"] == first["loss"] and again["grad"] == first["grad"]  # ... and bound
    warm = _run(FUSED, str(cache))
    assert warm == again


def test_cache_saves_wait_for_each_other(tmp_path):
    """A save holds the cache folder's lock: while another holder has it, the save waits."""
    import fcntl

    from rnn_tui.core.fast._jit import _LockedIndexDataCacheFile

    f = _LockedIndexDataCacheFile(str(tmp_path), "k", source_stamp=(1, 2))
    index = tmp_path / "k.nbi"
    with open(tmp_path / "saving.lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        saver = threading.Thread(target=f.save, args=(("sig", "target"), b"machine code"))
        saver.start()
        time.sleep(0.5)
        assert saver.is_alive() and not index.exists()
        fcntl.flock(held, fcntl.LOCK_UN)
    saver.join(10)
    assert not saver.is_alive() and index.exists()
    assert f.load(("sig", "target")) == b"machine code"


AHEAD = r"""
import json, numpy as np
import rnn_tui.core.fast.ahead as ahead
ahead.usable_cores = lambda: 2  # as on any machine with two cores
started = ahead.compile_ahead(ahead.SAMPLING)
from rnn_tui.core import NetSpec, Network
from rnn_tui.core.fast.sampler import generate, generate_tokens
net = Network(NetSpec(cell="gru", input_mode="embedding", input_size=9, embed_dim=4,
                      hidden=8, output_size=9))
st = net.initial_state(1)
toks = generate_tokens(net, 0, 5, np.ascontiguousarray(st.h[:, 0]), None, 1.0, 0,
                       np.linspace(0.1, 0.9, 5))
print(json.dumps({"started": started, "tokens": toks.tolist(),
                  "hits": sum(generate.stats.cache_hits.values()),
                  "misses": sum(generate.stats.cache_misses.values())}))
"""


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="Linux process affinity")
def test_a_new_install_compiles_the_sampler_beside_training(tmp_path):
    """On a cold cache the sampler is compiled by a background process; the first generation
    waits for it and loads the kernel instead of compiling it a second time. On a warm cache
    nothing is started."""
    cache = str(tmp_path / "cache")
    cold = _run(AHEAD, cache)
    assert cold["started"] is True
    assert cold["hits"] == 1 and cold["misses"] == 0
    warm = _run(AHEAD, cache)
    assert warm["started"] is False
    assert warm["tokens"] == cold["tokens"]
