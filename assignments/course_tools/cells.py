"""The nbgrader metadata of the kit's three kinds of cell, and the grade ids of autograded cells.

- ``locked_cell``: prose and visible checks, read-only ("locked") so they are restored if a
  student edits them; a student adds their own cells for experiments.
- ``autograded_cell(function)``: a grade cell that holds no test at all, only a comment
  naming the function. Its score comes from the sandboxed autograder (``course_tools.verdicts``),
  never from anything the student's kernel prints, so there is nothing secret to hide in it.
- ``answer_cell(grade_id, points, model_answer)``: a manually graded markdown answer; nbgrader
  replaces the model answer by "YOUR ANSWER HERE" in the release. Its question is the locked
  markdown cell above it, which begins with ``question_heading(points)``.

Every cell's nbformat ``id`` is its ``grade_id``, so both stay the same from build to build.
"""

from __future__ import annotations

import nbformat
from cs_conv.tasks import TASKS
from nbformat.notebooknode import NotebookNode

SCHEMA_VERSION = 3
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def locked_cell(cell_type: str, source: str, grade_id: str) -> NotebookNode:
    """A read-only markdown or code cell that nbgrader restores if a student edits it."""
    cell = _new_cell(cell_type, source, grade_id)
    cell.metadata.update({"deletable": False, "editable": False})
    cell.metadata["nbgrader"] = {
        "grade": False, "grade_id": grade_id, "locked": True,
        "schema_version": SCHEMA_VERSION, "solution": False, "task": False,
    }
    return cell


def autograded_cell(function: str) -> NotebookNode:
    """A grade cell for one student function, worth its points in ``cs_conv.tasks.TASKS``; the
    autograder's verdict becomes its output."""
    if function not in TASKS:
        raise ValueError(f"{function} is not a student function in cs_conv.tasks.TASKS")
    points = TASKS[function].points
    source = (
        f"# Autograded, {_points(points)}: {function} ({TASKS[function].label}).\n"
        f"# After you submit, the course's autograder runs its own tests of {function} on your\n"
        "# cs_conv in a separate, sandboxed process. Its verdict replaces this cell's output\n"
        "# in your feedback; nothing you run here changes it. The checks above are a preview."
    )
    grade_id = grade_id_for(function)
    cell = _new_cell("code", source, grade_id)
    cell.metadata.update({"deletable": False, "editable": False})
    cell.metadata["nbgrader"] = {
        "grade": True, "grade_id": grade_id, "locked": True, "points": float(points),
        "schema_version": SCHEMA_VERSION, "solution": False, "task": False,
    }
    return cell


def answer_cell(grade_id: str, points: float, model_answer: str) -> NotebookNode:
    """A manually graded markdown answer cell holding the model answer."""
    cell = _new_cell("markdown", model_answer, grade_id)
    cell.metadata["nbgrader"] = {
        "grade": True, "grade_id": grade_id, "locked": False, "points": float(points),
        "schema_version": SCHEMA_VERSION, "solution": True, "task": False,
    }
    return cell


def question_heading(points: float) -> str:
    """How the question above an answer cell begins: ``**Question (2 points, graded by hand).**``."""
    return f"**Question ({_points(points)}, graded by hand).**"


def new_notebook(cells: list[NotebookNode]) -> NotebookNode:
    """A valid notebook of ``cells`` for the kit's Python kernel."""
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return nb


def grade_id_for(function: str) -> str:
    """The grade cell id of a student function; ``course_tools.verdicts`` reads it back."""
    return f"autograde_{function}"


def function_for(grade_id: str) -> str | None:
    """The student function an autograded cell's id names, or None for any other id."""
    prefix = "autograde_"
    if grade_id.startswith(prefix) and grade_id[len(prefix):] in TASKS:
        return grade_id[len(prefix):]
    return None


def _new_cell(cell_type: str, source: str, cell_id: str) -> NotebookNode:
    if cell_type == "markdown":
        return nbformat.v4.new_markdown_cell(source, id=cell_id)
    if cell_type == "code":
        return nbformat.v4.new_code_cell(source, id=cell_id)
    raise ValueError(f"cell {cell_id}: a notebook cell is markdown or code, not {cell_type}")


def _points(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")
