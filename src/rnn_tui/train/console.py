"""Console sink for headless runs: a Rich progress line, evaluations and samples as they come."""

from __future__ import annotations

import math
import sys

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from rnn_tui.errors import error_line, markup_safe, visible
from rnn_tui.train import events as ev
from rnn_tui.train.events import best_phrase, fmt_num


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


class ConsoleSink:
    def __init__(self, console: Console | None = None, show_samples: bool = True):
        # soft_wrap: a line is one line in a log file or a pipe (the terminal wraps its own)
        self.console = console or Console(stderr=False, highlight=False, soft_wrap=True)
        self.show_samples = show_samples
        self.progress: Progress | None = None
        self.bar = None
        self.total = None

    def __call__(self, e: ev.Event) -> None:
        c = self.console
        if isinstance(e, ev.RunStarted):
            what = "resuming" if e.resumed else "training"
            c.print(f"[bold]{what}[/] {e.task} model, {e.parameters:,} parameters"
                    + (f", vocabulary {e.vocab_size}" if e.vocab_size else "")
                    + (f" ({e.compute})" if e.compute else "")
                    + (f" → {markup_safe(e.run_dir)}" if e.run_dir else ""))
            for note in e.notes:
                c.print(f"[dim]note: {markup_safe(note)}[/]", highlight=False)
            total = e.total_steps or e.time_budget_s
            self.total = total if isinstance(total, (int, float)) and 0 < total < 1e12 else None
            self.by_time = not e.total_steps
            self.progress = Progress(
                TextColumn("[progress.description]{task.description}"), BarColumn(),
                TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                console=c, transient=True, disable=not c.is_terminal)
            self.progress.start()
            self.bar = self.progress.add_task("starting (compiling kernels on first run)…",
                                              total=self.total or None)
        elif isinstance(e, ev.StepEnded) and self.progress is not None:
            done = e.elapsed_s if self.by_time else e.step
            tok_s = e.tokens_per_s / 1000 if _finite(e.tokens_per_s) else None
            self.progress.update(self.bar, completed=done if _finite(done) else 0, description=(
                f"step {e.step} · loss {fmt_num(e.loss)} · {fmt_num(tok_s, '.1f')}k tok/s · "
                f"|g| {fmt_num(e.grad_norm, '.2f')}"))
        elif isinstance(e, ev.Evaluated):
            extra = " ".join(f"{k.replace('seasonal_naive', 'snaive')} {fmt_num(v, '.2f')}"
                             for k, v in e.metrics.items())
            best = fmt_num(e.best_val_loss, '.4f') if e.best_by == "val_loss" else \
                f"{e.best_by} {fmt_num(e.best_metric, '.4f')} at step {e.best_step:,}"
            c.print(f"step {e.step:>6}  {fmt_num(e.elapsed_s, '7.1f')}s  val_loss "
                    f"{fmt_num(e.val_loss, '.4f')}  (best {best})  {extra}", highlight=False)
        elif isinstance(e, ev.SampleText) and self.show_samples:
            c.print(f"[dim]--- sample at step {e.step} (temperature "
                    f"{fmt_num(e.temperature, '.2f')})[/]")
            c.print(visible(e.text, keep="\n\t"), markup=False, highlight=False)
        elif isinstance(e, ev.Notice):
            c.print(f"[yellow]{markup_safe(e.message)}[/]", highlight=False)
        elif isinstance(e, ev.CheckpointSaved):
            pass
        elif isinstance(e, ev.Failed):
            self._stop()
            print(error_line(e.message), file=sys.stderr)
        elif isinstance(e, ev.Finished):
            self._stop()
            best = best_phrase(e.best_by, e.best_metric, e.best_val_loss,
                               e.best_step if e.best_val_loss is not None else None, "n/a")
            c.print(f"finished ({e.reason}) after {e.step} steps, {fmt_num(e.elapsed_s, '.1f')}s;"
                    f" best {best}")
            if e.reason == "early stopping":
                c.print("stopped early: the held-out score stopped improving (--patience); "
                        "best.npz keeps the best weights, which sample and evaluate use")

    def _stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
