"""Classification and tagging: the readers (and what they refuse), the baselines, the split, and
two small tasks that must be learned."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnn_tui.cli import main
from rnn_tui.config import TASK_DEFAULTS, RunConfig
from rnn_tui.data.labelled import load_labelled, load_tagged, stratified_split
from rnn_tui.errors import UserError
from rnn_tui.models.baselines import MostFrequentTag, NaiveBayes, majority
from rnn_tui.session import build_task
from rnn_tui.train.trainer import Trainer

SRC = Path(__file__).resolve().parents[1] / "src"


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = {"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin"}
    import os

    env.update({k: v for k, v in os.environ.items() if k in ("HOME", "NUMBA_CACHE_DIR")})
    return subprocess.run([sys.executable, "-m", "rnn_tui.cli", *args], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=300)


# ---------------------------------------------------------------------------- readers
def test_labelled_reader_takes_crlf_latin1_and_a_bom(tmp_path):
    p = tmp_path / "mixed.txt"
    p.write_bytes(b"\xef\xbb\xbfGreat film.\t1\r\nNot caf\xe9 worthy.\t0\r\n\r\nSo so.\t0\r\n")
    d = load_labelled(str(p))
    assert d.texts == ["Great film.", "Not café worthy.", "So so."]
    assert d.labels == ["1", "0", "0"] and d.notes  # one line read as Latin-1, and it says so


@pytest.mark.parametrize("content,match", [
    (b"good\tpos\nfine\tpos\n", "at least two classes"),
    (b"good\tpos\n\tneg\n", "empty text"),
    (b"good\tpos\nno tab here\nbad\tneg\n", "line 2 has no tab"),
])
def test_labelled_reader_refusals(tmp_path, content, match):
    p = tmp_path / "bad.tsv"
    p.write_bytes(content)
    with pytest.raises(UserError, match=match):
        load_labelled(str(p))


CONLLU = """# sent_id = 1
1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_
1\tdo\tdo\tAUX\tVBP\t_\t0\troot\t_\t_
2\tn't\tnot\tPART\tRB\t_\t1\tadvmod\t_\t_
3\tgo\tgo\tVERB\tVB\t_\t1\txcomp\t_\t_
3.1\tgone\t_\t_\t_\t_\t_\t_\t_\t_

