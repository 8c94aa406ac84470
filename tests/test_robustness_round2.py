"""Robustness, round two (issue #20): what a hostile tester found, by family.

Every case goes through the real command line (a subprocess with this tree's ``src`` on
PYTHONPATH, or ``rnn_tui.cli.main`` where a patched function simulates the failure): one line on
stderr starting ``rnn-tui: error:``, exit status 2 (or 0 where the input is valid and now
handled), no traceback, no run directory left without a checkpoint, no stale temporaries. The
three untrusted inputs (``metrics.jsonl`` lines, CSV cells, checkpoints) are also fuzzed with
Hypothesis: a clear refusal or a valid result, never another exception.
"""

from __future__ import annotations

import asyncio
import errno
import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import typing
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_tui.cli import main
from rnn_tui.errors import UserError
from rnn_tui.train import events as ev
from rnn_tui.train.runs import MetricsReader, MetricsWriter, load_checkpoint

SRC = Path(__file__).resolve().parents[1] / "src"
TINY = ["--hidden", "8", "--embed", "4", "--seq", "8", "--batch", "4", "--steps", "1",
        "--time-budget", "0", "--eval-every", "1", "--eval-tokens", "200", "--quiet"]
SERIES = ["--task", "series", "--hidden", "4", "--steps", "3", "--eval-every", "3",
          "--holdout", "6", "--lookback", "6", "--time-budget", "0", "--quiet"]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def run_cli(args, cwd, env=None, timeout=120):
    e = dict(os.environ, PYTHONWARNINGS="ignore", PYTHONPATH=str(SRC))
    e.update(env or {})
    return subprocess.run([sys.executable, "-m", "rnn_tui.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, env=e, timeout=timeout)


def refused(out, match: str = "") -> str:
    """One line on stderr, exit 2, no traceback; returns the line."""
    assert "Traceback" not in out.stderr, out.stderr
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert out.returncode == 2, (out.returncode, out.stdout[-500:], out.stderr)
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("rnn-tui: error: "), lines[0]
    assert match.lower() in lines[0].lower(), lines[0]
    return lines[0]


def refused_in_process(capsys, args, match: str = "") -> str:
    capsys.readouterr()
    rc = main([str(a) for a in args])
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert rc == 2, err
    assert len(lines) == 1 and lines[0].startswith("rnn-tui: error: "), err
    assert match.lower() in lines[0].lower(), lines[0]
    return lines[0]


def no_half_made_runs(runs: Path) -> None:
    """Every run directory under ``runs`` has a checkpoint, and no temporaries of ours."""
    if not runs.exists():
        return
    for d in runs.iterdir():
        assert (d / "checkpoint.npz").is_file(), f"{d} left without a checkpoint"
        stale = [p.name for p in d.iterdir() if p.name.endswith(".tmp")]
        assert not stale, stale


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


# ====================================================================== 1. series CSVs
def wave(n=80, base=1000.0):
    return [base + 100 * math.sin(i * 2 * math.pi / 12) + i for i in range(n)]


def test_thousands_separators_train_on_the_value_column_and_forecast_shows_it(tmp_path):
    vals = wave(80, 1500.0)
    csv = write_csv(tmp_path / "t.csv", "date,value",
                    [f'2020-{i // 28 + 1:02d}-{i % 28 + 1:02d},"{v:,.2f}"' for i, v in
                     enumerate(vals)])
    out = run_cli(["train", *SERIES, "--corpus", csv, "--runs-dir", tmp_path / "r", "--name",
                   "s"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "column 'value'" in out.stdout  # it says which column it took
    from rnn_tui.session import open_run

    task = open_run(tmp_path / "r" / "s", "latest").task
    np.testing.assert_allclose(task.holdout, np.round(vals[-6:], 2))  # the truth, not row numbers
    fc = run_cli(["forecast", tmp_path / "r" / "s", "--no-chart"], tmp_path)
    assert fc.returncode == 0, fc.stderr
    assert f"{round(vals[-1], 2):.2f}" in fc.stdout


@pytest.mark.parametrize("header,rows,expected", [
    ("date;value", ["2020-01-01;1,5", "2020-01-02;2,25", "2020-01-03;-3,0"], [1.5, 2.25, -3.0]),
    ("date;value", ["a;1.234,5", "b;2.000", "c;3,5"], [1234.5, 2000.0, 3.5]),
    ("t,v", ['a," $1,234.50 "', 'b,"€ 12"', "c,-$5", "d,(7)", "e,12%"],
     [1234.5, 12.0, -5.0, -7.0, 12.0]),
    ("t;v", ["a;1 234,5", "b;2\u00a0000", "c; 7 "], [1234.5, 2000.0, 7.0]),
    ("t,v", ["a,1'234.5", "b,2'000", "c,1e3"], [1234.5, 2000.0, 1000.0]),
    ("t;v", ["x;1,234", "y;2,500"], [1.234, 2.5]),  # a ; file: the comma is decimal
    ("t,v", ['x,"1,234"', 'y,"2,500"'], [1234.0, 2500.0]),  # a , file: thousands
    ("t,v", ["0,5", "1,6", "2,7", "3,8"], [5.0, 6.0, 7.0, 8.0]),  # not the index t
    ("v,n", ["5.5,1", "6.1,2", "7.2,3"], [5.5, 6.1, 7.2]),  # not whole numbers stepping evenly
    ("sep=;\nt;v", ["a;1,5", "b;2,5"], [1.5, 2.5]),  # Excel's delimiter line
])
def test_numbers_as_people_write_them(tmp_path, header, rows, expected):
    from rnn_tui.data.series import load_csv

    s = load_csv(write_csv(tmp_path / "c.csv", header, rows))
    np.testing.assert_allclose(s.values, expected)
    assert s.column in ("value", "v")


@pytest.mark.parametrize("rows,column,match", [
    (["0,0x1F", "1,0x20", "2,0x21"], None, "hexadecimal"),
    (["0,1", "1,abc", "2,3", "3,4"], None, "line 3 'abc' (not a number)"),  # no fallback to t
    (["0,1", "1,", "2,3"], None, "line 3 '' (blank)"),
    (["0,1", "1,inf", "2,NaN"], None, "not finite"),
    (["0,1", "1,1e300", "2,3"], None, "rescale"),
    (["0,1", "1,2", "2,²"], "v", "digits other than 0-9"),
    (["0,1", "1,2", "2,3"], "²", "no column '²'"),
    (["2020-01-01,1", "2020-01-02,2", "2020-01-03,3"], "t", "a date"),
    (["0,1", "1,", "2,3", "3,4"], None, "line 3 '' (blank)"),  # never the stepping t instead
])
def test_bad_value_column_is_refused_with_lines_and_why(tmp_path, rows, column, match):
    csv = write_csv(tmp_path / "c.csv", "t,v", rows)
    args = ["train", *SERIES, "--corpus", csv, "--runs-dir", tmp_path / "r"]
    if column is not None:
        args += ["--column", column]
    refused(run_cli(args, tmp_path), match)
    assert not (tmp_path / "r").exists()


def test_csv_with_only_an_index_and_text_says_so(tmp_path):
    from rnn_tui.data.series import load_csv

    csv = write_csv(tmp_path / "c.csv", "year,name", ["1949,a", "1950,b", "1951,c"])
    with pytest.raises(UserError, match="row index or time axis.*'name' holds no numbers"):
        load_csv(csv)


def test_zero_or_negative_in_the_held_out_part_trains_to_the_end(tmp_path):
    vals = [100 + 10 * math.sin(i * 2 * math.pi / 12) for i in range(96)]
    vals[-3], vals[-2] = 0.0, -4.0  # only in the held-out part
    csv = write_csv(tmp_path / "z.csv", "t,v", [f"m{i},{v:.3f}" for i, v in enumerate(vals)])
    out = run_cli(["train", *SERIES, "--corpus", csv, "--runs-dir", tmp_path / "r", "--name",
                   "z", "--holdout", "12", "--lookback", "12"], tmp_path)
    assert out.returncode == 0, out.stderr
    evals = [json.loads(x) for x in (tmp_path / "r" / "z" / "metrics.jsonl").read_text()
             .splitlines() if '"type":"eval"' in x]
    assert evals and all(isinstance(e["val_loss"], float) and math.isfinite(e["val_loss"])
                         for e in evals)
    load_checkpoint(tmp_path / "r" / "z")


# ====================================================================== 2. every sink formats
# None, NaN and inf
def test_console_and_writer_tolerate_missing_and_nonfinite_values(tmp_path):
    from rich.console import Console

    from rnn_tui.train.console import ConsoleSink

    con = Console(file=io.StringIO(), width=100)
    sink = ConsoleSink(con)
    w = MetricsWriter(tmp_path / "m.jsonl", heavy_interval=0)
    nan, inf = float("nan"), float("inf")
    evs = [ev.RunStarted(total_steps=None, time_budget_s=inf, parameters=10),
           ev.StepEnded(loss=nan, tokens_per_s=inf, lr=nan, grad_norm=None, elapsed_s=nan,
                        grad_norms={"l0": np.float32(1.5), "head": nan}),
           ev.Evaluated(val_loss=nan, best_val_loss=None, metrics={"mae": inf, "x": None}),
           ev.SampleText(text="x", temperature=nan),
           ev.ForecastUpdate(history=[1.0, nan], truth=[inf], errors={"model": {"mae": nan}}),
           ev.HiddenSnapshot(tokens=["a"], h=[[[nan], [np.float64(0.5)]]]),
           ev.Finished(best_val_loss=None, last_val_loss=nan, elapsed_s=inf)]
    for e in evs:
        sink(e)
        w(e)
    w.close()
    assert "val_loss nan" in con.file.getvalue() and "(best –)" in con.file.getvalue()
    for line in (tmp_path / "m.jsonl").read_text().splitlines():
        json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert len(MetricsReader(tmp_path / "m.jsonl").poll()) == len(evs)


# ====================================================================== 3. disk full, read-only
def small_run(tmp_path, name="run", extra=()):
    return ["train", "--corpus", "arithmetic", "--hidden", "16", "--embed", "8", "--seq", "16",
            "--batch", "8", "--eval-every", "10", "--eval-tokens", "1000", "--time-budget", "0",
            "--checkpoint-every", "10", "--quiet", "--runs-dir", str(tmp_path / "runs"),
            "--name", name, *extra]


def enospc(*_a, **_k):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_mid_run_keeps_the_last_good_checkpoint(tmp_path, capsys, monkeypatch):
    """Simulated everywhere: the fourth checkpoint rename finds the disk full."""
    import rnn_tui.train.runs as runs

    real = os.replace
    calls = []

    def replace(src, dst, *a, **k):
        calls.append(dst)
        if str(dst).endswith("checkpoint.npz") and \
                sum(str(c).endswith("checkpoint.npz") for c in calls) >= 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(dst))
        return real(src, dst, *a, **k)

    monkeypatch.setattr(runs.os, "replace", replace)
    line = refused_in_process(capsys, small_run(tmp_path, extra=["--steps", "60"]),
                              "no space left on the device")
    assert "checkpoint (step 20) is kept" in line and "--resume" in line
    monkeypatch.undo()
    _arrays, meta = load_checkpoint(tmp_path / "runs" / "run")
    assert meta["step"] == 20
    no_half_made_runs(tmp_path / "runs")


def test_disk_full_in_the_metrics_file_mid_run(tmp_path, capsys, monkeypatch):
    """The event log's own write fails (a full disk takes the first write that needs a block)."""
    real_call = MetricsWriter.__call__
    count = [0]

    def call(self, event):
        count[0] += 1
        if count[0] == 40:
            self.failed = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            raise self.failed
        return real_call(self, event)

    monkeypatch.setattr(MetricsWriter, "__call__", call)
    refused_in_process(capsys, small_run(tmp_path, extra=["--steps", "200", "--log-every",
                                                          "1"]), "no space left")
    no_half_made_runs(tmp_path / "runs")


def test_disk_full_at_start_leaves_no_run_directory(tmp_path, capsys, monkeypatch):
    import rnn_tui.train.runs as runs

    monkeypatch.setattr(runs.os, "replace", enospc)  # config.toml cannot be written
    refused_in_process(capsys, small_run(tmp_path, extra=["--steps", "5"]),
                       "cannot write to run directory")
    assert not (tmp_path / "runs").exists()  # not even the --runs-dir it made


def test_disk_full_before_the_first_checkpoint_removes_the_run(tmp_path, capsys, monkeypatch):
    import rnn_tui.train.runs as runs

    real = os.replace
    monkeypatch.setattr(runs.os, "replace", lambda s, d, *a: enospc() if str(d).endswith(
        ".npz") else real(s, d, *a))
    refused_in_process(capsys, small_run(tmp_path, extra=["--steps", "30"]),
                       "no checkpoint was saved")
    assert not (tmp_path / "runs" / "run").exists()


def test_resume_where_the_directory_cannot_be_written(tmp_path, capsys, monkeypatch):
    """Simulated everywhere: the read-only file system refuses the config's temporary."""
    assert main(small_run(tmp_path, extra=["--steps", "10"])) == 0
    run = tmp_path / "runs" / "run"
    before = (run / "checkpoint.npz").read_bytes()

    def mkstemp(*_a, dir=None, **_k):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dir))

    import rnn_tui.safeio as safeio

    monkeypatch.setattr(safeio.tempfile, "mkstemp", mkstemp)
    line = refused_in_process(capsys, ["train", "--resume", run, "--steps", "20", "--quiet"],
                              "read-only file system")
    assert "copy the run somewhere writable" in line
    assert (run / "checkpoint.npz").read_bytes() == before


def test_resume_where_metrics_jsonl_is_a_directory(tmp_path):
    assert main(small_run(tmp_path, extra=["--steps", "10"])) == 0
    run = tmp_path / "runs" / "run"
    (run / "metrics.jsonl").unlink()
    (run / "metrics.jsonl").mkdir()
    refused(run_cli(["train", "--resume", run, "--steps", "20", "--quiet"], tmp_path),
            "metrics.jsonl is a directory")
    refused(run_cli(["watch", run], tmp_path), "is a directory")


@pytest.fixture
def tmpfs(tmp_path):
    """A 200 KB tmpfs (root only): the disk really fills up."""
    if not IS_ROOT or not shutil.which("mount"):
        pytest.skip("mounting a small tmpfs needs root (disk-full is simulated elsewhere)")
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_disk_full_for_real(tmpfs, tmp_path):
    args = ["train", "--corpus", "arithmetic", "--hidden", "16", "--embed", "8", "--seq", "16",
            "--batch", "8", "--steps", "1000000", "--time-budget", "120", "--checkpoint-every",
            "20", "--eval-every", "50", "--eval-tokens", "1000", "--log-every", "1", "--quiet",
            "--runs-dir", tmpfs, "--name", "full"]
    line = refused(run_cli(args, tmp_path, timeout=300), "no space left on the device")
    assert "is kept" in line
    _arrays, meta = load_checkpoint(tmpfs / "full")  # the last good one, whole
    assert meta["step"] > 0
    no_half_made_runs(tmpfs)
    # resuming on the full disk: the same one line, the checkpoint untouched
    before = (tmpfs / "full" / "checkpoint.npz").read_bytes()
    refused(run_cli(["train", "--resume", tmpfs / "full", "--quiet"], tmp_path),
            "no space left")
    assert (tmpfs / "full" / "checkpoint.npz").read_bytes() == before
    # a new run on the full disk: refused, and no directory left behind
    with open(tmpfs / "ballast", "wb") as f:
        try:
            f.write(b"\0" * 300_000)
        except OSError:
            pass
    out = run_cli(["train", "--corpus", "arithmetic", "--hidden", "16", "--embed", "8",
                   "--steps", "5", "--quiet", "--runs-dir", tmpfs / "more", "--name", "new"],
                  tmp_path)
    refused(out, "no space left")
    assert not (tmpfs / "more").exists()


def test_resume_on_a_read_only_mount(tmp_path):
    if not IS_ROOT:
        pytest.skip("a read-only bind mount needs root (read-only is simulated elsewhere)")
    assert main(small_run(tmp_path, extra=["--steps", "10"])) == 0
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(["mount", "--bind", str(tmp_path / "runs" / "run"), str(ro)]).returncode:
        pytest.skip("cannot bind-mount here")
    try:
        if subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)]).returncode:
            pytest.skip("cannot remount read-only here")
        refused(run_cli(["train", "--resume", ro, "--steps", "20", "--quiet"], tmp_path),
                "read-only file system")
        assert run_cli(["sample", ro, "-n", "5"], tmp_path).returncode == 0  # reading is fine
    finally:
        subprocess.run(["umount", "-l", str(ro)], check=False)


