r"""A trained model as something to ask: read your own input, predict, and say which output an
explanation is about.

Every kind of run becomes one :class:`Explainable`: it turns an input (a sentence, a text, a
series) into the tokens shown and the first-layer input vectors the network reads, predicts,
and names a *target*: one scalar of the network's output, the function
:math:`f(x)` that attribution explains.

- classify: :math:`f = \log p(\text{label} \mid x)` at the many-to-one summary;
- tag: :math:`f = \log p(\text{tag}_i \mid x)` of word i;
- char / word language model: :math:`f = \log p(x_{i+1} = k \mid x_{\le i})`, the next token
  after position i (by default after the whole text);
- series: the networks' mean output at forecast step j, in the scaled units they learn in
  (the correction to exponential smoothing, or the plain window model's next value).

Built from a checkpoint's arrays and metadata (no training data needed), or, for a series,
from the restored task (its forecaster).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnn_tui.core.network import Network
from rnn_tui.data.text import CharTokenizer, split_words, tokenizer_from_dict
from rnn_tui.errors import UserError
from rnn_tui.tasks.common import check_meta, network_from_meta

TOP_K = 10  # candidates a language model's prediction lists
MAX_TOKENS = 2000  # tokens of one input read at most (a longer one is cut, and says so)
Objective = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def log_softmax(o: np.ndarray) -> np.ndarray:
    o = np.asarray(o, dtype=np.float64)
    z = o - o.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def log_prob_objective(k: int) -> Objective:
    r""":math:`\phi(o) = \log \mathrm{softmax}(o)_k`, :math:`\partial\phi/\partial o = e_k -
    \mathrm{softmax}(o)`, row by row."""

    def objective(o):
        logp = log_softmax(o)
        grad = -np.exp(logp)
        grad[:, k] += 1.0
        return logp[:, k], grad

    return objective


def value_objective(j: int) -> Objective:
    r""":math:`\phi(o) = o_j`, :math:`\partial\phi/\partial o = e_j`."""

    def objective(o):
        o = np.asarray(o, dtype=np.float64)
        grad = np.zeros_like(o)
        grad[:, j] = 1.0
        return o[:, j], grad

    return objective


@dataclass
class Target:
    """One scalar output to explain: read at ``position`` (None: the many-to-one summary)
    through ``objective``; ``name`` says what it is ("label positive", "tag NOUN of word 3")."""

    name: str
    position: int | None
    objective: Objective
    last: int  # the last input position that can reach it (a language model reads forward)


class Explainable(ABC):
    """What predict, explain and the app's "try it" field need of a trained model."""

    kind: str = ""
    nets: list[Network]
    sep: str = " "  # how the tokens join into text: "" for characters

    @property
    def net(self) -> Network:
        return self.nets[0]

    @abstractmethod
    def read(self, text: str) -> tuple[list[str], np.ndarray]:
        """(tokens shown, network input (T, 1) ids, (T, 1, C) ids, or (T, 1, I) values)."""

    @abstractmethod
    def predict(self, text: str) -> dict[str, Any]:
        """The prediction for one input, as a JSON object."""

    @abstractmethod
    def target(self, text: str, which: str | None = None) -> Target:
        """The output to explain: the prediction by default, or ``which``."""

    def vectors(self, inputs: np.ndarray) -> np.ndarray:
        """(T, 1, W) first-layer input vectors of ``inputs``."""
        return self.net.input_vectors(inputs).astype(np.float64)

    def gradient(self, x: np.ndarray, target: Target) -> tuple[np.ndarray, np.ndarray]:
        """(f (B,), df/dx (T, B, W)) for a batch of input vectors, averaged over the
        networks of an ensemble."""
        fs, gs = 0.0, 0.0
        for net in self.nets:
            f, _, g = net.output_input_gradient(x.astype(net.dtype), target.objective,
                                                target.position)
            fs, gs = fs + f, gs + g.astype(np.float64)
        return fs / len(self.nets), gs / len(self.nets)

    def _check_text(self, text: str) -> str:
        if not isinstance(text, str) or not text.strip():
            raise UserError("the input is empty; give some text (--text \"...\")")
        if "\x00" in text:
            raise UserError("the input holds a NUL byte; give text, not binary data")
        return text


