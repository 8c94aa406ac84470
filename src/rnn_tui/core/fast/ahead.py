"""Kernels compiled ahead in a background process while this one does other work.

A run on a new install starts the compile of the kernels it needs later (sampling) before it
compiles its training step: the two compile side by side on two cores, and the first sample
needs no compile of its own. The kernels that are compiled ahead call :func:`wait_ahead` before
their first use here, so that they load from the cache instead of being compiled a second time.
The jobs themselves (what each compiles) are :mod:`rnn_tui.core.fast.precompile`'s; this module
only starts and waits, and sits below every kernel.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rnn_tui.core.fast import _jit

WORKER = "rnn_tui.core.fast.precompile"  # ``python -m WORKER JOB ...`` compiles JOBs in turn
SAMPLING = "sampling"
_INDEX = {SAMPLING: "*sampler.generate-*.nbi"}  # a job's kernel whose index says "cached"
_ahead: dict[str, subprocess.Popen] = {}


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def compile_ahead(job: str) -> bool:
    """Start compiling ``job``'s kernels in a background process, if they are not in the cache
    yet and a second core is there to do it. Returns whether it started."""
    if job in _ahead or not _jit.cache_enabled or _jit.cache_dir is None:
        return False
    if usable_cores() < 2 or any(Path(_jit.cache_dir).rglob(_INDEX[job])):
        return False
    _ahead[job] = subprocess.Popen([sys.executable, "-m", WORKER, job],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
    return True


def wait_ahead(job: str) -> None:
    """Before ``job``'s kernels are first called here: let a compile started by
    :func:`compile_ahead` finish."""
    proc = _ahead.pop(job, None)
    if proc is not None:
        proc.wait()
