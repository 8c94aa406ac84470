"""The fused generation kernel (core/fast/sampler.py) is held to
:func:`rnn_tui.core.reference.generate`: the same tokens from the same uniforms, the same final
state; it agrees with the step-by-step network too."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.core import NetSpec, Network, reference
from rnn_tui.core.fast.sampler import generate_tokens
from rnn_tui.models.language import draw


@pytest.mark.parametrize("cell", ["rnn", "rnn_relu", "rnn_sigmoid", "lstm", "gru"])
@pytest.mark.parametrize("mode", ["embedding", "onehot"])
@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("parts", [1, 2])  # 2: units split across two threads
@pytest.mark.parametrize("l2", [1 << 30, 64])  # 64 bytes: W_hh read in alternate directions
def test_fused_generation_matches_step_by_step(cell, mode, layers, parts, l2):
    """The float32 kernel against the float64 network stepped one token at a time with the
    same weights: the same tokens, the same final state to float32 precision."""
    from rnn_tui.core.fast.sampler import alternates

    spec = NetSpec(cell=cell, input_mode=mode, input_size=11, embed_dim=5, hidden=9,
                   layers=layers, output_size=11)
    assert alternates(spec, parts, l2) == (l2 == 64)
    net = Network(spec, dtype=np.float32, seed=3)
    ref_net = Network(spec, dtype=np.float64, seed=None)
    ref_net.params.load_flat(net.params.data.astype(np.float64))
    rng = np.random.default_rng(0)
    n = 40
    u = rng.random(n)
    st = net.initial_state(1)
    h = np.ascontiguousarray(st.h[:, 0])
    c = None if st.c is None else np.ascontiguousarray(st.c[:, 0])
    fused = generate_tokens(net, 4, n, h, c, 0.9, 0, u, parts=parts, l2_bytes=l2)
    # reference: one network step at a time, same uniforms, inverse-CDF draw
    tok, s, ref = 4, ref_net.initial_state(1), []
    for i in range(n):
        out, s = ref_net.step(np.array([tok]), s)
        z = out[0] / 0.9
        p = np.exp(z - z.max())
        tok = int(np.searchsorted(np.cumsum(p), u[i] * p.sum(), side="right"))
        ref.append(tok)
    assert fused.tolist() == ref
    np.testing.assert_allclose(h, s.h[:, 0], atol=2e-6)
    if c is not None:
        np.testing.assert_allclose(c, s.c[:, 0], atol=2e-6)


def test_a_float64_network_generates_from_a_float32_copy():
    """Generation runs in float32; a float64 network gets the tokens its float32 copy gets,
    and its own (float64) state arrays are updated in place."""
    spec = NetSpec(cell="lstm", input_size=11, embed_dim=5, hidden=9, output_size=11)
    net64 = Network(spec, dtype=np.float64, seed=5)
    net32 = Network(spec, dtype=np.float32, seed=None)
    net32.params.load_flat(net64.params.data.astype(np.float32))
    u = np.random.default_rng(1).random(50)
    outs = []
    for net in (net64, net32):
        h = np.zeros((1, 9), dtype=net.dtype)
        c = np.zeros((1, 9), dtype=net.dtype)
        outs.append((generate_tokens(net, 2, 50, h, c, 1.0, 0, u, parts=1), h, c))
    (t64, h64, c64), (t32, h32, c32) = outs
    assert t64.tolist() == t32.tolist()
    assert h64.dtype == np.float64 and np.any(h64 != 0)
    np.testing.assert_array_equal(h64, h32.astype(np.float64))
    np.testing.assert_array_equal(c64, c32.astype(np.float64))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_split_generation_equals_one_thread_float32(cell):
    """At a size where generation splits by default, two threads draw exactly the tokens one
    thread draws (same float32 arithmetic per unit), and leave the same state."""
    from rnn_tui.core.fast.sampler import split_parts

    net = Network(NetSpec(cell=cell, input_size=30, embed_dim=8, hidden=160,
                          output_size=30), seed=4)
    idle, busy = (lambda: 0.0), (lambda: 1.5)
    assert split_parts(net, 200, 2, idle) == 2
    assert split_parts(net, 4, 2, idle) == 1  # short chunks stay on one thread
    assert split_parts(net, 200, 2, busy) == 1  # other processes busy: do not spin
    assert split_parts(net, 200, 1, idle) == 1  # the run may use one core
    u = np.random.default_rng(1).random(300)
    results = []
    for parts in (1, 2):
        st = net.initial_state(1)
        h = np.ascontiguousarray(st.h[:, 0])
        c = None if st.c is None else np.ascontiguousarray(st.c[:, 0])
        toks = generate_tokens(net, 3, 300, h, c, 1.0, 5, u, parts=parts)
        results.append((toks, h, c))
    (t1, h1, c1), (t2, h2, c2) = results
    assert t1.tolist() == t2.tolist()
    assert len(set(t1.tolist())) > 3  # a real sample, not one token repeated
    np.testing.assert_array_equal(h1, h2)
    if c1 is not None:
        np.testing.assert_array_equal(c1, c2)


def reference_tokens(net, token, n, temperature, top_k, uniforms):
    """:func:`rnn_tui.core.reference.generate` with ``net``'s weights from its zero state."""
    params = {name: net.params[name].astype(np.float64) for name in net.params.names()}
    st = net.initial_state(1)
    c = None if st.c is None else st.c[:, 0].astype(np.float64)
    toks, _, _ = reference.generate(net.spec.cell, params, token, n,
                                    st.h[:, 0].astype(np.float64), c, temperature, top_k,
                                    uniforms, onehot=net.spec.input_mode == "onehot")
    return toks


