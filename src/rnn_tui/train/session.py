"""Setting up a run: the task for a config, a restored checkpoint, the run directory and the
trainer that writes to it. Shared by ``rnn-tui train`` and the app."""

from __future__ import annotations

from pathlib import Path

from rnn_tui.config import RunConfig
from rnn_tui.train.runs import MetricsWriter, load_checkpoint, make_run_dir
from rnn_tui.train.trainer import Trainer, write_config


def build_task(cfg: RunConfig):
    """The task a config asks for (corpus read and checked, model built)."""
    if cfg.data.task in ("char", "word"):
        from rnn_tui.train.tasks import LanguageTask

        return LanguageTask.from_config(cfg)
    from rnn_tui.train.tasks import SeriesTask

    return SeriesTask.from_config(cfg)


def prepare_run(cfg: RunConfig, runs_dir, name: str | None, resume_dir: Path | None, sinks=(),
                on_nonfinite: str = "stop"):
    """Build the task, restore a checkpoint, make the run directory: (trainer, writer, run_dir).
    Every input check happens before anything is written."""
    task = build_task(cfg)
    trainer = Trainer(task, cfg, None, list(sinks), on_nonfinite=on_nonfinite)
    if resume_dir is not None:
        trainer.restore(*load_checkpoint(resume_dir))  # refuses a mismatched checkpoint
        run_dir = resume_dir
    else:
        run_dir = make_run_dir(runs_dir, name, cfg.data.task)
    trainer.run_dir = run_dir
    writer = MetricsWriter(run_dir / "metrics.jsonl")
    trainer.sinks.append(writer)
    write_config(run_dir, cfg)
    return trainer, writer, run_dir
