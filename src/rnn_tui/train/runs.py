"""Run directories: ``config.toml``, ``metrics.jsonl``, checkpoints and samples.

Every file is written to a temporary name in the same directory and renamed over the target, so a
crash (or ``kill -9``) never leaves a half-written file. A checkpoint is one ``.npz`` of plain
arrays (loaded with ``allow_pickle=False``) whose ``meta`` entry is UTF-8 JSON: format version,
vocabulary, config, step, optimizer and RNG state.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import stat
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rnn_tui.errors import UserError
from rnn_tui.train.events import Event, event_from_dict

# Format 2 (this one) adds best.npz beside checkpoint.npz and fields in the metadata that
# format 1 lacked (best_step, bad_evals, lr_scale, newer network settings); a format-1 file
# reads as format 2 with those at their defaults.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
CHECKPOINT = "checkpoint.npz"  # the latest state: what --resume continues
BEST = "best.npz"  # the weights (and the rest) of the best evaluation so far
CHECKPOINT_CHOICES = ("best", "latest")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """:func:`rnn_tui.safeio.atomic_write`: a temporary in the same directory, synced, renamed
    over ``path``; a target that is not a regular file is refused."""
    from rnn_tui.safeio import atomic_write

    atomic_write(path, data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def make_run_dir(root: str | Path, name: str | None, task: str) -> Path:
    """Create ``root/name`` (default: ``<task>-YYYYmmdd-HHMMSS``), refusing to reuse a run."""
    from rnn_tui.safeio import describe_os_error, storage_advice

    root = Path(root)
    if name is None:
        name = f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"
    if not re.fullmatch(r"[\w.-]+", name, re.ASCII) or name in (".", ".."):
        raise UserError(f"run name {name!r} may only use letters, digits, '.', '_' and '-'")
    path = root / name
    if os.path.lexists(path):
        raise UserError(f"run directory {path} already exists; pick another --name or use "
                        f"--resume {path}")
    made = False
    try:
        root.mkdir(parents=True, exist_ok=True)
        path.mkdir()
        made = True
        probe = path / PROBE
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        if made:
            shutil.rmtree(path, ignore_errors=True)
        raise UserError(f"cannot create run directory {path}: {describe_os_error(err)}; "
                        f"{storage_advice(err)}") from None
    return path


LOCK = ".lock"  # held (flock) by the one process writing the run; readers never take it


class RunLock:
    """An exclusive ``flock`` on ``RUN/.lock``, held by the one process that writes the run
    (``train``, ``--resume``, the app) for as long as it writes. The file names its holder
    (process id, command, start time) for the refusal a second writer gets. The lock goes
    with the process, so a ``kill -9`` never leaves a run locked."""

    def __init__(self, run_dir: Path):
        """Raises a UserError naming the holder when another process has the lock, and the
        ``OSError`` of a run directory where the lock file cannot be made."""
        import fcntl

        self.path = Path(run_dir) / LOCK
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | \
            getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o644)
        except OSError as err:
            if err.errno not in (errno.EROFS, errno.EACCES) or not self.path.is_file():
                raise
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))  # still lockable
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise UserError(f"{self.path} is not a regular file; remove it and try again")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UserError(f"run {run_dir} is being written by {_holder(fd)}; one process "
                                "writes a run at a time: wait for it to end (or stop it), then "
                                "try again; `rnn-tui watch` shows it meanwhile") from None
            with contextlib.suppress(OSError):  # who holds it, for the refusal of others
                os.ftruncate(fd, 0)
                os.pwrite(fd, json.dumps(_holder_record()).encode("utf-8") + b"\n", 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd: int | None = fd

    def release(self) -> None:
        """Let go of the run (closing the file ends the lock); idempotent."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None


