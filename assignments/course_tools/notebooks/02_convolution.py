# %% [markdown] id="title"
# # Notebook 02: Convolution
#
# A fully connected layer looks at a whole image at once; for a 32x32x3 image that is 3072 weights per
# output, and hundreds of millions for one layer of any size. Images do not need that: their features
# (edges, colours, corners) are small, local, and can appear anywhere. A **convolution layer** slides
# small filters over the image and computes a dot product at each position, with the same weights
# everywhere. This notebook follows the lectures: a convolution by hand, cross-correlation versus
# convolution, output sizes and parameter counts, padding, stride and dilation, classic filters on a
# real photograph, the X-and-O toy ConvNet and 1x1 convolutions. You write the layer itself:
#
# | task | function | file |
# | --- | --- | --- |
# | 2.1 | `conv_forward_naive` | `cs_conv/layers.py` |
# | 2.2 | `conv_backward_naive` | `cs_conv/layers.py` |

# %% [markdown] include="how_to_work" join=true
# **How to work.** You write code only in the `cs_conv/` folder next to this notebook (each task names
# its file and function; the function's docstring gives exact shapes). This notebook explains the ideas,
# then runs *visible checks*: cells that `assert` and stop with a message that says what is wrong.
# Until you complete a task its checks stop with `NotImplementedError` naming the task: that is expected.
# Cells marked *Autograded* are scored after you submit by the course's autograder, which runs its own,
# more thorough tests on your `cs_conv` in a sandbox; the visible checks are a preview, not the grade.
# *Question* cells are read by a person: answer in the cell below each one.
#
# **Time.** The autograder gives each of its cases at least 20 seconds, or 20 times what its own plain
# seven-loop version of the layer takes on the same machine at that moment, whichever is longer: a
# correct loop, however naive, passes even on a busy machine; only code that runs away times out.

# %% id="setup" include="setup"
# Run this cell first. It makes `import cs_conv` load YOUR copy: the cs_conv/ folder next to this
# notebook, which is the copy that gets graded. Edits to cs_conv/*.py are picked up without a
# restart (autoreload); after rebuilding the Cython extension, restart the kernel.
# %load_ext autoreload
# %autoreload 2
import sys
from pathlib import Path

import matplotlib.pyplot as plt  # noqa: F401 - for the figures, and your own
import numpy as np

if (Path.cwd() / "cs_conv").is_dir():
    sys.path.insert(0, str(Path.cwd()))
try:
    import cs_conv
except ModuleNotFoundError:
    raise ModuleNotFoundError(
        "cannot import cs_conv: open this notebook from your assignment folder, the one that "
        "holds the cs_conv/ folder (start JupyterLab there)") from None
from cs_conv.gradient_check import eval_numerical_gradient, eval_numerical_gradient_array  # noqa: F401

np.set_printoptions(precision=4, suppress=True, linewidth=110)
print("cs_conv is imported from", Path(cs_conv.__file__).parent)


# %% id="check_helper" include="check_helper"
def check_close(got, expected, what, tol=1e-7, hint=""):
    """Assert that `got` matches `expected` to a relative error below `tol`, and say which check passed.

    An entry much smaller than the array's largest is measured against the largest: the centred
    difference of a gradient that is exactly 0 comes out near 1e-10, not 0.
    """
    got, expected = np.asarray(got, dtype=float), np.asarray(expected, dtype=float)
    assert got.shape == expected.shape, f"{what}: got shape {got.shape}, expected {expected.shape}. {hint}"
    scale = max(float(np.abs(expected).max(initial=0.0)), 1e-12)
    error = float(np.max(np.abs(got - expected) / np.maximum(np.abs(got) + np.abs(expected), scale),
                         initial=0.0))
    assert error < tol, f"{what}: relative error {error:.1e} is above {tol:.0e}. {hint}"
    print(f"ok  {what} (relative error {error:.1e})")


def check_not_like(got, wrong, mistake):
    """Stop with `mistake` when `got` is exactly what that mistake gives (`wrong`)."""
    got, wrong = np.asarray(got, dtype=float), np.asarray(wrong, dtype=float)
    assert not (got.shape == wrong.shape and np.allclose(got, wrong, rtol=1e-9, atol=1e-12)), mistake


# %% build=true
# Run when the notebook is built, never released: each call of expected_conv below is replaced by
# the array it returns, computed by the solved kit.
import numpy as np
from cs_conv import layers


def expected_conv(x_shape, w_shape, conv_param, flip=False):
    """The layer's output for x = sin(0, 1, ...), w = sin(1, 2, ...) and biases from -0.5 to 0.5
    (0.25 for one filter); ``flip``: what the kernel flipped by 180 degrees gives instead."""
    x = np.sin(np.arange(np.prod(x_shape), dtype=float)).reshape(x_shape)
    w = np.sin(np.arange(np.prod(w_shape), dtype=float) + 1.0).reshape(w_shape)
    w = w[:, :, ::-1, ::-1] if flip else w
    b = np.linspace(-0.5, 0.5, w_shape[0]) if w_shape[0] > 1 else np.array([0.25])
    return layers.conv_forward_naive(x, w, b, conv_param)[0]


