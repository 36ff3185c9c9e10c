# %% [markdown] id="title"
# # Notebook 01: Backpropagation with vectors and matrices
#
# A network is a chain of functions of arrays, and training needs the derivative of one scalar, the
# loss $L$, with respect to every array in the chain. This notebook follows the lecture: the three
# kinds of derivative, why a Jacobian is never built, and the two formulas for a matrix multiply
# that every layer in this course reuses. Then you write the first layers of `cs_conv/layers.py`:
#
# | task | function | file |
# | --- | --- | --- |
# | 1.1 | `affine_forward` | `cs_conv/layers.py` |
# | 1.2 | `affine_backward` | `cs_conv/layers.py` |
# | 1.3 | `relu_forward` | `cs_conv/layers.py` |
# | 1.4 | `relu_backward` | `cs_conv/layers.py` |
# | 1.5 | `softmax_loss` | `cs_conv/layers.py` |

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
# Run when the notebook is built, never released: each call of confident_loss below is replaced by
# the number it returns, computed by the solved kit.
import numpy as np
from cs_conv import layers


def confident_loss():
    """The loss of the confident scores below (scale 25, as a trained classifier gives them): two
    right classes get probabilities below 1e-13, so a loss capped by log(p + eps) shows."""
    scores = 25.0 * np.sin(np.arange(60.0) * 1.3).reshape(6, 10)
    return float(layers.softmax_loss(scores, np.arange(6) % 10)[0])


# %% [markdown] id="three_kinds_derivative"
# ## 1. Three kinds of derivative
#
# | input $x$ | output $y$ | derivative $\partial y / \partial x$ | it answers |
# | --- | --- | --- | --- |
# | scalar $\in \mathbb{R}$ | scalar $\in \mathbb{R}$ | the ordinary derivative, a scalar | if $x$ moves a little, how much does $y$ move? |
# | vector $\in \mathbb{R}^N$ | scalar $\in \mathbb{R}$ | the **gradient** $\in \mathbb{R}^N$, $(\partial y/\partial x)_n = \partial y / \partial x_n$ | for each $x_n$: how much does $y$ move? |
# | vector $\in \mathbb{R}^N$ | vector $\in \mathbb{R}^M$ | the **Jacobian** $\in \mathbb{R}^{N \times M}$, $(\partial y/\partial x)_{n,m} = \partial y_m / \partial x_n$ | for each $x_n$: how much does **each** $y_m$ move? |
#
# (Some texts, and one of the lectures, write the Jacobian the other way round, $M \times N$ with
# entry $\partial y_i / \partial x_j$: it is the transpose of this one. We use the $N \times M$ layout
# because then the chain rule below is a plain matrix-vector product.)
#
# You can always *measure* a derivative: nudge the input by a small $h$ both ways and look at the
# output. The centred difference $\frac{f(x+h) - f(x-h)}{2h}$ has an error of order $h^2$. This is how
# every backward pass in this course is checked: `cs_conv.gradient_check` does it for arrays.
# For $y = x^2$ at $x = 3$ the derivative is $2x = 6$:

# %% id="three_kinds_derivative_code"
f = lambda x: x ** 2
h = 1e-5
numeric = (f(3 + h) - f(3 - h)) / (2 * h)
print("numeric dy/dx at x = 3:", numeric)
assert abs(numeric - 6) < 1e-6, "the centred difference of x**2 at 3 should be 6"