def _holder_record() -> dict[str, Any]:
    import sys

    argv = [os.path.basename(sys.argv[0]) or "rnn-tui", *sys.argv[1:]] if sys.argv else []
    return {"pid": os.getpid(), "command": argv[:40],
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def _holder(fd: int) -> str:
    """Who holds the lock, from what the lock file says (as plain, printable words)."""
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        pid = int(info["pid"])
        cmd = " ".join(str(a) for a in info.get("command", []))
        cmd = "".join(c if c.isprintable() else "?" for c in cmd)[:200]
        started = "".join(c for c in str(info.get("started", "")) if c.isprintable())[:40]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "another process"
    what = f" ({cmd})" if cmd else ""
    since = f", since {started}" if started else ""
    return f"process {pid}{what}{since}"


def lock_run(run_dir: Path) -> RunLock:
    """Take the run's writer lock, or raise a UserError naming the process that holds it."""
    return RunLock(run_dir)


def remove_unsaved_run_dir(run_dir: Path, made_root: Path | None = None) -> bool:
    """Remove a run directory that never got a checkpoint (a run that failed before its
    first save), and the empty folders above it up to ``made_root`` (those made for it), so
    nothing half-made is left. A directory holding a checkpoint is kept. True when removed."""
    if (run_dir / CHECKPOINT).exists():
        return False
    shutil.rmtree(run_dir, ignore_errors=True)
    remove_empty_dirs(run_dir.parent, made_root)
    return not os.path.lexists(run_dir)


def remove_empty_dirs(path: Path, up_to: Path | None) -> None:
    """Remove the empty directories from ``path`` up to ``up_to`` (those a run made)."""
    from rnn_tui.safeio import remove_made_dirs

    remove_made_dirs(path, up_to)


PROBE = ".write-test"
# What atomic_write_bytes leaves behind when killed between creating and renaming its temporary
# (mkstemp: prefix, 8 random characters, suffix), for the files of a run directory.
_STALE = re.compile(r"\.(?:checkpoint\.npz|best\.npz|config\.toml|[\w.-]+\.npz)\.[a-z0-9_]{8}\.tmp"
                    r"|" + re.escape(PROBE))


def clean_stale_temporaries(run_dir: Path) -> list[str]:
    """Remove the temporaries of our own naming that a killed run left in ``run_dir`` (never
    anything else). Returns their names. An unwritable directory raises its OSError."""
    removed = []
    with os.scandir(run_dir) as it:
        names = [e.name for e in it
                 if e.is_file(follow_symlinks=False) and _STALE.fullmatch(e.name)]
    for n in names:
        try:
            os.unlink(run_dir / n)
        except FileNotFoundError:
            continue
        removed.append(n)
    return removed


def save_checkpoint(path: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write arrays + JSON metadata atomically; refuses non-finite values."""
    for k, v in arrays.items():
        if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            raise ValueError(f"refusing to write a checkpoint with non-finite values in {k}")
    import io

    meta = dict(meta, format_version=FORMAT_VERSION)
    buf = io.BytesIO()
    payload = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    payload["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    np.savez(buf, **payload)
    atomic_write_bytes(path, buf.getvalue())


# ------------------------------------------------------------------ loading, untrusted
# The members a checkpoint may hold, and their dtypes: nothing else is read.
_FLOATS = ("float32", "float64")
# "order": the window model's order of training windows for the epoch under way
# "params.K" / "optK.*": the K-th member of an ensemble (the series forecaster averages three)
_MEMBER = re.compile(r"meta|params(\.[1-9][0-9]?)?|state_h|state_c|order|"
                     r"opt([1-9][0-9]?)?\.[a-z_][a-z0-9_]{0,31}", re.ASCII)
_MAX_META = 64 << 20


def load_checkpoint(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`, trusting nothing in it.

    Before anything is used: the file is a regular file and a zip archive (else it says what it
    is: a single .npy array, pickled objects, something else); every member is a ``.npy`` array
    with an expected name, a plain dtype (never objects: nothing is unpickled) and a header whose
    shape matches its size (so no header can make it allocate more than the file holds); the
    total fits in memory; ``params`` and the optimizer state are one-dimensional, of one float
    type, the same length and finite; the metadata is a JSON object of a readable format whose
    common fields have their types. What each task keeps (model description, vocabulary,
    optimizer and RNG state) is checked by the task (:mod:`rnn_tui.tasks.common`). Every problem
    is a :class:`UserError`."""
    from rnn_tui.safeio import describe_os_error, kind_of, memory_available

    path = Path(path)
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode) and path.suffix != ".npz":  # a run directory
            path = path / CHECKPOINT
            st = os.stat(path)
    except FileNotFoundError:
        raise UserError(f"no checkpoint at {path}; train first, or name a run directory that "
                        "holds checkpoint.npz") from None
    except OSError as err:
        raise UserError(f"cannot open checkpoint {path}: {describe_os_error(err)}") from None
    except ValueError:
        raise UserError(f"checkpoint name {str(path)!r} holds a NUL byte") from None
    if not stat.S_ISREG(st.st_mode):
        raise UserError(f"{path} is {kind_of(st.st_mode)}, not a checkpoint file")
    avail = memory_available()
    if avail is not None and st.st_size > avail:
        raise UserError(f"{path} is {st.st_size / 2**30:.1f} GiB, more than the "
                        f"{avail / 2**30:.1f} GiB of memory available")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as err:
        raise UserError(f"cannot read checkpoint {path}: {describe_os_error(err)}") from None
    if not head.startswith(b"PK\x03\x04"):
        raise UserError(f"{path} is not an rnn-tui checkpoint: {_what_it_is(head)}")
    try:
        arrays = _read_members(path, avail)
    except UserError:
        raise
    except OSError as err:
        raise UserError(f"cannot read checkpoint {path}: {describe_os_error(err)}") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, KeyError, ValueError,
            NotImplementedError, RuntimeError, struct.error, zlib.error, OverflowError,
            MemoryError, SyntaxError) as err:
        detail = f"{type(err).__name__}: {err}"[:160]
        raise UserError(f"{path} is corrupt or truncated ({detail}); resume from an earlier "
                        "copy or start a new run") from None
    if "meta" not in arrays:
        raise UserError(f"{path} has no metadata; it was not written by rnn-tui")
    raw = arrays.pop("meta")
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > _MAX_META:
        raise UserError(f"{path} has metadata of the wrong kind; it is corrupt")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, nested too deeply
        raise UserError(f"{path} has unreadable metadata; it is corrupt") from None
    if not isinstance(meta, dict):
        raise UserError(f"{path} has metadata that is not a JSON object; it is corrupt")
    version = meta.get("format_version")
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT_VERSION:
        raise UserError(f"{path} was written by a newer rnn-tui (checkpoint format {version}; "
                        f"this one reads formats up to {FORMAT_VERSION}); upgrade rnn-tui "
                        "to open it")
    if isinstance(version, bool) or version not in READABLE_FORMATS:
        raise UserError(f"{path} is not an rnn-tui checkpoint (format {version!r}); it is "
                        "corrupt or from another program")
    problem = _check_arrays(arrays, meta) or _check_common_meta(meta)
    if problem:
        raise UserError(f"{path} is not a valid checkpoint: {problem}; it is corrupt or from "
                        "another program")
    return arrays, meta


