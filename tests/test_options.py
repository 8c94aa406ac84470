"""The declared settings: one resolution for `train` and sweep trials, strict checks through
every door (flag, TOML file, sweep axis, serve's session defaults), and a --help that lists the
choices and every default."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rnn_tui.cli import build_parser
from rnn_tui.config import RunConfig
from rnn_tui.errors import UserError
from rnn_tui.options import SETTINGS, TASKS, describe_default, flag_settings
from rnn_tui.session import config_from_args
from rnn_tui.sweep.spec import spec_from_args

# ------------------------------------------------------------------ train == sweep trial
# The same options on `train` and `sweep` (a built-in corpus per task; a setting or two
# changed so the layers are exercised), with the seed swept on the sweep.
SAME_OPTIONS = {
    "char": ["--corpus", "arithmetic", "--hidden", "48"],
    "word": ["--corpus", "arithmetic", "--max-vocab", "500", "--windows", "4"],
    "series": ["--corpus", "sales", "--horizon", "6", "--scaling", "raw"],
    "classify": ["--time-budget", "5"],
    "tag": ["--word-features", "none"],
    "seq2seq": ["--digits", "2", "--pairs", "2000", "--attention", "dot"],
}


def test_every_task_has_a_case():
    assert set(SAME_OPTIONS) == set(TASKS)


@pytest.mark.parametrize("task", TASKS)
def test_a_sweep_trial_is_the_run_train_makes(task, tmp_path):
    opts = ["--task", task, *SAME_OPTIONS[task]]
    parser = build_parser()
    train = config_from_args(parser.parse_args(["train", *opts, "--seed", "3"]))
    spec = spec_from_args(parser.parse_args(["sweep", *opts, "--seed", "1,3"]))
    trials = spec.trials()
    assert [t.config["train"]["seed"] for t in trials] == [1, 3]
    trial = RunConfig.from_dict(trials[1].config, "sweep trial").validate()
    assert trial.to_toml() == train.to_toml()
    assert trial.data.task == task


def test_a_classify_trial_gets_the_classify_defaults():
    """The sweep once applied only the series defaults."""
    spec = spec_from_args(build_parser().parse_args(["sweep", "--task", "classify",
                                                     "--seed", "0,1"]))
    c = RunConfig.from_dict(spec.trials()[0].config)
    assert (c.data.corpus, c.model.bidirectional, c.model.dropout, c.train.time_budget) == \
        ("sentiment", True, 0.5, 120.0)


# ------------------------------------------------------------------ four doors, one table
# (setting, value as TOML writes it, value as a flag takes it, what the line must say)
BAD = [
    ("bool where a number belongs", "model", "hidden", "true", "true",
     "must be a whole number from 1 to 4,096, got"),
    ("float where an int belongs", "model", "hidden", "1.5", "1.5", "must be a whole number"),
    ("a string where a number belongs", "train", "lr", '"fast"', "fast", "must be a number > 0"),
    ("negative size", "data", "max_vocab", "-5", "-5",
     "must be a whole number from 0 to 10,000,000"),
    ("zero size", "train", "batch", "0", "0", "must be a whole number from 1"),
    ("unknown choice", "model", "cell", '"lstn"', "lstn", "did you mean 'lstm'"),
    ("unknown key", "model", "hiden", "64", "64", "hiden"),
]


def run_cli(args, cwd):
    return subprocess.run([sys.executable, "-m", "rnn_tui.cli", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def one_line(out) -> str:
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    return lines[0]


def flag_args(key, flag_value):
    return [f"--{key.replace('_', '-')}", flag_value]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_refused_through_a_flag(case, tmp_path):
    _, _sec, key, _toml, flag, says = case
    line = one_line(run_cli(["train", "--task", "word", *flag_args(key, flag),
                             "--runs-dir", str(tmp_path)], tmp_path))
    name = f"--{key.replace('_', '-')}"
    assert name in line
    if key != "hiden":  # an unknown flag: argparse names it
        assert says in line, line
    assert not (tmp_path / "word").exists()


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_refused_in_a_toml_file(case, tmp_path):
    _, sec, key, toml, _flag, says = case
    cfg = tmp_path / "cfg.toml"
    body = f"{key} = {toml}\n"
    cfg.write_text('[data]\ntask = "word"\n' + (body if sec == "data" else f"[{sec}]\n{body}"))
    line = one_line(run_cli(["train", "--config", str(cfg), "--runs-dir", str(tmp_path)],
                            tmp_path))
    assert str(cfg) in line and key in line and f"[{sec}]" in line, line
    assert says in line or key == "hiden", line
    if key == "hiden":
        assert "did you mean 'hidden'" in line


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_refused_as_a_sweep_axis(case, tmp_path):
    _, sec, key, toml, flag, says = case
    parser = build_parser()
    # on the command line, as a single value and in a list
    if key != "hiden":
        for text in (flag, f"{flag},64" if key != "cell" else f"{flag},gru"):
            option = f"--{key.replace('_', '-')}={text}"  # = : "-5,64" is not an option
            args = parser.parse_args(["sweep", "--task", "word", option])
            with pytest.raises(UserError) as err:
                spec_from_args(args).trials()
            msg = str(err.value)
            assert "\n" not in msg and f"sweep axis --{key.replace('_', '-')}" in msg, msg
            assert says in msg, msg
    # in a [sweep] table
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(f'[data]\ntask = "word"\n[sweep]\n{key} = [{toml}]\n')
    with pytest.raises(UserError) as err:
        spec_from_args(parser.parse_args(["sweep", "--config", str(cfg)])).trials()
    msg = str(err.value)
    assert "\n" not in msg and str(cfg) in msg and key in msg, msg
    assert (says if key != "hiden" else "did you mean 'hidden'") in msg, msg


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_refused_as_serve_session_defaults(case, tmp_path):
    _, _sec, key, _toml, flag, says = case
    line = one_line(run_cli(["serve", "--task", "word", *flag_args(key, flag),
                             "--runs-dir", str(tmp_path / "runs")], tmp_path))
    name = f"--{key.replace('_', '-')}"
    assert name in line, line
    # checked by the settings, or (a choice, an unknown flag) by serve's own parser
    assert f"serve session defaults: {name}" in line or "rnn-tui serve --help" in line \
        or "unrecognized arguments" in line, line
    if key != "hiden":
        assert says in line, line
    assert not (tmp_path / "runs").exists()


# ------------------------------------------------------------------ settings a task does not read
@pytest.mark.parametrize("args, says", [
    (["--task", "char", "--column", "v"], "--column does not apply to the char task"),
    (["--task", "tag", "--tokens", "char"], "--tokens does not apply to the tag task"),
    (["--task", "series", "--windows", "8"], "--windows does not apply to the series task"),
    (["--task", "word", "--horizon", "3"], "--horizon does not apply to the word task"),
    (["--task", "char", "--bidirectional"], "--bidirectional does not apply to the char task"),
])
def test_a_setting_the_task_does_not_read_is_refused(args, says, tmp_path):
    line = one_line(run_cli(["train", *args, "--runs-dir", str(tmp_path)], tmp_path))
    assert says in line, line


def test_a_setting_the_task_does_not_read_passes_at_its_default():
    """A config.toml written for another task holds every setting; at their defaults they
    are no change, so it still loads."""
    args = build_parser().parse_args(["train", "--task", "tag", "--windows", "0",
                                      "--tokens", "word"])
    assert config_from_args(args).data.task == "tag"


# ------------------------------------------------------------------ --help
def test_train_help_lists_the_choices_and_shows_every_default():
    out = subprocess.run([sys.executable, "-m", "rnn_tui.cli", "train", "--help"],
                         capture_output=True, text=True, timeout=60,
                         env={**os.environ, "COLUMNS": "2000"})
    assert out.returncode == 0, out.stderr
    lines: dict[str, str] = {}  # an option's first word -> its whole entry on one line
    last = None
    for ln in out.stdout.splitlines():
        if ln.startswith("  -"):
            last = ln.split()[0]
            lines[last] = ln
        elif last and ln.startswith("    "):
            lines[last] += " " + ln.strip()
    for key, choices in (("task", TASKS), ("cell", None), ("optimizer", None), ("input", None),
                         ("dtype", None)):
        s = next(x for x in SETTINGS if x.key == key)
        want = "{" + ",".join(choices or s.choices) + "}"
        assert want in lines[s.option], lines[s.option]
    for s in flag_settings():
        line = lines[s.option + ","] if s.type is bool else lines[s.option]
        assert describe_default(s) in line, (s.key, line)
        assert "(default " in line
    hidden = lines["--hidden"]
    assert "(default 512; series 32, classify 64, tag 128, seq2seq 128, the app 256)" in hidden


def test_every_setting_has_a_default_within_its_own_rules():
    from rnn_tui.options import COMMAND_LINE, TASK_DEFAULTS, check, task_default

    for s in SETTINGS:
        assert check(s, s.default, COMMAND_LINE) == s.default
        for task in TASK_DEFAULTS:
            check(s, task_default(s, task), COMMAND_LINE)
