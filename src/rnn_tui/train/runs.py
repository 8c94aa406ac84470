"""Run directories: ``config.toml``, ``metrics.jsonl``, checkpoints and samples.

Every file is written to a temporary name in the same directory and renamed over the target, so a
crash (or ``kill -9``) never leaves a half-written file. A checkpoint is one ``.npz`` of plain
arrays (loaded with ``allow_pickle=False``) whose ``meta`` entry is UTF-8 JSON: format version,
vocabulary, config, step, optimizer and RNG state.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same directory, fsync, then rename over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def make_run_dir(root: str | Path, name: str | None, task: str) -> Path:
    """Create ``root/name`` (default: ``<task>-YYYYmmdd-HHMMSS``), refusing to reuse a run."""
    root = Path(root)
    if name is None:
        name = f"{task}-{time.strftime('%Y%m%d-%H%M%S')}"
    if not re.fullmatch(r"[\w.-]+", name):
        raise UserError(f"run name {name!r} may only use letters, digits, '.', '_' and '-'")
    path = root / name
    if path.exists():
        raise UserError(f"run directory {path} already exists; pick another --name or use "
                        f"--resume {path}")
    try:
        root.mkdir(parents=True, exist_ok=True)
        path.mkdir()
        probe = path / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise UserError(f"cannot create run directory {path}: {err.strerror}; "
                        "choose a writable place with --runs-dir") from None
    return path


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


def load_checkpoint(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read a checkpoint written by :func:`save_checkpoint`. Anything else (truncated, pickled,
    object arrays, a newer format) is a :class:`UserError`."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT
    if not path.exists():
        raise UserError(f"no checkpoint at {path}; train first, or name a run directory that "
                        "holds checkpoint.npz")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except ValueError as err:
        if "pickle" in str(err).lower() or "object" in str(err).lower():
            raise UserError(f"{path} holds pickled objects; checkpoints are plain arrays only, "
                            "refusing to load it") from None
        raise UserError(f"{path} is not a readable checkpoint ({err})") from None
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as err:
        raise UserError(f"{path} is corrupt or truncated ({type(err).__name__}); resume from "
                        "an earlier copy or start a new run") from None
    for k, v in arrays.items():
        if v.dtype.kind == "O":
            raise UserError(f"{path} holds an object array {k!r}; refusing to load it")
    if "meta" not in arrays:
        raise UserError(f"{path} has no metadata; it was not written by rnn-tui")
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserError(f"{path} has unreadable metadata; it is corrupt") from None
    version = meta.get("format_version") if isinstance(meta, dict) else None
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise UserError(f"{path} was written by a newer rnn-tui (checkpoint format {version}; "
                        f"this one reads formats up to {FORMAT_VERSION}); upgrade rnn-tui "
                        "to open it")
    if version not in READABLE_FORMATS:
        raise UserError(f"{path} is not an rnn-tui checkpoint (format {version!r}); it is "
                        "corrupt or from another program")
    return arrays, meta


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
        torn = False
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb") as f:
                f.seek(-1, os.SEEK_END)
                torn = f.read(1) != b"\n"  # a run killed mid-line: start on a fresh line
        self._f = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - lives with the run
        if torn:
            self._f.write("\n")

    def __call__(self, event: Event) -> None:
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
        self._f.write(json.dumps(d, separators=(",", ":")) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


@dataclass
class MetricsReader:
    """Follows a growing ``metrics.jsonl``: each :meth:`poll` returns the events of the whole
    lines added since the last call. A half-written last line waits for its newline."""

    path: Path
    offset: int = 0
    _partial: bytes = b""

    def poll(self, max_bytes: int = -1) -> list[Event]:
        """Events of the whole lines added since the last call (at most ``max_bytes`` read, so a
        long file can be caught up with in slices)."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read(max_bytes)
        except FileNotFoundError:
            return []
        self.offset += len(data)
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()
        out = []
        for line in lines:
            ev = _parse_line(line)
            if ev is not None:
                out.append(ev)
        return out


def _parse_line(line: bytes) -> Event | None:
    line = line.strip()
    if not line:
        return None
    try:
        d = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return event_from_dict(d) if isinstance(d, dict) else None