def _prefer_index(which: str, names: list[str], what: str) -> int:
    if which in names:
        return names.index(which)
    shown = ", ".join(names[:12]) + (" …" if len(names) > 12 else "")
    raise UserError(f"--target {which!r} is not a {what} of this model; choose one of {shown}")


def _position(which: str, n: int, what: str) -> int | None:
    """An integer ``which`` as a position in [0, n) (negative counts from the end), else None."""
    try:
        i = int(which)
    except ValueError:
        return None
    if not -n <= i < n:
        raise UserError(f"--target {i} is outside the input's {n} {what} (0 to {n - 1})")
    return i % n


# ---------------------------------------------------------------------- classify
class Classifier(Explainable):
    kind = "classify"

    def __init__(self, net: Network, tokenizer, labels: list[str], max_len: int = 0):
        self.nets, self.tokenizer, self.labels, self.max_len = [net], tokenizer, labels, max_len
        self.sep = "" if isinstance(tokenizer, CharTokenizer) else " "

    def read(self, text):
        text = self._check_text(text)
        tok = self.tokenizer
        if isinstance(tok, CharTokenizer):
            shown = [c for c in text if c in tok.index]
            ids = [tok.index[c] for c in shown]
        else:
            shown = split_words(text, tok.lowercase)
            ids = [tok.index.get(w, 0) for w in shown]
        limit = self.max_len or MAX_TOKENS
        shown, ids = shown[:limit], ids[:limit]
        if not ids:  # nothing the model knows: one <unk>, as the task reads it
            shown, ids = [tok.decode_one(0)], [0]
        return shown, np.array(ids, dtype=np.int64).reshape(-1, 1)

    def probabilities(self, text) -> np.ndarray:
        _, x = self.read(text)
        fwd = self.net.forward(x, self.net.initial_state(1))
        return np.exp(log_softmax(self.net.head(self.net.summary(fwd))[0]))

    def predict(self, text):
        p = self.probabilities(text)
        return {"text": text, "label": self.labels[int(np.argmax(p))],
                "probs": {c: round(float(v), 6) for c, v in zip(self.labels, p, strict=True)}}

    def target(self, text, which=None):
        k = int(np.argmax(self.probabilities(text))) if which is None else \
            _prefer_index(which, self.labels, "label")
        n = len(self.read(text)[0])
        return Target(f"label {self.labels[k]}", None, log_prob_objective(k), n - 1)


# ---------------------------------------------------------------------- tag
class Tagger(Explainable):
    kind = "tag"

    def __init__(self, net: Network, features, tags: list[str]):
        self.nets, self.features, self.tags = [net], features, tags

    def read(self, text):
        """``text``: a sentence, or its words as a list (read as they are)."""
        if isinstance(text, list):
            words = [str(w) for w in text][:MAX_TOKENS]
        else:
            words = [w for w in split_words(self._check_text(text), False) if w != "\n"]
            words = words[:MAX_TOKENS]
        if not words:
            raise UserError("the input holds no words to tag")
        ids = self.features.encode(words)
        return words, ids.reshape(len(words), 1, *ids.shape[1:])

    def log_probs(self, text) -> tuple[list[str], np.ndarray]:
        words, x = self.read(text)
        fwd = self.net.forward(x, self.net.initial_state(1))
        return words, log_softmax(self.net.head(fwd.y[:, 0]))

    def predict(self, text):
        words, logp = self.log_probs(text)
        best = logp.argmax(axis=1)
        return {"text": text, "tokens": words, "tags": [self.tags[int(k)] for k in best],
                "probs": [round(float(np.exp(logp[i, k])), 6) for i, k in enumerate(best)]}

    def target(self, text, which=None):
        """``which``: a word's position (0-based; the last word by default), or a tag name for
        the last word; the tag is the predicted one unless named."""
        words, logp = self.log_probs(text)
        n = len(words)
        i = n - 1 if which is None else _position(which, n, "words")
        if i is None:
            i, k = n - 1, _prefer_index(which, self.tags, "tag")
        else:
            k = int(logp[i].argmax())
        return Target(f"tag {self.tags[k]} of word {i} ({words[i]!r})", i,
                      log_prob_objective(k), n - 1)


