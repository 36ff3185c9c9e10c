"""Pooling: max and average, forward and backward, naive (Notebook 03) and fast (Notebook 04).

Inputs for max pooling are distinct values at least 0.05 apart, so no window ties
and the max-pool function is linear within the numeric step; the ``tied maxima``
case is the one exception, judged by the first-maximum rule with the reference's
analytic gradient. ``pad 1`` feeds all-negative inputs, so padding that is allowed
to win (zeros instead of -inf) shows. The rectangular windows come with a scalar
stride on their own (CS231n's semantics) and with a per-axis stride (the kit's
extension) in a case of their own, so a CS231n-style layer shows its real bugs there.
A backward case judges on the student's own forward's cache when that forward passes
(``expect.cache_for``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder import expect, hints, judge, memo, pace, reference
from autograder.cases import Case, Context, distinct, traceable
from autograder.checks import speed
from autograder.numeric import KINK_FREE_STEP, LINEAR_STEP, numeric_gradient


@dataclass(frozen=True)
class PoolGeometry:
    name: str
    x: tuple[int, int, int, int]
    param: dict[str, Any] = field(hash=False)
    dtype: type = np.float64
    tiny: bool = False
    negative: bool = False  # every input below zero
    ties: bool = False  # small integers, so windows tie (max-pool backward only)
    peaks: bool = False  # the cells windows share hold the largest values, so windows share their maximum
    large: bool = False
    x_dtype: type | None = None  # integer input (forward only)


def window(h: int, w: int, **more: Any) -> dict[str, Any]:
    return {"pool_height": h, "pool_width": w, **more}


# Every x shape appears once (with its dtype), so no case can be answered by remembering another's.
GEOMETRIES = (
    PoolGeometry("tiny 4x4 input, 2x2 windows, stride 2", (1, 1, 4, 4), window(2, 2, stride=2), tiny=True),
    PoolGeometry("overlapping 3x3 windows, stride 2", (2, 2, 7, 7), window(3, 3, stride=2)),
    PoolGeometry("overlapping 2x2 windows, stride 1", (1, 2, 5, 5), window(2, 2, stride=1)),
    PoolGeometry("overlapping 3x3 windows share their maxima", (1, 3, 7, 7), window(3, 3, stride=2), peaks=True),
    PoolGeometry("rectangular 2x3 windows, stride 2, on a 6x9 input", (2, 3, 6, 9), window(2, 3, stride=2)),
    PoolGeometry("rectangular 3x2 windows, stride 2, on an 8x6 input", (2, 2, 8, 6), window(3, 2, stride=2)),
    PoolGeometry("2x2 windows, stride 2, on a 7x7 input (floor)", (2, 1, 7, 7), window(2, 2, stride=2)),
    PoolGeometry("per-axis stride (2, 3), 2x3 windows on a 6x9 input", (2, 2, 6, 9), window(2, 3, stride=(2, 3))),
    PoolGeometry("pad 1, negative inputs", (2, 2, 5, 5), window(3, 3, stride=2, pad=1), negative=True),
    PoolGeometry("ceil_mode", (1, 2, 7, 7), window(2, 2, stride=2, ceil_mode=True)),
    PoolGeometry("ceil_mode with pad 1", (1, 2, 8, 8), window(3, 3, stride=2, pad=1, ceil_mode=True),
                 negative=True),
    PoolGeometry("batch 1, one channel", (1, 1, 6, 6), window(2, 2, stride=2)),
    PoolGeometry("float32", (2, 3, 6, 6), window(2, 2, stride=2), dtype=np.float32),
    PoolGeometry("tied maxima go to the first", (2, 2, 6, 6), window(3, 3, stride=1), ties=True),
    PoolGeometry("integer input", (2, 2, 6, 6), window(2, 2, stride=2), x_dtype=np.int64),
    PoolGeometry("larger random", (4, 3, 16, 16), window(2, 2, stride=2), large=True),
)


def pool_input(ctx: Context, g: PoolGeometry) -> np.ndarray:
    if g.tiny:
        x = traceable(g.x, 0.1)
    elif g.ties:
        x = ctx.rng.integers(-1, 2, size=g.x).astype(np.float64)
    else:
        x = distinct(ctx.rng, g.x)
        if g.negative:
            x = x - x.max() - 0.5
        if g.peaks:  # with 3x3 windows at stride 2, cells (2k, 2l) sit in four windows: lift them above the rest
            shared = np.zeros(g.x[2:], dtype=bool)
            shared[2:-1:2, 2:-1:2] = True
            x = np.where(shared, x + 2 * np.abs(x).max() + 1, x)
    if g.x_dtype is not None:
        return ctx.rng.integers(-5, 6, size=g.x).astype(g.x_dtype)
    return x.astype(g.dtype)


STEPS = {"max": KINK_FREE_STEP, "avg": LINEAR_STEP}
REFERENCES = {
    "max": (reference.max_pool_forward, reference.max_pool_backward),
    "avg": (reference.avg_pool_forward, reference.avg_pool_backward),
}


HINTS = {"max": (hints.max_pool_forward, hints.max_pool_backward),
         "avg": (hints.avg_pool_forward, hints.avg_pool_backward)}


def setup(g: PoolGeometry) -> str:
    return f"x {g.x}, pool_param {g.param}" + (f", {np.dtype(g.dtype).name}" if g.dtype != np.float64 else "")


def work(g: PoolGeometry) -> int:
    out = reference.max_pool_forward(np.zeros(g.x), g.param).shape
    return pace.pool_work(out, (g.param["pool_height"], g.param["pool_width"]))


def forward_case(function: str, kind: str, g: PoolGeometry) -> Case:
    def run(ctx: Context) -> None:
        x = pool_input(ctx, g)
        expected = REFERENCES[kind][0](x, g.param)
        # Max pooling copies values: float32 results must be exact.
        dtype = judge.float_dtype(x.dtype)
        tol = judge.EXACT if kind == "max" else judge.tolerance_for(dtype)
        expect.forward(ctx, function, (x, g.param), {"x": x}, expected, dtype, tol,
                       hint=HINTS[kind][0](x, g.param, expected, tol))
    return Case(function, g.name, 1, run, setup(g), work(g))


def backward_case(function: str, kind: str, g: PoolGeometry) -> Case:
    forward_name = function.replace("backward", "forward")

    def run(ctx: Context) -> None:
        forward, backward = REFERENCES[kind]
        x = pool_input(ctx, g)
        out = forward(x, g.param)
        dout: np.ndarray = traceable(out.shape, 0.1, 1.0) if g.tiny else ctx.rng.standard_normal(out.shape)
        dout = dout.astype(g.dtype)
        if g.large or g.ties:
            dx = backward(dout, x, g.param)
        else:
            dx = memo.remembered(f"{kind} pool centred differences", (x, dout, g.param, STEPS[kind]), lambda: {
                "dx": numeric_gradient(lambda v: forward(v, g.param), x, dout, STEPS[kind])})["dx"]
        cache = expect.cache_for(ctx, forward_name, (x, g.param), {"x": x}, out, g.dtype, (x, g.param),
                                 "(x, pool_param)", judge.EXACT if kind == "max" else None)
        tol = judge.tolerance_for(g.dtype)
        expect.gradients(ctx, function, (dout,), {"dout": dout, "x": x}, {"dx": dx}, g.dtype, cache=cache,
                         hint=HINTS[kind][1](dout, x, g.param, dx, tol))
    return Case(function, g.name, 1, run, setup(g), 2 * work(g))


def forward_cases(function: str, kind: str) -> tuple[Case, ...]:
    return tuple(forward_case(function, kind, g) for g in GEOMETRIES if not g.ties)


def backward_cases(function: str, kind: str) -> tuple[Case, ...]:
    return tuple(backward_case(function, kind, g) for g in GEOMETRIES
                 if g.x_dtype is None and (kind == "max" or not g.ties))


# The fast layers face every case of the loops, and must beat them.
CASES: dict[str, tuple[Case, ...]] = {
    "max_pool_forward_naive": forward_cases("max_pool_forward_naive", "max"),
    "max_pool_backward_naive": backward_cases("max_pool_backward_naive", "max"),
    "avg_pool_forward_naive": forward_cases("avg_pool_forward_naive", "avg"),
    "avg_pool_backward_naive": backward_cases("avg_pool_backward_naive", "avg"),
    "max_pool_forward_fast": forward_cases("max_pool_forward_fast", "max")
    + (speed.pool_speed("max_pool_forward_fast", "max", False),),
    "max_pool_backward_fast": backward_cases("max_pool_backward_fast", "max")
    + (speed.pool_speed("max_pool_backward_fast", "max", True),),
    "avg_pool_forward_fast": forward_cases("avg_pool_forward_fast", "avg")
    + (speed.pool_speed("avg_pool_forward_fast", "avg", False),),
    "avg_pool_backward_fast": backward_cases("avg_pool_backward_fast", "avg")
    + (speed.pool_speed("avg_pool_backward_fast", "avg", True),),
}
