"""The grader's own centred-difference gradients (never the student's ``gradient_check``).

    d/dx_i sum(f(x) * dout) ~ (sum(f(x + h e_i) * dout) - sum(f(x - h e_i) * dout)) / (2h)

The layers judged here are piecewise linear in each input (convolution, pooling,
relu, affine), so centred differences are exact up to rounding as long as no
kink lies within ``h`` of ``x``; the cases build their inputs so that none does.
Softmax is smooth, and its O(h^2) truncation error is far below the tolerances.

Rounding is what is left, and it grows as ``h`` shrinks: each sum carries an error of
about ``eps * sum(|f(x) * dout|)``, divided by ``2h``. At ``h = 1e-3`` that alone took a
correct ``conv_backward_naive`` (dilation 2) and a correct average pooling (ceil_mode,
pad 1) past the float64 tolerance of 1e-7 under some seeds. So the step is as large as
the function allows: ``LINEAR_STEP`` where it is linear in the probed input, and
``KINK_FREE_STEP`` where inputs from ``cases.distinct`` keep kinks at least ``GAP / 2`` away.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LINEAR_STEP = 1.0  # convolution (in x, w or b), average pooling, affine: exact for any step
GAP = 0.05  # ``cases.distinct``: entries this far apart, and half of it from zero
KINK_FREE_STEP = GAP / 4  # max pooling and relu on such inputs: no tie and no sign change within a step


def numeric_gradient(f: Callable[[np.ndarray], np.ndarray | float], x: np.ndarray,
                     dout: np.ndarray | float = 1.0, h: float = 1e-5) -> np.ndarray:
    """Gradient of ``sum(f(x) * dout)`` with respect to ``x``, one entry at a time.

    ``x`` is not modified: each probe works on a float64 copy.
    """
    probe = np.array(x, dtype=np.float64, copy=True)
    weights = np.asarray(dout, dtype=np.float64)
    grad = np.zeros(probe.shape)
    for index in np.ndindex(*probe.shape):
        old = probe[index]
        probe[index] = old + h
        plus = float(np.sum(np.asarray(f(probe), dtype=np.float64) * weights))
        probe[index] = old - h
        minus = float(np.sum(np.asarray(f(probe), dtype=np.float64) * weights))
        probe[index] = old
        grad[index] = (plus - minus) / (2 * h)
    return grad