# %% [markdown] id="convolution_by_hand"
# ## 1. A convolution by hand
#
# The lecture's exercise: a 3x3 input holding 0 to 8 and a 2x2 kernel holding 0 to 3. Line the kernel up
# with each 2x2 patch of the input, multiply entry by entry, and add:
#
# $$\begin{aligned}
# 0 \cdot 0 + 1 \cdot 1 + 3 \cdot 2 + 4 \cdot 3 &= 19, & 1 \cdot 0 + 2 \cdot 1 + 4 \cdot 2 + 5 \cdot 3 &= 25,\\
# 3 \cdot 0 + 4 \cdot 1 + 6 \cdot 2 + 7 \cdot 3 &= 37, & 4 \cdot 0 + 5 \cdot 1 + 7 \cdot 2 + 8 \cdot 3 &= 43.
# \end{aligned}$$
#
# The kernel fits in $3 - 2 + 1 = 2$ positions each way, so the output is 2x2.

# %% id="convolution_by_hand_code"
image = np.arange(9.0).reshape(3, 3)
kernel = np.arange(4.0).reshape(2, 2)
by_hand = np.array([[(image[i:i + 2, j:j + 2] * kernel).sum() for j in range(2)] for i in range(2)])
print(image, kernel, by_hand, sep="\n\n")
check_close(by_hand, [[19, 25], [37, 43]], "the lecture's convolution by hand")

# %% [markdown] id="cross_correlation_or_convolution"
# ## 2. Cross-correlation or convolution?
#
# In signal processing, convolution **flips** the kernel before sliding it:
# $(f * g)[x, y] = \sum_{n_1, n_2} f[n_1, n_2]\, g[x - n_1, y - n_2]$. What we just computed, sliding the
# kernel as it is, is **cross-correlation**. ConvNets skip the flip (it costs time and a learned filter
# can just as well learn the flipped weights), so strictly they are "cross-correlation nets". PyTorch's
# `Conv2d` and this course's layers cross-correlate.
#
# Convolution is cross-correlation with the kernel turned by 180 degrees. On the exercise:

# %% id="cross_correlation_or_code"
flipped = kernel[::-1, ::-1]
true_convolution = np.array([[(image[i:i + 2, j:j + 2] * flipped).sum() for j in range(2)] for i in range(2)])
print(flipped, true_convolution, sep="\n\n")
check_close(true_convolution, [[5, 11], [23, 29]], "convolution = cross-correlation with the flipped kernel")

# %% [markdown] id="difference_matters_when_you"
# The difference matters when you copy a *fixed* filter from a textbook that writes true convolution,
# such as the Sobel filter in section 6: cross-correlating with it flips the sign of its response.

# %% [markdown] id="convolution_layer"
# ## 3. The convolution layer
#
# Notation (the lectures' and CS231n's): a batch of $N$ images with $C$ channels of height $H$ and width
# $W$; $F$ filters, each of size $C \times HH \times WW$ (**a filter always extends through the full depth
# of its input**); stride $S$; zero padding $P$. Filter $f$ produces one activation map, and the maps are
# stacked into the output:
#
# | array | shape |
# | --- | --- |
# | `x` | $(N, C, H, W)$ |
# | `w` | $(F, C, HH, WW)$ |
# | `b` | $(F,)$ |
# | `out` | $(N, F, H_{out}, W_{out})$ |
#
# $$\text{out}[n, f, i, j] = b[f] + \sum_{c=0}^{C-1} \sum_{k=0}^{HH-1} \sum_{l=0}^{WW-1}
#   w[f, c, k, l]\; x_{pad}[n, c,\; iS + k,\; jS + l],$$
#
# $$H_{out} = \left\lfloor \frac{H + 2P - HH}{S} \right\rfloor + 1, \qquad
#   W_{out} = \left\lfloor \frac{W + 2P - WW}{S} \right\rfloor + 1 .$$
#
# (The lecture writes $(N - F + 2P)/S + 1$ with $N$ for the input's size and $F$ for the filter's; here
# $N$ is the batch and $F$ the number of filters, as in the code.) `conv_param` may also hold a
# **dilation** $D$ (section 5) and **groups** (section 8); with them the general formula is in the
# docstring of `conv_forward_naive`.
#
# ## 4. Task 2.1: `conv_forward_naive`
#
# Complete `conv_forward_naive` in `cs_conv/layers.py` with plain loops: they are slow, but every number
# can be traced. The shape checks are done for you (`g = conv_geometry(...)` holds every size, including
# `g.H_out`, `g.W_out` and `g.groups`). A plan:
#
# 1. pad only the two spatial axes of `x` with `np.pad`;
# 2. loop over `n`, `f`, `i`, `j`; cut the window of `xpad` that output cell `(i, j)` sees (with dilation
#    $D$, every $D$-th pixel: a slice with step $D$);
# 3. `out[n, f, i, j]` is the sum of the window times `w[f]`, plus `b[f]`.
#
# Keep the output in `dtype` and never modify `x` or `w`.

