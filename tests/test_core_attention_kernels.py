"""The fused attention kernels (core/attention_kernels.py) against the NumPy reference
(core/attention.py), forward and backward, dot and additive, with padded sources, in float64
(to 1e-12) and float32 (to 1e-5)."""

from __future__ import annotations

import numpy as np
import pytest

from rnn_tui.core import attention as att
from rnn_tui.core import attention_kernels as attk

# (S, B, H, A, source lengths): each with padding, and one single-position source
SHAPES = [
    (5, 3, 4, 3, (5, 3, 1)),
    (7, 4, 6, 8, (2, 7, 4, 6)),
    (1, 2, 3, 2, (1, 1)),
    (30, 5, 16, 12, (30, 1, 17, 29, 2)),
]
DTYPES = [(np.float64, 1e-12), (np.float32, 1e-5)]


def problem(shape, dtype, seed=0):
    S, B, H, A, lengths = shape
    rng = np.random.default_rng(seed)
    mask = np.arange(S)[:, None] < np.asarray(lengths)[None, :]

    def r(*size, scale=1.0):
        return (rng.normal(size=size) * scale).astype(dtype)

    return (mask, r(S, B, H), r(B, H), r(B, H), r(H, A, scale=0.5), r(H, A, scale=0.5),
            r(A, scale=0.1), r(A))


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_additive_kernels_match_reference(shape, dtype, tol):
    mask, keys, q, dctx, W_k, W_q, b, v = problem(shape, dtype)
    kp = att.project_keys(keys, W_k)
    ref = att.additive_forward(q, keys, kp, mask, W_q, b, v)
    S, B, H = keys.shape
    u, alpha, ctx = np.empty_like(kp), np.empty((S, B), dtype), np.empty((B, H), dtype)
    attk.additive_step_forward(kp, np.ascontiguousarray(q @ W_q + b), v, keys, mask, u, alpha,
                               ctx)
    for got, want in ((u, ref.u), (alpha, ref.alpha), (ctx, ref.context)):
        np.testing.assert_allclose(got, want, atol=tol, rtol=tol)
    assert np.all(alpha[~mask] == 0.0)
    g = att.additive_backward(ref, q, keys, W_q, v, dctx)
    # the kernel adds into accumulators: start them off non-zero
    dkeys0, dkp0, dv0 = np.ones_like(keys), np.full_like(kp, 2.0), np.full_like(v, 3.0)
    dkeys, dkp, dv, dsum = dkeys0.copy(), dkp0.copy(), dv0.copy(), np.empty_like(kp[0])
    attk.additive_step_backward(ref.u, ref.alpha, keys, v, dctx, dkeys, dkp, dv, dsum)
    for got, want in ((dkeys - dkeys0, g.dkeys), (dkp - dkp0, g.dkeys_proj), (dv - dv0, g.dv),
                      (dsum @ W_q.T, g.dq), (q.T @ dsum, g.dW_q), (dsum.sum(axis=0), g.db)):
        np.testing.assert_allclose(got, want, atol=tol * 10, rtol=tol * 10)


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_dot_kernels_match_reference(shape, dtype, tol):
    mask, keys, q, dctx, *_ = problem(shape, dtype, seed=1)
    ref = att.dot_forward(q, keys, mask)
    S, B, H = keys.shape
    alpha, ctx = np.empty((S, B), dtype), np.empty((B, H), dtype)
    attk.dot_step_forward(q, keys, mask, alpha, ctx)
    np.testing.assert_allclose(alpha, ref.alpha, atol=tol, rtol=tol)
    np.testing.assert_allclose(ctx, ref.context, atol=tol, rtol=tol)
    want_dq, want_dk = att.dot_backward(ref, q, keys, dctx)
    dkeys0 = np.full_like(keys, -1.0)
    dkeys, dq = dkeys0.copy(), np.empty_like(q)
    attk.dot_step_backward(ref.alpha, q, keys, dctx, dkeys, dq)
    np.testing.assert_allclose(dq, want_dq, atol=tol * 10, rtol=tol * 10)
    np.testing.assert_allclose(dkeys - dkeys0, want_dk, atol=tol * 10, rtol=tol * 10)
