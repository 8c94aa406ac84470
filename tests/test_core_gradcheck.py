"""Finite-difference gradient checks (float64) of the whole network: every cell type, 1 and 2
layers, cross-entropy and MSE heads; every parameter, the real-valued inputs and the initial
state. Relative error per element: |a - n| / max(|a| + |n|, FLOOR)."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.core import NetSpec, Network, State

CELLS = ["rnn", "rnn_relu", "rnn_sigmoid", "lstm", "gru"]
EPS = 1e-4  # fourth-order central differences: truncation O(EPS^4), rounding ~1e-12
FLOOR = 1e-5  # below this, gradients are compared absolutely (FD noise is ~1e-12)


def rel_error(a, n):
    a, n = np.asarray(a, np.float64), np.asarray(n, np.float64)
    return float(np.max(np.abs(a - n) / np.maximum(np.abs(a) + np.abs(n), FLOOR)))


def numeric(f, arr):
    g = np.zeros_like(arr)
    flat, gflat = arr.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        vals = []
        for k in (2, 1, -1, -2):
            flat[i] = old + k * EPS
            vals.append(f())
        flat[i] = old
        gflat[i] = (-vals[0] + 8 * vals[1] - 8 * vals[2] + vals[3]) / (12 * EPS)
    return g


def make_problem(cell, layers, loss, input_mode="real", dropout=0.0, seed=0, last_only=False):
    rng = np.random.default_rng(seed)
    T, B, I, H, V = 5, 3, 4, 5, 6
    spec = NetSpec(cell=cell, input_mode=input_mode, input_size=V if input_mode != "real" else I,
                   embed_dim=3, hidden=H, layers=layers,
                   output_size=V if loss == "xent" else 2, dropout=dropout)
    net = Network(spec, dtype=np.float64, seed=seed)
    net.params.data[:] += rng.normal(0, 0.3, net.params.data.shape)  # break symmetries
    if input_mode == "real":
        x = rng.normal(0, 1, (T, B, I))
    else:
        x = rng.integers(0, V, (T, B))
    if loss == "xent":
        y = rng.integers(0, V, (B,) if last_only else (T, B))
        if not last_only:
            y[1, 0] = -1  # an ignored position
    else:
        y = rng.normal(0, 1, (B, 2) if last_only else (T, B, 2))
    st = net.initial_state(B)
    st.h[...] = rng.normal(0, 0.5, st.h.shape)
    if st.c is not None:
        st.c[...] = rng.normal(0, 0.5, st.c.shape)
    return net, x, y, st


def run(net, x, y, st, loss, dropout_seed, last_only):
    rng = np.random.default_rng(dropout_seed) if dropout_seed is not None else None
    return net.loss_and_grad(x, y, st, loss=loss, rng=rng, need_dx=True, last_only=last_only)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("loss", ["xent", "mse"])
def test_gradcheck_real_input(cell, layers, loss):
    net, x, y, st = make_problem(cell, layers, loss)
    res = run(net, x, y, st, loss, None, False)
    analytic = net.params.grad.copy()

    def f():
        return run(net, x, y, st, loss, None, False).loss

    errs = {}
    for name, view in net.params.w.items():
        start = net.params.layout.slots[name].offset
        errs[name] = rel_error(analytic[start : start + view.size].reshape(view.shape),
                               numeric(f, view))
    errs["x"] = rel_error(res.dx, numeric(f, x))
    errs["h0"] = rel_error(res.dh0, numeric(f, st.h))
    if st.c is not None:
        errs["c0"] = rel_error(res.dc0, numeric(f, st.c))
    worst = max(errs, key=errs.get)
    assert errs[worst] < 1e-6, f"{worst}: {errs[worst]:.2e} ({errs})"


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("input_mode", ["embedding", "onehot"])
def test_gradcheck_token_input_with_dropout(cell, input_mode):
    net, x, y, st = make_problem(cell, 2, "xent", input_mode=input_mode, dropout=0.3, seed=1)
    run(net, x, y, st, "xent", 123, False)
    analytic = net.params.grad.copy()

    def f():
        return run(net, x, y, st, "xent", 123, False).loss

    numeric_all = numeric(f, net.params.data)
    assert rel_error(analytic, numeric_all) < 1e-6
    # dropout was really applied: a different mask gives a different loss
    assert run(net, x, y, st, "xent", 124, False).loss != pytest.approx(f(), rel=1e-12)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("loss", ["xent", "mse"])
def test_gradcheck_many_to_one(cell, loss):
    net, x, y, st = make_problem(cell, 2, loss, last_only=True, seed=2)
    res = run(net, x, y, st, loss, None, True)
    analytic = net.params.grad.copy()

    def f():
        return run(net, x, y, st, loss, None, True).loss

    assert rel_error(analytic, numeric(f, net.params.data)) < 1e-6
    assert rel_error(res.dx, numeric(f, x)) < 1e-6


def test_final_state_gradient_is_used():
    """An upstream gradient on the final state (as the torch reference uses) flows back."""
    net, x, y, st = make_problem("lstm", 2, "mse", seed=3)
    dstate = State(np.ones_like(st.h), np.ones_like(st.c))
    a = net.loss_and_grad(x, y, st, loss="mse", dstate=dstate).dh0
    b = net.loss_and_grad(x, y, st, loss="mse").dh0
    assert not np.allclose(a, b)