# %% [markdown] id="vector_scalar_sigmoid_neuron"
# ### Vector to scalar: the sigmoid neuron
#
# From the lecture: a neuron with weights $w = (w_0, w_1, w_2)$ and input $x = (x_0, x_1)$ computes
#
# $$f(w, x) = \sigma(s) = \frac{1}{1 + e^{-s}}, \qquad s = w_0 x_0 + w_1 x_1 + w_2 .$$
#
# With $w = (2, -3, -3)$ and $x = (-1, -2)$: $s = -2 + 6 - 3 = 1$ and $f = \sigma(1) \approx 0.73$.
# The chain rule needs one local derivative, $\frac{d\sigma}{ds} = \sigma(s)\,(1 - \sigma(s))
# \approx 0.73 \times 0.27 \approx 0.20$, and then
#
# $$\frac{\partial f}{\partial x} = \frac{d\sigma}{ds}\,(w_0, w_1) \approx (0.39, -0.59), \qquad
# \frac{\partial f}{\partial w} = \frac{d\sigma}{ds}\,(x_0, x_1, 1) \approx (-0.20, -0.39, 0.20).$$
#
# (The slide rounds the gradient with respect to $x$ to $(0.40, -0.60)$.) Each gradient has the shape of
# the thing it is taken with respect to. The cell checks both against centred differences.

# %% id="vector_scalar_sigmoid_code"
w = np.array([2.0, -3.0, -3.0])
x = np.array([-1.0, -2.0])
sigmoid = lambda s: 1 / (1 + np.exp(-s))
neuron = lambda w, x: sigmoid(w[0] * x[0] + w[1] * x[1] + w[2])

y = neuron(w, x)
local = y * (1 - y)                      # d sigma / ds at s = 1
df_dx = local * w[:2]
df_dw = local * np.array([x[0], x[1], 1.0])
print(f"f = {y:.2f}, df/dx = {df_dx}, df/dw = {df_dw}")

check_close(df_dx, eval_numerical_gradient(lambda x: neuron(w, x), x.copy()), "df/dx by the chain rule")
check_close(df_dw, eval_numerical_gradient(lambda w: neuron(w, x), w.copy()), "df/dw by the chain rule")
check_close(np.round(df_dx, 1), [0.4, -0.6], "df/dx rounded as on the slide")

# %% [markdown] id="vector_vector_jacobian_you"
# ## 2. Vector to vector: the Jacobian you never build
#
# The lecture's ReLU example: $z = \max(0, x)$ elementwise on a 4-D input. Backpropagation receives
# the **upstream gradient** $\partial L / \partial z$ and must return $\partial L / \partial x$; by the
# chain rule that is the Jacobian times the upstream gradient:
#
# $$\frac{\partial L}{\partial x} = \frac{\partial z}{\partial x}\,\frac{\partial L}{\partial z}.$$
#
# | $x$ | $z = \max(0, x)$ | upstream $\partial L/\partial z$ | $\partial L/\partial x$ |
# | --- | --- | --- | --- |
# | 1 | 1 | 4 | 4 |
# | -2 | 0 | -1 | 0 |
# | 3 | 3 | 5 | 5 |
# | -1 | 0 | 9 | 0 |
#
# First the long way, with the $4 \times 4$ Jacobian written out:

# %% id="vector_vector_jacobian_code"
x = np.array([1.0, -2.0, 3.0, -1.0])
dL_dz = np.array([4.0, -1.0, 5.0, 9.0])      # upstream gradient

jacobian = np.diag((x > 0).astype(float))    # dz_m/dx_n is 1 on the diagonal where x > 0, else 0
print("dz/dx =\n", jacobian)
dL_dx = jacobian @ dL_dz
print("dL/dx =", dL_dx)
check_close(dL_dx, [4, 0, 5, 0], "dL/dx through the explicit Jacobian")

# %% [markdown] id="jacobian_sparse_every_off"
# The Jacobian is **sparse**: every off-diagonal entry is always zero. So never form it; multiply
# implicitly. The whole product collapses to one rule per entry:
#
# $$\left(\frac{\partial L}{\partial x}\right)_i = \begin{cases} (\partial L/\partial z)_i & \text{if } x_i > 0 \\ 0 & \text{otherwise.} \end{cases}$$

