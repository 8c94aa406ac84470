"""Process-wide run-time settings: BLAS threads, and what a signal does to a running command
(stop with a checkpoint, then leave, with the shell's exit status)."""

from __future__ import annotations

import os


def default_threads() -> int:
    """BLAS threads for a run. Measured on the 2-core machine (LSTM H256 B32 T64 training):
    idle, 2 threads gave 48k tok/s against 30k with 1; with one other busy process, 2 threads fell
    to 13k while 1 thread held 31k. So: one thread when the machine is already busy at start,
    otherwise up to two. The app follows the same rule: the fused training step splits the batch
    over two workers with one BLAS thread each (no spinning BLAS threads), and in the app (GRU-256,
    120x40) two gave 73k tok/s against 46k with one while a key still reached the screen in a
    median 0.1 s. ``RNN_TUI_BLAS_THREADS`` overrides."""
    env = os.environ.get("RNN_TUI_BLAS_THREADS", "").strip()
    if env:
        return env_threads(env)
    cores = os.cpu_count() or 1
    return 1 if other_load() > 0.5 else min(2, cores)


MAX_THREADS = 256


def env_threads(value: str) -> int:
    """``RNN_TUI_BLAS_THREADS``: a whole number from 1 to :data:`MAX_THREADS` (ASCII digits;
    anything else is refused in one line, not a traceback)."""
    import re

    from rnn_tui.errors import UserError

    if not re.fullmatch(r"[0-9]{1,6}", value) or not 1 <= int(value) <= MAX_THREADS:
        raise UserError(f"RNN_TUI_BLAS_THREADS must be a whole number from 1 to {MAX_THREADS}, "
                        f"got {value[:20]!r}; unset it to choose automatically")
    return int(value)


def other_load(interval: float = 0.25) -> float:
    """Cores kept busy by other processes right now, from /proc/stat over ``interval`` seconds
    (the load average lags by a minute, so it misjudges a machine that just went quiet)."""
    def sample():
        with open("/proc/stat") as f:
            vals = [int(v) for v in f.readline().split()[1:]]
        idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
        return sum(vals), idle

    try:
        import time

        t0, i0 = sample()
        time.sleep(interval)
        t1, i1 = sample()
    except (OSError, ValueError, IndexError):
        try:
            return os.getloadavg()[0]
        except OSError:
            return 0.0
    total = t1 - t0
    return 0.0 if total <= 0 else (os.cpu_count() or 1) * (1 - (i1 - i0) / total)


threads_in_use = 1


