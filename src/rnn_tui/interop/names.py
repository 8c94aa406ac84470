"""Our parameter names and shapes to PyTorch's ``state_dict`` and back (NumPy only).

A file describes three PyTorch modules held as the attributes ``embedding``, ``rnn`` and
``head`` of one ``nn.Module``::

    embedding = nn.Embedding(V, E)            # absent for one-hot input (rnn input size V)
    rnn = nn.LSTM(E, H, L)                    # or nn.GRU, nn.RNN (nonlinearity "relu" for
                                              # rnn_relu); bidirectional=True adds *_reverse
    head = nn.Linear(H * directions, O)

Our recurrent and head weights are stored input-major (``x @ W``), PyTorch's output-major
(``W x``): ``l{k}.W_ih`` (in, G*H) is ``rnn.weight_ih_l{k}`` transposed, ``l{k}.W_hh`` (H, G*H)
is ``rnn.weight_hh_l{k}`` transposed, ``head.W`` (H, O) is ``head.weight`` transposed. Biases and
the embedding table have the same shape on both sides. The gate order is PyTorch's already
(LSTM i, f, g, o; GRU r, z, n), so no block is reordered. A bidirectional layer's reverse
direction is ``l{k}r.*`` here and ``rnn.*_l{k}_reverse`` there.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnn_tui.errors import UserError

EMBEDDING = "embedding.weight"
HEAD_WEIGHT = "head.weight"
HEAD_BIAS = "head.bias"
# (ours, PyTorch's, transposed)
_LAYER_PARTS = (("W_ih", "weight_ih", True), ("W_hh", "weight_hh", True),
                ("b_ih", "bias_ih", False), ("b_hh", "bias_hh", False))


def is_bidirectional(spec) -> bool:
    """Whether a network has reverse-direction layers (a core without them: never)."""
    return bool(getattr(spec, "bidirectional", False))


def name_map(spec) -> list[tuple[str, str, bool]]:
    """(our name, PyTorch's name, transposed) for every parameter of a network shaped ``spec``,
    in our layout's order."""
    out: list[tuple[str, str, bool]] = []
    if spec.input_mode == "embedding":
        out.append(("embed.W", EMBEDDING, False))
    directions = [("", "")] + ([("r", "_reverse")] if is_bidirectional(spec) else [])
    for k in range(spec.layers):
        for ours_dir, theirs_dir in directions:
            for ours, theirs, transposed in _LAYER_PARTS:
                out.append((f"l{k}{ours_dir}.{ours}", f"rnn.{theirs}_l{k}{theirs_dir}",
                            transposed))
    out += [("head.W", HEAD_WEIGHT, True), ("head.b", HEAD_BIAS, False)]
    return out


def describe(spec) -> str:
    """A few words naming a model shape, for messages: "2-layer lstm, hidden 64"."""
    bi = "bidirectional " if is_bidirectional(spec) else ""
    return f"{spec.layers}-layer {bi}{spec.cell}, hidden {spec.hidden}"


def to_torch(weights: Mapping[str, np.ndarray], spec) -> dict[str, np.ndarray]:
    """PyTorch-named, PyTorch-shaped copies of a network's weights (``Params.w``)."""
    pairs = name_map(spec)
    known = {ours for ours, _, _ in pairs}
    unmapped = [name for name in weights if name not in known]
    if unmapped:
        raise UserError(f"no PyTorch name for the parameters {', '.join(unmapped[:3])}; this "
                        "rnn-tui cannot export such a model")
    absent = [ours for ours in known if ours not in weights]
    if absent:
        raise ValueError(f"the weights lack {', '.join(absent[:3])} for a {describe(spec)}")
    return {theirs: np.ascontiguousarray(weights[ours].T if transposed else weights[ours])
            for ours, theirs, transposed in pairs}


def from_torch(tensors: Mapping[str, np.ndarray], spec, layout) -> dict[str, np.ndarray]:
    """Our-named, our-shaped views of PyTorch-named tensors for a network shaped ``spec`` whose
    layout is ``layout`` (:class:`~rnn_tui.core.params.Layout`). A missing or left-over tensor,
    or one of the wrong shape, is a :class:`UserError`."""
    pairs = name_map(spec)
    slots = getattr(layout, "slots", layout)
    if set(slots) != {ours for ours, _, _ in pairs}:
        raise ValueError("the layout and the name map disagree; the core has parameters "
                         "this mapping does not know")
    missing = [theirs for _, theirs, _ in pairs if theirs not in tensors]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise UserError(f"the file has no tensor {missing[0]}{more}, which a "
                        f"{describe(spec)} needs")
    expected = {theirs for _, theirs, _ in pairs}
    unexpected = sorted(name for name in tensors if name not in expected)
    if unexpected:
        raise UserError(f"the file holds tensors a {describe(spec)} has no place for: "
                        f"{', '.join(unexpected[:3])}"
                        + (f" (and {len(unexpected) - 3} more)" if len(unexpected) > 3 else ""))
    out: dict[str, np.ndarray] = {}
    for ours, theirs, transposed in pairs:
        shape = tuple(getattr(slots[ours], "shape", slots[ours]))
        want = shape[::-1] if transposed else shape
        arr = tensors[theirs]
        if tuple(arr.shape) != want:
            raise UserError(f"shapes do not fit: {theirs} is {_fmt(arr.shape)}, a "
                            f"{describe(spec)} needs {_fmt(want)}")
        out[ours] = arr.T if transposed else arr
    return out


def _fmt(shape) -> str:
    return "(" + "x".join(str(int(s)) for s in shape) + ")"
