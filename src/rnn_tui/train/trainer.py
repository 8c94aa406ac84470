"""The training loop. It runs on the caller's thread (headless) or a worker thread (the app),
obeys pause / resume / stop / sample-now / save-now, and reports everything as events.

Kernels release the GIL, so the app stays responsive while a step runs. Step events are averaged
and sent about five times a second (or every ``log_every`` steps); the hidden-state snapshot and
the gradient-flow profile at most once a second, so views and ``metrics.jsonl`` stay small.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

from rnn_tui.config import RunConfig
from rnn_tui.models.language import NonFiniteError
from rnn_tui.train import events as ev
from rnn_tui.train.runs import CHECKPOINT, atomic_write_text, save_checkpoint

Sink = Callable[[ev.Event], None]


class Trainer:
    def __init__(self, task, cfg: RunConfig, run_dir: Path | None, sinks: list[Sink],
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
        self.last_val: float | None = None
        self.temperature = cfg.train.temperature
        self._stop = threading.Event()
        self._run = threading.Event()
        self._run.set()
        self._sample_now = threading.Event()
        self._save_now = threading.Event()
        self.stop_reason = "stopped"
        self.thread: threading.Thread | None = None
        self.finished = threading.Event()
        self._t0 = time.perf_counter()

    # ------------------------------------------------------------------ control (any thread)
    def pause(self) -> None:
        if self._run.is_set():
            self._run.clear()

    def resume(self) -> None:
        self._run.set()

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
        self.last_val = meta.get("last_val_loss")

    def run(self) -> str:
        """Train until done, stopped, out of time or failed. Returns the reason."""
        cfg, t = self.cfg, self.cfg.train
        task = self.task
        self._t0 = time.perf_counter()
        self.emit(ev.RunStarted(
            run_dir=str(self.run_dir or ""), task=cfg.data.task, config=cfg.to_dict(),
            vocab_size=getattr(getattr(task, "tokenizer", None), "vocab_size", 0),
            parameters=int(task.net.params.data.size), total_steps=t.steps or None,
            time_budget_s=t.time_budget or None, resumed=self.step > 0,
            compute=_compute_description()))
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
                if not self._run.is_set():
                    self.emit(ev.Paused(reason="paused"))
                    paused_at = time.perf_counter()
                    while not self._run.wait(0.1):
                        self._handle_requests()
                    self._t0 += time.perf_counter() - paused_at  # paused time is not training
                    acc_t0 += time.perf_counter() - paused_at
                    if self._stop.is_set():
                        continue
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
                    return self._blow_up(str(err))
                self.step += 1
                acc_loss += info.loss
                acc_tokens += ntok
                acc_steps += 1
                acc_clipped |= info.clipped
                now = time.perf_counter()
                due = (self.step % t.log_every == 0) if t.log_every else (now - last_log >= 0.2)
                if due:
                    self.emit(self._step_event(info, acc_loss / acc_steps,
                                               acc_tokens / max(now - acc_t0, 1e-9), acc_clipped))
                    acc_loss = acc_tokens = acc_steps = 0
                    acc_clipped = False
                    last_log = acc_t0 = now
                if now - last_snap >= self.snapshot_interval:
                    last_snap = now
                    self._snapshots(info)
                if self.step % t.eval_every == 0:
                    self._evaluate()
                if self.step % t.sample_every == 0 or self._sample_now.is_set():
                    self._sample()
                if self.step % t.checkpoint_every == 0 or self._save_now.is_set():
                    self._save()
        except Exception as err:  # a bug, not bad input: report it, keep the last checkpoint
            self.emit(ev.Failed(message=f"{type(err).__name__}: {err}"))
            self.finished.set()
            raise
        if info is not None and self.step % t.eval_every != 0:
            self._evaluate()
        if self.run_dir is not None and self.step > 0:
            self._save()
        self.emit(ev.Finished(reason=reason, best_val_loss=self.best_val,
                              last_val_loss=self.last_val))
        self.finished.set()
        return reason

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
        r"""Linear warm-up, then cosine decay from lr to lr/10 over the run:
        :math:`\eta = \eta_0 (0.1 + 0.45 (1 + \cos \pi p))`."""
        t = self.cfg.train
        lr = t.lr
        if t.warmup and self.step < t.warmup:
            lr *= (self.step + 1) / t.warmup
        if t.lr_schedule == "cosine" and (t.steps or t.time_budget):
            lr *= 0.1 + 0.45 * (1 + math.cos(math.pi * self.progress()))
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
            clipped=clipped,
            steps_total=t.steps or None, time_left_s=left)

    def _snapshots(self, info) -> None:
        flow = getattr(self.task, "gradient_flow", None)
        norms = flow() if flow is not None else None
        if norms is None:  # many-to-one tasks: the step's own profile is already one loss
            norms = info.dh_norms
        self.emit(ev.GradientFlow(norms=[[float(f"{v:.4g}") for v in row] for row in norms]))
        snap = self.task.hidden_snapshot()
        if snap is not None:
            self.emit(snap)

    def _evaluate(self) -> None:
        val, metrics = self.task.evaluate()
        self.last_val = val
        if math.isfinite(val) and (self.best_val is None or val < self.best_val):
            self.best_val = val
        self.emit(ev.Evaluated(val_loss=val, best_val_loss=self.best_val, metrics=metrics))
        extra = getattr(self.task, "forecast_event", None)
        if extra is not None:
            self.emit(extra())

    def _sample(self) -> None:
        self._sample_now.clear()
        if not hasattr(self.task, "sample_text"):
            return
        text = self.task.sample_text(self.temperature, self.cfg.train.sample_len)
        self.emit(ev.SampleText(text=text, temperature=self.temperature))
        if self.run_dir is not None:
            with open(self.run_dir / "samples.txt", "a", encoding="utf-8") as f:
                f.write(f"--- step {self.step} (temperature {self.temperature:.2f})\n{text}\n")

    def _save(self) -> None:
        self._save_now.clear()
        if self.run_dir is None:
            return
        arrays, meta = self.task.checkpoint()
        meta.update(step=self.step, elapsed_s=self.elapsed(), best_val_loss=self.best_val,
                    last_val_loss=self.last_val, config=self.cfg.to_dict())
        path = self.run_dir / CHECKPOINT
        save_checkpoint(path, arrays, meta)
        self.emit(ev.CheckpointSaved(path=str(path)))

    def _blow_up(self, detail: str) -> str:
        msg = (f"training diverged at step {self.step + 1} ({detail}); the weights were not "
               "updated and the last good checkpoint is kept. Lower the learning rate or turn "
               "on gradient clipping (--clip).")
        if self.on_nonfinite == "pause":
            self.emit(ev.Paused(reason=msg))
            self._run.clear()
            while not self._run.wait(0.1):
                pass
            if not self._stop.is_set():
                return self.run()
        self.emit(ev.Failed(message=msg))
        self.finished.set()
        return "failed"


def write_config(run_dir: Path, cfg: RunConfig) -> None:
    atomic_write_text(run_dir / "config.toml", cfg.to_toml())


def _compute_description() -> str:
    from rnn_tui import runtime
    from rnn_tui.core.blas import blas_name

    n = runtime.threads_in_use
    return f"{blas_name()}, {n} thread{'s' if n != 1 else ''}"