def configure_threads(n: int | None = None) -> int:
    """Set the number of BLAS threads (NumPy's OpenBLAS, which the kernels call, and SciPy's
    where SciPy is installed: the kernels' fallback BLAS)."""
    if n is None:
        n = default_threads()
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (make SciPy's BLAS visible to threadpoolctl)
    except ImportError:  # not a dependency where NumPy's own BLAS is found (Linux)
        pass
    from threadpoolctl import threadpool_limits

    threadpool_limits(n, user_api="blas")
    global threads_in_use
    threads_in_use = n
    return n


_recent: tuple[float, int, int, int] | None = None  # (monotonic time, total, idle, own) ticks
_recent_load = 0.0


def _ticks() -> tuple[int, int, int]:
    """All CPUs' ticks since boot, of which idle, and this process's own (user + system)."""
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    with open("/proc/self/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(vals), vals[3] + (vals[4] if len(vals) > 4 else 0), int(fields[11]) + int(fields[12])


def recent_other_load(min_interval: float = 0.5) -> float:
    """Cores kept busy by *other* processes since the previous call (at most every
    ``min_interval`` seconds; in between the last answer is reused), without sleeping. 0.0 on
    the first call or where /proc is missing. Cheap enough to ask before every chunk of work
    that would spin on both cores (split generation)."""
    global _recent, _recent_load
    import time

    now = time.monotonic()
    if _recent is not None and now - _recent[0] < min_interval:
        return _recent_load
    try:
        total, idle, own = _ticks()
    except (OSError, ValueError, IndexError):
        return 0.0
    if _recent is not None:
        d_total = total - _recent[1]
        if d_total > 0:
            cores = os.cpu_count() or 1
            busy = d_total - (idle - _recent[2]) - (own - _recent[3])
            _recent_load = max(0.0, cores * busy / d_total)
    _recent = (now, total, idle, own)
    return _recent_load


DEFAULT_L2_BYTES = 1 << 20  # where the cache sizes cannot be read (the machines here: 0.5-2 MB)


def l2_cache_bytes() -> int:
    """One core's L2 cache in bytes, from /sys (Linux); :data:`DEFAULT_L2_BYTES` elsewhere."""
    global _l2_bytes
    if _l2_bytes is None:
        _l2_bytes = _read_l2_bytes() or DEFAULT_L2_BYTES
    return _l2_bytes


_l2_bytes: int | None = None
_SIZE_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def _read_l2_bytes(base: str = "/sys/devices/system/cpu/cpu0/cache") -> int | None:
    """The size of the level-2 data (or unified) cache in ``base``'s index*/ folders."""
    from pathlib import Path

    try:
        for index in sorted(Path(base).glob("index*")):
            if ((index / "level").read_text().strip() == "2"
                    and (index / "type").read_text().strip() in ("Data", "Unified")):
                size = (index / "size").read_text().strip()
                unit = _SIZE_UNITS.get(size[-1:].upper(), 1)
                digits = size[:-1] if unit != 1 else size
                return int(digits) * unit if digits.isdigit() and int(digits) > 0 else None
    except OSError:
        return None
    return None


# ---------------------------------------------------------------------- signals
# After a signal, how long the app may take to leave once its run has saved and closed its
# log, before the process ends anyway (leaving normally takes well under a second)
EXIT_GRACE_S = 10.0
# How long to wait for the run to save its checkpoint after a signal
RUN_SAVE_TIMEOUT_S = 120.0


def signal_exit_code(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number (SIGINT 130,
    SIGTERM 143, SIGHUP 129), used by `train`, the app and `watch` alike."""
    return 128 + int(signum)


def _stop_signals() -> list:
    import signal

    return [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None))
            if s is not None]


def stop_on_signals(stop) -> list[int]:
    """SIGINT / SIGTERM / SIGHUP call ``stop()`` (a headless run: it saves a checkpoint and
    ends). After SIGHUP the console's output, which has nowhere to go, goes to /dev/null.
    Returns the list the signals received are recorded in (for the exit status)."""
    import signal

    received: list[int] = []

    def on_signal(signum, _frame):
        if signum == getattr(signal, "SIGHUP", None):
            output_to_devnull()
        received.append(signum)
        stop()

    for sig in _stop_signals():
        signal.signal(sig, on_signal)
    return received


def exit_on_signals(app) -> list[int]:
    """SIGTERM / SIGHUP (the terminal went away) / SIGINT: stop ``app.source``'s run with a
    checkpoint, then leave the app (with :func:`exit_anyway_after` as a watchdog). Returns the
    list the signals received are recorded in (for the exit status)."""
    import signal

    received: list[int] = []

    def handler(signum, _frame):
        if signum == getattr(signal, "SIGHUP", None):
            output_to_devnull()
        if not received:
            exit_anyway_after(lambda: app.source, signum)
        received.append(signum)
        app.source.stop("interrupted")
        app.quitting = True
        try:
            import asyncio

            asyncio.get_running_loop().call_soon_threadsafe(app.exit)
        except RuntimeError:
            app.exit()

    for sig in _stop_signals():
        signal.signal(sig, handler)
    return received


def output_to_devnull() -> None:
    """After SIGHUP: stdout / stderr that were a terminal which has now gone away (hung up)
    are pointed at /dev/null, so that what is still drawn or printed on the way out goes
    nowhere. Written to a hung-up terminal it fails (EIO), and Textual's output thread dies of
    that, after which the app blocks for ever on its full output queue. Pipes, files and a
    terminal still there (a SIGHUP sent by ``kill``) are left alone."""
    import stat

    null = None
    try:
        for fd in (1, 2):
            try:
                hung_up = stat.S_ISCHR(os.fstat(fd).st_mode) and not os.isatty(fd)
                if hung_up:  # a hung-up terminal no longer answers as one
                    null = os.open(os.devnull, os.O_WRONLY) if null is None else null
                    os.dup2(null, fd)
            except OSError:
                pass
    finally:
        if null is not None:
            os.close(null)


def exit_anyway_after(get_source, signum: int, grace: float = EXIT_GRACE_S) -> None:
    """Make sure a signal ends the process: once the run on screen (``get_source()``) has saved
    its checkpoint and closed its log, the app has ``grace`` seconds to leave by itself; then
    the process exits with the signal's status. Guards against an app that cannot finish
    leaving (say, its output thread died when the terminal went away first)."""
    import threading
    import time

    def watchdog() -> None:
        get_source().join(RUN_SAVE_TIMEOUT_S)
        time.sleep(grace)
        os._exit(signal_exit_code(signum))

    threading.Thread(target=watchdog, name="rnn-tui-exit", daemon=True).start()
