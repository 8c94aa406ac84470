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
import rnn_tui.core._jit as j
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


def test_read_only_package_falls_back_to_user_cache(tmp_path):
    # Without the in-tree locator (as when site-packages is read-only), the user-wide cache
    # directory receives the compiled kernels.
    xdg = tmp_path / "xdg"
    out = run({"NUMBA_CACHE_LOCATOR_CLASSES": "UserProvidedCacheLocator,UserWideCacheLocator",
               "XDG_CACHE_HOME": str(xdg)})
    assert out.returncode == 0, out.stderr
    assert "cache True" in out.stdout
    cached = list(Path(xdg).rglob("*.nbi"))
    assert any("gru" in p.name for p in cached), cached
