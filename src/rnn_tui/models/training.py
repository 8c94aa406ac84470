r"""One optimisation step of truncated BPTT, shared by every task: forward, loss, backward,
global-norm clipping, the optimizer's update, and the guard that refuses a non-finite update.

The gradient norm reported is the global norm *before* clipping, :math:`\lVert g \rVert_2`;
with a threshold :math:`c > 0` the step is clipped when :math:`\lVert g \rVert_2 > c`, and the
update then uses :math:`g\, c / \lVert g \rVert_2`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnn_tui.core import Network, State, clip_global_norm, global_norm


class NonFiniteError(ArithmeticError):
    """The loss or the gradients became NaN or Inf; the weights were not touched."""


@dataclass
class StepInfo:
    loss: float
    state: State
    grad_norm: float  # global norm before clipping
    clipped: bool
    dh_norms: np.ndarray  # (L, T): ||dL/dh_t|| per layer and step


def train_step(net: Network, x, y, state: State, opt, clip: float, rng=None, loss="xent",
               last_only=False, loss_fn=None, **loss_kw) -> StepInfo:
    """One step: forward, backward, clip, update. Raises :class:`NonFiniteError` before the
    update if anything is not finite. ``loss_fn(x, y, state)`` may replace the general path
    (the fused language-model step); ``loss_kw`` go to :meth:`Network.loss_and_grad`."""
    if loss_fn is not None:
        res = loss_fn(x, y, state)
    else:
        res = net.loss_and_grad(x, y, state, loss=loss, rng=rng, last_only=last_only, **loss_kw)
    norm = clip_global_norm(net.params.grad, clip) if clip > 0 else float(
        global_norm(net.params.grad))
    if not (math.isfinite(res.loss) and math.isfinite(norm)):
        raise NonFiniteError(f"loss {res.loss}, gradient norm {norm}")
    applied = min(norm, clip) if clip > 0 else norm  # the norm of the gradient used
    if opt.lr * applied > 1e30:  # an SGD step this large would overflow float32 weights
        raise NonFiniteError(f"the update would overflow (lr x gradient norm "
                             f"{opt.lr * applied:.3g})")
    opt.step(net.params.data, net.params.grad)
    if not math.isfinite(net.global_sum()):  # cannot happen after the checks above; be sure
        raise NonFiniteError("the weights became non-finite")
    return StepInfo(res.loss, res.state, norm, clip > 0 and norm > clip, res.dh_norms)
