"""Your own input and attribution: ``predict`` and ``explain`` on runs of every kind of task,
integrated gradients' completeness over many inputs, the gradient methods against their
definitions, and bad input refused in one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import SERIES_DIR
from rnn_tui.explain.attribution import COMPLETENESS, attribute, completeness_holds

SMALL = ["--hidden", "16", "--steps", "40", "--eval-every", "20", "--quiet"]
QUOTED = ('She said "come here" and he said "no". Then "why not?" she asked.\n'
          'The sign read "closed" (for now) and 42 people left.\n') * 40
RUNS = {
    "classify": ["--task", "classify", "--corpus", "sentiment", "--embed", "8",
                 "--bidirectional"],
    "classify_char": ["--task", "classify", "--corpus", "sentiment", "--tokens", "char",
                      "--embed", "0", "--cell", "gru", "--max-len", "60"],
    "tag": ["--task", "tag", "--corpus", "pos", "--embed", "8", "--bidirectional",
            "--cell", "lstm"],
    "char": ["--task", "char", "--corpus", "{d}/quotes.txt", "--cell", "lstm", "--seq", "32",
             "--batch", "8"],
    "word": ["--task", "word", "--corpus", "{d}/quotes.txt", "--embed", "8", "--cell", "rnn",
             "--seq", "16", "--batch", "8"],
    "series": ["--task", "series", "--corpus", str(SERIES_DIR / "shampoo.csv"), "--holdout",
               "6", "--lookback", "6"],
    "series_window": ["--task", "series", "--corpus", "sales", "--scaling", "minmax",
                      "--lookback", "8"],
    "seq2seq": ["--task", "seq2seq", "--corpus", "reverse", "--pairs", "400"],
}
ATTRIBUTED = sorted(set(RUNS) - {"seq2seq"})


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from rnn_tui.cli import main

    d = tmp_path_factory.mktemp("explain")
    (d / "quotes.txt").write_text(QUOTED, encoding="utf-8")
    for name, flags in RUNS.items():
        args = ["train", *[f.format(d=d) for f in flags], *SMALL, "--runs-dir", str(d),
                "--name", name]
        assert main(args) == 0, name
    return d


def opened(runs, name):
    from rnn_tui.commands.common import open_explainable

    return open_explainable(str(runs / name))[0]


def run_cli(args, cwd):
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "rnn_tui.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


SENTENCES = [
    "This movie was wonderful, I loved it", "terrible, boring and way too long",
    "The food was cold and the waiter rude.", "Great phone, battery lasts for days!",
    "not good", "I would never buy this again", "Best purchase ever", "meh",
    "The plot made no sense at all but the music was great", "It works.",
    "Absolutely awful experience from start to finish", "five stars", "Fine, I guess?",
    "The screen cracked after one week", "Loved the acting, hated the ending",
    "Quite possibly the worst film I have seen", "Very comfortable and light",
    "zzz qqq xxyy unknownword", "Service was slow but friendly", "I am so happy with it",
]


def series_inputs(model, n=20):
    rng = np.random.default_rng(0)
    L = model.forecaster.lookback
    out = []
    for k in range(n):
        t = np.arange(L + 40 + k)
        y = 200 + 30 * np.sin(2 * np.pi * t / 12) + 2 * t + rng.normal(0, 10 + k, t.size)
        out.append(np.maximum(y, 1.0))
    return out


def inputs_for(name, model):
    if model.kind == "series":
        return series_inputs(model)
    if model.kind in ("char", "word"):
        return [QUOTED[i : i + 20 + 3 * i] for i in range(0, 200, 10)]
    return SENTENCES


# ------------------------------------------------------------------ completeness
@pytest.mark.parametrize("name", ATTRIBUTED)
def test_integrated_gradients_complete_on_every_input(runs, name):
    """|sum IG - (f(x) - f(x'))| <= 1 % of |f(x) - f(x')| with the default steps, for every
    input, and the JSON reports both sides."""
    model = opened(runs, name)
    for item in inputs_for(name, model):
        a = attribute(model, item, "ig")
        assert len(a.scores) == len(a.tokens)
        delta = a.f_x - a.f_baseline
        assert abs(sum(a.scores) - delta) <= COMPLETENESS * abs(delta) + 1e-9, (item, a)
        assert completeness_holds(a)
        d = a.to_json()
        assert {"tokens", "scores", "target", "f_x", "f_baseline"} <= set(d)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_completeness_on_sharp_random_networks(cell):
    """Weights three times PyTorch's scale saturate the gates: the integrand along the path
    turns sharply, and the default quadrature still refines until the sum holds."""
    from rnn_tui.core import NetSpec, Network
    from rnn_tui.data.text import CharTokenizer
    from rnn_tui.explain.models import Classifier, LanguageModelView

    tok = CharTokenizer.fit("abcdefgh ")
    for mode in ("embedding", "onehot"):
        spec = NetSpec(cell=cell, input_mode=mode, input_size=tok.vocab_size, embed_dim=6,
                       hidden=12, output_size=tok.vocab_size)
        net = Network(spec, seed=3)
        net.params.data[:] *= 3.0
        lm = LanguageModelView(net, tok, "char")
        cspec = NetSpec(cell=cell, input_mode=mode, input_size=tok.vocab_size, embed_dim=6,
                        hidden=12, output_size=3, bidirectional=True)
        cnet = Network(cspec, seed=4)
        cnet.params.data[:] *= 3.0
        clf = Classifier(cnet, tok, ["x", "y", "z"])
        rng = np.random.default_rng(1)
        for _ in range(10):
            text = "".join(rng.choice(list("abcdefgh "), rng.integers(3, 30)))
            for model in (lm, clf):
                a = attribute(model, text, "ig")
                assert completeness_holds(a), (cell, mode, text, a.gap, a.f_x - a.f_baseline)


# ------------------------------------------------------------------ the methods
@pytest.mark.parametrize("name", ["classify", "classify_char", "char", "series"])
def test_gradient_methods_follow_their_definitions(runs, name):
    """grad = ||df/dx_t||, grad-x-input = x_t . df/dx_t, with df/dx_t by central differences
    of f along each input vector (float32 weights: to 1e-2 relative)."""
    model = opened(runs, name)
    item = inputs_for(name, model)[1]
    tokens, inputs = model.read(item)
    tgt = model.target(item)
    x = model.vectors(inputs)[: tgt.last + 1]
    g = np.zeros_like(x)
    eps = 1e-2
    for idx in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        g[idx] = (model.gradient(xp, tgt)[0][0] - model.gradient(xm, tgt)[0][0]) / (2 * eps)
    grad = attribute(model, item, "grad")
    gxi = attribute(model, item, "grad-x-input")
    np.testing.assert_allclose(grad.scores, np.linalg.norm(g[:, 0], axis=1), rtol=2e-2,
                               atol=2e-3)
    np.testing.assert_allclose(gxi.scores, (x[:, 0] * g[:, 0]).sum(axis=1), rtol=2e-2,
                               atol=2e-3)


def test_language_model_attribution_reaches_only_the_past(runs):
    model = opened(runs, "char")
    text = 'She said "no" and left'
    a = attribute(model, text, "ig", target="5")
    assert a.reach == 5 and len(a.scores) == 6 and a.tokens == list(text[:6])


# ------------------------------------------------------------------ the commands
PREDICT_KEYS = {"classify": {"text", "label", "probs"}, "tag": {"tokens", "tags", "probs"},
                "char": {"text", "next", "probs"}, "series": {"forecast", "horizon"},
                "seq2seq": {"text", "output", "logp"}}


@pytest.mark.parametrize("name", sorted(PREDICT_KEYS))
def test_predict_json_for_every_kind(runs, tmp_path, name):
    model = opened(runs, name)
    if name == "series":
        csv = tmp_path / "s.csv"
        csv.write_text("value\n" + "\n".join(f"{v:.3f}" for v in series_inputs(model)[0]))
        args = ["--file", str(csv)]
    else:
        lines = {"char": ['She said "co', "The sign"], "seq2seq": ["abc", "hello there"]}.get(
            name, SENTENCES[:3])
        (tmp_path / "in.txt").write_text("\n".join(lines) + "\n\n", encoding="utf-8")
        args = ["--file", str(tmp_path / "in.txt")]
    out = run_cli(["predict", str(runs / name), *args, "--json"], tmp_path)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(ln) for ln in out.stdout.splitlines()]
    assert len(rows) == (1 if name == "series" else len(lines))
    for row in rows:
        assert PREDICT_KEYS[name] <= set(row)
        if name == "classify":
            assert abs(sum(row["probs"].values()) - 1) < 1e-4
            assert row["label"] == max(row["probs"], key=row["probs"].get)
        if name == "tag":
            assert len(row["tokens"]) == len(row["tags"]) == len(row["probs"])
        if name == "series":
            assert len(row["forecast"]) == row["horizon"]
    plain = run_cli(["predict", str(runs / name), *args], tmp_path)
    assert plain.returncode == 0 and plain.stdout.strip()


def test_explain_json_and_plain_text(runs, tmp_path):
    out = run_cli(["explain", str(runs / "classify"), "--text", "I loved it", "--json"],
                  tmp_path)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["tokens"] == ["i", "loved", "it"] and len(d["scores"]) == 3
    assert abs(sum(d["scores"]) - (d["f_x"] - d["f_baseline"])) <= \
        COMPLETENESS * abs(d["f_x"] - d["f_baseline"])
    plain = run_cli(["explain", str(runs / "tag"), "--text", "I saw her", "--target", "1",
                     "--method", "grad"], tmp_path)
    assert plain.returncode == 0 and "\x1b[" not in plain.stdout  # no colour into a pipe
    assert "saw" in plain.stdout


BAD = {
    "empty text": (["predict", "{r}/classify", "--text", "  "], "empty"),
    "missing file": (["predict", "{r}/classify", "--file", "{t}/nope.txt"], "not found"),
    "binary file": (["predict", "{r}/classify", "--file", "{t}/bin.dat"], "binary"),
    "not a run": (["predict", "{t}", "--text", "hi"], "checkpoint"),
    "unknown label": (["explain", "{r}/classify", "--text", "hi", "--target", "maybe"],
                      "not a label"),
    "position out of range": (["explain", "{r}/tag", "--text", "I saw", "--target", "9"],
                              "outside"),
    "bad ig steps": (["explain", "{r}/char", "--text", "ab", "--ig-steps", "0"], "ig-steps"),
    "series not numbers": (["predict", "{r}/series", "--text", "1, 2, many"], "numbers"),
    "series too short": (["explain", "{r}/series", "--text", "1 2 3"], "at least"),
    "bad top": (["predict", "{r}/char", "--text", "ab", "--top", "0"], "--top"),
    "no known character": (["predict", "{r}/char", "--text", "ЖЖЖ"], "vocabulary"),
    "seq2seq has no input gradients": (["explain", "{r}/seq2seq", "--text", "abc"],
                                       "attends"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_line(runs, tmp_path, case):
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    args, match = BAD[case]
    out = run_cli([a.format(r=runs, t=tmp_path) for a in args], tmp_path)
    assert out.returncode == 2, (out.stdout, out.stderr)
    lines = [ln for ln in out.stderr.splitlines() if ln.startswith("rnn-tui: error")]
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert match.lower() in lines[0].lower(), lines[0]
