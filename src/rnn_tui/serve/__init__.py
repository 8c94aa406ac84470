"""``rnn-tui serve``: the app over SSH for anyone with an authorised key, or in a browser.

- :mod:`.ssh`: an SSH server of its own (asyncssh). Public-key authentication only; each session
  runs the real ``rnn-tui`` app as a child process on a fresh pseudo-terminal and bridges bytes
  between that terminal and the session's channel. The app does not know it is served: it sees a
  terminal, a window size and SIGHUP when the connection goes, as it would under sshd.
- :mod:`.web`: the same app in a browser through ``textual-serve``, one process per visitor.
- :mod:`.child`: what runs in the child process (a new session, the pty as its terminal, then
  the ordinary command line).
- :mod:`.keys`: the authorised keys (re-read when the file changes) and the host key.

Nothing here is imported unless ``rnn-tui serve`` runs; asyncssh and textual-serve come with the
``serve`` extra.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from pathlib import Path

from rnn_tui.errors import UserError

EXTRA_HINT = 'pip install "rnn-tui[serve]"'
KEEP_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "VIRTUAL_ENV", "PYTHONUSERBASE",
            "SSL_CERT_FILE", "SSL_CERT_DIR")
KEEP_ENV_PREFIXES = ("NUMBA_", "RNN_TUI_", "OMP_", "MKL_", "OPENBLAS_")


# The serve extra's libraries and theirs: what they warn about is theirs to fix, not the user's
# (asyncssh names cryptography's deprecated DSA classes: ten lines of
# CryptographyDeprecationWarning at every start). Warnings these modules raise are not shown,
# from whichever module of this package first imports them; warnings raised by rnn-tui's own
# code, or by any other library, still are.
EXTRA_LIBRARIES = r"(asyncssh|textual_serve|aiohttp|aiohttp_jinja2|jinja2|cryptography)(\..*)?$"
warnings.filterwarnings("ignore", module=EXTRA_LIBRARIES)


def require(module: str) -> None:
    """Import ``module`` or say, in one line, which extra brings it."""
    try:
        importlib.import_module(module)
    except ImportError:
        raise UserError(f"`rnn-tui serve` needs {module}, from the serve extra: "
                        f"{EXTRA_HINT}") from None


def state_dir() -> Path:
    """The user state folder (host key, log, per-key homes), created private."""
    import platformdirs

    d = Path(platformdirs.user_state_dir("rnn-tui"))
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


def package_root() -> str:
    """The folder that holds the ``rnn_tui`` package this server runs, so the children import the
    same code (an editable install, a worktree on ``PYTHONPATH``, a wheel)."""
    return str(Path(__file__).resolve().parents[2])


def child_pythonpath() -> str:
    old = os.environ.get("PYTHONPATH", "")
    return package_root() + (os.pathsep + old if old else "")


def kernel_cache_dir() -> str:
    """The server's compile cache, shared by every session's app (compiled once)."""
    import platformdirs

    return os.environ.get("NUMBA_CACHE_DIR") or platformdirs.user_cache_dir("rnn-tui")


def base_env(home: Path, cache_dir: str) -> dict[str, str]:
    """A served app's environment, built from nothing: the server's PATH, locale and
    rnn-tui/Numba/BLAS settings; a home (and settings folder) of the visitor's own, so nothing
    the app writes lands in the operator's home; the shared kernel cache."""
    import site

    env = {k: v for k, v in os.environ.items()
           if k in KEEP_ENV or k.startswith(KEEP_ENV_PREFIXES)}
    env.setdefault("PYTHONUSERBASE", site.getuserbase())
    env.setdefault("LANG", "C.UTF-8")
    env.update(PYTHONPATH=child_pythonpath(), HOME=str(home),
               RNN_TUI_CONFIG_DIR=str(home / "config"), NUMBA_CACHE_DIR=cache_dir,
               PYTHONDONTWRITEBYTECODE="1")
    return env


def child_command() -> list[str]:
    return [sys.executable, "-m", "rnn_tui.serve.child"]


def app_argv(args) -> list[str]:
    """The server's own app flags, to be given to every session's app: every `train` option
    given, ``--recipe``, ``--config``, ``--theme`` and ``--low-bandwidth``. Paths are made
    absolute (the children run elsewhere)."""
    from rnn_tui.options import flag_settings

    out: list[str] = []
    if args.config:
        out += ["--config", str(Path(args.config).resolve())]
    if getattr(args, "recipe", None):
        out += ["--recipe", args.recipe]
    for s in flag_settings():
        v = getattr(args, s.key, None)
        if v is None:
            continue
        if isinstance(v, bool):  # a switch: --x or --no-x
            out.append(s.option if v else "--no-" + s.option[2:])
            continue
        if s.key == "corpus" and os.path.exists(os.path.expanduser(v)):
            v = str(Path(v).expanduser().resolve())
        out += [s.option, v]
    if args.theme:
        out += ["--theme", args.theme]
    if args.low_bandwidth:
        out.append("--low-bandwidth")
    return out