# %% id="vector_vector_jacobian_code_2"
implicit = np.where(x > 0, dL_dz, 0.0)
check_close(implicit, dL_dx, "dL/dx without the Jacobian")

# %% [markdown] id="backprop_matrices"
# ## 3. Backprop with matrices
#
# The loss is still a scalar, so $\partial L / \partial x$ always has **the same shape as $x$**. The
# lecture's matrix multiply $y = x w$, with $x$ of shape $[N \times D]$ and $w$ of shape $[D \times M]$:
#
# $$y_{n,m} = \sum_d x_{n,d}\, w_{d,m}.$$
#
# **An erratum.** The slide prints $y = \begin{bmatrix} 13 & 9 & -2 & -6 \\ 5 & 2 & 17 & 1 \end{bmatrix}$, but that is
# not $x w$ for the $x$ and $w$ it shows: only the entries 5 and 2 agree. Work out $y_{0,0}$ by hand
# ($2 \cdot 3 + 1 \cdot 2 - 3 \cdot 3 = -1$) and let NumPy do the rest. Nothing below depends on the
# slide's $y$: the gradients need only $x$, $w$ and the upstream gradient $\partial L/\partial y$,
# which are as on the slide.

# %% id="backprop_matrices_code"
x = np.array([[2.0, 1.0, -3.0],
              [-3.0, 4.0, 2.0]])                # N x D = 2 x 3
w = np.array([[3.0, 2.0, 1.0, -1.0],
              [2.0, 1.0, 3.0, 2.0],
              [3.0, 2.0, 1.0, -2.0]])           # D x M = 3 x 4
dL_dy = np.array([[2.0, 3.0, -3.0, 9.0],
                  [-8.0, 1.0, 4.0, 6.0]])       # N x M, the upstream gradient
y = x @ w
print("y =\n", y)
check_close(y, [[-1, -1, 2, 6], [5, 2, 11, 7]], "y = x w (not the slide's y: see the erratum)")
assert not np.array_equal(y, [[13, 9, -2, -6], [5, 2, 17, 1]])

# %% [markdown] id="jacobians_would_be_huge"
# The Jacobians would be huge: $\partial y / \partial x$ has $(N \cdot D) \times (N \cdot M)$ entries. For
# a layer with $N = 64$ and $D = M = 4096$ that is about $6.9 \times 10^{10}$ numbers, **256 GiB** in
# float32, for one layer's backward pass.

# %% id="backprop_matrices_code_2"
N, D, M = 64, 4096, 4096
entries = (N * D) * (N * M)
print(f"dy/dx has {entries:.2e} entries: {entries * 4 / 2**30:.0f} GiB in float32")
assert entries * 4 / 2**30 == 256

# %% [markdown] id="so_we_reason_about"
# So we reason about one entry at a time, as the lecture does.
#
# * *Which parts of $y$ does $x_{n,d}$ affect?* The whole row $y_{n,\cdot}$ (it is in every dot product of row $n$).
# * *By how much does $x_{n,d}$ affect $y_{n,m}$?* By $w_{d,m}$.
#
# Hence
# $$\frac{\partial L}{\partial x_{n,d}} = \sum_m \frac{\partial L}{\partial y_{n,m}} \frac{\partial y_{n,m}}{\partial x_{n,d}}
# = \sum_m \frac{\partial L}{\partial y_{n,m}}\, w_{d,m}
# \quad\Longrightarrow\quad
# \underbrace{\frac{\partial L}{\partial x}}_{[N\times D]} = \underbrace{\frac{\partial L}{\partial y}}_{[N\times M]}\, \underbrace{w^T}_{[M \times D]},$$
# and by the same logic
# $$\underbrace{\frac{\partial L}{\partial w}}_{[D\times M]} = \underbrace{x^T}_{[D\times N]}\, \underbrace{\frac{\partial L}{\partial y}}_{[N\times M]}.$$
#
# These are easy to remember: they are the only way to make the shapes match. The boxed entry on the
# slide, $\partial L / \partial x_{0,1}$ (row 0, column 1, zero-based), is $2 \cdot 2 + 3 \cdot 1 - 3 \cdot 3 + 9 \cdot 2 = 16$.
#
# To check a backward pass numerically we need a scalar. The trick: with the upstream gradient $G$ held
# fixed, $L = \sum_{n,m} y_{n,m}\, G_{n,m}$ has exactly $\partial L/\partial y = G$.
# `eval_numerical_gradient_array(f, x, G)` computes the centred differences of that sum.

