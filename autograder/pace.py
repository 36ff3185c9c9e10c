"""How long the grader's own plain loops take on this machine now: the yardstick of every case's time limit.

A correct loop layer must never time out because the machine is busy, and runaway code must. So a
case's limit is ``LOOP_FACTOR`` times what ``reference.conv_backward_scalar_loops`` (seven loops,
scalar multiply-adds: the slowest honest way to write a layer) would take for the case's ``work``
(its count of multiply-adds), measured here, on the machine that runs the student's code, while it
grades. A loaded machine slows the measurement as much as the student's code, so the limit grows with
the load. The limit never drops below ``Limits.case_seconds``: small cases get that floor, which also
covers the cost of each request.

The measurement is the best of ``REPEATS`` on a fixed small layer and is repeated at most every
``EVERY`` seconds, so a long ``grade-all`` follows the machine's load and costs a few tenths of a
second per submission at most.
"""

from __future__ import annotations

import time

import numpy as np

from autograder import reference

LOOP_FACTOR = 20.0
REPEATS = 2
EVERY = 120.0
# (x, w, conv_param) of the timed layer: N*F*H_out*W_out*C*HH*WW = 2*2*6*6*2*3*3 = 2592 iterations,
# two multiply-adds each, about 10 ms on an idle core.
X, W = (2, 2, 6, 6), (2, 2, 3, 3)
PARAM = {"stride": 1, "pad": 1}
MULTIPLY_ADDS = 2 * 2 * 2 * 6 * 6 * 2 * 3 * 3

_measured: tuple[float, float] | None = None  # (when, seconds per multiply-add)


def conv_work(x: tuple[int, ...], w: tuple[int, ...], out: tuple[int, ...], backward: bool) -> int:
    """Multiply-adds of a plain loop convolution: one per (image, filter, output cell, tap) forward, two back."""
    N, _, H_out, W_out = out
    F, Cg, HH, WW = w
    return N * F * H_out * W_out * Cg * HH * WW * (2 if backward else 1)


def pool_work(out: tuple[int, ...], window: tuple[int, int]) -> int:
    """Comparisons (or additions) of a plain loop pooling layer: one per output cell and window tap."""
    return int(np.prod(out)) * window[0] * window[1]


def seconds_per_multiply_add() -> float:
    """The grader's scalar loop's time per multiply-add, measured at most every ``EVERY`` seconds."""
    global _measured
    if _measured is None or time.monotonic() - _measured[0] >= EVERY:
        _measured = (time.monotonic(), _measure())
    return _measured[1]


def allowance(work: int) -> float:
    """Seconds a case of ``work`` multiply-adds may take: ``LOOP_FACTOR`` times the grader's loops (0 for none)."""
    return LOOP_FACTOR * work * seconds_per_multiply_add() if work else 0.0


def _measure() -> float:
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(X), rng.standard_normal(W)
    dout = rng.standard_normal((X[0], W[0], X[2], X[3]))
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        reference.conv_backward_scalar_loops(dout, x, w, PARAM)
        best = min(best, time.perf_counter() - started)
    return best / MULTIPLY_ADDS
