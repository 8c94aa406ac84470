"""The sweep's pure parts, without Ray: the axis syntax, the expansion into trials and their
names, the [sweep] table, labels for runs side by side, sweep.json, the auth preparation and
the one-line error when Ray is missing."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from rnn_tui.cli import build_parser
from rnn_tui.errors import UserError
from rnn_tui.sweep.record import SweepRecord
from rnn_tui.sweep.spec import parse_axis, spec_from_args, trial_names
from rnn_tui.train.labels import differing, run_labels, setting_text


def sweep_args(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["sweep", *argv])


# ---------------------------------------------------------------------------- axis syntax
@pytest.mark.parametrize("text, values", [
    ("rnn,lstm,gru", ["rnn", "lstm", "gru"]),
    ("64", [64]),
    ("64..256..64", [64, 128, 192, 256]),
    ("64..250..64", [64, 128, 192]),
    ("32..256..x2", [32, 64, 128, 256]),
    ("1..3", [1, 2, 3]),
    ("16,64..128..64,16", [16, 64, 128]),
])
def test_grid_values(text, values):
    key = "cell" if text[0].isalpha() else "hidden"
    axis = parse_axis(key, text)
    assert axis.values == values and axis.dist is None


def test_float_grids_and_ranges():
    assert parse_axis("lr", "1e-3,3e-3").values == [1e-3, 3e-3]
    assert parse_axis("dropout", "0..0.3..0.1").values == [0.0, 0.1, 0.2, 0.3]
    assert parse_axis("lr", "1e-4..1e-2..x10").values == [1e-4, 1e-3, 1e-2]
    a = parse_axis("lr", "1e-3:1e-2:log")
    assert a.dist == ("log", 1e-3, 1e-2) and a.varies
    assert parse_axis("dropout", "0:0.5").dist == ("uniform", 0.0, 0.5)


@pytest.mark.parametrize("key, text, message", [
    ("hidden", "abc", "must be a whole number"),
    ("hidden", "64.5", "whole number"),
    ("hidden", "256..64..64", "ends below its start"),
    ("dropout", "0..0.5", "needs a step"),
    ("hidden", "64..256..0", "must be > 0"),
    ("lr", "0:1e-2:log", "low end > 0"),
    ("lr", "1e-3,1e-3:1e-2", "whole value"),
    ("hidden", "1..100000", "at most"),
    ("hiden", "64", "did you mean 'hidden'"),
    ("cell", "rnn,,gru", "empty value"),
])
def test_axis_errors(key, text, message):
    with pytest.raises(UserError, match=message):
        parse_axis(key, text)


# ---------------------------------------------------------------------------- expansion
def test_grid_expands_to_named_validated_trials():
    spec = spec_from_args(sweep_args("--corpus", "arithmetic", "--cell", "rnn,lstm,gru",
                                     "--hidden", "64,128", "--seed", "0"))
    trials = spec.trials()
    assert [t.name for t in trials] == ["rnn-hidden64", "rnn-hidden128", "lstm-hidden64",
                                        "lstm-hidden128", "gru-hidden64", "gru-hidden128"]
    assert trials[3].settings == {"cell": "lstm", "hidden": 128}
    assert trials[3].config["model"]["cell"] == "lstm"
    assert trials[3].config["model"]["hidden"] == 128
    assert trials[3].config["data"]["corpus"] == "arithmetic"
    assert spec.describe() == {"cell": ["rnn", "lstm", "gru"], "hidden": [64, 128]}
    assert spec.fixed() == {"corpus": "arithmetic", "seed": 0}


def test_random_search_draws_reproducibly_within_the_ranges():
    args = ("--cell", "rnn,gru", "--lr", "1e-3:1e-2:log", "--hidden", "16:64",
            "--samples", "3")
    a = spec_from_args(sweep_args(*args)).trials()
    b = spec_from_args(sweep_args(*args)).trials()
    assert len(a) == 6
    assert [t.settings for t in a] == [t.settings for t in b]
    for t in a:
        assert 1e-3 <= t.settings["lr"] <= 1e-2
        assert isinstance(t.settings["hidden"], int) and 16 <= t.settings["hidden"] <= 64
    c = spec_from_args(sweep_args(*args, "--sweep-seed", "1")).trials()
    assert [t.settings for t in c] != [t.settings for t in a]
    assert len({t.name for t in a}) == 6


def test_samples_and_ranges_go_together():
    with pytest.raises(UserError, match="give --samples N"):
        spec_from_args(sweep_args("--lr", "1e-3:1e-2")).trials()
    with pytest.raises(UserError, match="sweep the seed"):
        spec_from_args(sweep_args("--cell", "rnn,gru", "--samples", "2")).trials()


def test_an_invalid_value_names_its_axis_and_an_unfitting_trial_is_named():
    with pytest.raises(UserError, match=r"sweep axis --hidden must be a whole number from 1 "):
        spec_from_args(sweep_args("--hidden", "0,64")).trials()
    with pytest.raises(UserError, match="got 'lstn' \\(did you mean 'lstm'"):
        spec_from_args(sweep_args("--cell", "rnn,lstn")).trials()
    with pytest.raises(UserError, match="trial tag: sweep axis --windows does not apply to "
                       "the tag task"):
        spec_from_args(sweep_args("--task", "char,tag", "--windows", "5")).trials()


def test_names_stay_distinct():
    assert trial_names([{"cell": "rnn"}, {"cell": "rnn"}]) == ["rnn", "rnn-2"]
    assert trial_names([{}]) == ["run"]
    assert trial_names([{"corpus": "/data/my text.txt", "lr": 0.00316}]) == \
        ["my_text-lr0.00316"]


def test_config_file_with_a_sweep_table(tmp_path):
    cfg = tmp_path / "s.toml"
    cfg.write_text('[data]\ncorpus = "arithmetic"\n[model]\nhidden = 32\n'
                   '[train]\nlr = 0.01\n'
                   '[sweep]\n"model.cell" = ["rnn", "gru"]\nhidden = "16..32..16"\n'
                   'time-budget = 5\nsamples = 1\nscheduler = "none"\n')
    spec = spec_from_args(sweep_args("--config", str(cfg), "--hidden", "8"))
    trials = spec.trials()
    assert [t.name for t in trials] == ["rnn", "gru"]  # the flag overrides [sweep] hidden
    c = trials[0].config
    assert c["model"]["hidden"] == 8 and c["train"]["lr"] == 0.01
    assert c["train"]["time_budget"] == 5.0 and c["data"]["corpus"] == "arithmetic"
    assert spec.option("scheduler") == "none"
    bad = tmp_path / "bad.toml"
    bad.write_text("[sweep]\nsamples = 'many'\n")
    with pytest.raises(UserError, match="samples must be int"):
        spec_from_args(sweep_args("--config", str(bad)))


def test_a_relative_corpus_path_becomes_absolute(tmp_path, monkeypatch):
    (tmp_path / "t.txt").write_text("hello world " * 500)
    monkeypatch.chdir(tmp_path)
    trials = spec_from_args(sweep_args("--corpus", "t.txt", "--cell", "rnn,gru")).trials()
    assert trials[0].config["data"]["corpus"] == str(tmp_path / "t.txt")


def test_series_trials_get_the_series_defaults():
    t = spec_from_args(sweep_args("--task", "series", "--cell", "rnn,gru")).trials()[0]
    assert t.config["data"]["corpus"] == "sales" and t.config["model"]["embed"] == 0


# ---------------------------------------------------------------------------- labels
def cfg(cell="gru", hidden=64, embed=64, lr=0.003):
    return {"data": {"task": "char", "corpus": "arithmetic"},
            "model": {"cell": cell, "hidden": hidden, "embed": embed},
            "train": {"lr": lr}}


def test_labels_name_runs_by_what_differs():
    assert run_labels([cfg("rnn"), cfg("lstm"), cfg("gru")], ["a", "b", "c"]) == \
        ["rnn", "lstm", "gru"]
    assert run_labels([cfg("rnn", 64), cfg("lstm", 128)], ["a", "b"]) == \
        ["rnn hidden=64", "lstm hidden=128"]
    assert run_labels([cfg(embed=0), cfg(embed=32)], ["a", "b"]) == ["one-hot", "embed=32"]
    assert run_labels([cfg(), cfg()], ["a", "b"]) == ["a", "b"]  # nothing differs
    assert run_labels([cfg("rnn", lr=1e-3), cfg("rnn", lr=1e-3), cfg("gru")],
                      ["x", "y", "z"]) == ["rnn lr=0.001 (x)", "rnn lr=0.001 (y)",
                                           "gru lr=0.003"]
    assert differing([cfg("rnn"), cfg("gru")]) == ["model.cell"]
    assert setting_text("train.clip", 0.0) == "no-clip"
    assert setting_text("data.corpus", "/x/y/tiny.txt") == "tiny.txt"


# ---------------------------------------------------------------------------- sweep.json
def test_sweep_record_round_trip(tmp_path):
    spec = spec_from_args(sweep_args("--cell", "rnn,gru", "--hidden", "16"))
    trials = spec.trials()
    rec = SweepRecord.create(tmp_path, spec, trials, {"engine": "ray", "address": "local"})
    data = json.loads((tmp_path / "sweep.json").read_text())
    assert data["grid"] == {"cell": ["rnn", "gru"]} and data["fixed"] == {"hidden": 16}
    assert [t["status"] for t in data["trials"]] == ["pending", "pending"]
    rec.update("gru", status="finished", best_val_loss=1.5)
    rec.update("rnn", status="failed", error="RuntimeError: boom", best_val_loss=float("nan"))
    rec.save()
    again = SweepRecord.load(tmp_path)
    assert again.trial("gru")["best_val_loss"] == 1.5
    assert again.trial("rnn")["best_val_loss"] is None  # NaN is not JSON
    assert [t["name"] for t in again.ranked()] == ["gru", "rnn"]
    assert not list(tmp_path.glob(".sweep.json.*"))  # written to a temporary, renamed
    with pytest.raises(UserError, match="not a sweep"):
        SweepRecord.load(tmp_path / "nothing")


# ---------------------------------------------------------------------------- Ray's edges
def test_auth_token_is_used_when_found(tmp_path, monkeypatch):
    from rnn_tui.sweep.engine import prepare_auth

    monkeypatch.setenv("HOME", str(tmp_path))
    for k in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH"):
        monkeypatch.delenv(k, raising=False)
    warning = prepare_auth("10.0.0.1:6379")
    assert "no Ray auth token found" in warning and "auth_token" in warning
    assert "RAY_AUTH_MODE" not in __import__("os").environ
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("abc123\n")
    assert prepare_auth("10.0.0.1:6379") is None
    assert __import__("os").environ["RAY_AUTH_MODE"] == "token"
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")  # the user's choice stands
    assert prepare_auth("10.0.0.1:6379") is None
    assert __import__("os").environ["RAY_AUTH_MODE"] == "disabled"


def test_without_ray_one_line_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['ray'] = None; from rnn_tui.cli import main; "
            f"sys.exit(main(['sweep', '--cell', 'rnn,gru', '--runs-dir', r'{tmp_path}']))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and 'pip install "rnn-tui[sweep]"' in lines[0], p.stderr
    assert not list(tmp_path.iterdir())  # nothing written