def test_stale_temporaries_are_cleaned_on_resume(tmp_path):
    assert main(small_run(tmp_path, extra=["--steps", "10"])) == 0
    run = tmp_path / "runs" / "run"
    ours = [".checkpoint.npz.a1b2c3d4.tmp", ".best.npz.zz_9xy0q.tmp", ".config.toml.abcdefgh.tmp",
            ".write-test"]
    theirs = [".notes.tmp", "checkpoint.npz.tmp", ".checkpoint.npz.toolongname.tmp"]
    for n in ours + theirs:
        (run / n).write_bytes(b"partial")
    out = run_cli(["train", "--resume", run, "--steps", "12", "--quiet"], tmp_path)
    assert out.returncode == 0, out.stderr
    left = {p.name for p in run.iterdir()}
    assert not left & set(ours)
    assert set(theirs) <= left  # never anything not of our naming


# ====================================================================== 4. tracebacks
def test_settings_that_used_to_raise(tmp_path):
    (tmp_path / "seed.toml").write_text("[train]\nseed = -1\n")
    cases = [
        (["train", "--seed", "-1"], "--seed must be a whole number from 0"),
        (["train", "--config", tmp_path / "seed.toml"], "[train] seed must be a whole number"),
        (["train", "--embed", "1000000000"], "--embed must be a whole number from 0 to 4,096"),
        (["train", "--hidden", "4096", "--layers", "8", "--batch", "4096", "--seq", "4096"],
         "needs about"),
        (["train", "--temperature", "inf"], "temperature"),
        (["train", "--time-budget", "inf"], "--time-budget"),
        (["sample", tmp_path, "--seed", "-1"], "--seed"),
    ]
    for args, match in cases:
        line = refused(run_cli(args + ["--runs-dir", tmp_path / "r"] if args[0] == "train"
                               else args, tmp_path), match)
        if match == "needs about":
            assert "available" in line and "GiB" in line
    out = run_cli(["train", *TINY, "--corpus", "arithmetic", "--runs-dir", tmp_path / "r"],
                  tmp_path, env={"RNN_TUI_BLAS_THREADS": "two"})
    refused(out, "RNN_TUI_BLAS_THREADS")
    assert not (tmp_path / "r").exists()


