"""Notebook 05: sandwich layers, ThreeLayerConvNet's forward and backward passes, Adam.

A sandwich's cache is a tuple of its layers' caches, and the model's cache holds the
sandwiches': sending a grader-built cache would mean sending intermediate results the
student is asked to compute, so each backward case keeps the student's own forward
result in the sandboxed process and passes it back by reference. A forward pass that
fails therefore costs its backward pass too, and the message says so.

The sandboxes set ``CS_CONV_LAYERS=naive``, so the sandwiches use the student's loop
layers: a slip in the fast layers costs points there, not here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autograder import expect, hints, judge, reference
from autograder.cases import Case, Context
from autograder.student import Mapping, Ref, StudentFailure

POOL2 = {"pool_height": 2, "pool_width": 2, "stride": 2}
GRADS = ("dx", "dw", "db")


def _forward_first(ctx: Context, forward: str, args: tuple[Any, ...], on: str | None = None) -> None:
    """Run the student's forward pass and keep its result as ``fwd`` for the backward pass."""
    try:
        ctx.call(forward, *args, keep="fwd", select=[], echo=False, on=on)
    except StudentFailure as failure:
        failure.message = f"{forward}, which makes the cache, failed: {failure.message}"
        raise


# ---------------------------------------------------------------- sandwich layers


def sandwich_reference(kind: str, x: np.ndarray, w: np.ndarray, b: np.ndarray, conv_param: dict | None):
    """Forward output and a function giving (dx, dw, db) for an upstream gradient.

    ``back(dout, relu=False)`` is the known mistake of skipping the relu's backward pass (for hints).
    """
    def masked(dout: np.ndarray, a: np.ndarray, relu: bool) -> np.ndarray:
        return reference.relu_backward(dout, a) if relu else np.asarray(dout, np.float64)

    if kind == "affine_relu":
        a = reference.affine_forward(x, w, b)

        def back(dout: np.ndarray, relu: bool = True):
            return reference.affine_backward(masked(dout, a, relu), x, w)
        return reference.relu_forward(a), back
    assert conv_param is not None
    a = reference.conv_forward(x, w, b, conv_param)
    s = reference.relu_forward(a)
    if kind == "conv_relu":
        def back_conv(dout: np.ndarray, relu: bool = True):
            return reference.conv_backward(masked(dout, a, relu), x, w, conv_param)
        return s, back_conv

    def back_pool(dout: np.ndarray, relu: bool = True):
        ds = reference.max_pool_backward(dout, s, POOL2)
        return reference.conv_backward(masked(ds, a, relu), x, w, conv_param)
    return reference.max_pool_forward(s, POOL2), back_pool


def sandwich_cases(kind: str, backward: bool) -> tuple[Case, ...]:
    setups: list[tuple[str, tuple[int, ...], tuple[int, ...], dict[str, Any] | None, type]]
    if kind == "affine_relu":
        setups = [("random", (4, 3, 2, 2), (12, 6), None, np.float64),
                  ("batch 1", (1, 5), (5, 3), None, np.float64),
                  ("float32", (3, 7), (7, 5), None, np.float32)]
    else:
        setups = [("stride 1, pad 1", (2, 3, 6, 6), (4, 3, 3, 3), {"stride": 1, "pad": 1}, np.float64),
                  ("stride 2, pad 0", (2, 2, 9, 9), (3, 2, 3, 3), {"stride": 2, "pad": 0}, np.float64),
                  ("float32", (2, 3, 6, 6), (4, 3, 3, 3), {"stride": 1, "pad": 1}, np.float32)]
    forward_name, backward_name = f"{kind}_forward", f"{kind}_backward"
    cases = []
    for name, x_shape, w_shape, conv_param, dtype in setups:
        def run(ctx: Context, x_shape=x_shape, w_shape=w_shape, conv_param=conv_param, dtype=dtype) -> None:
            x = ctx.rng.standard_normal(x_shape).astype(dtype)
            w = (ctx.rng.standard_normal(w_shape) / np.sqrt(np.prod(w_shape[1:]))).astype(dtype)
            b = (0.1 * ctx.rng.standard_normal(w_shape[0] if conv_param else w_shape[1])).astype(dtype)
            args: tuple[Any, ...] = (x, w, b) if conv_param is None else (x, w, b, conv_param)
            if kind == "conv_relu_pool":
                args = (*args, POOL2)
            out, back = sandwich_reference(kind, x, w, b, conv_param)
            if not backward:
                expect.forward(ctx, forward_name, args, {"x": x, "w": w, "b": b}, out, dtype)
                return
            _forward_first(ctx, forward_name, args)
            dout = ctx.rng.standard_normal(out.shape).astype(dtype)
            expected = dict(zip(GRADS, back(dout), strict=True))
            skipped = hints.Mistake("matches the backward pass without the relu: call relu_backward between the "
                                    "layers", lambda: dict(zip(GRADS, back(dout, relu=False), strict=True)))
            expect.gradients(ctx, backward_name, (dout, Ref("fwd", (1,))), {"dout": dout}, expected, dtype,
                             hint=hints.hint([skipped], expected, judge.tolerance_for(dtype)))
        layers = f"conv_param {conv_param}" if conv_param else ""
        pool = f", pool_param {POOL2}" if kind == "conv_relu_pool" else ""
        kind_of = f", {np.dtype(dtype).name}" if dtype != np.float64 else ""
        setup = f"x {x_shape}, w {w_shape}" + (f", {layers}" if layers else "") + pool + kind_of
        cases.append(Case(backward_name if backward else forward_name, name, 1, run, setup))
    return tuple(cases)


