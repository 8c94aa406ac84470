"""Runs, from the outside: build the task a config asks for, set up a run directory and its
trainer, and open a finished (or running) run from its checkpoints, latest or best.

This sits above :mod:`rnn_tui.train` and :mod:`rnn_tui.tasks`: the trainer never imports a task,
and a new task is one module in :mod:`rnn_tui.tasks` plus one line in :data:`TASK_CLASSES`.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnn_tui.config import RunConfig, load_toml
from rnn_tui.errors import UserError
from rnn_tui.train.runs import BEST, CHECKPOINT, MetricsWriter, load_checkpoint, make_run_dir
from rnn_tui.train.task import Task
from rnn_tui.train.trainer import Trainer, write_config

# data.task -> (module, class)
TASK_CLASSES: dict[str, tuple[str, str]] = {
    "char": ("rnn_tui.tasks.language", "LanguageTask"),
    "word": ("rnn_tui.tasks.language", "LanguageTask"),
    "series": ("rnn_tui.tasks.series", "SeriesTask"),
    "classify": ("rnn_tui.tasks.classify", "ClassifyTask"),
    "tag": ("rnn_tui.tasks.tag", "TagTask"),
}
CHECKPOINT_CHOICES = ("best", "latest")


def task_class(kind: str) -> type[Task]:
    try:
        module, name = TASK_CLASSES[kind]
    except KeyError:
        raise UserError(f"unknown task {kind!r}; known: {', '.join(TASK_CLASSES)}") from None
    return getattr(importlib.import_module(module), name)


def build_task(cfg: RunConfig) -> Task:
    """The task a config asks for (data read and checked, model built)."""
    return task_class(cfg.data.task).from_config(cfg)


def prepare_run(cfg: RunConfig, runs_dir, name: str | None, resume_dir: Path | None, sinks=(),
                on_nonfinite: str = "stop", logs=()):
    """Build the task, restore a checkpoint, make the run directory: (trainer, writer, run_dir).
    ``logs``: formats (``tensorboard``, ``csv``) also written into the run directory as it
    trains, by sinks beside the ``metrics.jsonl`` writer. Every input check happens before
    anything is written."""
    if logs:
        from rnn_tui.interop.logs import check_formats

        logs = check_formats(logs)  # a missing extra is said before anything is built
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
    if logs:
        from rnn_tui.interop.logs import open_log_sinks

        trainer.sinks += open_log_sinks(logs, run_dir)
    write_config(run_dir, cfg)
    return trainer, writer, run_dir


# ---------------------------------------------------------------------- opening a run
def checkpoint_path(run: str | Path, which: str = "best") -> tuple[Path, str]:
    """The checkpoint file of a run directory (or a checkpoint file itself) and which one it
    is. ``best`` falls back to the latest where a run has no best weights yet (a run written
    before they were kept, or one that never evaluated)."""
    if which not in CHECKPOINT_CHOICES:
        raise UserError(f"--checkpoint must be best or latest, got {which!r}")
    p = Path(run)
    if not str(run):
        raise UserError("give a run directory (made by `rnn-tui train` or the app)")
    if p.is_file():
        return p, "file"
    if not p.exists():
        raise UserError(f"no run at {p}; give a run directory made by `rnn-tui train`")
    if which == "best" and (p / BEST).is_file():
        return p / BEST, "best"
    return p / CHECKPOINT, "latest"


@dataclass
class OpenedRun:
    cfg: RunConfig
    task: Task
    meta: dict[str, Any]
    path: Path  # the checkpoint file
    which: str  # best | latest | file


def open_run(run: str | Path, which: str = "best") -> OpenedRun:
    """A run's config and its task restored from the chosen checkpoint."""
    run_dir = Path(run)
    if run_dir.is_file():
        run_dir = run_dir.parent
    cfg_path = run_dir / "config.toml"
    if not cfg_path.is_file():
        raise UserError(f"{run_dir} is not a run directory (no config.toml)")
    cfg = RunConfig.from_dict(load_toml(cfg_path), str(cfg_path)).validate()
    path, kind = checkpoint_path(run, which)
    arrays, meta = load_checkpoint(path)
    task = build_task(cfg)
    task.restore(arrays, meta)
    return OpenedRun(cfg, task, meta, path, kind)


def load_language_model(run: str | Path, which: str = "best"):
    """(LanguageModel, word separator, checkpoint path, which) from a run directory or a
    checkpoint file, without reading the corpus."""
    import numpy as np  # noqa: F401  (the model needs NumPy; keep --help light)

    from rnn_tui.data.text import tokenizer_from_dict
    from rnn_tui.models.language import LanguageModel
    from rnn_tui.tasks.common import network_from_meta

    path, kind = checkpoint_path(run, which)
    arrays, meta = load_checkpoint(path)
    if meta.get("task") not in ("char", "word"):
        raise UserError(f"{run} is a {meta.get('task')} run; generating text needs a language "
                        "model (use `rnn-tui forecast` for series)")
    if meta.get("windows"):  # the tutorials' window model: it generates by sliding its window
        from rnn_tui.tasks.windows import WindowSampler

        opened = open_run(run, which)
        return WindowSampler(opened.task), "", opened.path, opened.which
    net = network_from_meta(arrays, meta)
    tok = tokenizer_from_dict(meta["tokenizer"])
    if tok.vocab_size != net.spec.input_size:
        raise UserError("checkpoint vocabulary does not match its model; the file is corrupt")
    return LanguageModel(tok, net), (" " if meta["task"] == "word" else ""), path, kind
