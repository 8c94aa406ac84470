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
run's ``metrics.jsonl`` through the same code. TensorBoard files are written by ``tensorboardX``
(the ``[tensorboard]`` extra), never TensorFlow or torch.

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


class TensorBoardSink:
    """Event sink writing scalars (and samples, as text) to TensorBoard event files in
    ``logdir``. Wall times are the run's start plus ``elapsed_s``; ``start_time`` fixes the start
    (an export), otherwise it is now minus the first event's ``elapsed_s``."""

    def __init__(self, logdir: Path, start_time: float | None = None, flush_secs: int = 5):
        self.logdir = Path(logdir)
        self.start_time = start_time
        self.flush_secs = flush_secs
        self._writer = None

    def _open(self):
        if self._writer is None:
            tbx = require_tensorboardx()
            self.logdir.mkdir(parents=True, exist_ok=True)
            # tensorboardX names a file by the second it opened it and truncates one of the
            # same name: a second writer within that second (a resumed run, an export of a
            # resumed run) must not reuse it
            suffix = f".{os.getpid()}.{next(_WRITERS)}"
            self._writer = tbx.SummaryWriter(logdir=str(self.logdir), flush_secs=self.flush_secs,
                                             filename_suffix=suffix)
        return self._writer

    def __call__(self, event: ev.Event) -> None:
        if self.start_time is None:
            self.start_time = time.time() - event.elapsed_s
        wall = self.start_time + event.elapsed_s
        values = scalars(event)
        if values:
            w = self._open()
            for tag, v in values.items():
                w.add_scalar(tag, v, global_step=event.step, walltime=wall)
        elif isinstance(event, ev.SampleText) and event.text:
            self._open().add_text("samples", event.text, global_step=event.step, walltime=wall)
        if isinstance(event, ev.Evaluated) and self._writer is not None:
            self._writer.flush()
        if isinstance(event, (ev.Finished, ev.Failed)):
            self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class CsvSink:
    """Event sink appending one CSV row per scalar-carrying event to ``path`` (a resumed run
    appends to the same file), flushed per row."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.columns: list[str] = []
        self._f = None
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
        from rnn_tui.train.runs import atomic_write_text

        self.close()
        if new or not self.path.exists() or not self.path.stat().st_size:
            rows: list[list[str]] = []
            if self.path.exists():
                with open(self.path, newline="", encoding="utf-8") as f:
                    rows = [r for r in csv.reader(f) if r][1:]
            self.columns += new
            atomic_write_text(self.path, to_csv(self.columns, rows))
        self._f = open(self.path, "a", newline="", encoding="utf-8")  # noqa: SIM115

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


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
    Returns (the file or directory written, the number of scalar events)."""
    (fmt,) = check_formats([fmt])
    path, events = read_events(run)
    out = Path(to)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; --format {fmt} writes into a directory")
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
        _make_dir(out)
        from rnn_tui.train.runs import atomic_write_text

        atomic_write_text(out / CSV_NAME, to_csv(columns, lines))
        return out / CSV_NAME, len(rows)
    if out.is_dir() and any(f.name.startswith("events.out.tfevents") for f in out.iterdir()):
        raise UserError(f"{out} already holds TensorBoard event files; export into a new or "
                        "empty directory (TensorBoard would show both)")
    _make_dir(out)
    last = max((e.elapsed_s for e in events), default=0.0)
    sink = TensorBoardSink(out, start_time=os.path.getmtime(path) - last)
    try:
        for e in events:
            sink(e)
    finally:
        sink.close()
    return out, len(with_scalars)


def _make_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create {out}: {err.strerror}") from None
