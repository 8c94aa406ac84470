"""Whether the app has a terminal to draw on: without one (``rnn-tui </dev/null >out``, a cron
job, a pipe) it would train, then wait for keys that never come. It refuses to start instead.

A driver chosen explicitly through ``TEXTUAL_DRIVER`` (the web driver that ``textual-serve``
starts the app with, over pipes) is a terminal of its own and is let through.
"""

from __future__ import annotations

import os

from rnn_tui.errors import UserError

DRIVER_ENV = "TEXTUAL_DRIVER"


def has_terminal() -> bool:
    """stdin and stdout are both a terminal, or a Textual driver that needs none is chosen."""
    if os.environ.get(DRIVER_ENV):
        return True
    try:
        return os.isatty(0) and os.isatty(1)
    except (OSError, ValueError):
        return False


def require_terminal(what: str, instead: str) -> None:
    """Refuse, in one line saying what to use ``instead``, to start ``what`` with no
    terminal."""
    if has_terminal():
        return
    missing = [name for fd, name in ((0, "input"), (1, "output"))
               if not _isatty(fd)]
    raise UserError(f"{what} needs a terminal, and its {' and '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} not one; {instead}")


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except (OSError, ValueError):
        return False
