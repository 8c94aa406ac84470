"""The BLAS behind the kernels: MKL where it is installed, NumPy's OpenBLAS otherwise, and the
recurrent products (packed with MKL, pre-transposed with OpenBLAS) agree with NumPy."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest

from rnn_tui.core.blas import blas_handle, blas_name, rec_mm, rec_prepare


@pytest.mark.skipif(not (sys.platform == "linux" and platform.machine() == "x86_64"),
                    reason="the mkl dependency is only declared for x86-64 Linux")
def test_mkl_is_used_where_it_is_a_dependency():
    if os.environ.get("RNN_TUI_BLAS", "").lower() == "openblas":
        assert blas_name() == "openblas"
        return
    assert blas_name() == "mkl"
    assert all(blas_handle()[1:])  # gemm, pack-size, pack and compute entry points all found


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("trans", [False, True])
@pytest.mark.parametrize("m", [1, 16, 33])
def test_recurrent_product_matches_numpy(dtype, tol, trans, m):
    rng = np.random.default_rng(m)
    R, S = 96, 4 * 96
    W = rng.normal(0, 0.1, (R, S)).astype(dtype)
    A = rng.normal(0, 1, (m, R if not trans else S)).astype(dtype)
    want = A @ (W.T if trans else W)
    C0 = rng.normal(0, 1, want.shape).astype(dtype)
    prep = rec_prepare(blas_handle(), W, trans, m)
    for beta in (0.0, 1.0):
        for _ in range(3):  # the prepared weights are reused, as over the T steps of a sequence
            C = C0.copy()
            rec_mm(blas_handle(), A, W, prep, trans, C, beta)
            np.testing.assert_allclose(C, want + beta * C0, atol=tol * 10, rtol=tol)


_CHILD = """
import json, numpy as np
from rnn_tui.core import NetSpec, Network
from rnn_tui.core.blas import blas_name
from rnn_tui.core.fused import FusedLM
net = Network(NetSpec(cell="lstm", input_size=13, embed_dim=5, hidden=72, output_size=13),
              dtype=np.float64, seed=3)
rng = np.random.default_rng(1)
x, y = rng.integers(0, 13, (7, 32)), rng.integers(0, 13, (7, 32))
res = FusedLM(net, 7, 32, workers=2).loss_and_grad(x, y, net.initial_state(32))
print(json.dumps({"blas": blas_name(), "loss": res.loss, "grad": net.params.grad.tolist()}))
"""


def _child(env_blas):
    env = dict(os.environ)
    env.pop("RNN_TUI_BLAS", None)
    if env_blas:
        env["RNN_TUI_BLAS"] = env_blas
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True,
                         text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_openblas_fallback_gives_the_same_step():
    """``RNN_TUI_BLAS=openblas`` switches to NumPy's OpenBLAS; a training step gives the same
    loss and gradients as with the default BLAS."""
    fallback, default = _child("openblas"), _child(None)
    assert fallback["blas"] == "openblas"
    assert fallback["loss"] == pytest.approx(default["loss"], rel=1e-12)
    np.testing.assert_allclose(fallback["grad"], default["grad"], atol=1e-12)
