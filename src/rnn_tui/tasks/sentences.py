"""What the sentence tasks (classification and tagging) share: sentences of ids batched by
length with padding and masks, a network that reads them from a zero state, training steps,
batched scoring without gradients, and checkpoints."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnn_tui.config import RunConfig
from rnn_tui.core import make_optimizer
from rnn_tui.core.network import NetSpec, Network
from rnn_tui.data.batches import BucketBatcher, pad_batch
from rnn_tui.models.training import train_step
from rnn_tui.tasks.common import check_compatible, float_type, hidden_snapshot
from rnn_tui.train import events as ev
from rnn_tui.train.task import ParamGroup, Task, groups_checkpoint, restore_groups

EVAL_BATCH = 64
SNAPSHOT_SENTENCES = 8  # held-out sentences the gate saturation is measured over


class SentenceTask(Task):
    """Base for tasks whose examples are independent sentences (no state carried between
    them). Subclasses set ``train_x`` (list of (n,) or (n, C) id arrays), ``train_y`` and
    define the targets of a batch."""

    last_only = False  # many-to-one (classification) or one output per token (tagging)
    best_by = "accuracy"  # see selection_score
    overfitting_message = (
        "held-out accuracy falling behind: the model is memorising its training sentences "
        "(best at step {step:,}; best.npz keeps those weights)")

    def selection_score(self, val_loss: float, metrics: dict[str, float]) -> float:
        """The best weights are those of the best held-out accuracy (the measure these tasks
        are judged by; the loss keeps falling a while after it has stopped improving, or
        rises while it still improves), the loss breaking ties."""
        return -metrics["accuracy"] + 1e-9 * val_loss

    def _setup(self, cfg: RunConfig, spec: NetSpec, train_x: list[np.ndarray]) -> None:
        t, m = cfg.train, cfg.model
        self.cfg = cfg
        self.net = Network(spec, dtype=float_type(cfg), seed=t.seed,
                           recurrent_scale=m.recurrent_scale)
        self.opt = make_optimizer(t.optimizer, self.net.params.data.size, self.net.dtype, t.lr)
        self.rng = np.random.default_rng(t.seed)
        self.train_x = train_x
        self.batcher = BucketBatcher(np.array([len(s) for s in train_x]), t.batch, t.seed + 7)
        self.tokens_per_step = int(np.mean([len(s) for s in train_x]) * self.batcher.B)
        self.last_batch: tuple[np.ndarray, np.ndarray] | None = None

    def input_shape(self) -> tuple[int, int, list[str]]:
        longest = max((len(s) for s in self.train_x), default=1)
        what = ("the last state (each sentence's own last token) predicts its label "
                "(many-to-one)" if self.last_only else
                "every step predicts its token's tag (many-to-many)")
        return self.batcher.B, longest, [
            f"batch: {self.batcher.B} sentences of about the same length; time: the batch's "
            f"longest sentence, up to {longest} tokens here (shorter ones padded and masked)",
            what]

    def parameter_groups(self) -> list[ParamGroup]:
        return [ParamGroup("", self.net.params, self.opt)]

    @property
    def epoch(self) -> int:
        return self.batcher.epoch

    # ------------------------------------------------------------------ training
    def batch_inputs(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(x, lengths) for training sentences ``idx`` (a subclass may corrupt them, e.g. word
        dropout)."""
        return pad_batch([self.train_x[i] for i in idx])

    def batch_targets(self, idx: np.ndarray, T: int) -> np.ndarray:
        raise NotImplementedError

    def step(self):
        idx, _ = self.batcher.next_batch()
        x, lengths = self.batch_inputs(idx)
        y = self.batch_targets(idx, x.shape[0])
        rng = self.rng if self.cfg.model.dropout > 0 else None
        info = train_step(self.net, x, y, self.net.initial_state(len(idx)), self.opt,
                          self.cfg.train.clip, rng=rng, last_only=self.last_only,
                          lengths=lengths)
        self.last_batch = (x, lengths)
        return info, int(lengths.sum())

    # ------------------------------------------------------------------ scoring
    def outputs(self, seqs: list[np.ndarray]) -> list[np.ndarray]:
        """Head outputs for each sequence: (K,) many-to-one, or (n, K) per token; batched by
        length, no dropout."""
        order = np.argsort([len(s) for s in seqs], kind="stable")
        out: list[np.ndarray] = [np.empty(0)] * len(seqs)
        for s in range(0, len(order), EVAL_BATCH):
            idx = order[s : s + EVAL_BATCH]
            x, lengths = pad_batch([seqs[i] for i in idx])
            fwd = self.net.forward(x, self.net.initial_state(len(idx)), lengths=lengths)
            if self.last_only:
                logits = self.net.head(self.net.summary(fwd))
                for k, i in enumerate(idx):
                    out[i] = logits[k].astype(np.float64)
            else:
                T, B, W = fwd.y.shape
                logits = self.net.head(fwd.y.reshape(T * B, W)).reshape(T, B, -1)
                for k, i in enumerate(idx):
                    out[i] = logits[: lengths[k], k].astype(np.float64)
        return out

    def hidden_snapshot(self, max_steps: int = 48) -> ev.HiddenSnapshot | None:
        """The hidden state and gates of every layer (forward direction) while reading the
        first sentence of :meth:`snapshot_batch`; gate saturation over all of them."""
        batch = self.snapshot_batch(max_steps)
        return None if batch is None else hidden_snapshot(self.net, *batch)

    # ------------------------------------------------------------------ checkpoints
    def checkpoint_meta(self) -> dict[str, Any]:
        raise NotImplementedError

    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        arrays, meta = groups_checkpoint(self.parameter_groups())
        meta.update({"task": self.kind, "spec": self.net.spec.to_dict(),
                     "dtype": self.net.dtype.name, "rng": self.rng.bit_generator.state,
                     "batcher": self.batcher.state_dict(), **self.checkpoint_meta()})
        return arrays, meta

    def restore(self, arrays, meta) -> None:
        check_compatible(self.net, None, arrays, meta)
        self.check_vocabulary(meta)
        restore_groups(self.parameter_groups(), arrays, meta)
        self.rng.bit_generator.state = meta["rng"]
        self.batcher.load_state_dict(meta["batcher"])

    def check_vocabulary(self, meta) -> None:
        """Refuse a checkpoint whose vocabularies or labels differ from this task's."""
        from rnn_tui.errors import UserError

        mine = self.checkpoint_meta()
        for key, value in mine.items():
            if meta.get(key) != value:
                raise UserError(f"checkpoint was trained with a different {key}; resume it on "
                                "the same data and settings")


def accuracy(pred: list, gold: list) -> float:
    return float(np.mean([p == g for p, g in zip(pred, gold, strict=True)])) if gold else 0.0
