"""Runs, from the outside: build the task a config asks for, set up a run directory and its
trainer, and open a finished (or running) run from its checkpoints, latest or best.

This sits above :mod:`rnn_tui.train` and :mod:`rnn_tui.tasks`: the trainer never imports a task,
and a new task is one module in :mod:`rnn_tui.tasks` plus one line in :data:`TASK_CLASSES`.
"""

from __future__ import annotations

import errno
import importlib
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnn_tui.config import Layer, RunConfig, load_toml, resolve_config
from rnn_tui.errors import UserError
from rnn_tui.options import COMMAND_LINE, FILE, RECIPE, RUN, Source, flags_to_dict
from rnn_tui.train.runs import (
    BEST,
    CHECKPOINT,
    MetricsWriter,
    checkpoint_path,
    clean_stale_temporaries,
    load_checkpoint,
    lock_run,
    make_run_dir,
    remove_empty_dirs,
    remove_unsaved_run_dir,
    stat_run,
)
from rnn_tui.train.task import Task
from rnn_tui.train.trainer import Trainer, write_config

# data.task -> (module, class)
TASK_CLASSES: dict[str, tuple[str, str]] = {
    "char": ("rnn_tui.tasks.language", "LanguageTask"),
    "word": ("rnn_tui.tasks.language", "LanguageTask"),
    "series": ("rnn_tui.tasks.series", "SeriesTask"),
    "classify": ("rnn_tui.tasks.classify", "ClassifyTask"),
    "tag": ("rnn_tui.tasks.tag", "TagTask"),
    "seq2seq": ("rnn_tui.tasks.seq2seq", "Seq2SeqTask"),
}


def task_class(kind: str) -> type[Task]:
    try:
        module, name = TASK_CLASSES[kind]
    except KeyError:
        raise UserError(f"unknown task {kind!r}; known: {', '.join(TASK_CLASSES)}") from None
    return getattr(importlib.import_module(module), name)


# Another class for a kind of task where a setting asks for it, the first that applies:
# data.task -> [(applies to a config, module, class)]. No task module imports another: the
# choice is made here.
TASK_VARIANTS: dict[str, list[tuple[Callable[[RunConfig], bool], str, str]]] = {
    "char": [(lambda cfg: bool(cfg.data.windows), "rnn_tui.tasks.windows", "WindowTask")],
    "word": [(lambda cfg: bool(cfg.data.windows), "rnn_tui.tasks.windows", "WindowTask")],
    "series": [(lambda cfg: cfg.data.scaling != "auto", "rnn_tui.tasks.window_series",
                "WindowSeriesTask")],
}


def task_class_for(cfg: RunConfig) -> type[Task]:
    """The class that runs ``cfg``: a variant of its task where one applies
    (:data:`TASK_VARIANTS`), else the task's own."""
    for applies, module, name in TASK_VARIANTS.get(cfg.data.task, ()):
        if applies(cfg):
            return getattr(importlib.import_module(module), name)
    return task_class(cfg.data.task)


def build_task(cfg: RunConfig, meta: dict[str, Any] | None = None) -> Task:
    """The task a config asks for (data read and checked, model built). ``meta``: the
    checkpoint it is to be restored from; a language model then reads its text with the
    checkpoint's own vocabulary (a new one is built from the training part of the text, which
    may have been another)."""
    cls = task_class_for(cfg)
    saved = (meta or {}).get("tokenizer")
    if saved is None or cfg.data.task not in ("char", "word"):
        return cls.from_config(cfg)
    from rnn_tui.data.text import tokenizer_from_dict

    try:
        tokenizer = tokenizer_from_dict(saved)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise UserError(f"the checkpoint's vocabulary cannot be read ({type(err).__name__}: "
                        f"{err}); it is corrupt or from another program") from None
    return cls.from_config(cfg, tokenizer=tokenizer)


def prepare_run(cfg: RunConfig, runs_dir, name: str | None, resume_dir: Path | None, sinks=(),
                on_nonfinite: str = "stop", logs=()):
    """Build the task, restore a checkpoint, make the run directory: (trainer, writer, run_dir).
    ``logs``: formats (``tensorboard``, ``csv``) also written into the run directory as it
    trains, by sinks beside the ``metrics.jsonl`` writer. Every input check happens before
    anything is written. A new run directory that cannot get its first files (disk full,
    read-only) is removed again; a resumed one loses its stale temporaries (left by a
    ``kill -9`` in the middle of a write)."""
    if logs:
        from rnn_tui.interop.logs import check_formats

        logs = check_formats(logs)  # a missing extra is said before anything is built
    lock = None
    if resume_dir is not None:  # one writer per run
        try:
            lock = lock_run(resume_dir)
        except OSError as err:
            raise UserError(_unwritable(resume_dir, err, True)) from None
    try:
        return _prepare(cfg, runs_dir, name, resume_dir, sinks, on_nonfinite, logs, lock)
    except BaseException:
        if lock is not None:
            lock.release()
        raise


