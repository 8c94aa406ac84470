"""What the dashboard knows about a run, rebuilt from the event stream.

Pure Python and no Textual: the live app, ``rnn-tui watch`` and the tests feed it the same events.
:meth:`RunState.apply` returns the names of the aspects an event changed, so each view redraws
only when its own data moved.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from rnn_tui.train import events as ev
from rnn_tui.train.events import fmt_num


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)

MAX_POINTS = 4000  # loss points kept; older ones are thinned two to one
MAX_GROUPS = 64  # gradient-norm lines kept (a network has layers + 2; a file may claim more)
HISTORY = 12  # hidden-state snapshots kept for the neuron view


@dataclass
class Series:
    """x/y points that thin themselves (every other old point dropped) past ``MAX_POINTS``."""

    xs: list[float] = field(default_factory=list)
    ys: list[float] = field(default_factory=list)

    def add(self, x: float, y: float) -> None:
        self.xs.append(x)
        self.ys.append(y)
        if len(self.xs) > MAX_POINTS:
            half = len(self.xs) // 2
            self.xs[:half] = self.xs[:half:2]
            self.ys[:half] = self.ys[:half:2]

    def __len__(self) -> int:
        return len(self.xs)


@dataclass
class RunState:
    started: ev.RunStarted | None = None
    last_step: ev.StepEnded | None = None
    loss: Series = field(default_factory=Series)
    val: Series = field(default_factory=Series)
    grads: dict[str, Series] = field(default_factory=dict)
    grad_total: Series = field(default_factory=Series)  # global norm before clipping
    clipped_at: Series = field(default_factory=Series)  # the points of clipped steps
    clip: float = 0.0
    clipped_steps: int = 0
    embedding: ev.EmbeddingSnapshot | None = None
    flow: ev.GradientFlow | None = None
    hidden: ev.HiddenSnapshot | None = None
    model: ev.ModelSnapshot | None = None
    # the latest snapshots' tokens, h and c (no gates), newest last: the neuron view shows as
    # many passages as its panel holds
    hidden_history: deque = field(default_factory=lambda: deque(maxlen=HISTORY))
    samples: deque = field(default_factory=lambda: deque(maxlen=12))
    notices: deque = field(default_factory=lambda: deque(maxlen=20))
    forecast: ev.ForecastUpdate | None = None
    classify: ev.ClassifyUpdate | None = None
    tag: ev.TagUpdate | None = None
    seq2seq: ev.Seq2SeqUpdate | None = None
    accuracy: Series = field(default_factory=Series)  # held-out accuracy per evaluation
    train_accuracy: Series = field(default_factory=Series)
    baselines: dict[str, float] = field(default_factory=dict)
    last_eval: ev.Evaluated | None = None
    status: str = "starting"  # starting | training | paused | finished | failed
    message: str = ""
    checkpoint: str = ""
    elapsed_s: float = 0.0
    step: int = 0

    def apply(self, e: ev.Event) -> set[str]:
        """Fold one event in; return the aspects that changed."""
        self.step = max(self.step, e.step)
        if _is_num(e.elapsed_s) and math.isfinite(e.elapsed_s):
            self.elapsed_s = max(self.elapsed_s, e.elapsed_s)
        if isinstance(e, ev.RunStarted):
            if e.resumed or self.started is None:
                self.started = e
            self.status = "compiling"
            self.message = ""
            return {"status", "run"}
        if isinstance(e, ev.StepEnded):
            self.last_step = e
            if self.status in ("starting", "compiling"):
                self.status = "training"
            self.loss.add(e.step, e.loss)
            for name, v in e.grad_norms.items():
                if name in self.grads or len(self.grads) < MAX_GROUPS:
                    self.grads.setdefault(name, Series()).add(e.step, v)
            self.grad_total.add(e.step, e.grad_norm)
            if e.clipped:
                self.clipped_at.add(e.step, e.grad_norm)
            self.clip, self.clipped_steps = e.clip, e.clipped_steps
            return {"status", "loss", "grads"}
        if isinstance(e, ev.Evaluated):
            self.last_eval = e
            self.val.add(e.step, e.val_loss)
            m = e.metrics
            if "exact_match" in m:  # seq2seq: exact match beside the copy baseline
                self.accuracy.add(e.step, m["exact_match"])
                if "copy_exact_match" in m:
                    self.baselines["copy"] = m["copy_exact_match"]
                return {"status", "loss", "val", "labelled"}
            if "accuracy" in m:
                self.accuracy.add(e.step, m["accuracy"])
                if m.get("train_accuracy") is not None:
                    self.train_accuracy.add(e.step, m["train_accuracy"])
                for key in ("majority_accuracy", "naive_bayes_accuracy", "baseline_accuracy"):
                    if key in m:
                        self.baselines[key.removesuffix("_accuracy")] = m[key]
                return {"status", "loss", "val", "labelled"}
            return {"status", "loss", "val"}
        if isinstance(e, ev.GradientFlow):
            self.flow = e
            return {"flow"}
        if isinstance(e, ev.HiddenSnapshot):
            self.hidden = e
            self.hidden_history.append(ev.HiddenSnapshot(step=e.step, tokens=e.tokens, h=e.h,
                                                          c=e.c))
            return {"hidden"}
        if isinstance(e, ev.ModelSnapshot):
            self.model = e
            return {"hidden"}  # drawn in the hidden-state panel, at its rate
        if isinstance(e, ev.EmbeddingSnapshot):
            self.embedding = e
            return {"embedding"}
        if isinstance(e, ev.SampleText):
            self.samples.append(e)
            return {"sample"}
        if isinstance(e, ev.ForecastUpdate):
            self.forecast = e
            return {"forecast"}
        if isinstance(e, ev.ClassifyUpdate):
            self.classify = e
            return {"labelled"}
        if isinstance(e, ev.TagUpdate):
            self.tag = e
            return {"labelled"}
        if isinstance(e, ev.Seq2SeqUpdate):
            self.seq2seq = e
            return {"labelled"}
        if isinstance(e, ev.CheckpointSaved):
            self.checkpoint = e.path
            return {"status"}
        if isinstance(e, ev.Paused):
            self.status = "paused"
            self.message = "" if e.reason == "paused" else e.reason
            return {"status"}
        if isinstance(e, ev.Resumed):
            self.status = "training"
            self.message = ""
            return {"status"}
        if isinstance(e, ev.Finished):
            self.status = "finished"
            self.message = f"finished ({e.reason})"
            return {"status"}
        if isinstance(e, ev.Notice):
            self.notices.append(e)
            return {"notice"}
        if isinstance(e, ev.Failed):
            self.status = "failed"
            self.message = e.message
            return {"status"}
        return set()

    @property
    def task(self) -> str:
        return self.started.task if self.started else ""

    @property
    def views(self) -> tuple[str, ...]:
        """The task's own panels; a run recorded before runs named them: by its task."""
        if self.started is None:
            return ()
        if self.started.views:
            return tuple(self.started.views)
        return ("forecast",) if self.started.task == "series" else ("text",)

    @property
    def layers(self) -> int:
        return len(self.hidden.h) if self.hidden else 0

    def status_line(self, width: int = 0, extra: tuple[tuple[int, str], ...] = ()) -> str:
        """One line: the state (and why it paused, failed or finished), step, loss, validation
        loss and accuracy, elapsed, time left, tokens/s, … With a ``width``, the least
        important parts are dropped until it fits (the numbers of learning last), then the
        line is cut. ``extra``: (rank, text) parts of the caller's (0 kept longest)."""
        s = self.last_step
        running = self.status in ("training", "paused", "starting", "compiling")
        head = self.status.upper() if self.status != "training" else "training"
        msg = self.message
        if self.status == "finished" and msg.startswith("finished"):
            head, msg = "FINISHED" + msg[len("finished"):], ""
        # (rank, text): the highest rank is dropped first when the line does not fit
        parts = [(0, head)]
        if msg and self.status in ("paused", "failed"):
            parts.append((0, msg.removesuffix(f": step {self.step:,}")))  # said once
        parts.append((0, f"step {self.step:,}"))
        if s is not None:
            parts.append((1, f"loss {fmt_num(s.loss)}"))
        if self.last_eval is not None:
            m = self.last_eval.metrics
            parts.append((1, f"val {fmt_num(self.last_eval.val_loss)}"))
            if m.get("accuracy") is not None:
                parts.append((1, f"acc {fmt_num(m['accuracy'])}"))
            if m.get("val_ppl") is not None:
                ppl = f"ppl {fmt_num(m['val_ppl'], '.2f')}"
                if m.get("unigram_ppl") is not None:
                    ppl += f" (unigram {fmt_num(m['unigram_ppl'], '.1f')})"
                parts.append((4, ppl))
        if s is not None and running:
            tok_s = s.tokens_per_s / 1000 if _is_num(s.tokens_per_s) else None
            parts += [(3, f"{fmt_num(tok_s, '.1f')}k tok/s"), (5, f"lr {fmt_num(s.lr, '.1e')}"),
                      (6, f"epoch {s.epoch}")]
        if s is not None and s.clip > 0 and self.clipped_steps:
            parts.append((4, f"clipped {self.clipped_steps:,}"))
        parts.append((2, f"elapsed {fmt_time(self.elapsed_s)}"))
        if s is not None and s.time_left_s is not None and running:
            parts.append((2, f"{fmt_time(s.time_left_s)} left"))
        parts += list(extra)
        while True:
            line = " · ".join(p for _, p in parts)
            if not width or len(line) <= width:
                return line
            worst = max(r for r, _ in parts)
            if worst == 0:
                return line[: max(width - 1, 0)] + "…"
            parts = [x for x in parts if x[0] != worst]


def fmt_time(s: float) -> str:
    """H:MM:SS or M:SS; a value that is not a finite number of seconds shows as ``–``."""
    if not _is_num(s) or not math.isfinite(s):
        return "–"
    s = int(min(max(s, 0), 359_999_999))  # at most 99,999 hours
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