def test_memory_is_checked_again_once_the_vocabulary_is_known(tmp_path, capsys, monkeypatch):
    from rnn_tui import memory
    from rnn_tui.config import RunConfig

    cfg = RunConfig()
    cfg.data.task, cfg.model.hidden, cfg.train.batch = "word", 256, 64
    early = memory.estimate(cfg).total  # the vocabulary at its smallest
    late = memory.estimate(cfg, vocab=2000, tokens=300_000).total
    assert late > early
    monkeypatch.setattr("rnn_tui.safeio.memory_available", lambda: (early + late) // 2)
    line = refused_in_process(capsys, ["train", "--task", "word", "--corpus", "pydoc",
                                       "--hidden", "256", "--batch", "64",
                                       "--runs-dir", tmp_path / "r"], "needs about")
    assert "vocabulary is not read yet" not in line
    assert not (tmp_path / "r").exists()


def test_memory_estimate_is_near_the_truth():
    """Against tracemalloc of NumPy's allocations for a real fused training step."""
    import tracemalloc

    from rnn_tui.config import RunConfig
    from rnn_tui.memory import BASE, estimate
    from rnn_tui.tasks.language import LanguageTask

    cfg = RunConfig()
    cfg.data.corpus, cfg.model.hidden, cfg.model.layers = "arithmetic", 192, 2
    cfg.train.batch, cfg.train.seq, cfg.train.eval_tokens = 16, 48, 5000
    tracemalloc.start()
    task = LanguageTask.from_config(cfg)
    task.step()
    task.evaluate()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    est = estimate(cfg, task.tokenizer.vocab_size, len(task.train_ids) + len(task.val_ids))
    assert peak / 3 < est.total - BASE < peak * 4, (peak, est)


# ---------------------------------------------------------------------- crafted checkpoints
@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("trained")
    assert main(["train", "--corpus", "arithmetic", "--hidden", "8", "--embed", "4", "--seq",
                 "8", "--batch", "4", "--steps", "4", "--eval-every", "2", "--eval-tokens",
                 "200", "--time-budget", "0", "--runs-dir", str(d), "--name", "t",
                 "--quiet"]) == 0
    return d / "t"


def members(path):
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def write_members(path, arrays, extra=None):
    with zipfile.ZipFile(path, "w") as zf:
        for k, v in arrays.items():
            b = io.BytesIO()
            np.save(b, v)
            zf.writestr(k + ".npy", b.getvalue())
        for k, v in (extra or {}).items():
            zf.writestr(k, v)


def with_meta(arrays, change):
    meta = json.loads(arrays["meta"].tobytes())
    change(meta)
    arrays = dict(arrays)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    return arrays


def huge_header(path, arrays):
    write_members(path, arrays)
    hdr = io.BytesIO()
    np.lib.format.write_array_header_1_0(hdr, {"descr": "<f4", "fortran_order": False,
                                               "shape": (10**12,)})
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("opt.extra.npy", hdr.getvalue() + b"\0" * 16)


CRAFTED = {  # name: (make it, what the message says); sample, resume and evaluate in turn
    "member not .npy": (lambda p, a: write_members(p, a, {"notes.txt": b"hi"}),
                        "unexpected member 'notes.txt'"),
    "meta a JSON list": (lambda p, a: write_members(
        p, {**a, "meta": np.frombuffer(b"[1, 2]", np.uint8)}), "not a JSON object"),
    "meta step a string": (lambda p, a: write_members(
        p, with_meta(a, lambda m: m.update(step="x"))), "'step'"),
    "spec hidden 1e9": (lambda p, a: write_members(
        p, with_meta(a, lambda m: m["spec"].update(hidden=10**9))), "model setting hidden"),
    "tokenizer of ints": (lambda p, a: write_members(
        p, with_meta(a, lambda m: m["tokenizer"].update(vocab=[1, 2]))), "vocabulary"),
    "rng garbage": (lambda p, a: write_members(
        p, with_meta(a, lambda m: m.update(rng={"state": "x"}))), "random-generator"),
    "params of ints": (lambda p, a: write_members(
        p, {**a, "params": a["params"].astype(np.int32)}), "dtype <i4"),
    "params NaN": (lambda p, a: write_members(
        p, {**a, "params": np.full_like(a["params"], np.nan)}), "non-finite"),
    "header claims 10**12 floats": (huge_header, "claims shape"),
    "a text file": (lambda p, a: p.write_text("hello\n"), "it is a text file"),
    "a lone .npy": (lambda p, a: np.save(open(p, "wb"), np.zeros(3)), "single NumPy array"),
    "pickled": (lambda p, a: p.write_bytes(__import__("pickle").dumps({"a": 1})),
                "pickled Python objects"),
    "object array": (lambda p, a: np.savez(p, params=np.array([{}], dtype=object),
                                           meta=a["meta"]), "object array"),
    "symlink loop": (lambda p, a: (p.unlink(), os.symlink(p.name, p)), "loop of symbolic links"),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_checkpoint_is_refused(trained, tmp_path, name):
    make, match = CRAFTED[name]
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    (run / "best.npz").unlink()
    ck = run / "checkpoint.npz"
    make(ck, members(trained / "checkpoint.npz"))
    command = [["sample", run], ["train", "--resume", run, "--quiet"],
               ["evaluate", run]][sorted(CRAFTED).index(name) % 3]
    refused(run_cli(command, tmp_path), match)


def test_broken_best_weights_point_to_the_latest(trained, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    (run / "best.npz").write_bytes(b"PK\x03\x04 truncated")
    line = refused(run_cli(["sample", run], tmp_path), "corrupt or truncated")
    assert "--checkpoint latest" in line
    assert run_cli(["sample", run, "--checkpoint", "latest", "-n", "3"], tmp_path).returncode == 0


def test_one_line_even_after_the_weights_are_named(trained, tmp_path):
    refused(run_cli(["evaluate", trained, "--data", "/dev/zero"], tmp_path), "character device")
    refused(run_cli(["forecast", trained], tmp_path), "needs a series run")


def test_resume_with_another_optimizer_is_named(trained, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(trained, run)
    refused(run_cli(["train", "--resume", run, "--optimizer", "sgd", "--quiet"], tmp_path),
            "'adam' optimizer")


# ---------------------------------------------------------------------- watch
HOSTILE_LINES = [
    '{"type":"step","step":"x","loss":1}',
    '{"type":"step","step":3,"loss":"nan?","grad_norms":{"l0":"big"}}',
    '{"type":"eval","step":4,"val_loss":null,"best_val_loss":"no","metrics":[1]}',
    '{"type":"hidden","step":5,"tokens":["a","b"],"h":[[[0.1,0.2],[0.3]]]}',
    '{"type":"hidden","step":5,"tokens":["a","b"],"h":[[]]}',
    '{"type":"grad_flow","step":5,"norms":[[]]}',
    '{"type":"forecast","step":6,"history":[1,"x"],"errors":{"model":{"mae":"?"}}}',
    '{"type":"run_started","step":0,"config":"nope","parameters":1.5}',
    '{"type":"finished","reason":7}',
    '[1,2,3]', '"just a string"', "{not json", '{"type":"nope","step":1}',
    '{"type":"step","step":' + "9" * 5000 + "}",
]
GOOD_LINES = [
    '{"type":"run_started","step":0,"task":"series","config":{"model":"x","data":[]},'
    '"parameters":12,"views":["forecast"]}',
    '{"type":"step","step":1,"loss":null,"tokens_per_s":1e308,"lr":null,"grad_norms":'
    '{"l0":null,"l1":-5}, "time_left_s":1e308}',
    '{"type":"eval","step":2,"val_loss":null,"best_val_loss":null,"metrics":{"mae":null}}',
    '{"type":"hidden","step":2,"tokens":["a","\\n","ab"],"h":[[[null,1e308,-1e308]],'
    '[[0.5,0.5,0.5],[1,2,3]]],"c":[[[1,2,3]],[[0,0,0],[9,9,9]]]}',
    '{"type":"grad_flow","step":2,"norms":[[null,0,-1,1e308]]}',
    '{"type":"forecast","step":2,"history":[1,null,1e308],"truth":[null],"prediction":[1e308],'
    '"forecast":[],"errors":{"model":{"mae":null},"naive":{}}}',
    '{"type":"sample","step":3,"text":"hi","temperature":null}',
    '{"type":"step","step":1,"elapsed_s":1e999}',  # Infinity, as Python's json reads it
    '{"type":"finished","step":3,"reason":"done","best_val_loss":null,"elapsed_s":1e308}',
]


def test_watch_survives_wrong_types_and_counts_them(tmp_path, monkeypatch):
    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(tmp_path / "cfg"))
    from rnn_tui.tui.app import RnnTuiApp
    from rnn_tui.tui.source import FileSource

    data = b"".join(x.encode() + b"\n" for x in HOSTILE_LINES) + b"\xff\xfe not UTF-8\n" + \
        b"".join(x.encode() + b"\n" for x in GOOD_LINES)
    (tmp_path / "metrics.jsonl").write_bytes(data)

    async def go():
        app = RnnTuiApp(FileSource(tmp_path), theme="rnn-dark", remember_theme=False)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.5)
            for key in "mclL]d[vvvvfcm":
                await pilot.press(key)
                await pilot.pause(0.05)
            dash = app.dashboard
            dash.redraw(force=True)
            await pilot.pause(0.3)
            status = str(dash.query_one("#status").render())
        return status, dash.state

    status, state = asyncio.run(go())
    assert f"{len(HOSTILE_LINES) + 1} bad lines skipped" in status, status
    assert state.status == "finished" and state.forecast is not None


def test_watch_subprocess_exits_143_on_sigterm(tmp_path):
    from pty_app import PtyApp

    (tmp_path / "metrics.jsonl").write_text("\n".join(GOOD_LINES + HOSTILE_LINES[:2]) + "\n")
    app = PtyApp(["watch", str(tmp_path)], env={"RNN_TUI_CONFIG_DIR": str(tmp_path / "c"),
                                                "PYTHONPATH": str(SRC)})
    try:
        assert app.wait_for(lambda t: "skipped" in t, 60), app.text()
        os.kill(app.pid, signal.SIGTERM)
        assert app.wait(60) == 143
    finally:
        app.kill()


def test_app_exits_143_on_sigterm_with_a_checkpoint(tmp_path):
    from pty_app import PtyApp

    app = PtyApp(["--corpus", "arithmetic", "--hidden", "16", "--embed", "8", "--seq", "16",
                  "--batch", "4", "--time-budget", "0", "--steps", "1000000", "--runs-dir",
                  str(tmp_path / "runs"), "--name", "a"],
                 env={"RNN_TUI_CONFIG_DIR": str(tmp_path / "c"), "PYTHONPATH": str(SRC)})
    try:
        assert app.wait_for(lambda t: "tok/s" in t, 120), app.text()
        time.sleep(0.5)
        os.kill(app.pid, signal.SIGTERM)
        assert app.wait(120) == 143
    finally:
        app.kill()
    _arrays, meta = load_checkpoint(tmp_path / "runs" / "a")
    assert meta["step"] > 0


# ====================================================================== 5. special files and
# true causes
def test_a_fifo_in_the_settings_does_not_hang_the_app(tmp_path, monkeypatch):
    from rnn_tui.tui.themes import load_settings

    monkeypatch.setenv("RNN_TUI_CONFIG_DIR", str(tmp_path))
    os.mkfifo(tmp_path / "settings.toml")
    assert load_settings() == {}


def test_special_files_are_refused_not_read(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for corpus, match in ((fifo, "FIFO"), ("/dev/zero", "character device"),
                          ("/proc/self/status", "kernel pseudo-file")):
        t0 = time.monotonic()
        refused(run_cli(["train", *TINY, "--corpus", corpus, "--runs-dir", tmp_path / "r"],
                        tmp_path, timeout=60), match)
        assert time.monotonic() - t0 < 30
    refused(run_cli(["train", "--config", fifo], tmp_path, timeout=60), "FIFO")
    assert not (tmp_path / "r").exists()


def test_messages_say_the_true_cause(tmp_path, capsys, monkeypatch):
    text = "the quick brown fox jumps over the lazy dog. " * 60
    (tmp_path / "u16.txt").write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    (tmp_path / "u32be.txt").write_bytes(b"\x00\x00\xfe\xff" + text.encode("utf-32-be"))
    (tmp_path / "u16-no-bom.txt").write_bytes(text.encode("utf-16-be"))
    os.symlink("loop-b", tmp_path / "loop-a")
    os.symlink("loop-a", tmp_path / "loop-b")
    os.symlink("nowhere", tmp_path / "dangling")
    (tmp_path / "r").mkdir()
    for name in ("u16.txt", "u32be.txt"):  # another Unicode encoding with a BOM: text
        out = run_cli(["train", *TINY, "--corpus", tmp_path / name, "--runs-dir",
                       tmp_path / "r"], tmp_path)
        assert out.returncode == 0, out.stderr
    refused(run_cli(["train", *TINY, "--corpus", tmp_path / "u16-no-bom.txt"], tmp_path),
            "--encoding utf-16-be")
    refused(run_cli(["train", *TINY, "--corpus", tmp_path / "loop-a"], tmp_path),
            "loop of symbolic links")
    refused(run_cli(["sample", tmp_path / "loop-a"], tmp_path), "loop of symbolic links")
    refused(run_cli(["train", *TINY, "--corpus", tmp_path / "dangling"], tmp_path),
            "broken symbolic link")
    (tmp_path / "u16.txt").rename(tmp_path / "bom.txt")
    refused(run_cli(["train", *TINY, "--corpus", tmp_path / "bom.txt", "--encoding", "latin-1"],
                    tmp_path), "utf-16-le byte-order mark")
    refused(run_cli(["train", "--resume", tmp_path / "loop-a"], tmp_path),
            "loop of symbolic links")
    refused(run_cli(["train", *TINY, "--corpus", "arithmetic", "--runs-dir", tmp_path / "r",
                     "--name", "n" * 300], tmp_path), "too long")
    # permission denied (simulated: root reads anything)
    secret = tmp_path / "secret.txt"
    secret.write_text(text)
    import rnn_tui.safeio as safeio

    real_open = os.open

    def deny(path, *a, **k):
        if str(path) == str(secret):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *a, **k)

    monkeypatch.setattr(safeio.os, "open", deny)
    refused_in_process(capsys, ["train", *TINY, "--corpus", secret], "permission denied")


# ====================================================================== property tests
JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) |
                    st.floats(allow_nan=True) | st.text(max_size=8),
                    lambda c: st.lists(c, max_size=3) |
                    st.dictionaries(st.text(max_size=4), c, max_size=3), max_leaves=8)


