"""Command line: ``rnn-tui`` (the app) and the commands of :data:`COMMANDS`.

This module only parses and dispatches: each command is a module of :mod:`rnn_tui.commands`
with ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``run(args) -> int`` (and optionally
``DESCRIPTION`` and ``EPILOG`` for its ``--help``). Heavy modules
(NumPy, Numba, Textual) are imported inside the commands' ``run`` so ``--help`` is instant.
Every :class:`~rnn_tui.errors.UserError` becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys

from rnn_tui import __version__
from rnn_tui.commands import (
    app,
    compare,
    compile,
    corpora,
    evaluate,
    explain,
    export,
    forecast,
    import_,
    neurons,
    predict,
    recipes,
    sample,
    serve,
    summary,
    sweep,
    train,
    translate,
    watch,
)
from rnn_tui.errors import UserError, error_line, visible

# The commands, in the order `rnn-tui --help` lists them
COMMANDS = (train, sample, forecast, evaluate, watch, recipes, export, import_, sweep, compare,
            summary, corpora, compile, serve, predict, explain,
            neurons, translate)
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT


class Parser(argparse.ArgumentParser):
    """A parser whose refusals are one line (naming the option and what it takes, with what
    the user typed made :func:`~rnn_tui.errors.visible`), exit 2."""

    def _check_value(self, action, value):
        if action.choices is not None and value not in action.choices:
            from rnn_tui.options import suggest

            raise argparse.ArgumentError(
                action, f"invalid choice: {value!r}{suggest(value, action.choices)}")

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"{error_line(message)} (see {visible(self.prog)} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(allow_abbrev=False,
        prog="rnn-tui", usage="rnn-tui [OPTIONS] [COMMAND ...]",
        description="A terminal playground for recurrent neural networks: watch an RNN learn. "
        "With no command it opens the app and trains a model (the defaults, or the options "
        "below, which `rnn-tui train` takes too).",
        epilog="Run `rnn-tui COMMAND --help` for a command's options.")
    p.add_argument("--version", action="version", version=f"rnn-tui {__version__}")
    app.add_arguments(p)
    p.set_defaults(_run=app.run)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        cp = sub.add_parser(command.NAME, prog=f"rnn-tui {command.NAME}", allow_abbrev=False,
                            help=command.HELP, description=getattr(command, "DESCRIPTION", None),
                            epilog=getattr(command, "EPILOG", None))
        command.add_arguments(cp)
        cp.set_defaults(_run=command.run)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a refusal already said in one line
        return done.code if isinstance(done.code, int) else EXIT_USER_ERROR
    try:
        from rnn_tui.limits import check_ranges

        check_ranges(args.command, args)  # the commands' own options, from one table
        return args._run(args)
    except UserError as err:
        print(error_line(err), file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("rnn-tui: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
