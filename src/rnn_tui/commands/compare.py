"""``rnn-tui compare``: the dashboard over several runs at once."""

from __future__ import annotations

from rnn_tui.commands.shared import app_env, app_options

NAME = "compare"
HELP = "the dashboard for several runs at once (a sweep's folder stands for all its trials)"
DESCRIPTION = ("Overlay the loss curves and the gradient flow of several runs, with a table of "
               "their final numbers. Each run is named by the settings in which it differs from "
               "the others. Runs still training are followed live, so `rnn-tui compare "
               "RUNS/NAME` during a sweep is the sweep's dashboard.")


def add_arguments(cmp) -> None:
    cmp.add_argument("runs", nargs="+", metavar="RUN_OR_SWEEP",
                     help="run directories and sweep folders")
    app_options(cmp)


def run(args) -> int:
    app_env(args)
    from rnn_tui.tui.runset import RunSet

    runs = RunSet.from_paths(args.runs)
    from rnn_tui.tui.terminal import require_terminal

    require_terminal("`rnn-tui compare`", "run it in a terminal (or over `ssh -t`)")
    from rnn_tui.tui.compare_app import CompareApp

    app = CompareApp(runs, theme=args.theme, low_bandwidth=args.low_bandwidth)
    app.run()
    return app.return_code or 0
