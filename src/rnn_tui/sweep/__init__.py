"""Experiments: a sweep expands a grid (and optionally random draws) of ``train`` settings into
ordinary run configs and hands them to Ray Tune; ``compare`` reads the runs back.

- :mod:`~rnn_tui.sweep.spec`: the axis syntax (``rnn,lstm``, ``64..256..64``, ``1e-3:1e-2:log``),
  the ``[sweep]`` TOML table, the expansion into trials and their names. Pure Python.
- :mod:`~rnn_tui.sweep.record`: ``sweep.json``, the sweep's own record, written atomically.
- :mod:`~rnn_tui.sweep.engine` and :mod:`~rnn_tui.sweep.trial`: Ray Tune (the ``[sweep]``
  extra), imported only by ``rnn-tui sweep``.
- :mod:`~rnn_tui.sweep.summary`: the live Rich table and the ranked one at the end, labelled by
  the settings in which the trials differ (:mod:`rnn_tui.train.labels`, shared with ``compare``).

Nothing here imports Ray at import time except ``engine`` and ``trial``, so the core install
never needs it.
"""
