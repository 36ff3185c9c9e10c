"""Solution fences: every student task has one, and the stubbed copy is a usable contract."""

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from course_tools.fences import FenceError, fenced_files, solution_lines, student_text, write_student_copy

from cs_conv.tasks import TASKS

PACKAGE = Path(__file__).resolve().parent.parent / "cs_conv"
FENCED_SOURCES = sorted(p for p in PACKAGE.rglob("*") if p.suffix in {".py", ".pyx"})


def fenced_functions():
    """(function, module) of each function holding a fence, found with a plain scan (not the tool under test)."""
    found = []
    for path in FENCED_SOURCES:
        module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        current = None
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:c?p?def|cdef)\b[^(]*?\b(\w+)\s*\(", line)
            if match:
                current = match.group(1)
            if line.lstrip().startswith("### BEGIN SOLUTION"):
                found.append((current, module))
    return found


def test_every_task_has_exactly_one_fence_in_its_module_and_every_fence_a_task():
    found = fenced_functions()
    names = [name for name, _ in found]
    assert sorted(names) == sorted(set(names)), "a function holds more than one fence"
    assert set(names) == set(TASKS), (f"tasks without a fence: {sorted(set(TASKS) - set(names))}; "
                                      f"fences without a task: {sorted(set(names) - set(TASKS))}")
    assert {name: module for name, module in found} == {name: task.module for name, task in TASKS.items()}


def test_no_solution_text_survives_in_the_student_copy(tmp_path):
    written = write_student_copy(PACKAGE, tmp_path / "cs_conv")
    fence = re.compile(r"^\s*### (BEGIN|END) SOLUTION", re.MULTILINE)
    for path in written:
        text = path.read_text() if path.suffix in {".py", ".pyx"} else ""
        assert not fence.search(text), f"{path.name} still has a fence"
    assert not any(p.suffix in {".so", ".c"} for p in written), "compiled files must not be copied"
    layers_stub = (tmp_path / "cs_conv" / "layers.py").read_text()
    assert "np.pad(" not in layers_stub and "argmax" not in layers_stub


def test_stubbed_layers_keep_their_contract_and_raise_with_the_task(tmp_path):
    write_student_copy(PACKAGE, tmp_path / "cs_conv")
    spec = importlib.util.spec_from_file_location("stub_layers", tmp_path / "cs_conv" / "layers.py")
    stub_layers = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stub_layers)
    x, w, b = np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), np.zeros(1)
    with pytest.raises(NotImplementedError, match=r"^Notebook 02, task 2\.1: conv_forward_naive$"):
        stub_layers.conv_forward_naive(x, w, b, {"stride": 1, "pad": 0})
    # The given shape checks stay: bad input still gets its ValueError before the stub.
    with pytest.raises(ValueError, match="x must be 4-D"):
        stub_layers.conv_forward_naive(np.zeros((4, 4)), w, b, {"stride": 1, "pad": 0})
    assert "H_out = (H + 2P - D(HH - 1) - 1) // S + 1" in stub_layers.conv_forward_naive.__doc__


def test_only_the_unfinished_tasks_are_stubbed_and_the_others_keep_their_solution():
    text = (PACKAGE / "layers.py").read_text()
    partial = student_text(text, "cs_conv/layers.py", unfinished=("conv_forward_naive",))
    assert partial.count("raise NotImplementedError(") == 1
    assert 'raise NotImplementedError("Notebook 02, task 2.1: conv_forward_naive")' in partial
    assert "out[n, f, i, j] = np.sum(window * w[f]) + b[f]" not in partial   # conv_forward_naive's solution
    assert "dxpad[n, c0:c0 + Cg, rows, cols] += dout[n, f, i, j] * w[f]" in partial   # conv_backward_naive's
    # No task unfinished: the solved source without its delimiter lines, every other line as it was.
    solved = student_text(text, "cs_conv/layers.py", unfinished=())
    assert solved.splitlines() == [line for line in text.splitlines()
                                   if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]


def test_solution_lines_are_the_fenced_lines_no_unfenced_line_shares():
    lines = solution_lines(PACKAGE)
    assert "dxpad[n, c0:c0 + Cg, rows, cols] += dout[n, f, i, j] * w[f]" in lines
    assert not lines & {"### BEGIN SOLUTION", "### END SOLUTION", "", "return out, cache"}


def test_fenced_files_are_the_files_with_a_task():
    names = {path.relative_to(PACKAGE).as_posix() for path in fenced_files(PACKAGE)}
    assert {"layers.py", "im2col_cython.pyx", "optim.py"} <= names
    assert not names & {"tasks.py", "__init__.py", "shapes.py"}


def test_fence_inside_a_nogil_kernel_becomes_pass():
    source = (
        "cdef void im2col_kernel(double[:] x,\n"
        "                        double[:] cols) noexcept nogil:\n"
        "    cdef Py_ssize_t i\n"
        "    ### BEGIN SOLUTION\n"
        "    cols[0] = x[0]\n"
        "    ### END SOLUTION\n"
    )
    assert student_text(source).splitlines()[-1] == "    pass  # YOUR CODE HERE (Notebook 04, task 4.1: im2col_kernel)"


@pytest.mark.parametrize("source, message", [
    ("def relu_forward(x):\n    ### BEGIN SOLUTION\n    pass\n", r"<source>:2: BEGIN SOLUTION is never closed"),
    ("def relu_forward(x):\n    ### END SOLUTION\n", r"<source>:2: END SOLUTION without a BEGIN"),
    ("def helper(x):\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n",
     r"<source>:2: helper has a solution fence but no entry in TASKS"),
    ("### BEGIN SOLUTION\n### END SOLUTION\n", r"<source>:1: solution fence is not inside a function"),
    ("def relu_forward(x):\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n",
     r"<source>:3: fence opened inside the fence of line 2"),
])
def test_malformed_fences_are_reported_with_their_line(source, message):
    with pytest.raises(FenceError, match=message):
        student_text(source)
