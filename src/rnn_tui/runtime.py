"""Process-wide run-time settings: BLAS threads."""

from __future__ import annotations

import os


def configure_threads(n: int | None = None) -> None:
    """Use one BLAS thread unless ``RNN_TUI_BLAS_THREADS`` says otherwise.

    Measured here: with two BLAS threads, any other busy thread (the app, another process) slowed
    training steps 10-30x; one thread was steady. Numba's ``np.dot`` calls SciPy's OpenBLAS, a
    different copy from NumPy's, so both are limited.
    """
    if n is None:
        n = int(os.environ.get("RNN_TUI_BLAS_THREADS", "1"))
    import scipy.linalg.cython_blas  # noqa: F401  (make SciPy's BLAS visible to threadpoolctl)
    from threadpoolctl import threadpool_limits

    threadpool_limits(n, user_api="blas")
