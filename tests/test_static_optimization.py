"""The batched static-optimization solver finds the exact optimum (checked independently)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from runmuscles.muscles.static_optimization import solve_static_optimization


def _problem(seed: int = 0, F: int = 12, C: int = 8, M: int = 30):
    rng = np.random.default_rng(seed)
    R = rng.normal(0, 0.04, (F, C, M)) * (rng.random((1, C, M)) < 0.4)
    S = rng.uniform(300, 3000, (F, M))
    A = np.concatenate([R * S[:, None, :], np.broadcast_to(np.eye(C) * 5.0, (F, C, C))], axis=2)
    x = np.concatenate([rng.uniform(0.05, 0.9, (F, M)), rng.normal(0, 1, (F, C))], axis=1)
    b = np.einsum("fcn,fn->fc", A, x) * 1.3
    lb = np.r_[np.full(M, 0.01), np.full(C, -np.inf)]
    ub = np.r_[np.ones(M), np.full(C, np.inf)]
    return A, b, lb, ub


@pytest.mark.parametrize(
    ("exponent", "method"), [(2.0, "newton"), (2.0, "active-set"), (1.5, "newton"), (3.0, "newton")]
)
def test_matches_general_nlp_solver(exponent: float, method: str) -> None:
    A, b, lb, ub = _problem()
    sol = solve_static_optimization(A, b, lb, ub, exponent=exponent, method=method)
    assert sol.converged.all()
    assert np.abs(sol.constraint_residual).max() < 1e-6
    for f in range(3):

        def obj(x):
            return np.sum(np.abs(x) ** exponent)

        bounds = [
            (lo if np.isfinite(lo) else None, hi if np.isfinite(hi) else None)
            for lo, hi in zip(lb, ub, strict=True)
        ]
        ref = minimize(
            obj,
            np.clip(np.zeros(A.shape[2]), lb, ub),
            method="SLSQP",
            bounds=bounds,
            constraints=[{"type": "eq", "fun": lambda x, f=f: A[f] @ x - b[f]}],
            options={"ftol": 1e-12, "maxiter": 500},
        )
        assert ref.success
        # our objective is no worse than the general solver's, and the points agree
        assert obj(sol.controls[f]) <= ref.fun * (1 + 1e-6)
        np.testing.assert_allclose(sol.controls[f], ref.x, atol=2e-3)


@pytest.mark.parametrize("method", ["newton", "active-set"])
def test_kkt_conditions_hold(method: str) -> None:
    A, b, lb, ub = _problem(seed=4, F=20)
    sol = solve_static_optimization(A, b, lb, ub, method=method)
    # the gradient of the objective lies in the row space of A plus active-bound normals
    for f in range(A.shape[0]):
        x = sol.controls[f]
        free = (x > lb + 1e-7) & (x < ub - 1e-7)
        g = 2 * x
        lam, *_ = np.linalg.lstsq(A[f][:, free].T, g[free], rcond=None)
        np.testing.assert_allclose(A[f][:, free].T @ lam, g[free], atol=1e-7)
        mult = g - A[f].T @ lam
        assert np.all(mult[(x <= lb + 1e-7)] >= -1e-6)  # lower bounds push up
        assert np.all(mult[(x >= ub - 1e-7)] <= 1e-6)  # upper bounds push down
    assert sol.at_upper.any()  # the problem does saturate muscles