@pytest.mark.parametrize("cell", ["gru", "lstm"])
@pytest.mark.parametrize("temperature,top_k", [(1.0, 0), (0.5, 3), (2.0, 5), (0.8, 1)])
def test_generation_matches_a_numpy_reference_token_for_token(cell, temperature, top_k):
    net = Network(NetSpec(cell=cell, input_mode="embedding", input_size=20, embed_dim=4,
                          hidden=8, output_size=20), seed=1)
    net.params["head.b"][:] = np.linspace(-3, 3, 20)  # a skewed distribution
    u = np.random.default_rng(0).random(300)
    h = np.ascontiguousarray(net.initial_state(1).h[:, 0])
    c = None if cell == "gru" else np.zeros_like(h)
    got = generate_tokens(net, 0, 300, h, c, temperature, top_k, u, parts=1).tolist()
    want = reference_tokens(net, 0, 300, temperature, top_k, u)
    assert got == want
    if top_k == 1:
        assert len(set(got)) < len(set(reference_tokens(net, 0, 300, temperature, 0, u)))


def test_draw_helper_respects_top_k():
    rng = np.random.default_rng(0)
    logits = np.array([0.0, 5.0, 4.0, -1.0])
    picks = {draw(logits, 1.0, 2, rng) for _ in range(200)}
    assert picks == {1, 2}


def test_recent_other_load_reads_proc_without_waiting():
    import time

    from rnn_tui import runtime

    runtime.recent_other_load()
    time.sleep(0.05)
    t = time.perf_counter()
    first = runtime.recent_other_load(min_interval=0.0)
    again = runtime.recent_other_load(min_interval=60.0)  # within the interval: the same answer
    assert time.perf_counter() - t < 0.05  # no sleeping
    assert first >= 0.0 and again == first


def test_two_callers_at_once_both_get_their_tokens():
    """Split generation runs one at a time; a second caller at the same moment generates on
    one thread, and both get exactly the tokens they would get alone."""
    from concurrent.futures import ThreadPoolExecutor

    net = Network(NetSpec(cell="gru", input_size=30, embed_dim=8, hidden=160, output_size=30),
                  seed=5)
    u = np.random.default_rng(2).random(400)

    def draw_all(parts):
        h = np.ascontiguousarray(net.initial_state(1).h[:, 0])
        return generate_tokens(net, 1, 400, h, None, 1.0, 0, u, parts=parts).tolist()

    alone = draw_all(1)
    with ThreadPoolExecutor(2) as ex:
        results = list(ex.map(draw_all, [2, 2, 2, 2]))
    assert all(r == alone for r in results)


def test_vectorisable_exp_matches_math_exp():
    """The softmax weights' exp (x <= 0): within 1e-10 of math.exp down to -40, 0 below."""
    from numba import njit

    from rnn_tui.core.fast.mathfn import exp_nonpositive

    @njit
    def apply(xs, out):
        for i in range(xs.size):
            out[i] = exp_nonpositive(xs[i])

    xs = -np.concatenate([np.linspace(0.0, 40.0, 100_001),
                          np.random.default_rng(0).exponential(4.0, 10_000).clip(0, 40)])
    out = np.empty_like(xs)
    apply(xs, out)
    np.testing.assert_allclose(out, np.exp(xs), rtol=1e-10, atol=0)
    below = np.array([-40.001, -100.0, -np.inf])
    out = np.empty_like(below)
    apply(below, out)
    assert np.all(out == 0.0)


def test_weights_read_in_alternate_directions_only_where_they_exceed_l2():
    """GRU H512's half (1.6 MB) exceeds a 1 MB L2 and alternates; GRU H256's (0.4 MB) does
    not; what a thread reads is counted from the shapes (the head's share included)."""
    from rnn_tui.core.fast.sampler import alternates, streamed_bytes

    l2 = 1 << 20
    big = NetSpec(cell="gru", input_size=65, embed_dim=64, hidden=512, output_size=65)
    small = NetSpec(cell="gru", input_size=65, embed_dim=64, hidden=256, output_size=65)
    assert streamed_bytes(big, 2) == 4 * (512 * 3 * 256 + 512 * 33)
    assert streamed_bytes(small, 1) == 4 * (256 * 768 + 256 * 65)
    assert alternates(big, 2, l2) and alternates(big, 1, l2)
    assert not alternates(small, 2, l2) and not alternates(small, 1, l2)
    two = NetSpec(cell="lstm", input_size=65, embed_dim=64, hidden=256, layers=2,
                  output_size=65)
    assert streamed_bytes(two, 2) == 4 * (3 * 256 * 4 * 128 + 256 * 33)


def test_l2_size_is_read_from_sys(tmp_path):
    from rnn_tui.runtime import _read_l2_bytes

    for i, (level, kind, size) in enumerate([("1", "Data", "48K"), ("1", "Instruction", "32K"),
                                             ("2", "Unified", "2048K"), ("3", "Unified", "32M")]):
        d = tmp_path / f"index{i}"
        d.mkdir()
        (d / "level").write_text(level + "\n")
        (d / "type").write_text(kind + "\n")
        (d / "size").write_text(size + "\n")
    assert _read_l2_bytes(str(tmp_path)) == 2 << 20
    (tmp_path / "index2" / "size").write_text("garbage\n")
    assert _read_l2_bytes(str(tmp_path)) is None
    assert _read_l2_bytes(str(tmp_path / "missing")) is None
