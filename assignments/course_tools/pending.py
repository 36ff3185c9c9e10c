"""Feedback that shows written answers not yet graded as pending, not as 0 points.

nbgrader's ``GetGrades`` puts each grade's score in its cell, and a grade that waits for a person
scores 0 there, so its feedback says "Score: 0.0 / 2.0" for an answer nobody has read yet.
``MarkPending``, after ``GetGrades`` in ``GenerateFeedback.preprocessors``, marks each such cell
``pending`` and puts the notebook's pending points in ``resources``; the course's feedback template
(``templates/cs_conv_feedback``, nbgrader's own with the score lines changed) shows them.
"""

from __future__ import annotations

from nbgrader import utils
from nbgrader.api import Gradebook

from course_tools.preprocessor import CoursePreprocessor


class MarkPending(CoursePreprocessor):
    """Mark every grade cell that still needs a person's grade; sum their points as ``pending_points``."""

    def preprocess(self, nb, resources):
        ids = resources["nbgrader"]
        pending_points = 0.0
        with Gradebook(ids["db_url"]) as gradebook:
            for cell in nb.cells:
                if not utils.is_grade(cell):
                    continue
                grade = gradebook.find_grade(cell.metadata.nbgrader["grade_id"], ids["notebook"],
                                             ids["assignment"], ids["student"])
                cell.metadata.nbgrader["pending"] = bool(grade.needs_manual_grade)
                if grade.needs_manual_grade:
                    pending_points += grade.max_score
        ids["pending_points"] = pending_points
        return nb, resources
