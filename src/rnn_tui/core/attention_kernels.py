r"""Fused kernels for one decoder step of attention: the fast twins of
:mod:`rnn_tui.core.attention` (same shapes, same equations; that module is the reference and
the tests hold these to it).

Each forward walks the batch rows once: the scores of every source position, the masked softmax
and the context, with no (S, B, A) temporary beyond the activated scores ``u`` the backward
needs. Each backward adds into the caller's accumulators (δK, and for additive attention the
projected keys' gradient and δv) and writes the per-row sum of the score pre-activation
gradient, from which the caller forms δq, δW_q and δb with one small product each:

.. math::
    \delta\alpha_s = \delta c \cdot k_s, \quad
    \delta e_s = \alpha_s(\delta\alpha_s - \textstyle\sum_{s'} \alpha_{s'}\delta\alpha_{s'}),
    \quad \delta k_s \mathrel{+}= \alpha_s\, \delta c

    \text{additive:}\quad \delta a_s = \delta e_s\, v \odot (1 - u_s^2), \quad
    \delta v \mathrel{+}= \textstyle\sum_{s} \delta e_s u_s, \quad
    \text{dsum} = \textstyle\sum_s \delta a_s

    \text{dot:}\quad \delta q = \textstyle\sum_s \delta e_s k_s, \quad
    \delta k_s \mathrel{+}= \delta e_s\, q
"""

from __future__ import annotations

import math

from rnn_tui.core.fast._jit import kernel
from rnn_tui.core.fast.mathfn import tanh


@kernel
def _softmax_context(e, mask, keys, b, alpha, context):
    """Masked softmax of the scores ``e`` (S,) of row ``b`` into ``alpha[:, b]``, and the
    context ``context[b] = sum_s alpha[s, b] keys[s, b]``."""
    S = e.shape[0]
    H = keys.shape[2]
    m = -math.inf
    for s in range(S):
        if mask[s, b] and e[s] > m:
            m = e[s]
    total = 0.0
    for s in range(S):
        w = math.exp(e[s] - m) if mask[s, b] else 0.0
        e[s] = w
        total += w
    inv = keys.dtype.type(1.0 / total)  # the arrays' float type: the loops vectorise
    ctx = context[b]
    for h in range(H):
        ctx[h] = 0.0
    for s in range(S):
        a = e[s] * inv
        alpha[s, b] = a
        if a != 0.0:
            k = keys[s, b]
            for h in range(H):
                ctx[h] += a * k[h]


@kernel
def additive_step_forward(keys_proj, qw, v, keys, mask, u, alpha, context):
    """Bahdanau's score for one step: ``u[s, b] = tanh(keys_proj[s, b] + qw[b])`` with
    ``qw`` = q W_q + b (B, A), ``e = u v``, then ``alpha`` (S, B) and ``context`` (B, H)."""
    S, B, A = keys_proj.shape
    e = keys_proj[:, 0, 0].copy()
    for b in range(B):
        q = qw[b]
        for s in range(S):
            kp = keys_proj[s, b]
            us = u[s, b]
            for a in range(A):
                us[a] = tanh(kp[a] + q[a])
            acc = v.dtype.type(0.0)  # in the arrays' float type: the loop vectorises
            for a in range(A):
                acc += us[a] * v[a]
            e[s] = acc
        _softmax_context(e, mask, keys, b, alpha, context)


@kernel
def dot_step_forward(q, keys, mask, alpha, context):
    """Luong's score for one step: ``e[s, b] = q[b] . keys[s, b]``, then ``alpha`` and
    ``context``."""
    S, B, H = keys.shape
    e = keys[:, 0, 0].copy()
    for b in range(B):
        qb = q[b]
        for s in range(S):
            k = keys[s, b]
            acc = keys.dtype.type(0.0)
            for h in range(H):
                acc += qb[h] * k[h]
            e[s] = acc
        _softmax_context(e, mask, keys, b, alpha, context)


@kernel
def _score_grad(alpha, keys, dcontext, b, dkeys, de):
    """δe (S,) of row ``b`` through the softmax, and ``dkeys[:, b] += alpha dcontext``."""
    S = alpha.shape[0]
    H = keys.shape[2]
    dc = dcontext[b]
    mean = 0.0
    for s in range(S):
        a = alpha[s, b]
        acc = keys.dtype.type(0.0)
        if a != 0.0:
            k = keys[s, b]
            dk = dkeys[s, b]
            for h in range(H):
                acc += dc[h] * k[h]
                dk[h] += a * dc[h]
        de[s] = acc
        mean += a * acc
    for s in range(S):
        de[s] = alpha[s, b] * (de[s] - mean)


@kernel
def additive_step_backward(u, alpha, keys, v, dcontext, dkeys, dkeys_proj, dv, dsum):
    """Backward of :func:`additive_step_forward` given δc (B, H): adds into ``dkeys``
    (S, B, H), ``dkeys_proj`` (S, B, A) and ``dv`` (A,); writes ``dsum`` (B, A) =
    sum_s δa_s (so δq = dsum W_q^T, δW_q = q^T dsum, δb = sum_b dsum)."""
    S, B, A = u.shape
    de = alpha[:, 0].copy()
    one = v.dtype.type(1.0)  # in the arrays' float type: the loop vectorises
    for b in range(B):
        _score_grad(alpha, keys, dcontext, b, dkeys, de)
        ds = dsum[b]
        for a in range(A):
            ds[a] = 0.0
        for s in range(S):
            d = de[s]
            if d == 0.0:
                continue
            us = u[s, b]
            dkp = dkeys_proj[s, b]
            for a in range(A):
                t = us[a]
                dv[a] += d * t
                g = d * v[a] * (one - t * t)
                dkp[a] += g
                ds[a] += g


@kernel
def dot_step_backward(alpha, q, keys, dcontext, dkeys, dq):
    """Backward of :func:`dot_step_forward` given δc (B, H): adds into ``dkeys`` (S, B, H)
    and writes ``dq`` (B, H)."""
    S, B, H = keys.shape
    de = alpha[:, 0].copy()
    for b in range(B):
        _score_grad(alpha, keys, dcontext, b, dkeys, de)
        qb = q[b]
        dqb = dq[b]
        for h in range(H):
            dqb[h] = 0.0
        for s in range(S):
            d = de[s]
            if d == 0.0:
                continue
            k = keys[s, b]
            dk = dkeys[s, b]
            for h in range(H):
                dqb[h] += d * k[h]
                dk[h] += d * qb[h]