# %% id="task_2_1_conv_forward_naive_code"
from cs_conv.layers import conv_forward_naive

x = np.arange(9.0).reshape(1, 1, 3, 3)          # N = 1, C = 1, H = W = 3
w = np.arange(4.0).reshape(1, 1, 2, 2)          # F = 1, HH = WW = 2
out, _ = conv_forward_naive(x, w, np.zeros(1), {"stride": 1, "pad": 0})
check_not_like(out[0, 0], [[5, 11], [23, 29]], "conv_forward_naive matches a convolution with the kernel "
               "flipped: this layer is a cross-correlation, use w[f] as it is")
check_close(out[0, 0], [[19, 25], [37, 43]], "conv_forward_naive on the exercise")

out, _ = conv_forward_naive(x, w, np.zeros(1), {"stride": 1, "pad": 1})
check_close(out[0, 0], [[0, 3, 8, 4], [9, 19, 25, 10], [21, 37, 43, 16], [6, 7, 8, 0]],
            "conv_forward_naive with pad 1", hint="pad H and W only, with zeros, on both sides")

x5 = np.arange(25.0).reshape(1, 1, 5, 5)
out, _ = conv_forward_naive(x5, np.ones((1, 1, 3, 3)), np.array([1.0]), {"stride": 2, "pad": 0})
check_close(out[0, 0], [[55, 73], [145, 163]], "conv_forward_naive with stride 2 and a bias of 1",
            hint="output cell (i, j) starts at row i*S, column j*S")
out_int, _ = conv_forward_naive(np.arange(25).reshape(1, 1, 5, 5), np.ones((1, 1, 3, 3)), np.array([1.0]),
                                {"stride": 2, "pad": 0})
assert out_int.dtype == np.float64, f"an integer x should give a float64 output, got {out_int.dtype}"
check_close(out_int[0, 0], [[55, 73], [145, 163]], "conv_forward_naive on an integer x")

# A stride per axis, (1, 2): rows step by 1, columns by 2 (stride and pad may each be a pair).
x58 = np.sin(np.arange(80.0)).reshape(1, 2, 5, 8)
w58 = np.sin(np.arange(36.0) + 1.0).reshape(2, 2, 3, 3)
out, _ = conv_forward_naive(x58, w58, np.linspace(-0.5, 0.5, 2), {"stride": (1, 2), "pad": 1})
check_close(out, expected_conv((1, 2, 5, 8), (2, 2, 3, 3), {"stride": (1, 2), "pad": 1}),
            "conv_forward_naive with stride (1, 2)",
            hint="column j starts at j * stride[1]: is the width stride taken from the height?")

# Two images, three channels, three filters, stride 2, pad 1: inputs from np.sin, expected values
# computed once from the course's reference implementation.
x = np.sin(np.arange(96.0)).reshape(2, 3, 4, 4)
w = np.sin(np.arange(81.0) + 1.0).reshape(3, 3, 3, 3)
b = np.linspace(-0.5, 0.5, 3)
x_before, w_before = x.copy(), w.copy()
out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
correct_out = expected_conv((2, 3, 4, 4), (3, 3, 3, 3), {"stride": 2, "pad": 1})
check_not_like(out, expected_conv((2, 3, 4, 4), (3, 3, 3, 3), {"stride": 2, "pad": 1}, flip=True),
               "conv_forward_naive matches a convolution with the kernel flipped: use w[f] as it is")
check_close(out, correct_out, "conv_forward_naive, N=2, C=3, F=3, stride 2, pad 1",
            hint="each filter sums over all C channels; the bias is per filter")
assert np.array_equal(x, x_before) and np.array_equal(w, w_before), "conv_forward_naive must not modify x or w"

out32, _ = conv_forward_naive(x.astype(np.float32), w.astype(np.float32), b.astype(np.float32),
                              {"stride": 2, "pad": 1})
assert out32.dtype == np.float32, f"float32 inputs should give float32 outputs, got {out32.dtype}"


# %% autograde="conv_forward_naive"

# %% [markdown] id="output_size_parameters_padding"
# ## 5. Output size, parameters, padding, stride and dilation
#
# **The lecture's example.** Input volume 32x32x3; conv layer with 10 filters of 5x5, stride 1, pad 2.
# Each filter is 5x5x3 (full depth), so it has $5 \cdot 5 \cdot 3 + 1 = 76$ parameters counting its bias,
# and the layer has $76 \cdot 10 = 760$. Spatially $(32 + 2 \cdot 2 - 5)/1 + 1 = 32$, so the output volume
# is 32x32x10. Check both with your layer:

# %% id="output_size_parameters_code"
def out_size(n, f, s, p, d=1):
    """Output size along one axis: input n, filter f, stride s, pad p, dilation d (floor division)."""
    return (n + 2 * p - d * (f - 1) - 1) // s + 1

x = np.zeros((1, 3, 32, 32))
w = np.zeros((10, 3, 5, 5))
b = np.zeros(10)
out, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 2})
print("output shape", out.shape, "parameters", w.size + b.size)
assert out.shape == (1, 10, out_size(32, 5, 1, 2), out_size(32, 5, 1, 2)) == (1, 10, 32, 32)
assert w.size + b.size == 760

# %% [markdown] id="stride_that_does_not"
# **A stride that does not fit.** A 7x7 input with a 3x3 filter: stride 1 gives $(7-3)/1 + 1 = 5$, stride 2
# gives $(7-3)/2 + 1 = 3$, but stride 3 gives $(7-3)/3 + 1 = 2.33$: the filter "doesn't fit". Frameworks
# round down, so the output is 2x2 and the filter never reaches the last row and column. The cell shows
# that changing them changes nothing:

# %% id="output_size_parameters_code_2"
for stride in (1, 2, 3):
    print(f"stride {stride}: (7 - 3) / {stride} + 1 = {(7 - 3) / stride + 1:.2f} -> {out_size(7, 3, stride, 0)}")

x = np.sin(np.arange(49.0)).reshape(1, 1, 7, 7)
w = np.ones((1, 1, 3, 3))
out, _ = conv_forward_naive(x, w, np.zeros(1), {"stride": 3, "pad": 0})
changed = x.copy()
changed[..., 6, :] = 100.0                     # the last row and column are never visited
changed[..., :, 6] = 100.0
out_changed, _ = conv_forward_naive(changed, w, np.zeros(1), {"stride": 3, "pad": 0})
assert out.shape == (1, 1, 2, 2), f"7x7 with a 3x3 filter at stride 3 gives 2x2, got {out.shape[2:]}"
check_close(out_changed, out, "row 6 and column 6 of a 7x7 input are unused at stride 3")

# %% [markdown] id="padding_without_padding_every"
# **Padding.** Without padding every layer shrinks its input (32 -> 28 -> 24 with 5x5 filters) and border
# pixels take part in fewer dot products. Zero padding of $P = (F - 1)/2$ keeps the size at stride 1
# ("same" convolution): $F = 3 \Rightarrow P = 1$, $F = 5 \Rightarrow P = 2$, $F = 7 \Rightarrow P = 3$.

# %% id="output_size_parameters_code_3"
x = np.zeros((1, 1, 7, 7))
for f in (3, 5, 7):
    out, _ = conv_forward_naive(x, np.zeros((1, 1, f, f)), np.zeros(1), {"stride": 1, "pad": (f - 1) // 2})
    print(f"F = {f}, P = {(f - 1) // 2}: 7x7 -> {out.shape[2]}x{out.shape[3]}")
    assert out.shape[2:] == (7, 7), f"pad {(f - 1) // 2} should keep a 7x7 input 7x7 for a {f}x{f} filter"

x = np.zeros((1, 1, 32, 32))
sizes = [32]
for _ in range(2):
    x, _ = conv_forward_naive(x, np.zeros((1, 1, 5, 5)), np.zeros(1), {"stride": 1, "pad": 0})
    sizes.append(x.shape[2])
print("5x5 filters without padding:", " -> ".join(map(str, sizes)))
assert sizes == [32, 28, 24]

# %% [markdown] id="dilation_dilated_filter_spreads"
# **Dilation.** A dilated filter spreads its taps out, skipping $D - 1$ pixels between them
# (*à trous*, "with holes"). A 3x3 filter with $D = 2$ covers a 5x5 area with still only 9 weights: it is
# the same as a 5x5 filter with zeros inserted between its weights, of size $(F - 1) D + 1$. The size
# formula becomes
#
# $$H_{out} = \left\lfloor \frac{H + 2P - D(HH - 1) - 1}{S} \right\rfloor + 1 .$$

# %% id="output_size_parameters_code_4"
x = np.sin(np.arange(2 * 2 * 7 * 7.0)).reshape(2, 2, 7, 7)
w = np.sin(np.arange(2 * 2 * 3 * 3.0) + 0.5).reshape(2, 2, 3, 3)
b = np.array([0.1, -0.2])
dilated, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 0, "dilation": 2})

holes = np.zeros((2, 2, 5, 5))
holes[:, :, ::2, ::2] = w                      # the 3x3 weights with a zero between each pair
print("the equivalent 5x5 filter 0, channel 0:\n", holes[0, 0])
plain, _ = conv_forward_naive(x, holes, b, {"stride": 1, "pad": 0})
assert dilated.shape == (2, 2, out_size(7, 3, 1, 0, d=2), out_size(7, 3, 1, 0, d=2)) == (2, 2, 3, 3), \
    f"a 3x3 filter with dilation 2 on 7x7 gives 3x3, got {dilated.shape[2:]}"
