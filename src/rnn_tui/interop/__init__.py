"""Interop: weights in and out with PyTorch's names (safetensors, no pickle), and the training
log as TensorBoard event files or a CSV beside ``metrics.jsonl``.

- :mod:`.names`: our parameter names and layout to PyTorch's ``state_dict`` names and shapes
  and back (NumPy only);
- :mod:`.weights`: ``rnn-tui export RUN --to FILE.safetensors`` and reading such a file;
- :mod:`.importer`: ``rnn-tui import FILE.safetensors``, a run directory from such a file;
- :mod:`.logs`: the scalars of the event stream as TensorBoard events (``tensorboardX``, the
  ``[tensorboard]`` extra) or ``metrics.csv``: live sinks for ``train --log`` and an exporter.

Neither torch nor TensorFlow is imported here: the files are plain tensors that PyTorch's own
modules load with ``load_state_dict(strict=True)``.
"""