def typed(tp):
    """Values of type ``tp`` as JSON has them, edge values included."""
    if tp is typing.Any:
        return JSON
    origin = typing.get_origin(tp)
    if origin in (typing.Union, __import__("types").UnionType):
        inner = [a for a in typing.get_args(tp) if a is not type(None)][0]
        return st.none() | typed(inner)
    if tp is float:
        return st.none() | st.floats(allow_nan=False, allow_infinity=False) | \
            st.integers(-10**6, 10**6) | st.sampled_from([1e308, -1e308, 0.0, 5e-324])
    if tp is int:
        return st.integers(-10, 10**6) | st.sampled_from([2**63, 10**30])
    if tp is bool:
        return st.booleans()
    if tp is str:
        return st.text(max_size=12)
    if origin is list:
        return st.lists(typed(typing.get_args(tp)[0]), max_size=4)
    if origin is dict:
        return st.dictionaries(st.text(max_size=6), typed(typing.get_args(tp)[1]), max_size=3)
    return JSON


@st.composite
def event_dicts(draw):
    from rnn_tui.train.events import EVENT_TYPES, _field_types

    kind = draw(st.sampled_from(sorted(EVENT_TYPES)))
    d = {"type": kind}
    for name, tp in _field_types(EVENT_TYPES[kind]).items():
        choice = draw(st.sampled_from(["typed", "typed", "wrong", "absent"]))
        if choice == "typed":
            d[name] = draw(typed(tp))
        elif choice == "wrong":
            d[name] = draw(JSON)
    return d