check_close(dilated, plain, "dilation 2 = the 5x5 filter with holes",
            hint="with dilation D the window takes every D-th pixel: a slice with step D")

# %% [markdown] id="classic_filters_photograph"
# ## 6. Classic filters on a photograph
#
# Before ConvNets learned their filters, image processing designed them by hand. From the lecture, a 5x5
# **Gaussian blur** (weights summing to $273/273 = 1$, so flat regions keep their brightness) and the
# **Sobel** edge filters
#
# $$G_x = \begin{bmatrix} +1 & 0 & -1 \\ +2 & 0 & -2 \\ +1 & 0 & -1 \end{bmatrix} * A, \qquad
#   G_y = \begin{bmatrix} +1 & +2 & +1 \\ 0 & 0 & 0 \\ -1 & -2 & -1 \end{bmatrix} * A ,$$
#
# where $*$ is true convolution. Your layer cross-correlates, so it computes $-G_x$ and $-G_y$ (section 2):
# the edges are the same, only their sign flips, and the gradient magnitude $\sqrt{G_x^2 + G_y^2}$ is
# unchanged. The photograph ships with the kit (`cs_conv.data.load_photo`); we shrink it 4x so that
# the loops take a fraction of a second.

# %% id="classic_filters_photograph_code"
from cs_conv.data import PHOTO_CREDIT, load_photo

photo = load_photo(gray=True, downsample=4, dtype=np.float64)      # (1, 1, 150, 128), values in [0, 1]
gaussian = np.array([[1, 4, 7, 4, 1],
                     [4, 16, 26, 16, 4],
                     [7, 26, 41, 26, 7],
                     [4, 16, 26, 16, 4],
                     [1, 4, 7, 4, 1]]) / 273
sobel_x = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=float)
sobel_y = sobel_x.T.copy()

blurred, _ = conv_forward_naive(photo, gaussian[None, None], np.zeros(1), {"stride": 1, "pad": 2})
edges, _ = conv_forward_naive(photo, np.stack([sobel_x, sobel_y])[:, None], np.zeros(2), {"stride": 1, "pad": 1})
magnitude = np.sqrt((edges ** 2).sum(axis=1))[0]

fig, axes = plt.subplots(1, 4, figsize=(14, 4.5))
limit = np.abs(edges[0, 0]).max()
axes[0].imshow(photo[0, 0], cmap="gray")
axes[0].set_title("photograph")
axes[1].imshow(blurred[0, 0], cmap="gray")
axes[1].set_title("Gaussian blur 5x5")
axes[2].imshow(edges[0, 0], cmap="RdBu", vmin=-limit, vmax=limit)
axes[2].set_title("Sobel x, cross-correlated: $-G_x$")
axes[3].imshow(magnitude, cmap="gray")
axes[3].set_title("gradient magnitude")
for ax in axes:
    ax.axis("off")
plt.show()
print("Photograph:", PHOTO_CREDIT)

assert abs(gaussian.sum() - 1) < 1e-12
flat = np.full((1, 1, 9, 9), 0.5)
check_close(conv_forward_naive(flat, gaussian[None, None], np.zeros(1), {"stride": 1, "pad": 0})[0],
            np.full((1, 1, 5, 5), 0.5), "the blur keeps a flat region's brightness")
check_close(conv_forward_naive(flat, sobel_x[None, None], np.zeros(1), {"stride": 1, "pad": 0})[0],
            np.zeros((1, 1, 7, 7)), "Sobel gives 0 on a flat region")
ramp = np.tile(np.arange(9.0), (9, 1))[None, None]  # brightness grows to the right by 1 per pixel
check_close(conv_forward_naive(ramp, sobel_x[None, None], np.zeros(1), {"stride": 1, "pad": 0})[0],
            np.full((1, 1, 7, 7), -8.0), "cross-correlating with Sobel x gives -8 on a unit ramp (G_x = +8)")

# %% [markdown] id="x_o_toy_convnet"
# ## 7. The X-and-O toy ConvNet
#
# The lecture's toy network decides whether a 9x9 picture of pixels $\pm 1$ shows an X or an O. Its first
# layer matches three 3x3 **features** against every patch: the two diagonals of the X and its centre.
# *Filtering* there means: line up the feature and the patch, multiply pixel by pixel, add up, and divide
# by the number of pixels (9). That is exactly a convolution with the features divided by 9.

# %% id="x_o_toy_code"
from cs_conv.data import LECTURE_FILTERS, LECTURE_X

print("the lecture's X:\n", LECTURE_X)
print("its three features:\n", LECTURE_FILTERS)

x_image = LECTURE_X.astype(float)[None, None]                    # (1, 1, 9, 9)
features = LECTURE_FILTERS.astype(float)[:, None] / 9            # (3, 1, 3, 3): divide by 9 pixels

