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


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bidirectional_padded_matches_torch(cell):
    """Bidirectional layers over right-padded sentences: outputs, the many-to-one summary and
    every weight gradient equal PyTorch's (packed sequences, float64). Runs where torch is
    installed (CI installs its CPU build)."""
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    T, B, I, H, L = 6, 3, 5, 4, 2
    lengths = np.array([6, 4, 2])
    mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](
        I, H, L, bidirectional=True).double()
    net = Network(NetSpec(cell=cell, input_mode="real", input_size=I, hidden=H, layers=L,
                          output_size=1, bidirectional=True), dtype=np.float64)
    for layer in range(L):
        for suffix, rev in (("", False), ("_reverse", True)):
            w = net.layer_weights(layer, rev)
            for ours, theirs in (("W_ih", "weight_ih"), ("W_hh", "weight_hh")):
                w[ours][...] = getattr(mod, f"{theirs}_l{layer}{suffix}").detach().numpy().T
            for ours, theirs in (("b_ih", "bias_ih"), ("b_hh", "bias_hh")):
                w[ours][...] = getattr(mod, f"{theirs}_l{layer}{suffix}").detach().numpy()
    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (T, B, I))
    dy = rng.normal(0, 1, (T, B, 2 * H))
    for b, n in enumerate(lengths):
        dy[n:, b] = 0
    xt = torch.tensor(x, requires_grad=True)
    packed = pack_padded_sequence(xt, torch.tensor(lengths), enforce_sorted=False)
    out, _ = mod(packed)
    yt, _ = pad_packed_sequence(out, total_length=T)
    (yt * torch.tensor(dy)).sum().backward()

    fwd = net.forward(x, net.initial_state(B), lengths=lengths)
    for b, n in enumerate(lengths):
        np.testing.assert_allclose(fwd.y[:n, b], yt.detach().numpy()[:n, b], atol=1e-12)
    net.params.zero_grad()
    dx, _, _ = net.backward(fwd, dy, need_dx=True)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-11)
    for layer in range(L):
        for suffix, rev in (("", False), ("_reverse", True)):
            g = net.layer_grads(layer, rev)
            for ours, theirs in (("W_ih", "weight_ih"), ("W_hh", "weight_hh")):
                np.testing.assert_allclose(
                    g[ours], getattr(mod, f"{theirs}_l{layer}{suffix}").grad.numpy().T,
                    atol=1e-11)
            for ours, theirs in (("b_ih", "bias_ih"), ("b_hh", "bias_hh")):
                np.testing.assert_allclose(
                    g[ours], getattr(mod, f"{theirs}_l{layer}{suffix}").grad.numpy(), atol=1e-11)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("B", [1, 5])
@pytest.mark.parametrize("dtype,tol", [(np.float64, 1e-10), (np.float32, 3e-4)])
def test_packed_recurrent_product_matches_torch(cell, B, dtype, tol):
    """At H = 72 every layer's recurrent product, forward and backward, runs through the packed
    micro-kernel (``core/fast/ukernel.py``; MKL's packed GEMM where MKL is installed), at batch 1 as
    at batch 5: outputs and every gradient equal PyTorch's, float64 tightly, float32 to float32
    precision."""
    torch = pytest.importorskip("torch")
    from rnn_tui.core.cells import GATES
    from rnn_tui.core.fast.blas import PANEL_MIN

    T, I, H, L = 9, 5, 72, 2
    assert GATES[cell] * H * H >= PANEL_MIN  # the packed path, not a plain BLAS call
    mod = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](
        I, H, L).double()
    net = Network(NetSpec(cell=cell, input_mode="real", input_size=I, hidden=H, layers=L,
                          output_size=1), dtype=dtype)
    for layer in range(L):
        for ours, theirs in (("W_ih", "weight_ih"), ("W_hh", "weight_hh"), ("b_ih", "bias_ih"),
                             ("b_hh", "bias_hh")):
            w = getattr(mod, f"{theirs}_l{layer}").detach().numpy()
            net.params[f"l{layer}.{ours}"][...] = w.T if ours.startswith("W") else w
    rng = np.random.default_rng(B)
    x = rng.normal(0, 1, (T, B, I))
    h0 = rng.normal(0, 0.5, (L, B, H))
    c0 = rng.normal(0, 0.5, (L, B, H))
    dy = rng.normal(0, 1, (T, B, H))
    xt, h0t, c0t = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
    yt, _ = mod(xt, (h0t, c0t) if cell == "lstm" else h0t)
    (yt * torch.tensor(dy)).sum().backward()

    state = State(h0.astype(dtype), c0.astype(dtype) if cell == "lstm" else None)
    fwd = net.forward(x.astype(dtype), state)
    np.testing.assert_allclose(fwd.y, yt.detach().numpy(), atol=tol, rtol=tol)
    net.params.zero_grad()
    dx, dh0, _ = net.backward(fwd, dy.astype(dtype), None, need_dx=True)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=tol, rtol=tol)
    np.testing.assert_allclose(dh0, h0t.grad.numpy(), atol=tol, rtol=tol)
    for layer in range(L):
        for ours, theirs in (("W_ih", "weight_ih"), ("W_hh", "weight_hh"), ("b_hh", "bias_hh")):
            g = getattr(mod, f"{theirs}_l{layer}").grad.numpy()
            np.testing.assert_allclose(net.params.g[f"l{layer}.{ours}"],
                                       g.T if ours.startswith("W") else g,
                                       atol=tol * 10, rtol=tol)