# %% id="backprop_matrices_code_3"
dL_dx = dL_dy @ w.T
dL_dw = x.T @ dL_dy
print("dL/dx =\n", dL_dx)
print("dL/dw =\n", dL_dw)

assert dL_dx[0, 1] == sum(dL_dy[0, m] * w[1, m] for m in range(4)) == 16
check_close(dL_dx, eval_numerical_gradient_array(lambda x: x @ w, x.copy(), dL_dy), "dL/dx = dL/dy w^T")
check_close(dL_dw, eval_numerical_gradient_array(lambda w: x @ w, w.copy(), dL_dy), "dL/dw = x^T dL/dy")

# %% [markdown] id="task_1_1_affine_forward"
# ## 4. Task 1.1: `affine_forward`
#
# A fully connected (affine) layer is the matrix multiply plus a bias: $\text{out} = x w + b$. Images
# arrive as $x$ of shape $(N, d_1, \dots, d_k)$, so first flatten each example into a row of
# $D = d_1 \cdots d_k$ numbers: `x.reshape(N, D)`. Complete `affine_forward` in `cs_conv/layers.py`.
# The input checks and the cache are already written; keep the output in the dtype the code computes
# (`dtype`), so float32 inputs give float32 outputs.

# %% id="task_1_1_affine_forward_code"
from cs_conv.layers import affine_forward

out, _ = affine_forward(x, w, np.zeros(4))
check_close(out, [[-1, -1, 2, 6], [5, 2, 11, 7]], "affine_forward on the lecture's x and w, b = 0")

out, _ = affine_forward(x, w, np.array([1.0, 0.0, -1.0, 0.5]))
check_close(out, y + np.array([1.0, 0.0, -1.0, 0.5]), "affine_forward adds b to every row",
            hint="the bias of shape (M,) broadcasts over the N rows")

images = np.arange(24.0).reshape(2, 3, 4)      # N = 2 examples of shape 3 x 4, so D = 12
weights = np.linspace(-1, 1, 12 * 5).reshape(12, 5)
out, _ = affine_forward(images, weights, np.zeros(5))
check_close(out, images.reshape(2, 12) @ weights, "affine_forward flattens (N, 3, 4) to (N, 12)")
out32, _ = affine_forward(images.astype(np.float32), weights.astype(np.float32), np.zeros(5, np.float32))
assert out32.dtype == np.float32, f"float32 inputs should give a float32 output, got {out32.dtype}"
counts = np.arange(6).reshape(2, 3)             # an integer x: the output is float64
out_int, _ = affine_forward(counts, w, np.zeros(4))
assert out_int.dtype == np.float64, f"integer inputs should give a float64 output, got {out_int.dtype}"
check_close(out_int, counts @ w, "affine_forward on an integer x")

# %% autograde="affine_forward"

# %% [markdown] id="task_1_2_affine_backward"
# ## 5. Task 1.2: `affine_backward`
#
# Given the upstream gradient `dout` $= \partial L/\partial\,\text{out}$ of shape $(N, M)$, return
#
# * `dx` $= \text{dout}\; w^T$, reshaped back to $x$'s own shape $(N, d_1, \dots, d_k)$,
# * `dw` $= x^T\, \text{dout}$, with $x$ flattened to $(N, D)$,
# * `db` $= \sum_n \text{dout}_{n,\cdot}$: the bias is added to every row, so its gradient sums over rows.
#
# On the lecture's numbers the first two are the $\partial L/\partial x$ and $\partial L/\partial w$ you
# computed above.

