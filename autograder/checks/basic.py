"""Notebook 01: affine_forward/backward, relu_forward/backward, softmax_loss."""

from __future__ import annotations

import numpy as np

from autograder import expect, hints, judge, memo, reference
from autograder.cases import Case, Context, distinct, traceable
from autograder.numeric import KINK_FREE_STEP, LINEAR_STEP, numeric_gradient
from autograder.student import Returned

# ---------------------------------------------------------------- affine


def _affine_inputs(ctx: Context, x_shape: tuple[int, ...], M: int, tiny: bool, dtype: type):
    D = int(np.prod(x_shape[1:]))
    if tiny:
        x, w, b = traceable(x_shape, 0.1), traceable((D, M), 0.01, -0.02), np.array([1.0, -1.0])[:M]
    else:
        x = ctx.rng.standard_normal(x_shape)
        w, b = ctx.rng.standard_normal((D, M)), ctx.rng.standard_normal(M)
    return x.astype(dtype), w.astype(dtype), b.astype(dtype)


def affine_forward_case(name: str, x_shape: tuple[int, ...], M: int, tiny: bool = False,
                        dtype: type = np.float64, x_dtype: type | None = None) -> Case:
    def run(ctx: Context) -> None:
        x, w, b = _affine_inputs(ctx, x_shape, M, tiny, dtype)
        if x_dtype is not None:
            x = np.rint(x * 3).astype(x_dtype)
        expect.forward(ctx, "affine_forward", (x, w, b), {"x": x, "w": w, "b": b},
                       reference.affine_forward(x, w, b), judge.float_dtype(x.dtype))
    return Case("affine_forward", name, 1, run, _affine_setup(x_shape, M, x_dtype or dtype))


def _affine_setup(x_shape: tuple[int, ...], M: int, dtype: type) -> str:
    D = int(np.prod(x_shape[1:]))
    kind = f", {np.dtype(dtype).name}" if dtype != np.float64 else ""
    return f"x {x_shape}, w {(D, M)}, b {(M,)}{kind}"


def affine_backward_case(name: str, x_shape: tuple[int, ...], M: int, tiny: bool = False,
                         dtype: type = np.float64) -> Case:
    def run(ctx: Context) -> None:
        x, w, b = _affine_inputs(ctx, x_shape, M, tiny, dtype)
        dout = (traceable((x_shape[0], M), 0.1, -0.3) if tiny else ctx.rng.standard_normal((x_shape[0], M)))
        dout = dout.astype(dtype)
        expected = memo.remembered("affine centred differences", (x, w, b, dout, LINEAR_STEP), lambda: {
            "dx": numeric_gradient(lambda v: reference.affine_forward(v, w, b), x, dout, LINEAR_STEP),
            "dw": numeric_gradient(lambda v: reference.affine_forward(x, v, b), w, dout, LINEAR_STEP),
            "db": numeric_gradient(lambda v: reference.affine_forward(x, w, v), b, dout, LINEAR_STEP),
        })
        cache = expect.cache_for(ctx, "affine_forward", (x, w, b), {"x": x, "w": w, "b": b},
                                 reference.affine_forward(x, w, b), dtype, (x, w, b), "(x, w, b)")
        expect.gradients(ctx, "affine_backward", (dout,), {"dout": dout, "x": x, "w": w, "b": b}, expected, dtype,
                         cache=cache, hint=hints.affine_backward(dout, x, expected, judge.tolerance_for(dtype)))
    return Case("affine_backward", name, 1, run, _affine_setup(x_shape, M, dtype))


# ---------------------------------------------------------------- relu

ZEROS = np.array([[-2.0, -0.0, 0.0, 1.5], [0.0, 3.0, -1.0, 0.0], [2.5, -0.5, 0.0, 0.25]])


def relu_forward_case(name: str, shape: tuple[int, ...] | None, dtype: type = np.float64) -> Case:
    def run(ctx: Context) -> None:
        x: np.ndarray = (ZEROS if shape is None else ctx.rng.standard_normal(shape)).astype(dtype)
        expect.forward(ctx, "relu_forward", (x,), {"x": x}, reference.relu_forward(x), dtype)
    return Case("relu_forward", name, 1, run, _relu_setup(shape, dtype))


def _relu_setup(shape: tuple[int, ...] | None, dtype: type) -> str:
    kind = f", {np.dtype(dtype).name}" if dtype != np.float64 else ""
    return f"x {ZEROS.shape if shape is None else shape}{kind}"


