"""Command line: ``rnn-tui`` (the app), ``train``, ``sample``, ``forecast``, ``watch``, ``corpora``.

Heavy modules (NumPy, Numba, Textual) are imported inside the commands so ``--help`` is instant.
Every :class:`~rnn_tui.errors.UserError` becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from rnn_tui import __version__
from rnn_tui.config import APP_DEFAULTS, SERIES_DEFAULTS
from rnn_tui.errors import UserError

# flag -> (section, key, type, help)
TRAIN_FLAGS: list[tuple[str, str, str, type, str]] = [
    ("--task", "data", "task", str, "char | word | series (default char)"),
    ("--corpus", "data", "corpus", str,
     "built-in corpus name (see `rnn-tui corpora`), text file, or for series a CSV / built-in "
     "series (default pydoc)"),
    ("--encoding", "data", "encoding", str, "text encoding of the corpus file (default utf-8)"),
    ("--column", "data", "column", str, "CSV value column, by name or 0-based index"),
    ("--val-fraction", "data", "val_fraction", float, "share of the text held out (0.1)"),
    ("--min-count", "data", "min_count", int, "word task: rarer words become <unk> (2)"),
    ("--max-vocab", "data", "max_vocab", int, "word task: vocabulary cap (10000)"),
    ("--lookback", "data", "lookback", int,
     "series: past steps the model reads, 0 = chosen to fit the series (0)"),
    ("--horizon", "data", "horizon", int, "series: steps forecast ahead (12)"),
    ("--holdout", "data", "holdout", int, "series: final points held out (24)"),
    ("--period", "data", "period", int, "series: seasonal period, 0 = detect (0)"),
    ("--cell", "model", "cell", str, "rnn | rnn_relu | lstm | gru (gru)"),
    ("--hidden", "model", "hidden", int, "hidden units per layer (512)"),
    ("--layers", "model", "layers", int, "stacked recurrent layers (1)"),
    ("--embed", "model", "embed", int, "embedding size, 0 = one-hot input (64)"),
    ("--dropout", "model", "dropout", float, "dropout between layers (0)"),
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
     "stop after this many evaluations without a new best validation loss, 0 = never"),
    ("--time-budget", "train", "time_budget", float, "stop after this many seconds (300)"),
    ("--eval-every", "train", "eval_every", int, "steps between evaluations (250)"),
    ("--eval-tokens", "train", "eval_tokens", int, "validation tokens per evaluation"),
    ("--checkpoint-every", "train", "checkpoint_every", int, "steps between checkpoints (500)"),
    ("--sample-every", "train", "sample_every", int, "steps between samples (500)"),
    ("--sample-len", "train", "sample_len", int, "tokens per sample (200)"),
    ("--temperature", "train", "temperature", float, "sampling temperature (0.8)"),
    ("--log-every", "train", "log_every", int, "steps between progress events, 0 = ~5/s"),
    ("--seed", "train", "seed", int, "random seed (0)"),
    ("--dtype", "train", "dtype", str,
     "float32 | float64 (float32; float64 is for checking and skips the fused fast step)"),
]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
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
    g = p.add_argument_group(
        "model and training (the app's run)",
        "The defaults shown are `rnn-tui train`'s; the app changes a few for watching: hidden 256, "
        "time budget 600 s, evaluation and a sample every 100 steps.")
    for flag, _sec, key, typ, hlp in TRAIN_FLAGS:
        g.add_argument(flag, dest=key, type=str, metavar=typ.__name__.upper(), help=hlp)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, **kw) -> argparse.ArgumentParser:
        return sub.add_parser(name, prog=f"rnn-tui {name}", **kw)

    t = command("train", help="train a model headless (console progress, run directory)",
                description="Train a model without the app. Progress goes to the console; "
                "config, metrics, checkpoints and samples go to RUNS_DIR/NAME.")
    t.add_argument("--config", metavar="FILE", help="TOML file with [data] [model] [train]; "
                   "flags override it")
    t.add_argument("--resume", metavar="RUN", help="continue a run from its last checkpoint")
    t.add_argument("--name", help="run name (default: TASK-DATE-TIME)")
    t.add_argument("--runs-dir", default="runs", help="where run directories go (./runs)")
    t.add_argument("--quiet", action="store_true", help="no samples on the console")
    for flag, _sec, key, typ, hlp in TRAIN_FLAGS:
        t.add_argument(flag, dest=key, type=str, metavar=typ.__name__.upper(), help=hlp)

    s = command("sample", help="generate text from a trained run, streamed to stdout")
    s.add_argument("run", metavar="RUN", help="run directory (or checkpoint file)")
    s.add_argument("--prime", default="", help="text to start from")
    s.add_argument("-n", "--length", type=int, default=500, help="tokens to generate (500)")
    s.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (0.8)")
    s.add_argument("--top-k", type=int, default=0, help="sample among the k likeliest (0 = all)")
    s.add_argument("--seed", type=int, default=None, help="random seed")
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
    w.add_argument("run", metavar="RUN_DIR", help="the run directory")
    app_options(w)

    c = command("corpora", help="list the built-in corpora and series")
    c.add_argument("--fetch", metavar="NAME", help="download a corpus that is fetched by URL")
    return p


def checkpoint_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", choices=("best", "latest"), default="best",
                   help="which weights: best (the best validation loss, best.npz; the "
                   "default) or latest (checkpoint.npz)")


def app_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--theme", help="colour theme: rnn-dark, rnn-light, high-contrast, ansi-16 "
                   "or any Textual theme (remembered)")
    p.add_argument("--low-bandwidth", action="store_true",
                   help="for slow SSH links: 16 colours and fewer, slower redraws")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
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

        names = sorted(load_themes()) + sorted(BUILTIN_THEMES)
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

    trainer, writer, _ = prepare_run(cfg, args.runs_dir, args.name,
                                     Path(args.resume) if args.resume else None,
                                     on_nonfinite="pause")
    from rnn_tui.tui.app import RnnTuiApp
    from rnn_tui.tui.source import LiveSource

    app = RnnTuiApp(LiveSource(cfg, args.runs_dir, prepared=(trainer, writer)), cfg=cfg,
                    theme=args.theme, low_bandwidth=args.low_bandwidth, runs_dir=args.runs_dir)
    _exit_on_signals(app)
    try:
        app.run()
    finally:  # app.source: the run on screen at the end (the setup screen can start others)
        app.source.stop("stopped" if app.quitting else "interrupted")
        app.source.join(120)
    if app.return_code not in (0, None):
        return app.return_code
    last = app.source.trainer
    if last is not None and last.step > 0:
        print(f"rnn-tui: checkpoint saved in {last.run_dir}; continue with: rnn-tui --resume "
              f"{last.run_dir}", file=sys.stderr)
    return 0


def _exit_on_signals(app) -> None:
    """SIGTERM / SIGHUP (the terminal went away): stop with a checkpoint, then leave the app."""
    def handler(signum, _frame):
        app.source.stop("interrupted")
        app.quitting = True
        try:
            import asyncio

            asyncio.get_running_loop().call_soon_threadsafe(app.exit)
        except RuntimeError:
            app.exit()

    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, handler)


def cmd_watch(args) -> int:
    _app_env(args)
    from rnn_tui.tui.source import FileSource

    source = FileSource(args.run)
    from rnn_tui.tui.app import RnnTuiApp

    app = RnnTuiApp(source, cfg=None, theme=args.theme, low_bandwidth=args.low_bandwidth)
    app.run()
    return app.return_code or 0


def build_config(args, defaults: dict | None = None):
    """Defaults, then the resumed run's config, then --config, then flags; validated."""
    from rnn_tui.config import RunConfig, load_toml

    cfg = RunConfig()
    if defaults:
        cfg.update(defaults, "defaults")
    task = args.task
    if task is None and args.config:
        task = load_toml(args.config).get("data", {}).get("task")
    if task == "series" and not args.resume:
        cfg.update(SERIES_DEFAULTS, "series defaults")
    if args.resume:
        resume_dir = Path(args.resume)
        if not (resume_dir / "config.toml").is_file():
            raise UserError(f"{resume_dir} is not a run directory (no config.toml); give the "
                            "directory `rnn-tui train` created")
        cfg.update(load_toml(resume_dir / "config.toml"), str(resume_dir / "config.toml"))
    if args.config:
        cfg.update(load_toml(args.config), args.config)
    cfg.update(_flags_to_dict(args), "command line")
    return cfg.validate()





