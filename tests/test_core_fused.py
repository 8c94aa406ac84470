"""The fused language-model step (float32, the speed path) is held to
:func:`rnn_tui.core.reference.lm_step`; it gives the same loss, final state and gradients as the
general network path in float32, and float64 networks stay on the network path."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.core import NetSpec, Network, reference
from rnn_tui.core.fast.fused import EmbMode, FusedLM


@pytest.mark.parametrize("cell", ["rnn", "rnn_relu", "lstm", "gru"])
@pytest.mark.parametrize("mode", ["embedding", "onehot"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("H", [6, 72])  # 72: large enough for the BLAS (packed) path
def test_fused_step_matches_network(cell, mode, layers, workers, H):
    rng = np.random.default_rng(0)
    T, B, V = 7, (5 if H < 10 else 32), 13
    net = Network(NetSpec(cell=cell, input_mode=mode, input_size=V, embed_dim=5, hidden=H,
                          layers=layers, output_size=V), dtype=np.float32, seed=2)
    x = rng.integers(0, V, (T, B))
    y = rng.integers(0, V, (T, B))
    y[2, 1] = -1
    st = net.initial_state(B)
    st.h[...] = rng.normal(0, 0.5, st.h.shape)
    if st.c is not None:
        st.c[...] = rng.normal(0, 0.5, st.c.shape)
    ref = net.loss_and_grad(x, y, st)
    g_ref = net.params.grad.copy()
    fused = FusedLM(net, T, B, workers=workers)
    assert fused.parts == workers  # two halves of the batch on two threads
    scale = np.abs(g_ref).max()
    for _ in range(2):  # twice: the workspace is reused cleanly
        got = fused.loss_and_grad(x, y, st)
        # the same float32 kernels; only the order of a few sums differs (bias, the halves)
        assert got.loss == pytest.approx(ref.loss, rel=1e-6)
        np.testing.assert_allclose(net.params.grad, g_ref, rtol=1e-4, atol=2e-6 * scale)
        np.testing.assert_allclose(got.state.h, ref.state.h, atol=1e-6)
        if cell == "lstm":
            np.testing.assert_allclose(got.state.c, ref.state.c, atol=1e-6)
        np.testing.assert_allclose(got.dh_norms, ref.dh_norms, rtol=1e-5)


@pytest.mark.parametrize("cell", ["rnn", "rnn_sigmoid", "lstm", "gru"])
@pytest.mark.parametrize("mode,B", [("embedding", 5), ("embedding", 1), ("onehot", 5)])
@pytest.mark.parametrize("layers", [1, 2])
def test_fused_step_matches_the_numpy_reference(cell, mode, B, layers):
    """Loss, final state and every gradient against the float64 reference step (embedding or
    one-hot, the stack, the head, softmax cross-entropy, backward); B=5 takes the table form
    of the first layer's projection, B=1 the embedding rows."""
    rng = np.random.default_rng(1)
    T, V = 7, 13
    net = Network(NetSpec(cell=cell, input_mode=mode, input_size=V, embed_dim=5, hidden=6,
                          layers=layers, output_size=V), dtype=np.float32, seed=4)
    x = rng.integers(0, V, (T, B))
    y = rng.integers(0, V, (T, B))
    y[2, 0] = -1
    st = net.initial_state(B)
    st.h[...] = rng.normal(0, 0.5, st.h.shape)
    if st.c is not None:
        st.c[...] = rng.normal(0, 0.5, st.c.shape)
    got = FusedLM(net, T, B).loss_and_grad(x, y, st)
    params = {name: net.params[name].astype(np.float64) for name in net.params.names()}
    loss, grads, hN, cN = reference.lm_step(
        cell, x, y, st.h.astype(np.float64), None if st.c is None else st.c.astype(np.float64),
        params, onehot=mode == "onehot")
    assert got.loss == pytest.approx(loss, rel=1e-5)
    np.testing.assert_allclose(got.state.h, hN, atol=1e-5)
    if cell == "lstm":
        np.testing.assert_allclose(got.state.c, cN, atol=1e-5)
    assert set(grads) == set(net.params.names())
    for name, want in grads.items():
        np.testing.assert_allclose(net.params.g[name], want, rtol=1e-3, atol=1e-5, err_msg=name)


def test_float64_networks_take_the_network_path():
    """The fused step is float32 only: a float64 network is refused with a clear message (the
    trainer sends it through ``Network.loss_and_grad``)."""
    net = Network(NetSpec(cell="gru", input_size=7, embed_dim=3, hidden=4, output_size=7),
                  dtype=np.float64)
    with pytest.raises(ValueError, match="float32"):
        FusedLM(net, 3, 2)


def test_input_table_only_for_a_small_vocabulary():
    """The (V, G*H) input table is used, and allocated, only when V is small next to T*B."""
    small = Network(NetSpec(cell="gru", input_size=13, embed_dim=5, hidden=8, output_size=13))
    f = FusedLM(small, 16, 8)
    assert f.emb_mode == EmbMode.TABLE and f.ws[0].table.shape == (13, 24)
    big = Network(NetSpec(cell="gru", input_size=5000, embed_dim=5, hidden=8, output_size=5000))
    f = FusedLM(big, 16, 8)
    assert f.emb_mode == EmbMode.EMBEDDING and f.ws[0].table.size == 1
