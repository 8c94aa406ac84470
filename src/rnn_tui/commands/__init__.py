"""The commands, one module each: ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``; :mod:`rnn_tui.cli` lists them."""