def relu_backward_case(name: str, shape: tuple[int, ...] | None, dtype: type = np.float64) -> Case:
    def run(ctx: Context) -> None:
        if shape is None:
            x: np.ndarray = ZEROS.astype(dtype)
            dout: np.ndarray = traceable(x.shape, 1.0, 1.0).astype(dtype)  # nonzero everywhere, zeros included
            expected = reference.relu_backward(dout, x)
        else:
            x = distinct(ctx.rng, shape).astype(dtype)
            dout = ctx.rng.standard_normal(shape).astype(dtype)
            expected = memo.remembered("relu centred differences", (x, dout, KINK_FREE_STEP), lambda: {
                "dx": numeric_gradient(reference.relu_forward, x, dout, KINK_FREE_STEP)})["dx"]
        cache = expect.cache_for(ctx, "relu_forward", (x,), {"x": x}, reference.relu_forward(x), dtype, x, "x")
        expect.gradients(ctx, "relu_backward", (dout,), {"dout": dout, "x": x}, {"dx": expected}, dtype,
                         cache=cache, hint=hints.relu_backward(dout, x, expected, judge.tolerance_for(dtype)))
    return Case("relu_backward", name, 1, run, _relu_setup(shape, dtype))


# ---------------------------------------------------------------- softmax


def softmax_case(name: str, N: int, C: int, scale: float = 1.0, shift: float = 0.0, uniform: bool = False,
                 dtype: type = np.float64) -> Case:
    def run(ctx: Context) -> None:
        x = np.zeros((N, C)) if uniform else ctx.rng.standard_normal((N, C)) * scale + shift
        x = x.astype(dtype)
        y = ctx.rng.integers(0, C, size=N).astype(np.int64)
        loss, dx = reference.softmax_loss(x, y)
        if not uniform and scale <= 10 and shift == 0:  # centred differences lose digits at large scores
            dx = memo.remembered("softmax centred differences", (x, y), lambda: {
                "dx": numeric_gradient(lambda v: reference.softmax_loss(v, y)[0], x)})["dx"]
        answer = ctx.call("softmax_loss", x, y, names={"x": x, "y": y})
        got_loss, got_dx = judge.unpack(answer.value, ("loss", "dx"))
        value = np.array(judge.scalar(got_loss, "loss"))
        tol = judge.tolerance_for(dtype)
        expected = {"loss": np.array(loss), "dx": dx}
        hint = hints.softmax_loss(x, y, expected, tol)
        problems = expect.judged({"loss": _returned(value), "dx": got_dx}, expected, None, tol, hint)
        judge.array(got_dx, "dx", x.shape, judge.float_dtype(dtype))
        expect.finish(problems, answer.mutated)
    kind = f", {np.dtype(dtype).name}" if dtype != np.float64 else ""
    scores = f"scores ~ N({shift:g}, {scale:g}^2)" if not uniform else "scores all 0"
    return Case("softmax_loss", name, 1, run, f"x {(N, C)}, y {(N,)}, {scores}{kind}")


def _returned(value: np.ndarray) -> Returned:
    """A loss the student returned, as the 0-d array ``expect.judged`` compares."""
    return Returned("ndarray", value.dtype.name, (), value)


CASES: dict[str, tuple[Case, ...]] = {
    "affine_forward": (
        affine_forward_case("tiny 2x3 input, 2 outputs", (2, 3), 2, tiny=True),
        affine_forward_case("4-D input, N=3 (2x4x5 -> 6)", (3, 2, 4, 5), 6),
        affine_forward_case("batch 1", (1, 7), 4),
        affine_forward_case("float32", (4, 3, 5), 6, dtype=np.float32),
        affine_forward_case("integer input", (3, 5), 4, x_dtype=np.int64),
    ),
    "affine_backward": (
        affine_backward_case("tiny 2x3 input, 2 outputs", (2, 3), 2, tiny=True),
        affine_backward_case("4-D input, N=3 (2x4x5 -> 6)", (3, 2, 4, 5), 6),
        affine_backward_case("batch 1", (1, 7), 4),
        affine_backward_case("float32", (4, 3, 5), 6, dtype=np.float32),
    ),
    "relu_forward": (
        relu_forward_case("exact zeros", None),
        relu_forward_case("random 4-D", (2, 3, 4, 5)),
        relu_forward_case("float32", (3, 7), np.float32),
    ),
    "relu_backward": (
        relu_backward_case("no gradient where x is exactly 0", None),
        relu_backward_case("random 4-D", (2, 3, 4, 5)),
        relu_backward_case("float32", (3, 7), np.float32),
    ),
    "softmax_loss": (
        softmax_case("uniform scores", 3, 10, uniform=True),
        softmax_case("random scores", 6, 5),
        softmax_case("scores near 1000", 4, 6, shift=1000.0),
        softmax_case("confident scores (scale 25)", 8, 10, scale=25.0),
        softmax_case("batch 1", 1, 4),
        softmax_case("float32", 5, 7, dtype=np.float32),
    ),
}