1\tYes\tyes\tINTJ\tUH\t_\t0\troot\t_\t_
"""


def test_conllu_reader_skips_multiword_tokens_and_empty_nodes(tmp_path):
    p = tmp_path / "a.conllu"
    p.write_text(CONLLU)
    d = load_tagged(str(p))
    assert d.sentences == [["do", "n't", "go"], ["Yes"]]
    assert d.tags == [["AUX", "PART", "VERB"], ["INTJ"]]
    assert load_tagged(str(p), column="xpos").tags == [["VBP", "RB", "VB"], ["UH"]]


def test_tag_reader_refusals(tmp_path):
    no_upos = tmp_path / "n.conllu"
    no_upos.write_text(CONLLU.replace("\tAUX\t", "\t_\t").replace("\tPART\t", "\t_\t")
                       .replace("\tVERB\t", "\t_\t").replace("\tINTJ\t", "\t_\t"))
    with pytest.raises(UserError, match="no UPOS tags"):
        load_tagged(str(no_upos))
    # a .conllu file cut short of its UPOS column is refused, not read as word<TAB>tag pairs
    short = tmp_path / "s.conllu"
    short.write_text("1\tThe\tthe\n2\tdog\tdog\n\n1\tA\ta\n2\tcat\tcat\n")
    with pytest.raises(UserError, match=r"line 1 has 3 columns; there is no column 4 \(upos\)"):
        load_tagged(str(short))
    run_on = tmp_path / "r.tsv"
    run_on.write_text("".join(f"w{i}\t{'N' if i % 2 else 'V'}\n" for i in range(1500)))
    with pytest.raises(UserError, match="without a blank line"):
        load_tagged(str(run_on))


@pytest.mark.parametrize("task,content,match", [
    ("classify", "good\tpos\nfine\tpos\n", "at least two classes"),
    ("classify", "good\tpos\n   \tneg\n", "empty text"),
    ("classify", "", "is empty"),
    ("tag", CONLLU.replace("\tAUX\t", "\t_\t").replace("\tPART\t", "\t_\t")
     .replace("\tVERB\t", "\t_\t").replace("\tINTJ\t", "\t_\t"), "no UPOS"),
    ("tag", "".join(f"w{i}\t{'N' if i % 2 else 'V'}\n" for i in range(1500)),
     "separate the sentences with blank lines"),
])
def test_bad_labelled_input_is_one_line_and_exit_2(tmp_path, task, content, match):
    p = tmp_path / ("data.conllu" if "conllu" in match.lower() else "data.tsv")
    p.write_text(content)
    r = cli("train", "--task", task, "--corpus", str(p), "--runs-dir", str(tmp_path / "runs"))
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0] and "Traceback" not in r.stderr
    assert not (tmp_path / "runs").exists()


# ---------------------------------------------------------------------------- baselines
def test_naive_bayes_by_hand():
    docs = [["good", "fun"], ["good"], ["bad", "dull"], ["bad"]]
    nb = NaiveBayes().fit(docs, ["p", "p", "n", "n"])
    # P(good|p) = (2+1)/(3+4), P(good|n) = (0+1)/(3+4): "good" says p, "dull" says n
    np.testing.assert_allclose(np.exp(nb.log_like[nb.classes.index("p"), nb.index["good"]]),
                               3 / 7)
    assert nb.predict([["good"], ["dull"], ["good", "bad", "dull"], ["unseen"]]) == \
        ["p", "n", "n", "n"]  # a tie of priors and no evidence: the first class, "n"
    assert majority(["a", "b", "b"]) == "b"


def test_most_frequent_tag_by_hand():
    b = MostFrequentTag().fit([["the", "run"], ["a", "run"], ["run"]],
                              [["DET", "NOUN"], ["DET", "NOUN"], ["VERB"]])
    assert b.predict(["run", "the", "zebra"]) == ["NOUN", "DET", "DET"]  # DET is most frequent


def test_stratified_split_is_seeded_and_keeps_proportions():
    labels = ["a"] * 80 + ["b"] * 20
    tr, va = stratified_split(labels, 0.2, seed=3)
    assert len(va) == 20 and sorted(set(tr) | set(va)) == list(range(100))
    assert sum(labels[i] == "b" for i in va) == 4
    tr2, va2 = stratified_split(labels, 0.2, seed=3)
    assert (va == va2).all() and not (va == stratified_split(labels, 0.2, seed=4)[1]).all()


# ---------------------------------------------------------------------------- learning
def _cfg(task: str, corpus: str, **train) -> RunConfig:
    cfg = RunConfig()
    cfg.update(TASK_DEFAULTS[task])
    cfg.data.task, cfg.data.corpus = task, corpus
    cfg.model.hidden, cfg.model.embed = 24, 12
    cfg.train.time_budget, cfg.train.eval_every = 0, 50
    for k, v in train.items():
        setattr(cfg.train, k, v)
    return cfg.validate()


def test_classifier_learns_word_order(tmp_path):
    """Labels that depend on order, not on the bag of words: "not good" vs "good not"-style
    sentences, which Naive Bayes cannot separate and the RNN must."""
    rng = np.random.default_rng(0)
    words = ["film", "plot", "cast", "music", "story"]
    lines = []
    for _ in range(400):
        w = list(rng.choice(words, 3))
        if rng.random() < 0.5:
            lines.append(" ".join(["not", "good"] + w) + "\tneg")
        else:
            lines.append(" ".join(["good"] + w + ["not"]) + "\tpos")
    p = tmp_path / "order.tsv"
    p.write_text("\n".join(lines) + "\n")
    task = build_task(_cfg("classify", str(p), steps=300, lr=5e-3))
    Trainer(task, task.cfg, None, []).run()
    val, m = task.evaluate()
    assert m["accuracy"] > 0.97, m
    assert m["naive_bayes_accuracy"] < 0.75  # the same words either way: no bag can tell
    assert m["majority_accuracy"] < 0.6


def test_tagger_learns_and_tags_unknown_words_by_their_shape(tmp_path):
    """Words ending in -ly are ADV, in -ed VERB, capitalised PROPN, else NOUN; the held-out
    file has only words never seen in training, which the suffix and shape features decide."""
    rng = np.random.default_rng(1)

    def sentences(n, stems):
        out = []
        for _ in range(n):
            sent = []
            for _ in range(rng.integers(3, 8)):
                s = rng.choice(stems)
                kind = rng.integers(4)
                w, t = [(s + "ly", "ADV"), (s + "ed", "VERB"), (s.title(), "PROPN"),
                        (s, "NOUN")][kind]
                sent.append(f"{w}\t{t}")
            out.append("\n".join(sent))
        return "\n\n".join(out) + "\n"

    train_stems = [f"b{c}{d}" for c in "aeiou" for d in "kmnprst"]
    test_stems = [f"z{c}{d}" for c in "aeiou" for d in "kmnprst"]
    (tmp_path / "train.tsv").write_text(sentences(300, train_stems))
    (tmp_path / "test.tsv").write_text(sentences(40, test_stems))
    cfg = _cfg("tag", str(tmp_path / "train.tsv"), steps=300, lr=5e-3)
    task = build_task(cfg)
    Trainer(task, cfg, None, []).run()
    _, m = task.evaluate_file(tmp_path / "test.tsv")
    assert m["unknown_share"] > 0.99  # every test word is new
    assert m["accuracy"] > 0.95, m
    assert m["baseline_accuracy"] < 0.5  # the baseline can only say its most frequent tag


def test_classify_and_tag_runs_evaluate_a_file(tmp_path, capsys):
    train = tmp_path / "t.tsv"
    train.write_text("".join(f"{'great' if i % 2 else 'awful'} thing {i}\t{i % 2}\n"
                             for i in range(60)))
    assert main(["train", "--task", "classify", "--corpus", str(train), "--hidden", "8",
                 "--embed", "4", "--steps", "20", "--time-budget", "0", "--runs-dir",
                 str(tmp_path), "--name", "c", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "c"), "--data", str(train)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("val_loss=") and "accuracy=" in last and "majority_accuracy=" in last


def test_recipes_list_names_first_and_each_is_a_valid_config(capsys):
    from rnn_tui.recipes import RECIPES

    assert main(["recipes"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    names = [line.split()[0] for line in out]
    assert len(names) >= 5 and names == list(RECIPES)
    for name in names:
        assert main(["recipes", name]) == 0
        text = capsys.readouterr().out
        assert "teaches:" in text and "the app shows:" in text
    worked = [r.origin.split(":")[0] for r in RECIPES.values()
              if r.origin.startswith("worked example")]
    assert sorted(worked) == [f"worked example {k} (docs/worked-examples.md)"
                              for k in range(1, 6)]  # one per worked example, each once
    doc = (Path(__file__).resolve().parents[1] / "docs" / "worked-examples.md").read_text()
    assert all(f"\n## {k}. " in doc for k in range(1, 6))


@pytest.mark.parametrize("name", ["char-window", "pos-toy", "sales-simplernn"])
def test_a_recipe_trains_headless_and_watch_finds_its_run(tmp_path, name):
    r = cli("train", "--recipe", name, "--time-budget", "20", "--runs-dir", str(tmp_path),
            "--quiet")
    assert r.returncode == 0, r.stderr
    runs = list(tmp_path.glob(f"{name}-*"))
    assert len(runs) == 1 and (runs[0] / "checkpoint.npz").exists()
    from rnn_tui.commands.shared import latest_recipe_run

    assert latest_recipe_run(str(tmp_path), name) == runs[0]
    r = cli("watch", "--recipe", "no-such-recipe", "--runs-dir", str(tmp_path))
    assert r.returncode == 2 and "unknown recipe" in r.stderr
