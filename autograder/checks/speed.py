"""Speed cases for the fast layers: beat the grader's own Python-loop layer by a wide factor.

Timing is done here, in the trusted parent, around each request to the student's
process (the child's clock could be faked), so it includes sending the inputs and
receiving the result. Each repeat sends fresh inputs from the case's secret seed
(see ``autograder.cases``), and each repeat's answer must be right, so neither a
cached answer nor a table computed offline can stand in for the layer. The
yardstick is the reference's plain loop layer for the same direction
(``reference.conv_backward_loops`` for a backward case), also timed here, at most
every two minutes, on one image: the loops go over the batch one image at a time, so their
time for the batch is the batch size times that (their once-per-call costs are microseconds
next to an image's milliseconds). A backward repeat is handed the cache of the student's own
forward pass when that passes (``expect.cache_for``), as the other backward cases are.

The student's median repeat is judged, not the best: a layer that was fast on one
repeat (say one whose answer it had worked out beforehand) and slow on the rest is
slow. A first repeat is judged but not timed, so that first-call costs (the
process's first large arrays, a thread pool starting) do not count. Noise on a
loaded machine only ever adds time, so the yardstick (the grader's own code) takes
its best of 3, and the bar is low next to the gap it tests: the inputs are large
enough that the cost of each request is small next to the work, and the solved
layers' median repeat measures 12-150x the loop even with the machine's load average
far above its core count, a layer that calls the loops about 1x, and the bar is 5x.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from autograder import expect, judge, reference
from autograder.cases import Case, Context
from autograder.judge import Fail

FACTOR = 5.0
REPEATS = 5
WARMUPS = 1  # judged, not timed
YARDSTICK_REPEATS = 3
CONV_X, CONV_W = (8, 8, 16, 16), (8, 8, 3, 3)
CONV_PARAM: dict[str, Any] = {"stride": 1, "pad": 1}
POOL_X = (8, 8, 48, 48)
POOL_PARAM: dict[str, Any] = {"pool_height": 2, "pool_width": 2, "stride": 2}
NAME = "speed"


def _best_seconds(run: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


YARDSTICK_SECONDS = 120.0  # a long grade-all run measures again, as the machine's load changes
_yardsticks: dict[tuple[str, bool], tuple[float, float]] = {}


def _yardstick(kind: str, backward: bool) -> float:
    """Best seconds of the loop layer (``conv``, ``max`` or ``avg``), measured at most every two minutes."""
    key = (kind, backward)
    measured, seconds = _yardsticks.get(key, (-YARDSTICK_SECONDS, 0.0))
    if time.monotonic() - measured >= YARDSTICK_SECONDS:
        _yardsticks[key] = (time.monotonic(), _measure_loops(kind, backward))
    return _yardsticks[key][1]


def _measure_loops(kind: str, backward: bool) -> float:
    """Seconds the loop layer takes on a speed case's whole batch: its best on one image, times the batch."""
    rng = np.random.default_rng(0)
    if kind == "conv":
        batch = CONV_X[0]
        x, w, b = rng.standard_normal((1, *CONV_X[1:])), rng.standard_normal(CONV_W), rng.standard_normal(CONV_W[0])
        dout = rng.standard_normal(reference.conv_forward(x, w, b, CONV_PARAM).shape)
        run = ((lambda: reference.conv_backward_loops(dout, x, w, CONV_PARAM)) if backward
               else (lambda: reference.conv_forward_loops(x, w, b, CONV_PARAM)))
    else:
        batch = POOL_X[0]
        x = rng.standard_normal((1, *POOL_X[1:]))
        dout = rng.standard_normal(reference.max_pool_forward(x, POOL_PARAM).shape)
        run = ((lambda: reference.pool_backward_loops(dout, x, POOL_PARAM, kind)) if backward
               else (lambda: reference.pool_forward_loops(x, POOL_PARAM, kind)))
    return _best_seconds(run, YARDSTICK_REPEATS) * batch


