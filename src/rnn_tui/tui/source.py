"""Where the dashboard's events come from: a live run trained in this process, or the
``metrics.jsonl`` of a run trained elsewhere (``rnn-tui watch``).

Both are drained by the app's timer, so the UI thread never blocks on training and the number of
redraws per second is the app's choice, not the trainer's.
"""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections import deque
from pathlib import Path

from rnn_tui.errors import UserError
from rnn_tui.train import events as ev


class EventSource:
    """The interface the dashboard uses. Controls do nothing unless ``live``."""

    live = False
    run_dir: Path | None = None

    def drain(self) -> list[ev.Event]:
        raise NotImplementedError

    def toggle_pause(self) -> None: ...
    def step_once(self) -> None: ...
    def set_lr(self, value: float) -> None: ...
    def set_clip(self, value: float) -> None: ...
    def sample_now(self) -> None: ...
    def save_now(self) -> None: ...
    def set_temperature(self, t: float) -> None: ...
    def stop(self, reason: str = "stopped") -> None: ...

    def join(self, timeout: float | None = None) -> bool:
        return True

    @property
    def temperature(self) -> float:
        return 0.8

    @property
    def learning_rate(self) -> float:
        return 0.0

    @property
    def clip(self) -> float:
        return 0.0


class ReplaySource(EventSource):
    """A fixed list of events (tests, screenshots)."""

    def __init__(self, events: list[ev.Event], run_dir: Path | None = None):
        self.pending = deque(events)
        self.run_dir = run_dir

    def drain(self) -> list[ev.Event]:
        out = list(self.pending)
        self.pending.clear()
        return out


class FileSource(EventSource):
    """Follows a run directory's ``metrics.jsonl`` as it grows (a half-written last line waits
    for its newline)."""

    def __init__(self, run_dir: str | Path):
        from rnn_tui.train.runs import MetricsReader

        self.run_dir = Path(run_dir)
        try:
            is_dir = stat.S_ISDIR(os.stat(self.run_dir).st_mode)
        except FileNotFoundError:
            is_dir = False
        except (OSError, ValueError):
            from rnn_tui.safeio import stat_path

            stat_path(self.run_dir, "run directory")  # says why: permission, a loop of links
            raise
        if not is_dir:
            raise UserError(f"{self.run_dir} is not a directory; give a run directory made by "
                            "`rnn-tui train`")
        if not os.path.lexists(self.run_dir / "metrics.jsonl") and \
                not os.path.lexists(self.run_dir / "config.toml"):
            raise UserError(f"{self.run_dir} is not a run directory (no metrics.jsonl or "
                            "config.toml)")
        metrics = self.run_dir / "metrics.jsonl"
        try:
            mode = os.stat(metrics).st_mode
        except OSError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            from rnn_tui.safeio import kind_of

            raise UserError(f"{metrics} is {kind_of(mode)}, not the run's event file")
        self.reader = MetricsReader(metrics)

    def drain(self) -> list[ev.Event]:
        # a long run's file is caught up with in slices, so no frame waits on parsing it all
        return self.reader.poll(max_bytes=256 * 1024)

    @property
    def skipped(self) -> int:
        """Lines of the file that were not valid events (skipped, shown in the status line)."""
        return self.reader.skipped

    @property
    def error(self) -> str:
        return self.reader.error


class LiveSource(EventSource):
    """Trains on a worker thread; events queue up for the app.

    ``prepared``: (trainer, metrics writer) already built by the command line, which checks every
    input before the app starts. Without it (a new run from the setup screen) the run is built on
    the thread and a bad input arrives as a ``Failed`` event. ``stop`` + ``join`` end the run with
    a checkpoint, exactly like Ctrl-C in ``rnn-tui train``.
    """

    live = True

    def __init__(self, cfg, runs_dir: str | Path = "runs", name: str | None = None,
                 prepared=None):
        self.cfg = cfg
        self.runs_dir = runs_dir
        self.name = name
        self.queue: deque[ev.Event] = deque()
        self.trainer = None
        self.writer = None
        self.run_dir = None
        if prepared is not None:
            self.trainer, self.writer = prepared
            self.trainer.sinks.insert(0, self.queue.append)
            self.run_dir = self.trainer.run_dir
        self._want_stop: str | None = None
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._main, name="rnn-tui-run", daemon=True)
        self.done = threading.Event()

    def start(self) -> None:
        # The training thread takes the GIL for a moment between its GIL-free kernels, a few
        # times a step; with Python's default 5 ms switch interval it could wait that long for
        # the drawing thread each time, a larger share of a step the faster the steps are
        # (GRU-256 in the app: 84.5 % of headless at 5 ms)
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        self.thread.start()

    def _main(self) -> None:
        from rnn_tui.session import prepare_run

        try:
            if self.trainer is None:
                trainer, self.writer, self.run_dir = prepare_run(
                    self.cfg, self.runs_dir, self.name, None, [self.queue.append],
                    on_nonfinite="pause")
                with self._lock:
                    self.trainer = trainer
            with self._lock:
                if self._want_stop is not None:
                    self.trainer.stop(self._want_stop)
            self.trainer.run()
        except UserError as err:
            self.queue.append(ev.Failed(message=str(err)))
        except Exception as err:  # shown in the app; the last checkpoint stays
            self.queue.append(ev.Failed(message=f"{type(err).__name__}: {err}"))
        finally:
            if self.writer is not None:
                self.writer.close()
            if self.trainer is not None and self.trainer.failure:  # could not write: no
                from rnn_tui.session import discard_if_unsaved  # half-made run directory

                discard_if_unsaved(self.trainer)
            self.done.set()

    def drain(self) -> list[ev.Event]:
        out = []
        q = self.queue
        while q:
            out.append(q.popleft())
        return out

    def toggle_pause(self) -> None:
        t = self.trainer
        if t is None:
            return
        if t.paused:
            t.resume()
        else:
            t.pause()

    def step_once(self) -> None:
        if self.trainer is not None:
            self.trainer.step_once()

    @property
    def learning_rate(self) -> float:
        return self.cfg.train.lr

    @property
    def clip(self) -> float:
        return self.cfg.train.clip

    def set_lr(self, value: float) -> None:
        if self.trainer is not None:
            self.trainer.set_lr(value)
        else:
            self.cfg.train.lr = value

    def set_clip(self, value: float) -> None:
        if self.trainer is not None:
            self.trainer.set_clip(value)
        else:
            self.cfg.train.clip = value

    def sample_now(self) -> None:
        if self.trainer is not None:
            self.trainer.sample_now()

    def save_now(self) -> None:
        if self.trainer is not None:
            self.trainer.save_now()

    @property
    def temperature(self) -> float:
        return self.trainer.temperature if self.trainer else self.cfg.train.temperature

    def set_temperature(self, t: float) -> None:
        self.cfg.train.temperature = t
        if self.trainer is not None:
            self.trainer.temperature = t

    def stop(self, reason: str = "stopped") -> None:
        with self._lock:
            self._want_stop = reason
            if self.trainer is not None:
                self.trainer.stop(reason)

    def join(self, timeout: float | None = None) -> bool:
        if self.thread.ident is None:  # never started
            return True
        return self.done.wait(timeout)
