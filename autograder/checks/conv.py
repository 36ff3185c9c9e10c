"""Convolution: conv_forward_naive/backward (Notebook 02) and the fast pair (Notebook 04).

One table of geometries serves both pairs, so the fast layers face every edge case
the loops do. Gradients are the grader's own centred differences of its reference
convolution (linear in each input, so a step of 1e-3 is exact up to rounding),
except on the larger case, which uses the reference's analytic backward pass.
A backward case runs the student's own forward pass first and judges the backward
pass on that forward's cache when the forward passes (``expect.cache_for``).

Every geometry is one the notebooks teach and check visibly; the ones beyond CS231n's
semantics (pairs, dilation, groups, float32, integer input) are the kit's documented
extensions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder import expect, hints, judge, memo, pace, reference
from autograder.cases import Case, Context, traceable
from autograder.checks import speed
from autograder.numeric import LINEAR_STEP, numeric_gradient


@dataclass(frozen=True)
class ConvGeometry:
    name: str
    x: tuple[int, int, int, int]
    w: tuple[int, int, int, int]
    param: dict[str, Any] = field(hash=False)
    dtype: type = np.float64
    tiny: bool = False  # traceable inputs instead of random ones
    large: bool = False  # analytic gradients; too big for numeric ones
    x_dtype: type | None = None  # an integer input dtype (forward only)


GEOMETRIES = (
    ConvGeometry("tiny 1x1x4x4 input, 2x2 kernel", (1, 1, 4, 4), (1, 1, 2, 2), {"stride": 1, "pad": 0},
                 tiny=True),
    ConvGeometry("stride 1, pad 1", (2, 3, 5, 5), (4, 3, 3, 3), {"stride": 1, "pad": 1}),
    ConvGeometry("stride 2, pad 0", (2, 3, 7, 7), (3, 3, 3, 3), {"stride": 2, "pad": 0}),
    ConvGeometry("stride 3, pad 2", (2, 2, 8, 8), (3, 2, 3, 3), {"stride": 3, "pad": 2}),
    ConvGeometry("stride 2 on a 6x8 input (sizes round down)", (2, 3, 6, 8), (2, 3, 3, 3),
                 {"stride": 2, "pad": 0}),
    ConvGeometry("rectangular input and kernel", (2, 2, 6, 9), (3, 2, 2, 4), {"stride": 1, "pad": 1}),
    ConvGeometry("rectangular 3x2 kernel, stride 2, on an 8x6 input", (2, 2, 8, 6), (2, 2, 3, 2),
                 {"stride": 2, "pad": 1}),
    ConvGeometry("per-axis stride (2, 1) and pad (0, 2)", (1, 2, 7, 5), (2, 2, 3, 2),
                 {"stride": (2, 1), "pad": (0, 2)}),
    ConvGeometry("per-axis stride (1, 2)", (2, 2, 5, 8), (2, 2, 3, 3), {"stride": (1, 2), "pad": 1}),
    ConvGeometry("batch 1, one channel", (1, 1, 6, 6), (2, 1, 3, 3), {"stride": 1, "pad": 1}),
    ConvGeometry("1x1 kernel", (2, 4, 5, 5), (3, 4, 1, 1), {"stride": 1, "pad": 0}),
    ConvGeometry("dilation 2", (2, 2, 7, 7), (2, 2, 3, 3), {"stride": 1, "pad": 2, "dilation": 2}),
    ConvGeometry("groups 2", (2, 4, 5, 5), (4, 2, 3, 3), {"stride": 1, "pad": 1, "groups": 2}),
    ConvGeometry("float32", (2, 3, 6, 6), (4, 3, 3, 3), {"stride": 1, "pad": 1}, dtype=np.float32),
    ConvGeometry("integer input", (2, 2, 5, 5), (3, 2, 3, 3), {"stride": 1, "pad": 1}, x_dtype=np.int64),
    ConvGeometry("larger random", (4, 3, 16, 16), (6, 3, 5, 5), {"stride": 1, "pad": 2}, large=True),
)


def conv_inputs(ctx: Context, g: ConvGeometry) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if g.tiny:
        x = traceable(g.x, 0.1)
        w = np.array([[1.0, 2.0], [-1.0, 0.5]]).reshape(g.w)  # not symmetric: a flipped kernel shows
        b = np.array([0.5])
    else:
        x = ctx.rng.standard_normal(g.x)
        w = ctx.rng.standard_normal(g.w)
        b = ctx.rng.standard_normal(g.w[0])
    if g.x_dtype is not None:
        x = np.rint(x * 3).astype(g.x_dtype)
    else:
        x = x.astype(g.dtype)
    return x, w.astype(g.dtype), b.astype(g.dtype)


def setup(g: ConvGeometry) -> str:
    return f"x {g.x}, w {g.w}, conv_param {g.param}" + (f", {np.dtype(g.dtype).name}" if g.dtype != np.float64 else "")


def forward_work(g: ConvGeometry) -> int:
    out = reference.conv_forward(np.zeros(g.x), np.zeros(g.w), np.zeros(g.w[0]), g.param).shape
    return pace.conv_work(g.x, g.w, out, backward=False)


def forward_case(function: str, g: ConvGeometry) -> Case:
    def run(ctx: Context) -> None:
        x, w, b = conv_inputs(ctx, g)
        expected = reference.conv_forward(x, w, b, g.param)
        dtype = judge.float_dtype(x.dtype)
        expect.forward(ctx, function, (x, w, b, g.param), {"x": x, "w": w, "b": b}, expected, dtype,
                       hint=hints.conv_forward(x, w, b, g.param, expected, judge.tolerance_for(dtype)))
    return Case(function, g.name, 1, run, setup(g), forward_work(g))


def backward_case(function: str, g: ConvGeometry) -> Case:
    forward_name = function.replace("backward", "forward")

    def run(ctx: Context) -> None:
        x, w, b = conv_inputs(ctx, g)
        out = reference.conv_forward(x, w, b, g.param)
        dout: np.ndarray = traceable(out.shape, 0.1, -0.5) if g.tiny else ctx.rng.standard_normal(out.shape)
        dout = dout.astype(g.dtype)
        if g.large:
            expected = dict(zip(("dx", "dw", "db"), reference.conv_backward(dout, x, w, g.param), strict=True))
        else:
            expected = memo.remembered("conv centred differences", (x, w, b, dout, g.param, LINEAR_STEP), lambda: {
                "dx": numeric_gradient(lambda v: reference.conv_forward(v, w, b, g.param), x, dout, LINEAR_STEP),
                "dw": numeric_gradient(lambda v: reference.conv_forward(x, v, b, g.param), w, dout, LINEAR_STEP),
                "db": numeric_gradient(lambda v: reference.conv_forward(x, w, v, g.param), b, dout, LINEAR_STEP)})
        cache = expect.cache_for(ctx, forward_name, (x, w, b, g.param), {"x": x, "w": w, "b": b}, out, g.dtype,
                                 (x, w, b, g.param), "(x, w, b, conv_param)")
        tol = judge.tolerance_for(g.dtype)
        expect.gradients(ctx, function, (dout,), {"dout": dout, "x": x, "w": w, "b": b}, expected, g.dtype,
                         cache=cache, hint=hints.conv_backward(dout, x, w, g.param, expected, tol))
    out = reference.conv_forward(np.zeros(g.x), np.zeros(g.w), np.zeros(g.w[0]), g.param).shape
    return Case(function, g.name, 1, run, setup(g), forward_work(g) + pace.conv_work(g.x, g.w, out, backward=True))


def forward_cases(function: str) -> tuple[Case, ...]:
    return tuple(forward_case(function, g) for g in GEOMETRIES)


def backward_cases(function: str) -> tuple[Case, ...]:
    return tuple(backward_case(function, g) for g in GEOMETRIES if g.x_dtype is None)


# The fast layers face every case of the loops, and must beat them.
CASES: dict[str, tuple[Case, ...]] = {
    "conv_forward_naive": forward_cases("conv_forward_naive"),
    "conv_backward_naive": backward_cases("conv_backward_naive"),
    "conv_forward_fast": forward_cases("conv_forward_fast") + (speed.conv_speed("conv_forward_fast", False),),
    "conv_backward_fast": backward_cases("conv_backward_fast") + (speed.conv_speed("conv_backward_fast", True),),
}
