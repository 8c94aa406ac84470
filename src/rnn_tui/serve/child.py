"""What a served session's child process runs: ``python -m rnn_tui.serve.child [OWN] -- ARGS``.

It makes sure the app reads and writes only the terminal it was given, never the server
operator's: it leads a session of its own (the SSH server starts it so; a web child detaches here),
and when its stdin is a terminal (the pty of an SSH session) that terminal becomes its controlling
terminal, so ``/dev/tty`` is the client's, window changes arrive as SIGWINCH, and the terminal going
away arrives as SIGHUP, exactly as under sshd. Then it runs the ordinary command line with ARGS.

If the server process goes away, the child hangs up on itself (:func:`watch_parent`).

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
    watch_parent()
    from rnn_tui.cli import main as cli_main

    return cli_main(argv)


ORPHAN_GRACE = 10.0  # seconds an orphaned app has to save after hanging up on itself


def watch_parent(every: float = 1.0, grace: float = ORPHAN_GRACE) -> None:
    """If the server goes (killed, crashed), hang up on ourselves: the app saves and exits, as
    when its terminal goes away. (Over SSH the pty's hangup does this too; a web visitor's app
    has no terminal to lose, and would otherwise train on, orphaned.) An app still there
    ``grace`` seconds later is killed."""
    import signal
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(every)
            if os.getppid() != parent:
                os.kill(os.getpid(), signal.SIGHUP)
                time.sleep(grace)
                os.kill(os.getpid(), signal.SIGKILL)
                return

    threading.Thread(target=watch, name="rnn-tui-parent", daemon=True).start()


def run_and_leave(argv: list[str] | None = None) -> None:
    """Run, then leave at once: by the time the command line returns, the run is saved and
    closed, and a thread left waiting on a terminal that went away (Textual's input thread, when
    the terminal was hung up in the middle of the app's exit) must not keep the process alive."""
    try:
        rc = main(argv)
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:  # noqa: BLE001  (said, then the same quick exit)
        import traceback

        traceback.print_exc()
        rc = 1
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except (OSError, ValueError):
            pass
    os._exit(rc)


if __name__ == "__main__":  # pragma: no cover
    run_and_leave()
