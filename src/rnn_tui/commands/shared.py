"""What most commands share: the options they add to their parsers (every run setting, a
recipe, logs, which checkpoint, the app's look), the theme check of the commands that open an
app, the line naming the weights a command uses, and run names."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rnn_tui.errors import UserError, visible
from rnn_tui.options import SECTIONS, add_flags


def add_train_flags(p, switches: bool = True, sections=SECTIONS) -> None:
    """Every run setting (of ``sections``) as a flag, from the declared settings: choices and
    defaults in the help. Without ``switches`` (a sweep) every flag takes text (lists, ranges)."""
    add_flags(p, sections, text_only=not switches)


def recipe_option(p) -> None:
    p.add_argument("--recipe", metavar="NAME", help="start from a named recipe (see `rnn-tui "
                   "recipes`); --config and flags still override it")


def log_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log", action="append", choices=("tensorboard", "csv"), metavar="FORMAT",
                   help="also log the scalars as it trains, beside metrics.jsonl: tensorboard "
                   "(RUN/tensorboard/, needs the [tensorboard] extra) or csv (RUN/metrics.csv); "
                   "repeat for both")


def checkpoint_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", choices=("best", "latest"), default="best",
                   help="which weights: best (the best validation loss, best.npz; the "
                   "default) or latest (checkpoint.npz)")


def app_options(p: argparse.ArgumentParser) -> None:
    from rnn_tui.tui.themes import user_themes_dir

    p.add_argument("--theme", help="colour theme: rnn-dark, rnn-light, high-contrast, ansi-16, "
                   f"any Textual theme, or your own TOML files in {user_themes_dir()} "
                   "(remembered)")
    p.add_argument("--low-bandwidth", action="store_true",
                   help="for slow SSH links: 16 colours and fewer, slower redraws")


def app_env(args) -> None:
    """Check --theme; set what Textual reads at import (16 colours in low-bandwidth mode)."""
    import os

    if getattr(args, "low_bandwidth", False):
        os.environ.setdefault("TEXTUAL_COLOR_SYSTEM", "standard")
    if args.theme:
        from textual.theme import BUILTIN_THEMES

        from rnn_tui.config import suggest
        from rnn_tui.tui.themes import load_themes

        broken: dict[str, str] = {}  # a theme whose file is broken: the app says so, falls back
        names = sorted({*load_themes(broken), *broken}) + sorted(BUILTIN_THEMES)
        if args.theme not in names:
            raise UserError(f"unknown theme {args.theme!r}{suggest(args.theme, names)}")


def run_name(args) -> str | None:
    """--name, or for a recipe run RECIPE-DATE-TIME (so `watch --recipe` finds it)."""
    if args.name or not getattr(args, "recipe", None):
        return args.name
    import time

    return f"{args.recipe}-{time.strftime('%Y%m%d-%H%M%S')}"


def latest_recipe_run(runs_dir: str, name: str) -> Path:
    """The most recent run directory made from recipe ``name`` under ``runs_dir``."""
    from rnn_tui.recipes import get_recipe

    get_recipe(name)
    runs = [p for p in Path(runs_dir).glob(f"{name}-*") if (p / "config.toml").is_file()]
    if not runs:
        raise UserError(f"no run of recipe {name!r} under {runs_dir}; start one with "
                        f"`rnn-tui train --recipe {name}`")
    return max(runs, key=lambda p: (p / "config.toml").stat().st_mtime)


def say_which(path: Path, which: str, meta: dict | None = None) -> None:
    """One line on stderr naming the weights a command uses."""
    from rnn_tui.train.runs import load_checkpoint

    if which == "file":
        return
    if meta is None:
        try:
            meta = load_checkpoint(path)[1]
        except UserError:
            return
    from rnn_tui.train.events import fmt_num

    step = meta.get("step", "?")
    if which == "best":  # chosen by the validation loss, or by the measure the task names
        by, metric = meta.get("best_by"), meta.get("best_metric")
        if not isinstance(by, str):  # written before runs said: sentence tasks chose by accuracy
            old = meta.get("task") in ("classify", "tag") and \
                isinstance(meta.get("best_score"), (int, float))
            by, metric = ("accuracy", -meta["best_score"]) if old else ("val_loss", None)
        loss = fmt_num(meta.get("best_val_loss"), ".4f")
        chosen = "" if by == "val_loss" else f"chosen by {visible(by)} {fmt_num(metric, '.4f')}, "
        print(f"rnn-tui: using the best weights ({visible(path.name)}, step {step}, {chosen}"
              f"val_loss {loss})", file=sys.stderr)
        return
    val = meta.get("last_val_loss")
    extra = f", val_loss {val:.4f}" if isinstance(val, (int, float)) else ""
    print(f"rnn-tui: using the latest weights ({visible(path.name)}, step {step}{extra})",
          file=sys.stderr)


def leave_mid_step(trainer, run_dir: Path, received: list[int], resume: str) -> None:
    """End the process now: a signal came while a long step was under way. What is on disk
    is whole (every file is written to a temporary and renamed); a run that never saved a
    checkpoint is removed. ``resume``: the command that continues it."""
    import os
    import signal

    from rnn_tui.runtime import signal_exit_code
    from rnn_tui.session import discard_if_unsaved

    if trainer.saved_step is None:
        discard_if_unsaved(trainer)
        kept = "it had saved no checkpoint, so nothing is kept"
    else:
        kept = (f"the checkpoint of step {trainer.saved_step:,} is kept (the steps since are "
                f"lost). Continue with: {resume} {visible(run_dir)}")
    print(f"rnn-tui: interrupted in the middle of a long step (a step's time grows with the "
          f"longest sequence: see --max-len); {kept}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(signal_exit_code(received[0] if received else signal.SIGINT))
