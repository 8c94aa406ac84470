"""The one place that decides how kernels are compiled and where compiled code is cached.

Every kernel is ``@njit(nogil=True, cache=True)``: training runs on a worker thread while the
app draws, and a second start loads machine code from the cache instead of compiling.

Where: ``<user cache dir>/rnn-tui/kernels-<hash of the core's sources>`` (or below
``NUMBA_CACHE_DIR`` when that is set). Keying the directory by a hash of every core module matters:
Numba checks only the timestamp of the file that holds a kernel, so a change to a helper it
inlines from another file would otherwise load stale machine code. Using the user's cache
directory also means a read-only installed package still caches. If that directory cannot be
written, Numba's own locations are tried, and if none is writable the kernels are compiled
without a cache rather than fail.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numba
from numba import njit
from numba.core import event as _event

# Fast-math flags that let LLVM vectorise reductions and fuse multiply-adds, but *not* the
# ``nnan``/``ninf`` assumptions: the trainer must still see a NaN or Inf when a run blows up.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

cache_enabled = True


def _choose_cache_dir() -> str | None:
    core = Path(__file__).resolve().parent
    digest = hashlib.sha1()
    for src in sorted(core.glob("*.py")):
        digest.update(src.name.encode())
        digest.update(src.read_bytes())
    base = os.environ.get("NUMBA_CACHE_DIR")
    if not base:
        try:
            import platformdirs

            base = platformdirs.user_cache_dir("rnn-tui")
        except Exception:  # noqa: BLE001
            return None
    path = Path(base) / f"kernels-{digest.hexdigest()[:12]}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError:
        return None
    return str(path)


cache_dir = _choose_cache_dir()
if cache_dir is not None:
    numba.config.CACHE_DIR = cache_dir


def kernel(fn: Callable[..., Any] | None = None, *, fastmath: bool = True, inline: str = "never",
           internal: bool = False):
    """``@kernel`` = ``@njit(nogil=True, cache=True, error_model="numpy", boundscheck=False)``,
    falling back to no cache when no cache directory is writable.

    No C-callable wrapper is built for any kernel, and ``internal=True`` (a kernel only other
    kernels call) also skips the Python-callable one: each wrapper is code that is compiled and
    emitted for every signature (together about 2 s of a cold compile of every kernel)."""

    def wrap(f: Callable[..., Any]):
        d = _njit(f, dict(
            nogil=True,
            error_model="numpy",
            boundscheck=False,
            fastmath=FASTMATH if fastmath else False,
            inline=inline,
            no_cfunc_wrapper=True,
            no_cpython_wrapper=internal,
        ))
        if internal:  # without the wrapper a call from Python would crash: refuse it instead
            d.__class__ = _internal_class(type(d))
        return d

    return wrap(fn) if fn is not None else wrap


def _njit(f: Callable[..., Any], opts: dict[str, Any]):
    global cache_enabled
    if cache_enabled:
        try:
            return njit(cache=True, **opts)(f)
        except RuntimeError as err:  # "cannot cache function ...: no locator available"
            cache_enabled = False
            warnings.warn(
                f"rnn-tui: no writable compile cache ({err}); kernels will be compiled on "
                "every start. Set NUMBA_CACHE_DIR to a writable directory to fix this.",
                RuntimeWarning,
                stacklevel=3,
            )
    return njit(cache=False, **opts)(f)


_internal_classes: dict[type, type] = {}


def _internal_class(base: type) -> type:
    """A dispatcher class whose Python-level call raises (kernels still call it natively)."""
    if base not in _internal_classes:

        def __call__(self, *args: Any, **kwargs: Any):
            raise TypeError(f"{self.py_func.__qualname__} is an internal kernel: only other "
                            "kernels can call it")

        _internal_classes[base] = type("Internal" + base.__name__, (base,), {"__call__": __call__})
    return _internal_classes[base]


# ---------------------------------------------------------------- time spent compiling
_clock_lock = threading.Lock()
_compiling = 0  # compilations in progress, on any thread (nested ones included)
_compiling_since = 0.0
_compiled_s = 0.0


class _CompileClock(_event.Listener):
    """Adds up the wall time during which at least one kernel is being compiled (or loaded
    from the cache), whatever thread compiles it: the union of those intervals, so a
    nested compile or two threads compiling at once are counted once."""

    def on_start(self, event) -> None:
        global _compiling, _compiling_since
        with _clock_lock:
            if _compiling == 0:
                _compiling_since = time.perf_counter()
            _compiling += 1

    def on_end(self, event) -> None:
        global _compiling, _compiled_s
        with _clock_lock:
            _compiling -= 1
            if _compiling == 0:
                _compiled_s += time.perf_counter() - _compiling_since


_event.register("numba:compile", _CompileClock())


def compile_seconds() -> float:
    """Wall seconds this process has spent compiling kernels so far (a compile under way
    counts up to now). A run's time budget leaves them out: the first start of a new install
    compiles for tens of seconds, and ``--time-budget 10`` means ten seconds of training."""
    with _clock_lock:
        now = time.perf_counter() - _compiling_since if _compiling else 0.0
        return _compiled_s + now
