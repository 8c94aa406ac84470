"""``rnn-tui export``: a run's weights for PyTorch (.safetensors), or its logs."""

from __future__ import annotations

from rnn_tui.commands.shared import checkpoint_option, say_which
from rnn_tui.errors import UserError, visible

NAME = "export"
HELP = ("write a run's weights for PyTorch (.safetensors), or its logs for TensorBoard or as "
        "CSV")
DESCRIPTION = ("Write a run's best weights (or --checkpoint latest) to FILE.safetensors with "
               "PyTorch's names and shapes (embedding, rnn, head; no pickle), or with --format "
               "tensorboard|csv its logged scalars from metrics.jsonl into the directory DIR.")
FORMATS = ("safetensors", "tensorboard", "csv")


def add_arguments(x) -> None:
    x.add_argument("run", metavar="RUN", help="run directory")
    x.add_argument("--to", required=True, metavar="FILE|DIR",
                   help="FILE.safetensors for the weights, or a directory for the logs")
    x.add_argument("--format", choices=FORMATS, default=None,
                   help="safetensors (the default for a .safetensors file), tensorboard "
                   "(event files; needs the [tensorboard] extra) or csv (DIR/metrics.csv)")
    checkpoint_option(x)


def run(args) -> int:
    from rnn_tui.safeio import signals_raise

    with signals_raise():  # a signal unwinds: no half-written files
        return _export(args)


def _export(args) -> int:
    fmt = args.format
    if fmt is None:
        if not args.to.endswith(".safetensors"):
            raise UserError(f"say what to write to {args.to}: a FILE.safetensors for the "
                            "weights, or --format tensorboard|csv for the logs")
        fmt = "safetensors"
    if fmt == "safetensors":
        from rnn_tui.interop.weights import export_safetensors

        out = export_safetensors(args.run, args.to, args.checkpoint)
        say_which(out["checkpoint"], out["which"])
        n = sum(int(a.size) for a in out["tensors"].values())
        print(f"wrote {visible(out['path'])}: {len(out['tensors'])} tensors, {n:,} parameters "
              f"({out['metadata']['layers']}x{out['metadata']['hidden']} "
              f"{out['metadata']['cell']})")
        return 0
    from rnn_tui.interop.logs import export_logs

    path, n = export_logs(args.run, args.to, fmt)
    print(f"wrote {visible(path)}: {n} events with scalars ({fmt})")
    return 0
