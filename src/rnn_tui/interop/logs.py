"""The training log for other tools: TensorBoard event files and a CSV, beside ``metrics.jsonl``.

The scalars are those of the event stream: a ``step`` event's ``loss``, ``tokens_per_s``,
``lr``, ``grad_norm`` and the gradient norm of each parameter group, and an ``eval`` event's
``val_loss`` and metrics (perplexity, …). Their names, in TensorBoard and as CSV columns:

- ``train/loss``, ``train/tokens_per_s``, ``train/lr``, ``train/grad_norm``,
  ``grad_norm/<group>`` (``embed``, ``l0``, …, ``head``);
- ``eval/val_loss``, ``eval/<metric>`` (``eval/val_ppl``, …), ``eval/train_loss`` when a task
  reports it.

Both writers are event sinks: ``rnn-tui train --log tensorboard`` (or ``csv``) appends them to
the trainer beside the :class:`~rnn_tui.train.runs.MetricsWriter`, writing ``RUN/tensorboard/``
and ``RUN/metrics.csv`` as the run goes; ``rnn-tui export RUN --to DIR --format …`` replays a
run's ``metrics.jsonl`` through the same code. TensorBoard records are made with ``tensorboardX``'s
protocol buffers (the ``[tensorboard]`` extra, never TensorFlow or torch) and written, like the
CSV, through :mod:`rnn_tui.safeio`: an export is one file written whole or not at all.

``metrics.csv`` has one row per event that carries scalars (a ``step`` or an ``eval`` event):
``step``, ``elapsed_s`` (seconds of training), then one column per scalar, empty where that
event has none. A column first seen mid-run (the first evaluation's metrics) widens the file:
it is rewritten once with the new header, atomically; otherwise rows are appended and flushed.
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import os
import socket
import struct
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

from rnn_tui.errors import UserError
from rnn_tui.train import events as ev

FORMATS = ("tensorboard", "csv")
CSV_NAME = "metrics.csv"
TB_DIR = "tensorboard"
EXTRA_HINT = "pip install 'rnn-tui[tensorboard]'"
_WRITERS = itertools.count()


def scalars(event: ev.Event) -> dict[str, float]:
    """The named scalars an event carries (finite numbers only; a NaN loss is left out)."""
    out: dict[str, float] = {}
    if isinstance(event, ev.StepEnded):
        for key in ("loss", "tokens_per_s", "lr", "grad_norm"):
            out[f"train/{key}"] = getattr(event, key)
        for group, v in (event.grad_norms or {}).items():
            out[f"grad_norm/{group}"] = v
    elif isinstance(event, ev.Evaluated):
        out["eval/val_loss"] = event.val_loss
        if event.train_loss is not None:
            out["eval/train_loss"] = event.train_loss
        for key, v in (event.metrics or {}).items():
            out[f"eval/{key}"] = v
    return {k: float(v) for k, v in out.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)}


def check_formats(formats: Iterable[str]) -> list[str]:
    """The log formats asked for, checked (unknown names; tensorboardX missing) before anything
    is written."""
    out = []
    for fmt in formats:
        if fmt not in FORMATS:
            raise UserError(f"unknown log format {fmt!r}; choose tensorboard or csv")
        if fmt == "tensorboard":
            require_tensorboardx()
        if fmt not in out:
            out.append(fmt)
    return out


def require_tensorboardx():
    """The ``tensorboardX`` module, or one line saying which extra to install.

    ``tensorboardX.writer`` tries ``import torch`` when it is imported (only to recognise
    torch tensors, which we never hand it) and so loads all of torch where torch happens to be
    installed: 1.8 s and hundreds of MB for nothing. Unless torch is already loaded, it is
    hidden for the duration of that import (a ``None`` in ``sys.modules`` makes ``import``
    raise ImportError, which tensorboardX expects) and put back afterwards."""
    if "tensorboardX" in sys.modules and sys.modules["tensorboardX"] is not None:
        return sys.modules["tensorboardX"]
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]
    try:
        import tensorboardX
    except ImportError:
        raise UserError(f"TensorBoard logs need the tensorboard extra: {EXTRA_HINT}") from None
    finally:
        if hide and "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]
    return tensorboardX


def open_log_sinks(formats: Sequence[str], run_dir: Path) -> list:
    """Live sinks writing the run's logs into its directory as it trains."""
    sinks: list = []
    for fmt in check_formats(formats):
        if fmt == "tensorboard":
            sinks.append(TensorBoardSink(Path(run_dir) / TB_DIR))
        else:
            sinks.append(CsvSink(Path(run_dir) / CSV_NAME))
    return sinks


