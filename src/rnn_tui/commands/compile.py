"""``rnn-tui compile``: every kernel compiled into the cache now, several at a time."""

from __future__ import annotations

import sys

from rnn_tui.errors import UserError

NAME = "compile"
HELP = "compile every kernel into the cache now, on every core"
DESCRIPTION = ("Compile every numerical kernel (every cell, both float types, the fused step, "
               "the sampler, the optimizers) into the compile cache, several at a time. Without "
               "this, a new install compiles what a run needs when it starts (10-20 s); after "
               "it, every run starts in about a second. Useful after installing or upgrading, "
               "in a container image, or before a class.")


def add_arguments(k) -> None:
    k.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="processes compiling side by side (default: one per core, at most 3)")


def run(args) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, not {args.jobs}")
    import warnings

    with warnings.catch_warnings():  # (the kernels find out whether they can cache: the error
        warnings.simplefilter("ignore", RuntimeWarning)  # below says it in one line)
        from rnn_tui.core.fast import _jit
        from rnn_tui.core.fast.precompile import compile_all, default_workers
    if not _jit.cache_enabled:
        raise UserError("no writable compile cache, so there is nothing to compile ahead: set "
                        "NUMBA_CACHE_DIR to a writable folder")
    workers = args.jobs or default_workers()
    where = _jit.cache_dir or "Numba's cache beside the installed package"
    print(f"compiling every kernel into {where} ({workers} at a time)", flush=True)

    def report(job: str, seconds: float) -> None:
        print(f"  {job:<14} {seconds:6.1f} s", flush=True)

    try:
        wall = compile_all(workers, report)
    except RuntimeError as err:
        print(f"rnn-tui: {err}", file=sys.stderr)
        return 1
    print(f"done in {wall:.1f} s: runs now load their kernels from the cache")
    return 0