def _what_it_is(head: bytes) -> str:
    if not head:
        return "the file is empty"
    if head.startswith(b"\x93NUMPY"):
        return "it is a single NumPy array (.npy), not an archive of them"
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:
        return "it holds pickled Python objects; refusing to load it"
    if head.startswith(b"\x1f\x8b"):
        return "it is gzip-compressed; decompress it first"
    if all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "it is a text file"
    return "it is not a .npz archive"


def _read_members(path: Path, avail: int | None) -> dict[str, np.ndarray]:
    from numpy.lib import format as npformat

    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        if len(infos) > 64:
            raise UserError(f"{path} holds {len(infos)} members; a checkpoint has a handful")
        total = sum(i.file_size for i in infos)
        if avail is not None and total > avail:
            raise UserError(f"{path} would unpack to {total / 2**30:.1f} GiB, more than the "
                            f"{avail / 2**30:.1f} GiB of memory available; it is not a "
                            "checkpoint rnn-tui wrote")
        headers: dict[str, tuple[zipfile.ZipInfo, tuple[int, ...], np.dtype]] = {}
        for info in infos:
            name = info.filename
            key = name[:-4] if name.endswith(".npy") else None
            if key is None or not _MEMBER.fullmatch(key):
                raise UserError(f"{path} holds an unexpected member {name[:60]!r}; a checkpoint "
                                "holds only .npy arrays named meta, params, state_h, state_c, "
                                "order and opt.* (or params.K and optK.* of an ensemble)")
            if key in headers:
                raise UserError(f"{path} holds the member {name!r} twice; it is corrupt")
            if info.flag_bits & 0x1:
                raise UserError(f"{path} is encrypted; a checkpoint is not")
            with zf.open(info) as f:
                version = npformat.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = npformat.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, fortran, dtype = npformat.read_array_header_2_0(f)
                else:
                    raise ValueError(f"unsupported .npy format {version}")
                header = f.tell()
            if dtype.hasobject:
                raise UserError(f"{path} holds an object array {key!r} (pickled Python "
                                "objects); checkpoints are plain arrays only, refusing to "
                                "load it")
            want = {"meta": ("uint8",), "order": ("int64",)}.get(key, _FLOATS)
            if dtype.name not in want or dtype.byteorder == ">" or fortran:
                raise UserError(f"{path}: {key!r} has dtype {dtype.str}"
                                f"{' (Fortran order)' if fortran else ''}; a checkpoint holds "
                                f"{' or '.join(want)}")
            count = 1
            for n in shape:
                count *= int(n)
            if count * dtype.itemsize != info.file_size - header:
                raise UserError(f"{path}: {key!r} claims shape {tuple(shape)} but holds "
                                f"{info.file_size - header} bytes; it is corrupt")
            headers[key] = (info, tuple(int(n) for n in shape), dtype)
        problem = _check_shapes({k: (sh, dt) for k, (_, sh, dt) in headers.items()})
        if problem:  # before any array is unpacked: a header cannot make it allocate
            raise UserError(f"{path} is not a valid checkpoint: {problem}; it is corrupt or "
                            "from another program")
        for key, (info, _shape, _dtype) in headers.items():
            with zf.open(info) as f:
                out[key] = npformat.read_array(f, allow_pickle=False)
    return out


