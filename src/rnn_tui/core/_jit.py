"""The one place that decides how kernels are compiled.

Every kernel is ``@njit(nogil=True, cache=True)``: training runs on a worker thread while the
app draws, and a second start loads machine code from the cache instead of compiling. Numba
looks for a writable cache directory in this order: ``NUMBA_CACHE_DIR``, the package's
``__pycache__`` (not writable when the package is installed read-only), then the user's cache
directory. If none is writable Numba refuses ``cache=True`` at decoration time; we then compile
without a cache rather than fail.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from numba import njit

# Fast-math flags that let LLVM vectorise reductions and fuse multiply-adds, but *not* the
# ``nnan``/``ninf`` assumptions: the trainer must still see a NaN or Inf when a run blows up.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

cache_enabled = True


def kernel(fn: Callable[..., Any] | None = None, *, fastmath: bool = True, inline: str = "never"):
    """``@kernel`` = ``@njit(nogil=True, cache=True, error_model="numpy", boundscheck=False)``,
    falling back to no cache when no cache directory is writable."""

    def wrap(f: Callable[..., Any]):
        global cache_enabled
        opts: dict[str, Any] = dict(
            nogil=True,
            error_model="numpy",
            boundscheck=False,
            fastmath=FASTMATH if fastmath else False,
            inline=inline,
        )
        if cache_enabled:
            try:
                return njit(cache=True, **opts)(f)
            except RuntimeError as err:  # "cannot cache function ...: no locator available"
                cache_enabled = False
                warnings.warn(
                    f"rnn-tui: no writable compile cache ({err}); kernels will be compiled on "
                    "every start. Set NUMBA_CACHE_DIR to a writable directory to fix this.",
                    RuntimeWarning,
                    stacklevel=2,
                )
        return njit(cache=False, **opts)(f)

    return wrap(fn) if fn is not None else wrap