# %% [markdown] id="next_cell_filters_x"
# The next cell filters the X with your `conv_forward_naive`. Each pixel that agrees with the feature adds
# $+1$ and each one that disagrees adds $-1$, so a perfect match gives $9/9 = 1.00$ (the X's centre under the
# centre feature). In the top-left corner of the first map, 8 pixels agree and 1 disagrees (the corner
# itself): $(8 - 1)/9 = 7/9 = 0.77$. The slide prints $5/9 = 0.5556$ as 0.55 and
# $-1/9$ as $-0.11$: it **truncates** to two decimals rather than rounding, so the check truncates too.
# Here are the lecture's three maps, checked cell by cell:

# %% id="x_o_toy_code_2"
maps, _ = conv_forward_naive(x_image, features, np.zeros(3), {"stride": 1, "pad": 0})
print("map of the first feature, in ninths:\n", np.round(maps[0, 0] * 9).astype(int))
lecture_maps = np.array([
    [[0.77, -0.11, 0.11, 0.33, 0.55, -0.11, 0.33],
     [-0.11, 1.00, -0.11, 0.33, -0.11, 0.11, -0.11],
     [0.11, -0.11, 1.00, -0.33, 0.11, -0.11, 0.55],
     [0.33, 0.33, -0.33, 0.55, -0.33, 0.33, 0.33],
     [0.55, -0.11, 0.11, -0.33, 1.00, -0.11, 0.11],
     [-0.11, 0.11, -0.11, 0.33, -0.11, 1.00, -0.11],
     [0.33, -0.11, 0.55, 0.33, 0.11, -0.11, 0.77]],
    [[0.33, -0.55, 0.11, -0.11, 0.11, -0.55, 0.33],
     [-0.55, 0.55, -0.55, 0.33, -0.55, 0.55, -0.55],
     [0.11, -0.55, 0.55, -0.77, 0.55, -0.55, 0.11],
     [-0.11, 0.33, -0.77, 1.00, -0.77, 0.33, -0.11],
     [0.11, -0.55, 0.55, -0.77, 0.55, -0.55, 0.11],
     [-0.55, 0.55, -0.55, 0.33, -0.55, 0.55, -0.55],
     [0.33, -0.55, 0.11, -0.11, 0.11, -0.55, 0.33]],
    [[0.33, -0.11, 0.55, 0.33, 0.11, -0.11, 0.77],
     [-0.11, 0.11, -0.11, 0.33, -0.11, 1.00, -0.11],
     [0.55, -0.11, 0.11, -0.33, 1.00, -0.11, 0.11],
     [0.33, 0.33, -0.33, 0.55, -0.33, 0.33, 0.33],
     [0.11, -0.11, 1.00, -0.33, 0.11, -0.11, 0.55],
     [-0.11, 1.00, -0.11, 0.33, -0.11, 0.11, -0.11],
     [0.77, -0.11, 0.11, 0.33, 0.55, -0.11, 0.33]],
])
check_close(np.trunc(maps[0] * 100) / 100, lecture_maps, "the three 7x7 maps of the lecture's X", tol=1e-9)

fig, axes = plt.subplots(1, 4, figsize=(13, 3.4))
axes[0].imshow(LECTURE_X, cmap="gray")
axes[0].set_title("X (9x9)")
for k in range(3):
    axes[k + 1].imshow(maps[0, k], cmap="RdBu_r", vmin=-1, vmax=1)
    axes[k + 1].set_title(f"feature {k} map (7x7)")
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown] id="each_map_lights_up"
# Each map lights up where its feature sits: the first along the "\\" stroke, the third along the "/" stroke,
# the second at the crossing. A ReLU then keeps the positive matches; notebook 03 pools these maps.
#
# ## 8. 1x1 convolutions and groups
#
# A 1x1 filter sees a single pixel, but through the **full depth**: with 64 input channels, each of 32
# filters of size 1x1x64 computes a 64-dimensional dot product at every pixel. So a 1x1 convolution is a
# fully connected layer applied at each position, and it grows or shrinks the number of channels
# (here 64 -> 32) without touching the spatial size, with $32 \cdot 64 + 32 = 2080$ parameters.

# %% id="1x1_convolutions_groups_code"
x = np.sin(np.arange(64 * 8 * 8.0)).reshape(1, 64, 8, 8)
w = np.sin(np.arange(32 * 64.0) + 2.0).reshape(32, 64, 1, 1) / 8
b = np.linspace(-1, 1, 32)
out, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 0})
per_pixel = np.einsum("fc,nchw->nfhw", w[:, :, 0, 0], x) + b[None, :, None, None]
print("1x1 conv:", x.shape, "->", out.shape, "with", w.size + b.size, "parameters")
check_close(out, per_pixel, "a 1x1 convolution is a matrix multiply at every pixel")

