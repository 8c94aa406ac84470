"""The built-in corpora and their ``manifest.toml``; shipped as ``rnn_tui.corpora``."""