def cmd_train(args) -> int:
    cfg = build_config(args)
    return run_training(cfg, args, Path(args.resume) if args.resume else None)


def run_training(cfg, args, resume_dir: Path | None) -> int:
    from rnn_tui.runtime import configure_threads
    from rnn_tui.session import prepare_run
    from rnn_tui.train.console import ConsoleSink

    configure_threads()
    trainer, writer, run_dir = prepare_run(cfg, args.runs_dir, args.name, resume_dir,
                                           [ConsoleSink(show_samples=not args.quiet)])

    def on_signal(signum, _frame):
        trainer.stop("interrupted")

    for sig in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            signal.signal(sig, on_signal)
    try:
        reason = trainer.run()
    finally:
        writer.close()
    if reason == "failed":
        return 1
    if reason == "interrupted":
        print(f"rnn-tui: interrupted; checkpoint saved. Continue with: rnn-tui train --resume "
              f"{run_dir}", file=sys.stderr)
        return 130
    return 0


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
    model, sep, path, which = load_language_model(args.run, args.checkpoint)
    _say_which(path, which)
    rng = np.random.default_rng(args.seed)
    out = sys.stdout
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


def _say_which(path: Path, which: str) -> None:
    """One line on stderr naming the weights a command uses."""
    from rnn_tui.train.runs import load_checkpoint

    if which == "file":
        return
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
    _say_which(opened.path, opened.which)
    task = opened.task
    if args.data:
        if task.kind not in ("char", "word"):
            raise UserError(f"--data scores text with a language model; {args.run} is a "
                            f"{task.kind} run")
        val, metrics = task.evaluate_text(args.data, args.encoding)
    else:
        val, metrics = task.evaluate()
    extra = "".join(f" {k}={v:.6g}" for k, v in metrics.items())
    print(f"val_loss={val:.6f}{extra}")
    return 0


