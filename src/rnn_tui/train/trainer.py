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

import errno
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import numpy as np

from rnn_tui.config import RunConfig
from rnn_tui.core.fast._jit import compile_seconds
from rnn_tui.models.training import NonFiniteError
from rnn_tui.train import events as ev
from rnn_tui.train.runs import (
    BEST,
    CHECKPOINT,
    atomic_write_text,
    remove_unsaved_run_dir,
    save_checkpoint,
)
from rnn_tui.train.task import Task, checkpoint_optimizers

Sink = Callable[[ev.Event], None]
MAX_RECOVERIES = 8  # divergences a "recover" run survives before it fails
SNAPSHOT_EVERY = 25  # steps between the in-memory copies a recovery rolls back to
EMBEDDING_EVERY = 5  # snapshots between two embedding snapshots
NOTICE_GAP = 10  # evaluations between two "memorising" notices
CLIP_AFTER, RECOVERY_CLIP = 2, 1.0  # from the second recovery on, a run without clipping clips

EARLY_STOP = "early stopping"
INTERRUPTED = "interrupted"  # the reason a signal stops a run with
STOP_GRACE_S = 0.5  # how long a stop request waits on a step under way before giving it up


class Trainer:
    def __init__(self, task: Task, cfg: RunConfig, run_dir: Path | None, sinks: list[Sink],
                 on_nonfinite: str = "stop", snapshot_interval: float = 1.0):
        """``on_nonfinite``: what a step that would make the weights non-finite does: ``stop``
        the run (failed), ``pause`` it with the reason (the app), or ``recover`` (headless
        training: roll back to the weights of a few steps ago, halve the learning rate, say
        so; fail after :data:`MAX_RECOVERIES`)."""
        self.task = task
        self.cfg = cfg
        self.run_dir = Path(run_dir) if run_dir else None
        self.sinks = list(sinks)
        self.on_nonfinite = on_nonfinite
        self.snapshot_interval = snapshot_interval
        self.step = 0
        self.elapsed_before = 0.0
        self.best_val: float | None = None  # the validation loss of the best evaluation
        self.best_score: float | None = None  # what "best" means for the task (lower is better)
        self.best_metric: float | None = None  # the task's best_by measure at the best
        self.best_step = 0
        self.last_val: float | None = None
        self.bad_evals = 0  # evaluations since the best
        self._last_notice = -(10**9)  # step of the last "memorising" notice
        self._snaps = 0
        self.clipped_steps = 0
        self.lr_scale = 1.0  # halved by the plateau schedule and by a recovered divergence
        self.recoveries = 0  # divergences recovered from
        self._good: tuple | None = None  # (weights, optimizer state) a few steps back
        self._good_finite = True  # and whether those weights are finite
        self.temperature = cfg.train.temperature
        self._stop = threading.Event()
        self._calls: deque = deque()  # (fn, Future) to run between steps
        self._calls_lock = threading.Lock()
        self._in_loop = False
        self._run = threading.Event()
        self._run.set()
        self._one_step = threading.Event()
        self._sample_now = threading.Event()
        self._save_now = threading.Event()
        self._pause_reason = ""
        self.stop_reason = "stopped"
        self.stop_requested: float | None = None  # monotonic time of the first stop request
        self.step_started: float | None = None  # monotonic time the step under way began
        self.failure = ""  # why a write failed (disk full, read-only): the run stopped on it
        self.saved_step: int | None = None  # the step of the last checkpoint.npz written
        self.thread: threading.Thread | None = None
        self.finished = threading.Event()
        self.provenance: dict = {}  # for run_started: the engine, node and trial that ran it
        self.notes: list[str] = []  # said at the start, beside the task's own notes
        self.created_run_dir = False  # run_dir was made for this run (removed if it fails
        self.created_root: Path | None = None  # unsaved), and the folders made above it
        self._t0 = time.perf_counter()
        self._paused_since: float | None = None  # the start of a pause under way
        self._compile0 = compile_seconds()

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
            self.stop_requested = time.monotonic()
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

    def stuck_in_step(self, grace: float = STOP_GRACE_S) -> bool:
        """A stop was asked for more than ``grace`` seconds ago and the step under way (begun
        before or since) has not ended: waiting for it would keep the signal from acting."""
        asked, began = self.stop_requested, self.step_started
        if asked is None or began is None:
            return False
        return time.monotonic() - max(asked, began) > grace

    def run_in_background(self, grace: float = STOP_GRACE_S) -> str | None:
        """:meth:`run` on a worker thread while the calling (main) thread waits, so that a
        signal's handler runs at once even inside a long step (a kernel holds the thread that
        calls it, and Python runs handlers only in the main thread). Returns the reason, or
        None when a stop found the run inside a step for longer than ``grace``: the caller
        then leaves without it (the last checkpoint is whole on disk; the steps since it are
        lost). An exception of the run is raised here."""
        done = threading.Event()
        result: dict = {}

        def work() -> None:
            try:
                result["reason"] = self.run()
            except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
                result["error"] = err
            finally:
                done.set()

        self.thread = threading.Thread(target=work, name="rnn-tui-trainer", daemon=True)
        self.thread.start()
        while not done.wait(0.1):
            if self.stuck_in_step(grace):
                return None
        if "error" in result:
            raise result["error"]
        return result["reason"]

    # ------------------------------------------------------------------ loop
    def elapsed(self) -> float:
        """Seconds of training: wall time since the loop started (plus a resumed run's), less
        time paused and time spent compiling kernels (the first start of an install)."""
        compiling = compile_seconds() - self._compile0
        now = time.perf_counter()
        pausing = now - self._paused_since if self._paused_since is not None else 0.0
        return self.elapsed_before + now - self._t0 - compiling - pausing

    def emit(self, event: ev.Event) -> None:
        event.step = self.step
        event.elapsed_s = round(self.elapsed(), 3)
        for sink in self.sinks:
            sink(event)

    def restore(self, arrays, meta) -> None:
        saved = checkpoint_optimizers(meta)
        for group, opt in zip(self.task.parameter_groups(), saved, strict=False):
            mine = group.optimizer.name
            if isinstance(opt, dict) and opt.get("name") != mine:
                from rnn_tui.errors import UserError

                raise UserError(f"the checkpoint was trained with the {opt.get('name')!r} "
                                f"optimizer, this run asks for {mine!r}; resume with "
                                f"--optimizer {opt.get('name')} or start a new run")
        self.task.restore(arrays, meta)
        self.step = int(meta["step"])
        self.saved_step = self.step
        self.elapsed_before = float(meta.get("elapsed_s", 0.0))
        self.best_val = meta.get("best_val_loss")
        self.best_score = meta.get("best_score", self.best_val)
        self.best_metric = meta.get("best_metric", self.best_val)
        self.best_step = int(meta.get("best_step", 0) or 0)
        self.last_val = meta.get("last_val_loss")
        self.bad_evals = int(meta.get("bad_evals", 0) or 0)
        self.lr_scale = float(meta.get("lr_scale", 1.0) or 1.0)

    def between_steps(self, fn: Callable[[], Any]) -> Future:
        """Run ``fn`` on the training thread between two steps (at once when no loop is
        running), where it sees the weights whole and delays training by its own time only:
        e.g. a copy of the weights for an explanation. Returns a Future of its result."""
        fut: Future = Future()
        with self._calls_lock:
            if self._in_loop:
                self._calls.append((fn, fut))
                return fut
        _settle(fut, fn)
        return fut

    def _serve_calls(self) -> None:
        while self._calls:
            with self._calls_lock:
                fn, fut = self._calls.popleft()
            _settle(fut, fn)

    def run(self) -> str:
        """Train until done, stopped, out of time, out of patience or failed. Returns the
        reason. A run that fails (a write fails, it diverges for good, an error is raised)
        before its first checkpoint takes away the run directory it was given to create
        (``created_run_dir``): no half-made run is left behind."""
        with self._calls_lock:
            self._in_loop = True
        try:
            return self._run_guarded()
        finally:
            with self._calls_lock:
                self._in_loop = False
            self._serve_calls()

    def _run_guarded(self) -> str:
        try:
            reason = self._loop()
        except (BrokenPipeError, ConnectionError):
            raise  # the console's reader went away (| head): not the run directory's fault
        except OSError as err:  # the disk filled up, the file system went read-only, …
            reason = self._storage_failure(err)
        except BaseException:
            self._discard_if_unsaved()
            raise
        if reason == "failed":
            self._discard_if_unsaved()
        return reason

    def _discard_if_unsaved(self) -> None:
        if self.created_run_dir and self.run_dir is not None:
            remove_unsaved_run_dir(self.run_dir, self.created_root)

    def _loop(self) -> str:
        cfg, t = self.cfg, self.cfg.train
        task = self.task
        self._t0 = time.perf_counter()
        self._compile0 = compile_seconds()
        task.prepare()
        info_ = task.run_info()
        self.emit(ev.RunStarted(
            run_dir=str(self.run_dir or ""), task=cfg.data.task, config=cfg.to_dict(),
            vocab_size=int(info_.get("vocab_size", 0)),
            notes=list(info_.get("notes", [])) + self.notes,
            parameters=sum(int(g.params.data.size) for g in task.parameter_groups()),
            total_steps=t.steps or None,
            time_budget_s=t.time_budget or None, resumed=self.step > 0,
            compute=_compute_description(), views=list(task.views),
            provenance=dict(self.provenance)))
        if self.on_nonfinite != "stop":
            self._keep_good()
        acc_loss = acc_tokens = acc_steps = 0
        acc_clipped = False
        last_log = last_snap = time.perf_counter()
        acc_t0 = time.perf_counter()
        info = None
        reason = "done"
        try:
            while True:
                self._serve_calls()
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
                if t.epochs and task.epoch >= t.epochs:
                    reason = "done"
                    break
                if t.time_budget and self.elapsed() >= t.time_budget:
                    reason = "time budget"
                    break
                lr = self.learning_rate()
                for group in task.parameter_groups():
                    group.optimizer.lr = lr
                # a snapshot follows this step when one is due now; the weights before it give
                # the model view the update's size
                snap_due = single or time.perf_counter() - last_snap >= self.snapshot_interval
                before = task.parameter_groups()[0].params.data.copy() if snap_due else None
                try:
                    self.step_started = time.monotonic()
                    try:
                        info, ntok = task.step()
                    finally:
                        self.step_started = None
                except NonFiniteError as err:
                    msg = self._divergence_message(str(err))
                    if self.on_nonfinite == "recover" and self.recoveries < MAX_RECOVERIES \
                            and self._good_finite:  # weights that never worked: no use
                        self._recover(err)
                        continue
                    if self.on_nonfinite != "pause":
                        self.emit(ev.Failed(message=msg))
                        self.finished.set()
                        return "failed"
                    self._roll_back()  # so that resuming (after a lower rate or a clip)
                    self._pause_reason = msg  # starts from weights that still work
                    self._run.clear()
                    continue
                self.step += 1
                if self.on_nonfinite != "stop" and self.step % SNAPSHOT_EVERY == 0:
                    self._keep_good()
                acc_loss += info.loss
                acc_tokens += ntok
                acc_steps += 1
                acc_clipped |= info.clipped
                self.clipped_steps += info.clipped
                now = time.perf_counter()
                due = (self.step % t.log_every == 0) if t.log_every else (now - last_log >= 0.2)
                if due or single:
                    self.emit(self._step_event(info, acc_loss / acc_steps,
                                               acc_tokens / max(now - acc_t0, 1e-9), acc_clipped))
                    acc_loss = acc_tokens = acc_steps = 0
                    acc_clipped = False
                    last_log = acc_t0 = now
                if snap_due:
                    last_snap = now
                    self._snapshots(info, before)
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
            if info is not None and self.step % t.eval_every != 0 and \
                    reason not in (EARLY_STOP, INTERRUPTED):  # a signal: save, and go
                self._evaluate(final=True)
            if self.run_dir is not None and self.step > 0:
                self._save()
        except OSError:
            raise  # a storage failure: see run()
        except Exception as err:  # a bug, not bad input: report it, keep the last checkpoint
            self.emit(ev.Failed(message=f"{type(err).__name__}: {err}"))
            self.finished.set()
            raise
        self.emit(ev.Finished(reason=reason, best_val_loss=self.best_val,
                              last_val_loss=self.last_val, best_step=self.best_step,
                              best_by=self.task.best_by, best_metric=self.best_metric))
        self.finished.set()
        return reason

    def _storage_failure(self, err: OSError) -> str:
        """A write failed: say so (the sinks that still can), keep the last good checkpoint
        (every file is written to a temporary name and renamed, so it is whole), stop."""
        from rnn_tui.safeio import describe_os_error, storage_advice

        where = f" ({Path(err.filename).name})" if getattr(err, "filename", None) else ""
        run = self.run_dir or "the run directory"
        if self.saved_step is None:
            kept = f"no checkpoint was saved; {storage_advice(err)}"
        else:
            fix = "free some space" if err.errno in (errno.ENOSPC, errno.EDQUOT) else \
                "make it writable"
            kept = (f"the last good checkpoint (step {self.saved_step:,}) is kept; {fix} (or "
                    f"move the run elsewhere), then continue with: rnn-tui train --resume {run}")
        self.failure = f"cannot write to {run}: {describe_os_error(err)}{where}; {kept}"
        for sink in self.sinks:
            try:
                sink(ev.Failed(step=self.step, elapsed_s=round(self.elapsed(), 3),
                               message=self.failure))
            except OSError:
                pass
        self.finished.set()
        return "failed"

    def _wait_while_paused(self) -> float:
        """Say why the run paused, serve sample/save requests, and wait until it resumes, stops
        or one step is asked for. Returns the seconds spent waiting."""
        self.emit(ev.Paused(reason=self._pause_reason or "paused"))
        self._pause_reason = ""
        t0 = self._paused_since = time.perf_counter()
        try:  # a sample or checkpoint served meanwhile counts the pause out of elapsed too
            while not self._run.wait(0.05):
                self._handle_requests()
                if self._one_step.is_set():
                    break
        finally:
            self._paused_since = None
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
        without a new best; ``constant`` keeps it. A recovered divergence halves it too."""
        t = self.cfg.train
        lr = t.lr
        if t.warmup and self.step < t.warmup:
            lr *= (self.step + 1) / t.warmup
        if t.lr_schedule == "cosine" and (t.steps or t.time_budget):
            lr *= 0.1 + 0.45 * (1 + math.cos(math.pi * self.progress()))
        return lr * self.lr_scale

    def _handle_requests(self) -> None:
        self._serve_calls()
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
        # the gradient buffer holds the latest step's gradient after clipping, which scaled
        # every group alike: scale back, so every norm shown is the one before clipping
        back = info.grad_norm / self.clip if info.clipped and self.clip > 0 else 1.0
        groups = {k: v * back for k, v in self.task.gradient_norms().items()}
        return ev.StepEnded(
            epoch=self.task.epoch, loss=loss, tokens_per_s=tok_s,
            lr=self.task.parameter_groups()[0].optimizer.lr,
            grad_norm=info.grad_norm, grad_norms=groups,
            clipped=clipped, clip=self.clip, clipped_steps=self.clipped_steps,
            steps_total=t.steps or None, time_left_s=left)

    def _snapshots(self, info, before=None) -> None:
        norms = self.task.gradient_flow(info)
        self.emit(ev.GradientFlow(norms=[[float(f"{v:.4g}") for v in row] for row in norms]))
        snap = self.task.hidden_snapshot()
        if snap is not None:
            self.emit(snap)
        model = self.task.model_snapshot(before)
        if model is not None:
            self.emit(model)
        self._snaps += 1
        if self._snaps % EMBEDDING_EVERY == 1:  # the first, then every few
            emb = self.task.embedding_snapshot()
            if emb is not None:
                self.emit(emb)

    def _evaluate(self, final: bool = False) -> bool:
        """Evaluate, keep the best weights, and say when validation keeps rising. Returns True
        when patience has run out."""
        t = self.cfg.train
        val, metrics = self.task.evaluate()
        self.last_val = val
        score = self.task.selection_score(val, metrics)
        improved = math.isfinite(score) and (self.best_score is None or score < self.best_score)
        if improved:
            self.best_val, self.best_score = val, score
            self.best_metric = val if self.task.best_by == "val_loss" else \
                metrics.get(self.task.best_by)
            self.best_step, self.bad_evals = self.step, 0
        else:
            self.bad_evals += 1
        self.emit(ev.Evaluated(val_loss=val, best_val_loss=self.best_val, metrics=metrics,
                               best_step=self.best_step, evals_since_best=self.bad_evals,
                               best_by=self.task.best_by, best_metric=self.best_metric))
        for extra in self.task.eval_events():
            self.emit(extra)
        if improved:
            self._save(BEST)
        elif self.bad_evals == 2 and self.best_val is not None and self.task.held_out and \
                self.step - self._last_notice >= NOTICE_GAP * t.eval_every:
            self._last_notice = self.step
            self.emit(ev.Notice(kind="overfitting", message=self.task.overfitting_message.format(
                best=self.best_val, step=self.best_step)))
        if t.lr_schedule == "plateau" and self.bad_evals and \
                self.bad_evals % max(1, t.patience // 2 or 2) == 0:
            self.lr_scale *= 0.5
        return bool(t.patience) and self.bad_evals >= t.patience and not final

    def _sample(self) -> None:
        self._sample_now.clear()
        sample = self.task.sample(self.temperature, self.cfg.train.sample_len)
        if sample is None:
            return
        self.emit(sample)
        text = sample.text
        if self.run_dir is not None:
            from rnn_tui.safeio import append_text

            append_text(self.run_dir / "samples.txt",
                        f"--- step {self.step} (temperature {self.temperature:.2f})\n{text}\n")

    def _save(self, name: str = CHECKPOINT) -> None:
        if name == CHECKPOINT:
            self._save_now.clear()
        if self.run_dir is None:
            return
        arrays, meta = self.task.checkpoint()
        meta.update(step=self.step, elapsed_s=self.elapsed(), best_val_loss=self.best_val,
                    best_score=self.best_score, best_by=self.task.best_by,
                    best_metric=self.best_metric, best_step=self.best_step,
                    last_val_loss=self.last_val,
                    bad_evals=self.bad_evals, lr_scale=self.lr_scale, config=self.cfg.to_dict())
        path = self.run_dir / name
        save_checkpoint(path, arrays, meta)
        if name == CHECKPOINT:
            self.saved_step = self.step
        self.emit(ev.CheckpointSaved(path=str(path), kind="best" if name == BEST else "latest"))

    def _keep_good(self) -> None:
        self._good = [(g.params.data.copy(), g.optimizer.t,
                       {k: v.copy() for k, v in g.optimizer.state.items()})
                      for g in self.task.parameter_groups()]
        # weights that start non-finite (a recurrent scale past the float type) cannot be
        # recovered to: such a run fails at its first step instead of retrying
        self._good_finite = all(bool(np.isfinite(data).all()) for data, _, _ in self._good)

    def _roll_back(self) -> bool:
        """Back to the weights and optimizer state of the last copy, the carried state
        forgotten. False when there is no copy."""
        self.task.reset_state()
        if self._good is None:
            return False
        for group, (data, t, state) in zip(self.task.parameter_groups(), self._good,
                                           strict=True):
            group.params.data[...] = data
            group.optimizer.t = t
            for k, v in state.items():
                group.optimizer.state[k][...] = v
        return True

    def _recover(self, err: Exception) -> None:
        """A step would have made the weights non-finite; the steps before it may already have
        made them huge. Roll back to the copy of a few steps ago, halve the learning rate (and
        from the second time turn clipping on if it is off), say so, and go on."""
        self.recoveries += 1
        self.lr_scale *= 0.5
        back = "the update was skipped"
        if self._roll_back():
            back = f"the weights were rolled back to those of {SNAPSHOT_EVERY} steps or less ago"
        also = ""
        if self.clip == 0 and self.recoveries >= CLIP_AFTER:  # halving alone has not helped
            self.set_clip(RECOVERY_CLIP)
            also = f"; gradient clipping is now on at {RECOVERY_CLIP:g}"
        self.emit(ev.Notice(kind="diverged", message=(
            f"diverged at step {self.step + 1} ({err}): {back} and the learning rate halved "
            f"to {self.learning_rate():.3g}{also} (recovery {self.recoveries} of "
            f"{MAX_RECOVERIES}); gradient clipping (--clip) prevents this")))

    def _divergence_message(self, detail: str) -> str:
        if self.saved_step is None:
            kept = "it had saved no checkpoint, so there is nothing to keep"
        else:
            kept = "the weights were not updated and the last good checkpoint is kept"
        return (f"training diverged at step {self.step + 1} ({detail}); {kept}. Lower the "
                "learning rate or turn on gradient clipping (--clip).")


def _settle(fut: Future, fn: Callable[[], Any]) -> None:
    try:
        fut.set_result(fn())
    except Exception as err:  # the caller's to handle
        fut.set_exception(err)


def write_config(run_dir: Path, cfg: RunConfig) -> None:
    atomic_write_text(run_dir / "config.toml", cfg.to_toml())


def _compute_description() -> str:
    from rnn_tui import runtime
    from rnn_tui.core.fast.blas import blas_name

    n = runtime.threads_in_use
    return f"{blas_name()}, {n} thread{'s' if n != 1 else ''}"
