r"""Sequence to sequence (many-to-many of different lengths): an encoder reads the source, a
decoder writes the target, attention lets each output step look back at the source.

Data: ``source<TAB>target`` pairs (a file, the built-in ``eng-fra``), or generated ``addition``
("535+61" -> "596", ``--digits``) and ``reverse`` (a string of 5-30 letters -> itself
backwards; ``reverse:min=M,max=N`` changes the lengths). The held-out split keeps every pair of
one source on the same side. Evaluation decodes held-out sources greedily and scores them
(exact match, token accuracy, BLEU and chrF) beside the copy baseline, and by source length.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnn_tui.config import RunConfig
from rnn_tui.core import make_optimizer
from rnn_tui.data.pairs import (
    EOS,
    GENERATED,
    PairData,
    Vocab,
    addition_pairs,
    encode_pairs,
    load_pairs,
    make_batch,
    normalise,
    reverse_pairs,
    split_by_source,
    tokenize,
)
from rnn_tui.errors import UserError
from rnn_tui.models.seq2seq import Hypothesis, Seq2Seq, Seq2SeqSpec, log_softmax
from rnn_tui.models.seq2seq_scores import Scores, by_length, score
from rnn_tui.models.training import NonFiniteError, StepInfo
from rnn_tui.tasks.common import check_meta, float_type, hidden_snapshot
from rnn_tui.train import events as ev
from rnn_tui.train.task import ParamGroup, Task, groups_checkpoint, restore_groups

VIEW_SEQ2SEQ = "seq2seq"
MAX_SIDE = 200  # tokens kept of a source or target (a longer one is cut, with a notice)
EVAL_BATCH = 256
EXAMPLES = 6  # held-out pairs shown after each evaluation
ATTENTION_SIDE = 40  # source and output tokens an example's attention keeps
REVERSE_LENGTHS = (5, 30)
OPTIONAL_META = ("reverse_source", "max_target")  # checkpoints may lack them


def _generated(cfg: RunConfig) -> PairData:
    d, seed = cfg.data, cfg.train.seed
    name, _, opts = d.corpus.partition(":")
    settings = {}
    for part in filter(None, opts.split(",")):
        key, eq, value = part.partition("=")
        if not eq or not value.strip().isdigit():
            raise UserError(f"corpus {d.corpus!r}: settings are key=number, separated by "
                            "commas (e.g. reverse:min=5,max=30)")
        settings[key.strip()] = int(value)
    allowed = {"addition": {"digits", "n"}, "reverse": {"min", "max", "n"}}[name]
    unknown = sorted(set(settings) - allowed)
    if unknown:
        raise UserError(f"corpus {name!r} has no setting {unknown[0]!r}; it takes "
                        f"{', '.join(sorted(allowed))}")
    n = settings.get("n", d.pairs)
    if name == "addition":
        return addition_pairs(n, settings.get("digits", d.digits), seed)
    lo, hi = settings.get("min", REVERSE_LENGTHS[0]), settings.get("max", REVERSE_LENGTHS[1])
    return reverse_pairs(n, lo, hi, seed)


def load_data(cfg: RunConfig) -> PairData:
    d = cfg.data
    if d.corpus.partition(":")[0] in GENERATED:
        data = _generated(cfg)
    else:
        data = load_pairs(d.corpus, d.encoding, max_chars=10 * MAX_SIDE)
    return data


class Decoder:
    """A trained encoder-decoder with its vocabularies: typed sources in, outputs out (what the
    task, ``rnn-tui translate`` and the app's try-it field decode with)."""

    def __init__(self, net: Seq2Seq, src_vocab: Vocab, tgt_vocab: Vocab,
                 reverse_source: bool, max_target: int):
        self.net, self.src_vocab, self.tgt_vocab = net, src_vocab, tgt_vocab
        self.how = src_vocab.how
        self.reverse_source = bool(reverse_source)
        self.max_target = int(max_target)

    def max_output(self, src_len: int) -> int:
        return int(min(MAX_SIDE, max(self.max_target, 2 * src_len) + 2))

    def encode_source(self, text: str) -> tuple[np.ndarray, int]:
        """A typed source as ids (unknown tokens as <unk>, cut to the longest side the model
        reads) and how many tokens were unknown."""
        ids, unknown = self.src_vocab.encode(text)
        if not ids:
            raise UserError("the source is empty: type something to translate")
        if self.reverse_source:
            ids = ids[::-1]
        return np.asarray(ids[:MAX_SIDE], dtype=np.int64), unknown

    def translate(self, text: str, beam: int = 1, alpha: float = 1.0) -> list[Hypothesis]:
        """The ``beam`` best outputs for one typed source (``beam`` 1 = greedy)."""
        ids, _ = self.encode_source(text)
        if beam <= 1:
            r = self.net.greedy(ids.reshape(-1, 1), np.array([len(ids)]),
                                self.max_output(len(ids)))
            n = int(r.lengths[0])
            out = [int(i) for i in r.ids[:n, 0]]
            att = [r.attention[t, :, 0] for t in range(len(r.attention))][:n]
            return [Hypothesis(out, float(r.logp[0]), att, bool(out) and out[-1] == EOS)]
        return self.net.beam(ids, beam, self.max_output(len(ids)), alpha)

    def meta(self) -> dict[str, Any]:
        return {"seq2seq_spec": self.net.spec.to_dict(), "src_vocab": self.src_vocab.to_meta(),
                "tgt_vocab": self.tgt_vocab.to_meta(), "reverse_source": self.reverse_source,
                "max_target": self.max_target}

    @classmethod
    def from_checkpoint(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Decoder:
        """Rebuilt from a checkpoint alone (its shapes checked before anything is loaded)."""
        try:
            spec = Seq2SeqSpec(**meta["seq2seq_spec"])
            src, tgt = Vocab.from_meta(meta["src_vocab"]), Vocab.from_meta(meta["tgt_vocab"])
            if (spec.src_vocab, spec.tgt_vocab) != (len(src), len(tgt)):
                raise ValueError("vocabulary sizes")
            max_target = meta.get("max_target", MAX_SIDE)
            if not isinstance(max_target, int) or not 0 <= max_target <= MAX_SIDE:
                raise ValueError("max_target")
            net = Seq2Seq(spec, np.dtype(meta.get("dtype", "float32")), seed=0)
        except (KeyError, TypeError, ValueError) as err:
            raise UserError(f"checkpoint does not describe an encoder-decoder ({err}); the "
                            "file is corrupt or from another program") from None
        params = arrays.get("params")
        if params is None or params.shape != net.params.data.shape:
            raise UserError("checkpoint parameters do not fit its own model; the file is "
                            "corrupt")
        net.params.load_flat(params.astype(net.dtype))
        return cls(net, src, tgt, bool(meta.get("reverse_source", False)), max_target)


class Seq2SeqTask(Task):
    kind = "seq2seq"
    views = (VIEW_SEQ2SEQ,)
    loss_name = "nats/token"
    best_by = "chrf"  # see selection_score
    overfitting_message = (
        "held-out chrF falling behind: the model is memorising its training pairs (best at "
        "step {step:,}; best.npz keeps those weights)")

    def selection_score(self, val_loss: float, metrics: dict[str, float]) -> float:
        """The best weights are those of the best held-out chrF of the decoded outputs (what
        the outputs are judged by; the teacher-forced loss can rise while they still
        improve), the loss breaking ties."""
        return -metrics["chrf"] + 1e-9 * val_loss

    def __init__(self, cfg: RunConfig, data: PairData):
        d, m, t = cfg.data, cfg.model, cfg.train
        self.cfg = cfg
        self.data = data
        self.how = d.tokens
        tr, va = split_by_source(data.sources, d.val_fraction, t.seed)
        self.held_out = not np.array_equal(tr, va)
        self.train_idx, self.val_idx = tr, va
        src = [data.sources[i] for i in tr]
        tgt = [data.targets[i] for i in tr]
        self.src_vocab = Vocab.build(src, self.how, d.min_count, d.max_vocab)
        self.tgt_vocab = Vocab.build(tgt, self.how, d.min_count, d.max_vocab)
        self.notes = list(data.notes)
        self.train_set, _ = self._encode(src, tgt)
        self.val_set, unknown = self._encode([data.sources[i] for i in va],
                                             [data.targets[i] for i in va])
        if unknown:
            self.notes.append(f"{unknown:,} held-out tokens never seen in training are read "
                              "as <unk>")
        # held-out sources, each once, with every reference it has (Tatoeba: several)
        refs: dict[str, list[str]] = {}
        for i in va:
            refs.setdefault(data.sources[i], []).append(normalise(data.targets[i], self.how))
        self.val_sources = list(refs)
        self.val_refs = [refs[s] for s in self.val_sources]
        spec = Seq2SeqSpec(src_vocab=len(self.src_vocab), tgt_vocab=len(self.tgt_vocab),
                           cell=m.cell, hidden=m.hidden, layers=m.layers,
                           embed=max(m.embed, 1), bidirectional=m.bidirectional,
                           attention=m.attention, dropout=m.dropout)
        self.net = Seq2Seq(spec, float_type(cfg), seed=t.seed)
        self.decoder = Decoder(self.net, self.src_vocab, self.tgt_vocab, d.reverse_source,
                               max((len(x) for x in self.train_set.tgt), default=1))
        self.opt = make_optimizer(t.optimizer, self.net.params.data.size, self.net.dtype, t.lr)
        self.rng = np.random.default_rng(t.seed)
        self.B = max(1, min(t.batch, len(self.train_set)))
        self._perm = self.rng.permutation(len(self.train_set))
        self._pos = 0
        self._epoch = 0
        mean_tgt = float(np.mean([len(x) + 1 for x in self.train_set.tgt]))
        self.tokens_per_step = int(round(mean_tgt * self.B))
        self._shown = 0
        self._last: dict[str, Any] = {}

    @classmethod
    def from_config(cls, cfg: RunConfig) -> Seq2SeqTask:
        return cls(cfg, load_data(cfg))

    def _encode(self, sources, targets):
        enc, unknown = encode_pairs(sources, targets, self.src_vocab, self.tgt_vocab)
        if self.cfg.data.reverse_source:  # token order reversed (characters or words)
            enc.src = [a[::-1].copy() for a in enc.src]
        cut = 0
        for lst in (enc.src, enc.tgt):
            for i, a in enumerate(lst):
                if len(a) > MAX_SIDE:
                    lst[i] = a[:MAX_SIDE]
                    cut += 1
        if cut:
            self.notes.append(f"{cut:,} sources or targets longer than {MAX_SIDE} tokens cut "
                              "to that length")
        return enc, unknown

    # ------------------------------------------------------------------ training
    def parameter_groups(self) -> list[ParamGroup]:
        """One group: encoder, attention and decoder share one flat buffer and optimizer."""
        return [ParamGroup("", self.net.params, self.opt)]

    @property
    def epoch(self) -> int:
        return self._epoch

    def _next_batch(self) -> np.ndarray:
        if self._pos + self.B > len(self._perm):
            self._perm = self.rng.permutation(len(self.train_set))
            self._pos = 0
            self._epoch += 1
        idx = self._perm[self._pos : self._pos + self.B]
        self._pos += self.B
        return idx

    def step(self):
        from rnn_tui.core import clip_global_norm, global_norm

        idx = self._next_batch()
        batch = self.train_set.batch(idx)
        tf = self.cfg.train.teacher_forcing
        rng = self.rng if (self.cfg.model.dropout > 0 or tf < 1.0) else None
        loss, _, f = self.net.loss_and_grad(batch, rng, tf)
        clip = self.cfg.train.clip
        p = self.net.params
        norm = clip_global_norm(p.grad, clip) if clip > 0 else float(global_norm(p.grad))
        if not (math.isfinite(loss) and math.isfinite(norm)):
            raise NonFiniteError(f"loss {loss}, gradient norm {norm}")
        self.opt.step(p.data, p.grad)
        if not math.isfinite(float(np.sum(p.data, dtype=np.float64))):
            raise NonFiniteError("the weights became non-finite")
        info = StepInfo(loss, None, norm, clip > 0 and norm > clip, self.net.dh_norms(f))
        return info, int((batch.tgt_out >= 0).sum())

    # ------------------------------------------------------------------ decoding
    def max_output(self, src_len: int) -> int:
        return self.decoder.max_output(src_len)

    def encode_source(self, text: str) -> tuple[np.ndarray, int]:
        return self.decoder.encode_source(text)

    def decode_batch(self, sources: list[np.ndarray]):
        """Greedy outputs (text) and their attention for ``sources`` (lists of ids)."""
        outs, atts = [], []
        for s in range(0, len(sources), EVAL_BATCH):
            chunk = sources[s : s + EVAL_BATCH]
            b = make_batch(chunk, [np.zeros(0, np.int64)] * len(chunk))
            r = self.net.greedy(b.src, b.src_len, self.max_output(int(b.src_len.max())))
            for j in range(len(chunk)):
                n = int(r.lengths[j])
                outs.append(self.tgt_vocab.decode(r.ids[:n, j]))
                atts.append(r.attention[:n, : len(chunk[j]), j] if r.attention.size else None)
        return outs, atts

    def translate(self, text: str, beam: int = 1, alpha: float = 1.0) -> list[Hypothesis]:
        return self.decoder.translate(text, beam, alpha)

    # ------------------------------------------------------------------ scoring
    def _scores(self, sources: list[str], refs: list[list[str]], beam: int = 1,
                alpha: float = 1.0):
        ids = [self.encode_source(s)[0] if s else np.zeros(1, np.int64) for s in sources]
        if beam <= 1:
            outs, atts = self.decode_batch(ids)
        else:  # one source at a time, its K hypotheses as a batch
            outs = [self.tgt_vocab.decode(self.net.beam(i, beam, self.max_output(len(i)),
                                                        alpha)[0].ids) for i in ids]
            atts = [None] * len(outs)
        return score(outs, refs, self.how), outs, atts, ids

    def _loss_of(self, enc) -> float:
        losses, counts = [], []
        for s in range(0, len(enc), EVAL_BATCH):
            b = enc.batch(range(s, min(s + EVAL_BATCH, len(enc))))
            loss, _ = self.net.evaluate(b)
            losses.append(loss)
            counts.append(int((b.tgt_out >= 0).sum()))
        return float(np.average(losses, weights=counts))

    def evaluate_all(self, beam: int = 1, alpha: float = 1.0) -> tuple[float, dict[str, float]]:
        """Every held-out source decoded (greedily, or by beam search of width ``beam``) and
        scored, with the copy baseline beside it (``rnn-tui evaluate``)."""
        sc, outs, _, ids = self._scores(self.val_sources, self.val_refs, beam, alpha)
        copy = score([normalise(s, self.how) for s in self.val_sources], self.val_refs,
                     self.how)
        self.length_table = by_length([len(i) for i in ids],
                                      [o in r for o, r in zip(outs, self.val_refs, strict=True)])
        return self._loss_of(self.val_set), {
            **sc.to_dict(), "copy_exact_match": copy.exact_match, "copy_bleu": copy.bleu,
            "copy_chrf": copy.chrf, "pairs": len(self.val_set), "sources": len(outs)}

    def _val_limit(self) -> int:
        return max(1, min(len(self.val_sources), self.cfg.train.eval_tokens))

    def evaluate(self) -> tuple[float, dict[str, float]]:
        n = self._val_limit()
        losses, counts = [], []
        for s in range(0, len(self.val_set), EVAL_BATCH):
            b = self.val_set.batch(range(s, min(s + EVAL_BATCH, len(self.val_set))))
            loss, _ = self.net.evaluate(b)
            losses.append(loss)
            counts.append(int((b.tgt_out >= 0).sum()))
        val = float(np.average(losses, weights=counts))
        sources, refs = self.val_sources[:n], self.val_refs[:n]
        sc, outs, atts, ids = self._scores(sources, refs)
        copy = score([normalise(s, self.how) for s in sources], refs, self.how)
        correct = [o in r for o, r in zip(outs, refs, strict=True)]
        self._last = {"outs": outs, "atts": atts, "ids": ids, "correct": correct,
                      "by_length": by_length([len(i) for i in ids], correct),
                      "copy": copy, "n": n}
        return val, {**sc.to_dict(), "copy_exact_match": copy.exact_match,
                     "copy_bleu": copy.bleu}

    def scores(self) -> Scores:
        """The held-out scores of the current weights (``rnn-tui evaluate``)."""
        sc, *_ = self._scores(self.val_sources, self.val_refs)
        return sc

    def evaluate_file(self, path, encoding: str = "utf-8", beam: int = 1,
                      alpha: float = 1.0) -> tuple[float, dict[str, float]]:
        data = load_pairs(str(path), encoding, max_chars=10 * MAX_SIDE)
        refs: dict[str, list[str]] = {}
        for s, t in zip(data.sources, data.targets, strict=True):
            refs.setdefault(s, []).append(normalise(t, self.how))
        sources = list(refs)
        sc, *_ = self._scores(sources, [refs[s] for s in sources], beam, alpha)
        enc, _ = self._encode(data.sources, data.targets)
        losses, counts = [], []
        for s in range(0, len(enc), EVAL_BATCH):
            b = enc.batch(range(s, min(s + EVAL_BATCH, len(enc))))
            loss, _ = self.net.evaluate(b)
            losses.append(loss)
            counts.append(int((b.tgt_out >= 0).sum()))
        return float(np.average(losses, weights=counts)), sc.to_dict()

    def report_lines(self, val_loss: float, metrics: dict[str, float]) -> list[str]:
        """What ``rnn-tui evaluate`` prints, the scores line last."""
        rest = "".join(f" {k}={v:.6g}" for k, v in metrics.items()
                       if k not in ("exact_match", "token_accuracy", "bleu", "chrf"))
        sc = Scores(metrics["exact_match"], metrics["token_accuracy"], metrics["bleu"],
                    metrics["chrf"])
        lengths = [f"  {r['from']}-{r['upto']} tokens: exact match {r['exact_match']:.4f} "
                   f"({r['n']:,} sources)" for r in getattr(self, "length_table", [])]
        head = ["exact match by source length:", *lengths] if lengths else []
        return [*head, f"val_loss={val_loss:.6f}{rest}", sc.line()]

    def eval_events(self) -> list[ev.Event]:
        e = self._last
        if not e:
            return []
        n = e["n"]
        examples, srcs, outs, atts = [], [], [], []
        for j in range(min(EXAMPLES, n)):
            i = (self._shown + j) % n
            examples.append({"source": self.val_sources[i][:200],
                             "reference": self.val_refs[i][0][:200],
                             "output": e["outs"][i][:200], "ok": bool(e["correct"][i])})
            att = e["atts"][i]
            src = [self.src_vocab.tokens[int(t)] for t in e["ids"][i]][:ATTENTION_SIDE]
            out = (tokenize(e["outs"][i], self.how) + ["</s>"])[:ATTENTION_SIDE]
            if att is not None:
                out = out[: len(att)]
                atts.append(np.round(att[: len(out), : len(src)], 3).tolist())
            srcs.append(src)
            outs.append(out)
        self._shown = (self._shown + EXAMPLES) % max(n, 1)
        return [ev.Seq2SeqUpdate(
            scores=self._last_scores(),
            baselines={"copy_exact_match": e["copy"].exact_match, "copy_bleu": e["copy"].bleu,
                       "copy_chrf": e["copy"].chrf},
            by_length=e["by_length"], examples=examples, source_tokens=srcs,
            output_tokens=outs, attention=atts if len(atts) == len(srcs) else [])]

    def _last_scores(self) -> dict[str, float]:
        e = self._last
        refs = self.val_refs[: e["n"]]
        return score(e["outs"], refs, self.how).to_dict()

    def run_info(self) -> dict[str, Any]:
        return {"vocab_size": len(self.tgt_vocab), "notes": self.notes}

    def hidden_snapshot(self, max_steps: int = 48) -> ev.HiddenSnapshot | None:
        """The encoder's hidden state over one held-out source."""
        if not len(self.val_set):
            return None
        i = self._shown % len(self.val_set)
        ids = self.val_set.src[i][:max_steps]
        words = [self.src_vocab.tokens[int(t)] for t in ids]
        return hidden_snapshot(self.net.enc, ids.reshape(-1, 1), words)

    def model_snapshot(self, before: np.ndarray | None = None) -> ev.ModelSnapshot | None:
        """The encoder's chain over one held-out source, the decoder's over what it writes,
        and the attention of each decoder step over the source (the model view)."""
        from rnn_tui.models.unrolled import seq2seq_snapshot

        if not len(self.val_set):
            return None
        i = self._shown % len(self.val_set)
        ids = self.val_set.src[i][:48]
        words = [self.src_vocab.tokens[int(t)] for t in ids]
        return ev.ModelSnapshot(**seq2seq_snapshot(
            self.net, ids, words, list(self.tgt_vocab.tokens), self.max_output(len(ids)), before,
            self.B, self._longest_target()))

    def networks(self) -> list[Any]:
        return [self.net]

    def input_shape(self) -> tuple[int, int, list[str]]:
        src = max((len(s) for s in self.train_set.src), default=1)
        return self.B, src, [f"batch: {self.B} pairs; time: up to {src} source tokens and "
                             f"{self._longest_target()} target tokens (each side padded)"]

    def _longest_target(self) -> int:
        return max((len(t) for t in self.train_set.tgt), default=0) + 1

    def anatomy(self):
        from rnn_tui.models.seq2seq import seq2seq_anatomy

        batch, src, notes = self.input_shape()
        a = seq2seq_anatomy(self.net, batch, src, self._longest_target())
        a.notes = [*notes, *a.notes]
        return a

    # ------------------------------------------------------------------ checkpoints
    def _meta_own(self) -> dict[str, Any]:
        return self.decoder.meta()

    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, meta = groups_checkpoint(self.parameter_groups())
        arrays["order"] = self._perm
        meta.update({"task": self.kind, "dtype": self.net.dtype.name,
                     "rng": self.rng.bit_generator.state, "pos": self._pos,
                     "epoch": self._epoch, **self._meta_own()})
        return arrays, meta

    def restore(self, arrays, meta) -> None:
        check_meta(arrays, meta, ("optimizer", "rng"))
        mine = self._meta_own()
        for key, what in (("seq2seq_spec", "model"), ("src_vocab", "source vocabulary"),
                          ("tgt_vocab", "target vocabulary"),
                          ("reverse_source", "reading of the source (--reverse-source)"),
                          ("max_target", "longest target")):
            if key in OPTIONAL_META and key not in meta:
                continue  # written before the key existed: the run's config says it
            if meta.get(key) != mine[key]:
                raise UserError(f"checkpoint is for a different {what}; resume it with the "
                                "run's own data and settings")
        perm = arrays.get("order")
        pos, epoch = meta.get("pos"), meta.get("epoch")
        if perm is None or perm.shape != self._perm.shape or not isinstance(pos, int) or \
                not isinstance(epoch, int) or not 0 <= pos <= len(perm) or epoch < 0:
            raise UserError("checkpoint has a batching state that does not fit this data; the "
                            "file is corrupt or from another run")
        if not np.array_equal(np.sort(perm), np.arange(len(perm))):
            raise UserError("checkpoint has a batching state that is not a permutation; the "
                            "file is corrupt")
        restore_groups(self.parameter_groups(), arrays, meta)
        self.rng.bit_generator.state = meta["rng"]
        self._perm = np.asarray(perm, dtype=np.int64).copy()
        self._pos, self._epoch = pos, epoch


def next_token_logp(task: Seq2SeqTask, text: str, prefix: list[int]) -> np.ndarray:
    """log p(next target token | source, prefix): the distribution a decoder weighs."""
    ids, _ = task.encode_source(text)
    b = make_batch([ids], [np.asarray(prefix, dtype=np.int64)])
    _, logits = task.net.evaluate(b)
    return log_softmax(logits[len(prefix)].reshape(1, -1))[0]