# %% id="task_1_2_affine_backward_code"
from cs_conv.layers import affine_backward

_, cache = affine_forward(x, w, np.zeros(4))
dx, dw, db = affine_backward(dL_dy, cache)
check_close(dx, dL_dy @ w.T, "affine_backward dx on the lecture's example")
check_close(dw, x.T @ dL_dy, "affine_backward dw on the lecture's example")
check_close(db, [-6, 4, 1, 15], "affine_backward db = column sums of dout")

rng = np.random.default_rng(0)
x3 = rng.normal(size=(4, 3, 2))                # N = 4, D = 6
w3 = rng.normal(size=(6, 5))
b3 = rng.normal(size=5)
dout = rng.normal(size=(4, 5))
_, cache = affine_forward(x3, w3, b3)
dx, dw, db = affine_backward(dout, cache)
check_close(dx, eval_numerical_gradient_array(lambda v: affine_forward(v, w3, b3)[0], x3.copy(), dout),
            "affine_backward dx against centred differences", hint="dx must have x's shape (4, 3, 2)")
check_close(dw, eval_numerical_gradient_array(lambda v: affine_forward(x3, v, b3)[0], w3.copy(), dout),
            "affine_backward dw against centred differences")
check_close(db, eval_numerical_gradient_array(lambda v: affine_forward(x3, w3, v)[0], b3.copy(), dout),
            "affine_backward db against centred differences")

# %% autograde="affine_backward"

# %% [markdown] id="tasks_1_3_1_4_relu_forward"
# ## 6. Tasks 1.3 and 1.4: `relu_forward` and `relu_backward`
#
# $\text{ReLU}(x) = \max(0, x)$ elementwise. Its backward pass is the implicit Jacobian product from
# section 2: the upstream gradient passes where $x > 0$ and is zero elsewhere. At exactly $x = 0$ the
# function has no derivative; like PyTorch we let no gradient through there (use `x > 0`, not `x >= 0`).

# %% id="tasks_1_3_1_4_code"
from cs_conv.layers import relu_backward, relu_forward

x = np.array([1.0, -2.0, 3.0, -1.0])
z, cache = relu_forward(x)
check_close(z, [1, 0, 3, 0], "relu_forward on the lecture's x")
assert np.array_equal(x, [1.0, -2.0, 3.0, -1.0]), \
    "relu_forward modified its input x: compute a new array (np.maximum), never x[x < 0] = 0"
maps = np.arange(-12.0, 12.0).reshape(2, 3, 2, 2)
check_close(relu_forward(maps)[0], np.maximum(maps, 0), "relu_forward keeps any shape (2, 3, 2, 2)")
assert relu_forward(maps.astype(np.float32))[0].dtype == np.float32, "float32 input should give float32 output"

# %% autograde="relu_forward"

# %% id="tasks_1_3_1_4_code_2"
x = np.array([1.0, -2.0, 3.0, -1.0])
_, cache = relu_forward(x)
dx = relu_backward(np.array([4.0, -1.0, 5.0, 9.0]), cache)
check_close(dx, [4, 0, 5, 0], "relu_backward with the lecture's upstream gradient")

at_zero = relu_backward(np.ones(3), relu_forward(np.array([-1.0, 0.0, 1.0]))[1])
check_close(at_zero, [0, 0, 1], "relu_backward lets nothing through at exactly x = 0")

rng = np.random.default_rng(1)
xr = rng.normal(size=(3, 4, 5))
xr[np.abs(xr) < 1e-3] = 0.5                     # keep away from the kink, where h would straddle 0
dout = rng.normal(size=xr.shape)
check_close(relu_backward(dout, relu_forward(xr)[1]),
            eval_numerical_gradient_array(lambda v: relu_forward(v)[0], xr.copy(), dout),
            "relu_backward against centred differences")

