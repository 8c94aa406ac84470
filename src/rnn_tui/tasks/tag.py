r"""Tagging (many-to-many): one label per input word, e.g. part-of-speech tags.

The network reads a sentence and the head scores every word's tag; cross-entropy averaged over
the real words (padding is masked). Unknown words are where a tagger wins or loses, so besides
the word itself each word can bring its *shape*: its last one, two and three letters and a
pattern of its characters (``Xx``, ``d``, ``x-x``, …), as extra embedded channels that a word
never seen in training still has. Rare training words are sometimes replaced by ``<unk>``
(word dropout, probability :math:`\alpha / (\alpha + \mathrm{count})`), so the ``<unk>``
embedding learns what an unknown word looks like. The baseline beside it: each word's most
frequent training tag, the most frequent tag overall for unknown words.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from rnn_tui.config import RunConfig
from rnn_tui.core.network import NetSpec
from rnn_tui.data.batches import pad_batch
from rnn_tui.data.labelled import TaggedData, check_known, load_tagged, long_note, split_long
from rnn_tui.errors import UserError
from rnn_tui.models.baselines import MostFrequentTag
from rnn_tui.tasks.common import embedding_snapshot
from rnn_tui.tasks.sentences import SNAPSHOT_SENTENCES, SentenceTask
from rnn_tui.train import events as ev
from rnn_tui.train.task import VIEW_TAG

UNK = "<unk>"
MIN_SPLIT = 10  # sentences; fewer and nothing is held out
SUFFIXES = (1, 2, 3)
WORD_DROPOUT_ALPHA = 0.25


def word_shape(word: str) -> str:
    """A coarse pattern of a word's characters: runs of upper (X), lower (x), digits (d) and
    other characters, at most two of a run kept (``McDonald's`` -> ``XxXx'x``)."""
    out: list[str] = []
    for ch in word[:12]:
        c = "X" if ch.isupper() else "x" if ch.islower() else "d" if ch.isdigit() else ch
        if len(out) >= 2 and out[-1] == c and out[-2] == c:
            continue
        out.append(c)
    return "".join(out)


class WordFeatures:
    """Word ids (lower-cased, ``<unk>`` = 0) and, optionally, suffix and shape ids: each word
    becomes a row of 1 + C ids."""

    def __init__(self, words: list[str], channels: list[list[str]] | None = None,
                 counts: dict[str, int] | None = None):
        self.words = words
        self.index = {w: i for i, w in enumerate(words)}
        self.channels = channels or []
        self.channel_index = [{v: i for i, v in enumerate(ch)} for ch in self.channels]
        self.counts = counts or {}

    @classmethod
    def fit(cls, sentences: list[list[str]], features: str) -> WordFeatures:
        counts = Counter(w.lower() for s in sentences for w in s)
        words = [UNK] + sorted(counts)
        channels = []
        if features == "suffix":
            for k in SUFFIXES:
                c = Counter(w.lower()[-k:] for s in sentences for w in s)
                channels.append([UNK] + sorted(v for v, n in c.items() if n >= 2))
            c = Counter(word_shape(w) for s in sentences for w in s)
            channels.append([UNK] + sorted(v for v, n in c.items() if n >= 2))
        return cls(words, channels, dict(counts))

    @property
    def sizes(self) -> list[int]:
        return [len(ch) for ch in self.channels]

    def known(self, word: str) -> bool:
        return word.lower() in self.index

    def encode(self, sentence: list[str]) -> np.ndarray:
        ids = [self.index.get(w.lower(), 0) for w in sentence]
        if not self.channels:
            return np.array(ids, dtype=np.int64)
        rows = [ids]
        for k, idx in zip(SUFFIXES, self.channel_index, strict=False):
            rows.append([idx.get(w.lower()[-k:], 0) for w in sentence])
        rows.append([self.channel_index[-1].get(word_shape(w), 0) for w in sentence])
        return np.array(rows, dtype=np.int64).T.copy()

    def to_dict(self) -> dict[str, Any]:
        return {"words": self.words, "channels": self.channels}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> WordFeatures:
        return cls(list(d["words"]), [list(c) for c in d.get("channels", [])])


class TagTask(SentenceTask):
    kind = "tag"
    views = (VIEW_TAG,)
    last_only = False

    def __init__(self, cfg: RunConfig, train: TaggedData, val: TaggedData):
        """``train`` fits the model, the vocabulary and the baseline; ``val`` is only
        scored."""
        m = cfg.model
        max_len = cfg.data.max_len
        train, cut_train = split_long(train, max_len)
        val, cut_val = split_long(val, max_len)
        self.train, self.val = train, val
        self.features = WordFeatures.fit(train.sentences, cfg.data.word_features)
        self.tags = sorted({t for s in train.tags for t in s} | {t for s in val.tags for t in s})
        self.tag_index = {t: i for i, t in enumerate(self.tags)}
        train_x = [self.features.encode(s) for s in train.sentences]
        self.train_y = [np.array([self.tag_index[t] for t in ts], dtype=np.int64)
                        for ts in train.tags]
        self.val_x = [self.features.encode(s) for s in val.sentences]
        self.val_y = [np.array([self.tag_index[t] for t in ts], dtype=np.int64)
                      for ts in val.tags]
        V = len(self.features.words)
        if m.embed < 1:
            raise UserError("a tagger reads words through an embedding: use --embed 1 or more")
        spec = NetSpec(cell=m.cell, input_mode="embedding", input_size=V, embed_dim=m.embed,
                       hidden=m.hidden, layers=m.layers, output_size=len(self.tags),
                       dropout=m.dropout, bidirectional=m.bidirectional,
                       features=self.features.sizes, feature_dim=16)
        self._setup(cfg, spec, train_x)
        counts = np.array([self.features.counts.get(w, 0) for w in self.features.words])
        self.drop_p = WORD_DROPOUT_ALPHA / (WORD_DROPOUT_ALPHA + np.maximum(counts, 1))
        self.drop_p[0] = 0.0
        self.baseline = MostFrequentTag().fit(  # the training part only, as the model
            [[w.lower() for w in s] for s in train.sentences], train.tags)
        self._base_val = self._baseline_scores(val)
        self._last_eval: dict[str, Any] = {}
        self._shown = 0
        self.notes: list[str] = []
        if cut_train + cut_val:
            self.notes.append(long_note(cut_train + cut_val, max_len, f"cut into pieces of "
                                        f"{max_len:,}"))

    @classmethod
    def from_config(cls, cfg: RunConfig) -> TagTask:
        d = cfg.data
        data = load_tagged(d.corpus, d.encoding, d.column)
        if d.val_data or data.heldout is not None:
            val = load_tagged(d.val_data, d.encoding, d.column) if d.val_data else data.heldout
            check_known({t for s in data.tags for t in s}, {t for s in val.tags for t in s},
                        d.val_data or val.source, "tags")
            return cls(cfg, data, val)
        n = len(data.sentences)
        if n < MIN_SPLIT:  # a toy set: train and score on the same sentences, and say so
            task = cls(cfg, data, data)
            task.held_out = False
            task.notes.append(f"{n} sentences are too few to hold any out: validation scores "
                              "the training sentences")
            return task
        else:
            order = np.random.default_rng(cfg.train.seed).permutation(n)
            k = max(1, int(round(n * d.val_fraction)))
            pick = lambda ix: TaggedData(data.name, [data.sentences[i] for i in ix],  # noqa
                                         [data.tags[i] for i in ix], data.source)
            train, val = pick(sorted(order[k:])), pick(sorted(order[:k]))
        return cls(cfg, train, val)

    def run_info(self) -> dict[str, Any]:
        return {"vocab_size": len(self.features.words), "notes": self.notes}

    # ------------------------------------------------------------------ training
    def batch_inputs(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seqs = []
        for i in idx:
            s = self.train_x[i].copy()
            words = s[:, 0] if s.ndim == 2 else s
            drop = self.rng.random(len(words)) < self.drop_p[words]
            words[drop] = 0  # word dropout: the <unk> embedding learns unknown words
            seqs.append(s)
        return pad_batch(seqs)

    def batch_targets(self, idx: np.ndarray, T: int) -> np.ndarray:
        y, _ = pad_batch([self.train_y[i] for i in idx], pad=-1)
        if y.shape[0] < T:
            y = np.concatenate([y, np.full((T - y.shape[0], y.shape[1]), -1)], axis=0)
        return y

    # ------------------------------------------------------------------ scoring
    def _baseline_scores(self, data: TaggedData) -> dict[str, float]:
        right = unk_right = unk = total = 0
        for ws, ts in zip(data.sentences, data.tags, strict=True):
            pred = self.baseline.predict([w.lower() for w in ws])
            for w, p, t in zip(ws, pred, ts, strict=True):
                total += 1
                right += p == t
                if not self.features.known(w):
                    unk += 1
                    unk_right += p == t
        return {"accuracy": right / max(total, 1), "unknown_accuracy": unk_right / max(unk, 1)}

    def score(self, data: TaggedData, seqs: list[np.ndarray], ys: list[np.ndarray]):
        """(mean cross-entropy per word, metrics, predictions per sentence)."""
        outs = self.outputs(seqs)
        nll = right = known_right = known = unk_right = unk = 0.0
        preds = []
        for ws, logits, y in zip(data.sentences, outs, ys, strict=True):
            z = logits - logits.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            nll -= logp[np.arange(len(y)), y].sum()
            p = logp.argmax(axis=1)
            preds.append(p)
            ok = p == y
            is_known = np.array([self.features.known(w) for w in ws])
            right += ok.sum()
            known_right += ok[is_known].sum()
            known += is_known.sum()
            unk_right += ok[~is_known].sum()
            unk += (~is_known).sum()
        total = known + unk
        metrics = {"accuracy": right / max(total, 1),
                   "known_accuracy": known_right / max(known, 1),
                   "unknown_accuracy": unk_right / max(unk, 1),
                   "unknown_share": unk / max(total, 1)}
        return float(nll / max(total, 1)), {k: float(v) for k, v in metrics.items()}, preds

    def evaluate(self) -> tuple[float, dict[str, float]]:
        loss, metrics, preds = self.score(self.val, self.val_x, self.val_y)
        self._last_eval = {"preds": preds, "metrics": metrics}
        return loss, {**metrics, "baseline_accuracy": self._base_val["accuracy"],
                      "baseline_unknown_accuracy": self._base_val["unknown_accuracy"]}

    def evaluate_file(self, path, encoding: str = "utf-8") -> tuple[float, dict[str, float]]:
        data, _ = split_long(load_tagged(str(path), encoding, self.cfg.data.column),
                             self.cfg.data.max_len)
        check_known(self.tags, {t for s in data.tags for t in s}, path, "tags")
        seqs = [self.features.encode(s) for s in data.sentences]
        ys = [np.array([self.tag_index[t] for t in ts], dtype=np.int64) for ts in data.tags]
        loss, metrics, _ = self.score(data, seqs, ys)
        base = self._baseline_scores(data)
        return loss, {**metrics, "baseline_accuracy": base["accuracy"],
                      "baseline_unknown_accuracy": base["unknown_accuracy"]}

    def _example_index(self) -> int:
        """A held-out sentence to show, preferring one of 6-25 words with an unknown word."""
        n = len(self.val.sentences)
        for k in range(n):
            i = (self._shown + k) % n
            ws = self.val.sentences[i]
            if 6 <= len(ws) <= 25 and any(not self.features.known(w) for w in ws):
                return i
        return self._shown % max(n, 1)

    def eval_events(self) -> list[ev.Event]:
        e = self._last_eval
        if not e:
            return []
        i = self._example_index()
        self._shown = i + 1
        ws = self.val.sentences[i]
        m = e["metrics"]
        return [ev.TagUpdate(
            words=ws, gold=self.val.tags[i], pred=[self.tags[int(k)] for k in e["preds"][i]],
            unknown=[not self.features.known(w) for w in ws], accuracy=m["accuracy"],
            known_accuracy=m["known_accuracy"], unknown_accuracy=m["unknown_accuracy"],
            baseline_accuracy=self._base_val["accuracy"],
            baseline_unknown_accuracy=self._base_val["unknown_accuracy"])]

    def embedding_snapshot(self) -> ev.EmbeddingSnapshot | None:
        words = [s[:, 0] if s.ndim == 2 else s for s in self.train_x]
        return embedding_snapshot(self.net, np.concatenate(words),
                                  lambda i: self.features.words[i])

    def snapshot_batch(self, max_steps: int = 48):
        i = max(self._shown - 1, 0) % max(len(self.val_x), 1)
        seqs = [s[:max_steps] for s in (self.val_x[i:] + self.val_x[:i])[:SNAPSHOT_SENTENCES]]
        x, lengths = pad_batch(seqs)
        return x, list(self.val.sentences[i][:max_steps]), lengths

    def output_names(self) -> list[str]:
        return list(self.tags)

    def checkpoint_meta(self) -> dict[str, Any]:
        return {"features": self.features.to_dict(), "tags": self.tags}
