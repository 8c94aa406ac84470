r"""Attention over encoder states for one decoder step: Luong's dot product and Bahdanau's
additive score, with a source mask, as forward/backward pairs.

Shapes follow the core's time-major convention: the encoder states ``keys`` are (S, B, H) for S
source positions, the decoder query ``q`` is (B, D), ``mask`` (S, B) is True where a source
position holds a token (right-padded sources have False at the end). Every column of ``mask``
must hold at least one True (a source always has its end token).

Scores, one per source position s and batch row b:

.. math::
    \text{dot:}\quad e_{s} = q \cdot k_{s} \qquad (D = H)

    \text{additive:}\quad u_{s} = \tanh(k_{s} W_k + q W_q + b), \qquad e_{s} = u_{s} \cdot v

with ``W_k`` (H, A), ``W_q`` (D, A), ``b`` (A,), ``v`` (A,). The key projection
:math:`K W_k` does not depend on the step, so :func:`project_keys` forms it once per sequence.
Then the masked softmax and the context vector:

.. math::
    \alpha_{s} = \frac{m_s\, e^{e_s - \max_{m} e}}{\sum_{s'} m_{s'}\, e^{e_{s'} - \max_m e}},
    \qquad c = \sum_s \alpha_s k_s

Backward, given :math:`\delta c = \partial L/\partial c` (and optionally
:math:`\delta\alpha` from a loss on the weights themselves):

.. math::
    \delta\alpha_s \mathrel{+}= \delta c \cdot k_s, \qquad
    \delta e_s = \alpha_s\,(\delta\alpha_s - \textstyle\sum_{s'} \alpha_{s'} \delta\alpha_{s'}),
    \qquad \delta k_s \mathrel{+}= \alpha_s\, \delta c

    \text{dot:}\quad \delta q = \textstyle\sum_s \delta e_s\, k_s, \qquad
    \delta k_s \mathrel{+}= \delta e_s\, q

    \text{additive:}\quad \delta a_s = \delta e_s\, v \odot (1 - u_s^2), \quad
    \delta v = \textstyle\sum_{s,b} \delta e_s u_s, \quad \delta q = (\textstyle\sum_s \delta a_s)
    W_q^\top, \quad \delta W_q = q^\top \textstyle\sum_s \delta a_s, \quad
    \delta b = \textstyle\sum_{s,b} \delta a_s

and :math:`\delta a_s` is also the gradient of the projected key, which the caller accumulates
over decoder steps and turns into :math:`\delta W_k = \sum K^\top \delta A` and
:math:`\delta K \mathrel{+}= \delta A\, W_k^\top` with one product each (:func:`keys_backward`),
as the cells form their weight gradients after the time loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DOT = "dot"
ADDITIVE = "additive"
NONE = "none"
KINDS = (NONE, DOT, ADDITIVE)


@dataclass
class AttentionStep:
    """What one forward step keeps for its backward: the weights, and for additive attention
    the activated scores ``u`` (S, B, A)."""

    alpha: np.ndarray  # (S, B)
    context: np.ndarray  # (B, H)
    u: np.ndarray | None = None


def masked_softmax(e: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Softmax over axis 0 of ``e`` (S, B), with the masked-out positions at exactly zero."""
    if not np.all(mask.any(axis=0)):
        raise ValueError("every source needs at least one unmasked position")
    shifted = np.where(mask, e, -np.inf)
    shifted = shifted - shifted.max(axis=0, keepdims=True)
    w = np.where(mask, np.exp(shifted), 0.0)
    return w / w.sum(axis=0, keepdims=True)


def project_keys(keys: np.ndarray, W_k: np.ndarray) -> np.ndarray:
    """:math:`K W_k`: (S, B, H) @ (H, A) -> (S, B, A), once per source sequence."""
    S, B, H = keys.shape
    return (keys.reshape(S * B, H) @ W_k).reshape(S, B, -1)


def dot_forward(q: np.ndarray, keys: np.ndarray, mask: np.ndarray) -> AttentionStep:
    """Luong's dot-product attention: :math:`e_s = q \\cdot k_s`."""
    e = np.einsum("bh,sbh->sb", q, keys)
    alpha = masked_softmax(e, mask)
    return AttentionStep(alpha, np.einsum("sb,sbh->bh", alpha, keys))


def additive_forward(q: np.ndarray, keys: np.ndarray, keys_proj: np.ndarray,
                     mask: np.ndarray, W_q: np.ndarray, b: np.ndarray,
                     v: np.ndarray) -> AttentionStep:
    """Bahdanau's additive attention: :math:`e_s = v \\cdot \\tanh(k_s W_k + q W_q + b)`, with
    ``keys_proj`` = :func:`project_keys` (keys, W_k)."""
    u = np.tanh(keys_proj + (q @ W_q + b)[None])
    alpha = masked_softmax(u @ v, mask)
    return AttentionStep(alpha, np.einsum("sb,sbh->bh", alpha, keys), u)


def _score_grad(step: AttentionStep, keys: np.ndarray, dcontext: np.ndarray,
                dalpha: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(δe (S, B), the part of δK from the context sum) through the softmax."""
    da = np.einsum("bh,sbh->sb", dcontext, keys)
    if dalpha is not None:
        da = da + dalpha
    alpha = step.alpha
    de = alpha * (da - (alpha * da).sum(axis=0, keepdims=True))
    return de, alpha[:, :, None] * dcontext[None]


def dot_backward(step: AttentionStep, q: np.ndarray, keys: np.ndarray, dcontext: np.ndarray,
                 dalpha: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(δq (B, H), δK (S, B, H)) of :func:`dot_forward`."""
    de, dkeys = _score_grad(step, keys, dcontext, dalpha)
    dq = np.einsum("sb,sbh->bh", de, keys)
    dkeys = dkeys + de[:, :, None] * q[None]
    return dq, dkeys


@dataclass
class AdditiveGrads:
    """The gradients of one additive step. ``dkeys_proj`` (S, B, A) is the gradient of the
    projected keys, which :func:`keys_backward` turns into δW_k and a further part of δK."""

    dq: np.ndarray
    dkeys: np.ndarray
    dkeys_proj: np.ndarray
    dW_q: np.ndarray
    db: np.ndarray
    dv: np.ndarray


def additive_backward(step: AttentionStep, q: np.ndarray, keys: np.ndarray, W_q: np.ndarray,
                      v: np.ndarray, dcontext: np.ndarray,
                      dalpha: np.ndarray | None = None) -> AdditiveGrads:
    """The gradients of :func:`additive_forward` (δW_k and the key-projection part of δK
    follow from ``dkeys_proj`` by :func:`keys_backward`)."""
    de, dkeys = _score_grad(step, keys, dcontext, dalpha)
    u = step.u
    dv = np.einsum("sb,sba->a", de, u)
    dpre = de[:, :, None] * v[None, None] * (1.0 - u * u)  # (S, B, A)
    dsum = dpre.sum(axis=0)  # (B, A): the query term is the same at every s
    return AdditiveGrads(dq=dsum @ W_q.T, dkeys=dkeys, dkeys_proj=dpre, dW_q=q.T @ dsum,
                         db=dsum.sum(axis=0), dv=dv)


def keys_backward(keys: np.ndarray, W_k: np.ndarray,
                  dkeys_proj: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(δW_k (H, A), δK (S, B, H)) from the projected keys' gradient summed over steps: one
    product each."""
    S, B, H = keys.shape
    A = W_k.shape[1]
    flat = dkeys_proj.reshape(S * B, A)
    return keys.reshape(S * B, H).T @ flat, (flat @ W_k.T).reshape(S, B, H)