# ---------------------------------------------------------------- ThreeLayerConvNet

MODEL_SETUPS = (
    # name, (C, H, W), filters, filter size, hidden, classes, N, dtype
    ("3x3 filters on 2x8x8 images", (2, 8, 8), 3, 3, 7, 5, 3, np.float64),
    ("5x5 filters on 1x9x9 images", (1, 9, 9), 2, 5, 6, 4, 2, np.float64),
    ("float32 model", (2, 8, 8), 3, 3, 7, 5, 3, np.float32),
)


def model_reference(X: np.ndarray, p: dict[str, np.ndarray], conv_param: dict):
    """Scores, and a function giving every parameter's gradient for upstream dscores."""
    a1 = reference.conv_forward(X, p["W1"], p["b1"], conv_param)
    r1 = reference.relu_forward(a1)
    p1 = reference.max_pool_forward(r1, POOL2)
    a2 = reference.affine_forward(p1, p["W2"], p["b2"])
    r2 = reference.relu_forward(a2)
    scores = reference.affine_forward(r2, p["W3"], p["b3"])

    def back(dscores: np.ndarray, hidden_relu: bool = True) -> dict[str, np.ndarray]:
        """Every gradient; ``hidden_relu=False`` is the known mistake of skipping the hidden relu (for hints)."""
        grads = {}
        dr2, grads["W3"], grads["b3"] = reference.affine_backward(dscores, r2, p["W3"])
        da2 = reference.relu_backward(dr2, a2) if hidden_relu else dr2
        dp1, grads["W2"], grads["b2"] = reference.affine_backward(da2, p1, p["W2"])
        dr1 = reference.max_pool_backward(dp1, r1, POOL2)
        _, grads["W1"], grads["b1"] = reference.conv_backward(reference.relu_backward(dr1, a1), X, p["W1"],
                                                              conv_param)
        return grads
    return scores, back


