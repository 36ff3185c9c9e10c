"""Misconception hints: when a wrong answer is exactly what a known mistake gives, say which mistake.

Each builder takes a case's inputs and the grader's expected outputs and returns a ``Hint``: a
function of the student's returned arrays (by name, any shape) that names the first mistake they
match, or None. A mistake is either a known-wrong variant of the layer (written here, with plain
loops where that is clearest, and never released: the hint says what went wrong, the variant's
numbers stay here) or a wrong shape that only one mistake makes. A variant matches when every array
it defines agrees with the student's within the case's tolerance, ignoring entries it leaves as
NaN (what a mistake reads from outside the array is undefined); a variant that gives the right
answer on a case says nothing there, so a correct answer can never earn a hint.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from autograder import reference
from autograder.judge import Tolerance, relative_error
from autograder.reference import ConvShape, PoolShape

Arrays = dict[str, np.ndarray]
Hint = Callable[[Arrays], "str | None"]

OVERLAP = "right where windows do not overlap, wrong where they do: overlapping gradients add up (+=, not =)"


@dataclass(frozen=True)
class Mistake:
    says: str
    outputs: Callable[[], Arrays]  # what the mistake returns on this case, for the names it gets wrong
    shape_only: bool = False  # the mistake is known by its shape alone (its values are not modelled)


def hint(mistakes: list[Mistake], expected: Arrays, tol: Tolerance) -> Hint:
    """The ``Hint`` that tries ``mistakes`` in order against the student's arrays."""
    def said(got: Arrays) -> str | None:
        for mistake in mistakes:
            try:
                wrong = mistake.outputs()
            except (ValueError, IndexError):  # the mistake cannot even run on this case's geometry
                continue
            if _matches(got, wrong, expected, tol, mistake.shape_only):
                return mistake.says
        return None
    return said


def _matches(got: Arrays, wrong: Arrays, expected: Arrays, tol: Tolerance, shape_only: bool) -> bool:
    differs = False
    for name, variant in wrong.items():
        answer = got.get(name)
        if answer is None or answer.shape != variant.shape:
            return False
        right = expected[name]
        if variant.shape != right.shape:
            differs = True
            continue
        if shape_only:
            return False
        known = ~np.isnan(variant)
        if not known.any() or not np.all(np.isfinite(answer[known])):
            return False
        if relative_error(answer[known], variant[known], tol.floor) >= tol.limit:
            return False
        differs = differs or relative_error(variant[known], right[known], tol.floor) >= tol.limit
    return differs


# ---------------------------------------------------------------- shapes