# %% autograde="relu_backward"

# %% [markdown] id="task_1_5_softmax_loss"
# ## 7. Task 1.5: `softmax_loss`
#
# A classifier's last layer produces scores $s_{i,c}$ for every example $i$ and class $c$. The softmax
# turns each row into probabilities and the loss is the mean negative log-probability of the right class:
#
# $$L = \frac{1}{N}\sum_i -\log \frac{e^{s_{i,y_i}}}{\sum_c e^{s_{i,c}}},
# \qquad
# \frac{\partial L}{\partial s_{i,c}} = \frac{1}{N}\Big(\text{softmax}(s_i)_c - [c = y_i]\Big).$$
#
# Two things to get right:
#
# * **Stability.** $e^{1000}$ overflows. Subtract each row's maximum first: softmax is unchanged by adding
#   a constant to a row, and every exponent becomes $\le 0$.
# * **The mean.** The loss averages over the $N$ examples, so the gradient carries the $1/N$ too.
# * **Confidence.** A trained network's scores differ by tens (the check below uses scale 25), so the right
#   class's probability can be $10^{-20}$ or less. Take the log of the probability as it is: `log(p + 1e-13)`
#   or a clipped `p` would cap each example's loss near 30.
#
# A sanity check to remember: with all scores equal, every class has probability $1/C$, so $L = \ln C$.

# %% id="task_1_5_softmax_loss_code"
from cs_conv.layers import softmax_loss

loss, dx = softmax_loss(np.zeros((5, 10)), np.arange(5))
check_close(loss, np.log(10), "softmax_loss of uniform scores is ln(10)", hint="is the loss a mean over N?")

rng = np.random.default_rng(2)
scores = rng.normal(size=(6, 4))
labels = rng.integers(4, size=6)
loss, dx = softmax_loss(scores, labels)
check_close(dx, eval_numerical_gradient(lambda s: softmax_loss(s, labels)[0], scores.copy()),
            "softmax_loss gradient against centred differences", hint="did you divide dx by N?")

scores_before = scores.copy()
big_loss, big_dx = softmax_loss(scores + 1000.0, labels)
assert np.isfinite(big_loss) and np.all(np.isfinite(big_dx)), \
    "scores near 1000 overflow exp(): subtract each row's maximum before exponentiating"
check_close(big_loss, loss, "softmax_loss is unchanged when every score grows by 1000")
assert np.array_equal(scores, scores_before), "softmax_loss modified its input x (x -= max changes the caller's array)"

# Confident scores (scale 25): some right classes get a probability far below 1e-13.
confident = 25.0 * np.sin(np.arange(60.0) * 1.3).reshape(6, 10)
loss, dx = softmax_loss(confident, np.arange(6) % 10)
check_close(loss, confident_loss(), "softmax_loss on confident scores (scale 25)",
            hint="the loss must grow without limit as p shrinks: no log(p + eps), no clipping of p")
check_close(dx, eval_numerical_gradient(lambda s: softmax_loss(s, np.arange(6) % 10)[0], confident.copy()),
            "softmax_loss gradient on confident scores", tol=1e-6)
loss32, dx32 = softmax_loss(scores.astype(np.float32), labels)
assert dx32.dtype == np.float32, f"float32 scores should give a float32 dx, got {dx32.dtype}"

# %% autograde="softmax_loss"

# %% [markdown] id="putting_it_together_two"
# ## 8. Putting it together: a two-layer network
#
# The lecture's two-layer network $f = W_2 \max(0, W_1 x)$, with biases and a softmax loss on top, is
# four of your functions in a chain. Backpropagation runs the chain in reverse, each backward pass
# handing its `dx` to the layer before as that layer's upstream gradient. If every piece is right, the
# whole gradient is right; the numeric check below tests all of them at once.