# ---------------------------------------------------------------------- language models
class LanguageModelView(Explainable):
    def __init__(self, net: Network, tokenizer, kind: str):
        self.nets, self.tokenizer, self.kind = [net], tokenizer, kind
        self.sep = "" if isinstance(tokenizer, CharTokenizer) else " "

    def read(self, text):
        text = self._check_text(text)
        tok = self.tokenizer
        if isinstance(tok, CharTokenizer):
            shown = [c for c in text if c in tok.index]
            ids = [tok.index[c] for c in shown]
        else:
            shown = split_words(text, tok.lowercase)
            ids = [tok.index.get(w, 0) for w in shown]
        if not ids:
            raise UserError("no character of the input is in the model's vocabulary")
        shown, ids = shown[-MAX_TOKENS:], ids[-MAX_TOKENS:]
        return shown, np.array(ids, dtype=np.int64).reshape(-1, 1)

    def next_log_probs(self, text, position: int | None = None) -> np.ndarray:
        _, x = self.read(text)
        fwd = self.net.forward(x, self.net.initial_state(1))
        return log_softmax(self.net.head(fwd.y[-1 if position is None else position, 0]))

    def predict(self, text, top: int = TOP_K):
        p = np.exp(self.next_log_probs(text))
        order = np.argsort(-p, kind="stable")[:top]
        names = [self.tokenizer.decode_one(int(i)) for i in order]
        return {"text": text, "next": names[0],
                "probs": {n: round(float(p[i]), 6) for n, i in zip(names, order, strict=True)}}

    def target(self, text, which=None):
        """``which``: a position i (the prediction made after reading token i), or a token
        to score after the whole text; the likeliest next token by default."""
        tokens, _ = self.read(text)
        n = len(tokens)
        i = n - 1 if which is None else _position(which, n, "tokens")
        if i is None:
            i, k = n - 1, _prefer_index(which, self.tokenizer.vocab, "token")
        else:
            k = int(self.next_log_probs(text, i).argmax())
        name = self.tokenizer.decode_one(k)
        return Target(f"next token {name!r} after position {i}", i, log_prob_objective(k), i)


# ---------------------------------------------------------------------- series
def parse_values(text: str) -> np.ndarray:
    """Numbers separated by commas, semicolons or white space."""
    parts = [p for p in text.replace(",", " ").replace(";", " ").split() if p]
    try:
        values = np.array([float(p) for p in parts], dtype=np.float64)
    except ValueError:
        raise UserError("a series input is numbers separated by commas or spaces "
                        "(or --file FILE.csv)") from None
    if not values.size or not np.all(np.isfinite(values)):
        raise UserError("a series input needs finite numbers (or --file FILE.csv)")
    return values


class SeriesModel(Explainable):
    """A series run's forecaster: the smoothing-plus-networks model, or the plain window
    model."""

    kind = "series"

    def __init__(self, forecaster, horizon: int):
        from rnn_tui.models.forecaster import ESRNNForecaster

        self.forecaster = forecaster
        self.es_rnn = isinstance(forecaster, ESRNNForecaster)
        if not self.es_rnn and not hasattr(forecaster, "scaling"):
            raise UserError("this series run uses the first model format; predict and "
                            "explain need a run trained by this version")
        self.nets = list(forecaster.nets) if self.es_rnn else [forecaster.net]
        self.horizon = max(int(horizon), 1)

    def values(self, data) -> np.ndarray:
        values = data if isinstance(data, np.ndarray) else parse_values(data)
        need = self.forecaster.lookback + (2 * self.forecaster.es.period
                                           if self.es_rnn and self.forecaster.es.seasonal else 1)
        if len(values) < need:
            raise UserError(f"the series has {len(values)} values; this model needs at least "
                            f"{need} (a window of {self.forecaster.lookback} and the smoothing's "
                            "start)")
        if self.es_rnn and self.forecaster.log and np.any(values <= 0):
            raise UserError("this model forecasts the logarithm: every value must be > 0")
        return values

    def read(self, data):
        from rnn_tui.models.forecaster import to_u

        values = self.values(data)
        L = self.forecaster.lookback
        shown = [f"{v:.4g}" for v in values[-L:]]
        if self.es_rnn:
            fc = self.forecaster
            u = to_u(values, fc.log)
            X, _, _, _ = fc.features(u, fc.es.filter(u), [len(values) - 1])
            return shown, np.ascontiguousarray(X.transpose(1, 0, 2))
        z = self.forecaster.scaling.to_z(values[-L:])
        return shown, z.reshape(L, 1, 1)

    def vectors(self, inputs):
        return np.asarray(inputs, dtype=np.float64)

    def predict(self, data, horizon: int | None = None):
        values = self.values(data)
        h = horizon or self.horizon
        fc = self.forecaster.forecast(values, h)
        return {"history": len(values), "last": float(values[-1]), "horizon": h,
                "forecast": [round(float(v), 6) for v in fc]}

    def target(self, data, which=None):
        """``which``: the forecast step j (0-based) whose network output is explained."""
        _, x = self.read(data)
        outputs = self.net.spec.output_size
        j = 0 if which is None else _position(which, outputs, "forecast steps")
        if j is None:
            raise UserError(f"--target for a series is a forecast step from 0 to {outputs - 1}")
        what = "correction" if self.es_rnn else "next scaled value"
        return Target(f"network {what} at step {j}", None, value_objective(j), x.shape[0] - 1)


