"""Cells every notebook opens with: where ``cs_conv`` comes from, and the check helper."""

from __future__ import annotations

from course_tools.cells import NotebookBuilder

SETUP = '''
# Run this cell first. It makes `import cs_conv` load YOUR copy: the cs_conv/ folder next to this
# notebook, which is the copy that gets graded. Edits to cs_conv/*.py are picked up without a
# restart (autoreload); after rebuilding the Cython extension, restart the kernel.
%load_ext autoreload
%autoreload 2
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
'''

CHECK_HELPER = '''
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
'''

HOW_TO_WORK = """
**How to work.** You write code only in the `cs_conv/` folder next to this notebook (each task names
its file and function; the function's docstring gives exact shapes). This notebook explains the ideas,
then runs *visible checks*: cells that `assert` and stop with a message that says what is wrong.
Until you complete a task its checks stop with `NotImplementedError` naming the task: that is expected.
Cells marked *Autograded* are scored after you submit by the course's autograder, which runs its own,
more thorough tests on your `cs_conv` in a sandbox; the visible checks are a preview, not the grade.
*Question* cells are read by a person: answer in the cell below each one.

**Time.** The autograder gives each of its cases at least 20 seconds, or 20 times what its own plain
seven-loop version of the layer takes on the same machine at that moment, whichever is longer: a
correct loop, however naive, passes even on a busy machine; only code that runs away times out.
"""


def open_notebook(nb: NotebookBuilder, title: str, intro: str) -> None:
    """Title, how to work, the setup cell and the check helper."""
    nb.md(f"# {title}\n\n" + intro.strip() + "\n\n" + HOW_TO_WORK.strip())
    nb.code(SETUP)
    nb.code(CHECK_HELPER)
