"""What a served session's child process runs: ``python -m rnn_tui.serve.child [OWN] -- ARGS``.

It makes sure the app reads and writes only the terminal it was given, never the server
operator's: it leads a session of its own (the SSH server starts it so; a web child detaches here),
and when its stdin is a terminal (the pty of an SSH session) that terminal becomes its controlling
terminal, so ``/dev/tty`` is the client's, window changes arrive as SIGWINCH, and the terminal going
away arrives as SIGHUP, exactly as under sshd. Then it runs the ordinary command line with ARGS.

OWN: ``--name-from-pid TASK`` names the run ``TASK-<date>-<time>-p<pid>`` (web visitors, who share
one command line).
"""

from __future__ import annotations

import os
import sys
import time


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    prefix = None
    if argv[:1] == ["--name-from-pid"] and len(argv) >= 2:
        prefix, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if prefix:
        argv += ["--name", f"{prefix}-{time.strftime('%Y%m%d-%H%M%S')}-p{os.getpid()}"]
    try:
        os.setsid()  # no effect (EPERM) when the server already started us as a session leader
    except OSError:
        pass
    if os.isatty(0):
        import fcntl
        import termios

        try:
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)
        except OSError:
            pass
    from rnn_tui.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
