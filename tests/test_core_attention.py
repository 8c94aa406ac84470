"""Attention (core/attention.py): float64 finite-difference checks of every gradient, with
padded sources, and agreement with PyTorch's autograd on the same equations to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.core import attention as att

EPS = 1e-5
# (S, B, H, D, A, source lengths): two or more shapes, each with padding
SHAPES = [
    (5, 3, 4, 4, 3, (5, 3, 1)),
    (7, 4, 6, 5, 8, (2, 7, 4, 6)),
    (1, 2, 3, 3, 2, (1, 1)),
]


def problem(shape, seed=0):
    S, B, H, D, A, lengths = shape
    rng = np.random.default_rng(seed)
    mask = np.arange(S)[:, None] < np.asarray(lengths)[None, :]
    keys = rng.normal(size=(S, B, H))
    w = {"W_k": rng.normal(size=(H, A)) * 0.5, "W_q": rng.normal(size=(D, A)) * 0.5,
         "b": rng.normal(size=A) * 0.1, "v": rng.normal(size=A)}
    # a loss on the context and on the weights themselves: L = <R1, c> + <R2, alpha>
    R1, R2 = rng.normal(size=(B, H)), rng.normal(size=(S, B))
    return mask, keys, rng.normal(size=(B, D)), rng.normal(size=(B, H)), w, R1, R2


def loss(kind, q, keys, mask, w, R1, R2):
    if kind == att.DOT:
        st = att.dot_forward(q, keys, mask)
    else:
        st = att.additive_forward(q, keys, att.project_keys(keys, w["W_k"]), mask, w["W_q"],
                                  w["b"], w["v"])
    return float((R1 * st.context).sum() + (R2 * st.alpha).sum()), st


def analytic(kind, q, keys, mask, w, R1, R2):
    _, st = loss(kind, q, keys, mask, w, R1, R2)
    if kind == att.DOT:
        dq, dk = att.dot_backward(st, q, keys, R1, R2)
        return {"q": dq, "keys": dk}
    g = att.additive_backward(st, q, keys, w["W_q"], w["v"], R1, R2)
    dW_k, dk_proj = att.keys_backward(keys, w["W_k"], g.dkeys_proj)
    return {"q": g.dq, "keys": g.dkeys + dk_proj, "W_k": dW_k, "W_q": g.dW_q, "b": g.db,
            "v": g.dv}


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


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", [att.DOT, att.ADDITIVE])
def test_gradients_match_finite_differences(kind, shape):
    mask, keys, q, qd, w, R1, R2 = problem(shape)
    if kind == att.DOT:
        q = qd  # the dot score needs D = H
    grads = analytic(kind, q, keys, mask, w, R1, R2)
    arrays = {"q": q, "keys": keys, **w}
    for name, g in grads.items():
        n = numeric(lambda: loss(kind, q, keys, mask, w, R1, R2)[0], arrays[name])
        np.testing.assert_allclose(g, n, atol=1e-8, rtol=1e-7, err_msg=f"{kind} d{name}")


@pytest.mark.parametrize("kind", [att.DOT, att.ADDITIVE])
def test_padding_gets_no_weight_and_no_gradient(kind):
    mask, keys, q, qd, w, R1, R2 = problem(SHAPES[0])
    if kind == att.DOT:
        q = qd
    _, st = loss(kind, q, keys, mask, w, R1, R2)
    assert np.all(st.alpha[~mask] == 0.0)
    np.testing.assert_allclose(st.alpha.sum(axis=0), 1.0, rtol=1e-12)
    grads = analytic(kind, q, keys, mask, w, R1, R2)
    assert np.all(grads["keys"][~mask] == 0.0)
    # what sits in the padding does not change the output
    keys2 = keys.copy()
    keys2[~mask] = 1e3
    _, st2 = loss(kind, q, keys2, mask, w, R1, R2)
    np.testing.assert_allclose(st2.context, st.context, rtol=1e-12, atol=1e-12)


def test_an_empty_source_is_refused():
    mask = np.array([[True, False], [False, False]])
    with pytest.raises(ValueError, match="at least one"):
        att.masked_softmax(np.zeros((2, 2)), mask)


def test_large_scores_stay_finite():
    mask = np.ones((3, 1), dtype=bool)
    a = att.masked_softmax(np.array([[1000.0], [999.0], [-1000.0]]), mask)
    assert np.all(np.isfinite(a))
    np.testing.assert_allclose(a[:, 0], [1 / (1 + np.exp(-1)), 1 / (1 + np.e), 0.0])


@pytest.mark.parametrize("shape", SHAPES[:2])
@pytest.mark.parametrize("kind", [att.DOT, att.ADDITIVE])
def test_matches_pytorch_autograd(kind, shape):
    torch = pytest.importorskip("torch")
    mask, keys, q, qd, w, R1, R2 = problem(shape, seed=3)
    if kind == att.DOT:
        q = qd
    ours = analytic(kind, q, keys, mask, w, R1, R2)
    _, st = loss(kind, q, keys, mask, w, R1, R2)

    t = {k: torch.tensor(a, dtype=torch.float64, requires_grad=True)
         for k, a in {"q": q, "keys": keys, **w}.items()}
    tm = torch.tensor(mask)
    K = t["keys"].permute(1, 0, 2)  # (B, S, H): PyTorch's batch-first habit
    if kind == att.DOT:
        e = torch.bmm(K, t["q"].unsqueeze(2)).squeeze(2)  # (B, S)
    else:
        e = torch.tanh(K @ t["W_k"] + (t["q"] @ t["W_q"] + t["b"]).unsqueeze(1)) @ t["v"]
    e = e.masked_fill(~tm.T, float("-inf"))
    alpha = torch.softmax(e, dim=1)  # (B, S)
    ctx = torch.bmm(alpha.unsqueeze(1), K).squeeze(1)
    L = (torch.tensor(R1) * ctx).sum() + (torch.tensor(R2).T * alpha).sum()
    L.backward()
    np.testing.assert_allclose(st.alpha, alpha.detach().numpy().T, atol=1e-12, rtol=1e-10)
    np.testing.assert_allclose(st.context, ctx.detach().numpy(), atol=1e-12, rtol=1e-10)
    for name, g in ours.items():
        np.testing.assert_allclose(g, t[name].grad.numpy(), atol=1e-10, rtol=1e-10,
                                   err_msg=f"{kind} d{name}")


def test_keys_gradient_accumulates_over_decoder_steps():
    """Several decoder steps share one key projection: summing their ``dkeys_proj`` and calling
    keys_backward once equals the gradient of the summed loss (checked by differences)."""
    mask, keys, q, _, w, R1, R2 = problem(SHAPES[1], seed=5)
    rng = np.random.default_rng(9)
    qs = [q, rng.normal(size=q.shape), rng.normal(size=q.shape)]

    def total():
        kp = att.project_keys(keys, w["W_k"])
        return sum(float((R1 * att.additive_forward(qq, keys, kp, mask, w["W_q"], w["b"],
                                                     w["v"]).context).sum()) for qq in qs)

    kp = att.project_keys(keys, w["W_k"])
    dkp = np.zeros_like(kp)
    dkeys = np.zeros_like(keys)
    for qq in qs:
        st = att.additive_forward(qq, keys, kp, mask, w["W_q"], w["b"], w["v"])
        g = att.additive_backward(st, qq, keys, w["W_q"], w["v"], R1)
        dkp += g.dkeys_proj
        dkeys += g.dkeys
    dW_k, dk = att.keys_backward(keys, w["W_k"], dkp)
    np.testing.assert_allclose(dW_k, numeric(total, w["W_k"]), atol=1e-8, rtol=1e-7)
    np.testing.assert_allclose(dkeys + dk, numeric(total, keys), atol=1e-8, rtol=1e-7)
