"""The Numba kernels (float32, the fast path) match the plain-NumPy reference within 1e-5 on
forward outputs, final states and every gradient; in float64 they match to ~1e-12. The reference
itself is held to PyTorch's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.core import NetSpec, Network, State
from rnn_tui.core.reference import softmax_cross_entropy, stack_backward, stack_forward

CELLS = ["rnn", "rnn_relu", "rnn_sigmoid", "lstm", "gru"]


def weights_of(net):
    return [{k: net.params[f"l{layer}.{k}"].astype(np.float64)
             for k in ("W_ih", "W_hh", "b_ih", "b_hh")} for layer in range(net.spec.layers)]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12)])
@pytest.mark.parametrize("size", ["small", "blas"])
def test_kernels_match_numpy_reference(cell, layers, dtype, tol, size):
    """``small`` runs the recurrent products as plain loops; ``blas`` is large enough for the
    BLAS path (MKL's packed products where MKL is installed)."""
    rng = np.random.default_rng(7)
    T, B, I, H, V = (9, 4, 6, 8, 7) if size == "small" else (9, 16, 6, 72, 7)
    net = Network(NetSpec(cell=cell, input_mode="real", input_size=I, hidden=H, layers=layers,
                          output_size=V), dtype=dtype, seed=5)
    x = rng.normal(0, 1, (T, B, I))
    y = rng.integers(0, V, (T, B))
    y[0, 1] = -1
    h0 = rng.normal(0, 0.5, (layers, B, H))
    c0 = rng.normal(0, 0.5, (layers, B, H)) if cell == "lstm" else None
    state = State(h0.astype(dtype), None if c0 is None else c0.astype(dtype))
    res = net.loss_and_grad(x.astype(dtype), y, state, need_dx=True)

    # reference: stack, head, loss, and back
    w = weights_of(net)
    top, hN, cN, cache = stack_forward(cell, x, h0, c0, w)
    Wo, bo = net.params["head.W"].astype(np.float64), net.params["head.b"].astype(np.float64)
    logits = top.reshape(T * B, H) @ Wo + bo
    loss, dlogits = softmax_cross_entropy(logits, y.reshape(-1))
    dtop = (dlogits @ Wo.T).reshape(T, B, H)
    zeros = np.zeros_like(hN)
    dx, dh0, dc0, grads = stack_backward(cell, dtop, zeros,
                                         None if cN is None else np.zeros_like(cN), cache, w)

    def close(a, b):
        np.testing.assert_allclose(np.asarray(a, np.float64), b, atol=tol, rtol=tol)

    close(res.loss, loss)
    close(res.out, logits)
    close(res.state.h, hN)
    if cell == "lstm":
        close(res.state.c, cN)
    close(res.dx, dx)
    close(res.dh0, dh0)
    if cell == "lstm":
        close(res.dc0, dc0)
    close(net.params.g["head.W"], top.reshape(T * B, H).T @ dlogits)
    close(net.params.g["head.b"], dlogits.sum(0))
    for layer in range(layers):
        for k in ("W_ih", "W_hh", "b_ih", "b_hh"):
            close(net.params.g[f"l{layer}.{k}"], grads[layer][k])


@pytest.mark.parametrize("name", ["rnn_tanh_L2", "rnn_relu_L1", "lstm_L2", "gru_L2"])
def test_reference_matches_pytorch(torch_cases, name):
    """The oracle is itself right: it reproduces PyTorch's float64 numbers."""
    c = torch_cases
    cell = {"rnn_tanh": "rnn", "rnn_relu": "rnn_relu", "lstm": "lstm", "gru": "gru"}[
        name.rsplit("_", 1)[0]]
    L = int(name[-1])
    w = [{"W_ih": c[f"{name}/weight_ih_l{k}"].T, "W_hh": c[f"{name}/weight_hh_l{k}"].T,
          "b_ih": c[f"{name}/bias_ih_l{k}"], "b_hh": c[f"{name}/bias_hh_l{k}"]} for k in range(L)]
    c0 = c[f"{name}/c0"] if cell == "lstm" else None
    y, hN, cN, cache = stack_forward(cell, c[f"{name}/x"], c[f"{name}/h0"], c0, w)
    np.testing.assert_allclose(y, c[f"{name}/y"], atol=1e-10)
    dcN = c[f"{name}/dcn"] if cell == "lstm" else None
    dx, dh0, dc0, grads = stack_backward(cell, c[f"{name}/dy"], c[f"{name}/dhn"], dcN, cache, w)
    np.testing.assert_allclose(dx, c[f"{name}/grad_x"], atol=1e-10)
    np.testing.assert_allclose(dh0, c[f"{name}/grad_h0"], atol=1e-10)
    for k in range(L):
        np.testing.assert_allclose(grads[k]["W_hh"], c[f"{name}/grad_weight_hh_l{k}"].T,
                                   atol=1e-10)
        np.testing.assert_allclose(grads[k]["b_hh"], c[f"{name}/grad_bias_hh_l{k}"], atol=1e-10)
