r"""A network described layer by layer, as Keras's ``model.summary()`` does: each layer's output
shape with its dimensions named ``(batch, time, features)``, whether it returns the whole
sequence or only its last state, and its parameters matrix by matrix.

Weights are named and shaped as PyTorch shows them (output-major, ``W x``): a recurrent layer
with G gate blocks (1 RNN, 4 LSTM, 3 GRU), H units and input width I has

.. math::  W_{ih} \in \mathbb{R}^{GH \times I},\quad W_{hh} \in \mathbb{R}^{GH \times H},\quad
           b_{ih}, b_{hh} \in \mathbb{R}^{GH}

(the textbooks' :math:`W_{xh}` is :math:`W_{ih}`); the head is
:math:`W_{hy} \in \mathbb{R}^{O \times DH}`, :math:`b_y \in \mathbb{R}^{O}` for D directions.
The rows are read off the network's own parameter layout, so their counts add up to the size of
its flat parameter buffer by construction.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from rnn_tui.core.network import NetSpec, Network, layer_names

SEQUENCE = "sequence"  # every step's output: return_sequences=True
LAST = "last"  # the last state only: return_sequences=False
MANY_TO_MANY = "many-to-many"
MANY_TO_ONE = "many-to-one"
DIMS_SEQUENCE = ("batch", "time", "features")
DIMS_LAST = ("batch", "features")
GATE_SYMBOL = {1: "H", 3: "3H", 4: "4H"}


@dataclass(frozen=True)
class Weight:
    """One parameter array: its name, its shape (PyTorch's orientation) in numbers and in
    symbols, and where it sits in the flat buffer (our name)."""

    name: str
    shape: tuple[int, ...]
    symbols: tuple[str, ...]
    slot: str

    @property
    def size(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n


@dataclass(frozen=True)
class LayerRow:
    """One row of the table: a layer, its output and its weights."""

    name: str  # embedding, one-hot, input, lstm 1 →, lstm 1 ←, head
    kind: str  # embedding | onehot | real | recurrent | head
    output: tuple[int, ...]  # in the order of ``dims``
    dims: tuple[str, ...]
    returns: str  # SEQUENCE or LAST
    weights: tuple[Weight, ...] = ()
    group: str = ""  # the parameter group (embed, l0, l0r, head): the gradient-norm key
    direction: str = ""  # "forward" or "backward" for a recurrent layer

    @property
    def params(self) -> int:
        return sum(w.size for w in self.weights)

    @property
    def return_sequences(self) -> bool:
        return self.returns == SEQUENCE

    @property
    def setup(self) -> str:
        """Many-to-many when every step's output goes on, many-to-one for the last only."""
        return MANY_TO_MANY if self.return_sequences else MANY_TO_ONE

    def to_dict(self) -> dict:
        d = asdict(self)
        d["output"] = list(self.output)
        d["dims"] = list(self.dims)
        d["return_sequences"] = self.return_sequences
        d["setup"] = self.setup
        d["params"] = self.params
        d["weights"] = [{"name": w.name, "shape": list(w.shape), "symbols": list(w.symbols),
                         "size": w.size, "slot": w.slot} for w in self.weights]
        return d


@dataclass
class Anatomy:
    """The table of a model: its rows, the batch and sequence length it is read at, and how
    many identical networks it holds (a forecaster averages several)."""

    rows: list[LayerRow]
    batch: int
    time: int
    setup: str
    cell: str
    members: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def params_per_network(self) -> int:
        return sum(r.params for r in self.rows)

    @property
    def total_params(self) -> int:
        return self.members * self.params_per_network


def network_anatomy(spec: NetSpec, batch: int, time: int, many_to_one: bool,
                    members: int = 1) -> Anatomy:
    """The rows of a network shaped ``spec`` read at ``batch`` sequences of ``time`` steps;
    ``many_to_one``: the head reads only the top layer's last state."""
    layout = Network.build_layout(spec)
    slots = layout.slots
    setup = MANY_TO_ONE if many_to_one else MANY_TO_MANY
    B, T, H, D = int(batch), int(time), spec.hidden, spec.directions
    gh = GATE_SYMBOL.get(spec.gates, f"{spec.gates}H")
    seq_out = lambda f: ((B, T, f), DIMS_SEQUENCE)  # noqa: E731
    rows: list[LayerRow] = []

    def weight(slot: str, name: str, symbols: tuple[str, ...], transposed: bool) -> Weight:
        shape = slots[slot].shape[::-1] if transposed else slots[slot].shape
        return Weight(name, tuple(shape), symbols, slot)

    if spec.input_mode == "embedding":
        weights = [weight("embed.W", "W_emb", ("V", "E"), False)]
        weights += [weight(f"feat{c}.W", f"W_feat{c}", (f"V{c}", "F"), False)
                    for c in range(len(spec.features))]
        rows.append(LayerRow("embedding", "embedding", *seq_out(spec.input_width), SEQUENCE,
                             tuple(weights), "embed"))
        in_symbol = "E" if not spec.features else f"E+{len(spec.features)}F"
    elif spec.input_mode == "onehot":
        rows.append(LayerRow("one-hot", "onehot", *seq_out(spec.input_size), SEQUENCE))
        in_symbol = "V"
    else:
        rows.append(LayerRow("input", "real", *seq_out(spec.input_size), SEQUENCE))
        in_symbol = "I"
    arrows = {"": "→", "r": "←"}
    for layer in range(spec.layers):
        top = layer == spec.layers - 1
        last = top and many_to_one
        x_symbol = in_symbol if layer == 0 else ("H" if D == 1 else f"{D}H")
        for name in layer_names(layer, D):
            backward = name.endswith("r")
            weights = (weight(f"{name}.W_ih", "W_ih", (gh, x_symbol), True),
                       weight(f"{name}.W_hh", "W_hh", (gh, "H"), True),
                       weight(f"{name}.b_ih", "b_ih", (gh,), False),
                       weight(f"{name}.b_hh", "b_hh", (gh,), False))
            label = f"{spec.cell} {layer + 1}" + (f" {arrows['r' if backward else '']}"
                                                   if D == 2 else "")
            out, dims = ((B, H), DIMS_LAST) if last else seq_out(H)
            rows.append(LayerRow(label, "recurrent", out, dims, LAST if last else SEQUENCE,
                                 weights, name, "backward" if backward else "forward"))
    h_symbol = "H" if D == 1 else f"{D}H"
    head = (weight("head.W", "W_hy", ("O", h_symbol), True), weight("head.b", "b_y", ("O",),
                                                                       False))
    out, dims = ((B, spec.output_size), DIMS_LAST) if many_to_one else seq_out(spec.output_size)
    rows.append(LayerRow("head", "head", out, dims, LAST if many_to_one else SEQUENCE,
                         head, "head"))
    anatomy = Anatomy(rows, B, T, setup, spec.cell, members)
    if D == 2:
        read = ("the last state of → (after the last token) and of ← (after reading back to "
                "the first)") if many_to_one else "both directions at every step"
        anatomy.notes.append(f"→ reads forward, ← backward; what goes on is {read}, "
                             f"concatenated: {D}H = {D * H} features")
    if anatomy.params_per_network != layout.size:  # every slot in exactly one row
        raise ValueError("the anatomy misses parameters of the layout")
    return anatomy