def exercise_views(state, width: int, layer: int, unit: int) -> None:
    """Everything the dashboard formats from the state, without a terminal."""
    from textual.geometry import Size

    from rnn_tui.tui.screens.dashboard import describe_run
    from rnn_tui.tui.state import fmt_time
    from rnn_tui.tui.widgets.curves import forecast_lines, grad_lines
    from rnn_tui.tui.widgets.heatmap import Heatmap
    from rnn_tui.tui.widgets.panels import error_rows, neuron_text

    state.status_line(width)
    fmt_time(state.elapsed_s)
    if state.last_step is not None:
        fmt_time(state.last_step.time_left_s)
    if state.started is not None:
        describe_run(state.started)
        state.views  # noqa: B018
    for cell in (False, True):
        neuron_text(state, layer, unit, cell)
    for mode in ("time", "depth"):
        grad_lines(state, mode)
    forecast_lines(state.forecast)
    if state.forecast is not None:
        error_rows(state.forecast.errors)
    if state.hidden is not None and state.hidden.h:

        class Sized(Heatmap):
            size = Size(30, 8)

        hm = Sized()
        m = state.hidden.h[min(layer, len(state.hidden.h) - 1)]
        hm.tokens, hm.matrix, hm.unit = state.hidden.tokens, m, unit % max(len(m), 1)
        for y in range(8):
            hm.render_line(y)


