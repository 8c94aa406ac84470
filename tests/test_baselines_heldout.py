"""Every baseline is fitted on the training part alone: changing the held-out part (its words,
tags, labels or values), with the training part as it was, leaves each fitted baseline exactly
as it was. One case per baseline and per way of holding out (a split of the training file, or
a separate ``--val-data`` file)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED
from rnn_tui.config import RunConfig
from rnn_tui.models.baselines import MostFrequentTag
from rnn_tui.session import build_task

WORDS = ("the cat dog sat ran on a mat log red big small fast old new bird fish tree house "
         "car").split()
TAGS = {"the": "DET", "a": "DET", "cat": "NOUN", "dog": "NOUN", "mat": "NOUN", "log": "NOUN",
        "bird": "NOUN", "fish": "NOUN", "tree": "NOUN", "house": "NOUN", "car": "NOUN",
        "sat": "VERB", "ran": "VERB", "on": "ADP", "red": "ADJ", "big": "ADJ", "small": "ADJ",
        "fast": "ADJ", "old": "ADJ", "new": "ADJ"}


def task_of(data: dict, train: dict | None = None):
    cfg = RunConfig()
    cfg.update({"data": data, "model": {"hidden": 4, "embed": 4},
                "train": {"batch": 2, "seq": 4, "steps": 1, "time_budget": 0,
                          **(train or {})}})
    return build_task(cfg.validate())


# ---------------------------------------------------------------------- tagging
def tagged(sentences) -> str:
    return "\n\n".join("\n".join(f"{w}\t{t}" for w, t in s) for s in sentences) + "\n"


def sentences(seed: int, n: int):
    rng = np.random.default_rng(seed)
    return [[(w, TAGS[w]) for w in rng.choice(WORDS, rng.integers(3, 8))] for _ in range(n)]


def other_heldout(s):
    """The same number of words, none seen in training, with tags that contradict them."""
    return [(f"zz{i}{w}", "X") for i, (w, _) in enumerate(s)]


def baseline_of(task) -> tuple:
    return task.baseline.default, dict(task.baseline.table)


def test_most_frequent_tag_on_a_split_sees_only_the_training_part(tmp_path):
    sents = sentences(1, 60)
    path = tmp_path / "t.tsv"
    path.write_text(tagged(sents))
    a = task_of({"task": "tag", "corpus": str(path)})
    held = {tuple(s) for s in a.val.sentences}
    assert len(held) == len(a.val.sentences) > 0
    assert len(a.train.sentences) + len(a.val.sentences) == len(sents)
    assert not held & {tuple(s) for s in a.train.sentences}
    changed = [other_heldout(s) if tuple(w for w, _ in s) in held else s for s in sents]
    path.write_text(tagged(changed))
    b = task_of({"task": "tag", "corpus": str(path)})
    assert b.train.sentences == a.train.sentences and b.val.sentences != a.val.sentences
    assert baseline_of(b) == baseline_of(a)
    assert not any(w.startswith("zz") for w in b.baseline.table)


def test_most_frequent_tag_with_val_data_sees_only_the_training_file(tmp_path):
    (tmp_path / "train.tsv").write_text(tagged(sentences(2, 30)))
    one, two = tmp_path / "v1.tsv", tmp_path / "v2.tsv"
    one.write_text(tagged(sentences(3, 10)))
    two.write_text(tagged([[(w, "NOUN" if t != "NOUN" else "ADJ") for w, t in s]
                           for s in sentences(4, 10)]))
    a, b = (task_of({"task": "tag", "corpus": str(tmp_path / "train.tsv"),
                     "val_data": str(v)}) for v in (one, two))
    assert baseline_of(a) == baseline_of(b)


EWT = SHARED / "corpora" / "ud-english-ewt"


@pytest.mark.skipif(not (EWT / "en_ewt-ud-dev.conllu").is_file(), reason="EWT not here")
def test_the_tagger_baseline_on_ewt_dev_scores_its_own_held_out_part_unseen():
    """EWT dev with the default split: the baseline the task reports is the one fitted on the
    training part, scored on the held-out part; fitted on everything it would score higher,
    having seen the answers."""
    task = task_of({"task": "tag", "corpus": str(EWT / "en_ewt-ud-dev.conllu")})
    lower = lambda ss: [[w.lower() for w in s] for s in ss]  # noqa: E731

    def score(base) -> float:
        pairs = [(p, t) for ws, ts in zip(task.val.sentences, task.val.tags, strict=True)
                 for p, t in zip(base.predict([w.lower() for w in ws]), ts, strict=True)]
        return sum(p == t for p, t in pairs) / len(pairs)

    honest = score(MostFrequentTag().fit(lower(task.train.sentences), task.train.tags))
    seen = score(MostFrequentTag().fit(lower(task.train.sentences + task.val.sentences),
                                       task.train.tags + task.val.tags))
    reported = task._base_val["accuracy"]
    assert reported == pytest.approx(honest)
    assert honest < seen - 0.03, (honest, seen)


# ---------------------------------------------------------------------- classification
def labelled(rows) -> str:
    return "".join(f"{text}\t{label}\n" for text, label in rows)


def rows(seed: int, n: int, labels=("pos", "neg")):
    rng = np.random.default_rng(seed)
    return [(" ".join(rng.choice(WORDS, rng.integers(3, 9))), labels[i % len(labels)])
            for i in range(n)]


def classify_baselines(task) -> tuple:
    nb = task.nb
    return (task.majority, nb.classes, nb.index, nb.log_prior.tolist(), nb.log_like.tolist())


def test_majority_and_naive_bayes_on_a_split_see_only_the_training_part(tmp_path):
    data = rows(5, 80) + [("extra", "pos")] * 7  # pos is the majority
    path = tmp_path / "c.tsv"
    path.write_text(labelled(data))
    a = task_of({"task": "classify", "corpus": str(path)})
    held = set(a.val.texts)
    changed = [(f"zz unseen words {i}" if text in held else text, label)
               for i, (text, label) in enumerate(data)]
    path.write_text(labelled(changed))
    b = task_of({"task": "classify", "corpus": str(path)})
    assert b.train.texts == a.train.texts and b.val.texts != a.val.texts
    assert classify_baselines(b) == classify_baselines(a)


def test_majority_and_naive_bayes_with_val_data_see_only_the_training_file(tmp_path):
    (tmp_path / "train.tsv").write_text(labelled(rows(6, 40) + [("x y", "pos")] * 3))
    one, two = tmp_path / "v1.tsv", tmp_path / "v2.tsv"
    one.write_text(labelled(rows(7, 30, ("neg", "neg", "neg", "pos"))))  # mostly neg
    two.write_text(labelled([(t + " zz", label) for t, label in rows(8, 12)]))
    a, b = (task_of({"task": "classify", "corpus": str(tmp_path / "train.tsv"),
                     "val_data": str(v)}) for v in (one, two))
    assert classify_baselines(a) == classify_baselines(b)
    assert a.majority == "pos"


# ---------------------------------------------------------------------- series
def write_series(path: Path, values) -> None:
    path.write_text("t,value\n" + "".join(f"{i},{v:.6f}\n" for i, v in enumerate(values)))


@pytest.mark.parametrize("scaling", ["auto", "raw"])  # the forecaster; the tutorials' window model
def test_seasonal_naive_holt_winters_last_value_and_mean_see_only_the_training_part(tmp_path,
                                                                                    scaling):
    t = np.arange(120)
    values = 100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + \
        np.random.default_rng(9).normal(0, 1, len(t))
    wild = values.copy()
    wild[-24:] = np.linspace(-500, 900, 24)  # the held-out part, nothing like the rest
    got = []
    for i, v in enumerate((values, wild)):
        path = tmp_path / f"s{i}.csv"
        write_series(path, v)
        task = task_of({"task": "series", "corpus": str(path), "holdout": 24,
                        "scaling": scaling, "lookback": 12})
        got.append((task.period, task.baselines()))
    (p1, b1), (p2, b2) = got
    assert p1 == p2 == 12
    assert set(b1) == set(b2) >= {"seasonal_naive", "holt_winters_add", "holt_winters_mul",
                                  "last_value", "mean"}
    for name in b1:
        np.testing.assert_array_equal(b1[name], b2[name], err_msg=name)


# ---------------------------------------------------------------------- words: the unigram
def word_text(seed: int, n: int, words=WORDS) -> str:
    rng = np.random.default_rng(seed)
    return " ".join(rng.choice(words, n)) + "\n"


@pytest.mark.parametrize("windows", [0, 5])  # the stream model; the tutorials' window model
def test_the_unigram_and_the_vocabulary_see_only_the_training_part(tmp_path, windows):
    """The same training words, then held-out words the training part never had: the
    vocabulary (and so the unigram's support) and the unigram's probabilities are the same."""
    train = word_text(10, 900)
    unseen = [f"novel{i}" for i in range(40)]
    got = []
    # 900 words and a newline, then 99 words and a newline: the last tenth is the second line
    for i, tail in enumerate((word_text(11, 99), word_text(12, 99, unseen))):
        path = tmp_path / f"w{i}.txt"
        path.write_text(train + tail)
        task = task_of({"task": "word", "corpus": str(path), "val_fraction": 0.1,
                        "windows": windows})
        vocab = list(task.tokenizer.vocab)
        logp = task.unigram_logp().tolist() if hasattr(task, "unigram_logp") else None
        got.append((vocab, logp, task))
    (v1, l1, t1), (v2, l2, t2) = got
    assert v1 == v2 and not any(w.startswith("novel") for w in v2)
    if windows == 0:
        assert l1 == l2
        assert math.isfinite(t2.unigram_loss()) and t2.unigram_loss() != t1.unigram_loss()