# %% [markdown] id="groups_pytorch_groups_lecture"
# **Groups** (PyTorch's `groups`, lecture: *depthwise-separable* convolution) split the channels: with
# `groups=2` the layer is two convolutions side by side, each seeing half the input channels and producing
# half the filters, and `w` has shape $(F, C/\text{groups}, HH, WW)$. Filter $f$ belongs to group
# $f \div (F/\text{groups})$ and reads only that group's channels. With `groups = C` every channel is
# filtered on its own (depthwise).

# %% id="1x1_convolutions_groups_code_2"
x = np.sin(np.arange(2 * 4 * 5 * 5.0)).reshape(2, 4, 5, 5)
w = np.sin(np.arange(6 * 2 * 3 * 3.0) + 3.0).reshape(6, 2, 3, 3)     # F = 6, C / groups = 2
b = np.linspace(-1, 1, 6)
grouped, _ = conv_forward_naive(x, w, b, {"stride": 1, "pad": 1, "groups": 2})
first, _ = conv_forward_naive(x[:, :2], w[:3], b[:3], {"stride": 1, "pad": 1})
second, _ = conv_forward_naive(x[:, 2:], w[3:], b[3:], {"stride": 1, "pad": 1})
check_close(grouped, np.concatenate([first, second], axis=1), "groups=2 is two convolutions side by side",
            hint="filter f reads channels g*C/groups ... (g+1)*C/groups - 1 of its group g")

# %% [markdown] id="task_2_2_conv_backward_naive"
# ## 9. Task 2.2: `conv_backward_naive`
#
# The lecture's example: a 5x5 input $a$, a 3x3 filter $w$, stride 2, giving a 2x2 output $z$, where
#
# $$z_{11} = w_{11}a_{11} + w_{12}a_{12} + w_{13}a_{13} + w_{21}a_{21} + \dots + w_{33}a_{33}, \qquad
#   z_{12} = w_{11}a_{13} + w_{12}a_{14} + \dots + w_{33}a_{35}, \ \dots$$
#
# Every output cell is a dot product of $w$ with one window of the input, so by the chain rule
#
# * $\dfrac{\partial L}{\partial w} = \sum_{i,j} \dfrac{\partial L}{\partial z_{ij}} \cdot (\text{window}_{ij} \text{ of } a)$:
#   each window, weighted by its output's upstream gradient;
# * $\dfrac{\partial L}{\partial a}$: each output cell sends $\dfrac{\partial L}{\partial z_{ij}} \cdot w$ back onto
#   its own window, and where windows **overlap** (here row and column 3 of $a$, which $z_{11}$ and $z_{12}$
#   share) the contributions **add up**;
# * $\dfrac{\partial L}{\partial b} = \sum \dfrac{\partial L}{\partial z}$ over everything but the filter axis.
#
# With padding, accumulate into a padded `dxpad` and cut the border off at the end (careful: `[p:-p]` is
# empty when `p == 0`). Dilation and groups follow the same windows as the forward pass.
#
# The first checks use the lecture's example with $a[i, j] = 10 i + j$, so every number can be traced: an
# upstream gradient that is 1 at $z_{11}$ and 0 elsewhere must give $\partial L/\partial w$ = the first window.

# %% id="task_2_2_conv_backward_naive_code"
from cs_conv.layers import conv_backward_naive

a = (10 * np.arange(5)[:, None] + np.arange(5)[None, :]).astype(float)[None, None]   # a[i, j] = 10 i + j
w = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
z, cache = conv_forward_naive(a, w, np.zeros(1), {"stride": 2, "pad": 0})
print("a =\n", a[0, 0], "\nz =\n", z[0, 0])

only_z11 = np.array([[[[1.0, 0.0], [0.0, 0.0]]]])
da, dw, db = conv_backward_naive(only_z11, cache)
check_close(dw[0, 0], a[0, 0, 0:3, 0:3], "dL/dw for dL/dz = [[1, 0], [0, 0]] is the first window")
expected_da = np.zeros((5, 5))
expected_da[0:3, 0:3] = w[0, 0]
check_close(da[0, 0], expected_da, "dL/da for dL/dz = [[1, 0], [0, 0]] is w on the first window",
            hint="if only the cells the windows share are wrong: accumulate with += into dxpad, not =")

ones = np.ones((1, 1, 2, 2))
da, dw, db = conv_backward_naive(ones, cache)
windows = [a[0, 0, r:r + 3, c:c + 3] for r in (0, 2) for c in (0, 2)]
check_close(dw[0, 0], sum(windows), "dL/dw for dL/dz = 1 is the sum of the four windows")
overlap = np.zeros((5, 5))
for r in (0, 2):
    for c in (0, 2):
        overlap[r:r + 3, c:c + 3] += 1
print("how many windows cover each input cell:\n", overlap)
# a[2, 2] sits under w[2, 2], w[2, 0], w[0, 2] and w[0, 0] of the four windows.
check_close(da[0, 0, 2, 2], w[0, 0, 2, 2] + w[0, 0, 2, 0] + w[0, 0, 0, 2] + w[0, 0, 0, 0],
            "dL/da at the centre adds the four overlapping windows' contributions",
            hint="accumulate with += into dxpad: overlapping windows share input cells")