@given(st.lists(event_dicts(), min_size=1, max_size=12), st.integers(0, 200),
       st.integers(-2, 5), st.integers(-2, 40))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_wrong_typed_events_into_the_reader_state_and_views(dicts, width, layer, unit):
    from rnn_tui.tui.state import RunState

    data = b"".join(json.dumps(d).encode() + b"\n" for d in dicts)
    reader = MetricsReader(file_holding(data))
    events = reader.poll()
    os.unlink(reader.path)
    assert len(events) + reader.skipped == len(dicts)
    state = RunState()
    for e in events:
        state.apply(e)
        exercise_views(state, width, layer, unit)


def file_holding(data: bytes) -> Path:
    import tempfile

    fd, name = tempfile.mkstemp(suffix=".jsonl")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    return Path(name)


@given(st.lists(st.binary(max_size=200), max_size=8), st.integers(1, 64))
@settings(max_examples=150, deadline=None)
def test_property_random_bytes_into_the_reader(chunks, slice_size):
    from rnn_tui.tui.state import RunState

    data = b"\n".join(chunks) + b"\n"
    reader = MetricsReader(file_holding(data))
    events = []
    for _ in range(len(data) // slice_size + 2):  # followed in slices, as watch does
        events += reader.poll(max_bytes=slice_size)
    state = RunState()
    for e in events:
        assert isinstance(e, ev.Event)
        state.apply(e)
    state.status_line(80)
    os.unlink(reader.path)


NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(-1e9, 1e9).map(lambda v: f"{v:,.2f}"),  # 1,234.50
    st.floats(-1e9, 1e9).map(lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ",")),
    st.floats(-1e9, 1e9).map(lambda v: f"{v:,.3f}".translate(str.maketrans(",.", ".,"))),
    st.integers(-10**12, 10**12).map(str),
    st.sampled_from(["", " ", "NA", "nan", "-", "1e999", "1e-999", "0x1F", "²", "٣", "$5",
                     "5 €", "(12)", "12%", "1.234,5", "1,234.5", "--1", "1e", ".", "e5",
                     "1,2,3", '"', "−3", "\u00a01\u00a0", "TRUE", "2020-01-01"]),
    st.text(max_size=6),
)


