"""The BLAS behind the kernels: MKL where it is installed, NumPy's OpenBLAS otherwise, and the
products (``mm``; ``rec_mm``, packed with MKL, in the micro-kernel's panels otherwise) are held
to :func:`rnn_tui.core.reference.matmul`."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from numba import njit

from rnn_tui.core import reference
from rnn_tui.core.fast.blas import (
    PLAIN,
    TRANSPOSED,
    blas_handle,
    blas_name,
    mm,
    rec_mm,
    rec_prepare,
)


@njit
def _rec_products(blas, A, W, trans, C0, beta, times):
    """``times`` products with one prepared W, as over the steps of a sequence (the two are
    internal kernels: only kernels call them)."""
    prep = rec_prepare(blas, W, trans, A.shape[0], times)
    out = np.empty((times,) + C0.shape, dtype=C0.dtype)
    for i in range(times):
        out[i] = C0
        rec_mm(blas, A, W, prep, trans, out[i], beta)
    return out


def _mkl_installed() -> bool:
    try:
        importlib.metadata.distribution("mkl")
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(sys.platform != "linux", reason="NumPy's bundled OpenBLAS is looked for on "
                    "Linux; elsewhere the fallback may be SciPy's")
def test_mkl_is_used_exactly_when_it_is_installed():
    """The ``[mkl]`` extra (``pip install "rnn-tui[mkl]"``) switches the kernels to MKL; the
    default install uses NumPy's own OpenBLAS (``RNN_TUI_BLAS=openblas`` forces it)."""
    forced = os.environ.get("RNN_TUI_BLAS", "").lower() in ("openblas", "numpy")
    if _mkl_installed() and not forced:
        assert blas_name() == "mkl"
        assert all(blas_handle()[1:])  # gemm, pack-size, pack and compute entry points all found
    else:
        assert blas_name() == "openblas"
        assert blas_handle()[1] and blas_handle()[2] and not any(blas_handle()[3:])


@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("trans", [False, True])
@pytest.mark.parametrize("m,R", [(1, 96), (16, 96), (33, 96), (2, 100), (7, 100), (33, 100)])
def test_recurrent_product_matches_numpy(dtype, tol, trans, m, R):
    """R = 100: ragged panels (4H = 400 and H = 100 columns are no multiple of the panel
    width, 24 float32 or 12 float64); m = 2, 7, 33: ragged blocks of rows (4 a tile)."""
    rng = np.random.default_rng(m)
    S = 4 * R
    W = rng.normal(0, 0.1, (R, S)).astype(dtype)
    A = rng.normal(0, 1, (m, R if not trans else S)).astype(dtype)
    C0 = rng.normal(0, 1, (m, R if trans else S)).astype(dtype)
    for beta in (0.0, 1.0):
        want = reference.matmul(A, W, C0, trans_b=trans, beta=beta)
        got = _rec_products(blas_handle(), A, W, TRANSPOSED if trans else PLAIN, C0, beta, 3)
        for C in got:  # the prepared weights are reused, as over the T steps of a sequence
            np.testing.assert_allclose(C, want, atol=tol * 10, rtol=tol)