def _check_shapes(headers: dict[str, tuple[tuple[int, ...], np.dtype]]) -> str:
    """The shapes the ``.npy`` headers declare, checked before anything is unpacked: ``params``
    (and each ensemble member's) a vector, the optimizer state of each the same shape and
    type, the carried state three-dimensional, the metadata a byte string of bounded size,
    the window order no longer than the largest corpus. So no optimizer array can be larger
    than the parameters it belongs to."""
    from rnn_tui.safeio import CORPUS_LIMIT

    def vector(key: str) -> tuple[tuple[int, ...], np.dtype] | None:
        got = headers.get(key)
        return got if got is not None and len(got[0]) == 1 and got[0][0] > 0 else None

    if "params" not in headers:
        return "no parameters (params)"
    if vector("params") is None:
        return f"params has shape {headers['params'][0]}; expected a non-empty vector"
    meta = headers.get("meta")
    if meta is not None and (len(meta[0]) != 1 or meta[0][0] > _MAX_META):
        return f"the metadata has shape {meta[0]}; expected at most {_MAX_META:,} bytes"
    for key, (shape, dtype) in headers.items():
        member = re.fullmatch(r"params\.(\d+)|opt(\d*)\..*", key)
        if member:
            own = vector(f"params.{member.group(1) or member.group(2)}" if
                         (member.group(1) or member.group(2)) else "params")
            if own is None or shape != own[0] or dtype != headers["params"][1]:
                want = own[0] if own is not None else "a vector like params"
                return f"{key} declares shape {shape} ({dtype.name}); expected {want}"
        elif key.startswith("state_") and len(shape) != 3:
            return f"{key} declares shape {shape}; expected (layers, batch, hidden)"
        elif key == "order" and (len(shape) != 1 or shape[0] > CORPUS_LIMIT):
            return f"order declares shape {shape}; expected a vector of window indices (at " \
                "most one per byte of the largest corpus)"
    return ""


