"""``rnn-tui serve``: the app over SSH for anyone with an authorised key, or in a browser."""

from __future__ import annotations

import sys
from pathlib import Path

from rnn_tui.commands.shared import add_train_flags, app_env, app_options, recipe_option
from rnn_tui.errors import UserError

NAME = "serve"
HELP = ("serve the app over SSH to anyone with an authorised key (no shell), or in a browser "
        "with --web")
DESCRIPTION = ("An SSH server of its own: `ssh -p PORT HOST` opens the app, which trains a run "
               "of its own in RUNS_DIR/key-<fingerprint>/. Public keys only, listed in "
               "--authorized-keys (re-read when it changes); no shell, no commands, no "
               "forwarding. The model and training options below are every session's defaults. "
               "Needs the serve extra: pip install \"rnn-tui[serve]\".")
MAX_PORT = 65535
SSH_PORT = 2222
WEB_PORT = 8000
SESSION_DEFAULTS = "serve session defaults"  # how its settings are named in a refusal


def add_arguments(v) -> None:
    v.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (127.0.0.1; 0.0.0.0 for every interface)")
    v.add_argument("--port", type=int, default=None,
                   help="port to listen on (2222; 8000 with --web; 0 picks a free one)")
    v.add_argument("--authorized-keys", metavar="FILE",
                   help="OpenSSH authorized_keys file of the keys let in (required for SSH)")
    v.add_argument("--host-key", metavar="FILE", help="the server's private host key (default: "
                   "one made on first start in the user state folder)")
    v.add_argument("--max-sessions", type=int, default=None, metavar="N",
                   help="apps running at once, one training each (default: the number of cores)")
    v.add_argument("--login-timeout", type=float, default=15.0, metavar="SECONDS",
                   help="seconds a connection has to authenticate (15)")
    v.add_argument("--max-startups", default="10:30:100", metavar="START:RATE:FULL",
                   help="connections still logging in, as sshd's MaxStartups: from START on, a "
                   "new one is dropped with RATE%% chance, rising to 100%% at FULL; stale ones "
                   "are dropped first (10:30:100)")
    v.add_argument("--runs-dir", default="runs", help="the runs folder: every session's runs "
                   "go below it, and sessions can watch any run in it (./runs)")
    v.add_argument("--web", action="store_true", help="serve the app in a browser instead "
                   "(textual-serve): open the URL with ?token= printed at start")
    v.add_argument("--public-url", metavar="URL", help="--web: the address browsers use, if "
                   "not http://HOST:PORT (a proxy, or a tunnel to another port); requests for "
                   "any other address are refused")
    v.add_argument("--password-file", metavar="FILE", help="--web: ask for the password on "
                   "this file's first line (mode 600) instead of printing a token")
    v.add_argument("--config", metavar="FILE", help="TOML file with [data] [model] [train] for "
                   "every session's run; flags override it")
    app_options(v)
    recipe_option(v)
    vg = v.add_argument_group("model and training (every session's run)")
    add_train_flags(vg)
    v.set_defaults(resume=None)


def run(args) -> int:
    """The app over SSH (or in a browser with --web) for many people at once; see
    :mod:`rnn_tui.serve`."""
    import os

    from rnn_tui.config import APP_DEFAULTS
    from rnn_tui.options import FLAG, Source
    from rnn_tui.serve import app_argv, require, state_dir
    from rnn_tui.session import config_from_args

    # every session's defaults, checked once here
    cfg = config_from_args(args, APP_DEFAULTS, Source(FLAG, SESSION_DEFAULTS))
    require("textual_serve" if args.web else "asyncssh")
    app_env(args)
    _check_corpus(cfg.data.task, cfg.data.corpus)
    runs_root = Path(args.runs_dir).expanduser().resolve()  # made once the checks pass
    port = args.port if args.port is not None else (WEB_PORT if args.web else SSH_PORT)
    if not 0 <= port <= MAX_PORT:
        raise UserError(f"--port must be between 0 and {MAX_PORT}, got {port}")
    passthrough = app_argv(args)
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    root_warning = ("rnn-tui serve: warning: running as root, so every session's app does too; "
                    "prefer a user of its own")
    if args.web:
        if as_root:
            print(root_warning, file=sys.stderr)
        from rnn_tui.serve.web import serve_web

        return serve_web(args.host, port, runs_root, passthrough, cfg.data.task,
                         args.public_url, args.password_file, _max_sessions(args))
    if not args.authorized_keys:
        raise UserError("give --authorized-keys FILE (OpenSSH format): the public keys that may "
                        "connect")
    max_sessions = _max_sessions(args)
    if not args.login_timeout > 0:
        raise UserError(f"--login-timeout must be > 0, got {args.login_timeout}")
    if as_root:
        print(root_warning, file=sys.stderr)
    import asyncio

    from rnn_tui.serve.limits import StartupsPolicy

    StartupsPolicy.parse(args.max_startups)  # said now, in one line

    from rnn_tui.serve.ssh import Settings, serve

    settings = Settings(
        host=args.host, port=port, runs_root=runs_root, state=state_dir(),
        app_argv=passthrough, task=cfg.data.task,
        authorized_keys=Path(args.authorized_keys).expanduser(),
        host_key=Path(args.host_key) if args.host_key else None,
        max_sessions=max_sessions, login_timeout=args.login_timeout,
        max_startups=args.max_startups)
    return asyncio.run(serve(settings))


def _max_sessions(args) -> int:
    import os

    n = args.max_sessions if args.max_sessions is not None else (os.cpu_count() or 1)
    if n < 1:
        raise UserError(f"--max-sessions must be at least 1, got {n}")
    return n


def _check_corpus(task: str, corpus: str) -> None:
    """A built-in name or an existing file, said at start rather than by every session."""
    if task == "series":
        from rnn_tui.data.series import BUILTIN_SERIES as names
    else:
        from rnn_tui.data.corpora import manifest

        names = manifest()
    if corpus not in names and not Path(corpus).expanduser().is_file():
        raise UserError(f"--corpus {corpus!r} is neither a built-in one ({', '.join(names)}) "
                        "nor a file")