check_close(db, [4.0], "dL/db is the sum of dL/dz")

# %% [markdown] id="now_numeric_checks_gradient"
# Now the numeric checks: the gradient of `sum(out * dout)` by centred differences, on cases that
# exercise padding, stride, a rectangular kernel, dilation and groups.

# %% id="task_2_2_conv_backward_naive_code_2"
cases = [
    ("stride 1, pad 1", (2, 3, 5, 5), (4, 3, 3, 3), {"stride": 1, "pad": 1}),
    ("stride 2, pad 0", (1, 2, 7, 7), (3, 2, 3, 3), {"stride": 2, "pad": 0}),
    ("stride 2 on 6x8, sizes round down", (1, 2, 6, 8), (2, 2, 3, 3), {"stride": 2, "pad": 0}),
    ("rectangular 2x3 kernel, pad (1, 0)", (2, 2, 5, 6), (2, 2, 2, 3), {"stride": 1, "pad": (1, 0)}),
    ("stride (1, 2)", (1, 2, 5, 8), (2, 2, 3, 3), {"stride": (1, 2), "pad": 1}),
    ("dilation 2", (1, 2, 7, 7), (2, 2, 3, 3), {"stride": 1, "pad": 1, "dilation": 2}),
    ("groups 2", (1, 4, 5, 5), (4, 2, 3, 3), {"stride": 1, "pad": 1, "groups": 2}),
]
for k, (name, x_shape, w_shape, conv_param) in enumerate(cases):
    x = np.sin(np.arange(np.prod(x_shape)) * 0.7 + k).reshape(x_shape)
    w = np.sin(np.arange(np.prod(w_shape)) * 1.3 + k).reshape(w_shape)
    b = np.linspace(-1, 1, w_shape[0])
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = np.cos(np.arange(out.size) * 0.9).reshape(out.shape)
    x_before = x.copy()
    dx, dw, db = conv_backward_naive(dout, cache)
    assert np.array_equal(x, x_before), "conv_backward_naive must not modify x"
    check_close(dx, eval_numerical_gradient_array(lambda v: conv_forward_naive(v, w, b, conv_param)[0], x, dout),
                f"dx, {name}", tol=1e-6)
    check_close(dw, eval_numerical_gradient_array(lambda v: conv_forward_naive(x, v, b, conv_param)[0], w, dout),
                f"dw, {name}", tol=1e-6)
    check_close(db, eval_numerical_gradient_array(lambda v: conv_forward_naive(x, w, v, conv_param)[0], b, dout),
                f"db, {name}", tol=1e-6)

# %% autograde="conv_backward_naive"

# %% [markdown] id="parameters_question"
# **Question (2 points, graded by hand).** The lecture's conv layer maps a 32x32x3 image to a 32x32x10 volume with 760 parameters. How many
# parameters would a fully connected layer need to map the same input to an output of the same size
# (count the biases)? Name the two properties of images that let the convolution get away with so few,
# and say which part of the layer's design relies on each.

# %% [markdown] id="parameters" answer=2
# *Model answer (for graders).* Inputs $32 \cdot 32 \cdot 3 = 3072$, outputs $32 \cdot 32 \cdot 10 = 10240$:
# $3072 \cdot 10240 + 10240 = 31{,}467{,}520$ parameters, about 41,000 times more. (1) Locality: useful
# features are small and spatially localized, so each output needs only a small receptive field (the 5x5
# window: sparse connections). (2) Translation: the same feature can appear anywhere, so the same weights
# are shared at every position (parameter sharing; the layer is translation-equivariant). Accept
# equivalent wording; both numbers and both properties are needed for full marks.

# %% [markdown] id="stride_question"
# **Question (2 points, graded by hand).** A 3x3 filter with stride 3 "doesn't fit" a 7x7 input. What does `conv_forward_naive` (like PyTorch) do
# instead, which input pixels never influence the output, and what padding would make the filter fit
# exactly? Show the arithmetic.

# %% [markdown] id="stride" answer=2
# *Model answer (for graders).* The size $(7 - 3)/3 + 1 = 2.33$ is rounded down to 2, so the output is
# 2x2 and the windows start at rows/columns 0 and 3, covering indices 0-5: row 6 and column 6 are never
# read (the check above changed them without effect). With $P = 1$: $(7 + 2 - 3)/3 + 1 = 3$ exactly, so
# the windows start at 0, 3, 6 of the padded 9x9 input and cover it completely. (Any answer that shows
# $(H + 2P - F)$ divisible by $S$ for the chosen $P$ is right.)

# %% [markdown] id="done"
# ## Done
#
# Restart the kernel and run all cells: every check should print `ok`. Your loops are correct but slow;
# notebook 04 makes them fast. Next: `03_pooling.ipynb`.
