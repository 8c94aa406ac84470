"""The numerical core: NumPy arrays in, NumPy arrays out. No I/O, no UI.

Each cell module (``rnn``, ``lstm``, ``gru``) holds a forward_sequence / backward_sequence pair of
Numba kernels; ``layers`` wraps them into whole-sequence layers; ``network`` stacks layers between
an embedding and a dense head; ``losses`` and ``optim`` hold the fused losses and optimizers.
``fused`` runs a whole language-model training step in one call (the batch split over two
workers), ``sampler`` generates text (a large model's units split over two threads, which meet
through ``sync``), and ``blas`` reaches the BLAS (MKL's packed products where installed).
``_jit`` decides how kernels compile and cache (and lets one kernel call another's single
compiled copy by address); ``precompile`` compiles all of them ahead, on every core.
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
