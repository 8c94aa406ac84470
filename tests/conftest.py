"""Shared test helpers: where the shared data lives, and small model builders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE = SHARED / "reference" / "torch_rnn_cases.npz"
TINY_SHAKESPEARE = SHARED / "corpora" / "tinyshakespeare.txt"
SERIES_DIR = SHARED / "series"


@pytest.fixture(scope="session")
def torch_cases():
    if not REFERENCE.exists():
        pytest.fail(f"missing shared reference data at {REFERENCE}")
    return np.load(REFERENCE)
