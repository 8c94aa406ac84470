"""The numerical core: NumPy arrays in, NumPy arrays out. No I/O, no UI.

Two layers. The teaching layer is here: each cell module (``rnn``, ``lstm``, ``gru``) holds a
forward_sequence / backward_sequence pair of Numba kernels; ``layers`` wraps them into
whole-sequence layers; ``network`` stacks layers between an embedding and a dense head;
``losses`` and ``optim`` hold the fused losses and optimizers; ``params`` lays every parameter
out in one flat buffer; ``reference`` is the whole step in plain NumPy (embedding, stack, head,
loss, backward, optimizer and sampling), the twin every kernel is held to. The fast layer,
:mod:`rnn_tui.core.fast`, holds the speed machinery: JIT policy, BLAS binding, the packed
micro-kernel, the fused training step, the fused sampler and compiling ahead.
"""

from rnn_tui.core.network import Forward, NetSpec, Network, State, StepResult
from rnn_tui.core.optim import OPTIMIZERS, clip_global_norm, global_norm, make_optimizer
from rnn_tui.core.params import Layout, Params

__all__ = [
    "OPTIMIZERS",
    "Forward",
    "Layout",
    "NetSpec",
    "Network",
    "Params",
    "State",
    "StepResult",
    "clip_global_norm",
    "global_norm",
    "make_optimizer",
]
