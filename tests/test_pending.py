"""MarkPending (course_tools/pending.py): which grade cells' feedback says pending, and their points."""

import os
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "assignments"))

from course_tools.cells import grade_id_for  # noqa: E402
from course_tools.pending import MarkPending  # noqa: E402

AUTOGRADED = grade_id_for("relu_forward")
# Written answers: one graded by hand, one waiting for a person, one worth nothing that waits too.
WRITTEN = {"q_graded": 2.0, "q_waiting": 3.0, "q_free": 0.0}


@pytest.fixture
def gradebook_url(tmp_path, monkeypatch) -> str:
    """A gradebook after one student's autograde of notebook 01, with one written answer graded since."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # for alembic
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_assignment("cnn")
        gradebook.update_or_create_notebook("01", "cnn")
        gradebook.update_or_create_grade_cell(AUTOGRADED, "01", "cnn", max_score=1.5, cell_type="code")
        for name, points in WRITTEN.items():
            gradebook.update_or_create_grade_cell(name, "01", "cnn", max_score=points, cell_type="markdown")
        gradebook.update_or_create_task_cell("task_essay", "01", "cnn", max_score=4.0, cell_type="markdown")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission trips SQLAlchemy's autoflush warning
            gradebook.add_student("s")
            gradebook.add_submission("cnn", "s")
        autograded = gradebook.find_grade(AUTOGRADED, "01", "cnn", "s")
        autograded.auto_score, autograded.needs_manual_grade = 1.0, False
        graded = gradebook.find_grade("q_graded", "01", "cnn", "s")
        graded.manual_score, graded.needs_manual_grade = 1.0, False
        gradebook.db.commit()
    return db_url


def notebook(*grade_ids: str) -> nbformat.NotebookNode:
    """A feedback notebook with a grade cell for each of ``grade_ids``, between cells that are not graded."""
    cells = [nbformat.v4.new_markdown_cell("# Notebook 01")]
    for name in grade_ids:
        cells.append(nbformat.v4.new_markdown_cell("An answer", metadata={"nbgrader": {
            "grade": True, "solution": True, "grade_id": name, "locked": False, "points": 1.0,
            "schema_version": 3}}))
        cells.append(nbformat.v4.new_code_cell("x = 1"))
    cells.append(nbformat.v4.new_markdown_cell("An essay", metadata={"nbgrader": {
        "grade": False, "solution": False, "task": True, "grade_id": "task_essay", "locked": True,
        "points": 4.0, "schema_version": 3}}))
    return nbformat.v4.new_notebook(cells=cells)


def mark(db_url: str, nb: nbformat.NotebookNode) -> tuple[list, float]:
    """MarkPending on ``nb``: (each cell's pending mark, or None where it has none; the pending points)."""
    resources = {"nbgrader": {"db_url": db_url, "assignment": "cnn", "notebook": "01", "student": "s"}}
    nb, resources = MarkPending().preprocess(nb, resources)
    marks = [cell.metadata.get("nbgrader", {}).get("pending") for cell in nb.cells]
    return marks, resources["nbgrader"]["pending_points"]


def test_only_grades_waiting_for_a_person_are_pending(gradebook_url):
    marks, pending_points = mark(gradebook_url, notebook(AUTOGRADED, "q_graded", "q_waiting", "q_free"))
    assert marks == [None, False, None, False, None, True, None, True, None, None], \
        "autograded and hand-graded cells are not pending, the two waiting ones are; the task cell is no grade cell"
    assert pending_points == 3.0


def test_marks_are_the_gradebooks_for_each_cell_as_nbgrader_finds_it(gradebook_url):
    # The marks read one by one with nbgrader's find_grade, as MarkPending did before it read a notebook's
    # grades in one query, after a grader's further work on the notebook.
    with Gradebook(gradebook_url) as gradebook:
        waiting = gradebook.find_grade("q_waiting", "01", "cnn", "s")
        waiting.manual_score, waiting.needs_manual_grade = 2.5, False
        graded = gradebook.find_grade("q_graded", "01", "cnn", "s")
        graded.needs_manual_grade = True  # the grader reopened it
        gradebook.db.commit()
        nb = notebook("q_free", AUTOGRADED, "q_waiting", "q_graded")
        expected = []
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id is None or not cell.metadata.nbgrader["grade"]:
                expected.append(None)
                continue
            grade = gradebook.find_grade(grade_id, "01", "cnn", "s")
            expected.append((grade.needs_manual_grade, grade.max_score))
    marks, pending_points = mark(gradebook_url, nb)
    assert marks == [None if want is None else want[0] for want in expected]
    assert pending_points == sum(want[1] for want in expected if want is not None and want[0]) == 2.0


def test_a_grade_cell_the_gradebook_has_no_grade_for_fails_as_nbgrader_does(gradebook_url):
    with pytest.raises(MissingEntry, match="No such grade: cnn/01/q_unknown for s"):
        mark(gradebook_url, notebook("q_waiting", "q_unknown"))


def test_a_grade_cell_counts_over_a_task_cell_of_the_same_name_as_in_nbgrader(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # for alembic
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db_url) as gradebook:
        gradebook.update_or_create_assignment("cnn")
        gradebook.update_or_create_notebook("01", "cnn")
        gradebook.update_or_create_task_cell("q_twice", "01", "cnn", max_score=4.0, cell_type="markdown")
        gradebook.update_or_create_grade_cell("q_twice", "01", "cnn", max_score=2.0, cell_type="markdown")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission trips SQLAlchemy's autoflush warning
            gradebook.add_student("s")
            gradebook.add_submission("cnn", "s")
        grade = gradebook.find_grade("q_twice", "01", "cnn", "s")
        assert grade.cell.type == "GradeCell" and grade.max_score == 2.0
    assert mark(db_url, notebook("q_twice"))[1] == 2.0
