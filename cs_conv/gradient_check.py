"""Numeric gradients by centred differences, to check the backward passes you write.

    df/dx_i ~ (f(x + h e_i) - f(x - h e_i)) / (2h)

The error is O(h^2); with h = 1e-5 in float64 a correct analytic gradient usually
agrees to a relative error below 1e-7. Work in float64: float32 cannot resolve h.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def rel_error(x, y) -> float:
    """Largest elementwise relative error ``|x - y| / max(1e-8, |x| + |y|)``.

    >>> rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    0.0
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"cannot compare arrays of shapes {x.shape} and {y.shape}")
    if x.size == 0:
        return 0.0
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def _nudged(x: np.ndarray, index: tuple, h: float, f: Callable) -> tuple:
    """f at x with x[index] moved by +h and by -h; x is restored before returning."""
    old = x[index]
    x[index] = old + h
    plus = f(x)
    x[index] = old - h
    minus = f(x)
    x[index] = old
    return plus, minus


def eval_numerical_gradient(f: Callable, x: np.ndarray, verbose: bool = False, h: float = 1e-5) -> np.ndarray:
    """Numeric gradient of a scalar function ``f`` at ``x`` (an array f reads).

    ``x`` is changed in place while probing and restored exactly afterwards.

    Parameters
    ----------
    f : callable taking x and returning a float
    x : float ndarray of any shape
    verbose : print each entry as it is computed
    h : step size

    Returns
    -------
    grad : ndarray of x's shape
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(*x.shape):
        plus, minus = _nudged(x, index, h, f)
        grad[index] = (float(plus) - float(minus)) / (2 * h)
        if verbose:
            print(index, grad[index])
    return grad


def eval_numerical_gradient_array(f: Callable, x: np.ndarray, df: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Numeric gradient of ``sum(f(x) * df)`` at ``x``, for an array-valued ``f``.

    This is what a backward pass computes given the upstream gradient ``df``. The
    outputs of f are copied, so an f that returns the same buffer each call is safe.

    Parameters
    ----------
    f : callable taking x and returning an ndarray of df's shape
    x : float ndarray of any shape
    df : ndarray, the upstream gradient dL/df(x)
    h : step size

    Returns
    -------
    grad : ndarray of x's shape
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(*x.shape):
        plus, minus = _nudged(x, index, h, lambda v: np.array(f(v), dtype=np.float64, copy=True))
        grad[index] = np.sum((plus - minus) * df) / (2 * h)
    return grad


def grad_check_sparse(f: Callable, x: np.ndarray, analytic_grad: np.ndarray, num_checks: int = 10,
                      h: float = 1e-5, seed: int | None = 0, verbose: bool = True) -> np.ndarray:
    """Compare ``analytic_grad`` with centred differences at ``num_checks`` random entries.

    Returns
    -------
    errors : ndarray of shape (num_checks,), the relative error at each sampled entry
    """
    if analytic_grad.shape != x.shape:
        raise ValueError(f"analytic_grad has shape {analytic_grad.shape}, expected {x.shape}")
    rng = np.random.default_rng(seed)
    errors = np.empty(num_checks)
    for k in range(num_checks):
        index = tuple(int(rng.integers(size)) for size in x.shape)
        plus, minus = _nudged(x, index, h, f)
        numeric = (float(plus) - float(minus)) / (2 * h)
        analytic = float(analytic_grad[index])
        errors[k] = abs(numeric - analytic) / max(1e-12, abs(numeric) + abs(analytic))
        if verbose:
            print(f"numerical: {numeric:f} analytic: {analytic:f}, relative error: {errors[k]:e}")
    return errors