# ---------------------------------------------------------------------- seq2seq
class Translator(Explainable):
    """A sequence-to-sequence run: the decoded output of a source (greedy). Attribution is
    not read here: the app shows the decoder's attention over the source."""

    kind = "seq2seq"

    def __init__(self, task):
        self.task = task
        self.nets = []

    def read(self, text):
        raise UserError("explain reads classify, tag, language-model and series runs; a "
                        "seq2seq run shows what each output token attends to in the app (a)")

    def target(self, text, which=None):
        return self.read(text)

    def predict(self, text):
        from rnn_tui.data.pairs import EOS, tokenize

        task = self.task
        hyp = task.translate(self._check_text(text))[0]
        output = task.tgt_vocab.decode(hyp.ids)
        ids, _ = task.encode_source(text)
        out_tokens = tokenize(output, task.tgt_vocab.how) + (["</s>"] if hyp.ids and
                                                           hyp.ids[-1] == EOS else [])
        n = min(len(out_tokens), len(hyp.attention))
        return {"text": text, "output": output, "logp": round(float(hyp.logp), 6),
                "source_tokens": [task.src_vocab.tokens[int(i)] for i in ids],
                "output_tokens": out_tokens[:n],
                "attention": [np.round(np.asarray(a, dtype=np.float64), 4).tolist()
                              for a in hyp.attention[:n]]}


# ---------------------------------------------------------------------- building one
TEXT_KINDS = ("classify", "tag", "char", "word")


def from_checkpoint(arrays: dict[str, np.ndarray], meta: dict[str, Any],
                    max_len: int = 0) -> Explainable:
    """The model of a classify, tag or language-model checkpoint, from its arrays and metadata
    alone (the network is a copy of its weights)."""
    kind = meta.get("task")
    if kind not in TEXT_KINDS:
        raise UserError(f"a {kind} checkpoint is not read here; series runs are opened with "
                        "their forecaster")
    if meta.get("windows"):
        raise UserError("this run is the tutorials' window language model; predict and "
                        "explain read the recurrent language models (rnn-tui sample works)")
    net = network_from_meta(arrays, meta)
    if kind == "tag":
        from rnn_tui.tasks.tag import WordFeatures

        feats, tags = meta.get("features"), meta.get("tags")
        if not isinstance(feats, dict) or not isinstance(tags, list) or \
                len(tags) != net.spec.output_size or not isinstance(feats.get("words"), list):
            raise UserError("checkpoint has no tagger vocabulary; the file is corrupt")
        features = WordFeatures.from_dict(feats)
        if len(features.words) != net.spec.input_size or features.sizes != net.spec.features:
            raise UserError("checkpoint's word features do not fit its model; the file is "
                            "corrupt")
        return Tagger(net, features, [str(t) for t in tags])
    check_meta(arrays, meta, ("spec", "tokenizer"))
    tok = tokenizer_from_dict(meta["tokenizer"])
    if tok.vocab_size != net.spec.input_size:
        raise UserError("checkpoint vocabulary does not match its model; the file is corrupt")
    if kind == "classify":
        labels = meta.get("labels")
        if not isinstance(labels, list) or len(labels) != net.spec.output_size:
            raise UserError("checkpoint has no list of labels for its outputs; the file is "
                            "corrupt")
        return Classifier(net, tok, [str(c) for c in labels], int(max_len or 0))
    return LanguageModelView(net, tok, kind)


def from_series_task(task) -> SeriesModel:
    """The model of a restored series task (its forecaster and networks)."""
    return SeriesModel(task.forecaster, getattr(task, "H", 1))