def _check_arrays(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> str:
    params = arrays.get("params")
    if params is None:
        return "no parameters (params)"
    if params.ndim != 1 or params.size == 0:
        return f"params has shape {params.shape}; expected a non-empty vector"
    dtype = meta.get("dtype", params.dtype.name)
    if dtype != params.dtype.name:
        return f"params is {params.dtype.name} but the metadata says {dtype!r}"
    for k, v in arrays.items():
        member = re.fullmatch(r"params\.(\d+)|opt(\d+)\..*", k)
        if member:  # an ensemble member: like params, and its optimizer state like it
            own = arrays.get(f"params.{member.group(1) or member.group(2)}")
            if own is None or own.ndim != 1 or own.dtype != params.dtype or \
                    v.shape != own.shape or v.dtype != params.dtype:
                return f"{k} has shape {v.shape} ({v.dtype.name}); expected a vector like params"
        if k.startswith("opt.") and (v.shape != params.shape or v.dtype != params.dtype):
            return f"optimizer state {k[4:]!r} has shape {v.shape} ({v.dtype.name}); " \
                f"expected {params.shape} ({params.dtype.name}) like params"
        if k.startswith("state_") and (v.ndim != 3 or v.dtype != params.dtype):
            return f"{k} has shape {v.shape} ({v.dtype.name}); expected (layers, batch, hidden)"
        if not np.all(np.isfinite(v)):
            return f"{k} holds non-finite values"
    return ""


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


# meta key -> (check, what it must be); each key is optional unless in _REQUIRED
_COMMON_META = {
    "step": (lambda v: _is_int(v) and 0 <= v < 2**62, "a whole number >= 0"),
    "elapsed_s": (lambda v: _is_num(v) and 0 <= v < 1e12, "seconds >= 0"),
    "best_val_loss": (lambda v: v is None or _is_num(v), "a number or null"),
    "last_val_loss": (lambda v: v is None or _is_num(v), "a number or null"),
    "best_step": (lambda v: v is None or (_is_int(v) and v >= 0), "a whole number >= 0"),
    "best_by": (lambda v: isinstance(v, str) and len(v) < 64, "a name"),
    "best_metric": (lambda v: v is None or _is_num(v), "a number or null"),
    "bad_evals": (lambda v: v is None or (_is_int(v) and v >= 0), "a whole number >= 0"),
    "lr_scale": (lambda v: v is None or (_is_num(v) and 0 < v <= 1e6), "a number > 0"),
    "config": (lambda v: isinstance(v, dict), "a table"),
    "task": (lambda v: isinstance(v, str), "a name"),
    "dtype": (lambda v: v in _FLOATS, "float32 or float64"),
}
_REQUIRED = ("step",)


def _check_common_meta(meta: dict[str, Any]) -> str:
    for key in _REQUIRED:
        if key not in meta:
            return f"the metadata has no {key!r}"
    for key, (ok, what) in _COMMON_META.items():
        if key in meta and not ok(meta[key]):
            return f"the metadata's {key!r} is {_short(meta[key])}; it must be {what}"
    return ""


def _short(v: Any) -> str:
    text = json.dumps(v) if not isinstance(v, float) else repr(v)
    return text if len(text) <= 40 else text[:37] + "…"


class MetricsWriter:
    """Event sink appending one JSON object per line to ``metrics.jsonl``; flushed per line so a
    reader in another process sees whole lines as soon as they are written.

    Heavy payloads are sampled so the file stays small on long runs: a hidden-state snapshot at
    most every ``heavy_interval`` seconds, with at most ``max_units`` units per layer (the app gets
    every snapshot in full; the file is for watching from elsewhere and for the record)."""

    def __init__(self, path: Path, heavy_interval: float = 30.0, max_units: int = 128):
        self.heavy_interval = heavy_interval
        self.max_units = max_units
        self._last_heavy: dict[str, float] = {}  # per heavy event type
        self.path = Path(path)
        self.lock: RunLock | None = None  # the run's writer lock, released on close
        import io

        from rnn_tui.safeio import NotRegularFile, open_append

        try:
            raw = open_append(self.path)  # a regular file only: never a FIFO or a device
        except NotRegularFile:
            from rnn_tui.safeio import kind_of

            raise UserError(f"{self.path} is {kind_of(os.stat(self.path).st_mode)}, not a file; "
                            "rnn-tui keeps the run's events there: move it away and try "
                            "again") from None
        torn = False
        try:
            size = os.fstat(raw.fileno()).st_size
            if size:
                with open(self.path, "rb") as f:
                    f.seek(-1, os.SEEK_END)
                    torn = f.read(1) != b"\n"  # a run killed mid-line: start on a fresh line
        except BaseException:
            raw.close()
            raise
        self.failed: OSError | None = None
        self._f = io.TextIOWrapper(raw, encoding="utf-8")
        if torn:
            self._f.write("\n")
            self._f.flush()

    def __call__(self, event: Event) -> None:
        """Append the event. A failed write (disk full, the file system gone read-only) raises
        its OSError once, for the trainer to stop on; the writer then stays quiet."""
        if self.failed is not None:
            return
        d = event.to_dict()
        if d["type"] in ("hidden", "embedding"):
            if event.elapsed_s - self._last_heavy.get(d["type"], -1e18) < self.heavy_interval:
                return
            self._last_heavy[d["type"]] = event.elapsed_s
            m = self.max_units
            for key in ("h", "c"):
                if d.get(key):
                    d[key] = [layer[:m] for layer in d[key]]
            if d.get("gates"):
                d["gates"] = [[g[:m] for g in layer] for layer in d["gates"]]
            if d.get("saturation"):
                d["saturation"] = [[[side[:m] for side in g] for g in layer]
                                   for layer in d["saturation"]]
        line = json.dumps(d, separators=(",", ":"), default=_json_default)
        try:
            self._f.write(line + "\n")
            self._f.flush()
        except OSError as err:
            self.failed = err
            self.close()
            raise

    def close(self) -> None:
        try:
            self._f.close()
        except OSError as err:  # the last flush: the line is lost, the run is not
            if self.failed is None:
                self.failed = err
        if self.lock is not None:  # the run's writer is done with it
            self.lock.release()


def _json_default(v: Any) -> Any:
    """NumPy scalars and arrays as plain JSON values (non-finite floats as null, as for Python
    floats in :func:`~rnn_tui.train.events.Event.to_dict`)."""
    if isinstance(v, (np.generic, np.ndarray)):
        v = v.tolist()
        if isinstance(v, float) and not np.isfinite(v):
            return None
        return v
    raise TypeError(f"{type(v).__name__} is not JSON")


MAX_LINE = 16 << 20  # a line longer than this is not an event rnn-tui wrote: skipped
SKIP_PER_POLL = 256 << 20  # bytes of an overlong line one poll may pass over (cheaply)
_SKIP_CHUNK = 1 << 20


@dataclass
class MetricsReader:
    """Follows a growing ``metrics.jsonl``: each :meth:`poll` returns the events of the whole
    lines added since the last call. A half-written last line waits for its newline.

    The file is untrusted input: a line that is not JSON, not an object, of an unknown type or
    with a field of the wrong type is skipped and counted in :attr:`skipped`. A line longer
    than :data:`MAX_LINE` is skipped too, without holding it in memory and without copying it
    again on every poll: the start of a line is kept as a list of pieces (joined once, when its
    newline arrives), and once it is too long the reader only looks for the next newline, up to
    :data:`SKIP_PER_POLL` bytes a poll. A file that cannot be read (a directory, permission
    denied) is reported in :attr:`error` and polled again later."""

    path: Path
    offset: int = 0
    skipped: int = 0
    error: str = ""
    _parts: list = field(default_factory=list)  # the pieces of the line under way
    _plen: int = 0
    _overlong: bool = False  # inside a line that is too long: passed over to its newline

    def poll(self, max_bytes: int = -1) -> list[Event]:
        """Events of the whole lines added since the last call (at most ``max_bytes`` read, so a
        long file can be caught up with in slices)."""
        try:  # non-blocking, and only a regular file: a FIFO put in its place cannot hang us
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
            with open(fd, "rb") as f:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode):
                    raise IsADirectoryError(21, "not a regular file")
                if self.offset > st.st_size:  # truncated or replaced: start again
                    self.offset, self._overlong = 0, False
                    self._parts, self._plen = [], 0
                f.seek(self.offset)
                if self._overlong and not self._skip(f):
                    return []
                data = f.read(max_bytes)
                # a line longer than the slice: read on to its end (or until it is too long)
                while data and b"\n" not in data and not self._overlong:
                    self.offset += len(data)
                    self._keep(data)
                    data = f.read(_SKIP_CHUNK)
                if self._overlong and not data:
                    return []
                if self._overlong:  # given up on: pass over the rest of it
                    f.seek(self.offset)
                    if not self._skip(f):
                        return []
                    data = f.read(max_bytes)
        except FileNotFoundError:
            return []
        except OSError as err:
            from rnn_tui.safeio import describe_os_error

            self.error = f"cannot read {self.path.name}: {describe_os_error(err)}"
            return []
        self.error = ""
        self.offset += len(data)
        end = data.rfind(b"\n")
        if end < 0:  # no line ends here: keep the piece (unless the line is too long)
            self._keep(data)
            return []
        head, tail = data[:end], data[end + 1:]
        lines = head.split(b"\n")
        if self._parts:
            lines[0] = b"".join((*self._parts, lines[0]))
            self._parts, self._plen = [], 0
        self._keep(tail)
        out = []
        for line in lines:
            if not line.strip():
                continue
            ev = _parse_line(line) if len(line) <= MAX_LINE else None
            if ev is None:
                self.skipped += 1
            else:
                out.append(ev)
        return out

    def _keep(self, piece: bytes) -> None:
        """Hold ``piece`` as part of the line under way, or give the line up as too long."""
        if not piece:
            return
        if self._plen + len(piece) > MAX_LINE:
            self.skipped += 1
            self._parts, self._plen, self._overlong = [], 0, True
            return
        self._parts.append(piece)
        self._plen += len(piece)

    def _skip(self, f) -> bool:
        """Pass over the rest of an overlong line; True once past its newline (``f`` then
        stands at the next line), False while it goes on."""
        passed = 0
        while passed < SKIP_PER_POLL:
            chunk = f.read(_SKIP_CHUNK)
            if not chunk:
                return False
            i = chunk.find(b"\n")
            if i >= 0:
                self.offset += i + 1
                self._overlong = False
                f.seek(self.offset)
                return True
            self.offset += len(chunk)
            passed += len(chunk)
        return False


