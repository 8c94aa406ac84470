r"""The honest baselines beside the labelled tasks: what a model must beat to earn its keep.

- Majority class: always the most frequent training label.
- Multinomial Naive Bayes over bags of words, add-one smoothed:
  :math:`\hat y = \arg\max_c \log P(c) + \sum_w n_w \log \frac{N_{cw} + 1}{N_c + |V|}`.
- Most frequent tag per word (tagging); a word never seen in training gets the most frequent
  tag overall.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np


def majority(labels: list[str]) -> str:
    counts = Counter(labels)
    return max(sorted(counts), key=counts.__getitem__)


class NaiveBayes:
    """Multinomial Naive Bayes on word counts, add-one (Laplace) smoothing."""

    def fit(self, docs: list[list[str]], labels: list[str]) -> NaiveBayes:
        self.classes = sorted(set(labels))
        vocab = sorted({w for d in docs for w in d})
        self.index = {w: i for i, w in enumerate(vocab)}
        counts = np.ones((len(self.classes), len(vocab)))  # add-one
        prior = np.zeros(len(self.classes))
        cls = {c: k for k, c in enumerate(self.classes)}
        for d, y in zip(docs, labels, strict=True):
            k = cls[y]
            prior[k] += 1
            for w in d:
                counts[k, self.index[w]] += 1
        self.log_prior = np.log(prior / prior.sum())
        self.log_like = np.log(counts / counts.sum(axis=1, keepdims=True))
        return self

    def predict(self, docs: list[list[str]]) -> list[str]:
        out = []
        for d in docs:
            score = self.log_prior.copy()
            for w in d:
                j = self.index.get(w)
                if j is not None:
                    score += self.log_like[:, j]
            out.append(self.classes[int(np.argmax(score))])
        return out


class MostFrequentTag:
    """Each word's most frequent training tag; unseen words get the most frequent tag."""

    def fit(self, sentences: list[list[str]], tags: list[list[str]]) -> MostFrequentTag:
        per_word: dict[str, Counter] = defaultdict(Counter)
        overall: Counter = Counter()
        for ws, ts in zip(sentences, tags, strict=True):
            for w, t in zip(ws, ts, strict=True):
                per_word[w][t] += 1
                overall[t] += 1
        self.default = max(sorted(overall), key=overall.__getitem__)
        self.table = {w: max(sorted(c), key=c.__getitem__) for w, c in per_word.items()}
        return self

    def predict(self, words: list[str]) -> list[str]:
        return [self.table.get(w, self.default) for w in words]
