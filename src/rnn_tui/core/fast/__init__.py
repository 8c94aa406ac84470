"""The fast layer: the machinery that makes the core's numerics quick.

``_jit`` decides how kernels compile and cache (and lets one kernel call another's single
compiled copy by address, keeping the cold compile short); ``blas`` reaches the BLAS (MKL's
packed products where installed) and ``ukernel`` is the packed micro-kernel for the recurrent
product; ``mathfn`` holds vectorisable activations; ``fused`` runs a whole language-model
training step in one call (the batch split over two workers); ``sampler`` generates text (a
large model's units split over two threads, which meet through ``sync``); ``ahead`` starts
compiles in the background and ``precompile`` compiles every kernel ahead, on every core.

Each kernel here is held to a plain NumPy twin in :mod:`rnn_tui.core.reference`.
"""
