"""The core's kernels reproduce PyTorch's own outputs and gradients (float64, ~1e-12) and, in
float32, agree to float32 precision: the equations and gate orders are PyTorch's."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.core import NetSpec, Network, State

CASES = ["rnn_tanh_L1", "rnn_tanh_L2", "rnn_relu_L1", "rnn_relu_L2", "lstm_L1", "lstm_L2",
         "gru_L1", "gru_L2"]


def load_case(cases, name, dtype):
    cell = {"rnn_tanh": "rnn", "rnn_relu": "rnn_relu", "lstm": "lstm", "gru": "gru"}[
        name.rsplit("_", 1)[0]]
    L = int(name[-1])
    x = cases[f"{name}/x"]
    T, B, I = x.shape
    H = cases[f"{name}/h0"].shape[2]
    net = Network(NetSpec(cell=cell, input_mode="real", input_size=I, hidden=H, layers=L,
                          output_size=1), dtype=dtype)
    for layer in range(L):
        for ours, theirs in (("W_ih", "weight_ih"), ("W_hh", "weight_hh")):
            net.params[f"l{layer}.{ours}"][...] = cases[f"{name}/{theirs}_l{layer}"].T
        for b in ("b_ih", "b_hh"):
            net.params[f"l{layer}.{b}"][...] = cases[f"{name}/{b.replace('b_', 'bias_')}_l{layer}"]
    c0 = cases[f"{name}/c0"].astype(dtype) if cell == "lstm" else None
    state = State(cases[f"{name}/h0"].astype(dtype), c0)
    return net, x.astype(dtype), state, cell


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 2e-5)])
def test_matches_pytorch(torch_cases, name, dtype, tol):
    c = torch_cases
    net, x, state, cell = load_case(c, name, dtype)
    fwd = net.forward(x, state)
    np.testing.assert_allclose(fwd.y, c[f"{name}/y"], atol=tol, rtol=tol)
    np.testing.assert_allclose(fwd.state.h, c[f"{name}/hn"], atol=tol, rtol=tol)
    dstate = State(c[f"{name}/dhn"].astype(dtype),
                   c[f"{name}/dcn"].astype(dtype) if cell == "lstm" else None)
    if cell == "lstm":
        np.testing.assert_allclose(fwd.state.c, c[f"{name}/cn"], atol=tol, rtol=tol)
    net.params.zero_grad()
    dx, dh0, dc0 = net.backward(fwd, c[f"{name}/dy"].astype(dtype), dstate, need_dx=True)
    np.testing.assert_allclose(dx, c[f"{name}/grad_x"], atol=tol, rtol=tol)
    np.testing.assert_allclose(dh0, c[f"{name}/grad_h0"], atol=tol, rtol=tol)
    if cell == "lstm":
        np.testing.assert_allclose(dc0, c[f"{name}/grad_c0"], atol=tol, rtol=tol)
    for layer in range(net.spec.layers):
        for ours, theirs in (("W_ih", "weight_ih"), ("W_hh", "weight_hh")):
            np.testing.assert_allclose(net.params.g[f"l{layer}.{ours}"],
                                       c[f"{name}/grad_{theirs}_l{layer}"].T, atol=tol, rtol=tol)
        for b in ("b_ih", "b_hh"):
            np.testing.assert_allclose(net.params.g[f"l{layer}.{b}"],
                                       c[f"{name}/grad_{b.replace('b_', 'bias_')}_l{layer}"],
                                       atol=tol, rtol=tol)