@given(st.lists(st.tuples(NUMBERS, NUMBERS), min_size=1, max_size=30),
       st.sampled_from([",", ";", "\t"]), st.booleans(), st.sampled_from([None, "1", "v"]))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_property_random_csv_cells(tmp_path_factory, rows, delim, header, column):
    from rnn_tui.data.series import load_csv

    p = tmp_path_factory.mktemp("csv") / "c.csv"
    import csv as _csv

    buf = io.StringIO()
    w = _csv.writer(buf, delimiter=delim)
    if header:
        w.writerow(["t", "v"])
    w.writerows(rows)
    p.write_text(buf.getvalue(), encoding="utf-8")
    try:
        s = load_csv(p, column)
    except UserError as err:
        assert "\n" not in str(err)
        return
    assert s.values.dtype == np.float64 and np.all(np.isfinite(s.values))
    n = len(rows)
    while n and not any(c.strip() for c in rows[n - 1]):
        n -= 1  # rows of empty cells at the end are not time steps
    assert len(s.values) in (n, n - 1)  # the first row may be a header
    assert np.all(np.abs(s.values) <= 1e100)


@st.composite
def mutations(draw):
    kind = draw(st.sampled_from(["truncate", "flip", "member", "dtype", "shape", "meta",
                                 "drop", "extra"]))
    return kind, draw(st.integers(0, 10**9)), draw(JSON), draw(st.sampled_from(
        ["int8", "int64", "float16", "complex64", "bool", "uint8", "float64", ">f4"]))


