"""The vector width and tile shape of the packed micro-kernel (:mod:`rnn_tui.core.fast.ukernel`).

The width is counted in float32 lanes (a float64 vector holds half as many): 16 where LLVM
reports AVX-512 (``avx512f``) for the host, 8 with AVX2 and FMA, 4 otherwise (SSE, NEON).
``RNN_TUI_VECTOR_WIDTH=4|8|16`` forces one; any width runs correctly on any CPU (LLVM splits a
vector wider than the host's registers into several), only the speed differs. The width is fixed
when the kernels are compiled, and :mod:`rnn_tui.core.fast._jit` keys the compile cache by it.

A tile is ``MR`` rows of C by ``NV`` vectors: ``MR * NV`` accumulators, ``NV`` panel vectors and
one broadcast live in registers across the K loop (16 registers with SSE or AVX2, 32 with
AVX-512), and a panel is ``NV * lanes`` columns wide.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

VECTOR_WIDTH_ENV = "RNN_TUI_VECTOR_WIDTH"
WIDTHS = (4, 8, 16)  # float32 lanes: SSE/NEON, AVX2, AVX-512


@dataclass(frozen=True)
class Tile:
    """``rows`` x ``vectors`` accumulators of ``lanes`` float32 (``lanes // 2`` float64)."""

    lanes: int
    rows: int
    vectors: int

    @property
    def vec_bytes(self) -> int:
        return 4 * self.lanes

    def columns(self, bits: int) -> int:
        """A panel's columns (NR) for ``bits``-bit floats."""
        return self.vectors * self.vec_bytes * 8 // bits


# One tile shape per width (docs/performance.md, "Vector width"): 4 x 3 fills 12 of the 16
# registers of SSE and AVX2; 8 x 3 fills 24 of AVX-512's 32 (on a Sapphire Rapids Xeon it beat
# 4 x 3 and 8 x 2 at 16 lanes for the batch-32 products: 155 against 145 and 149 GFLOP/s).
TILES = {4: Tile(4, 4, 3), 8: Tile(8, 4, 3), 16: Tile(16, 8, 3)}


def host_width(features: dict[str, bool] | None = None) -> int:
    """The widest vector the host offers, in float32 lanes, from LLVM's host CPU features
    (``features`` in the form of ``llvmlite.binding.get_host_cpu_features()``)."""
    if features is None:
        try:
            import llvmlite.binding as ll

            features = dict(ll.get_host_cpu_features())
        except RuntimeError:  # LLVM cannot tell: the narrowest width runs everywhere
            features = {}
    if features.get("avx512f"):
        return 16
    if features.get("avx2") and features.get("fma"):
        return 8
    return 4


def default_width(host: int) -> int:
    """The width used when none is forced: the host's own (on a Xeon with AVX-512, 16 lanes ran
    the batch-32 LSTM training rows 15-40 % faster than 8, batch 1 level; docs/performance.md)."""
    return host


def chosen_width() -> int:
    """``RNN_TUI_VECTOR_WIDTH`` if set, else :func:`default_width` of the host."""
    env = os.environ.get(VECTOR_WIDTH_ENV, "").strip()
    if not env:
        return default_width(host_width())
    if env not in {str(w) for w in WIDTHS}:
        from rnn_tui.errors import UserError

        raise UserError(f"{VECTOR_WIDTH_ENV} must be one of {', '.join(map(str, WIDTHS))} "
                        f"(float32 lanes), got {env[:20]!r}; unset it to use the CPU's own")
    return int(env)


TILE = TILES[chosen_width()]
