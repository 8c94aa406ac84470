"""``rnn-tui sweep``: a grid or random search over ``train`` settings on Ray Tune."""

from __future__ import annotations

from rnn_tui.commands.shared import add_train_flags

NAME = "sweep"
HELP = ("train many runs (a grid or random search over any train option) on Ray Tune; each "
        "trial is an ordinary run directory")
DESCRIPTION = ("Run a grid of `train` settings as a Ray Tune experiment: one trial per core on "
               "this machine, or on a Ray cluster with --address. Every option is written as on "
               "`train`; a comma list is a grid axis (--cell rnn,lstm,gru), LO..HI..STEP a grid "
               "of numbers (--hidden 64..256..64; ..xF steps by a factor), LO:HI[:log] a range "
               "for random search (--lr 1e-3:1e-2:log, with --samples N). Each trial is a run "
               "directory in RUNS_DIR/NAME/ (open it with watch, sample, evaluate; all of them "
               "with `rnn-tui compare RUNS_DIR/NAME`); sweep.json there records the grid and "
               "every trial's status. The last line printed is `best=<run dir> val_loss=<x>`.")
EPILOG = ('Needs the [sweep] extra: pip install "rnn-tui[sweep]". --config FILE may hold a '
          "[sweep] table (keys: option names with lists or range strings, and samples, "
          "scheduler, sweep_seed, max_concurrent, grace_period, address, storage_path).")


def add_arguments(sw) -> None:
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


def run(args) -> int:
    from rnn_tui.sweep.engine import run_sweep

    return run_sweep(args)