# %% id="putting_it_together_code"
rng = np.random.default_rng(3)
X = rng.normal(size=(5, 6))
labels = rng.integers(3, size=5)
params = {"W1": rng.normal(size=(6, 7)) * 0.5, "b1": rng.normal(size=7) * 0.1,
          "W2": rng.normal(size=(7, 3)) * 0.5, "b2": rng.normal(size=3) * 0.1}

def two_layer_loss(params):
    hidden, cache1 = affine_forward(X, params["W1"], params["b1"])
    active, cache2 = relu_forward(hidden)
    scores, cache3 = affine_forward(active, params["W2"], params["b2"])
    loss, dscores = softmax_loss(scores, labels)
    grads = {}
    dactive, grads["W2"], grads["b2"] = affine_backward(dscores, cache3)
    dhidden = relu_backward(dactive, cache2)
    _, grads["W1"], grads["b1"] = affine_backward(dhidden, cache1)
    return loss, grads

loss, grads = two_layer_loss(params)
print(f"loss = {loss:.4f}")
for name in params:
    numeric = eval_numerical_gradient(lambda p: two_layer_loss({**params, name: p})[0], params[name].copy())
    check_close(grads[name], numeric, f"two-layer network, gradient of {name}", tol=1e-6)

# %% [markdown] id="jacobian_question"
# **Question (2 points, graded by hand).** The ReLU example built a $4 \times 4$ Jacobian and multiplied it by the upstream gradient. Explain in
# your own words why real implementations never build the Jacobian, using **both** of this notebook's
# examples: what the ReLU Jacobian looks like, and how big $\partial y/\partial x$ is for the matrix
# multiply with $N = 64$, $D = M = 4096$. What do `relu_backward` and `affine_backward` compute instead?

# %% [markdown] id="jacobian" answer=2
# *Model answer (for graders).* The ReLU Jacobian is diagonal: $y_i$ depends only on $x_i$, so every
# off-diagonal entry is zero and the product reduces to an elementwise mask, `dout * (x > 0)`, costing
# $O(N)$ instead of $O(N^2)$ memory and time. For $y = xw$ the Jacobian $\partial y/\partial x$ has
# $(ND)(NM) \approx 6.9\times10^{10}$ entries (256 GiB in float32), almost all zero because $x_{n,d}$ only
# touches row $n$ of $y$. Working per entry gives $\partial L/\partial x = (\partial L/\partial y) w^T$
# and $\partial L/\partial w = x^T (\partial L/\partial y)$: two ordinary matrix products of the sizes of
# the arrays themselves, which is what `affine_backward` computes. Full marks need both examples and
# the point that the product with the upstream gradient is computed directly.

# %% [markdown] id="stability_question"
# **Question (2 points, graded by hand).** `softmax_loss` subtracts each row's largest score before exponentiating. Why is that necessary, and why
# does it not change the loss or the gradient? Give a number from the check above as evidence.

# %% [markdown] id="stability" answer=2
# *Model answer (for graders).* $e^s$ overflows float64 for $s > 709$ (float32: $s > 88$), giving
# `inf` and then `nan` in the ratio. Softmax is invariant to adding a constant $k$ to a row:
# $e^{s_c - k}/\sum_j e^{s_j - k} = e^{s_c}/\sum_j e^{s_j}$, so subtracting the row maximum changes nothing
# mathematically while making every exponent $\le 0$ (values in $(0, 1]$, and the largest is exactly 1,
# so the denominator is $\ge 1$ and the log is safe). Evidence: the check with every score raised by
# 1000 gave the same loss as the original scores, and finite gradients.

# %% [markdown] id="done"
# ## Done
#
# Before you submit: restart the kernel and run all cells (*Kernel > Restart Kernel and Run All Cells*).
# Every visible check should print `ok`. Then continue with `02_convolution.ipynb`.
