"""Fair verdicts on code students really write (issue 12): each mistake loses points exactly on the cases
that show it, with a message that names it; correct code in CS231n's style keeps every point within
CS231n's semantics, however slow, whatever it keeps in its cache; blame lands on the function at fault;
and the notebooks' visible checks catch the same mistakes before the student submits.

A submission is the solved kit with student-style functions appended to ``cs_conv/layers.py`` (a later
``def`` replaces the solved one), or with a small patch of the solved code.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from autograder_helpers import REPO, Patch, apply_patches, copy_solved

sys.path.insert(0, str(REPO / "assignments"))
from course_tools.run_notebooks import SOURCE, run_notebook  # noqa: E402

from cs_conv.tasks import TASKS  # noqa: E402

pytestmark = pytest.mark.slow

# Cases beyond CS231n's semantics: the kit's documented extensions.
EXTENSIONS = ("per-axis", "dilation", "groups", "ceil_mode", "pad 1, negative inputs", "float32")


def cs231n_level(case: str) -> bool:
    return not any(word in case for word in EXTENSIONS)


def submission(tmp_path: Path, appended: str = "", patches: list[Patch] | None = None) -> Path:
    folder = apply_patches(copy_solved(tmp_path / "submission"), patches or [])
    if appended:
        layers = folder / "cs_conv" / "layers.py"
        layers.write_text(layers.read_text() + "\n\n" + appended)
    return folder


def failed(report, function: str) -> dict[str, str]:
    return {r.case: r.message for r in report.results if r.function == function and not r.passed}


def graded(grade_with, folder: Path, *functions: str):
    report = grade_with(folder, only=list(functions))
    assert report.error is None, report.error
    return report


# ---------------------------------------------------------------- CS231n-style layers, as students write them

POOL_FORWARD = '''
def max_pool_forward_naive(x, pool_param):
    N, C, H, W = x.shape
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    out_h = (H - ph) // stride + 1
    out_w = (W - {width_window}) // stride + 1
    out = np.zeros((N, C, out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = window.reshape(N, C, -1).max(axis=2)
    return out, (x, pool_param)
'''


def test_rectangular_windows_with_a_scalar_stride_show_the_real_bug(tmp_path, grade_with):
    # W - pool_height where W - pool_width belongs: CS231n-style code (a scalar stride) whose only bug
    # is that; it crashes on the per-axis case (an extension) and must lose a CS231n-level case too.
    report = graded(grade_with, submission(tmp_path, POOL_FORWARD.format(width_window="ph")), "max_pool_forward_naive")
    lost = failed(report, "max_pool_forward_naive")
    assert "rectangular 3x2 windows, stride 2, on an 8x6 input" in lost
    assert "computed from the window's height" in lost["rectangular 3x2 windows, stride 2, on an 8x6 input"]
    assert {case for case in lost if cs231n_level(case)} == {"rectangular 3x2 windows, stride 2, on an 8x6 input"}
    # The same code with pool_width keeps every CS231n-level point.
    right = graded(grade_with, submission(tmp_path / "right", POOL_FORWARD.format(width_window="pw")),
                   "max_pool_forward_naive")
    assert not {case for case in failed(right, "max_pool_forward_naive") if cs231n_level(case)}


CONV_FORWARD_ROUND = '''
def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = int(round((H + 2 * pad - HH) / stride)) + 1
    W_out = int(round((W + 2 * pad - WW) / stride)) + 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, f, i, j] = np.sum(xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] * w[f])
                    out[n, f, i, j] += b[f]
    return out, (x, w, b, conv_param)
'''


def test_rounded_output_sizes_lose_the_floor_cases(tmp_path, grade_with):
    report = graded(grade_with, submission(tmp_path, CONV_FORWARD_ROUND), "conv_forward_naive")
    lost = {case for case in failed(report, "conv_forward_naive") if cs231n_level(case)}
    assert "stride 2 on a 6x8 input (sizes round down)" in lost
    assert all("stride" in case for case in lost), lost  # only geometries whose sizes do not divide


SOFTMAX = '''
def softmax_loss(x, y):
    N = x.shape[0]
    shifted = x - x.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(p[np.arange(N), y]{eps}))
    dx = p.copy()
    dx[np.arange(N), y] -= 1
    return loss, dx / N
'''


def test_softmax_is_judged_on_what_notebook_01_teaches(tmp_path, grade_with):
    # Subtract the maximum, then take the log of the probabilities: what the notebook teaches passes.
    taught = graded(grade_with, submission(tmp_path, SOFTMAX.format(eps="")), "softmax_loss")
    assert {case for case in failed(taught, "softmax_loss") if cs231n_level(case)} == set()
    # A capped loss loses the confident-scores case only, and is told why.
    capped = graded(grade_with, submission(tmp_path / "capped", SOFTMAX.format(eps=" + 1e-13")), "softmax_loss")
    lost = failed(capped, "softmax_loss")
    assert set(lost) == {"confident scores (scale 25)"}
    assert "the loss is capped" in lost["confident scores (scale 25)"]


SEVEN_LOOPS = '''
def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad, dw, db = np.zeros_like(x_pad), np.zeros_like(w), np.zeros_like(b)
    for n in range(N):
        for f in range(F):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    db[f] += dout[n, f, i, j]
                    for c in range(C):
                        for p in range(HH):
                            for q in range(WW):
                                dw[f, c, p, q] += dout[n, f, i, j] * x_pad[n, c, i * stride + p, j * stride + q]
                                dx_pad[n, c, i * stride + p, j * stride + q] += dout[n, f, i, j] * w[f, c, p, q]
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db
'''


def test_a_correct_seven_deep_loop_keeps_every_cs231n_point(tmp_path, grade_with):
    # Its time limit is a multiple of the grader's own seven-deep loop on this machine, so it passes
    # however busy the machine is; the larger case takes it far beyond a second.
    report = graded(grade_with, submission(tmp_path, SEVEN_LOOPS), "conv_backward_naive")
    lost = {case: message for case, message in failed(report, "conv_backward_naive").items() if cs231n_level(case)}
    assert lost == {}
    larger = next(r for r in report.results if r.case == "larger random")
    assert larger.passed


EXTENDED_CACHE = '''
def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    H_out, W_out = (H + 2 * pad - HH) // stride + 1, (W + 2 * pad - WW) // stride + 1
    out = np.zeros((N, F, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out, (x, w, b, conv_param, x_pad)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param, x_pad = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    HH, WW = w.shape[2:]
    H, W = x.shape[2:]
    dx_pad, dw = np.zeros_like(x_pad), np.zeros_like(w)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = (slice(None), slice(None), slice(i * stride, i * stride + HH), slice(j * stride, j * stride + WW))
            dw += np.tensordot(dout[:, :, i, j], x_pad[window], axes=([0], [0]))
            dx_pad[window] += np.tensordot(dout[:, :, i, j], w, axes=([1], [0]))
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))
'''


def test_a_backward_pass_is_judged_on_its_own_forward_cache(tmp_path, grade_with):
    report = graded(grade_with, submission(tmp_path, EXTENDED_CACHE), "conv_forward_naive", "conv_backward_naive")
    for function in ("conv_forward_naive", "conv_backward_naive"):
        assert {case for case in failed(report, function) if cs231n_level(case)} == set(), function
    # Where its forward cannot run (a per-axis stride), the documented cache is all there is, and the
    # message says so instead of blaming the backward pass for "not enough values to unpack".
    per_axis = failed(report, "conv_backward_naive")["per-axis stride (1, 2)"]
    assert "judged on the documented cache (x, w, b, conv_param): your conv_forward_naive failed" in per_axis


def test_a_backward_pass_that_changes_its_own_cache_is_caught(tmp_path, grade_with):
    mutating = EXTENDED_CACHE.replace("    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))",
                                      "    x_pad[...] = 0\n"
                                      "    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, dout.sum(axis=(0, 2, 3))")
    report = graded(grade_with, submission(tmp_path, mutating), "conv_backward_naive")
    lost = failed(report, "conv_backward_naive")
    assert lost["stride 1, pad 1"].startswith("modified its input cache")
    assert "judged on the cache your conv_forward_naive returned" in lost["stride 1, pad 1"]


def test_an_in_place_relu_forward_is_blamed_on_relu_forward(tmp_path, grade_with):
    in_place = '''
def relu_forward(x):
    x[x < 0] = 0
    return x, x
'''
    report = graded(grade_with, submission(tmp_path, in_place), "relu_forward", "relu_backward")
    assert all("modified its input x" in message for message in failed(report, "relu_forward").values())
    assert failed(report, "relu_forward")
    assert failed(report, "relu_backward") == {}


def test_assignment_for_accumulation_in_max_pool_backward_fails_where_windows_share_a_maximum(tmp_path,
                                                                                                grade_with):
    patch = ("layers.py", "dxpad[n, c, rows.start + r, cols.start + s] += dout[n, c, i, j]",
             "dxpad[n, c, rows.start + r, cols.start + s] = dout[n, c, i, j]")
    report = graded(grade_with, submission(tmp_path, patches=[patch]), "max_pool_backward_naive")
    lost = failed(report, "max_pool_backward_naive")
    shared = lost["overlapping 3x3 windows share their maxima"]
    assert "right where windows do not overlap, wrong where they do: overlapping gradients add up" in shared
    assert "pool_param {'pool_height': 3, 'pool_width': 3, 'stride': 2}" in shared
    # Windows that never overlap (2x2 at stride 2) lose nothing.
    assert not {"tiny 4x4 input, 2x2 windows, stride 2", "batch 1, one channel", "larger random"} & set(lost)


def test_assignment_for_accumulation_in_conv_backward_gets_the_accumulation_hint(tmp_path, grade_with):
    patch = ("layers.py", "dxpad[n, c0:c0 + Cg, rows, cols] += dout[n, f, i, j] * w[f]",
             "dxpad[n, c0:c0 + Cg, rows, cols] = dout[n, f, i, j] * w[f]")
    report = graded(grade_with, submission(tmp_path, patches=[patch]), "conv_backward_naive")
    lost = failed(report, "conv_backward_naive")
    assert lost["stride 1, pad 1"].startswith("dx relative error")
    assert "overlapping gradients add up" in lost["stride 1, pad 1"]
    # Every CS231n-level case it loses says why (with a 1x1 kernel, the F filters' gradients add up).
    assert all("overlapping gradients add up" in message for case, message in lost.items() if cs231n_level(case))


def test_messages_give_the_setup_and_the_notebooks_names_but_no_answer(tmp_path, grade_with):
    patch = ("im2col_cython.pyx", "dst = &cols[n, (c * HH + kh) * WW + kw, 0]",
             "dst = &cols[n, c * HH * WW + kh * HH + kw, 0]")
    report = graded(grade_with, submission(tmp_path, patches=[patch]), "im2col_cython")
    lost = failed(report, "im2col_cython")
    message = lost["rectangular 2x3 kernel on a 5x7 input"]
    assert message.startswith("cols relative error")
    assert "im2col_kernel (task 4.1), called through im2col_cython: x (2, 2, 5, 7), kernel (2, 3), pad 1" in message
    assert "seed" not in " ".join(lost.values())


# ---------------------------------------------------------------- the notebooks' visible checks


def notebook_errors(tmp_path: Path, notebook: str, appended: str = "", patches: list[Patch] | None = None) -> str:
    """The first error the notebook stops with when run against a submission made like the graded ones."""
    folder = submission(tmp_path, appended, patches)
    shutil.copyfile(SOURCE / notebook, folder / notebook)
    result = run_notebook(folder / notebook, cwd=folder, env={"CS_CONV_DATA": str(REPO / "data")}, timeout=300)
    assert result.errors, f"{notebook} ran clean"
    return result.errors[0]


@pytest.mark.parametrize("notebook, patch, says", [
    ("02_convolution.ipynb", ("layers.py", "out[n, f, i, j] = np.sum(window * w[f]) + b[f]",
                              "out[n, f, i, j] = np.sum(window * w[f, :, ::-1, ::-1]) + b[f]"), "kernel flipped"),
    ("02_convolution.ipynb", ("layers.py", "j * sw:j * sw + dil_w * (WW - 1) + 1:dil_w]",
                              "j * sh:j * sh + dil_w * (WW - 1) + 1:dil_w]"), "width stride taken from the height"),
    ("02_convolution.ipynb", ("layers.py", "dxpad[n, c0:c0 + Cg, rows, cols] += dout[n, f, i, j] * w[f]",
                              "dxpad[n, c0:c0 + Cg, rows, cols] = dout[n, f, i, j] * w[f]"), "+= into dxpad"),
    ("03_pooling.ipynb", ("layers.py", "dxpad[n, c, rows.start + r, cols.start + s] += dout[n, c, i, j]",
                          "dxpad[n, c, rows.start + r, cols.start + s] = dout[n, c, i, j]"),
     "overlapping gradients add up"),
    ("01_vector_backprop.ipynb", ("layers.py", "log_probs[rows, y].mean()",
                                  "np.log(np.exp(log_probs[rows, y]) + 1e-13).mean()"), "confident scores"),
])
def test_visible_checks_catch_the_mistake_and_name_it(tmp_path, notebook, patch, says):
    error = notebook_errors(tmp_path, notebook, patches=[patch])
    assert says in error, error


def test_notebook_01_blames_an_in_place_relu_forward_on_relu_forward(tmp_path):
    in_place = '''
def relu_forward(x):
    x[x < 0] = 0
    return x, x
'''
    error = notebook_errors(tmp_path, "01_vector_backprop.ipynb", in_place)
    assert "relu_forward modified its input x" in error, error


# ---------------------------------------------------------------- the demo's partial student


def test_every_planted_bug_of_the_partial_sample_gets_its_hint(tmp_path, grade_with):
    from course_tools.samples import BUGS, plant

    hint = {"relu_backward": "exactly 0", "softmax_loss": "exp overflowed",
            "conv_backward_naive": "overlapping gradients add up", "avg_pool_backward_naive": "full window",
            "im2col_kernel": "the dilation is left out along the rows"}
    assert {bug.function for bug in BUGS} == set(hint)
    for k, bug in enumerate(BUGS):
        folder = copy_solved(tmp_path / f"bug{k}")
        path = folder / bug.path
        path.write_text(plant(path.read_text(), bug))
        function = TASKS[bug.function].tested_as  # a kernel is graded through its wrapper
        lost = failed(graded(grade_with, folder, function), function)
        # Two of the planted bugs show only on extensions (dilation, ceil_mode): their hints must cover those;
        # the others' hints must cover every CS231n-level case they lose.
        explained = {case: message for case, message in lost.items()
                     if cs231n_level(case) or bug.function in ("im2col_kernel", "avg_pool_backward_naive")}
        assert explained and all(hint[bug.function] in message for message in explained.values()), (bug.why, lost)