def _timed_case(function: str, yardstick: Callable[[], float], trial: Callable[[Context], float],
                shape: tuple[int, ...]) -> Case:
    """A speed case: each ``trial`` makes fresh inputs, calls the student, judges the answer, returns its seconds."""
    def run(ctx: Context) -> None:
        loops = yardstick()
        fast = statistics.median([trial(ctx) for _ in range(WARMUPS + REPEATS)][WARMUPS:])
        # The message is the same on every run (no measured figures), so re-grading reads the same.
        if loops / fast < FACTOR:
            raise Fail(f"not at least {FACTOR:g}x faster than the grader's plain Python loops (median of "
                       f"{REPEATS} runs, x of shape {shape}); is it still calling the loop version?")
    return Case(function, NAME, 2, run)


def conv_speed(function: str, backward: bool) -> Case:
    def trial(ctx: Context) -> float:
        x, w = ctx.rng.standard_normal(CONV_X), ctx.rng.standard_normal(CONV_W)
        b = ctx.rng.standard_normal(CONV_W[0])
        if not backward:
            answer = ctx.call(function, x, w, b, CONV_PARAM, select=[(0,)], echo=False)
            expected = reference.conv_forward(x, w, b, CONV_PARAM)
            out = judge.array(judge.unpack(answer.value, ("out", "cache"))[0], "out", expected.shape, np.float64)
            judge.values((out, expected, "out", judge.FLOAT64))
            return answer.seconds
        out = reference.conv_forward(x, w, b, CONV_PARAM)
        dout = ctx.rng.standard_normal(out.shape)
        cache = expect.cache_for(ctx, function.replace("backward", "forward"), (x, w, b, CONV_PARAM), {}, out,
                                 np.float64, (x, w, b, CONV_PARAM), "(x, w, b, conv_param)")
        answer = ctx.call(function, dout, cache.sent, echo=False)  # only this call is timed
        grads = dict(zip(("dx", "dw", "db"), reference.conv_backward(dout, x, w, CONV_PARAM), strict=True))
        parts = judge.unpack(answer.value, tuple(grads))
        judge.values(*((judge.array(part, name, grads[name].shape, np.float64), grads[name], name, judge.FLOAT64)
                       for part, name in zip(parts, grads, strict=True)))
        return answer.seconds

    return _timed_case(function, lambda: _yardstick("conv", backward), trial, CONV_X)


def pool_speed(function: str, kind: str, backward: bool) -> Case:
    forward_ref, backward_ref = {"max": (reference.max_pool_forward, reference.max_pool_backward),
                                 "avg": (reference.avg_pool_forward, reference.avg_pool_backward)}[kind]

    def trial(ctx: Context) -> float:
        x = ctx.rng.standard_normal(POOL_X)
        if not backward:
            answer = ctx.call(function, x, POOL_PARAM, select=[(0,)], echo=False)
            expected = forward_ref(x, POOL_PARAM)
            out = judge.array(judge.unpack(answer.value, ("out", "cache"))[0], "out", expected.shape, np.float64)
            judge.values((out, expected, "out", judge.FLOAT64))
            return answer.seconds
        out = forward_ref(x, POOL_PARAM)
        dout = ctx.rng.standard_normal(out.shape)
        cache = expect.cache_for(ctx, function.replace("backward", "forward"), (x, POOL_PARAM), {}, out, np.float64,
                                 (x, POOL_PARAM), "(x, pool_param)")
        answer = ctx.call(function, dout, cache.sent, echo=False)  # only this call is timed
        expected = backward_ref(dout, x, POOL_PARAM)
        judge.values((judge.array(answer.value, "dx", expected.shape, np.float64), expected, "dx", judge.FLOAT64))
        return answer.seconds

    return _timed_case(function, lambda: _yardstick(kind, backward), trial, POOL_X)