def _floor_or_ceil(span: int, stride: int, ceil: bool) -> int:
    return (math.ceil(span / stride) if ceil else span // stride) + 1


def _shape_mistakes(name: str, shape: tuple[int, ...], rows: tuple[int, int, int], cols: tuple[int, int, int],
                    window: tuple[int, int], ceil_mode: bool) -> list[Mistake]:
    """Output-size mistakes; ``rows``/``cols`` are (padded size, window span, stride) along each axis."""
    N, C = shape[:2]
    (size_h, span_h, s_h), (size_w, span_w, s_w) = rows, cols
    H_out, W_out = shape[2:]
    rounded = (N, C, _floor_or_ceil(size_h - span_h, s_h, not ceil_mode),
               _floor_or_ceil(size_w - span_w, s_w, not ceil_mode))
    swapped = (N, C, H_out, _floor_or_ceil(size_w - window[0], s_w, ceil_mode))
    return [
        Mistake(f"{name} has {'floor' if ceil_mode else 'ceil'} output sizes: they round "
                f"{'up with ceil_mode' if ceil_mode else 'down (floor division) unless ceil_mode is set'}",
                lambda: {name: np.empty(rounded)}, shape_only=True),
        Mistake(f"{name}'s height size is used for its width too: the output is H_out x W_out",
                lambda: {name: np.empty((N, C, H_out, H_out))}, shape_only=True),
        Mistake(f"{name}'s width is computed from the window's height: use the window's width for the width",
                lambda: {name: np.empty(swapped)}, shape_only=True),
    ]


# ---------------------------------------------------------------- convolution


def _plain(param: dict) -> bool:
    s = ConvShape.of(param)
    return s.dilation == (1, 1) and s.groups == 1


def _conv_at(x: np.ndarray, w: np.ndarray, b: np.ndarray, pad: tuple[int, int], out: tuple[int, int],
             steps: tuple[int, int]) -> np.ndarray:
    """Convolution whose output cell (i, j) reads the window at (i * steps[0], j * steps[1]) of the padded x."""
    N, F = x.shape[0], w.shape[0]
    kh, kw = w.shape[2:]
    xpad = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    result = np.empty((N, F, *out))
    for i in range(out[0]):
        for j in range(out[1]):
            r, c = i * steps[0], j * steps[1]
            window = xpad[:, :, r:r + kh, c:c + kw]
            if window.shape[2:] != (kh, kw):
                raise IndexError("a window runs past the padded input")
            result[:, :, i, j] = np.einsum("nckl,fckl->nf", window, w) + b
    return result


def _conv_back_at(dout: np.ndarray, x: np.ndarray, w: np.ndarray, pad: tuple[int, int],
                  steps: tuple[int, int], overwrite: bool = False) -> Arrays:
    """dx, dw of windows placed at (i * steps[0], j * steps[1]); ``overwrite`` writes dx and dw with =."""
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    xpad = np.pad(x.astype(np.float64), ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    dxpad, dw = np.zeros(xpad.shape), np.zeros(w.shape)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    r, c = i * steps[0], j * steps[1]
                    if r + kh > xpad.shape[2] or c + kw > xpad.shape[3]:
                        raise IndexError("a window runs past the padded input")
                    g = dout[n, f, i, j]
                    if overwrite:
                        dxpad[n, :, r:r + kh, c:c + kw] = g * w[f]
                        dw[f] = g * xpad[n, :, r:r + kh, c:c + kw]
                    else:
                        dxpad[n, :, r:r + kh, c:c + kw] += g * w[f]
                        dw[f] += g * xpad[n, :, r:r + kh, c:c + kw]
    return {"dx": dxpad[:, :, pad[0]:pad[0] + H, pad[1]:pad[1] + W], "dw": dw}


def _stride_mistakes(stride: tuple[int, int], outputs: Callable[[tuple[int, int]], Arrays],
                     backward: bool = False) -> list[Mistake]:
    """Windows placed with the wrong steps: a stride left out, or one axis's stride used for both.

    Mistakes whose steps coincide (at stride (2, 1), leaving the row stride out and taking it from the
    width give the same answer) are one ``Mistake`` that names them all.
    """
    sh, sw = stride
    pass_ = " in the backward pass" if backward else ""
    named = [((1, 1), f"matches windows at stride 1{pass_}: window (i, j) starts at row i*stride, column j*stride"),
             ((1, sw), f"the row stride is left out{pass_}: row i starts at i * stride[0]"),
             ((sh, 1), f"the column stride is left out{pass_}: column j starts at j * stride[1]"),
             ((sh, sh), f"the width stride is taken from the height{pass_}: column j starts at j * stride[1]"),
             ((sw, sw), f"the height stride is taken from the width{pass_}: row i starts at i * stride[0]")]
    says: dict[tuple[int, int], list[str]] = {}
    for steps, text in named:
        if steps != (sh, sw):
            says.setdefault(steps, []).append(text)
    return [Mistake(", or ".join(texts), partial(outputs, steps)) for steps, texts in says.items()]


def conv_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, param: dict, expected: np.ndarray,
                 tol: Tolerance) -> Hint:
    s = ConvShape.of(param)
    out = expected.shape[2:]
    (sh, sw), (ph, pw) = s.stride, s.pad
    flipped = w[:, :, ::-1, ::-1]
    mistakes = [
        Mistake("matches a convolution with the kernel flipped: this layer is a cross-correlation, "
                "use w[f] as it is", lambda: {"out": reference.conv_forward(x, flipped, b, param)}),
        Mistake("matches the output without the bias: add b[f] to every cell of map f",
                lambda: {"out": reference.conv_forward(x, w, np.zeros_like(b), param)}),
    ]
    if _plain(param):
        mistakes += _stride_mistakes(s.stride, lambda steps: {"out": _conv_at(x, w, b, s.pad, out, steps)})
    def forward(xs: np.ndarray, p: dict) -> Arrays:
        return {"out": reference.conv_forward(xs, w, b, p)}
    mistakes += _without_dilation(x, param, forward) + _without_groups(x, w, param, forward)
    H, W = x.shape[2:]
    kh, kw = (s.dilation[0] * (w.shape[2] - 1) + 1, s.dilation[1] * (w.shape[3] - 1) + 1)
    mistakes += _shape_mistakes("out", expected.shape, (H + 2 * ph, kh, sh), (W + 2 * pw, kw, sw),
                                (kh, kw), False)
    return hint(mistakes, {"out": expected}, tol)


def _without_dilation(x: np.ndarray, param: dict, outputs: Callable[[np.ndarray, dict], Arrays]) -> list[Mistake]:
    """The dilation left out; ``outputs(x, param)`` is the layer's answer on those inputs."""
    if ConvShape.of(param).dilation == (1, 1):
        return []
    return [Mistake("matches the layer without its dilation: tap (p, q) of a window reads row "
                    "i*stride + p*dilation and column j*stride + q*dilation",
                    lambda: outputs(x, {**param, "dilation": 1}))]


def _without_groups(x: np.ndarray, w: np.ndarray, param: dict,
                    outputs: Callable[[np.ndarray, dict], Arrays]) -> list[Mistake]:
    """Groups left out: every filter reads the first C / groups channels."""
    groups = ConvShape.of(param).groups
    if groups == 1:
        return []
    return [Mistake(f"every filter reads the first {w.shape[1]} channels: with groups={groups}, filter f "
                    "belongs to group g = f // (F / groups) and reads channels g*C/groups to (g+1)*C/groups - 1",
                    lambda: outputs(x[:, :w.shape[1]], {**param, "groups": 1}))]


def _first_channels_backward(dout: np.ndarray, xs: np.ndarray, w: np.ndarray, param: dict,
                             shape: tuple[int, ...]) -> Arrays:
    """dx and dw of a layer that read only the channels ``xs`` holds; dx of the others stays 0."""
    dx, dw, _ = reference.conv_backward(dout, xs, w, param)
    full = np.zeros(shape)
    full[:, :xs.shape[1]] = dx
    return {"dx": full, "dw": dw}


def conv_backward(dout: np.ndarray, x: np.ndarray, w: np.ndarray, param: dict, expected: Arrays,
                  tol: Tolerance) -> Hint:
    s = ConvShape.of(param)
    ph, pw = s.pad
    N, C, H, W = x.shape
    mistakes = [
        Mistake("db holds one image's gradient, not the sum over the batch",
                lambda: {"db": np.asarray(dout[0], np.float64).sum(axis=(1, 2))}),
        Mistake("dx is empty when pad is 0: dxpad[:, :, pad:-pad] is empty then; cut with pad:pad + H",
                lambda: {"dx": np.empty((N, C, H if ph else 0, W if pw else 0))}, shape_only=True),
        Mistake("dx still holds the padding: cut it off the padded gradient",
                lambda: {"dx": np.empty((N, C, H + 2 * ph, W + 2 * pw))}, shape_only=True),
    ]
    d = np.asarray(dout, np.float64)
    mistakes += _without_groups(x, w, param, lambda xs, p: _first_channels_backward(d, xs, w, p, x.shape))
    if s.dilation != (1, 1) and s.groups == 1:
        mistakes.append(Mistake("dx and dw match windows without the dilation: tap (p, q) of window (i, j) is "
                                "row i*stride + p*dilation, column j*stride + q*dilation",
                                lambda: _conv_back_at(d, x, w, s.pad, s.stride)))
    if _plain(param):
        mistakes += [
            Mistake(f"dx is {OVERLAP}", lambda: {"dx": _conv_back_at(d, x, w, s.pad, s.stride, True)["dx"]}),
            Mistake(f"dw is {OVERLAP}", lambda: {"dw": _conv_back_at(d, x, w, s.pad, s.stride, True)["dw"]}),
            *_stride_mistakes(s.stride, lambda steps: _conv_back_at(d, x, w, s.pad, steps), backward=True),
            Mistake("dx matches the kernel flipped: the forward pass is a cross-correlation, so dx adds "
                    "dout * w[f] with w as it is", lambda: {"dx": _conv_back_at(d, x, w[:, :, ::-1, ::-1],
                                                                                  s.pad, s.stride)["dx"]}),
        ]
    return hint(mistakes, expected, tol)


# ---------------------------------------------------------------- pooling


def _windows(size: int, window: int, stride: int, pad: int, ceil_mode: bool) -> list[range]:
    """Padded indices of every window along one axis, clipped to the padded input."""
    out = reference.pool_out_size(size, window, stride, pad, ceil_mode)
    return [range(i * stride, min(i * stride + window, size + 2 * pad)) for i in range(out)]


def _pool_loops(x: np.ndarray, param: dict, cell: Callable[[np.ndarray], float], fill: float) -> np.ndarray:
    s = PoolShape.of(param)
    N, C, H, W = x.shape
    (ph, pw) = s.pad
    xpad = np.full((N, C, H + 2 * ph, W + 2 * pw), fill)
    xpad[:, :, ph:ph + H, pw:pw + W] = x
    rows = _windows(H, s.window[0], s.stride[0], ph, s.ceil_mode)
    cols = _windows(W, s.window[1], s.stride[1], pw, s.ceil_mode)
    out = np.empty((N, C, len(rows), len(cols)))
    for n in range(N):
        for c in range(C):
            for i, r in enumerate(rows):
                for j, q in enumerate(cols):
                    out[n, c, i, j] = cell(xpad[n, c, r.start:r.stop, q.start:q.stop])
    return out


def _pool_shape_mistakes(x: np.ndarray, param: dict, expected: np.ndarray) -> list[Mistake]:
    s = PoolShape.of(param)
    H, W = x.shape[2:]
    return _shape_mistakes("out", expected.shape, (H + 2 * s.pad[0], s.window[0], s.stride[0]),
                           (W + 2 * s.pad[1], s.window[1], s.stride[1]), s.window, s.ceil_mode)


def max_pool_forward(x: np.ndarray, param: dict, expected: np.ndarray, tol: Tolerance) -> Hint:
    mistakes = [
        Mistake("matches padding with zeros: max pooling pads with -inf, so padding never wins",
                lambda: {"out": _pool_loops(x, param, np.max, 0.0)}),
        *_pool_shape_mistakes(x, param, expected),
    ]
    return hint(mistakes, {"out": expected}, tol)


def avg_pool_forward(x: np.ndarray, param: dict, expected: np.ndarray, tol: Tolerance) -> Hint:
    s = PoolShape.of(param)
    full = s.window[0] * s.window[1]
    mistakes = [
        Mistake("matches the window's sum: divide by the number of cells the window covers",
                lambda: {"out": _pool_loops(x, param, np.sum, 0.0)}),
        Mistake("divides by the full window where ceil_mode clips it: divide by the cells it covers",
                lambda: {"out": _pool_loops(x, param, lambda v: v.sum() / full, 0.0)}),
        *_pool_shape_mistakes(x, param, expected),
    ]
    return hint(mistakes, {"out": expected}, tol)


def _max_back_loops(dout: np.ndarray, x: np.ndarray, param: dict, route: str) -> np.ndarray:
    """Max-pool backward with a mistake: ``route`` is ``assign`` (= at the first maximum), ``window``
    (the window's mask assigned with =), ``ties`` (+= to every tied maximum) or ``last`` (+= to the last)."""
    s = PoolShape.of(param)
    N, C, H, W = x.shape
    (ph, pw) = s.pad
    xpad = np.full((N, C, H + 2 * ph, W + 2 * pw), -np.inf)
    xpad[:, :, ph:ph + H, pw:pw + W] = x
    dxpad = np.zeros(xpad.shape)
    rows = _windows(H, s.window[0], s.stride[0], ph, s.ceil_mode)
    cols = _windows(W, s.window[1], s.stride[1], pw, s.ceil_mode)
    for n in range(N):
        for c in range(C):
            for i, r in enumerate(rows):
                for j, q in enumerate(cols):
                    window = xpad[n, c, r.start:r.stop, q.start:q.stop]
                    target = dxpad[n, c, r.start:r.stop, q.start:q.stop]
                    g = dout[n, c, i, j]
                    if route == "window":
                        target[...] = (window == window.max()) * g
                    elif route == "ties":
                        target += (window == window.max()) * g
                    else:
                        flat = window.ravel()
                        k = flat.size - 1 - int(np.argmax(flat[::-1])) if route == "last" else int(np.argmax(flat))
                        a, e = divmod(k, window.shape[1])
                        if route == "assign":
                            target[a, e] = g
                        else:
                            target[a, e] += g
    return dxpad[:, :, ph:ph + H, pw:pw + W]


def max_pool_backward(dout: np.ndarray, x: np.ndarray, param: dict, expected: np.ndarray, tol: Tolerance) -> Hint:
    d = np.asarray(dout, np.float64)
    mistakes = [
        Mistake(f"dx is {OVERLAP}", lambda: {"dx": _max_back_loops(d, x, param, "assign")}),
        Mistake(f"dx is {OVERLAP}", lambda: {"dx": _max_back_loops(d, x, param, "window")}),
        Mistake("sends the gradient to every tied maximum: it goes to the first maximum only (np.argmax)",
                lambda: {"dx": _max_back_loops(d, x, param, "ties")}),
        Mistake("sends the gradient to the last tied maximum: it goes to the first, in row-major order",
                lambda: {"dx": _max_back_loops(d, x, param, "last")}),
    ]
    return hint(mistakes, {"dx": expected}, tol)


def avg_pool_backward(dout: np.ndarray, x: np.ndarray, param: dict, expected: np.ndarray, tol: Tolerance) -> Hint:
    s = PoolShape.of(param)
    full = s.window[0] * s.window[1]
    mistakes = [
        Mistake("dx is not divided by the window's size: each cell of a window gets dout / (cells covered)",
                lambda: {"dx": reference.avg_pool_backward(dout * _divisors(x, param, dout.shape), x, param)}),
        Mistake("divides by the full window where ceil_mode clips it: divide by the cells it covers",
                lambda: {"dx": reference.avg_pool_backward(dout * _divisors(x, param, dout.shape) / full, x, param)}),
    ]
    return hint(mistakes, {"dx": expected}, tol)


def _divisors(x: np.ndarray, param: dict, out_shape: tuple[int, ...]) -> np.ndarray:
    """Cells covered by each window (the average's divisor), broadcast to the output's shape."""
    s = PoolShape.of(param)
    H, W = x.shape[2:]
    rows = _windows(H, s.window[0], s.stride[0], s.pad[0], s.ceil_mode)
    cols = _windows(W, s.window[1], s.stride[1], s.pad[1], s.ceil_mode)
    sizes = np.array([len(r) for r in rows])[:, None] * np.array([len(q) for q in cols])[None, :]
    return np.broadcast_to(sizes, out_shape)


# ---------------------------------------------------------------- im2col and col2im


def im2col(x: np.ndarray, HH: int, WW: int, param: dict, expected: np.ndarray, tol: Tolerance) -> Hint:
    s = ConvShape.of(param)
    C = x.shape[1]

    def cs231n_rows() -> Arrays:
        # CS231n's im2col_cython.pyx: row c*HH*WW + kh*HH + kw, which is right only for square kernels.
        wrong = np.full(expected.shape, np.nan)
        for c in range(C):
            for kh in range(HH):
                for kw in range(WW):
                    row = c * HH * WW + kh * HH + kw
                    if row < C * HH * WW:  # past the last row it writes outside the array
                        wrong[:, row] = expected[:, (c * HH + kh) * WW + kw]
        return {"cols": wrong}

    def undilated_rows(read: int, bound: int) -> Arrays:
        # Row tap kh read at i*sh + kh*read - ph where the kernel finds the rows to copy for
        # i*sh + kh*bound - ph: one of the two without the dilation. Rows found outside the image are
        # written as 0; rows read from outside it are whatever memory held there (undefined: NaN).
        wrong = np.full(expected.shape, np.nan)
        N, _, H, W = x.shape
        H_out, W_out = (reference.conv_out_size(H, HH, s.stride[0], s.pad[0], s.dilation[0]),
                        reference.conv_out_size(W, WW, s.stride[1], s.pad[1], s.dilation[1]))
        for c in range(C):
            for kh in range(HH):
                for kw in range(WW):
                    row = (c * HH + kh) * WW + kw
                    for i in range(H_out):
                        found, r = i * s.stride[0] + kh * bound - s.pad[0], i * s.stride[0] + kh * read - s.pad[0]
                        for j in range(W_out):
                            z = j * s.stride[1] + kw * s.dilation[1] - s.pad[1]
                            if not (0 <= found < H and 0 <= z < W):
                                wrong[:, row, i * W_out + j] = 0
                            elif 0 <= r < H:
                                wrong[:, row, i * W_out + j] = x[:, c, r, z]
        return {"cols": wrong}

    mistakes = [Mistake("matches CS231n's old bug: the row of tap (c, kh, kw) multiplies kh by the kernel's "
                        "height where its width belongs, (c*HH + kh)*WW + kw", cs231n_rows)]
    if s.dilation[0] != 1:
        d = s.dilation[0]
        says = "the dilation is left out along the rows: tap kh reads row i*stride + kh*dilation - pad"
        mistakes += [Mistake(says, lambda: undilated_rows(1, d)), Mistake(says, lambda: undilated_rows(d, 1))]
    return hint(mistakes, {"cols": expected}, tol)


def col2im(cols: np.ndarray, shape: tuple[int, int, int, int], HH: int, WW: int, param: dict,
           expected: np.ndarray, tol: Tolerance) -> Hint:
    s = ConvShape.of(param)
    N, C, H, W = shape

    def overwrite() -> Arrays:
        dx = np.zeros(shape)
        H_out, W_out = (reference.conv_out_size(H, HH, s.stride[0], s.pad[0], s.dilation[0]),
                        reference.conv_out_size(W, WW, s.stride[1], s.pad[1], s.dilation[1]))
        for c in range(C):
            for kh in range(HH):
                for kw in range(WW):
                    for i in range(H_out):
                        for j in range(W_out):
                            r = i * s.stride[0] + kh * s.dilation[0] - s.pad[0]
                            z = j * s.stride[1] + kw * s.dilation[1] - s.pad[1]
                            if 0 <= r < H and 0 <= z < W:
                                dx[:, c, r, z] = cols[:, (c * HH + kh) * WW + kw, i * W_out + j]
        return {"dx": dx}

    return hint([Mistake(f"dx is {OVERLAP}", overwrite)], {"dx": expected}, tol)


# ---------------------------------------------------------------- notebook 01


def relu_backward(dout: np.ndarray, x: np.ndarray, expected: np.ndarray, tol: Tolerance) -> Hint:
    return hint([Mistake("lets the gradient through where x is exactly 0: use x > 0, not x >= 0",
                         lambda: {"dx": np.where(np.asarray(x) >= 0, np.asarray(dout, np.float64), 0.0)})],
                {"dx": expected}, tol)


def affine_backward(dout: np.ndarray, x: np.ndarray, expected: Arrays, tol: Tolerance) -> Hint:
    return hint([
        Mistake("db holds one example's gradient, not the sum over the batch",
                lambda: {"db": np.asarray(dout[0], np.float64)}),
        Mistake("dx has x flattened to (N, D): reshape it to x's own shape",
                lambda: {"dx": np.empty((x.shape[0], int(np.prod(x.shape[1:]))))}, shape_only=True),
    ], expected, tol)


def softmax_loss(x: np.ndarray, y: np.ndarray, expected: Arrays, tol: Tolerance) -> Hint:
    n = x.shape[0]
    loss, dx = expected["loss"], expected["dx"]
    scores = np.asarray(x, np.float64)
    top = scores.max(axis=1)
    log_z = top + np.log(np.exp(scores - top[:, None]).sum(axis=1))
    right_class = np.exp(scores[np.arange(n), y] - log_z)  # each example's right class's probability
    def capped_loss(eps: float) -> Arrays:
        return {"loss": np.array(-np.log(right_class + eps).mean())}

    capped = "the loss is capped: log(p + eps) or a clipped p keeps it below -log(eps), and confident wrong " \
             "scores need more (log p = s - max - log(sum(exp(s - max))))"
    values = hint([
        Mistake("dx is N times too large: the loss is a mean over the N examples, so dx carries 1/N too",
                lambda: {"dx": dx * n}),
        Mistake("the loss is the sum over the batch: it is the mean over the N examples",
                lambda: {"loss": loss * n}),
        *(Mistake(capped, partial(capped_loss, eps)) for eps in (1e-5, 1e-6, 1e-7, 1e-8, 1e-10, 1e-12, 1e-13, 1e-15,
                                                                  1e-20)),
    ], expected, tol)

    def said(got: Arrays) -> str | None:
        overflowed = any(not np.all(np.isfinite(a)) for a in got.values())
        if overflowed and float(np.max(np.abs(x))) > 88:  # exp overflows float32 above 88, float64 above 709
            return "exp overflowed: subtract each row's maximum before exponentiating"
        return values(got)
    return said


# ---------------------------------------------------------------- notebook 05


def adam_without_bias_correction(w: np.ndarray, state: dict) -> Mistake:
    """Adam's step from ``w`` with the new ``state``'s m and v, but m / (1 - beta1**t) and v's correction left out."""
    lr, eps = state.get("learning_rate", 1e-3), state.get("epsilon", 1e-8)
    return Mistake("matches Adam without bias correction: divide m by 1 - beta1**t and v by 1 - beta2**t",
                   lambda: {"w": np.asarray(w, np.float64) - lr * state["m"] / (np.sqrt(state["v"]) + eps)})