def _parse_line(line: bytes) -> Event | None:
    try:
        d = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, nested too deeply
        return None
    return event_from_dict(d) if isinstance(d, dict) else None


def checkpoint_path(run: str | Path, which: str = "best") -> tuple[Path, str]:
    """The checkpoint file of a run directory (or a checkpoint file itself) and which one it
    is. ``best`` falls back to the latest where a run has no best weights yet (a run written
    before they were kept, or one that never evaluated)."""
    if which not in CHECKPOINT_CHOICES:
        raise UserError(f"--checkpoint must be best or latest, got {which!r}")
    p = Path(run)
    if not str(run):
        raise UserError("give a run directory (made by `rnn-tui train` or the app)")
    st = stat_run(p)
    if stat.S_ISREG(st.st_mode):
        return p, "file"
    if not stat.S_ISDIR(st.st_mode):
        from rnn_tui.safeio import kind_of

        raise UserError(f"{p} is {kind_of(st.st_mode)}; give a run directory made by "
                        "`rnn-tui train` or a checkpoint file")
    if which == "best":
        try:
            if stat.S_ISREG(os.stat(p / BEST).st_mode):
                return p / BEST, "best"
        except OSError:
            pass  # no best weights: the latest
    return p / CHECKPOINT, "latest"


def stat_run(p: Path) -> os.stat_result:
    """``os.stat`` of a run directory or checkpoint file; a missing one, or one that cannot be
    read, is a :class:`UserError` that says why."""
    from rnn_tui.safeio import stat_path

    try:
        return os.stat(p)
    except FileNotFoundError:
        if not os.path.islink(p):
            raise UserError(f"no run at {p}; give a run directory made by `rnn-tui train`") \
                from None
    except (OSError, ValueError):
        pass
    return stat_path(p, "run")  # says why: a loop of links, permission denied, …
