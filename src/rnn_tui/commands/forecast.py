"""``rnn-tui forecast``: a series run's forecast, the baselines and their errors."""

from __future__ import annotations

from rnn_tui.commands.shared import checkpoint_option, say_which
from rnn_tui.errors import UserError

NAME = "forecast"
HELP = "forecast with a trained series run: table, chart and the baselines' errors"
MAX_HORIZON = 10_000


def add_arguments(f) -> None:
    f.add_argument("run", metavar="RUN", help="run directory of a series run")
    f.add_argument("--horizon", type=int, default=0,
                   help="steps to forecast past the end of the data (default: the run's horizon)")
    f.add_argument("--no-chart", action="store_true", help="table only")
    checkpoint_option(f)


def run(args) -> int:
    from rnn_tui.runtime import configure_threads

    if not 0 <= args.horizon <= MAX_HORIZON:
        raise UserError(f"--horizon must be from 0 to {MAX_HORIZON:,}, got {args.horizon}")
    configure_threads(1)
    from rnn_tui.session import open_run

    opened = open_run(args.run, args.checkpoint)
    cfg = opened.cfg
    if cfg.data.task != "series":
        raise UserError(f"{args.run} is a {cfg.data.task} run; `forecast` needs a series run "
                        "(use `rnn-tui sample` for language models)")
    say_which(opened.path, opened.which, opened.meta)
    opened.task.print_report(args.horizon or cfg.data.horizon, chart=not args.no_chart)
    return 0
