"""Convolution: conv_forward_naive/backward (Notebook 02) and the fast pair (Notebook 04).

One table of geometries serves both pairs, so the fast layers face every edge case
the loops do. Gradients are the grader's own centred differences of its reference
convolution (linear in each input, so a step of 1e-3 is exact up to rounding),
except on the larger case, which uses the reference's analytic backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder import expect, judge, reference
from autograder.cases import Case, Context, traceable
from autograder.numeric import numeric_gradient

STEP = 1e-3


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
    ConvGeometry("rectangular input and kernel", (2, 2, 6, 9), (3, 2, 2, 4), {"stride": 1, "pad": 1}),
    ConvGeometry("per-axis stride (2, 1) and pad (0, 2)", (1, 2, 7, 5), (2, 2, 3, 2),
                 {"stride": (2, 1), "pad": (0, 2)}),
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


def forward_case(function: str, g: ConvGeometry) -> Case:
    def run(ctx: Context) -> None:
        x, w, b = conv_inputs(ctx, g)
        expect.forward(ctx, function, (x, w, b, g.param), {"x": x, "w": w, "b": b},
                       reference.conv_forward(x, w, b, g.param), judge.float_dtype(x.dtype))
    return Case(function, g.name, 1, run)


def backward_case(function: str, g: ConvGeometry) -> Case:
    def run(ctx: Context) -> None:
        x, w, b = conv_inputs(ctx, g)
        out_shape = reference.conv_forward(x, w, b, g.param).shape
        dout: np.ndarray = traceable(out_shape, 0.1, -0.5) if g.tiny else ctx.rng.standard_normal(out_shape)
        dout = dout.astype(g.dtype)
        if g.large:
            dx, dw, db = reference.conv_backward(dout, x, w, g.param)
        else:
            dx = numeric_gradient(lambda v: reference.conv_forward(v, w, b, g.param), x, dout, STEP)
            dw = numeric_gradient(lambda v: reference.conv_forward(x, v, b, g.param), w, dout, STEP)
            db = numeric_gradient(lambda v: reference.conv_forward(x, w, v, g.param), b, dout, STEP)
        # The cache is the documented (x, w, b, conv_param), built here, so a broken
        # forward pass does not cost the backward pass its points.
        expect.gradients(ctx, function, (dout, (x, w, b, g.param)), {"dout": dout, "x": x, "w": w, "b": b},
                         {"dx": dx, "dw": dw, "db": db}, g.dtype)
    return Case(function, g.name, 1, run)


def forward_cases(function: str) -> tuple[Case, ...]:
    return tuple(forward_case(function, g) for g in GEOMETRIES)


def backward_cases(function: str) -> tuple[Case, ...]:
    return tuple(backward_case(function, g) for g in GEOMETRIES if g.x_dtype is None)
