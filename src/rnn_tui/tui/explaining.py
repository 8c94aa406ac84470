"""The app's explanations, computed off the UI thread on a copy of the current weights.

The copy is taken between two training steps (:meth:`~rnn_tui.train.trainer.Trainer.
between_steps`), so training is only delayed by the copy itself; a watched or finished run is
read from its latest checkpoint. One worker thread runs the jobs, the newest of each kind only
(a job asked for again before it started replaces the older one), and hands each result back
to the UI thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rnn_tui.errors import UserError

SNAPSHOT_TIMEOUT = 15.0  # seconds to wait for the training thread to reach a step boundary
REFRESH_S = 4.0  # a fresh copy of the weights at most this often
TRAINING_STATE = ("optimizer", "optimizers", "rng", "rngs", "sample_rng", "batcher")


def take_snapshot(source) -> tuple[dict[str, np.ndarray], dict[str, Any], int]:
    """(parameter arrays copied, checkpoint metadata, classify max_len) of the run a source
    shows: from its trainer between two steps, else from the run directory's checkpoint."""
    trainer = getattr(source, "trainer", None)
    if trainer is not None:
        task = trainer.task

        def copy():
            arrays, meta = task.checkpoint()
            # the weights only: what the training state (optimizer, generators) holds is
            # not needed to explain, and not copied
            return ({k: np.array(v, copy=True) for k, v in arrays.items()
                     if k.startswith("params")},
                    {k: v for k, v in meta.items() if k not in TRAINING_STATE},
                    int(getattr(task, "max_len", 0)))

        return trainer.between_steps(copy).result(timeout=SNAPSHOT_TIMEOUT)
    run_dir = getattr(source, "run_dir", None)
    if run_dir is None:
        raise UserError("no weights yet: the run has not started")
    from rnn_tui.train.runs import CHECKPOINT, load_checkpoint

    path = Path(run_dir) / CHECKPOINT
    if not path.is_file():
        raise UserError("no checkpoint yet: the run saves one as it trains (w saves now)")
    arrays, meta = load_checkpoint(path)
    max_len = 0
    cfg = Path(run_dir) / "config.toml"
    if meta.get("task") == "classify" and cfg.is_file():
        from rnn_tui.config import RunConfig, load_toml

        try:
            max_len = RunConfig.from_dict(load_toml(cfg), str(cfg)).data.max_len
        except UserError:
            pass
    return arrays, meta, max_len


class Explainer:
    """Runs explanation jobs on one worker thread against a model refreshed from the source
    every :data:`REFRESH_S` seconds at most. ``post(fn)`` runs ``fn`` on the UI thread (the
    app's ``call_from_thread``)."""

    def __init__(self, source, post: Callable[[Callable[[], None]], Any]):
        self.source = source
        self.post = post
        self._model = None
        self._model_time = 0.0
        self._jobs: dict[str, tuple[Callable, Callable]] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    def model(self):
        """The current weights as an :class:`~rnn_tui.explain.models.Explainable`."""
        now = time.monotonic()
        if self._model is None or now - self._model_time >= REFRESH_S:
            from rnn_tui.explain.models import from_checkpoint

            arrays, meta, max_len = take_snapshot(self.source)
            if meta.get("task") == "seq2seq":
                from rnn_tui.explain.models import Translator
                from rnn_tui.tasks.seq2seq import Decoder

                self._model = Translator(Decoder.from_checkpoint(arrays, meta))
                self._model_time = now
                return self._model
            if meta.get("task") == "series":
                raise UserError("a series forecasts from a CSV: rnn-tui predict RUN --file "
                                "F.csv")
            self._model = from_checkpoint(arrays, meta, max_len)
            self._model_time = now
        return self._model

    def submit(self, key: str, job: Callable[[Any], Any],
               done: Callable[[Any, str], None]) -> None:
        """Run ``job(model)`` on the worker; then ``done(result, error)`` on the UI thread
        (``error`` a one-line message, or "")."""
        with self._lock:
            self._jobs[key] = (job, done)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="rnn-tui-explain",
                                                daemon=True)
                self._thread.start()
        self._wake.set()

    def close(self) -> None:
        self._closed = True
        self._wake.set()

    def _work(self) -> None:
        while not self._closed:
            self._wake.wait(1.0)
            self._wake.clear()
            while not self._closed:
                with self._lock:
                    if not self._jobs:
                        break
                    key = next(iter(self._jobs))
                    job, done = self._jobs.pop(key)
                try:
                    result, error = job(self.model()), ""
                except UserError as err:
                    result, error = None, str(err)
                except Exception as err:  # shown in the app, never a crash of it
                    result, error = None, f"{type(err).__name__}: {err}"
                try:
                    self.post(lambda d=done, r=result, e=error: d(r, e))
                except Exception:  # the app is closing
                    return
