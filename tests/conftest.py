"""Shared test helpers: where the shared data lives, and small model builders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"  # larger data sets, where present
FIXTURES = Path(__file__).resolve().parent / "fixtures"
REFERENCE = FIXTURES / "reference" / "torch_rnn_cases.npz"  # PyTorch's outputs and gradients
SERIES_DIR = FIXTURES / "series"


@pytest.fixture(scope="session")
def torch_cases():
    if not REFERENCE.exists():
        pytest.fail(f"missing reference data at {REFERENCE}")
    return np.load(REFERENCE)


def pytest_configure(config):
    """One BLAS thread, as the trainer uses: steady timings on a shared 2-core machine and
    bit-for-bit repeatable results."""
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (load SciPy's BLAS, the kernels' fallback)
    except ImportError:
        pass
    from threadpoolctl import threadpool_limits

    config._rnn_tui_blas = threadpool_limits(1)
