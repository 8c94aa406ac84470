"""One flat parameter buffer per model, with named views.

Weights, gradients and optimizer state are each one contiguous 1-D array; every named parameter is a
reshaped view into it. The optimizer and clipping kernels then run over one array, and a checkpoint
is a handful of arrays.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Slot:
    name: str
    shape: tuple[int, ...]
    offset: int

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    @property
    def group(self) -> str:
        """The parameter group for gradient-norm reporting: the part before the first dot."""
        return self.name.split(".", 1)[0]


class Layout:
    """An ordered list of named shapes and their offsets in a flat buffer."""

    def __init__(self, entries: Iterable[tuple[str, tuple[int, ...]]]):
        self.slots: dict[str, Slot] = {}
        offset = 0
        for name, shape in entries:
            if name in self.slots:
                raise ValueError(f"duplicate parameter name {name!r}")
            slot = Slot(name, tuple(int(s) for s in shape), offset)
            self.slots[name] = slot
            offset += slot.size
        self.size = offset

    def __iter__(self) -> Iterator[Slot]:
        return iter(self.slots.values())

    def views(self, flat: np.ndarray) -> dict[str, np.ndarray]:
        """Named views into ``flat`` (no copies)."""
        if flat.shape != (self.size,):
            raise ValueError(f"buffer has shape {flat.shape}, layout needs ({self.size},)")
        return {s.name: flat[s.offset : s.offset + s.size].reshape(s.shape) for s in self}

    def groups(self) -> dict[str, list[Slot]]:
        out: dict[str, list[Slot]] = {}
        for s in self:
            out.setdefault(s.group, []).append(s)
        return out


class Params:
    """Flat ``data`` and ``grad`` buffers with named views ``p[name]`` and ``p.g[name]``."""

    def __init__(self, layout: Layout, dtype=np.float32):
        self.layout = layout
        self.dtype = np.dtype(dtype)
        self.data = np.zeros(layout.size, dtype=self.dtype)
        self.grad = np.zeros(layout.size, dtype=self.dtype)
        self.w = layout.views(self.data)
        self.g = layout.views(self.grad)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.w[name]

    def names(self) -> list[str]:
        return list(self.layout.slots)

    def zero_grad(self) -> None:
        self.grad.fill(0)

    def load_flat(self, flat: np.ndarray) -> None:
        """Copy values into the buffer in place (views stay valid)."""
        if flat.shape != self.data.shape:
            raise ValueError(f"parameter vector has shape {flat.shape}, expected {self.data.shape}")
        self.data[...] = flat

    def group_grad_norms(self) -> dict[str, float]:
        """L2 norm of the gradient per group (``embed``, ``l0``, ``l1``, ..., ``head``)."""
        from rnn_tui.core.optim import global_norm  # float64 accumulation, no overflow

        out = {}
        for group, slots in self.layout.groups().items():
            sq = 0.0
            for s in slots:
                sq += float(global_norm(self.grad[s.offset : s.offset + s.size])) ** 2
            out[group] = float(np.sqrt(sq))
        return out

    def param_grad_norms(self) -> dict[str, float]:
        """L2 norm of the gradient of every named parameter."""
        from rnn_tui.core.optim import global_norm

        return {s.name: float(global_norm(self.grad[s.offset : s.offset + s.size]))
                for s in self.layout}


def stack_offsets(layout: Layout, layers: int) -> np.ndarray:
    """(L+1, 4) int64, where a kernel finds a stacked network's parameters in the flat buffer:
    per layer the offsets of W_ih, W_hh, b_ih, b_hh; last row the offsets of the embedding
    (0 without one), the head's W and b, and layer 0's input width."""
    slots = layout.slots
    offs = np.zeros((layers + 1, 4), dtype=np.int64)
    for layer in range(layers):
        for k, name in enumerate(("W_ih", "W_hh", "b_ih", "b_hh")):
            offs[layer, k] = slots[f"l{layer}.{name}"].offset
    emb = slots.get("embed.W")
    offs[layers] = (emb.offset if emb else 0, slots["head.W"].offset, slots["head.b"].offset,
                    slots["l0.W_ih"].shape[0])
    return offs