def close_sinks(sinks: Iterable) -> None:
    """Close the log sinks among ``sinks`` (the others are left alone)."""
    for sink in sinks:
        if isinstance(sink, (TensorBoardSink, CsvSink)):
            sink.close()


def event_file_name(suffix: str = "") -> str:
    """TensorBoard's name for an event file: ``events.out.tfevents.<seconds>.<host><suffix>``."""
    return f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}{suffix}"


class EventRecords:
    """TensorBoard event records as bytes: tensorboardX's protocol buffers (an ``Event`` around
    a ``Summary``) in TFRecord framing (length, masked CRC-32C of the length, the event, its
    masked CRC-32C). The bytes are written by the caller, through :mod:`rnn_tui.safeio`."""

    def __init__(self):
        tbx = require_tensorboardx()
        from tensorboardX.proto import event_pb2
        from tensorboardX.record_writer import masked_crc32c

        self._summary = tbx.summary
        self._event_pb2 = event_pb2
        self._crc = masked_crc32c

    def record(self, event) -> bytes:
        data = event.SerializeToString()
        header = struct.pack("<Q", len(data))
        return b"".join((header, struct.pack("<I", self._crc(header)), data,
                         struct.pack("<I", self._crc(data))))

    def file_version(self, wall: float) -> bytes:
        """The record every event file starts with."""
        return self.record(self._event_pb2.Event(wall_time=wall, file_version="brain.Event:2"))

    def scalar(self, tag: str, value: float, step: int, wall: float) -> bytes:
        return self.record(self._event_pb2.Event(summary=self._summary.scalar(tag, value),
                                                 step=step, wall_time=wall))

    def text(self, tag: str, text: str, step: int, wall: float) -> bytes:
        return self.record(self._event_pb2.Event(summary=self._summary.text(tag, text),
                                                 step=step, wall_time=wall))

    def of_event(self, event: ev.Event, wall: float) -> bytes:
        """The records of one of our events: its scalars, or a sample as text."""
        values = scalars(event)
        if values:
            return b"".join(self.scalar(tag, v, event.step, wall) for tag, v in values.items())
        if isinstance(event, ev.SampleText) and event.text:
            return self.text("samples", event.text, event.step, wall)
        return b""


class TensorBoardSink:
    """Event sink writing scalars (and samples, as text) to a TensorBoard event file of its own
    in ``logdir``, appended through :func:`rnn_tui.safeio.open_append` and flushed at every
    evaluation and every ``flush_secs``. Wall times are the run's start plus ``elapsed_s``;
    ``start_time`` fixes the start, otherwise it is now minus the first event's
    ``elapsed_s``. A failed write raises its ``OSError`` (the trainer stops on it)."""

    def __init__(self, logdir: Path, start_time: float | None = None, flush_secs: int = 5):
        self.logdir = Path(logdir)
        self.start_time = start_time
        self.flush_secs = flush_secs
        self._records = EventRecords()
        self._f = None
        self._last_flush = 0.0

    def _open(self):
        if self._f is None:
            from rnn_tui.safeio import open_append

            self.logdir.mkdir(parents=True, exist_ok=True)
            # a file of its own per writer: a resumed run adds a second one
            name = event_file_name(f".{os.getpid()}.{next(_WRITERS)}")
            self._f = open_append(self.logdir / name)
            self._f.write(self._records.file_version(time.time()))
            self._last_flush = time.monotonic()
        return self._f

    def __call__(self, event: ev.Event) -> None:
        if self.start_time is None:
            self.start_time = time.time() - event.elapsed_s
        data = self._records.of_event(event, self.start_time + event.elapsed_s)
        if data:
            self._open().write(data)
        if self._f is not None and (isinstance(event, ev.Evaluated) or
                                    time.monotonic() - self._last_flush >= self.flush_secs):
            self._f.flush()
            self._last_flush = time.monotonic()
        if isinstance(event, (ev.Finished, ev.Failed)):
            self.close()

    def close(self) -> None:
        if self._f is not None:
            f, self._f = self._f, None
            f.close()


