"""How much of LLVM's work each kernel gets (``rnn_tui.core.fast._jit``): the lighter share by
default, all of it for the kernels of a sampled token, and Numba's defaults for every kernel with
``RNN_TUI_FULL_LLVM=1`` (a cache folder of its own, as the machine code differs)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

# the same loop compiled as a light and as a full kernel; their x86 assembly is compared
SNIPPET = """
import json, numpy as np
import rnn_tui.core.fast.sampler  # noqa: F401  (its kernels register)
from rnn_tui.core.fast import _jit
from rnn_tui.core.fast._jit import kernel

def axpy(a, x, y):
    for i in range(x.shape[0]):
        y[i] += a * x[i]

light = kernel(axpy)
def axpy_full(a, x, y):
    for i in range(x.shape[0]):
        y[i] += a * x[i]
full = kernel(full_llvm=True)(axpy_full)
x = np.ones(100, np.float32)
y = np.zeros(100, np.float32)
light(np.float32(2), x, y)
full(np.float32(3), x, y)
def body(d):
    asm = d.inspect_asm(d.signatures[0])
    return sum(1 for line in asm.splitlines() if "vfmadd" in line or "mulps" in line)
print(json.dumps({"lighter": _jit.lighter_llvm, "y": float(y[0]),
                  "light": body(light), "full": body(full),
                  "cache": _jit.cache_dir, "sampler_full": sorted(_jit.FULL_LLVM)}))
"""


def run(tmp_path, **env):
    import json

    out = subprocess.run([sys.executable, "-c", SNIPPET], capture_output=True, text=True,
                         timeout=300, env=dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), **env))
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 assembly")
def test_light_kernels_get_less_of_llvms_work_than_full_ones(tmp_path):
    got = run(tmp_path)
    assert got["lighter"] is True
    assert got["y"] == 5.0  # both ran, and right
    # the vectorised loop is not interleaved in the light kernel: fewer multiplies in its body
    assert 0 < got["light"] < got["full"], got
    # the per-token products of the sampler and the sampler itself get all of it
    assert {"_vecmat", "_vecmat_reversed", "generate"} <= set(got["sampler_full"])


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 assembly")
def test_full_llvm_for_every_kernel_on_request_with_a_cache_of_its_own(tmp_path):
    light = run(tmp_path)
    full = run(tmp_path, RNN_TUI_FULL_LLVM="1")
    assert full["lighter"] is False
    assert full["light"] == full["full"] > 0  # the same loop, the same machine code
    assert full["cache"] != light["cache"]  # no machine code of the other kind is loaded
