"""The commands of ``rnn-tui``: one module each, with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``. :mod:`.app` is the command line without a
command (the app); :mod:`rnn_tui.cli` lists the rest in its table."""
