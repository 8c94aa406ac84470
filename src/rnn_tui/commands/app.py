"""With no command: the app, training a model (the defaults, or flags / --config)."""

from __future__ import annotations

import sys
from pathlib import Path

from rnn_tui.commands.shared import (
    add_train_flags,
    app_env,
    app_options,
    leave_mid_step,
    log_option,
    recipe_option,
    run_name,
)
from rnn_tui.errors import UserError, error_line, visible

NAME = ""
HELP = "open the app and train a model"


def add_arguments(p) -> None:
    app_options(p)
    p.add_argument("--config", metavar="FILE", help="TOML file with [data] [model] [train] for "
                   "the app's run; flags override it")
    p.add_argument("--resume", metavar="RUN", help="open the app continuing RUN from its last "
                   "checkpoint")
    p.add_argument("--name", help="run name (default: TASK-DATE-TIME)")
    p.add_argument("--runs-dir", default="runs", help="where run directories go (./runs)")
    recipe_option(p)
    log_option(p)
    p.add_argument("--confine", metavar="DIR", help="keep what is typed in the app inside DIR: "
                   "runs to open or generate from must lie under it, and corpora are the "
                   "built-in ones or the one given here (`rnn-tui serve` runs its apps so)")
    g = p.add_argument_group(
        "model and training (the app's run)",
        "Each option shows `rnn-tui train`'s default, each task's own and the app's where they "
        "differ (the app is for watching: a smaller model, frequent evaluations and samples).")
    add_train_flags(g)


def run(args) -> int:
    from rnn_tui.config import APP_DEFAULTS
    from rnn_tui.runtime import configure_threads, exit_on_signals, signal_exit_code
    from rnn_tui.session import config_from_args

    cfg = config_from_args(args, APP_DEFAULTS)
    app_env(args)
    configure_threads()
    if sys.stderr.isatty():
        print(f"rnn-tui: preparing {visible(cfg.data.corpus)}…", file=sys.stderr, flush=True)
    from rnn_tui.session import prepare_run
    from rnn_tui.tui.terminal import require_terminal

    trainer, writer, _ = prepare_run(cfg, args.runs_dir, run_name(args),
                                     Path(args.resume) if args.resume else None,
                                     on_nonfinite="pause", logs=args.log or ())
    try:  # every input checked first; then, with no terminal, nothing is left behind
        require_terminal("the app", "train without it with `rnn-tui train` (the same options)")
    except UserError:
        from rnn_tui.session import discard_if_unsaved

        writer.close()
        discard_if_unsaved(trainer)
        raise
    from rnn_tui.tui.app import RnnTuiApp
    from rnn_tui.tui.source import LiveSource

    app = RnnTuiApp(LiveSource(cfg, args.runs_dir, prepared=(trainer, writer)), cfg=cfg,
                    theme=args.theme, low_bandwidth=args.low_bandwidth, runs_dir=args.runs_dir,
                    confine=args.confine)
    received = exit_on_signals(app)
    try:
        app.run()
    finally:  # app.source: the run on screen at the end (the setup screen can start others)
        app.source.stop("stopped" if app.quitting and not received else "interrupted")
        while not app.source.join(0.1):  # a signal does not wait on a long step
            tr = app.source.trainer
            if received and tr is not None and tr.stuck_in_step():
                leave_mid_step(tr, tr.run_dir, received, "rnn-tui --resume")
    last = app.source.trainer
    if last is not None and last.failure:  # a write failed (disk full, read-only)
        from rnn_tui.session import discard_if_unsaved

        discard_if_unsaved(last)
        print(error_line(last.failure), file=sys.stderr)
        return 2
    if received:
        if last is not None and last.step > 0:
            print(f"rnn-tui: interrupted; checkpoint saved in {visible(last.run_dir)}. Continue "
                  f"with: rnn-tui --resume {visible(last.run_dir)}", file=sys.stderr)
        return signal_exit_code(received[0])
    if app.return_code not in (0, None):
        return app.return_code
    if last is not None and last.step > 0 and args.confine:
        from rnn_tui.paths import relative_name

        shown = visible(relative_name(args.confine, last.run_dir))
        print(f"rnn-tui: checkpoint saved (run {shown})", file=sys.stderr)
    elif last is not None and last.step > 0:
        print(f"rnn-tui: checkpoint saved in {visible(last.run_dir)}; continue with: rnn-tui "
              f"--resume {visible(last.run_dir)}", file=sys.stderr)
    return 0
