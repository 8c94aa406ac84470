"""Robustness, round three: one writer per run, one safe write path, runs that never saved a
checkpoint, data that used to be read silently wrong, resource bounds, no terminal.

The cases go through the real command line in a subprocess (this tree's ``src`` first on
PYTHONPATH): a refusal is one line on stderr starting ``rnn-tui: error:``, exit status 2, no
traceback, no Python warning, and nothing half-written left behind. The readers of untrusted
files (TSV, CoNLL-U, CSV, the TOML config) are fuzzed with Hypothesis: a UserError of one line,
or a result that reads back as what was written.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnn_tui.errors import UserError

SRC = Path(__file__).resolve().parents[1] / "src"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
TINY = ["--hidden", "8", "--embed", "4", "--seq", "8", "--batch", "4", "--eval-tokens", "200",
        "--quiet"]
HANG_GUARD_S = 180  # a subprocess that has not ended by then hangs (not a speed limit)


def env() -> dict[str, str]:
    e = dict(os.environ, PYTHONPATH=str(SRC))
    e.pop("PYTHONWARNINGS", None)  # warnings are shown, so that the tests see them
    e.pop("TEXTUAL_DRIVER", None)
    return e


def run_cli(args, cwd, stdin=subprocess.DEVNULL, timeout=HANG_GUARD_S):
    return subprocess.run([sys.executable, "-m", "rnn_tui.cli", *map(str, args)], stdin=stdin,
                          capture_output=True, text=True, cwd=cwd, env=env(), timeout=timeout)


def start_cli(args, cwd) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rnn_tui.cli", *map(str, args)], cwd=cwd,
                            env=env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def refused(out, match: str = "") -> str:
    """One line on stderr (no traceback, no warning), exit 2; returns the line."""
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert "Traceback" not in out.stderr and "Warning" not in out.stderr, out.stderr
    assert out.returncode == 2, (out.returncode, out.stdout[-500:], out.stderr)
    assert len(lines) == 1 and lines[0].startswith("rnn-tui: error: "), out.stderr
    assert match.lower() in lines[0].lower(), lines[0]
    return lines[0]


def leftovers(folder: Path) -> list[str]:
    """Temporaries of the safe write path (``.<name>.<random>.tmp``) anywhere under folder."""
    return [str(p) for p in folder.rglob(".*.tmp")]


def wait_for(predicate, timeout: float = 120.0, what: str = "") -> None:
    t0 = time.monotonic()
    while not predicate():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def texts(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("texts")
    (d / "train.txt").write_text("the quick brown fox jumps over the lazy dog. " * 400)
    return d


@pytest.fixture(scope="module")
def run(tmp_path_factory, texts) -> Path:
    """A small trained run (weights, metrics) for the export and sampling cases."""
    d = tmp_path_factory.mktemp("runs")
    out = run_cli(["train", "--corpus", texts / "train.txt", *TINY, "--steps", "6",
                   "--eval-every", "2", "--time-budget", "0", "--runs-dir", d, "--name", "r"], d)
    assert out.returncode == 0, out.stderr
    return d / "r"


def mount_tmpfs(where: Path, options: str) -> bool:
    """Mount a tmpfs at ``where`` (root only); False where that is not permitted."""
    if not IS_ROOT or not shutil.which("mount"):
        return False
    where.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True).returncode == 0


@pytest.fixture
def mounts(tmp_path):
    made: list[Path] = []

    def mount(name: str, options: str) -> Path:
        p = tmp_path / name
        if not mount_tmpfs(p, options):
            pytest.skip("mounting a tmpfs needs root and permission to mount")
        made.append(p)
        return p

    yield mount
    for p in made:
        subprocess.run(["umount", "-l", str(p)], check=False)


# ============================================================ 1. one writer per run
def test_two_resumes_of_one_run_the_second_is_refused_and_the_history_is_whole(run, tmp_path):
    target = tmp_path / "r"
    shutil.copytree(run, target)
    before = len(events(target / "metrics.jsonl"))
    first = start_cli(["train", "--resume", target, "--steps", "0", "--time-budget", "120",
                       "--patience", "0", "--eval-every", "200", "--log-every", "50"], tmp_path)
    try:
        wait_for(lambda: len(events(target / "metrics.jsonl")) > before + 2, what="the first")
        second = run_cli(["train", "--resume", target, "--steps", "3"], tmp_path)
        line = refused(second, f"process {first.pid}")
        assert "train --resume" in line and "wait for it" in line
        app = run_cli(["--resume", target], tmp_path)  # the app is a writer too
        refused(app, f"process {first.pid}")
        reads = run_cli(["sample", target, "-n", "3"], tmp_path)  # readers: never blocked
        assert reads.returncode == 0, reads.stderr
        assert first.poll() is None  # all of it while the first was writing
        first.send_signal(signal.SIGTERM)
        _out, err = first.communicate(timeout=HANG_GUARD_S)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 128 + signal.SIGTERM, err
    evs = events(target / "metrics.jsonl")  # every line whole JSON
    starts = [i for i, e in enumerate(evs) if e["type"] == "run_started"]
    assert len(starts) == 2 and evs[starts[1]]["resumed"]  # the original and the first resume
    steps = [e["step"] for e in evs[starts[1]:] if e["type"] == "step"]
    assert steps and steps == sorted(steps) and len(set(steps)) == len(steps)
    assert evs[-1]["type"] == "finished"
    # the lock went with the first process: a resume now works
    assert run_cli(["train", "--resume", target, "--steps", str(steps[-1] + 2),
                    "--time-budget", "0", "--quiet"], tmp_path).returncode == 0


# ============================================================ 2. one safe write path
def device_like_dev_full(tmp_path: Path) -> Path:
    """A character device to export to: a private node of /dev/full's kind where we may make
    one (so that a regression never replaces the real one), else /dev/full itself."""
    if IS_ROOT:
        node = tmp_path / "full"
        try:
            os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
            return node
        except OSError:
            pass
    return Path("/dev/full")


@pytest.mark.parametrize("fmt", ["safetensors", "csv", "tensorboard"])
@pytest.mark.parametrize("kind", ["device", "fifo"])
def test_export_never_replaces_a_device_or_a_fifo(run, tmp_path, kind, fmt):
    if kind == "device":
        target = device_like_dev_full(tmp_path)
    else:
        target = tmp_path / "pipe.safetensors"
        os.mkfifo(target)
    before = os.stat(target)
    out = run_cli(["export", run, "--to", target, "--format", fmt], tmp_path)
    refused(out, "character device" if kind == "device" else "fifo")
    after = os.stat(target)
    assert stat.S_IFMT(after.st_mode) == stat.S_IFMT(before.st_mode)
    assert after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    assert not leftovers(tmp_path)


@pytest.mark.parametrize("fmt, to", [("safetensors", "m.safetensors"), ("csv", "logs"),
                                     ("tensorboard", "tb")])
@pytest.mark.parametrize("where, match", [("read-only", "read-only file system"),
                                          ("full", "no space left on the device")])
def test_export_to_a_read_only_or_full_folder(run, tmp_path, mounts, fmt, to, where, match):
    if where == "read-only":
        folder = mounts("ro", "ro,size=64k")
    else:
        folder = mounts("full", "size=64k")
        with open(folder / "ballast", "wb") as f:  # fill it to the last block
            try:
                f.write(b"\0" * (1 << 20))
            except OSError:
                pass
    names = sorted(os.listdir(folder))
    refused(run_cli(["export", run, "--to", folder / to, "--format", fmt], tmp_path), match)
    assert sorted(os.listdir(folder)) == names  # nothing left: no file, no empty folder


def test_import_onto_a_full_disk_leaves_no_run(run, tmp_path, mounts, texts):
    weights = tmp_path / "m.safetensors"
    assert run_cli(["export", run, "--to", weights], tmp_path).returncode == 0
    folder = mounts("full", "size=64k")
    with open(folder / "ballast", "wb") as f:
        try:
            f.write(b"\0" * (1 << 20))
        except OSError:
            pass
    out = run_cli(["import", weights, "--text", texts / "train.txt", "--runs-dir",
                   folder / "runs", "--name", "i"], tmp_path)
    refused(out, "no space left")
    assert sorted(os.listdir(folder)) == ["ballast"]


def big_metrics_run(tmp_path: Path, run: Path, n: int = 400_000) -> Path:
    """A copy of ``run`` whose metrics.jsonl holds ``n`` step events: an export that takes a
    while, to be stopped in the middle."""
    target = tmp_path / "big"
    shutil.copytree(run, target)
    line = json.dumps({"type": "step", "step": 0, "elapsed_s": 0.0, "loss": 1.5,
                       "tokens_per_s": 1000.0, "lr": 0.001, "grad_norm": 0.5})
    with open(target / "metrics.jsonl", "a") as f:
        for i in range(n):
            f.write(line.replace('"step": 0', f'"step": {i + 7}') + "\n")
    return target


def test_export_stopped_by_sigterm_leaves_nothing_and_can_be_rerun(run, tmp_path):
    pytest.importorskip("tensorboardX")
    big = big_metrics_run(tmp_path, run)
    out = tmp_path / "tb"
    proc = start_cli(["export", big, "--to", out, "--format", "tensorboard"], tmp_path)
    time.sleep(1.5)  # reading the events
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=HANG_GUARD_S)
    if proc.returncode == 0:
        pytest.skip("the export finished before the signal (a fast machine)")
    assert proc.returncode == 128 + signal.SIGTERM
    assert not out.exists() or not list(out.iterdir())
    assert not leftovers(tmp_path)
    again = run_cli(["export", big, "--to", out, "--format", "tensorboard"], tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(list(out.glob("events.out.tfevents.*"))) == 1


def test_a_signal_in_the_middle_of_the_write_removes_the_temporary(run, tmp_path, monkeypatch):
    """The moment between writing and renaming, stopped (SIGTERM inside :func:`signals_raise`
    raises SystemExit there): no temporary, no file, no folder the export made."""
    from rnn_tui import safeio
    from rnn_tui.cli import main

    def stopped(_fd):
        raise SystemExit(128 + signal.SIGTERM)

    monkeypatch.setattr(safeio.os, "fsync", stopped)
    for fmt, to in (("csv", tmp_path / "new" / "logs"), ("safetensors", tmp_path / "m.st")):
        with pytest.raises(SystemExit):
            main(["export", str(run), "--to", str(to), "--format", fmt])
    assert sorted(os.listdir(tmp_path)) == []


# ============================================================ 3. runs that never checkpointed
@pytest.mark.parametrize("flag", [["--recurrent-scale", "1e300"], ["--lr", "1e300"]])
def test_divergence_before_any_checkpoint(texts, tmp_path, flag):
    out = run_cli(["train", "--corpus", texts / "train.txt", *TINY, "--steps", "5",
                   "--time-budget", "0", "--eval-every", "5", "--runs-dir", tmp_path / "runs",
                   "--name", "d", *flag], tmp_path)
    line = refused(out, "diverged")
    assert "last good checkpoint" not in line and "no checkpoint" in line
    assert not (tmp_path / "runs" / "d").exists()  # the same name can be used again


def test_kill_9_before_the_first_checkpoint_then_resume_starts_afresh(texts, tmp_path):
    runs = tmp_path / "runs"
    proc = start_cli(["train", "--corpus", texts / "train.txt", *TINY, "--steps", "0",
                      "--time-budget", "120", "--eval-every", "100000", "--checkpoint-every",
                      "100000", "--log-every", "1", "--runs-dir", runs, "--name", "k"],
                     tmp_path)
    metrics = runs / "k" / "metrics.jsonl"
    try:
        wait_for(lambda: metrics.exists() and '"type":"step"' in metrics.read_text(),
                 what="the first step")
    finally:
        proc.kill()
        proc.communicate(timeout=HANG_GUARD_S)
    assert not (runs / "k" / "checkpoint.npz").exists()
    refused(run_cli(["train", "--corpus", texts / "train.txt", *TINY, "--runs-dir", runs,
                     "--name", "k"], tmp_path), "--resume")
    out = run_cli(["train", "--resume", runs / "k", "--steps", "4", "--time-budget", "0",
                   "--eval-every", "2", "--checkpoint-every", "2"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "starts again from step 0" in " ".join(out.stdout.split())
    evs = events(metrics)
    assert [e["type"] for e in evs].count("run_started") == 1  # the dead start is gone
    assert (runs / "k" / "checkpoint.npz").is_file()


# ============================================================ 4. the cases of the review, a table
def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def dup_csv(d: Path) -> Path:
    rows = "".join(f"{i},{1000 - 3 * i + (i % 7)}\n" for i in range(80))
    return write(d / "dup.csv", "v,v\n" + rows)


def labelled(d: Path, name: str, labels: list[str], n: int = 60) -> Path:
    words = ["good", "bad", "fine", "awful", "great", "poor"]
    lines = [f"{words[i % 6]} {words[(i * 5) % 6]} film\t{labels[i % len(labels)]}"
             for i in range(n)]
    return write(d / name, "\n".join(lines) + "\n")


def long_sentence(d: Path) -> Path:
    lines = ["good " * 200_000 + "\tpos"] + \
        [f"{'good' if i % 2 else 'bad'} film\t{'pos' if i % 2 else 'neg'}" for i in range(60)]
    return write(d / "long.tsv", "\n".join(lines) + "\n")


def oversized_optimizer(run: Path, d: Path) -> Path:
    """A checkpoint whose optimizer array declares 50 M floats (200 MB unpacked, a few hundred
    KB packed) beside parameters of a few thousand: refused from its header."""
    with np.load(run / "checkpoint.npz") as z:
        arrays = {k: z[k] for k in z.files}
    path = d / "crafted.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for k, v in arrays.items():
            b = io.BytesIO()
            np.save(b, v if not k.startswith("opt.") else np.zeros(50_000_000, v.dtype))
            zf.writestr(k + ".npy", b.getvalue())
    return path


SERIES = ["--task", "series", "--hidden", "4", "--steps", "3", "--eval-every", "3",
          "--lookback", "6", "--time-budget", "0", "--quiet"]
CLASSIFY = ["--task", "classify", "--hidden", "4", "--embed", "4", "--steps", "2",
            "--eval-every", "2", "--time-budget", "0", "--quiet"]

# name -> (make the inputs in a folder: the arguments, expected exit, text in the line / stdout)
CASES = {
    "duplicate header, no --column": (
        lambda d, r: ["train", "--corpus", dup_csv(d), *SERIES, "--holdout", "6"],
        0, "column 'v.1'"),
    "duplicate header, --column v": (
        lambda d, r: ["train", "--corpus", dup_csv(d), *SERIES, "--holdout", "6",
                      "--column", "v"], 0, "column 'v',"),
    "--val-data with labels never trained on": (
        lambda d, r: ["train", "--corpus", labelled(d, "t.tsv", ["pos", "neg"]), *CLASSIFY,
                      "--val-data", labelled(d, "v.tsv", ["pos", "neg", "odd"])],
        2, "the training data never has: 'odd'"),
    "evaluate --data with labels never trained on": (
        lambda d, r: ["evaluate", classify_run(d), "--data",
                      labelled(d, "v.tsv", ["pos", "neg", "odd"])],
        2, "the training data never has: 'odd'"),
    "--holdout 0": (
        lambda d, r: ["train", "--corpus", dup_csv(d), *SERIES, "--holdout", "0"],
        2, "--holdout must be at least 1"),
    "sample --show-probs -2": (lambda d, r: ["sample", r, "--show-probs", "-2", "-n", "1"],
                               2, "--show-probs must be"),
    "sample --show-probs past the vocabulary": (
        lambda d, r: ["sample", r, "--show-probs", "500", "-n", "1"], 2, "vocabulary"),
    "sample --length 0": (lambda d, r: ["sample", r, "--length", "0"], 2, "--length must be"),
    "sample --temperature 0": (lambda d, r: ["sample", r, "--temperature", "0"], 2,
                               "--temperature must be more than 0"),
    "forecast --horizon -1": (lambda d, r: ["forecast", r, "--horizon", "-1"], 2,
                              "--horizon must be"),
    "crafted checkpoint, optimizer array 200 MB": (
        lambda d, r: ["sample", oversized_optimizer(r, d), "-n", "3"], 2, "declares shape"),
    "a 200,000-word sentence": (
        lambda d, r: ["train", "--corpus", long_sentence(d), *CLASSIFY], 0,
        "longer than 400 tokens was cut"),
    "the app with no terminal": (
        lambda d, r: ["--corpus", r.parent.parent / "texts" / "train.txt", "--hidden", "8",
                      "--runs-dir", d / "appruns"], 2, "needs a terminal"),
    "compare with no terminal": (lambda d, r: ["compare", r], 2, "needs a terminal"),
    "watch with no terminal": (lambda d, r: ["watch", r], 2, "needs a terminal"),
}



def fifo_log(run: Path) -> Path:
    os.mkfifo(run / "metrics.csv")
    return run


CASES["--log csv onto a FIFO"] = (
    lambda d, r: ["train", "--resume", fifo_log(r), "--log", "csv", "--steps", "20",
                  "--quiet"], 2, "metrics.csv is a FIFO")

CODECS = ["hex", "base64", "rot13", "zlib", "bz2", "uu"]
for _codec in CODECS:
    CASES[f"--encoding {_codec}"] = (
        lambda d, r, c=_codec: ["train", "--corpus", write(d / "t.txt", "hello world " * 50),
                                "--encoding", c, *TINY, "--steps", "1"],
        2, "is not a text encoding")
    CASES[f"evaluate --encoding {_codec}"] = (
        lambda d, r, c=_codec: ["evaluate", r, "--data", write(d / "t.txt", "hello " * 50),
                                "--encoding", c], 2, "is not a text encoding")


def classify_run(d: Path) -> Path:
    out = run_cli(["train", "--corpus", labelled(d, "t.tsv", ["pos", "neg"]), *CLASSIFY,
                   "--runs-dir", d / "cruns", "--name", "c"], d)
    assert out.returncode == 0, out.stderr
    return d / "cruns" / "c"


@pytest.mark.parametrize("name", list(CASES))
def test_review_cases_through_the_cli(name, run, tmp_path, texts):
    make, code, text = CASES[name]
    (tmp_path / "texts").mkdir()
    shutil.copy(texts / "train.txt", tmp_path / "texts" / "train.txt")
    args = make(tmp_path, _runs_copy(run, tmp_path))
    out = run_cli(args, tmp_path)
    if code == 2:
        refused(out, text)
        runs = [p for p in tmp_path.rglob("config.toml") if "cruns" not in str(p)
                and p.parent != tmp_path / "runs" / "r"]
        assert not runs, runs  # a refused run leaves no directory
    else:
        assert out.returncode == 0, out.stderr
        assert "Traceback" not in out.stderr and "Warning" not in out.stderr, out.stderr
        assert text in " ".join(out.stdout.split()), out.stdout[-2000:]
    assert not leftovers(tmp_path)


def _runs_copy(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "runs" / "r"
    shutil.copytree(run, target)
    return target


def test_config_names_its_files_absolutely_so_resume_works_from_anywhere(texts, tmp_path):
    here = tmp_path / "here"
    (here / "data").mkdir(parents=True)
    shutil.copy(texts / "train.txt", here / "data" / "t.txt")
    out = run_cli(["train", "--corpus", "data/t.txt", *TINY, "--steps", "2", "--time-budget",
                   "0", "--runs-dir", "runs", "--name", "rel"], here)
    assert out.returncode == 0, out.stderr
    from rnn_tui.config import load_toml

    corpus = load_toml(here / "runs" / "rel" / "config.toml")["data"]["corpus"]
    assert corpus == str(here / "data" / "t.txt")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = run_cli(["train", "--resume", here / "runs" / "rel", "--steps", "4",
                     "--time-budget", "0", "--quiet"], elsewhere)
    assert again.returncode == 0, again.stderr
    # a built-in name stays a name, even beside a file of that name
    write(here / "arithmetic", "not the corpus")
    out = run_cli(["train", "--corpus", "arithmetic", *TINY, "--steps", "1", "--time-budget",
                   "0", "--runs-dir", "runs", "--name", "builtin"], here)
    assert out.returncode == 0, out.stderr
    assert load_toml(here / "runs" / "builtin" / "config.toml")["data"]["corpus"] == \
        "arithmetic"


# ============================================================ 5. resource bounds
def test_an_overlong_line_is_passed_over_in_a_few_polls(tmp_path):
    """``watch`` reads 256 KB a poll: a 40 MB line (more than MAX_LINE) costs two polls, not
    one per slice, and is never held whole."""
    from rnn_tui.train.runs import MAX_LINE, MetricsReader

    p = tmp_path / "metrics.jsonl"
    first = json.dumps({"type": "notice", "message": "a"})
    last = json.dumps({"type": "notice", "message": "b"})
    with open(p, "wb") as f:
        f.write(first.encode() + b"\n" + b"x" * (MAX_LINE * 5 // 2) + b"\n" + last.encode() +
                b"\n")
    reader = MetricsReader(p)
    got, polls = [], 0
    while len(got) < 2 and polls < 50:
        got += reader.poll(max_bytes=256 * 1024)
        polls += 1
    assert [e.message for e in got] == ["a", "b"] and reader.skipped == 1
    assert polls <= 3
    assert reader._plen == 0 and not reader._parts


def test_a_line_growing_in_pieces_is_read_once_it_ends(tmp_path):
    from rnn_tui.train.runs import MetricsReader

    p = tmp_path / "metrics.jsonl"
    p.write_bytes(b"")
    reader = MetricsReader(p)
    line = json.dumps({"type": "notice", "message": "m" * 3000}).encode() + b"\n"
    got = []
    with open(p, "ab") as f:
        for i in range(0, len(line), 700):
            f.write(line[i:i + 700])
            f.flush()
            got += reader.poll(max_bytes=256)
    assert [len(e.message) for e in got] == [3000]


# ============================================================ 6. properties of the readers
def _text(alphabet: str, max_size: int = 12):
    return st.text(alphabet=alphabet, max_size=max_size)


CELL = st.one_of(_text("abc xyz\t,;\"'\\\r"), st.sampled_from(["", " ", "\x00", "\ufeff",
                                                               "é", "\u2028", "#", "_"]))


@given(st.lists(st.tuples(CELL, CELL), max_size=25))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                     HealthCheck.function_scoped_fixture])
def test_property_tsv_reader(tmp_path_factory, rows):
    from rnn_tui.data.labelled import load_labelled

    p = tmp_path_factory.mktemp("tsv") / "d.tsv"
    p.write_text("".join(f"{a}\t{b}\n" for a, b in rows), encoding="utf-8")
    try:
        data = load_labelled(str(p))
    except UserError as err:
        assert "\n" not in str(err)
        return
    assert len(data.texts) == len(data.labels) and len(set(data.labels)) >= 2
    assert all(t.strip() for t in data.texts) and all(c.strip() for c in data.labels)
    raw = p.read_bytes().decode("utf-8")
    assert all(c in raw for c in data.labels) and all(t in raw for t in data.texts)


CONLLU_FIELD = st.one_of(_text("abcXY_-.", 6), st.sampled_from(["_", "", " ", "\t", "1-2", "#"]))


@given(st.lists(st.lists(st.tuples(CONLLU_FIELD, CONLLU_FIELD, CONLLU_FIELD), min_size=1,
                         max_size=6), max_size=8),
       st.booleans(), st.sampled_from(["", "upos", "xpos"]))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                     HealthCheck.function_scoped_fixture])
def test_property_conllu_reader(tmp_path_factory, sentences, numbered, column):
    from rnn_tui.data.labelled import load_tagged

    lines = []
    for sent in sentences:
        lines.append("# text = x")
        for i, (form, upos, xpos) in enumerate(sent, 1):
            idx = str(i) if numbered else form
            lines.append("\t".join([idx, form, "_", upos, xpos, "_", "0", "_", "_", "_"]))
        lines.append("")
    p = tmp_path_factory.mktemp("conllu") / "d.conllu"
    p.write_text("\n".join(lines), encoding="utf-8")
    try:
        data = load_tagged(str(p), "utf-8", column)
    except UserError as err:
        assert "\n" not in str(err)
        return
    assert len(data.sentences) == len(data.tags) and data.sentences
    for words, tags in zip(data.sentences, data.tags, strict=True):
        assert len(words) == len(tags) > 0
        assert all(isinstance(w, str) and w for w in words)


@given(st.lists(st.tuples(st.sampled_from(["v", "v", "w", "", "t", " v "]),
                          st.sampled_from(["v", "w", "v.1", ""])), min_size=1, max_size=1),
       st.lists(st.tuples(st.integers(-99, 99), st.integers(-99, 99)), min_size=12,
                max_size=30),
       st.sampled_from([None, "v", "v.1", "w", "0", "1"]))
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                     HealthCheck.function_scoped_fixture])
def test_property_csv_headers_are_unambiguous(tmp_path_factory, header, rows, column):
    """Whatever the header names (duplicates too), the column read is the one named, and the
    name reported finds it again."""
    from rnn_tui.data.series import load_csv

    p = tmp_path_factory.mktemp("csvh") / "h.csv"
    a, b = header[0]
    p.write_text(f"{a},{b}\n" + "".join(f"{x},{y}\n" for x, y in rows), encoding="utf-8")
    try:
        s = load_csv(p, column)
    except UserError as err:
        assert "\n" not in str(err)
        return
    if s.column.isdigit() and s.column in (a.strip(), b.strip()):
        return  # an unnamed column's index is also another column's name: names win
    again = load_csv(p, s.column)
    assert np.array_equal(again.values, s.values)
    j = [[x for x, _ in rows], [y for _, y in rows]]
    assert any(np.array_equal(s.values, np.asarray(c, float)) for c in j)


TOML_VALUE = st.one_of(st.integers(-10**20, 10**20), st.floats(allow_nan=True),
                       st.booleans(), st.text(max_size=8),
                       st.lists(st.integers(0, 3), max_size=3))
KEYS = st.sampled_from(["task", "corpus", "hidden", "layers", "cell", "lr", "seq", "batch",
                        "dropout", "encoding", "holdout", "max_len", "steps", "seed", "nope",
                        "clip", "optimizer", "embed", "temperature", "val_fraction"])


@given(st.dictionaries(st.sampled_from(["data", "model", "train", "extra"]),
                       st.dictionaries(KEYS, TOML_VALUE, max_size=5), max_size=4),
       st.binary(max_size=40))
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                     HealthCheck.function_scoped_fixture])
def test_property_toml_config(tmp_path_factory, tables, junk):
    """Any TOML (or bytes) as --config: a one-line UserError, or a config that validates and
    comes back the same through its own TOML."""
    import tomli_w

    from rnn_tui.config import RunConfig, load_toml

    d = tmp_path_factory.mktemp("toml")
    try:
        text = tomli_w.dumps(tables).encode()
    except (TypeError, ValueError):
        text = b""
    for data in (text, junk, text + junk):
        p = d / "c.toml"
        p.write_bytes(data)
        try:
            cfg = RunConfig.from_dict(load_toml(p), str(p)).validate()
        except UserError as err:
            assert "\n" not in str(err)
            continue
        back = d / "back.toml"
        back.write_text(cfg.to_toml(), encoding="utf-8")
        again = RunConfig.from_dict(load_toml(back), str(back)).validate()
        assert again.to_dict() == cfg.to_dict()


def test_a_signal_inside_a_long_step_does_not_wait_for_it(tmp_path):
    """A 200,000-word sentence read whole (--max-len 0): a step lasts seconds. SIGTERM in the
    middle of one ends the process without waiting for the step (and, with no checkpoint yet,
    leaves no run); the exit status is the signal's."""
    data = long_sentence(tmp_path)
    runs = tmp_path / "runs"
    proc = start_cli(["train", "--corpus", data, "--task", "classify", "--hidden", "4", "--embed",
                      "4", "--quiet", "--max-len", "0", "--steps",
                      "0", "--time-budget", "300", "--eval-every", "100000", "--log-every", "1",
                      "--checkpoint-every", "100000", "--runs-dir", runs, "--name", "long"],
                     tmp_path)
    metrics = runs / "long" / "metrics.jsonl"
    try:
        wait_for(lambda: metrics.exists() and '"type":"step"' in metrics.read_text(),
                 what="the first step")
        # into the long step: right after the first step's event the next batch is still being
        # built, and a stop asked then is taken before the step (a checkpoint, exit 143 too)
        time.sleep(1.5)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=HANG_GUARD_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err
    lines = [x for x in err.splitlines() if x.strip()]
    assert len(lines) == 1 and "in the middle of a long step" in lines[0], err
    assert not (runs / "long").exists()


def test_a_run_with_best_weights_but_no_checkpoint_resumes_from_them(run, tmp_path):
    target = tmp_path / "b"
    shutil.copytree(run, target)
    (target / "checkpoint.npz").unlink()
    from rnn_tui.train.runs import load_checkpoint

    best_step = load_checkpoint(target / "best.npz")[1]["step"]
    out = run_cli(["train", "--resume", target, "--steps", str(best_step + 2), "--time-budget",
                   "0", "--eval-every", "1"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "continues from best.npz" in " ".join(out.stdout.split())
    assert load_checkpoint(target)[1]["step"] == best_step + 2