def cmd_forecast(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from rnn_tui.runtime import configure_threads

    configure_threads(1)
    from rnn_tui.session import open_run

    opened = open_run(args.run, args.checkpoint)
    cfg, task = opened.cfg, opened.task
    _say_which(opened.path, opened.which)
    if cfg.data.task != "series":
        raise UserError(f"{args.run} is a {cfg.data.task} run; `forecast` needs a series run "
                        "(use `rnn-tui sample` for language models)")
    if args.horizon < 0:
        raise UserError(f"--horizon must be >= 0, got {args.horizon}")
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


def cmd_corpora(args) -> int:
    from rich.console import Console
    from rich.table import Table

    from rnn_tui.data.corpora import list_corpora

    if args.fetch:
        from rnn_tui.data.corpora import load_corpus

        c = load_corpus(args.fetch)
        print(f"{c.name}: {len(c.text):,} characters ready")
        return 0
    table = Table(title="Built-in corpora")
    for col in ("name", "characters", "description"):
        table.add_column(col)
    for info in list_corpora():
        size = f"{info.size:,}" if info.size else ("not fetched" if not info.available else "?")
        table.add_row(info.name, size, info.description)
    Console().print(table)
    from rnn_tui.data.series import BUILTIN_SERIES

    print("built-in series (for --task series): " + ", ".join(BUILTIN_SERIES))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
