"""Command line: ``rnn-tui`` (the app), ``train``, ``sample``, ``forecast``, ``evaluate``,
``watch``, ``sweep``, ``compare``, ``export``, ``import``, ``recipes``, ``corpora``, ``serve``.

Heavy modules (NumPy, Numba, Textual) are imported inside the commands so ``--help`` is instant.
Every :class:`~rnn_tui.errors.UserError` becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
from pathlib import Path

from rnn_tui import __version__
from rnn_tui.config import APP_DEFAULTS, TASK_DEFAULTS
from rnn_tui.errors import UserError

# flag -> (section, key, type, help)
TRAIN_FLAGS: list[tuple[str, str, str, type, str]] = [
    ("--task", "data", "task", str, "char | word | series | classify | tag (default char)"),
    ("--corpus", "data", "corpus", str,
     "corpus name (built-in or yours: see `rnn-tui corpora`), text file, or for series a CSV / "
     "built-in series, for classify a text<TAB>label file, for tag CoNLL-U or word<TAB>tag "
     "(pydoc)"),
    ("--encoding", "data", "encoding", str, "text encoding of the corpus file (default utf-8)"),
    ("--column", "data", "column", str,
     "CSV value column, by name or 0-based index; tag: the CoNLL-U column (upos | xpos)"),
    ("--val-fraction", "data", "val_fraction", float, "share of the text held out (0.1)"),
    ("--min-count", "data", "min_count", int, "word task: rarer words become <unk> (2)"),
    ("--max-vocab", "data", "max_vocab", int, "word task: vocabulary cap (10000)"),
    ("--lookback", "data", "lookback", int,
     "series: past steps the model reads, 0 = chosen to fit the series (0)"),
    ("--horizon", "data", "horizon", int, "series: steps forecast ahead (12)"),
    ("--holdout", "data", "holdout", int, "series: final points held out (24)"),
    ("--period", "data", "period", int, "series: seasonal period, 0 = detect (0)"),
    ("--scaling", "data", "scaling", str,
     "series: auto (exponential smoothing + RNNs on what it leaves) | raw | minmax | divide "
     "(by --scale): the tutorials' plain window model, windows of --lookback -> next (auto)"),
    ("--scale", "data", "scale", float, "series, --scaling divide: divide values by this (100)"),
    ("--windows", "data", "windows", int,
     "char/word: every window of N tokens predicts the next (many-to-one, no state carried), "
     "as the tutorials do; 0 = one stream, stateful (0)"),
    ("--val-data", "data", "val_data", str,
     "classify/tag: a held-out file (default: a seeded, stratified split of the data)"),
    ("--tokens", "data", "tokens", str, "classify: word | char (word)"),
    ("--max-len", "data", "max_len", int,
     "classify, tag: tokens per sentence, longer ones cut (with a notice); 0 = all (400)"),
    ("--word-features", "data", "word_features", str,
     "tag: suffix (each word's suffixes and shape, for unknown words) | none (suffix)"),
    ("--cell", "model", "cell", str, "rnn | rnn_relu | rnn_sigmoid | lstm | gru (gru)"),
    ("--hidden", "model", "hidden", int, "hidden units per layer (512)"),
    ("--layers", "model", "layers", int, "stacked recurrent layers (1)"),
    ("--embed", "model", "embed", int, "embedding size, 0 = one-hot input (64)"),
    ("--input", "model", "input", str,
     "auto (embedding, or one-hot with --embed 0) | index (the token's id / vocabulary size as "
     "one number; with --windows)"),
    ("--dropout", "model", "dropout", float,
     "dropout on the embeddings and after every layer (0)"),
    ("--bidirectional", "model", "bidirectional", bool,
     "classify/tag: a second direction reads each sentence backwards"),
    ("--recurrent-scale", "model", "recurrent_scale", float,
     "start each gate's W_hh orthogonal times S: S < 1 vanishes, S > 1 explodes "
     "(0 = PyTorch's init)"),
    ("--seq", "train", "seq", int, "time steps per batch (truncated BPTT length) (64)"),
    ("--batch", "train", "batch", int, "parallel streams per batch (32)"),
    ("--optimizer", "train", "optimizer", str, "sgd | adam | adamw | adagrad | rmsprop (adam)"),
    ("--lr", "train", "lr", float, "learning rate (3e-3)"),
    ("--lr-schedule", "train", "lr_schedule", str,
     "cosine (decay to lr/10) | plateau (halve when validation stalls) | constant"),
    ("--warmup", "train", "warmup", int, "steps of linear learning-rate warm-up (50)"),
    ("--clip", "train", "clip", float, "clip the global gradient norm, 0 = off (5)"),
    ("--steps", "train", "steps", int, "stop after this many steps, 0 = no limit (0)"),
    ("--patience", "train", "patience", int,
     "stop after this many evaluations without a new best validation loss, 0 = never (5; the "
     "app 10)"),
    ("--time-budget", "train", "time_budget", float, "stop after this many seconds of training "
     "(300; compiling kernels on a first start is not counted)"),
    ("--epochs", "train", "epochs", int, "stop after this many passes over the data, 0 = no limit"),
    ("--eval-every", "train", "eval_every", int, "steps between evaluations (250)"),
    ("--eval-tokens", "train", "eval_tokens", int, "validation tokens per evaluation"),
    ("--checkpoint-every", "train", "checkpoint_every", int, "steps between checkpoints (500)"),
    ("--sample-every", "train", "sample_every", int, "steps between samples (500)"),
    ("--sample-len", "train", "sample_len", int, "tokens per sample (200)"),
    ("--temperature", "train", "temperature", float, "sampling temperature (0.8)"),
    ("--top-k", "train", "top_k", int, "samples: only the k likeliest tokens, 1 = argmax (0)"),
    ("--log-every", "train", "log_every", int, "steps between progress events, 0 = ~5/s"),
    ("--seed", "train", "seed", int, "random seed (0)"),
    ("--dtype", "train", "dtype", str,
     "float32 | float64 (float32; float64 is for checking and skips the fused fast step)"),
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(allow_abbrev=False,
        prog="rnn-tui", usage="rnn-tui [OPTIONS] [COMMAND ...]",
        description="A terminal playground for recurrent neural networks: watch an RNN learn. "
        "With no command it opens the app and trains a model (the defaults, or the options "
        "below, which `rnn-tui train` takes too).",
        epilog="Run `rnn-tui COMMAND --help` for a command's options.")
    p.add_argument("--version", action="version", version=f"rnn-tui {__version__}")
    app_options(p)
    p.add_argument("--config", metavar="FILE", help="TOML file with [data] [model] [train] for "
                   "the app's run; flags override it")
    p.add_argument("--resume", metavar="RUN", help="open the app continuing RUN from its last "
                   "checkpoint")
    p.add_argument("--name", help="run name (default: TASK-DATE-TIME)")
    p.add_argument("--runs-dir", default="runs", help="where run directories go (./runs)")
    recipe_option(p)
    log_option(p)
    p.add_argument("--confine", metavar="DIR", help="keep what is typed in the app inside DIR: "
                   "runs to open or generate from must lie under it, and corpora are the "
                   "built-in ones or the one given here (`rnn-tui serve` runs its apps so)")
    g = p.add_argument_group(
        "model and training (the app's run)",
        "The defaults shown are `rnn-tui train`'s; the app changes a few for watching: hidden 256, "
        "time budget 600 s, evaluation and a sample every 100 steps.")
    add_train_flags(g)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, **kw) -> argparse.ArgumentParser:
        return sub.add_parser(name, prog=f"rnn-tui {name}", allow_abbrev=False, **kw)

    t = command("train", help="train a model headless (console progress, run directory)",
                description="Train a model without the app. Progress goes to the console; "
                "config, metrics, checkpoints and samples go to RUNS_DIR/NAME.")
    t.add_argument("--config", metavar="FILE", help="TOML file with [data] [model] [train]; "
                   "flags override it")
    t.add_argument("--resume", metavar="RUN", help="continue a run from its last checkpoint")
    t.add_argument("--name", help="run name (default: TASK-DATE-TIME)")
    t.add_argument("--runs-dir", default="runs", help="where run directories go (./runs)")
    t.add_argument("--quiet", action="store_true", help="no samples on the console")
    recipe_option(t)
    log_option(t)
    add_train_flags(t)

    s = command("sample", help="generate text from a trained run, streamed to stdout")
    s.add_argument("run", metavar="RUN", help="run directory (or checkpoint file)")
    s.add_argument("--prime", default="", help="text to start from")
    s.add_argument("-n", "--length", type=int, default=500, help="tokens to generate (500)")
    s.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0.8)")
    s.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest (0 = all)")
    s.add_argument("--seed", type=int, default=None, help="random seed")
    s.add_argument("--show-probs", nargs="?", type=int, const=5, default=0, metavar="K",
                   help="print each token on a line after the K likeliest candidates the model "
                   "weighed for it and their probabilities (the next-token distribution; K=5)")
    checkpoint_option(s)

    f = command("forecast", help="forecast with a trained series run: table, chart and "
                "the baselines' errors")
    f.add_argument("run", metavar="RUN", help="run directory of a series run")
    f.add_argument("--horizon", type=int, default=0,
                   help="steps to forecast past the end of the data (default: the run's horizon)")
    f.add_argument("--no-chart", action="store_true", help="table only")
    checkpoint_option(f)

    e = command("evaluate", help="score a run's weights on its validation data or a file",
                description="Score a run's best weights (or --checkpoint latest) on its own "
                "validation split, or on --data FILE (a language model reads FILE as one "
                "stream from a zero state, batch 1, and averages the cross-entropy of every "
                "next token). The last line is `val_loss=<x>`, plus the task's own measures.")
    e.add_argument("run", metavar="RUN", help="run directory (or checkpoint file)")
    e.add_argument("--data", metavar="FILE", help="a text file to score instead of the run's "
                   "validation split")
    e.add_argument("--encoding", default="utf-8", help="text encoding of --data (utf-8)")
    checkpoint_option(e)

    w = command("watch", help="open the dashboard on a run trained elsewhere (follows "
                "its metrics.jsonl as it grows)",
                description="Watch a run that `rnn-tui train` is training (or trained): "
                "from another SSH session, after a disconnect, or while it goes on.")
    w.add_argument("run", metavar="RUN_DIR", nargs="?", help="the run directory")
    w.add_argument("--recipe", metavar="NAME", help="instead of RUN_DIR: the latest run made "
                   "from recipe NAME under --runs-dir")
    w.add_argument("--runs-dir", default="runs", help="where to look for --recipe runs (./runs)")
    app_options(w)

    r = command("recipes", help="list the recipes: the classic worked examples and their "
                "realistic versions, ready to run",
                description="Named, documented configurations. `rnn-tui --recipe NAME` opens "
                "one in the app, `rnn-tui train --recipe NAME` trains it headless, `rnn-tui "
                "watch --recipe NAME` watches its latest run. Flags after --recipe override "
                "its settings.")
    r.add_argument("name", nargs="?", help="show one recipe in full: what it teaches, what "
                   "the app shows, its settings")

    x = command("export", help="write a run's weights for PyTorch (.safetensors), or its "
                "logs for TensorBoard or as CSV",
                description="Write a run's best weights (or --checkpoint latest) to "
                "FILE.safetensors with PyTorch's names and shapes (embedding, rnn, head; no "
                "pickle), or with --format tensorboard|csv its logged scalars from "
                "metrics.jsonl into the directory DIR.")
    x.add_argument("run", metavar="RUN", help="run directory")
    x.add_argument("--to", required=True, metavar="FILE|DIR",
                   help="FILE.safetensors for the weights, or a directory for the logs")
    x.add_argument("--format", choices=("safetensors", "tensorboard", "csv"), default=None,
                   help="safetensors (the default for a .safetensors file), tensorboard "
                   "(event files; needs the [tensorboard] extra) or csv (DIR/metrics.csv)")
    checkpoint_option(x)

    i = command("import", help="make a run from a .safetensors file with PyTorch's names "
                "(written by `rnn-tui export` or by PyTorch)",
                description="Build a run directory from FILE.safetensors holding a language "
                "model under PyTorch's names (embedding, rnn, head) and its vocabulary "
                "(metadata 'vocab'). The run reads --text FILE or --corpus NAME: `evaluate` "
                "scores it, `watch` shows the model's hidden state over it, `train --resume` "
                "trains on it; `sample` works as on any run.")
    i.add_argument("file", metavar="FILE", help="the .safetensors file")
    i.add_argument("--task", choices=("char", "word"), default=None,
                   help="char or word (default: the file's metadata 'task')")
    src = i.add_mutually_exclusive_group()
    src.add_argument("--text", metavar="FILE", help="a text file for the run to read")
    src.add_argument("--corpus", help="a built-in corpus (see `rnn-tui corpora`) or text file")
    i.add_argument("--encoding", default=None, help="text encoding of the text (utf-8)")
    i.add_argument("--val-fraction", dest="val_fraction", default=None, metavar="FLOAT",
                   help="share of the text held out for evaluation (0.1)")
    i.add_argument("--name", help="run name (default: TASK-DATE-TIME)")
    i.add_argument("--runs-dir", default="runs", help="where run directories go (./runs)")
    add_train_flags(i, sections=("train",))  # settings a later `train --resume` uses

    sw = command("sweep", help="train many runs (a grid or random search over any train "
                 "option) on Ray Tune; each trial is an ordinary run directory",
                 description="Run a grid of `train` settings as a Ray Tune experiment: one "
                 "trial per core on this machine, or on a Ray cluster with --address. Every "
                 "option is written as on `train`; a comma list is a grid axis (--cell "
                 "rnn,lstm,gru), LO..HI..STEP a grid of numbers (--hidden 64..256..64; "
                 "..xF steps by a factor), LO:HI[:log] a range for random search (--lr "
                 "1e-3:1e-2:log, with --samples N). Each trial is a run directory in "
                 "RUNS_DIR/NAME/ (open it with watch, sample, evaluate; all of them with "
                 "`rnn-tui compare RUNS_DIR/NAME`); sweep.json there records the grid and every "
                 "trial's status. The last line printed is `best=<run dir> val_loss=<x>`.",
                 epilog='Needs the [sweep] extra: pip install "rnn-tui[sweep]". --config FILE '
                 "may hold a [sweep] table (keys: option names with lists or range strings, "
                 "and samples, scheduler, sweep_seed, max_concurrent, grace_period, address, "
                 "storage_path).")
    sw.add_argument("--config", metavar="FILE", help="TOML with [data] [model] [train] and "
                    "[sweep]; flags override it")
    sw.add_argument("--name", help="the sweep's folder name (default: sweep-DATE-TIME)")
    sw.add_argument("--runs-dir", default="runs", help="where the sweep's folder goes (./runs)")
    sw.add_argument("--samples", type=int, metavar="N", help="random search: draws from the "
                    "LO:HI ranges (the grid is repeated N times)")
    sw.add_argument("--sweep-seed", type=int, metavar="N", help="seed of the random draws (0)")
    sw.add_argument("--scheduler", choices=("asha", "none"), help="asha (default): stop "
                    "trials whose validation loss falls behind at each evaluation; none: run "
                    "every trial to its end")
    sw.add_argument("--grace-period", type=int, metavar="N", help="evaluations every trial "
                    "gets before ASHA may stop it (2)")
    sw.add_argument("--max-concurrent", type=int, metavar="N", help="trials at once "
                    "(default: one per CPU of the Ray cluster)")
    sw.add_argument("--address", metavar="HOST:PORT", help="run on the Ray cluster there "
                    "(`ray start --head`); default RAY_ADDRESS, else a local Ray on this "
                    "machine. A head with token authentication needs its ~/.ray/auth_token "
                    "here (or RAY_AUTH_TOKEN_PATH / RAY_AUTH_TOKEN)")
    sw.add_argument("--storage-path", metavar="PATH_OR_URI", help="Ray Tune's storage_path "
                    "(default: the sweep's folder); on several machines, a shared path or a URI")
    add_train_flags(sw, switches=False)  # a sweep gives every setting values (--x true,false)

    cmp = command("compare", help="the dashboard for several runs at once (a sweep's folder "
                  "stands for all its trials)",
                  description="Overlay the loss curves and the gradient flow of several runs, "
                  "with a table of their final numbers. Each run is named by the settings in "
                  "which it differs from the others. Runs still training are followed live, "
                  "so `rnn-tui compare RUNS/NAME` during a sweep is the sweep's dashboard.")
    cmp.add_argument("runs", nargs="+", metavar="RUN_OR_SWEEP",
                     help="run directories and sweep folders")
    app_options(cmp)


    from rnn_tui.commands import summary

    sm = command(summary.NAME, help=summary.HELP, description=summary.DESCRIPTION)
    summary.add_arguments(sm)
    add_train_flags(sm)
    sm.set_defaults(resolve_config=build_config, handler=summary.run,
                    setting_keys=[key for _, _, key, _, _ in TRAIN_FLAGS])

    from rnn_tui.data.corpora import data_dir

    c = command("corpora", help="list the corpora (built-in and yours) and the built-in series",
                description="List the corpora --corpus takes by name: the built-ins, and yours: "
                f"every *.txt in {data_dir()} is a corpus named by its stem, and a manifest.toml "
                "there can name more (the same form as the built-in one).")
    c.add_argument("--fetch", metavar="NAME", help="download a corpus that is fetched by URL")

    k = command("compile", help="compile every kernel into the cache now, on every core",
                description="Compile every numerical kernel (every cell, both float types, "
                "the fused step, the sampler, the optimizers) into the compile cache, several "
                "at a time. Without this, a new install compiles what a run needs when it "
                "starts (10-20 s); after it, every run starts in about a second. Useful after "
                "installing or upgrading, in a container image, or before a class.")
    k.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="processes compiling side by side (default: one per core, at most 3)")

    v = command("serve", help="serve the app over SSH to anyone with an authorised key (no "
                "shell), or in a browser with --web",
                description="An SSH server of its own: `ssh -p PORT HOST` opens the app, which "
                "trains a run of its own in RUNS_DIR/<key comment>/. Public keys only, listed in "
                "--authorized-keys (re-read when it changes); no shell, no commands, no "
                "forwarding. The model and training options below are every session's "
                "defaults. Needs the serve extra: pip install \"rnn-tui[serve]\".")
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
                   "(textual-serve; no authentication: keep it on 127.0.0.1)")
    v.add_argument("--public-url", metavar="URL", help="--web: the address browsers use, if "
                   "not http://HOST:PORT (a proxy, or a tunnel to another port)")
    v.add_argument("--config", metavar="FILE", help="TOML file with [data] [model] [train] for "
                   "every session's run; flags override it")
    app_options(v)
    recipe_option(v)
    vg = v.add_argument_group("model and training (every session's run)")
    add_train_flags(vg)
    v.set_defaults(resume=None)
    from rnn_tui.commands import explain, neurons, predict

    for mod in (predict, explain, neurons):
        mod.add_arguments(cp := command(mod.NAME, help=mod.HELP, description=mod.__doc__))
        cp.set_defaults(handler=mod.run)
    return p


def add_train_flags(p, switches: bool = True, sections=("data", "model", "train")) -> None:
    """Every model and training setting (of ``sections``) as a flag; values stay strings until
    the config coerces and checks them (so a bad value gets the config's message). With
    ``switches``, a bool setting is a flag without a value."""
    for flag, sec, key, typ, hlp in TRAIN_FLAGS:
        if sec not in sections:
            continue
        if typ is bool and switches:
            p.add_argument(flag, dest=key, action="store_const", const="true", help=hlp)
        else:
            p.add_argument(flag, dest=key, type=str, metavar=typ.__name__.upper(), help=hlp)


def recipe_option(p) -> None:
    p.add_argument("--recipe", metavar="NAME", help="start from a named recipe (see `rnn-tui "
                   "recipes`); --config and flags still override it")


def log_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--log", action="append", choices=("tensorboard", "csv"), metavar="FORMAT",
                   help="also log the scalars as it trains, beside metrics.jsonl: tensorboard "
                   "(RUN/tensorboard/, needs the [tensorboard] extra) or csv (RUN/metrics.csv); "
                   "repeat for both")


def checkpoint_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", choices=("best", "latest"), default="best",
                   help="which weights: best (the best validation loss, best.npz; the "
                   "default) or latest (checkpoint.npz)")


def app_options(p: argparse.ArgumentParser) -> None:
    from rnn_tui.tui.themes import user_themes_dir

    p.add_argument("--theme", help="colour theme: rnn-dark, rnn-light, high-contrast, ansi-16, "
                   f"any Textual theme, or your own TOML files in {user_themes_dir()} "
                   "(remembered)")
    p.add_argument("--low-bandwidth", action="store_true",
                   help="for slow SSH links: 16 colours and fewer, slower redraws")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        from rnn_tui.limits import check_ranges

        check_ranges(args.command, args)  # the commands' own options, from one table
        if getattr(args, "handler", None):
            return args.handler(args)
        if args.command == "train":
            return cmd_train(args)
        if args.command == "sample":
            return cmd_sample(args)
        if args.command == "corpora":
            return cmd_corpora(args)
        if args.command == "forecast":
            return cmd_forecast(args)
        if args.command == "watch":
            return cmd_watch(args)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        if args.command == "recipes":
            return cmd_recipes(args)
        if args.command in ("export", "import"):  # a signal unwinds: no half-written files
            from rnn_tui.safeio import signals_raise

            with signals_raise():
                return cmd_export(args) if args.command == "export" else cmd_import(args)
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "sweep":
            return cmd_sweep(args)
        if args.command == "compare":
            return cmd_compare(args)
        if args.command == "compile":
            return cmd_compile(args)
        return cmd_app(args)
    except UserError as err:
        print(f"rnn-tui: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("rnn-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


def _flags_to_dict(args) -> dict:
    out: dict[str, dict] = {}
    for _flag, sec, key, _typ, _hlp in TRAIN_FLAGS:
        v = getattr(args, key, None)
        if v is not None:
            out.setdefault(sec, {})[key] = v
    return out





def _app_env(args) -> None:
    """Check --theme; set what Textual reads at import (16 colours in low-bandwidth mode)."""
    import os

    if getattr(args, "low_bandwidth", False):
        os.environ.setdefault("TEXTUAL_COLOR_SYSTEM", "standard")
    if args.theme:
        from textual.theme import BUILTIN_THEMES

        from rnn_tui.config import suggest
        from rnn_tui.tui.themes import load_themes

        broken: dict[str, str] = {}  # a theme whose file is broken: the app says so, falls back
        names = sorted({*load_themes(broken), *broken}) + sorted(BUILTIN_THEMES)
        if args.theme not in names:
            raise UserError(f"unknown theme {args.theme!r}{suggest(args.theme, names)}")


def cmd_app(args) -> int:
    """With no command: the app, training a model (the defaults, or flags / --config)."""
    from rnn_tui.runtime import configure_threads

    cfg = build_config(args, APP_DEFAULTS)
    _app_env(args)
    configure_threads()
    if sys.stderr.isatty():
        print(f"rnn-tui: preparing {cfg.data.corpus}…", file=sys.stderr, flush=True)
    from rnn_tui.session import prepare_run

    trainer, writer, _ = prepare_run(cfg, args.runs_dir, run_name(args),
                                     Path(args.resume) if args.resume else None,
                                     on_nonfinite="pause", logs=args.log or ())
    from rnn_tui.tui.app import RnnTuiApp
    from rnn_tui.tui.source import LiveSource

    app = RnnTuiApp(LiveSource(cfg, args.runs_dir, prepared=(trainer, writer)), cfg=cfg,
                    theme=args.theme, low_bandwidth=args.low_bandwidth, runs_dir=args.runs_dir,
                    confine=args.confine)
    received = _exit_on_signals(app)
    try:
        app.run()
    finally:  # app.source: the run on screen at the end (the setup screen can start others)
        app.source.stop("stopped" if app.quitting and not received else "interrupted")
        app.source.join(120)
    last = app.source.trainer
    if last is not None and last.failure:  # a write failed (disk full, read-only)
        from rnn_tui.session import discard_if_unsaved

        discard_if_unsaved(last)
        print(f"rnn-tui: error: {last.failure}", file=sys.stderr)
        return 2
    if received:
        if last is not None and last.step > 0:
            print(f"rnn-tui: interrupted; checkpoint saved in {last.run_dir}. Continue with: "
                  f"rnn-tui --resume {last.run_dir}", file=sys.stderr)
        return signal_exit_code(received[0])
    if app.return_code not in (0, None):
        return app.return_code
    if last is not None and last.step > 0 and args.confine:
        from rnn_tui.paths import relative_name

        print(f"rnn-tui: checkpoint saved (run {relative_name(args.confine, last.run_dir)})",
              file=sys.stderr)
    elif last is not None and last.step > 0:
        print(f"rnn-tui: checkpoint saved in {last.run_dir}; continue with: rnn-tui --resume "
              f"{last.run_dir}", file=sys.stderr)
    return 0


# After a signal, how long the app may take to leave once its run has saved and closed its
# log, before the process ends anyway (leaving normally takes well under a second)
EXIT_GRACE_S = 10.0
# How long to wait for the run to save its checkpoint after a signal
RUN_SAVE_TIMEOUT_S = 120.0


def _exit_on_signals(app) -> list[int]:
    """SIGTERM / SIGHUP (the terminal went away) / SIGINT: stop with a checkpoint, then leave
    the app. Returns the list the signals received are recorded in (for the exit status)."""
    received: list[int] = []

    def handler(signum, _frame):
        if signum == getattr(signal, "SIGHUP", None):
            _output_to_devnull()
        if not received:
            _exit_anyway_after(lambda: app.source, signum)
        received.append(signum)
        app.source.stop("interrupted")
        app.quitting = True
        try:
            import asyncio

            asyncio.get_running_loop().call_soon_threadsafe(app.exit)
        except RuntimeError:
            app.exit()

    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None), signal.SIGINT):
        if sig is not None:
            signal.signal(sig, handler)
    return received


def _output_to_devnull() -> None:
    """After SIGHUP: stdout / stderr that were a terminal which has now gone away (hung up)
    are pointed at /dev/null, so that what is still drawn or printed on the way out goes
    nowhere. Written to a hung-up terminal it fails (EIO), and Textual's output thread dies of
    that, after which the app blocks for ever on its full output queue. Pipes, files and a
    terminal still there (a SIGHUP sent by ``kill``) are left alone."""
    import os
    import stat

    null = None
    try:
        for fd in (1, 2):
            try:
                hung_up = stat.S_ISCHR(os.fstat(fd).st_mode) and not os.isatty(fd)
                if hung_up:  # a hung-up terminal no longer answers as one
                    null = os.open(os.devnull, os.O_WRONLY) if null is None else null
                    os.dup2(null, fd)
            except OSError:
                pass
    finally:
        if null is not None:
            os.close(null)


def _exit_anyway_after(get_source, signum: int, grace: float = EXIT_GRACE_S) -> None:
    """Make sure a signal ends the process: once the run on screen (``get_source()``) has saved
    its checkpoint and closed its log, the app has ``grace`` seconds to leave by itself; then
    the process exits with the signal's status. Guards against an app that cannot finish
    leaving (say, its output thread died when the terminal went away first)."""
    import os
    import threading
    import time

    def watchdog() -> None:
        get_source().join(RUN_SAVE_TIMEOUT_S)
        time.sleep(grace)
        os._exit(signal_exit_code(signum))

    threading.Thread(target=watchdog, name="rnn-tui-exit", daemon=True).start()


def cmd_recipes(args) -> int:
    from rnn_tui.recipes import RECIPES, get_recipe

    if args.name:
        print(get_recipe(args.name).help())
        return 0
    width = max(len(n) for n in RECIPES)
    for r in RECIPES.values():
        print(f"{r.name:<{width}}  {r.title}")
    print("\n`rnn-tui recipes NAME` tells what one teaches; `rnn-tui --recipe NAME` runs it.",
          file=sys.stderr)
    return 0


def latest_recipe_run(runs_dir: str, name: str) -> Path:
    """The most recent run directory made from recipe ``name`` under ``runs_dir``."""
    from rnn_tui.recipes import get_recipe

    get_recipe(name)
    runs = [p for p in Path(runs_dir).glob(f"{name}-*") if (p / "config.toml").is_file()]
    if not runs:
        raise UserError(f"no run of recipe {name!r} under {runs_dir}; start one with "
                        f"`rnn-tui train --recipe {name}`")
    return max(runs, key=lambda p: (p / "config.toml").stat().st_mtime)


def cmd_watch(args) -> int:
    _app_env(args)
    from rnn_tui.tui.source import FileSource

    if args.recipe:
        if args.run:
            raise UserError("give a run directory or --recipe, not both")
        args.run = str(latest_recipe_run(args.runs_dir, args.recipe))
    elif not args.run:
        raise UserError("give the run directory to watch (or --recipe NAME)")
    source = FileSource(args.run)
    from rnn_tui.tui.app import RnnTuiApp

    app = RnnTuiApp(source, cfg=None, theme=args.theme, low_bandwidth=args.low_bandwidth)
    received = _exit_on_signals(app)
    app.run()
    if received:
        return signal_exit_code(received[0])
    return app.return_code or 0


def cmd_serve(args) -> int:
    """The app over SSH (or in a browser with --web) for many people at once; see
    :mod:`rnn_tui.serve`."""
    import os

    from rnn_tui.serve import app_argv, require, state_dir

    require("textual_serve" if args.web else "asyncssh")
    cfg = build_config(args, APP_DEFAULTS)  # every session's defaults, checked once here
    _app_env(args)
    _check_corpus(cfg.data.task, cfg.data.corpus)
    runs_root = Path(args.runs_dir).expanduser().resolve()  # made once the checks pass
    port = args.port if args.port is not None else (8000 if args.web else 2222)
    if not 0 <= port <= 65535:
        raise UserError(f"--port must be between 0 and 65535, got {port}")
    passthrough = app_argv(args)
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    root_warning = ("rnn-tui serve: warning: running as root, so every session's app does too; "
                    "prefer a user of its own")
    if args.web:
        if as_root:
            print(root_warning, file=sys.stderr)
        from rnn_tui.serve.web import serve_web

        return serve_web(args.host, port, runs_root, passthrough, cfg.data.task,
                         args.public_url)
    if not args.authorized_keys:
        raise UserError("give --authorized-keys FILE (OpenSSH format): the public keys that may "
                        "connect")
    max_sessions = args.max_sessions if args.max_sessions is not None else (os.cpu_count() or 1)
    if max_sessions < 1:
        raise UserError(f"--max-sessions must be at least 1, got {max_sessions}")
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


def cmd_sweep(args) -> int:
    from rnn_tui.sweep.engine import run_sweep

    return run_sweep(args)


def cmd_compare(args) -> int:
    _app_env(args)
    from rnn_tui.tui.runset import RunSet

    runs = RunSet.from_paths(args.runs)
    from rnn_tui.tui.compare_app import CompareApp

    app = CompareApp(runs, theme=args.theme, low_bandwidth=args.low_bandwidth)
    app.run()
    return app.return_code or 0


def build_config(args, defaults: dict | None = None):
    """Defaults (the task's), then a recipe or the resumed run's config, then --config, then
    flags; validated."""
    from rnn_tui.config import RunConfig, load_toml

    cfg = RunConfig()
    if defaults:
        cfg.update(defaults, "defaults")
    recipe = None
    if getattr(args, "recipe", None):
        from rnn_tui.recipes import get_recipe

        if args.resume:
            raise UserError("--recipe starts a new run; --resume continues one with its own "
                            "settings: give one of them")
        recipe = get_recipe(args.recipe)
    task = args.task
    if task is None and args.config:
        task = load_toml(args.config).get("data", {}).get("task")
    if task is None and recipe is not None:
        task = recipe.config.get("data", {}).get("task")
    if task in TASK_DEFAULTS and not args.resume:
        cfg.update(TASK_DEFAULTS[task], f"{task} defaults")
    if recipe is not None:
        cfg.update(recipe.config, f"recipe {recipe.name}")
    if args.resume:
        import stat

        from rnn_tui.safeio import stat_path

        resume_dir = Path(args.resume)
        st = stat_path(resume_dir, "run directory")  # not found, a loop, permission denied
        if not stat.S_ISDIR(st.st_mode) or not (resume_dir / "config.toml").is_file():
            raise UserError(f"{resume_dir} is not a run directory (no config.toml); give the "
                            "directory `rnn-tui train` created")
        cfg.update(load_toml(resume_dir / "config.toml"), str(resume_dir / "config.toml"))
    if args.config:
        cfg.update(load_toml(args.config), args.config)
    cfg.update(_flags_to_dict(args), "command line")
    cfg.validate()
    from rnn_tui.memory import check_memory

    check_memory(cfg)  # before the data is read: the vocabulary at its smallest
    return cfg





def run_name(args) -> str | None:
    """--name, or for a recipe run RECIPE-DATE-TIME (so `watch --recipe` finds it)."""
    if args.name or not getattr(args, "recipe", None):
        return args.name
    import time

    return f"{args.recipe}-{time.strftime('%Y%m%d-%H%M%S')}"


def cmd_train(args) -> int:
    cfg = build_config(args)
    return run_training(cfg, args, Path(args.resume) if args.resume else None)


def run_training(cfg, args, resume_dir: Path | None) -> int:
    from rnn_tui.runtime import configure_threads
    from rnn_tui.session import discard_if_unsaved, prepare_run
    from rnn_tui.train.console import ConsoleSink

    configure_threads()
    logs = getattr(args, "log", None) or ()
    trainer, writer, run_dir = prepare_run(cfg, args.runs_dir, run_name(args), resume_dir,
                                           [ConsoleSink(show_samples=not args.quiet)],
                                           on_nonfinite="recover", logs=logs)
    _say_series_column(cfg, trainer.task)
    received: list[int] = []

    def on_signal(signum, _frame):
        if signum == getattr(signal, "SIGHUP", None):
            _output_to_devnull()  # the console's progress has nowhere to go
        received.append(signum)
        trainer.stop("interrupted")

    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, on_signal)
    try:
        reason = trainer.run()
    finally:
        writer.close()
        if logs:
            from rnn_tui.interop.logs import close_sinks

            close_sinks(trainer.sinks)
    if reason == "failed":  # a write failed or it diverged: the console said why in one line
        discard_if_unsaved(trainer)  # a run that never saved a checkpoint leaves nothing
        return 2
    if reason == "interrupted":
        print(f"rnn-tui: interrupted; checkpoint saved. Continue with: rnn-tui train --resume "
              f"{run_dir}", file=sys.stderr)
        return signal_exit_code(received[0] if received else signal.SIGINT)
    return 0


def signal_exit_code(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number (SIGINT 130,
    SIGTERM 143, SIGHUP 129), used by `train`, the app and `watch` alike."""
    return 128 + int(signum)


def _say_series_column(cfg, task) -> None:
    """Which CSV column a series run reads (chosen, or as given): one line with the console's
    progress on stdout (stderr is kept for errors)."""
    from rnn_tui.data.series import BUILTIN_SERIES

    series = getattr(task, "series", None)
    if cfg.data.task != "series" or series is None or cfg.data.corpus in BUILTIN_SERIES:
        return
    how = "as given by --column" if cfg.data.column else \
        "the last column of numbers that is not a date or index; --column picks another"
    print(f"series from {series.source}: column {series.column!r}, "
          f"{len(series.values):,} points ({how})", flush=True)


def cmd_sample(args) -> int:
    import numpy as np

    from rnn_tui.runtime import configure_threads
    from rnn_tui.session import load_language_model

    configure_threads()
    if args.length < 1:
        raise UserError(f"--length must be at least 1, got {args.length}")
    if not args.temperature > 0:
        raise UserError(f"--temperature must be > 0, got {args.temperature}")
    if args.top_k < 0:
        raise UserError(f"--top-k must be >= 0, got {args.top_k}")
    from rnn_tui.config import MAX_SEED

    if args.seed is not None and not 0 <= args.seed <= MAX_SEED:
        raise UserError(f"--seed must be a whole number from 0 to {MAX_SEED}, got {args.seed}")
    if not math.isfinite(args.temperature):
        raise UserError(f"--temperature must be a finite number > 0, got {args.temperature}")
    model, sep, path, which = load_language_model(args.run, args.checkpoint)
    _say_which(path, which)
    rng = np.random.default_rng(args.seed)
    out = sys.stdout
    if args.show_probs:
        return _sample_with_probs(model, args, rng, out)
    if args.prime:
        out.write(args.prime)
    prev = args.prime
    for piece in model.sample(args.length, args.prime, args.temperature, args.top_k, rng):
        if sep and prev and not prev.endswith("\n") and piece not in ".,;:!?)'\n":
            out.write(sep)
        out.write(piece)
        out.flush()
        prev = piece
    out.write("\n")
    return 0


def _sample_with_probs(model, args, rng, out) -> int:
    """Each generated token on a line of its own, after the likeliest candidates the model
    weighed for it (the next-token distribution, under --temperature and --top-k)."""
    from rnn_tui.limits import Limit, check_value

    vocab = model.tokenizer.vocab_size
    check_value("--show-probs", args.show_probs, Limit(1, vocab, "(the vocabulary's size)"))
    ids = model.context(args.prime, rng)
    gen = list(model.sample_ids(args.length, ids, args.temperature, args.top_k, rng))
    tops, probs = model.next_token_distributions(ids, gen, args.temperature, args.top_k,
                                                 args.show_probs)
    shown = args.prime or model.tokenizer.decode_one(ids[0])
    out.write(f"next-token distribution at temperature {args.temperature:g}"
              + (f", top-{args.top_k}" if args.top_k else "") + f", after {shown!r}:\n")
    for t, cands, ps in zip(gen, tops, probs, strict=True):
        cells = "  ".join(f"{c!r:>6} {p:5.3f} {'█' * max(1, round(p * 10)) if p >= 0.05 else '·'}"
                          for c, p in zip(cands, ps, strict=True))
        out.write(f"{model.tokenizer.decode_one(t)!r:>8} ←  {cells}\n")
    return 0


def _say_which(path: Path, which: str, meta: dict | None = None) -> None:
    """One line on stderr naming the weights a command uses."""
    from rnn_tui.train.runs import load_checkpoint

    if which == "file":
        return
    if meta is None:
        try:
            meta = load_checkpoint(path)[1]
        except UserError:
            return
    what = {"best": "best", "latest": "latest"}[which]
    val = meta.get("best_val_loss") if which == "best" else meta.get("last_val_loss")
    extra = f", val_loss {val:.4f}" if isinstance(val, (int, float)) else ""
    print(f"rnn-tui: using the {what} weights ({path.name}, step {meta.get('step', '?')}"
          f"{extra})", file=sys.stderr)


def cmd_evaluate(args) -> int:
    from rnn_tui.runtime import configure_threads
    from rnn_tui.session import open_run

    configure_threads(1)
    opened = open_run(args.run, args.checkpoint)
    task = opened.task
    if args.data:
        val, metrics = task.evaluate_file(args.data, args.encoding)
    else:
        val, metrics = task.evaluate()
    _say_which(opened.path, opened.which, opened.meta)  # after any error: one line for those
    extra = "".join(f" {k}={v:.6g}" for k, v in metrics.items())
    print(f"val_loss={val:.6f}{extra}")
    return 0


def cmd_export(args) -> int:
    fmt = args.format
    if fmt is None:
        if not args.to.endswith(".safetensors"):
            raise UserError(f"say what to write to {args.to}: a FILE.safetensors for the "
                            "weights, or --format tensorboard|csv for the logs")
        fmt = "safetensors"
    if fmt == "safetensors":
        from rnn_tui.interop.weights import export_safetensors

        out = export_safetensors(args.run, args.to, args.checkpoint)
        _say_which(out["checkpoint"], out["which"])
        n = sum(int(a.size) for a in out["tensors"].values())
        print(f"wrote {out['path']}: {len(out['tensors'])} tensors, {n:,} parameters "
              f"({out['metadata']['layers']}x{out['metadata']['hidden']} "
              f"{out['metadata']['cell']})")
        return 0
    from rnn_tui.interop.logs import export_logs

    path, n = export_logs(args.run, args.to, fmt)
    print(f"wrote {path}: {n} events with scalars ({fmt})")
    return 0


def cmd_import(args) -> int:
    from rnn_tui.runtime import configure_threads

    configure_threads(1)
    from rnn_tui.interop.importer import import_run

    settings = _flags_to_dict(args)  # --encoding, --val-fraction and the [train] settings
    for key in ("task", "corpus"):  # given to import_run itself
        settings.get("data", {}).pop(key, None)
    run_dir = import_run(args.file, args.task, corpus=args.text or args.corpus,
                         runs_dir=args.runs_dir, name=args.name, settings=settings)
    print(f"imported {args.file} into {run_dir}; try: rnn-tui watch {run_dir} · rnn-tui "
          f"sample {run_dir} · rnn-tui train --resume {run_dir}")
    return 0


def cmd_forecast(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from rnn_tui.runtime import configure_threads

    if not 0 <= args.horizon <= 10_000:
        raise UserError(f"--horizon must be from 0 to 10,000, got {args.horizon}")
    configure_threads(1)
    from rnn_tui.session import open_run

    opened = open_run(args.run, args.checkpoint)
    cfg, task = opened.cfg, opened.task
    if cfg.data.task != "series":
        raise UserError(f"{args.run} is a {cfg.data.task} run; `forecast` needs a series run "
                        "(use `rnn-tui sample` for language models)")
    _say_which(opened.path, opened.which, opened.meta)
    errs, fc, one = task.errors()
    truth = task.holdout
    con = Console()
    con.print(f"[bold]model[/]: {task.describe()}")
    base = task.baselines()
    hw_name = next((k for k in ("holt_winters_add", "holt_winters_mul", "holt") if k in base),
                   None)
    t = Table(title=f"{task.series.name}: last {len(truth)} points held out "
              f"(period {task.period})")
    cols = ["step", "truth", "forecast", "one-step", "seasonal naive"]
    if hw_name:
        cols.append(hw_name.replace("_", " "))
    for col in cols:
        t.add_column(col, justify="right")
    sn = base["seasonal_naive"]
    n0 = len(task.train_values)
    for i in range(len(truth)):
        row = [str(n0 + i), f"{truth[i]:.2f}", f"{fc[i]:.2f}", f"{one[i]:.2f}", f"{sn[i]:.2f}"]
        if hw_name:
            row.append(f"{base[hw_name][i]:.2f}")
        t.add_row(*row)
    con.print(t)
    e = Table(title="errors on the held-out part (lower is better)")
    for col in ("method", "MAE", "RMSE", "MASE"):
        e.add_column(col, justify="right" if col != "method" else "left")
    for name, m in errs.items():
        e.add_row(name.replace("_", " "), f"{m['mae']:.3f}", f"{m['rmse']:.3f}",
                  f"{m['mase']:.3f}")
    con.print(e)
    future = None
    horizon = args.horizon or cfg.data.horizon
    if horizon:
        full = task.series.values
        future = task.forecaster.forecast(full, horizon)
        con.print(f"next {horizon} after the data: " + ", ".join(f"{v:.2f}" for v in future))
    if not args.no_chart:
        import plotext as plt

        hist = task.train_values[-3 * len(truth):]
        xs0 = list(range(n0 - len(hist), n0))
        xs1 = list(range(n0, n0 + len(truth)))
        plt.clear_figure()
        if not sys.stdout.isatty():
            plt.theme("clear")  # no colour codes in a pipe or file
        plt.plot(xs0, list(hist), label="history")
        plt.plot(xs1, list(truth), label="truth")
        plt.plot(xs1, list(fc), label="forecast")
        plt.plot(xs1, list(sn), label="seasonal naive")
        if hw_name:
            plt.plot(xs1, list(base[hw_name]), label=hw_name.replace("_", " "))
        if future is not None:
            n1 = len(task.series.values)
            plt.plot(list(range(n1, n1 + len(future))), list(future), label="future")
        plt.plotsize(min(con.width, 100), 20)
        plt.title(f"{task.series.name}: forecast vs truth")
        plt.show()
    print(f"model_mae={errs['model']['mae']:.4f} "
          f"seasonal_naive_mae={errs['seasonal_naive']['mae']:.4f}")
    return 0


def cmd_compile(args) -> int:
    if args.jobs is not None and args.jobs < 1:
        raise UserError(f"--jobs must be at least 1, not {args.jobs}")
    import warnings

    with warnings.catch_warnings():  # (the kernels find out whether they can cache: the error
        warnings.simplefilter("ignore", RuntimeWarning)  # below says it in one line)
        from rnn_tui.core.fast import _jit
        from rnn_tui.core.fast.precompile import compile_all, default_workers
    if not _jit.cache_enabled:
        raise UserError("no writable compile cache, so there is nothing to compile ahead: set "
                        "NUMBA_CACHE_DIR to a writable folder")
    workers = args.jobs or default_workers()
    where = _jit.cache_dir or "Numba's cache beside the installed package"
    print(f"compiling every kernel into {where} ({workers} at a time)", flush=True)

    def report(job: str, seconds: float) -> None:
        print(f"  {job:<14} {seconds:6.1f} s", flush=True)

    try:
        wall = compile_all(workers, report)
    except RuntimeError as err:
        print(f"rnn-tui: {err}", file=sys.stderr)
        return 1
    print(f"done in {wall:.1f} s: runs now load their kernels from the cache")
    return 0


def cmd_corpora(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from rnn_tui.data.corpora import data_dir, list_corpora
    from rnn_tui.tui.themes import user_themes_dir

    if args.fetch:
        from rnn_tui.data.corpora import load_corpus

        c = load_corpus(args.fetch)
        print(f"{c.name}: {len(c.text):,} characters ready")
        return 0
    table = Table(title="Corpora")
    for col in ("name", "characters", "from", "description"):
        table.add_column(col)
    for info in list_corpora():
        size = f"{info.size:,}" if info.size else ("not fetched" if not info.available else "?")
        if info.task:
            size = f"--task {info.task}" if info.available else "missing"
        table.add_row(info.name, size, "yours" if info.origin == "user" else "built-in",
                      info.description)
    Console().print(table)
    from rnn_tui.data.series import BUILTIN_SERIES

    print("built-in series (for --task series): " + ", ".join(BUILTIN_SERIES))
    print(f"your corpora: every *.txt in {data_dir()} (named by its stem), and more named in a "
          "manifest.toml there; corpora fetched by URL are kept there too")
    print(f"your themes: *.toml files in {user_themes_dir()} (for --theme and the t key)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
