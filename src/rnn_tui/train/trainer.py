"""The training loop. It runs on the caller's thread (headless) or a worker thread (the app),
obeys pause / resume / one step / stop / sample-now / save-now, and reports everything as events.

It knows tasks only through :class:`~rnn_tui.train.task.Task`. Kernels release the GIL, so the
app stays responsive while a step runs. Step events are averaged and sent about five times a
second (or every ``log_every`` steps); the hidden-state snapshot and the gradient-flow profile at
most once a second, so views and ``metrics.jsonl`` stay small.

After every evaluation that improves on the best validation loss so far, the whole checkpoint is
also written to ``best.npz``; ``checkpoint.npz`` is always the latest state (what ``--resume``
continues). With ``patience`` the run stops after that many evaluations without improvement;
with the ``plateau`` schedule the learning rate halves after half as many.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rnn_tui.config import RunConfig
from rnn_tui.models.training import NonFiniteError
from rnn_tui.train import events as ev
from rnn_tui.train.runs import BEST, CHECKPOINT, atomic_write_text, save_checkpoint
from rnn_tui.train.task import Task

Sink = Callable[[ev.Event], None]

EARLY_STOP = "early stopping"
MEMORISING = ("validation loss rising: the model is memorising the training text "
              "(best {best:.4f} at step {step:,}; best.npz keeps those weights)")


class Trainer:
    def __init__(self, task: Task, cfg: RunConfig, run_dir: Path | None, sinks: list[Sink],
                 on_nonfinite: str = "stop", snapshot_interval: float = 1.0):
        self.task = task
        self.cfg = cfg
        self.run_dir = Path(run_dir) if run_dir else None
        self.sinks = list(sinks)
        self.on_nonfinite = on_nonfinite
        self.snapshot_interval = snapshot_interval
        self.step = 0
        self.elapsed_before = 0.0
        self.best_val: float | None = None
        self.best_step = 0
        self.last_val: float | None = None
        self.bad_evals = 0  # evaluations since the best
        self.lr_scale = 1.0  # the plateau schedule's factor
        self.temperature = cfg.train.temperature
        self._stop = threading.Event()
        self._run = threading.Event()
        self._run.set()
        self._one_step = threading.Event()
        self._sample_now = threading.Event()
        self._save_now = threading.Event()
        self._pause_reason = ""
        self.stop_reason = "stopped"
        self.thread: threading.Thread | None = None
        self.finished = threading.Event()
        self.provenance: dict = {}  # for run_started: the engine, node and trial that ran it
        self._t0 = time.perf_counter()

    # ------------------------------------------------------------------ control (any thread)
    def pause(self) -> None:
        self._run.clear()

    def resume(self) -> None:
        self._run.set()

    def step_once(self) -> None:
        """While paused: train exactly one batch, show it, and stay paused."""
        if self.paused:
            self._one_step.set()

    @property
    def paused(self) -> bool:
        return not self._run.is_set()

    def stop(self, reason: str = "stopped") -> None:
        if not self._stop.is_set():  # the first request names the reason
            self.stop_reason = reason
        self._stop.set()
        self._run.set()

    def sample_now(self) -> None:
        self._sample_now.set()

    def save_now(self) -> None:
        self._save_now.set()

    @property
    def clip(self) -> float:
        return self.cfg.train.clip

    def set_clip(self, value: float) -> None:
        """A new global-norm clipping threshold (0 = off), used from the next step."""
        if value >= 0 and math.isfinite(value):
            self.cfg.train.clip = float(value)

    def set_lr(self, value: float) -> None:
        """A new base learning rate (the schedule still applies on top of it)."""
        if value > 0 and math.isfinite(value):
            self.cfg.train.lr = float(value)

    def start(self) -> threading.Thread:
        self.thread = threading.Thread(target=self.run, name="rnn-tui-trainer", daemon=True)
        self.thread.start()
        return self.thread

    # ------------------------------------------------------------------ loop
    def elapsed(self) -> float:
        return self.elapsed_before + time.perf_counter() - self._t0

    def emit(self, event: ev.Event) -> None:
        event.step = self.step
        event.elapsed_s = round(self.elapsed(), 3)
        for sink in self.sinks:
            sink(event)

    def restore(self, arrays, meta) -> None:
        self.task.restore(arrays, meta)
        self.step = int(meta["step"])
        self.elapsed_before = float(meta.get("elapsed_s", 0.0))
        self.best_val = meta.get("best_val_loss")
        self.best_step = int(meta.get("best_step", 0) or 0)
        self.last_val = meta.get("last_val_loss")
        self.bad_evals = int(meta.get("bad_evals", 0) or 0)
        self.lr_scale = float(meta.get("lr_scale", 1.0) or 1.0)

    def run(self) -> str:
        """Train until done, stopped, out of time, out of patience or failed. Returns the
        reason."""
        cfg, t = self.cfg, self.cfg.train
        task = self.task
        self._t0 = time.perf_counter()
        self.emit(ev.RunStarted(
            run_dir=str(self.run_dir or ""), task=cfg.data.task, config=cfg.to_dict(),
            vocab_size=int(task.run_info().get("vocab_size", 0)),
            parameters=int(task.net.params.data.size), total_steps=t.steps or None,
            time_budget_s=t.time_budget or None, resumed=self.step > 0,
            compute=_compute_description(), views=list(task.views),
            provenance=dict(self.provenance)))
        acc_loss = acc_tokens = acc_steps = 0
        acc_clipped = False
        last_log = last_snap = time.perf_counter()
        acc_t0 = time.perf_counter()
        info = None
        reason = "done"
        try:
            while True:
                if self._stop.is_set():
                    reason = self.stop_reason
                    break
                single = False
                if not self._run.is_set():
                    waited = self._wait_while_paused()
                    self._t0 += waited  # paused time is not training time
                    acc_t0 += waited
                    if self._stop.is_set():
                        continue
                    single = self._one_step.is_set()
                    self._one_step.clear()
                    if not single:
                        self.emit(ev.Resumed())
                if t.steps and self.step >= t.steps:
                    reason = "done"
                    break
                if t.time_budget and self.elapsed() >= t.time_budget:
                    reason = "time budget"
                    break
                task.opt.lr = self.learning_rate()
                try:
                    info, ntok = task.step()
                except NonFiniteError as err:
                    msg = self._divergence_message(str(err))
                    if self.on_nonfinite != "pause":
                        self.emit(ev.Failed(message=msg))
                        self.finished.set()
                        return "failed"
                    self._pause_reason = msg
                    self._run.clear()
                    continue
                self.step += 1
                acc_loss += info.loss
                acc_tokens += ntok
                acc_steps += 1
                acc_clipped |= info.clipped
                now = time.perf_counter()
                due = (self.step % t.log_every == 0) if t.log_every else (now - last_log >= 0.2)
                if due or single:
                    self.emit(self._step_event(info, acc_loss / acc_steps,
                                               acc_tokens / max(now - acc_t0, 1e-9), acc_clipped))
                    acc_loss = acc_tokens = acc_steps = 0
                    acc_clipped = False
                    last_log = acc_t0 = now
                if single or now - last_snap >= self.snapshot_interval:
                    last_snap = now
                    self._snapshots(info)
                if self.step % t.eval_every == 0:
                    if self._evaluate():
                        reason = EARLY_STOP
                        break
                if self.step % t.sample_every == 0 or self._sample_now.is_set():
                    self._sample()
                if self.step % t.checkpoint_every == 0 or self._save_now.is_set():
                    self._save()
                if single:
                    self._pause_reason = f"one step: step {self.step:,}"
        except Exception as err:  # a bug, not bad input: report it, keep the last checkpoint
            self.emit(ev.Failed(message=f"{type(err).__name__}: {err}"))
            self.finished.set()
            raise
        if info is not None and self.step % t.eval_every != 0 and reason != EARLY_STOP:
            self._evaluate(final=True)
        if self.run_dir is not None and self.step > 0:
            self._save()
        self.emit(ev.Finished(reason=reason, best_val_loss=self.best_val,
                              last_val_loss=self.last_val, best_step=self.best_step))
        self.finished.set()
        return reason

    def _wait_while_paused(self) -> float:
        """Say why the run paused, serve sample/save requests, and wait until it resumes, stops
        or one step is asked for. Returns the seconds spent waiting."""
        self.emit(ev.Paused(reason=self._pause_reason or "paused"))
        self._pause_reason = ""
        t0 = time.perf_counter()
        while not self._run.wait(0.05):
            self._handle_requests()
            if self._one_step.is_set():
                break
        return time.perf_counter() - t0

    def progress(self) -> float:
        """Fraction of the run done: by steps when a step count is set (so a seeded run is
        repeatable; the time budget then only stops it), otherwise by time."""
        t = self.cfg.train
        if t.steps:
            return min(self.step / t.steps, 1.0)
        if t.time_budget:
            return min(self.elapsed() / t.time_budget, 1.0)
        return 0.0

    def learning_rate(self) -> float:
        r"""Linear warm-up over ``warmup`` steps, then the schedule: ``cosine`` decays from lr
        to lr/10 over the run, :math:`\eta = \eta_0 (0.1 + 0.45 (1 + \cos \pi p))` with p the
        fraction done; ``plateau`` halves it after every ``max(1, patience // 2)`` evaluations
        without a new best; ``constant`` keeps it."""
        t = self.cfg.train
        lr = t.lr
        if t.warmup and self.step < t.warmup:
            lr *= (self.step + 1) / t.warmup
        if t.lr_schedule == "cosine" and (t.steps or t.time_budget):
            lr *= 0.1 + 0.45 * (1 + math.cos(math.pi * self.progress()))
        elif t.lr_schedule == "plateau":
            lr *= self.lr_scale
        return lr

    def _handle_requests(self) -> None:
        if self._sample_now.is_set():
            self._sample()
        if self._save_now.is_set():
            self._save()

    def _step_event(self, info, loss, tok_s, clipped) -> ev.StepEnded:
        t = self.cfg.train
        left = None
        if t.time_budget:
            left = max(t.time_budget - self.elapsed(), 0.0)
        if t.steps and tok_s > 0:
            by_steps = (t.steps - self.step) * self.task.tokens_per_step / tok_s
            left = by_steps if left is None else min(left, by_steps)
        return ev.StepEnded(
            epoch=self.task.epoch, loss=loss, tokens_per_s=tok_s, lr=self.task.opt.lr,
            grad_norm=info.grad_norm, grad_norms=self.task.net.params.group_grad_norms(),
            clipped=clipped, clip=self.clip, steps_total=t.steps or None, time_left_s=left)

    def _snapshots(self, info) -> None:
        norms = self.task.gradient_flow(info)
        self.emit(ev.GradientFlow(norms=[[float(f"{v:.4g}") for v in row] for row in norms]))
        snap = self.task.hidden_snapshot()
        if snap is not None:
            self.emit(snap)

    def _evaluate(self, final: bool = False) -> bool:
        """Evaluate, keep the best weights, and say when validation keeps rising. Returns True
        when patience has run out."""
        t = self.cfg.train
        val, metrics = self.task.evaluate()
        self.last_val = val
        improved = math.isfinite(val) and (self.best_val is None or val < self.best_val)
        if improved:
            self.best_val, self.best_step, self.bad_evals = val, self.step, 0
        else:
            self.bad_evals += 1
        self.emit(ev.Evaluated(val_loss=val, best_val_loss=self.best_val, metrics=metrics,
                               best_step=self.best_step, evals_since_best=self.bad_evals))
        for extra in self.task.eval_events():
            self.emit(extra)
        if improved:
            self._save(BEST)
        elif self.bad_evals == 2 and self.best_val is not None:
            self.emit(ev.Notice(kind="overfitting",
                                message=MEMORISING.format(best=self.best_val,
                                                          step=self.best_step)))
        if t.lr_schedule == "plateau" and self.bad_evals and \
                self.bad_evals % max(1, t.patience // 2 or 2) == 0:
            self.lr_scale *= 0.5
        return bool(t.patience) and self.bad_evals >= t.patience and not final

    def _sample(self) -> None:
        self._sample_now.clear()
        text = self.task.sample(self.temperature, self.cfg.train.sample_len)
        if text is None:
            return
        self.emit(ev.SampleText(text=text, temperature=self.temperature))
        if self.run_dir is not None:
            with open(self.run_dir / "samples.txt", "a", encoding="utf-8") as f:
                f.write(f"--- step {self.step} (temperature {self.temperature:.2f})\n{text}\n")

    def _save(self, name: str = CHECKPOINT) -> None:
        if name == CHECKPOINT:
            self._save_now.clear()
        if self.run_dir is None:
            return
        arrays, meta = self.task.checkpoint()
        meta.update(step=self.step, elapsed_s=self.elapsed(), best_val_loss=self.best_val,
                    best_step=self.best_step, last_val_loss=self.last_val,
                    bad_evals=self.bad_evals, lr_scale=self.lr_scale, config=self.cfg.to_dict())
        path = self.run_dir / name
        save_checkpoint(path, arrays, meta)
        self.emit(ev.CheckpointSaved(path=str(path), kind="best" if name == BEST else "latest"))

    def _divergence_message(self, detail: str) -> str:
        return (f"training diverged at step {self.step + 1} ({detail}); the weights were not "
                "updated and the last good checkpoint is kept. Lower the learning rate or turn "
                "on gradient clipping (--clip).")


def write_config(run_dir: Path, cfg: RunConfig) -> None:
    atomic_write_text(run_dir / "config.toml", cfg.to_toml())


def _compute_description() -> str:
    from rnn_tui import runtime
    from rnn_tui.core.blas import blas_name

    n = runtime.threads_in_use
    return f"{blas_name()}, {n} thread{'s' if n != 1 else ''}"
