r"""Elementwise nonlinearities for the kernels.

float32 uses a clamped rational approximation of tanh (the odd/even polynomial pair Eigen uses),
which LLVM vectorises; Numba's scalar ``math.tanh`` is a libm call per element and is not
vectorised here (no SVML). Max abs error against float64 tanh is about 3e-7. float64 (used by the
gradient checks) keeps the exact ``math.tanh``.

.. math::
    \tanh x \approx x\,\frac{\alpha_1 + \alpha_3 x^2 + \dots + \alpha_{13} x^{12}}
                           {\beta_0 + \beta_2 x^2 + \beta_4 x^4 + \beta_6 x^6},
    \qquad |x| \le 7.9053 \\
    \sigma(x) = \tfrac12 \tanh(\tfrac x2) + \tfrac12

``exp_nonpositive`` (softmax weights after the max is subtracted, so x <= 0) is
:math:`(e^{x/64})^{64}`, the inner exponential a degree-12 Taylor polynomial on [-0.625, 0]:
arithmetic only, so a loop over the vocabulary vectorises (``math.exp`` is a libm call per
element here). Relative error below 1e-10 (4e-11 measured); x < -40 gives 0 (e^-40 = 4e-18 is
below what a float64 uniform draw can land on).
"""

from __future__ import annotations

import math

import numpy as np
from numba import types
from numba.extending import overload

from rnn_tui.core.fast._jit import FASTMATH

_CLAMP = np.float32(7.90531110763549805)
_A1 = np.float32(4.89352455891786e-03)
_A3 = np.float32(6.37261928875436e-04)
_A5 = np.float32(1.48572235717979e-05)
_A7 = np.float32(5.12229709037114e-08)
_A9 = np.float32(-8.60467152213735e-11)
_A11 = np.float32(2.00018790482477e-13)
_A13 = np.float32(-2.76076847742355e-16)
_B0 = np.float32(4.89352518554385e-03)
_B2 = np.float32(2.26843463243900e-03)
_B4 = np.float32(1.18534705686654e-04)
_B6 = np.float32(1.19825839466702e-06)
_HALF32 = np.float32(0.5)


def tanh(x):  # pragma: no cover - replaced by the overload inside kernels
    """tanh for use inside kernels: fast rational form in float32, exact in float64."""
    return math.tanh(x)


def sigmoid(x):  # pragma: no cover - replaced by the overload inside kernels
    """Logistic sigmoid for use inside kernels."""
    return 1.0 / (1.0 + math.exp(-x))


@overload(tanh, fastmath=FASTMATH)
def _ol_tanh(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:

        def impl(x):
            x = np.minimum(np.maximum(x, -_CLAMP), _CLAMP)
            x2 = x * x
            p = x2 * _A13 + _A11
            p = x2 * p + _A9
            p = x2 * p + _A7
            p = x2 * p + _A5
            p = x2 * p + _A3
            p = x2 * p + _A1
            p = x * p
            q = x2 * _B6 + _B4
            q = x2 * q + _B2
            q = x2 * q + _B0
            return p / q

        return impl

    def impl64(x):
        return math.tanh(x)

    return impl64


@overload(sigmoid, fastmath=FASTMATH)
def _ol_sigmoid(x):
    if isinstance(x, types.Float) and x.bitwidth == 32:

        def impl(x):
            return _HALF32 * tanh(_HALF32 * x) + _HALF32

        return impl

    def impl64(x):
        return 0.5 * math.tanh(0.5 * x) + 0.5

    return impl64


_EXP_TAYLOR = tuple(1.0 / math.factorial(k) for k in range(13))


def exp_nonpositive(x):  # pragma: no cover - replaced by the overload inside kernels
    """exp(x) for x <= 0 inside kernels (vectorisable; 0 below -40)."""
    return math.exp(x) if x >= -40.0 else 0.0


@overload(exp_nonpositive, fastmath=FASTMATH)
def _ol_exp_nonpositive(x):
    c = _EXP_TAYLOR

    def impl(x):
        y = max(x, -40.0) * 0.015625  # x / 64
        p = c[12]
        for k in range(11, -1, -1):  # Horner; constant trip counts, so LLVM unrolls both loops
            p = p * y + c[k]
        for _ in range(6):  # ^64
            p = p * p
        return p if x >= -40.0 else 0.0

    return impl
