"""The tasks rnn-tui trains, one module each, all behind :class:`rnn_tui.train.task.Task`:
``language`` (char and word models), ``series`` (forecasting)."""
