"""``rnn-tui serve --web``: the same app in a browser, one process per visitor (textual-serve).

It has no authentication of its own: bound to 127.0.0.1 by default and meant to be reached
through an SSH tunnel (``ssh -L 8000:127.0.0.1:8000 server``); any other address is warned
about."""

from __future__ import annotations

import ipaddress
import os
import shlex
import sys
from pathlib import Path

from rnn_tui.errors import UserError
from rnn_tui.serve import child_command, child_pythonpath, state_dir


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, port: int) -> str | None:
    """The one line said when the web server is reachable from other machines."""
    if is_loopback(host):
        return None
    return (f"rnn-tui serve: warning: --web has no authentication; anyone who can reach "
            f"{host}:{port} gets the app (bind 127.0.0.1 and use an SSH tunnel instead)")


def command(runs_root: Path, app_argv: list[str], task: str) -> str:
    """The shell command textual-serve runs for each visitor: the app, confined to the runs
    folder, its run named after its own process id (visitors share this command line)."""
    argv = [*child_command(), "--name-from-pid", task, "--", "--runs-dir",
            str(runs_root / "web"), "--confine", str(runs_root), *app_argv]
    return "exec " + shlex.join(argv)  # no shell left between the server and the app


def serve_web(host: str, port: int, runs_root: Path, app_argv: list[str], task: str,
              public_url: str | None = None) -> int:
    from textual_serve.server import Server

    warning = exposure_warning(host, port)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    try:
        (runs_root / "web").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create the runs folder {runs_root}: {err.strerror}") from None
    os.environ["PYTHONPATH"] = child_pythonpath()  # the visitors' apps run this same code
    # their remembered settings (the theme) are theirs, not the operator's
    os.environ["RNN_TUI_CONFIG_DIR"] = str(state_dir() / "homes" / "web" / "config")
    Server(command(runs_root, app_argv, task), host=host, port=port, title="rnn-tui",
           public_url=public_url).serve()
    return 0
