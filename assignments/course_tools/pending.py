"""Feedback that shows written answers not yet graded as pending, not as 0 points.

nbgrader's ``GetGrades`` puts each grade's score in its cell, and a grade that waits for a person
scores 0 there, so its feedback says "Score: 0.0 / 2.0" for an answer nobody has read yet.
``MarkPending``, after ``GetGrades`` in ``GenerateFeedback.preprocessors``, marks each such cell
``pending`` and puts the notebook's pending points in ``resources``; the course's feedback template
(``templates/cs_conv_feedback``, nbgrader's own with the score lines changed) shows them.
"""

from __future__ import annotations

from nbgrader import utils
from nbgrader.api import (
    Assignment,
    BaseCell,
    Grade,
    Gradebook,
    Notebook,
    Student,
    SubmittedAssignment,
    SubmittedNotebook,
)

from course_tools.preprocessor import CoursePreprocessor


def submitted_grades(gradebook: Gradebook, notebook: str, assignment: str,
                     student: str) -> dict[str, tuple[bool, float]]:
    """Each grade of ``student``'s submitted ``notebook`` by its cell's name: (needs_manual_grade, max_score).

    One query for the whole notebook, joined as nbgrader's ``find_grade`` joins it for one cell; empty
    when nothing was submitted. A grade cell's grade wins over a task cell's of the same name, as in
    ``find_grade``, which looks for a grade cell first.
    """
    rows = (gradebook.db.query(BaseCell.name, BaseCell.type, Grade.needs_manual_grade, Grade.max_score)
            .join(Grade, Grade.cell_id == BaseCell.id)
            .join(SubmittedNotebook, SubmittedNotebook.id == Grade.notebook_id)
            .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
            .join(SubmittedAssignment, SubmittedAssignment.id == SubmittedNotebook.assignment_id)
            .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
            .join(Student, Student.id == SubmittedAssignment.student_id)
            .filter(Notebook.name == notebook, Assignment.name == assignment, Student.id == student)
            .all())
    grades = {}
    for name, _, needs_manual_grade, max_score in sorted(rows, key=lambda row: row.type == "GradeCell"):
        grades[name] = (bool(needs_manual_grade), max_score)
    return grades


class MarkPending(CoursePreprocessor):
    """Mark every grade cell that still needs a person's grade; sum their points as ``pending_points``."""

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        pending_points = 0.0
        with Gradebook(ids["db_url"]) as gradebook:
            grades = submitted_grades(gradebook, ids["notebook"], ids["assignment"], ids["student"])
            for cell in nb.cells:
                if not utils.is_grade(cell):
                    continue
                grade_id = cell.metadata.nbgrader["grade_id"]
                if grade_id not in grades:
                    # nbgrader's own lookup, for its error (MissingEntry: no such grade).
                    grade = gradebook.find_grade(grade_id, ids["notebook"], ids["assignment"], ids["student"])
                    grades[grade_id] = (bool(grade.needs_manual_grade), grade.max_score)
                needs_manual_grade, max_score = grades[grade_id]
                cell.metadata.nbgrader["pending"] = needs_manual_grade
                if needs_manual_grade:
                    pending_points += max_score
        ids["pending_points"] = pending_points
        return nb, resources
