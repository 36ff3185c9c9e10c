"""Cell builders for the source notebooks, with the nbgrader metadata each kind of cell needs.

Four kinds of cell, in nbgrader's terms:

- ``md`` / ``code``: prose and visible checks, read-only ("locked") so they are restored if a
  student edits them; a student adds their own cells for experiments.
- ``autograded(function, points)``: a grade cell that holds no test at all, only a comment naming
  the function. Its score comes from the sandboxed autograder (``course_tools.verdicts``), never
  from anything the student's kernel prints, so there is nothing secret to hide in it.
- ``free_response(grade_id, points, question, model_answer)``: a question and a manually graded
  markdown answer cell; nbgrader replaces the model answer by "YOUR ANSWER HERE" in the release.
"""

from __future__ import annotations

import textwrap

import nbformat
from cs_conv.tasks import TASKS
from nbformat.notebooknode import NotebookNode

SCHEMA_VERSION = 3
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


class NotebookBuilder:
    """Collects the cells of one notebook and numbers the read-only ones ``<prefix>_<kind><k>``."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.cells: list[NotebookNode] = []
        self._count = 0

    def _next_id(self, kind: str) -> str:
        self._count += 1
        return f"{self.prefix}_{kind}{self._count:02d}"

    def md(self, text: str) -> None:
        cell = nbformat.v4.new_markdown_cell(_clean(text))
        _lock(cell, self._next_id("md"))
        self.cells.append(cell)

    def code(self, source: str) -> None:
        cell = nbformat.v4.new_code_cell(_clean(source))
        _lock(cell, self._next_id("code"))
        self.cells.append(cell)

    def autograded(self, function: str, points: float) -> None:
        """A grade cell for one student function; the autograder's verdict becomes its output."""
        if function not in TASKS:
            raise ValueError(f"{function} is not a student function in cs_conv.tasks.TASKS")
        task = TASKS[function]
        source = (
            f"# Autograded, {_points(points)}: {function} ({task}).\n"
            f"# After you submit, the course's autograder runs its own tests of {function} on your\n"
            "# cs_conv in a separate, sandboxed process. Its verdict replaces this cell's output\n"
            "# in your feedback; nothing you run here changes it. The checks above are a preview."
        )
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata.update({"deletable": False, "editable": False})
        cell.metadata["nbgrader"] = {
            "grade": True, "grade_id": grade_id_for(function), "locked": True, "points": float(points),
            "schema_version": SCHEMA_VERSION, "solution": False, "task": False,
        }
        self.cells.append(cell)

    def free_response(self, grade_id: str, points: float, question: str, model_answer: str) -> None:
        """A read-only question, then a manually graded answer cell holding the model answer."""
        self.md(f"**Question ({_points(points)}, graded by hand).** " + _clean(question))
        answer = nbformat.v4.new_markdown_cell(_clean(model_answer))
        answer.metadata["nbgrader"] = {
            "grade": True, "grade_id": f"{self.prefix}_{grade_id}", "locked": False,
            "points": float(points), "schema_version": SCHEMA_VERSION, "solution": True, "task": False,
        }
        self.cells.append(answer)

    def notebook(self) -> NotebookNode:
        nb = nbformat.v4.new_notebook()
        nb.cells = self.cells
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


def _lock(cell: NotebookNode, grade_id: str) -> None:
    cell.metadata.update({"deletable": False, "editable": False})
    cell.metadata["nbgrader"] = {
        "grade": False, "grade_id": grade_id, "locked": True,
        "schema_version": SCHEMA_VERSION, "solution": False, "task": False,
    }


def _clean(text: str) -> str:
    return textwrap.dedent(text).strip("\n")


def _points(points: float) -> str:
    return f"{points:g} point" + ("" if points == 1 else "s")
