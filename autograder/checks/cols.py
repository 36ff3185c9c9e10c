"""Notebook 04, tasks 4.1-4.2: the compiled kernels behind im2col_cython and col2im_cython.

Students write the ``nogil`` kernels; the checks call the ``def`` wrappers, which is
how every other part of the kit uses them. Judged against the grader's own gather
in the kit's documented layout (see ``cs_conv/im2col.py``)::

    cols[n, (c*HH + kh)*WW + kw, i*W_out + j] = xpad[n, c, i*S_h + kh*D_h, j*S_w + kw*D_w]

im2col copies values, so it must match exactly; col2im adds them up (its adjoint).
Tests keep the wrappers' names (``im2col_cython: ...``); every message names the kernel
as the notebook does (``im2col_kernel (task 4.1), called through im2col_cython``).
The rectangular cases are there for CS231n's old bug of using the field height
where the width belongs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autograder import expect, hints, judge, reference
from autograder.cases import Case, Context, traceable
from cs_conv.tasks import TASKS

Pair = int | tuple[int, int]


@dataclass(frozen=True)
class ColsGeometry:
    name: str
    x: tuple[int, int, int, int]
    kernel: tuple[int, int]
    pad: Pair
    stride: Pair
    dilation: Pair = 1
    dtype: type = np.float64
    tiny: bool = False

    @property
    def param(self) -> dict[str, Pair]:
        return {"pad": self.pad, "stride": self.stride, "dilation": self.dilation}

    def args(self) -> tuple[Pair, ...]:
        tail = (self.dilation,) if self.dilation != 1 else ()
        return (*self.kernel, self.pad, self.stride, *tail)

    def setup(self, wrapper: str) -> str:
        """The case in the notebook's terms: the kernel the student wrote (and its task, from ``cs_conv.tasks``)
        and the ``wrapper`` it was called through."""
        [kernel] = [task for task in TASKS.values() if task.through == wrapper]
        dtype = f", {np.dtype(self.dtype).name}" if self.dtype != np.float64 else ""
        return (f"{kernel.function} (task {kernel.number}), called through {wrapper}: x {self.x}, "
                f"kernel {self.kernel}, pad {self.pad}, stride {self.stride}, dilation {self.dilation}{dtype}")


GEOMETRIES = (
    ColsGeometry("tiny 1x1x4x4 input, 2x2 kernel, stride 2", (1, 1, 4, 4), (2, 2), 0, 2, tiny=True),
    ColsGeometry("stride 1, pad 1", (2, 3, 5, 5), (3, 3), 1, 1),
    ColsGeometry("stride 2, pad 0", (2, 3, 7, 7), (3, 3), 0, 2),
    ColsGeometry("stride 3, pad 2", (2, 2, 8, 8), (3, 3), 2, 3),
    ColsGeometry("rectangular 2x3 kernel on a 5x7 input", (2, 2, 5, 7), (2, 3), 1, 1),
    ColsGeometry("rectangular 3x2 kernel, stride 2", (1, 3, 6, 5), (3, 2), 0, 2),
    ColsGeometry("per-axis stride (2, 1) and pad (0, 2)", (1, 2, 7, 5), (3, 2), (0, 2), (2, 1)),
    ColsGeometry("dilation 2", (2, 2, 7, 7), (3, 3), 2, 1, dilation=2),
    ColsGeometry("batch 1, one channel", (1, 1, 6, 6), (3, 3), 1, 1),
    ColsGeometry("kernel as large as the padded input", (1, 2, 3, 3), (5, 5), 1, 1),
    ColsGeometry("float32", (2, 3, 6, 6), (3, 3), 1, 1, dtype=np.float32),
    ColsGeometry("larger random", (4, 3, 16, 16), (5, 5), 2, 1),
)


def im2col_case(g: ColsGeometry) -> Case:
    def run(ctx: Context) -> None:
        x: np.ndarray = (traceable(g.x) if g.tiny else ctx.rng.standard_normal(g.x)).astype(g.dtype)
        expected = reference.im2col(x, *g.kernel, g.param)
        answer = ctx.call("im2col_cython", x, *g.args(), names={"x": x})
        hint = hints.im2col(x, *g.kernel, g.param, expected, judge.EXACT)
        expect.finish(expect.judged({"cols": answer.value}, {"cols": expected}, g.dtype, judge.EXACT, hint),
                      answer.mutated)
    return Case("im2col_cython", g.name, 1, run, g.setup("im2col_cython"))


def col2im_case(g: ColsGeometry) -> Case:
    def run(ctx: Context) -> None:
        shape = reference.im2col(np.zeros(g.x), *g.kernel, g.param).shape
        cols: np.ndarray = (traceable(shape) if g.tiny else ctx.rng.standard_normal(shape)).astype(g.dtype)
        expected = reference.col2im(cols, g.x, *g.kernel, g.param)
        answer = ctx.call("col2im_cython", cols, *g.x, *g.args(), names={"cols": cols})
        tol = judge.tolerance_for(g.dtype)
        hint = hints.col2im(cols, g.x, *g.kernel, g.param, expected, tol)
        expect.finish(expect.judged({"dx": answer.value}, {"dx": expected}, g.dtype, tol, hint), answer.mutated)
    return Case("col2im_cython", g.name, 1, run, g.setup("col2im_cython"))


CASES: dict[str, tuple[Case, ...]] = {
    "im2col_cython": tuple(im2col_case(g) for g in GEOMETRIES),
    "col2im_cython": tuple(col2im_case(g) for g in GEOMETRIES),
}
