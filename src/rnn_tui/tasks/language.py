"""Character- and word-level language models as a task: one long token stream cut into parallel
streams for stateful truncated BPTT; evaluation in nats per token with perplexity (and the
unigram baseline for words); samples as it trains."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnn_tui.config import RunConfig
from rnn_tui.core import make_optimizer
from rnn_tui.core.fast.fused import FusedLM
from rnn_tui.core.network import State
from rnn_tui.data.tokens import read_tokens
from rnn_tui.errors import UserError
from rnn_tui.memory import check_memory
from rnn_tui.models.language import LanguageModel
from rnn_tui.models.training import train_step
from rnn_tui.tasks.common import (
    check_compatible,
    check_meta,
    embedding_snapshot,
    float_type,
    hidden_snapshot,
)
from rnn_tui.train import events as ev
from rnn_tui.train.task import (
    VIEW_TEXT,
    ParamGroup,
    Task,
    groups_checkpoint,
    restore_groups,
)

SNAPSHOT_BATCH = 8  # sequences of the latest batch the gate saturation is measured over


class LanguageTask(Task):
    """Character- or word-level language model over one long token stream (stateful TBPTT):
    many-to-many training, one-to-many generation."""

    views = (VIEW_TEXT,)

    def __init__(
        self, cfg: RunConfig, tokenizer, ids: np.ndarray, model: LanguageModel | None = None
    ):
        from rnn_tui.data.batches import StreamBatcher, split_tail

        self.cfg = cfg
        self.kind = cfg.data.task
        t = cfg.train
        self.tokenizer = tokenizer
        self.train_ids, self.val_ids = split_tail(ids, cfg.data.val_fraction)
        if len(self.val_ids) < 2:
            raise UserError("the text is too short to hold out a validation part; use a longer "
                            "corpus or a larger --val-fraction")
        self.batcher = StreamBatcher(self.train_ids, t.batch, t.seq)
        m = cfg.model
        self.model = model or LanguageModel.create(
            tokenizer, m.cell, m.hidden, m.layers, m.embed, m.dropout, float_type(cfg), t.seed,
            m.recurrent_scale)
        self.net = self.model.net
        self.opt = make_optimizer(t.optimizer, self.net.params.data.size, self.net.dtype, t.lr)
        self.rng = np.random.default_rng(t.seed)
        self.sample_rng = np.random.default_rng(t.seed + 1)
        self.state: State = self.net.initial_state(t.batch)
        self.last_x: np.ndarray | None = None
        self.last_y: np.ndarray | None = None
        self.tokens_per_step = t.batch * t.seq
        self._unigram: float | None = None
        self._fused: dict[tuple[int, int], FusedLM] = {}

    @classmethod
    def from_config(cls, cfg: RunConfig, tokenizer=None) -> Task:
        """The stream model (without ``data.windows``: :data:`rnn_tui.session.TASK_VARIANTS`
        sends a run with windows to the tutorials' window model); ``tokenizer`` (or the file
        ``data.vocab`` names) replaces the vocabulary built from the corpus (a model imported
        from elsewhere)."""
        if cfg.model.input == "index":
            raise UserError("model.input 'index' (a token's index as one number) is for the "
                            "window model: add --windows N")
        from rnn_tui.data.batches import tail_size

        tok, ids = read_tokens(cfg.data, tokenizer,
                               on_vocabulary=lambda v, n: check_memory(cfg, v, n),
                               train_part=lambda n: n - tail_size(n, cfg.data.val_fraction))
        return cls(cfg, tok, ids)

    # -------------------------------------------------------------- training
    def parameter_groups(self) -> list[ParamGroup]:
        return [ParamGroup("", self.net.params, self.opt)]

    @property
    def epoch(self) -> int:
        return self.batcher.epoch

    def step(self):
        x, y, new_epoch = self.batcher.next_batch()
        if new_epoch or self.state.h.shape[1] != x.shape[1]:
            self.state = self.net.initial_state(x.shape[1])
        t = self.cfg.train
        if self.cfg.model.dropout > 0 or self.net.dtype != np.float32:
            info = train_step(self.net, x, y, self.state, self.opt, t.clip, self.rng)
        else:  # the whole forward/backward in one kernel call
            fused = self._fused.get(x.shape)
            if fused is None:
                from rnn_tui import runtime

                fused = self._fused[x.shape] = FusedLM(self.net, *x.shape,
                                                       workers=runtime.threads_in_use)
            info = train_step(self.net, x, y, self.state, self.opt, t.clip,
                              loss_fn=fused.loss_and_grad)
        self.state = info.state
        self.last_x, self.last_y = x, y
        return info, x.size

    def prepare(self) -> None:
        if self.cfg.train.sample_every > 0:  # the first sample then needs no compile of its own
            from rnn_tui.core.fast.ahead import SAMPLING, compile_ahead

            compile_ahead(SAMPLING)

    def input_shape(self) -> tuple[int, int, list[str]]:
        t = self.cfg.train
        return t.batch, t.seq, [
            f"batch: {t.batch} parallel streams of the text; time: {t.seq} steps of truncated "
            "backpropagation, the state carried on to the next batch",
            "every step predicts the next token (many-to-many)"]

    def run_info(self) -> dict[str, Any]:
        return {"vocab_size": self.tokenizer.vocab_size}

    def reset_state(self) -> None:
        self.state = self.net.initial_state(self.state.h.shape[1])

    def gradient_flow(self, info) -> np.ndarray:
        r"""(layers, T): :math:`\lVert \partial L_T / \partial h_t \rVert` for the loss of the
        last step alone, on the first sequence of the latest batch.

        The training step's own profile sums the losses of every later step, which hides the
        decay; one loss shows how far back its gradient reaches: through a vanilla RNN it shrinks
        by a factor of about :math:`\lVert W_{hh}^\top \mathrm{diag}(1 - h^2) \rVert` per step,
        through an LSTM's cell state it can survive. (Overwrites ``params.grad``, which the next
        step recomputes from zero.)"""
        if self.last_x is None:
            return info.dh_norms
        x = np.ascontiguousarray(self.last_x[:, :1])
        res = self.net.loss_and_grad(x, self.last_y[-1, :1], self.net.initial_state(1),
                                     last_only=True)
        return res.dh_norms

    def evaluate(self) -> tuple[float, dict[str, float]]:
        t = self.cfg.train
        val = self.model.evaluate(self.val_ids, t.batch, t.seq, t.eval_tokens)
        metrics = {"val_ppl": math.exp(min(val, 50.0))}
        if self.kind == "word":
            metrics["unigram_ppl"] = math.exp(self.unigram_loss())
        return val, metrics

    def evaluate_file(self, path, encoding: str = "utf-8") -> tuple[float, dict[str, float]]:
        """Mean cross-entropy of every next token of a text file read as one stream from a zero
        state, batch 1 (characters outside the vocabulary are skipped, unknown words are
        ``<unk>``)."""
        from rnn_tui.data.corpora import read_text_file

        text = read_text_file(path, encoding)
        ids = np.asarray(self.tokenizer.encode(text, unknown="skip" if self.kind == "char"
                                               else "unk"), dtype=np.int64)
        if len(ids) < 2:
            raise UserError(f"{path} holds fewer than two tokens this model knows; nothing "
                            "to score")
        val = self.model.evaluate(ids, 1, 256)
        return val, {"ppl": math.exp(min(val, 50.0)), "tokens": float(len(ids) - 1)}

    def unigram_logp(self) -> np.ndarray:
        r"""The unigram model fitted on the training part, add-one smoothed:
        :math:`\log P(w) = \log \frac{n_w + 1}{N + V}` over the vocabulary."""
        V = self.tokenizer.vocab_size
        counts = np.bincount(self.train_ids, minlength=V).astype(np.float64) + 1.0
        return np.log(counts / counts.sum())

    def unigram_loss(self) -> float:
        """The unigram model's cross-entropy on the validation part: the baseline a word
        model must beat."""
        if self._unigram is None:
            self._unigram = float(-self.unigram_logp()[self.val_ids].mean())
        return self._unigram

    def sample(self, temperature: float, length: int, prime: str = "") -> ev.SampleText:
        m, k = self.model, self.cfg.train.top_k
        ids = m.context(prime, self.sample_rng)
        gen = list(m.sample_ids(length, ids, temperature, k, self.sample_rng))
        tops, probs = m.next_token_distributions(ids, gen, temperature, k)
        pieces = [self.tokenizer.decode_one(t) for t in gen]
        text = self.tokenizer.decode(gen) if self.kind == "word" else "".join(pieces)
        return ev.SampleText(text=text, prime=prime, temperature=temperature, pieces=pieces,
                             top_tokens=tops, top_probs=probs)

    def embedding_snapshot(self) -> ev.EmbeddingSnapshot | None:
        return embedding_snapshot(self.net, self.train_ids[:200_000],
                                  self.tokenizer.decode_one)

    def snapshot_batch(self, max_steps: int = 48):
        if self.last_x is None:
            return None
        x = np.ascontiguousarray(self.last_x[:max_steps, :SNAPSHOT_BATCH])
        return x, [self.tokenizer.decode_one(int(i)) for i in x[:, 0]], None

    def output_names(self) -> list[str]:
        return [self.tokenizer.decode_one(i) for i in range(self.tokenizer.vocab_size)]

    def hidden_snapshot(self, max_steps: int = 48) -> ev.HiddenSnapshot | None:
        batch = self.snapshot_batch(max_steps)
        return None if batch is None else hidden_snapshot(self.net, *batch)

    # -------------------------------------------------------------- checkpoints
    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, meta = groups_checkpoint(self.parameter_groups())
        arrays["state_h"] = self.state.h
        if self.state.c is not None:
            arrays["state_c"] = self.state.c
        meta.update({
            "task": self.kind,
            "spec": self.net.spec.to_dict(),
            "dtype": self.net.dtype.name,
            "tokenizer": self.tokenizer.to_dict(),
            "rng": self.rng.bit_generator.state,
            "sample_rng": self.sample_rng.bit_generator.state,
            "batcher": self.batcher.state_dict(),
        })
        return arrays, meta

    def restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        check_meta(arrays, meta, ("spec", "tokenizer", "optimizer", "rng", "sample_rng",
                                  "batcher"))
        check_compatible(self.net, self.tokenizer.to_dict(), arrays, meta)
        self.batcher.load_state_dict(meta["batcher"])  # refuses other batching, changes nothing
        spec = self.net.spec
        want = (spec.layers, self.batcher.B, spec.hidden)
        for key in ("state_h",) + (("state_c",) if spec.cell == "lstm" else ()):
            got = arrays.get(key)
            if got is None or got.shape != want:
                raise UserError(f"checkpoint's carried state {key} has shape "
                                f"{None if got is None else got.shape}, not {want}; the file "
                                "is corrupt")
        restore_groups(self.parameter_groups(), arrays, meta)
        self.rng.bit_generator.state = meta["rng"]
        self.sample_rng.bit_generator.state = meta["sample_rng"]
        c = arrays.get("state_c")
        self.state = State(arrays["state_h"].astype(self.net.dtype),
                           None if c is None else c.astype(self.net.dtype))
