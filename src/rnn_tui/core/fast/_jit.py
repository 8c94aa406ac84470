"""The one place that decides how kernels are compiled and where compiled code is cached.

Every kernel is ``@njit(nogil=True, cache=True)``: training runs on a worker thread while the
app draws, and a second start loads machine code from the cache instead of compiling.

Where: ``<user cache dir>/rnn-tui/kernels-<hash of the core's sources>`` (``core/`` and
``core/fast/``; below ``NUMBA_CACHE_DIR`` when that is set). Keying the directory by a hash of
every core module, and by the micro-kernel's vector width and tile
(:mod:`rnn_tui.core.fast.simd`), matters:
Numba checks only the timestamp of the file that holds a kernel, so a change to a helper it
inlines from another file would otherwise load stale machine code. Using the user's cache
directory also means a read-only installed package still caches. If that directory cannot be
written, Numba's own locations are tried, and if none is writable the kernels are compiled
without a cache rather than fail.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None

import numba
from numba import njit
from numba.core import cgutils, types
from numba.core import event as _event
from numba.core.caching import IndexDataCacheFile
from numba.core.extending import _Intrinsic, intrinsic

from rnn_tui.core.fast.simd import TILE

# Fast-math flags that let LLVM vectorise reductions and fuse multiply-adds, but *not* the
# ``nnan``/``ninf`` assumptions: the trainer must still see a NaN or Inf when a run blows up.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

cache_enabled = True
FULL_LLVM_ENV = "RNN_TUI_FULL_LLVM"  # set (not 0): every kernel gets Numba's full LLVM work


def _choose_cache_dir() -> str | None:
    core = Path(__file__).resolve().parent.parent  # rnn_tui/core, the fast layer within it
    digest = hashlib.sha1()
    for src in sorted(core.rglob("*.py")):
        digest.update(src.relative_to(core).as_posix().encode())
        digest.update(src.read_bytes())
    if os.environ.get(FULL_LLVM_ENV, "") not in ("", "0"):
        digest.update(b"full LLVM")  # other machine code for the same sources
    digest.update(repr(TILE).encode())  # the micro-kernel's width (forced or the host's)
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
           internal: bool = False, by_address: bool = False, full_llvm: bool = False):
    """``@kernel`` = ``@njit(nogil=True, cache=True, error_model="numpy", boundscheck=False)``,
    falling back to no cache when no cache directory is writable.

    No C-callable wrapper is built for any kernel, and ``internal=True`` (a kernel only other
    kernels call) also skips the Python-callable one: each wrapper is code that is compiled and
    emitted for every signature (together about 2 s of a cold compile of every kernel); calling
    an internal kernel from Python raises ``TypeError``. ``by_address=True`` (internal kernels
    only) returns the kernel as its :func:`call_by_address` stand-in, so that every kernel calls
    its one compiled copy. ``full_llvm=True`` gives the kernel all the work LLVM does by
    default, where the others get a lighter share (see :data:`FULL_LLVM`)."""

    def wrap(f: Callable[..., Any]):
        if full_llvm:
            FULL_LLVM.add(f.__qualname__)
        d = _njit(f, dict(
            nogil=True,
            error_model="numpy",
            boundscheck=False,
            fastmath=FASTMATH if fastmath else False,
            inline=inline,
            no_cfunc_wrapper=True,
            no_cpython_wrapper=internal,
        ))
        if by_address:
            assert internal, "by_address=True is for internal kernels"
            return call_by_address(d)
        if internal:  # without the wrapper a call from Python would crash: refuse it instead
            d.__class__ = _internal_class(type(d))
        return d

    return wrap(fn) if fn is not None else wrap


def _njit(f: Callable[..., Any], opts: dict[str, Any]):
    global cache_enabled
    if cache_enabled:
        try:
            d = njit(cache=True, **opts)(f)
            d._cache._cache_file.__class__ = _LockedIndexDataCacheFile
            return d
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


class _LockedIndexDataCacheFile(IndexDataCacheFile):
    """Numba's cache files, with each save under an exclusive lock (one per cache folder).

    A save reads the index, picks the first free data-file number, and writes index and data.
    Two processes compiling one kernel into a fresh cache at once (two trials of a sweep, or
    :mod:`rnn_tui.core.fast.precompile`'s workers) could pick the same number for two signatures:
    the index would then point one signature at the other's machine code. Under the lock the
    read-pick-write is one step."""

    def save(self, key, data) -> None:
        if fcntl is None:  # pragma: no cover - not POSIX
            return super().save(key, data)
        with open(os.path.join(self._cache_path, "saving.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return super().save(key, data)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


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


# ---------------------------------------------------------------- calls by address
_by_name: dict[tuple[str, str], Any] = {}  # (module, qualname) -> dispatcher, for _bind


def _symbol(module: str, qualname: str, argtypes: tuple) -> str:
    """A name for one compiled specialisation that is the same in every process (Numba's own
    mangled names carry a per-process counter, so a cached caller could not name them)."""
    key = hashlib.sha1(repr(argtypes).encode()).hexdigest()[:16]
    return f"rnn_tui:{module}.{qualname}:{key}"


def _bind(module: str, qualname: str, argtypes: tuple) -> str:
    """Compile (or load from the cache) kernel ``module.qualname`` for ``argtypes`` and publish
    its machine-code address under :func:`_symbol`'s name. Returns the name."""
    import importlib

    import llvmlite.binding as ll

    importlib.import_module(module)  # defines (and registers) the kernel
    dispatcher = _by_name[module, qualname]
    dispatcher.compile(argtypes)
    cres = dispatcher.overloads[argtypes]
    name = _symbol(module, qualname, argtypes)
    ll.add_symbol(name, cres.library.get_pointer_to_function(cres.fndesc.mangled_name))
    return name


@functools.cache
def _rebinder(module: str, qualname: str, argtypes: tuple) -> Callable[[], str]:
    """``_bind`` for one callee as a picklable no-argument call (Numba's ``reload_init``); one
    object per callee, so a caller calling it from many places runs it once on loading."""
    return functools.partial(_bind, module, qualname, argtypes)


class _KernelCall(_Intrinsic):
    """What :func:`call_by_address` returns: callable only from kernels."""

    def __call__(self, *args: Any, **kwargs: Any):
        d = self.dispatcher
        if d.targetoptions.get("no_cpython_wrapper"):
            raise TypeError(f"{self._name} is an internal kernel: only other kernels can call it")
        raise TypeError(f"this stand-in for {self._name} is for kernels: from Python, call "
                        f"{d.py_func.__module__}.{self._name}")


def call_by_address(dispatcher):
    """A stand-in for kernel ``dispatcher`` inside other kernels that calls its one compiled
    copy through its address instead of linking a copy of it into the caller.

    Numba links every kernel a kernel calls into the caller's own library, where LLVM optimises
    and emits it once more: a kernel called from three kernels is compiled four times (the
    fused step re-optimised both sequence kernels, 2.2 s of a cold compile). Called through
    this, it is compiled once per signature; the caller holds an external reference by a
    stable name, which :func:`_bind` resolves at the caller's first compile and again, through
    Numba's ``reload_init`` hook, before a cached caller is loaded. LLVM cannot inline the
    callee, so this is for calls that do some work (a product, a sequence, a layer), not for
    helpers in a hot loop (the sampler's per-token products lost up to a quarter of their speed
    when called by address)."""
    module, qualname = dispatcher.py_func.__module__, dispatcher.py_func.__qualname__
    _by_name[module, qualname] = dispatcher

    def typer(args: tuple):
        argtypes = tuple(types.unliteral(a) for a in args)
        dispatcher.compile(argtypes)
        sig = dispatcher.overloads[argtypes].signature

        def codegen(context, builder, signature, llargs):
            name = _bind(module, qualname, argtypes)
            context.active_code_library._reload_init.add(_rebinder(module, qualname, argtypes))
            fnty = context.call_conv.get_function_type(sig.return_type, argtypes)
            fn = cgutils.get_or_insert_function(builder.module, fnty, name)
            status, res = context.call_conv.call_function(builder, fn, sig.return_type,
                                                          argtypes, llargs)
            with cgutils.if_unlikely(builder, status.is_error):
                context.call_conv.return_status_propagate(builder, status)
            return res

        return sig, codegen

    # an intrinsic with the callee's own parameters (Numba's intrinsics take no *args)
    params = ", ".join(inspect.signature(dispatcher.py_func).parameters)
    scope = {"typer": typer}
    exec(f"def call(typingctx, {params}):\n    return typer(({params},))\n", scope)
    call = intrinsic(scope["call"])
    call.__class__ = _KernelCall
    call._name = qualname
    call.dispatcher = dispatcher
    return call



# ---------------------------------------------------------------- how much of LLVM's work
# Of a cold compile of every kernel with Numba's defaults (23-25 s on one core of an AMD EPYC
# Zen 4), about 10 s is LLVM. Three parts of its work buy little for most kernels
# (docs/performance.md, "Fourth session"), and every kernel not in FULL_LLVM goes without them
# (19-20 s then, 8 s of it LLVM):
# - Numba runs LLVM's O3 function pipeline on every function as it enters a library, and then
#   the O3 module pipeline over the linked module, which does that work again;
# - loop strength reduction in the x86 back end (0.8 s in float64 backward alone): x86
#   addressing modes do as well without it in the training kernels;
# - interleaving vectorised loops (several vectors an iteration): the loops over a gate's units
#   are bound by memory, not by the latency it hides.
# The kernels of a sampled token (FULL_LLVM) keep all three: latency-bound, their products ran
# up to 2x slower without the function passes and generation up to 30 % slower without
# strength reduction. With RNN_TUI_FULL_LLVM=1 every kernel gets Numba's defaults (comparisons).
FULL_LLVM: set[str] = set()  # qualified names of the kernels that get all of LLVM's work


def _lighter_llvm() -> bool:
    """Give the kernels not in :data:`FULL_LLVM` the lighter share of LLVM's work. Returns
    whether it did: a Numba whose code generator differs keeps its own defaults."""
    if os.environ.get(FULL_LLVM_ENV, "") not in ("", "0"):
        return False
    try:
        import llvmlite.binding as ll
        from numba.core import codegen

        optimize_functions = codegen.CPUCodeLibrary._optimize_functions
        optimize_final_module = codegen.CPUCodeLibrary._optimize_final_module
        finalize_specific = codegen.JITCodeLibrary._finalize_specific
        ll.set_option("", "-disable-lsr=false")  # the options are there to be set
        ll.set_option("", "-force-vector-interleave=0")
    except (ImportError, AttributeError, RuntimeError):  # pragma: no cover - another Numba
        return False

    def _optimize_functions(self, ll_module) -> None:
        if self.name in FULL_LLVM:
            return optimize_functions(self, ll_module)
        ll_module.data_layout = self._codegen._data_layout  # what the passes needed it for

    def light_with(option: str, light: str, default: str, step):
        """``step`` run with LLVM option ``option`` set to ``light`` for a light library.
        (Numba holds its compiler lock there: one library is optimised or emitted at a time.)"""

        def run(self) -> None:
            light_here = self.name not in FULL_LLVM
            if light_here:
                ll.set_option("", f"-{option}={light}")
            try:
                step(self)
            finally:
                if light_here:
                    ll.set_option("", f"-{option}={default}")

        return run

    # module passes (where loops are vectorised; 0 = LLVM's own interleave count), and the
    # emission of machine code
    _optimize_final_module = light_with("force-vector-interleave", "1", "0",
                                        optimize_final_module)
    _finalize_specific = light_with("disable-lsr", "true", "false", finalize_specific)

    codegen.CPUCodeLibrary._optimize_functions = _optimize_functions
    codegen.CPUCodeLibrary._optimize_final_module = _optimize_final_module
    codegen.JITCodeLibrary._finalize_specific = _finalize_specific
    return True


lighter_llvm = _lighter_llvm()