@njit
def _prepared_size(blas, W, trans, m, uses):
    return rec_prepare(blas, W, trans, m, uses).size


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_recurrent_product_is_packed_into_panels(dtype):
    """Without MKL, op(W) is packed once into the micro-kernel's panels (the last one padded
    with zeros), also at batch 1; for a single use it is not packed."""
    from rnn_tui.core.fast.ukernel import NR32, NR64

    if blas_name() == "mkl":
        pytest.skip("MKL packs into its own layout")
    nr = NR64 if dtype == np.float64 else NR32
    W = np.ones((100, 400), dtype=dtype)
    for trans, n, k in ((PLAIN, 400, 100), (TRANSPOSED, 100, 400)):
        panels = -(-n // nr)
        for m in (1, 16):
            assert _prepared_size(blas_handle(), W, trans, m, 2) == panels * k * nr
        assert _prepared_size(blas_handle(), W, trans, 16, 1) == 0


def test_internal_kernels_refuse_a_call_from_python():
    """Internal kernels have no Python wrapper; calling one must raise, not crash. So must the
    stand-ins through which kernels call other kernels by address."""
    from rnn_tui.core.fast.blas import NO_TRANS, call_mm
    from rnn_tui.core.fast.sampler import _vecmat

    W = np.ones((4, 4))
    with pytest.raises(TypeError, match="rec_prepare is an internal kernel"):
        rec_prepare(blas_handle(), W, PLAIN, 1, 2)  # called by address from kernels
    with pytest.raises(TypeError, match="_vecmat is an internal kernel"):
        _vecmat(W[0], W, 4, W[1])  # linked into its caller
    with pytest.raises(TypeError, match="call rnn_tui.core.fast.blas.mm"):
        call_mm(blas_handle(), W, W, W, NO_TRANS, NO_TRANS, 0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("mnk", [(1, 7, 3), (5, 1, 0), (0, 3, 2), (4, 6, 1), (40, 300, 200)])
def test_matrix_product_any_shape_and_transpose(dtype, ta, tb, mnk):
    """``mm`` is always a BLAS call (also for batch-1 and empty shapes): C = op(A) op(B) + bC."""
    from rnn_tui.core.fast.blas import NO_TRANS, TRANS

    m, n, k = mnk
    rng = np.random.default_rng(m * 100 + n + k)
    A = rng.normal(size=(k, m) if ta else (m, k)).astype(dtype)
    B = rng.normal(size=(n, k) if tb else (k, n)).astype(dtype)
    C = rng.normal(size=(m, n)).astype(dtype)
    want = reference.matmul(A, B, C, ta, tb, 0.5)
    mm(blas_handle(), A, B, C, TRANS if ta else NO_TRANS, TRANS if tb else NO_TRANS, 0.5)
    np.testing.assert_allclose(C, want, rtol=1e-4 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-12)


_CHILD = """
import json, numpy as np
from rnn_tui.core import NetSpec, Network
from rnn_tui.core.fast.blas import blas_name
from rnn_tui.core.fast.fused import FusedLM
spec = NetSpec(cell="lstm", input_size=13, embed_dim=5, hidden=72, output_size=13)
rng = np.random.default_rng(1)
x, y = rng.integers(0, 13, (7, 32)), rng.integers(0, 13, (7, 32))
out = {"blas": blas_name()}
net = Network(spec, dtype=np.float64, seed=3)  # the network path, exact
res = net.loss_and_grad(x, y, net.initial_state(32))
out["loss64"], out["grad64"] = res.loss, net.params.grad.tolist()
net = Network(spec, dtype=np.float32, seed=3)  # the fused step (float32), two halves
res = FusedLM(net, 7, 32, workers=2).loss_and_grad(x, y, net.initial_state(32))
out["loss32"], out["grad32"] = res.loss, net.params.grad.tolist()
print(json.dumps(out))
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
    assert fallback["loss64"] == pytest.approx(default["loss64"], rel=1e-12)
    np.testing.assert_allclose(fallback["grad64"], default["grad64"], atol=1e-12)
    assert fallback["loss32"] == pytest.approx(default["loss32"], rel=1e-6)
    np.testing.assert_allclose(fallback["grad32"], default["grad32"], rtol=1e-4, atol=1e-6)
    # and float32 (fused) agrees with float64 (network path) to float32 precision
    np.testing.assert_allclose(default["grad32"], default["grad64"], rtol=1e-3, atol=1e-5)


# Each width is fixed when the kernels compile, so each runs in a process of its own (forced
# through RNN_TUI_VECTOR_WIDTH, on NumPy's OpenBLAS so that the panels, not MKL, do the work).
# The child writes its inputs and products; the parent holds them to reference.matmul.
_WIDTH_CHILD = """
import sys, numpy as np
from numba import njit
from rnn_tui.core.fast import ukernel
from rnn_tui.core.fast.blas import PLAIN, TRANSPOSED, blas_handle, blas_name, rec_mm, rec_prepare

@njit
def products(blas, A, W, trans, C0, beta, times):
    prep = rec_prepare(blas, W, trans, A.shape[0], times)
    out = np.empty((times,) + C0.shape, dtype=C0.dtype)
    for i in range(times):
        out[i] = C0
        rec_mm(blas, A, W, prep, trans, out[i], beta)
    return out, prep.size

cases = {}
for dtype in (np.float32, np.float64):
    for R in (100, 200):
        rng = np.random.default_rng(R)
        W = rng.normal(0, 0.1, (R, 4 * R)).astype(dtype)
        for trans in (PLAIN, TRANSPOSED):
            for m in (1, 2, 7, 16, 33):
                A = rng.normal(0, 1, (m, 4 * R if trans == TRANSPOSED else R)).astype(dtype)
                C0 = rng.normal(0, 1, (m, R if trans == TRANSPOSED else 4 * R)).astype(dtype)
                for beta in (0.0, 1.0):
                    got, size = products(blas_handle(), A, W, trans, C0, beta, 2)
                    key = f"{np.dtype(dtype).name}_{R}_{int(trans == TRANSPOSED)}_{m}_{int(beta)}"
                    cases.update({key + "_W": W, key + "_A": A, key + "_C0": C0,
                                  key + "_got": got, key + "_size": np.array(size)})
np.savez(sys.argv[1], lanes=ukernel.TILE.lanes, nr32=ukernel.NR32, nr64=ukernel.NR64,
         blas=blas_name(), **cases)
"""


@pytest.mark.parametrize("lanes", [4, 8, 16])
def test_every_vector_width_matches_numpy(lanes, tmp_path):
    """The micro-kernel at every vector width (float32 lanes: 4 SSE/NEON, 8 AVX2, 16 AVX-512,
    forced whatever the host has) against :func:`rnn_tui.core.reference.matmul`, float32 and
    float64, plain and transposed, beta 0 and 1, ragged panels (4R and R columns are no multiple
    of any width's panel) and ragged row blocks, the packed weights used twice."""
    env = dict(os.environ, RNN_TUI_VECTOR_WIDTH=str(lanes), RNN_TUI_BLAS="openblas")
    out = tmp_path / "products.npz"
    subprocess.run([sys.executable, "-c", _WIDTH_CHILD, str(out)], env=env, capture_output=True,
                   text=True, timeout=600, check=True)
    got = np.load(out)
    assert int(got["lanes"]) == lanes and str(got["blas"]) == "openblas"
    assert int(got["nr32"]) == 2 * int(got["nr64"]) and int(got["nr32"]) % lanes == 0
    keys = sorted(k[:-4] for k in got.files if k.endswith("_got"))
    assert len(keys) == 2 * 2 * 2 * 5 * 2
    for key in keys:
        dtype, R, trans, m, beta = key.split("_")
        tol = 2e-5 if dtype == "float32" else 1e-12
        nr = int(got["nr64"] if dtype == "float64" else got["nr32"])
        n, k = (int(R), 4 * int(R)) if trans == "1" else (4 * int(R), int(R))
        assert int(got[key + "_size"]) == -(-n // nr) * k * nr  # packed into this width's panels
        want = reference.matmul(got[key + "_A"], got[key + "_W"], got[key + "_C0"],
                                trans_b=trans == "1", beta=float(beta))
        for C in got[key + "_got"]:
            np.testing.assert_allclose(C, want, atol=tol * 10, rtol=tol, err_msg=key)


@pytest.mark.parametrize("features,lanes", [
    ({"avx512f": True, "avx2": True, "fma": True}, 16),
    ({"avx512f": False, "avx2": True, "fma": True}, 8),
    ({"avx2": True, "fma": False}, 4),  # AVX2 without FMA: no fused multiply-add vectors
    ({"sse4.2": True, "sse2": True}, 4),
    ({"neon": True}, 4),
    ({}, 4),
])
def test_the_host_width_follows_llvms_cpu_features(features, lanes):
    """16 float32 lanes with AVX-512, 8 with AVX2 + FMA, 4 otherwise; unforced, the host's."""
    from rnn_tui.core.fast.simd import TILES, default_width, host_width

    assert host_width(features) == lanes
    assert default_width(lanes) == lanes
    assert TILES[lanes].columns(32) == 2 * TILES[lanes].columns(64)


@pytest.mark.parametrize("value", ["32", "eight", "8.0", "-8", "\x1b[31m"])
def test_a_bad_forced_width_is_refused_in_one_line(value, tmp_path):
    """A width other than 4, 8 or 16 in RNN_TUI_VECTOR_WIDTH makes a run exit 2 with one line
    naming the choices, before any kernel compiles."""
    corpus = tmp_path / "text.txt"
    corpus.write_text("the cat sat on the mat. " * 200)
    env = dict(os.environ, RNN_TUI_VECTOR_WIDTH=value)
    res = subprocess.run([sys.executable, "-m", "rnn_tui.cli", "train", "--corpus", str(corpus),
                          "--time-budget", "1", "--runs-dir", str(tmp_path / "runs")], env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "RNN_TUI_VECTOR_WIDTH must be one of 4, 8, 16" in lines[0]
    assert "\x1b" not in res.stderr
