"""Task models built on the core: language models and time-series forecasters."""
