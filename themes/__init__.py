"""The built-in themes, one Textual theme per ``*.toml`` file; shipped as ``rnn_tui.themes``."""
