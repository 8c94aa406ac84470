"""``rnn-tui watch``: the dashboard on a run trained elsewhere, following its metrics.jsonl."""

from __future__ import annotations

from rnn_tui.commands.shared import app_env, app_options, latest_recipe_run
from rnn_tui.errors import UserError

NAME = "watch"
HELP = "open the dashboard on a run trained elsewhere (follows its metrics.jsonl as it grows)"
DESCRIPTION = ("Watch a run that `rnn-tui train` is training (or trained): from another SSH "
               "session, after a disconnect, or while it goes on.")


def add_arguments(w) -> None:
    w.add_argument("run", metavar="RUN_DIR", nargs="?", help="the run directory")
    w.add_argument("--recipe", metavar="NAME", help="instead of RUN_DIR: the latest run made "
                   "from recipe NAME under --runs-dir")
    w.add_argument("--runs-dir", default="runs", help="where to look for --recipe runs (./runs)")
    app_options(w)


def run(args) -> int:
    app_env(args)
    from rnn_tui.runtime import exit_on_signals, signal_exit_code
    from rnn_tui.tui.source import FileSource

    if args.recipe:
        if args.run:
            raise UserError("give a run directory or --recipe, not both")
        args.run = str(latest_recipe_run(args.runs_dir, args.recipe))
    elif not args.run:
        raise UserError("give the run directory to watch (or --recipe NAME)")
    source = FileSource(args.run)
    from rnn_tui.tui.terminal import require_terminal

    require_terminal("`rnn-tui watch`", "follow the run's metrics.jsonl with `tail -f` instead")
    from rnn_tui.tui.app import RnnTuiApp

    app = RnnTuiApp(source, cfg=None, theme=args.theme, low_bandwidth=args.low_bandwidth)
    received = exit_on_signals(app)
    app.run()
    if received:
        return signal_exit_code(received[0])
    return app.return_code or 0