def _prepare(cfg, runs_dir, name, resume_dir, sinks, on_nonfinite, logs, lock):
    if resume_dir is None:
        absolute_data_paths(cfg)  # config.toml then works from any directory
    source = _resume_source(resume_dir) if resume_dir is not None else None
    fresh = resume_dir is not None and source is None
    saved = load_checkpoint(source) if source is not None else None
    task = build_task(cfg, saved[1] if saved else None)
    trainer = Trainer(task, cfg, None, list(sinks), on_nonfinite=on_nonfinite)
    new_root = None
    if saved is not None:
        restore_checked(trainer.restore, source, *saved)  # refuses a mismatch
        if source.name == BEST:
            trainer.notes.append(f"{resume_dir} has no {CHECKPOINT} (it stopped before its "
                                 f"first one), so it continues from {BEST} (step "
                                 f"{trainer.step:,})")
        run_dir = resume_dir
    elif resume_dir is not None:  # killed before its first checkpoint: it starts afresh
        run_dir = resume_dir
    else:
        new_root = _first_missing(Path(runs_dir))  # --runs-dir made here: removed on failure
        run_dir = make_run_dir(runs_dir, name, cfg.data.task)
        try:
            lock = lock_run(run_dir)
        except OSError as err:
            shutil.rmtree(run_dir, ignore_errors=True)
            remove_empty_dirs(run_dir.parent, new_root)
            raise UserError(_unwritable(run_dir, err, False)) from None
    trainer.run_dir = run_dir
    trainer.created_run_dir = resume_dir is None
    trainer.created_root = new_root if resume_dir is None else None
    writer = None
    try:
        if fresh:
            _start_afresh(run_dir)
        writer = MetricsWriter(run_dir / "metrics.jsonl")
        writer.lock = lock
        if resume_dir is not None:
            clean_stale_temporaries(run_dir)
        write_config(run_dir, cfg)
        if fresh:
            trainer.notes.append(f"{run_dir} had no checkpoint (it stopped before its first "
                                 "one), so it starts again from step 0")
    except (OSError, UserError) as err:
        if writer is not None:
            writer.close()
        lock.release()
        if resume_dir is None:
            shutil.rmtree(run_dir, ignore_errors=True)
            remove_empty_dirs(run_dir.parent, new_root)
        if isinstance(err, UserError):
            raise
        raise UserError(_unwritable(run_dir, err, resume_dir is not None)) from None
    trainer.sinks.append(writer)
    if logs:
        from rnn_tui.interop.logs import open_log_sinks

        trainer.sinks += open_log_sinks(logs, run_dir)
    return trainer, writer, run_dir


DATA_FILES = ("corpus", "val_data", "vocab")  # the [data] settings that may name a file


def absolute_data_paths(cfg: RunConfig) -> None:
    """Files named relative to the current directory (``--corpus data/x.txt``) become absolute,
    so that the run's ``config.toml`` names the same files when it is resumed, evaluated or
    watched from anywhere else. Built-in names are left alone, even where a file of that name
    happens to exist here."""
    from rnn_tui.data.corpora import manifest
    from rnn_tui.data.series import BUILTIN_SERIES

    builtin = set(manifest()) | set(BUILTIN_SERIES)
    for key in DATA_FILES:
        value = getattr(cfg.data, key, "")
        if not isinstance(value, str) or not value or value in builtin:
            continue
        p = Path(value).expanduser()
        try:
            if (p.is_absolute() and p == Path(value)) or not os.path.lexists(p):
                continue
        except (OSError, ValueError):
            continue
        setattr(cfg.data, key, os.path.abspath(p))


def _resume_source(run_dir: Path) -> Path | None:
    """What ``--resume`` continues: ``checkpoint.npz``; or, in a run stopped after its first
    best weights but before its first checkpoint, ``best.npz`` (a whole checkpoint too); or
    nothing (the run starts again)."""
    for name in (CHECKPOINT, BEST):
        if os.path.lexists(run_dir / name):
            return run_dir / name
    return None


def _start_afresh(run_dir: Path) -> None:
    """A run that never saved a checkpoint begins again: its old events (and samples) go, so
    ``watch`` does not show two beginnings; nothing else in the folder is touched."""
    for name in ("metrics.jsonl", "samples.txt"):
        try:
            os.unlink(run_dir / name)
        except FileNotFoundError:
            pass


def _first_missing(path: Path) -> Path | None:
    """The outermost directory of ``path`` that does not exist yet (None when it all does)."""
    missing = None
    p = path.absolute()
    while not os.path.lexists(p):
        missing = p
        if p.parent == p:
            break
        p = p.parent
    return missing


def _unwritable(run_dir: Path, err: OSError, resumed: bool) -> str:
    from rnn_tui.safeio import describe_os_error, storage_advice

    where = f" ({Path(err.filename).name})" if getattr(err, "filename", None) else ""
    if not resumed:
        advice = storage_advice(err)
    elif err.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = "free some space and resume again"
    else:
        advice = "make it writable, or copy the run somewhere writable and resume the copy"
    return f"cannot write to run directory {run_dir}: {describe_os_error(err)}{where}; {advice}"


