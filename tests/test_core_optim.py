"""Optimizers reduce the loss on a fixed small problem and are held to
:func:`rnn_tui.core.reference.optimizer_updates`; clipping is held to
:func:`rnn_tui.core.reference.clip_global_norm`; gradient-norm bookkeeping is consistent."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.core import NetSpec, Network, clip_global_norm, global_norm, make_optimizer, reference
from rnn_tui.core.optim import OPTIMIZERS

LRS = {"sgd": 0.3, "adam": 1e-2, "adamw": 1e-2, "adagrad": 5e-2, "rmsprop": 3e-3}


def fixed_problem():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, (12, 8))
    y = np.roll(x, 1, axis=0)  # predict the previous token
    return x, y


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizer_reduces_loss(name, dtype):
    x, y = fixed_problem()
    net = Network(NetSpec(cell="gru", input_mode="onehot", input_size=5, hidden=16,
                          output_size=5), dtype=dtype, seed=1)
    opt = make_optimizer(name, net.params.data.size, dtype=dtype, lr=LRS[name])
    st = net.initial_state(8)
    first = net.loss_and_grad(x, y, st).loss
    for _ in range(60):
        net.loss_and_grad(x, y, st)
        opt.step(net.params.data, net.params.grad)
    last = net.evaluate(x, y, st)[0]
    assert np.isfinite(last)
    assert last < 0.7 * first, (name, first, last)


def test_optimizer_state_round_trip():
    x, y = fixed_problem()
    net = Network(NetSpec(cell="lstm", input_mode="onehot", input_size=5, hidden=8,
                          output_size=5), seed=2)
    opt = make_optimizer("adam", net.params.data.size, lr=1e-2)
    for _ in range(3):
        net.loss_and_grad(x, y, net.initial_state(8))
        opt.step(net.params.data, net.params.grad)
    meta, arrays = opt.state_dict()
    other = make_optimizer("adam", net.params.data.size, lr=1e-2)
    other.load_state_dict(meta, {k: v.copy() for k, v in arrays.items()})
    p1, p2 = net.params.data.copy(), net.params.data.copy()
    g = net.params.grad.copy()
    opt.step(p1, g)
    other.step(p2, g)
    np.testing.assert_array_equal(p1, p2)
    with pytest.raises(ValueError):
        make_optimizer("sgd", 3).load_state_dict(meta, arrays)


def test_unknown_optimizer_and_bad_lr():
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("adamax", 4)
    with pytest.raises(ValueError, match="learning rate"):
        make_optimizer("adam", 4, lr=0.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clipping_caps_global_norm_exactly(dtype):
    rng = np.random.default_rng(3)
    g = rng.normal(0, 10, 10_001).astype(dtype)
    before = np.linalg.norm(g.astype(np.float64))
    want = g.astype(np.float64)
    assert reference.clip_global_norm([want], 1.5) == pytest.approx(before, rel=1e-12)
    returned = clip_global_norm(g, 1.5)
    assert returned == pytest.approx(before, rel=1e-6)
    np.testing.assert_allclose(g, want, rtol=1e-5, atol=1e-7)
    assert np.linalg.norm(g.astype(np.float64)) == pytest.approx(1.5, rel=1e-6)
    small = rng.normal(0, 1e-3, 100).astype(dtype)
    keep = small.copy()
    clip_global_norm(small, 1.5)
    np.testing.assert_array_equal(small, keep)  # under the cap: untouched


def test_group_norms_add_up_to_global_norm():
    x, y = fixed_problem()
    net = Network(NetSpec(cell="rnn", input_mode="embedding", input_size=5, embed_dim=4,
                          hidden=8, layers=2, output_size=5), dtype=np.float64)
    net.loss_and_grad(x, y, net.initial_state(8))
    groups = net.params.group_grad_norms()
    assert set(groups) == {"embed", "l0", "l1", "head"}
    total = np.sqrt(sum(v * v for v in groups.values()))
    assert total == pytest.approx(global_norm(net.params.grad), rel=1e-12)
    per_param = net.params.param_grad_norms()
    assert len(per_param) == len(net.params.names())
    assert np.sqrt(sum(v * v for k, v in per_param.items() if k.startswith("l1."))) == \
        pytest.approx(groups["l1"], rel=1e-12)


@pytest.mark.parametrize("name,hyper", [
    ("sgd", {}), ("sgd", {"momentum": 0.5, "nesterov": True, "weight_decay": 0.01}),
    ("adam", {}), ("adam", {"weight_decay": 0.1}), ("adamw", {}), ("adagrad", {}),
    ("rmsprop", {}),
])
def test_each_optimizer_matches_the_textbook_update_for_ten_steps(name, hyper):
    """Each optimizer kernel is held to :func:`rnn_tui.core.reference.optimizer_updates`."""
    rng = np.random.default_rng(0)
    p0 = rng.normal(0, 1, 50)
    grads = [rng.normal(0, 1, 50) * (k + 1) for k in range(10)]
    opt = make_optimizer(name, 50, np.float64, 0.05, **hyper)
    p = p0.copy()
    for g in grads:
        opt.step(p, g.copy())
    want = reference.optimizer_updates(name, p0, grads, 0.05, **hyper)
    np.testing.assert_allclose(p, want, rtol=1e-12, atol=1e-12)
