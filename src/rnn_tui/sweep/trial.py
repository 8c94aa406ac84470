"""What runs on a Ray worker: one trial (an ordinary run), and the sweep's stop flag.

A trial is the same call ``rnn-tui train`` makes: :func:`rnn_tui.session.prepare_run` builds
the task and the run directory, and :meth:`Trainer.run` trains, writing ``config.toml``,
``metrics.jsonl`` and the checkpoints, on its own thread with one BLAS thread. The only sink
added is the one that hands each ``eval`` event to Ray Tune: every evaluation becomes one Tune
result (``val_loss``), which is what the early-stopping scheduler (ASHA) compares.

When Tune stops a trial (ASHA decided it is behind) or the sweep is interrupted, the trainer is
asked to stop and the trial waits until it has evaluated and written its final checkpoint, so
every trial that started ends with a checkpoint that ``rnn-tui train --resume`` continues.

This module imports Ray; only ``rnn-tui sweep`` (and Ray's workers) load it.
"""

from __future__ import annotations

import json
import os
import queue
import socket
import threading
from pathlib import Path
from typing import Any

import ray
from ray import tune

from rnn_tui.sweep.record import SWEEP_FILE

STOP_POLL_S = 0.5
CONTROL_PREFIX = "rnn-tui-sweep-"


@ray.remote(num_cpus=0)
class SweepStop:
    """The sweep's stop flag, seen from every node: Ctrl-C in the driver creates this named
    actor; each running trial looks for it twice a second and, once it exists, stops with a
    checkpoint, and a trial that had not started yet ends without starting. (Created only
    then, so a sweep that is not interrupted starts no process for it.)"""

    def ping(self) -> bool:
        return True


def request_stop(sweep_id: str):
    """Raise the flag (from the driver); keep the returned handle until the sweep ends."""
    return SweepStop.options(name=control_name(sweep_id)).remote()


def stop_requested(sweep_id: str) -> bool:
    try:
        ray.get_actor(control_name(sweep_id))
    except ValueError:
        return False
    return True


def control_name(sweep_id: str) -> str:
    return CONTROL_PREFIX + sweep_id


def sweep_dir_reachable(sweep_dir: str, sweep_id: str) -> bool:
    """True where this node sees the sweep's folder (the same machine, or a shared file system
    mounted at the same path): its ``sweep.json`` carries this sweep's id."""
    try:
        data = json.loads((Path(sweep_dir) / SWEEP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("id") == sweep_id and \
        os.access(sweep_dir, os.W_OK)


def provenance(trial_id: str, trial_name: str, sweep_id: str) -> dict[str, Any]:
    """Where a trial ran, for its ``run_started`` event."""
    import rnn_tui

    ctx = ray.get_runtime_context()
    return {"engine": "ray", "node": socket.gethostname(),
            "node_ip": ray.util.get_node_ip_address(), "node_id": ctx.get_node_id(),
            "pid": os.getpid(), "trial_id": trial_id, "trial": trial_name, "sweep_id": sweep_id,
            "ray": ray.__version__, "package": str(Path(rnn_tui.__file__).parent)}


class RunTrial(tune.Trainable):
    """One sweep trial: ``config["trial"]`` holds its name, its run config and the sweep's
    folder and id. Each :meth:`step` returns the next evaluation (or the end)."""

    def setup(self, config: dict[str, Any]) -> None:
        from rnn_tui.config import RunConfig
        from rnn_tui.runtime import configure_threads
        from rnn_tui.session import prepare_run

        spec = config["trial"]
        self.name = spec["name"]
        self.sweep_id = spec["sweep_id"]
        self.events: queue.Queue = queue.Queue()
        self.trainer = self.writer = None
        self.last_step = None
        self.best = None
        self.not_started = self._stopping()
        if self.not_started:  # the sweep was interrupted before this trial's turn
            return
        configure_threads(1)  # one trial per core, one BLAS thread each
        cfg = RunConfig.from_dict(spec["config"], "sweep trial").validate()
        sweep_dir = spec["sweep_dir"]
        root = Path(sweep_dir) if sweep_dir_reachable(sweep_dir, self.sweep_id) else \
            Path(self.logdir)  # elsewhere: Ray syncs the trial's folder to storage_path
        self.trainer, self.writer, self.run_dir = prepare_run(
            cfg, root, self.name, None, [self._on_event])
        self.trainer.provenance = provenance(self.trial_id, self.trial_name, self.sweep_id)
        self.trainer.start()
        threading.Thread(target=self._watch_stop, name="rnn-tui-sweep-stop",
                         daemon=True).start()

    def _watch_stop(self) -> None:
        """Twice a second: has the sweep been interrupted? Then stop with a checkpoint."""
        t = self.trainer
        while not t.finished.wait(STOP_POLL_S):
            if self._stopping():
                t.stop("interrupted")
                return

    # ------------------------------------------------------------------ events -> results
    def _on_event(self, e) -> None:  # on the trainer's thread
        kind = e.type
        if kind == "step":
            self.last_step = e
        elif kind in ("eval", "finished", "failed"):
            self.events.put(e)

    def _stopping(self) -> bool:
        try:
            return stop_requested(self.sweep_id)
        except Exception:  # noqa: BLE001 - the cluster is going away: so is this trial
            return False

    def _result(self, e, **extra) -> dict[str, Any]:
        s = self.last_step
        out = {"step": e.step, "elapsed_s": e.elapsed_s, "run_dir": str(self.run_dir),
               "tokens_per_s": s.tokens_per_s if s else None,
               "train_loss": s.loss if s else None}
        out.update(extra)
        return out

    def step(self) -> dict[str, Any]:
        if self.not_started:
            return {"done": True, "not_started": True}
        while True:
            e = self.events.get()
            if e.type == "eval":
                self.best = e.best_val_loss
                return self._result(e, val_loss=e.val_loss, best_val_loss=e.best_val_loss,
                                    metrics=dict(e.metrics))
            if e.type == "failed":
                self._close(wait=True)
                raise RuntimeError(e.message)
            # finished: its last evaluation was the previous result
            self._close(wait=True)
            return self._result(e, val_loss=e.last_val_loss, best_val_loss=e.best_val_loss,
                                reason=e.reason, done=True)

    def save_checkpoint(self, checkpoint_dir: str) -> dict[str, Any]:
        """Tune's checkpoint of a trial is a pointer: the run directory holds the real ones."""
        return {"run_dir": str(getattr(self, "run_dir", ""))}

    def load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        pass

    def _close(self, wait: bool) -> None:
        t = self.trainer
        if t is None:
            return
        if wait and t.thread is not None:
            t.thread.join()
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def cleanup(self) -> None:
        """Tune stops the trial (the scheduler, or the end of the sweep): stop the trainer and
        wait for its final evaluation and checkpoint before the worker goes."""
        t = self.trainer
        if t is not None and not t.finished.is_set():
            t.stop("interrupted" if self._stopping() else "early stopping (scheduler)")
        self._close(wait=True)
