"""The compile cache works when the package directory cannot be written (falls back to the user's
cache directory), and a machine with no writable cache still runs, compiling in memory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SNIPPET = """
import warnings, numpy as np
warnings.simplefilter("always")
from rnn_tui.core import Network, NetSpec
import rnn_tui.core.fast._jit as j
net = Network(NetSpec(cell="gru", input_mode="onehot", input_size=5, hidden=4, output_size=5))
r = net.loss_and_grad(np.zeros((3, 2), int), np.ones((3, 2), int), net.initial_state(2))
print("cache", j.cache_enabled, "loss", round(r.loss, 3))
"""


def run(env_extra):
    env = dict(os.environ, **env_extra)
    return subprocess.run([sys.executable, "-c", SNIPPET], capture_output=True, text=True,
                          env=env, timeout=300)


def test_no_writable_cache_still_runs(tmp_path):
    # Only the user-provided locator is allowed, and it points below a regular file: nothing is
    # writable, so Numba would refuse cache=True; the kernels must compile without a cache.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = run({"NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator",
               "NUMBA_CACHE_DIR": str(blocker / "cache")})
    assert out.returncode == 0, out.stderr
    assert "cache False" in out.stdout
    assert "no writable compile cache" in out.stderr


def test_kernels_cache_in_user_dir_keyed_by_source_hash(tmp_path):
    # Compiled code goes to the user's cache directory (so a read-only installed package still
    # caches), in a folder named by a hash of the core's sources (so edits never load stale code).
    xdg = tmp_path / "xdg"
    env = {"XDG_CACHE_HOME": str(xdg), "NUMBA_CACHE_DIR": ""}
    out = run(env)
    assert out.returncode == 0, out.stderr
    assert "cache True" in out.stdout
    cached = list(Path(xdg).rglob("*.nbi"))
    assert any("sequence_forward" in p.name for p in cached), cached
    assert all(p.relative_to(xdg).parts[:2][0] == "rnn-tui" for p in cached)
    assert {p.relative_to(xdg / "rnn-tui").parts[0] for p in cached} == {
        next((xdg / "rnn-tui").iterdir()).name}
    again = run(env)  # a second start loads from that cache and gives the same numbers
    assert again.returncode == 0 and again.stdout == out.stdout
