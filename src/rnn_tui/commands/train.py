"""``rnn-tui train``: a run without the app, progress on the console."""

from __future__ import annotations

import sys
from pathlib import Path

from rnn_tui.commands.shared import (
    add_train_flags,
    leave_mid_step,
    log_option,
    recipe_option,
    run_name,
)
from rnn_tui.errors import visible

NAME = "train"
HELP = "train a model headless (console progress, run directory)"
DESCRIPTION = ("Train a model without the app. Progress goes to the console; config, metrics, "
               "checkpoints and samples go to RUNS_DIR/NAME.")


def add_arguments(t) -> None:
    t.add_argument("--config", metavar="FILE", help="TOML file with [data] [model] [train]; "
                   "flags override it")
    t.add_argument("--resume", metavar="RUN", help="continue a run from its last checkpoint")
    t.add_argument("--name", help="run name (default: TASK-DATE-TIME)")
    t.add_argument("--runs-dir", default="runs", help="where run directories go (./runs)")
    t.add_argument("--quiet", action="store_true", help="no samples on the console")
    recipe_option(t)
    log_option(t)
    add_train_flags(t)


def run(args) -> int:
    from rnn_tui.session import config_from_args

    cfg = config_from_args(args)
    return run_training(cfg, args, Path(args.resume) if args.resume else None)


def run_training(cfg, args, resume_dir: Path | None) -> int:
    import signal

    from rnn_tui.runtime import configure_threads, signal_exit_code, stop_on_signals
    from rnn_tui.session import discard_if_unsaved, prepare_run
    from rnn_tui.train.console import ConsoleSink

    configure_threads()
    logs = getattr(args, "log", None) or ()
    trainer, writer, run_dir = prepare_run(cfg, args.runs_dir, run_name(args), resume_dir,
                                           [ConsoleSink(show_samples=not args.quiet)],
                                           on_nonfinite="recover", logs=logs)
    _say_series_column(cfg, trainer.task)
    received = stop_on_signals(lambda: trainer.stop("interrupted"))
    try:
        reason = trainer.run_in_background()  # this thread stays free for the signals
    finally:
        writer.close()
        if logs:
            from rnn_tui.interop.logs import close_sinks

            close_sinks(trainer.sinks)
    if reason is None:  # a signal, and the step under way goes on: leave without it
        leave_mid_step(trainer, run_dir, received, "rnn-tui train --resume")
    if reason == "failed":  # a write failed or it diverged: the console said why in one line
        discard_if_unsaved(trainer)  # a run that never saved a checkpoint leaves nothing
        return 2
    if reason == "interrupted":
        print(f"rnn-tui: interrupted; checkpoint saved. Continue with: rnn-tui train --resume "
              f"{visible(run_dir)}", file=sys.stderr)
        return signal_exit_code(received[0] if received else signal.SIGINT)
    return 0


def _say_series_column(cfg, task) -> None:
    """Which CSV column a series run reads (chosen, or as given): one line with the console's
    progress on stdout (stderr is kept for errors)."""
    from rnn_tui.data.series import BUILTIN_SERIES

    series = getattr(task, "series", None)
    if cfg.data.task != "series" or series is None or cfg.data.corpus in BUILTIN_SERIES:
        return
    how = "as given by --column" if cfg.data.column else \
        "the last column of numbers that is not a date or index; --column picks another"
    print(f"series from {visible(series.source)}: column {series.column!r}, "
          f"{len(series.values):,} points ({how})", flush=True)
