"""The NumPy stand-ins for the two SciPy functions the default install does without: the bounded
minimiser (rnn_tui.models.minimize) against SciPy's L-BFGS-B, and the normal quantile that
data.series.detect_period takes from the standard library against ``scipy.stats.norm.ppf``.
SciPy is in the test extra as the oracle."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from rnn_tui.models.minimize import minimize_bounded

scipy_optimize = pytest.importorskip("scipy.optimize")
scipy_stats = pytest.importorskip("scipy.stats")


def rosenbrock(x):
    return float(np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))


def shifted_quadratic(x):
    c = np.array([0.3, -2.0, 1.7, 0.5])[: len(x)]  # the second and third lie outside the box
    w = np.array([1.0, 10.0, 0.1, 3.0])[: len(x)]
    return float(np.sum(w * (x - c) ** 2)) + 0.2 * float(x[0] * x[-1])


def bowl_with_a_ridge(x):
    return float((x[0] - 0.2) ** 2 + 50 * (x[1] - x[0] ** 2) ** 2 + 0.01 * np.sum(np.sin(9 * x)))


UNIT = (0.0, 1.0)
# (function, start, bounds): minima inside the box, on its faces, in a corner, with a held
# coordinate (low == high), and one dimension alone
PROBLEMS = {
    "rosenbrock inside": (rosenbrock, [0.1, 0.1], [(-2.0, 2.0), (-2.0, 2.0)]),
    "rosenbrock on a face": (rosenbrock, [0.1, 0.1], [(-2.0, 0.5), (-2.0, 2.0)]),
    "rosenbrock 4-d": (rosenbrock, [0.2, 0.3, 0.4, 0.5], [(-1.5, 1.5)] * 4),
    "quadratic, two bounds active": (shifted_quadratic, [0.5] * 4, [UNIT] * 4),
    "quadratic, a held coordinate": (shifted_quadratic, [0.5, 0.0, 0.5, 1.0],
                                     [UNIT, (0.0, 0.0), UNIT, (1.0, 1.0)]),
    "quadratic in a corner": (shifted_quadratic, [0.9, 0.9], [(0.5, 1.0), (0.0, 1.0)]),
    "ridge": (bowl_with_a_ridge, [0.9, 0.1], [UNIT, UNIT]),
    "one dimension": (lambda x: float((x[0] - 0.7) ** 2 * (x[0] + 0.1)), [0.1], [UNIT]),
}


@pytest.mark.parametrize("name", PROBLEMS)
def test_minimize_bounded_reaches_scipys_minimum(name):
    f, x0, bounds = PROBLEMS[name]
    x, fx = minimize_bounded(f, x0, bounds)
    ref = scipy_optimize.minimize(f, np.array(x0, dtype=float), method="L-BFGS-B",
                                  bounds=bounds, options={"ftol": 1e-15, "gtol": 1e-10})
    lo, hi = np.array(bounds).T
    assert np.all(x >= lo) and np.all(x <= hi), x
    assert fx == pytest.approx(f(x))
    assert fx <= ref.fun + 1e-9 * max(1.0, abs(ref.fun)), (fx, ref.fun)
    np.testing.assert_allclose(x, ref.x, atol=1e-4)


def test_minimize_bounded_holds_fixed_coordinates_and_refuses_bad_bounds():
    seen = []

    def f(x):
        seen.append(x.copy())
        return float(np.sum((x - 0.25) ** 2))

    x, _ = minimize_bounded(f, [0.9, 0.7, 0.6], [UNIT, (0.7, 0.7), UNIT])
    assert all(p[1] == 0.7 for p in seen)
    np.testing.assert_allclose(x, [0.25, 0.7, 0.25], atol=1e-6)
    with pytest.raises(ValueError):
        minimize_bounded(f, [0.5, 0.5], [(1.0, 0.0), UNIT])
    with pytest.raises(ValueError):
        minimize_bounded(f, [0.5, 0.5], [UNIT])


def test_minimize_bounded_treats_nonfinite_values_as_worst():
    def f(x):  # undefined (NaN) left of 0.3, as a multiplicative season's SSE can be
        return float("nan") if x[0] < 0.3 else (x[0] - 0.4) ** 2

    x, fx = minimize_bounded(f, [0.9], [UNIT])
    assert x[0] == pytest.approx(0.4, abs=1e-6) and np.isfinite(fx)


@pytest.mark.parametrize("p", [1e-12, 1e-6, 0.001, 0.025, 0.5, 0.9, 0.975, 0.995,
                               1 - 0.05 / 3, 1 - 0.05 / 40, 1 - 1e-9])
def test_the_normal_quantile_matches_scipy(p):
    assert NormalDist().inv_cdf(p) == pytest.approx(float(scipy_stats.norm.ppf(p)), rel=1e-12)