def discard_if_unsaved(trainer: Trainer) -> bool:
    """Remove the run directory this process created when it never got a checkpoint (a run
    that failed from the start): nothing half-made is left. True when removed."""
    run_dir = trainer.run_dir
    if not trainer.created_run_dir or run_dir is None:
        return False
    return remove_unsaved_run_dir(run_dir, trainer.created_root)


def restore_checked(restore, path: Path, arrays, meta) -> None:
    """``restore(arrays, meta)`` of the checkpoint loaded from ``path``. The file's schema is
    checked on loading and by the task; whatever still does not fit is refused, never a
    traceback."""
    try:
        restore(arrays, meta)
    except UserError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError) as err:
        raise UserError(f"{path} does not fit this run ({type(err).__name__}: {err}); it is "
                        "corrupt or from another program") from None


# ---------------------------------------------------------------------- a run's settings
def config_from_args(args, defaults: dict | None = None,
                     source: Source = COMMAND_LINE) -> RunConfig:
    """A run's config from a command's arguments, through :func:`resolve_config`: defaults
    (``defaults``, the app's, and the task's), then a recipe or the resumed run's config, then
    --config, then the flags (named as ``source``); the memory it needs checked."""
    layers = []
    if getattr(args, "recipe", None):
        from rnn_tui.recipes import get_recipe

        if args.resume:
            raise UserError("--recipe starts a new run; --resume continues one with its own "
                            "settings: give one of them")
        recipe = get_recipe(args.recipe)
        layers.append(Layer(recipe.config, Source(RECIPE, recipe.name)))
    if args.resume:
        from rnn_tui.safeio import stat_path

        resume_dir = Path(args.resume)
        st = stat_path(resume_dir, "run directory")  # not found, a loop, permission denied
        if not stat.S_ISDIR(st.st_mode) or not (resume_dir / "config.toml").is_file():
            raise UserError(f"{resume_dir} is not a run directory (no config.toml); give the "
                            "directory `rnn-tui train` created")
        path = resume_dir / "config.toml"
        layers.append(Layer(load_toml(path), Source(RUN, str(path))))
    if args.config:
        layers.append(Layer(load_toml(args.config), Source(FILE, str(args.config))))
    layers.append(Layer(flags_to_dict(args), source))
    cfg = resolve_config(layers, base=defaults)
    from rnn_tui.memory import check_memory

    check_memory(cfg)  # before the data is read: the vocabulary at its smallest
    return cfg


# ---------------------------------------------------------------------- opening a run
def _load(path: Path, kind: str):
    """load_checkpoint, with a hint when the best weights are the broken ones."""
    try:
        return load_checkpoint(path)
    except UserError as err:
        if kind == "best" and (path.parent / CHECKPOINT).is_file():
            raise UserError(f"{err} (the latest weights may still load: --checkpoint latest)") \
                from None
        raise


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
    if stat.S_ISREG(stat_run(run_dir).st_mode):
        run_dir = run_dir.parent
    cfg_path = run_dir / "config.toml"
    try:
        os.stat(cfg_path)
    except FileNotFoundError:
        raise UserError(f"{run_dir} is not a run directory (no config.toml)") from None
    except (OSError, ValueError):
        pass  # load_toml says why
    cfg = RunConfig.from_dict(load_toml(cfg_path), str(cfg_path)).validate()
    path, kind = checkpoint_path(run, which)
    arrays, meta = _load(path, kind)  # a broken file is refused before the data is read
    task = build_task(cfg, meta)
    restore_checked(task.restore, path, arrays, meta)
    return OpenedRun(cfg, task, meta, path, kind)


def load_language_model(run: str | Path, which: str = "best"):
    """(LanguageModel, word separator, checkpoint path, which) from a run directory or a
    checkpoint file, without reading the corpus."""
    import numpy as np  # noqa: F401  (the model needs NumPy; keep --help light)

    from rnn_tui.data.text import tokenizer_from_dict
    from rnn_tui.models.language import LanguageModel
    from rnn_tui.tasks.common import check_meta, network_from_meta

    path, kind = checkpoint_path(run, which)
    arrays, meta = _load(path, kind)
    if meta.get("task") not in ("char", "word"):
        raise UserError(f"{run} is a {meta.get('task')} run; generating text needs a language "
                        "model (use `rnn-tui forecast` for series)")
    check_meta(arrays, meta, ("spec", "tokenizer"))
    if meta.get("windows"):  # the tutorials' window model: it generates by sliding its window
        from rnn_tui.tasks.windows import WindowSampler

        opened = open_run(run, which)
        return WindowSampler(opened.task), "", opened.path, opened.which
    net = network_from_meta(arrays, meta)
    tok = tokenizer_from_dict(meta["tokenizer"])
    if tok.vocab_size != net.spec.input_size:
        raise UserError("checkpoint vocabulary does not match its model; the file is corrupt")
    return LanguageModel(tok, net), (" " if meta["task"] == "word" else ""), path, kind