def mutate(raw: bytes, arrays, kind, n, junk, dtype, path: Path) -> None:
    if kind == "truncate":
        path.write_bytes(raw[: n % len(raw)])
        return
    if kind == "flip":
        b = bytearray(raw)
        for i in range(1 + n % 4):
            b[(n // (i + 1)) % len(b)] ^= 1 << (i % 8)
        path.write_bytes(bytes(b))
        return
    a = dict(arrays)
    keys = sorted(a)
    key = keys[n % len(keys)]
    if kind == "member":
        a[key] = np.frombuffer(json.dumps(junk).encode(), np.uint8)
    elif kind == "dtype":
        a[key] = a[key].astype(dtype)
    elif kind == "shape":
        a[key] = a[key].reshape(-1)[: n % (a[key].size + 1)]
    elif kind == "drop":
        del a[key]
    elif kind == "meta":
        meta = json.loads(a["meta"].tobytes())
        mk = sorted(meta)
        target = mk[n % len(mk)]
        inner = meta[target]
        if isinstance(inner, dict) and inner and n % 2:
            ik = sorted(inner)[n % len(inner)]
            inner[ik] = junk
        else:
            meta[target] = junk
        a["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    elif kind == "extra":
        write_members(path, a, {f"opt.{'x' * (n % 3)}.npy" if n % 2 else "junk.bin": b"12"})
        return
    write_members(path, a)


@given(mutations())
@settings(max_examples=80, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_property_mutated_checkpoints(trained, tmp_path_factory, mutation):
    from rnn_tui.session import load_language_model, open_run

    d = tmp_path_factory.mktemp("mut")
    for name in ("config.toml",):
        shutil.copy(trained / name, d / name)
    raw = (trained / "checkpoint.npz").read_bytes()
    mutate(raw, members(trained / "checkpoint.npz"), *mutation, d / "checkpoint.npz")
    for load in (lambda: load_language_model(d, "latest"), lambda: open_run(d, "latest")):
        try:
            load()
        except UserError as err:
            assert "\n" not in str(err)