def model_cases(backward: bool) -> tuple[Case, ...]:
    function = "three_layer_backward" if backward else "three_layer_forward"
    cases = []
    for name, dims, F, size, hidden, classes, N, dtype in MODEL_SETUPS:
        def run(ctx: Context, dims=dims, F=F, size=size, hidden=hidden, classes=classes, N=N, dtype=dtype) -> None:
            C, H, W = dims
            pad = (size - 1) // 2
            pooled = ((H + 2 * pad - size + 1) // 2) * ((W + 2 * pad - size + 1) // 2)
            shapes = {"W1": (F, C, size, size), "b1": (F,), "W2": (F * pooled, hidden), "b2": (hidden,),
                      "W3": (hidden, classes), "b3": (classes,)}
            params = {k: (ctx.rng.standard_normal(s) * (0.5 if k.startswith("W") else 0.1)).astype(dtype)
                      for k, s in shapes.items()}
            X = ctx.rng.standard_normal((N, *dims)).astype(dtype)
            ctx.call("ThreeLayerConvNet", kwargs={
                "input_dim": dims, "num_filters": F, "filter_size": size, "hidden_dim": hidden,
                "num_classes": classes, "weight_scale": 1e-2, "reg": 0.0, "dtype": np.dtype(dtype).name, "seed": 0,
            }, keep="model", select=[], echo=False)
            for key, value in params.items():
                ctx.setitem("model", "params", key, value)
            scores, back = model_reference(X, params, {"stride": 1, "pad": pad})
            if not backward:
                answer = ctx.call("three_layer_forward", X, on="model", select=[(0,)], names={"X": X})
                got, _ = judge.unpack(answer.value, ("scores", "cache"))
                array = judge.array(got, "scores", scores.shape, dtype)
                expect.finish([judge.close(array, scores, "scores", judge.tolerance_for(dtype))], answer.mutated)
                return
            _forward_first(ctx, "three_layer_forward", (X,), on="model")
            dscores = ctx.rng.standard_normal(scores.shape).astype(dtype)
            expected = back(dscores)
            answer = ctx.call("three_layer_backward", dscores, Ref("fwd", (1,)), on="model", names={"dscores": dscores})
            grads = answer.value
            if not isinstance(grads, Mapping):
                raise judge.Fail(f"returned {judge.describe(grads)}, expected a dict of gradients")
            missing = [k for k in shapes if k not in grads.items]
            if missing:
                raise judge.Fail(f"the gradients have no {', '.join(missing)}")
            tol = judge.tolerance_for(dtype)
            skipped = hints.Mistake("matches the backward pass without the hidden layer's relu: its gradient goes "
                                    "through affine_relu_backward", lambda: _named(back(dscores, hidden_relu=False)))
            problems = expect.judged({f"grads['{k}']": grads.items[k] for k in shapes}, _named(expected), dtype, tol,
                                     hints.hint([skipped], _named(expected), tol))
            expect.finish(problems, answer.mutated)
        kind_of = f", {np.dtype(dtype).name}" if dtype != np.float64 else ""
        setup = (f"X {(N, *dims)}, {F} filters of {size}x{size}, hidden_dim {hidden}, num_classes {classes}"
                 f"{kind_of}")
        cases.append(Case(function, name, 1, run, setup))
    return tuple(cases)


def _named(grads: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Gradients under the names messages give them: ``grads['W1']``."""
    return {f"grads['{k}']": v for k, v in grads.items()}


# ---------------------------------------------------------------- Adam


def adam_case(name: str, steps: int, config: dict[str, float] | None, dtype: type = np.float64) -> Case:
    def run(ctx: Context) -> None:
        w: np.ndarray = ctx.rng.standard_normal((4, 5)).astype(dtype)
        state: dict[str, Any] = dict(config or {})
        expected_w = w
        previous: Ref | None = None
        for step in range(steps):
            dw: np.ndarray = ctx.rng.standard_normal((4, 5)).astype(dtype)
            before = expected_w
            expected_w, state = reference.adam(expected_w, dw, state)
            if previous is None:
                w_arg: Any = w
                args: tuple[Any, ...] = (w_arg, dw) if config is None else (w_arg, dw, dict(config))
            else:
                args = (Ref(previous.name, (0,)), dw, Ref(previous.name, (1,)))
            answer = ctx.call("adam", *args, keep=f"step{step}", names={"w": w, "dw": dw})
            previous = Ref(f"step{step}")
            next_w, got_config = judge.unpack(answer.value, ("next_w", "config"))
            got_w = judge.array(next_w, "next_w", w.shape, dtype)
            if not isinstance(got_config, Mapping):
                raise judge.Fail(f"config is {judge.describe(got_config)}, expected a dict")
            items = got_config.items
            where = f" after step {step + 1}"
            if "t" not in items or judge.scalar(items["t"], "config['t']") != state["t"]:
                raise judge.Fail(f"config['t'] is not the number of steps taken{where}")
            tol = judge.tolerance_for(dtype)
            problems = [judge.close(got_w, expected_w, "next_w" + where, tol)]
            if problems[0]:
                uncorrected = hints.hint([hints.adam_without_bias_correction(before, state)], {"w": expected_w}, tol)
                problems.append(uncorrected({"w": got_w}))
            for key in ("m", "v"):
                if key not in items:
                    raise judge.Fail(f"config has no '{key}'{where}")
                got = judge.array(items[key], f"config['{key}']", w.shape, None)
                problems.append(judge.close(got, state[key], f"config['{key}']{where}", tol))
            expect.finish(problems, answer.mutated)
    kind_of = f", {np.dtype(dtype).name}" if dtype != np.float64 else ""
    return Case("adam", name, 1, run, f"w (4, 5), {steps} step{'s' if steps > 1 else ''}, config {config or {}}"
                                      f"{kind_of}")


CASES: dict[str, tuple[Case, ...]] = {
    "affine_relu_forward": sandwich_cases("affine_relu", False),
    "affine_relu_backward": sandwich_cases("affine_relu", True),
    "conv_relu_forward": sandwich_cases("conv_relu", False),
    "conv_relu_backward": sandwich_cases("conv_relu", True),
    "conv_relu_pool_forward": sandwich_cases("conv_relu_pool", False),
    "conv_relu_pool_backward": sandwich_cases("conv_relu_pool", True),
    "three_layer_forward": model_cases(False),
    "three_layer_backward": model_cases(True),
    "adam": (
        adam_case("first step from the defaults", 1, None),
        adam_case("three steps carry m, v and t", 3, None),
        adam_case("custom learning rate and betas", 2, {"learning_rate": 1e-2, "beta1": 0.8, "beta2": 0.99,
                                                        "epsilon": 1e-6}),
        adam_case("float32 parameters", 2, None, np.float32),
    ),
}
