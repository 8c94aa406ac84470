"""What a task is: the one interface the trainer (and the run loader) relies on.

A task owns its data, its networks, their optimizers and any carried state. It knows how to take
a training step, evaluate itself, describe what it is learning in events, and save and restore
itself. The trainer only calls the methods below, so a new task (a module in
:mod:`rnn_tui.tasks` and a line in :data:`rnn_tui.session.TASK_CLASSES`) touches neither the
trainer nor the app's core; the app shows the panels a task names in :attr:`Task.views`.

The trainer sees weights only as :class:`ParamGroup` s, from :meth:`Task.parameter_groups`:
each is one network's flat parameters (``params.data``, ``params.grad``) and the optimizer that
updates them. It sets every group's learning rate before each step, counts their parameters,
reports their gradient norms (:meth:`Task.gradient_norms`) and, to roll back a divergence,
copies and restores every group's weights and optimizer state. It never reaches for a network.

The sequence-to-sequence task (:mod:`rnn_tui.tasks.seq2seq`) keeps its encoder, attention and
decoder in one flat buffer with one optimizer, and so is one group. A task of two networks
built apart, an encoder and a decoder, plugs in so:

- it builds both :class:`~rnn_tui.core.Network` s and one optimizer for each (or one optimizer
  over both, were their parameters one buffer) and returns
  ``[ParamGroup("encoder", enc.params, enc_opt), ParamGroup("decoder", dec.params, dec_opt)]``;
- its :meth:`Task.step` runs the encoder forward (``Network.forward``), starts the decoder from
  the encoder's final state (``Network.loss_and_grad``, whose result carries ``dh0``/``dc0``,
  the gradient on that state), runs the encoder backward from it (``Network.backward`` with a
  zero ``dy`` and that ``dstate``), clips both groups' gradients by their joint norm and steps
  each optimizer; it returns one :class:`~rnn_tui.models.training.StepInfo` for the pair;
- :func:`groups_checkpoint` and :func:`restore_groups` save and load every group's weights and
  optimizer state (group k's arrays are ``params.k`` and ``optk.*``, the first's ``params`` and
  ``opt.*``), so its :meth:`Task.checkpoint` adds only what else it carries (vocabularies,
  random generators);
- the gradient view shows ``encoder.l0``, ``decoder.l0``, ``decoder.head`` … by default.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from rnn_tui.core.anatomy import Anatomy, network_anatomy
from rnn_tui.errors import UserError
from rnn_tui.train import events as ev

if TYPE_CHECKING:
    from rnn_tui.core.optim import Optimizer
    from rnn_tui.core.params import Params

# The task-specific panels the dashboard knows (beside loss, gradients and the hidden state).
VIEW_TEXT = "text"  # generated text (language models)
VIEW_FORECAST = "forecast"  # forecast chart and error table (series)
VIEW_CLASSIFY = "classify"  # accuracy, confusion matrix, scored sentences
VIEW_TAG = "tag"  # a tagged sentence, accuracy on known and unknown words


@dataclass
class ParamGroup:
    """One network's parameters and the optimizer that updates them. ``name`` prefixes its
    gradient norms in the gradient view ("" for a task's only network)."""

    name: str
    params: Params
    optimizer: Optimizer


def groups_checkpoint(groups: list[ParamGroup]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(arrays, metadata) of every group's weights and optimizer state: group 0's as
    ``params`` and ``opt.NAME`` with its optimizer in ``meta["optimizer"]``, group k's as
    ``params.k`` and ``optk.NAME`` with its optimizer in ``meta["optimizers"][k - 1]``."""
    arrays: dict[str, np.ndarray] = {}
    metas = []
    for k, g in enumerate(groups):
        om, oa = g.optimizer.state_dict()
        metas.append(om)
        arrays["params" if k == 0 else f"params.{k}"] = g.params.data
        arrays.update({(f"opt.{n}" if k == 0 else f"opt{k}.{n}"): v for n, v in oa.items()})
    meta: dict[str, Any] = {"optimizer": metas[0]}
    if len(groups) > 1:
        meta["optimizers"] = metas[1:]
    return arrays, meta


def checkpoint_optimizers(meta: dict[str, Any]) -> list[Any]:
    """The optimizer entries of a checkpoint's metadata, group by group."""
    rest = meta.get("optimizers")
    return [meta.get("optimizer")] + (list(rest) if isinstance(rest, list) else [])


def restore_groups(groups: list[ParamGroup], arrays: dict[str, np.ndarray],
                   meta: dict[str, Any]) -> None:
    """Load what :func:`groups_checkpoint` wrote into ``groups`` (each group's shapes and
    optimizer checked before anything is loaded)."""
    opts = checkpoint_optimizers(meta)
    if len(opts) < len(groups):
        raise UserError(f"checkpoint holds {len(opts)} networks, this run has {len(groups)}; "
                        "resume it with the run's own settings")
    for k, g in enumerate(groups):
        data = arrays.get("params" if k == 0 else f"params.{k}")
        if data is None or data.shape != g.params.data.shape:
            raise UserError("checkpoint parameter vector does not fit this model")
        om = opts[k]
        if not isinstance(om, dict) or om.get("name") != g.optimizer.name:
            name = om.get("name") if isinstance(om, dict) else None
            raise UserError(f"the checkpoint was trained with the {name!r} optimizer, this run "
                            f"asks for {g.optimizer.name!r}; resume with --optimizer {name} or "
                            "start a new run")
    for k, g in enumerate(groups):
        g.params.load_flat(arrays["params" if k == 0 else f"params.{k}"])
        prefix = "opt." if k == 0 else f"opt{k}."
        try:
            g.optimizer.load_state_dict(opts[k], {n[len(prefix):]: v for n, v in arrays.items()
                                                  if n.startswith(prefix)})
        except (KeyError, ValueError, TypeError) as err:
            raise UserError(f"checkpoint optimizer state does not fit this model ({err}); the "
                            "file is corrupt") from None


class Task(ABC):
    """The interface between a task and :class:`~rnn_tui.train.trainer.Trainer`."""

    kind: ClassVar[str] = ""  # the config's data.task: char, word, series, classify, tag
    views: ClassVar[tuple[str, ...]] = ()
    loss_name: ClassVar[str] = "nats/token"
    # what "best" is chosen by (see selection_score): val_loss, or a key of the metrics
    best_by: ClassVar[str] = "val_loss"
    # what "the best weights" means: the lowest validation loss, unless a task says otherwise
    overfitting_message: ClassVar[str] = (
        "validation loss rising: the model is memorising the training text (best {best:.4f} "
        "at step {step:,}; best.npz keeps those weights)")

    # many-to-one (the head reads the last state only) or many-to-many (every step's output)
    last_only: ClassVar[bool] = False

    tokens_per_step: int = 0  # for tokens/s and time-left estimates
    # False when the data were too few to hold any out and validation scores the training
    # data: there is then no "memorising" to warn of
    held_out: bool = True

    # ------------------------------------------------------------------ building
    @classmethod
    @abstractmethod
    def from_config(cls, cfg) -> Task:
        """Read and check the data a config names and build the model (every input check
        happens here, before a run directory exists)."""

    # ------------------------------------------------------------------ training
    @abstractmethod
    def parameter_groups(self) -> list[ParamGroup]:
        """Every network's parameters with its optimizer, in a fixed order (the trainer's only
        view of the weights)."""

    def gradient_norms(self) -> dict[str, float]:
        """The latest step's gradient norm per parameter group of every network (``l0``,
        ``head`` …), prefixed by the network's name where it has one."""
        out: dict[str, float] = {}
        for g in self.parameter_groups():
            for k, v in g.params.group_grad_norms().items():
                out[f"{g.name}.{k}" if g.name else k] = v
        return out

    @property
    @abstractmethod
    def epoch(self) -> int:
        """Passes over the training data so far."""

    @abstractmethod
    def step(self):
        """One optimisation step: returns (:class:`~rnn_tui.models.training.StepInfo`, the
        number of input tokens or time steps it consumed). Raises
        :class:`~rnn_tui.models.training.NonFiniteError` without touching the weights when the
        step would make them non-finite."""

    def prepare(self) -> None:  # noqa: B027  (an optional hook, empty by default)
        """Called once as training starts, before the first step: start anything that can be
        readied beside it (the language task compiles its sampler ahead on a new install)."""

    def reset_state(self) -> None:  # noqa: B027  (an optional hook, empty by default)
        """Forget any state carried between batches (after a divergence is rolled back)."""

    @abstractmethod
    def evaluate(self) -> tuple[float, dict[str, float]]:
        """(validation loss, further metrics such as perplexity, accuracy, MAE)."""

    def selection_score(self, val_loss: float, metrics: dict[str, float]) -> float:
        """Lower is better: which evaluation's weights best.npz keeps, and what patience
        waits for. By default the validation loss; a task that overrides it names the measure
        in :attr:`best_by`."""
        return val_loss

    # ------------------------------------------------------------------ what it shows
    def run_info(self) -> dict[str, Any]:
        """Fields for the ``run_started`` event (``vocab_size``)."""
        return {"vocab_size": 0}

    def gradient_flow(self, info) -> np.ndarray:
        r"""(layers, T): :math:`\lVert \partial L / \partial h_t \rVert` to show how far back
        the gradient reaches; by default the step's own profile."""
        return info.dh_norms

    def hidden_snapshot(self) -> ev.HiddenSnapshot | None:
        """The hidden state over one input sequence, or None."""
        return None

    def snapshot_batch(self, max_steps: int = 48) -> tuple[np.ndarray, list[str],
                                                           np.ndarray | None] | None:
        """(x (T, B, ...), the labels of sequence 0's steps, lengths or None): the batch the
        hidden-state and model views look at, or None before there is one."""
        return None

    def output_names(self) -> list[str] | None:
        """The head's classes in order (tokens, labels, tags), or None for values."""
        return None

    def model_snapshot(self, before: np.ndarray | None = None) -> ev.ModelSnapshot | None:
        """The network unrolled over :meth:`snapshot_batch` with statistics per layer;
        ``before``: the flat weights before the last update (for its relative size)."""
        from rnn_tui.models.unrolled import model_snapshot

        batch = self.snapshot_batch()
        if batch is None:
            return None
        x, tokens, lengths = batch
        b, t, _ = self.input_shape()
        return ev.ModelSnapshot(**model_snapshot(self.net, x, tokens, self.last_only,
                                                 self.output_names(), before, lengths, b, t))

    def networks(self) -> list[Any]:
        """Every network the task trains (identical in shape; a forecaster averages several)."""
        return [self.net]

    def input_shape(self) -> tuple[int, int, list[str]]:
        """(batch, time steps, notes on what they are) of one training step's input."""
        t = self.cfg.train  # type: ignore[attr-defined]
        return t.batch, t.seq, []

    def anatomy(self) -> Anatomy:
        """The network layer by layer at this task's batch and sequence length (``rnn-tui
        summary``, the app's model view)."""
        batch, time, notes = self.input_shape()
        anatomy = network_anatomy(self.net.spec, batch, time, self.last_only,
                                  len(self.networks()))
        anatomy.notes = [*notes, *anatomy.notes]
        return anatomy

    def evaluate_file(self, path, encoding: str = "utf-8") -> tuple[float, dict[str, float]]:
        """Score a file of this task's kind of data with the current weights (``rnn-tui
        evaluate RUN --data FILE``)."""
        raise UserError(f"a {self.kind} run cannot score a file; evaluate it on its own "
                        "validation data (without --data)")

    def embedding_snapshot(self) -> ev.EmbeddingSnapshot | None:
        """The input vectors of the most frequent tokens, for models that read tokens."""
        return None

    def eval_events(self) -> list[ev.Event]:
        """Task-specific events sent after each evaluation (the forecast, a confusion matrix)."""
        return []

    def sample(self, temperature: float, length: int) -> ev.SampleText | None:
        """Generated text (token by token, with the next-token distributions) for a generative
        task, else None."""
        return None

    # ------------------------------------------------------------------ checkpoints
    @abstractmethod
    def checkpoint(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """(arrays, JSON metadata) that restore this task exactly."""

    @abstractmethod
    def restore(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        """Load a checkpoint written by :meth:`checkpoint` (refusing one from another model)."""