class CsvSink:
    """Event sink appending one CSV row per scalar-carrying event to ``path`` (a resumed run
    appends to the same file), flushed per row."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.columns: list[str] = []
        self._f = None
        if os.path.lexists(self.path) and not self.path.is_file():  # a FIFO would block
            from rnn_tui.safeio import kind_of

            what = kind_of(os.stat(self.path).st_mode) if self.path.exists() else "a broken link"
            raise UserError(f"{self.path} is {what}, not a file; move it away or log without "
                            "--log csv")
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, newline="", encoding="utf-8") as f:
                header = next(csv.reader(f), [])
            if header[:2] == ["step", "elapsed_s"]:
                self.columns = header[2:]
            else:
                raise UserError(f"{self.path} exists and is not a metrics CSV written by "
                                "rnn-tui; move it away or log without --log csv")

    def __call__(self, event: ev.Event) -> None:
        values = scalars(event)
        if values:
            new = [k for k in values if k not in self.columns]
            if new or self._f is None:
                self._widen(new)
            row = [event.step, repr(float(event.elapsed_s))]
            row += [repr(values[c]) if c in values else "" for c in self.columns]
            csv.writer(self._f, lineterminator="\n").writerow(row)
            self._f.flush()
        if isinstance(event, (ev.Finished, ev.Failed)):
            self.close()

    def _widen(self, new: list[str]) -> None:
        """(Re)open the file for appending; with new columns, rewrite it with the wider
        header first (atomically)."""
        from rnn_tui.safeio import atomic_write, open_append

        self.close()
        if new or not self.path.exists() or not self.path.stat().st_size:
            rows: list[list[str]] = []
            if self.path.exists():
                with open(self.path, newline="", encoding="utf-8") as f:
                    rows = [r for r in csv.reader(f) if r][1:]
            self.columns += new
            atomic_write(self.path, to_csv(self.columns, rows).encode("utf-8"))
        self._f = io.TextIOWrapper(open_append(self.path), encoding="utf-8", newline="")

    def close(self) -> None:
        if self._f is not None:
            f, self._f = self._f, None
            f.close()


def to_csv(columns: list[str], rows: Iterable[list]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["step", "elapsed_s", *columns])
    for r in rows:
        w.writerow(list(r) + [""] * (2 + len(columns) - len(r)))
    return buf.getvalue()


# ---------------------------------------------------------------------------- export
def read_events(run: str | Path) -> tuple[Path, list[ev.Event]]:
    """Every event of a run's ``metrics.jsonl``."""
    from rnn_tui.train.runs import MetricsReader

    p = Path(run)
    if p.is_file():
        p = p.parent
    path = p / "metrics.jsonl"
    if not p.is_dir():
        raise UserError(f"no run at {p}; give a run directory made by `rnn-tui train`")
    if not path.is_file():
        raise UserError(f"{p} has no metrics.jsonl; give a run directory made by `rnn-tui train`")
    return path, MetricsReader(path).poll()


def export_logs(run: str | Path, to: str | Path, fmt: str) -> tuple[Path, int]:
    """Write a run's scalars from its ``metrics.jsonl`` as ``fmt`` into the directory ``to``.
    Returns (the file or directory written, the number of scalar events).

    The whole file is made in memory and written once through
    :func:`rnn_tui.safeio.write_file`: a failure (or a signal) leaves nothing behind, not even
    the directory when this made it, and the export can simply be run again."""
    from rnn_tui.safeio import make_dirs, remove_made_dirs, write_file

    (fmt,) = check_formats([fmt])
    path, events = read_events(run)
    out = Path(to)
    if os.path.lexists(out) and not out.is_dir():
        from rnn_tui.safeio import kind_of

        what = kind_of(os.stat(out).st_mode) if out.exists() else "a broken symbolic link"
        raise UserError(f"{out} is {what}; --format {fmt} writes into a directory")
    with_scalars = [e for e in events if scalars(e)]
    if fmt == "csv":
        columns: list[str] = []
        rows = []
        for e in with_scalars:
            values = scalars(e)
            columns += [k for k in values if k not in columns]
            rows.append((e.step, e.elapsed_s, values))
        lines = [[step, repr(float(el)), *(repr(v[c]) if c in v else "" for c in columns)]
                 for step, el, v in rows]
        data = to_csv(columns, lines).encode("utf-8")
        target = out / CSV_NAME
    else:
        if out.is_dir() and any(f.name.startswith("events.out.tfevents") for f in out.iterdir()):
            raise UserError(f"{out} already holds TensorBoard event files; export into a new "
                            "or empty directory (TensorBoard would show both)")
        records = EventRecords()
        last = max((e.elapsed_s for e in events), default=0.0)
        start = os.path.getmtime(path) - last
        data = records.file_version(start + last) + b"".join(
            records.of_event(e, start + e.elapsed_s) for e in events)
        target = out / event_file_name(f".{os.getpid()}.export")
    made = make_dirs(out)
    try:
        write_file(target, data)
    except BaseException:
        remove_made_dirs(out, made)
        raise
    return (target if fmt == "csv" else out), len(with_scalars)
