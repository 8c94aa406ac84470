r"""Sentence classification (many-to-one): a whole sentence in, one label out.

The network reads the sentence's tokens (words or characters) and the head reads its summary
after the last token (both directions' for a bidirectional network); softmax cross-entropy over
the labels. Beside the held-out accuracy always sit two honest baselines, the majority class and
a bag-of-words Naive Bayes, so a learner sees whether the order the RNN reads in earns its keep.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnn_tui.config import RunConfig
from rnn_tui.core.network import NetSpec
from rnn_tui.data.batches import pad_batch
from rnn_tui.data.labelled import (
    LabelledData,
    check_known,
    load_labelled,
    long_note,
    stratified_split,
)
from rnn_tui.data.text import CharTokenizer, WordTokenizer, split_words
from rnn_tui.errors import UserError
from rnn_tui.models.baselines import NaiveBayes, majority
from rnn_tui.tasks.common import embedding_snapshot
from rnn_tui.tasks.sentences import SNAPSHOT_SENTENCES, SentenceTask, accuracy
from rnn_tui.train import events as ev
from rnn_tui.train.task import VIEW_CLASSIFY

TRAIN_ACCURACY_SAMPLE = 1000  # training sentences scored at each evaluation
EXAMPLES = 6  # held-out sentences shown per evaluation


class ClassifyTask(SentenceTask):
    kind = "classify"
    views = (VIEW_CLASSIFY,)
    last_only = True

    def __init__(self, cfg: RunConfig, train: LabelledData, val: LabelledData):
        d, m = cfg.data, cfg.model
        self.max_len = d.max_len
        if d.tokens == "char":
            self.tokenizer = _char_tokenizer(train.texts)
        else:
            self.tokenizer = WordTokenizer(lowercase=d.lowercase, min_count=d.min_count,
                                           max_vocab=d.max_vocab or None)
            self.tokenizer.fit("\n".join(train.texts))
        self.labels = sorted(set(train.labels) | set(val.labels))
        self.label_index = {c: i for i, c in enumerate(self.labels)}
        self.train, self.val = train, val
        train_x = [self.encode(t) for t in train.texts]
        self.train_y = np.array([self.label_index[c] for c in train.labels], dtype=np.int64)
        self.val_x = [self.encode(t) for t in val.texts]
        self.val_y = np.array([self.label_index[c] for c in val.labels], dtype=np.int64)
        self.notes: list[str] = []
        cut = sum(self._tokens(t) > self.max_len for t in (*train.texts, *val.texts)) \
            if self.max_len else 0
        if cut:
            self.notes.append(long_note(cut, self.max_len, f"cut to their first "
                                        f"{self.max_len:,}"))
        V = self.tokenizer.vocab_size
        spec = NetSpec(cell=m.cell, input_mode="embedding" if m.embed > 0 else "onehot",
                       input_size=V, embed_dim=max(m.embed, 1), hidden=m.hidden,
                       layers=m.layers, output_size=len(self.labels), dropout=m.dropout,
                       bidirectional=m.bidirectional)
        self._setup(cfg, spec, train_x)
        # the baselines, fitted on the training part only
        self.majority = majority(train.labels)
        self.nb = NaiveBayes().fit([self.bag(t) for t in train.texts], train.labels)
        self._nb_val = accuracy(self.nb.predict([self.bag(t) for t in val.texts]), val.labels)
        self._sample = np.random.default_rng(cfg.train.seed + 3).permutation(
            len(train_x))[:TRAIN_ACCURACY_SAMPLE]
        self._last_eval: dict[str, Any] = {}
        self._shown = 0

    @classmethod
    def from_config(cls, cfg: RunConfig) -> ClassifyTask:
        d = cfg.data
        data = load_labelled(d.corpus, d.encoding)
        if d.val_data:
            val = load_labelled(d.val_data, d.encoding)
            check_known(data.labels, val.labels, d.val_data, "labels")
            return cls(cfg, data, val)
        tr, va = stratified_split(data.labels, d.val_fraction, cfg.train.seed)
        if len(va) == 0 or len(tr) == 0:
            raise UserError(f"{d.corpus} has too few sentences to hold some out; give more, "
                            "or a separate held-out file with --val-data")
        pick = lambda ix: LabelledData(data.name, [data.texts[i] for i in ix],  # noqa: E731
                                       [data.labels[i] for i in ix], data.source)
        return cls(cfg, pick(tr), pick(va))

    # ------------------------------------------------------------------ data
    def tokens_of(self, text: str) -> list[str]:
        if isinstance(self.tokenizer, CharTokenizer):
            return list(text)
        return split_words(text, self.tokenizer.lowercase)

    def _tokens(self, text: str) -> int:
        return len(text) if isinstance(self.tokenizer, CharTokenizer) else \
            len(split_words(text, self.tokenizer.lowercase))

    def encode(self, text: str) -> np.ndarray:
        ids = self.tokenizer.encode(text, unknown="skip" if isinstance(
            self.tokenizer, CharTokenizer) else "unk")
        if self.max_len:
            ids = ids[: self.max_len]
        return ids if len(ids) else np.zeros(1, dtype=np.int64)  # nothing known: one <unk>

    def bag(self, text: str) -> list[str]:
        return split_words(text, True)

    def batch_targets(self, idx: np.ndarray, T: int) -> np.ndarray:
        return self.train_y[idx]

    def run_info(self) -> dict[str, Any]:
        return {"vocab_size": self.tokenizer.vocab_size,
                "notes": self.train.notes + self.val.notes + self.notes}

    # ------------------------------------------------------------------ scoring
    def score(self, seqs: list[np.ndarray], y: np.ndarray) -> tuple[float, np.ndarray,
                                                                     np.ndarray]:
        """(mean cross-entropy, predicted label ids, probability of each prediction)."""
        logits = np.stack(self.outputs(seqs))
        z = logits - logits.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = float(-logp[np.arange(len(y)), y].mean())
        pred = logp.argmax(axis=1)
        return loss, pred, np.exp(logp[np.arange(len(y)), pred])

    def evaluate(self) -> tuple[float, dict[str, float]]:
        loss, pred, prob = self.score(self.val_x, self.val_y)
        acc = float(np.mean(pred == self.val_y))
        s = self._sample
        _, tpred, _ = self.score([self.train_x[i] for i in s], self.train_y[s])
        train_acc = float(np.mean(tpred == self.train_y[s]))
        self._last_eval = {"pred": pred, "prob": prob, "train_accuracy": train_acc}
        return loss, {"accuracy": acc, "train_accuracy": train_acc,
                      "majority_accuracy": self.majority_accuracy(self.val.labels),
                      "naive_bayes_accuracy": self._nb_val}

    def majority_accuracy(self, labels: list[str]) -> float:
        return float(np.mean([c == self.majority for c in labels]))

    def evaluate_file(self, path, encoding: str = "utf-8") -> tuple[float, dict[str, float]]:
        data = load_labelled(str(path), encoding)
        check_known(self.labels, data.labels, path, "labels")
        y = np.array([self.label_index[c] for c in data.labels], dtype=np.int64)
        loss, pred, _ = self.score([self.encode(t) for t in data.texts], y)
        nb = accuracy(self.nb.predict([self.bag(t) for t in data.texts]), data.labels)
        return loss, {"accuracy": float(np.mean(pred == y)),
                      "majority_accuracy": self.majority_accuracy(data.labels),
                      "naive_bayes_accuracy": nb}

    def eval_events(self) -> list[ev.Event]:
        e = self._last_eval
        if not e:
            return []
        K = len(self.labels)
        conf = np.zeros((K, K), dtype=np.int64)
        np.add.at(conf, (self.val_y, e["pred"]), 1)
        col, row = conf.sum(axis=0), conf.sum(axis=1)
        diag = np.diag(conf)
        precision = [float(diag[k] / col[k]) if col[k] else 0.0 for k in range(K)]
        recall = [float(diag[k] / row[k]) if row[k] else 0.0 for k in range(K)]
        n = len(self.val_x)
        examples = []
        for j in range(min(EXAMPLES, n)):
            i = (self._shown + j) % n
            examples.append({"text": self.val.texts[i][:200], "gold": self.val.labels[i],
                             "pred": self.labels[int(e["pred"][i])],
                             "prob": round(float(e["prob"][i]), 4)})
        self._shown = (self._shown + EXAMPLES) % max(n, 1)
        return [ev.ClassifyUpdate(
            labels=self.labels, confusion=conf.tolist(), precision=precision, recall=recall,
            accuracy=float(np.mean(e["pred"] == self.val_y)),
            train_accuracy=e["train_accuracy"],
            baselines={"majority": self.majority_accuracy(self.val.labels),
                       "naive_bayes": self._nb_val},
            examples=examples)]

    def embedding_snapshot(self) -> ev.EmbeddingSnapshot | None:
        ids = np.concatenate(self.train_x) if self.train_x else np.zeros(0, np.int64)
        return embedding_snapshot(self.net, ids, self.tokenizer.decode_one)

    def snapshot_batch(self, max_steps: int = 48):
        """One held-out sentence word by word (and a few more for the statistics): how the
        state moves toward the decision (many-to-one made visible)."""
        i = self._shown % max(len(self.val_x), 1)
        seqs = [s[:max_steps] for s in (self.val_x[i:] + self.val_x[:i])[:SNAPSHOT_SENTENCES]]
        words = [self.tokenizer.decode_one(int(t)) for t in seqs[0]]
        x, lengths = pad_batch(seqs)
        return x, words, lengths

    def output_names(self) -> list[str]:
        return list(self.labels)

    def checkpoint_meta(self) -> dict[str, Any]:
        return {"tokenizer": self.tokenizer.to_dict(), "labels": self.labels}


def _char_tokenizer(texts: list[str]) -> CharTokenizer:
    return CharTokenizer.fit("".join(texts))

