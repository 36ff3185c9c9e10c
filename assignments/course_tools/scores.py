"""Every score the course reports, read from the gradebook and kept apart the same way everywhere.

nbgrader's points, split three ways: ``autograded`` (the code grade cells, which hold the
autograder's verdicts), ``manual`` (the written answers: a person's grade, or nbgrader's automatic 0
for an answer left as released) and ``pending`` (the points of grade cells still waiting for a
person, which count towards neither until graded). ``total`` is ``autograded + manual`` less any late
penalty. Every number is rounded as ``autograder.points`` rounds a task's score (2 places), so a CSV
never shows ``26.959500000000002`` and an empty field never stands for 0.

Read by ``notebooks.csv`` and the score table (``course_tools.grading``), and by ``grades.csv``:
``GradesCsv`` is the course's ``ExportApp.plugin_class`` (``nbgrader_config.py``), so plain
``nbgrader export`` writes it too.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import astuple, dataclass

from autograder.points import total
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin


@dataclass(frozen=True)
class Score:
    autograded: float = 0.0
    autograded_max: float = 0.0
    manual: float = 0.0
    manual_max: float = 0.0
    pending: float = 0.0  # points of grade cells no person has graded yet
    penalty: float = 0.0  # nbgrader's late submission penalty

    @property
    def total(self) -> float:
        return max(0.0, total([self.autograded, self.manual, -self.penalty]))

    @property
    def max_score(self) -> float:
        return total([self.autograded_max, self.manual_max])

    def __add__(self, other: Score) -> Score:
        """Two notebooks' scores as one (a student's over several notebooks)."""
        return Score(*(total(pair) for pair in zip(astuple(self), astuple(other), strict=True)))


def score_of(grades: Iterable, penalty: float = 0.0) -> Score:
    """The ``Score`` of nbgrader ``Grade`` rows (a notebook's, or a whole submission's)."""
    auto, auto_max, manual, manual_max, pending = [], [], [], [], []
    for grade in grades:
        graded, worth = (auto, auto_max) if grade.cell_type == "code" else (manual, manual_max)
        graded.append(float(grade.score or 0.0))
        worth.append(float(grade.max_score))
        if grade.needs_manual_grade:
            pending.append(float(grade.max_score))
    return Score(total(auto), total(auto_max), total(manual), total(manual_max), total(pending),
                 round(float(penalty or 0.0), 2))


def notebook_scores(gradebook: Gradebook, assignment: str, student: str) -> dict[str, Score]:
    """Notebook name -> ``Score`` of the student's submission; empty when there is none."""
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return {}
    return {notebook.name: score_of(notebook.grades, notebook.late_submission_penalty)
            for notebook in sorted(submission.notebooks, key=lambda nb: nb.name)}


def manual_state(score: Score) -> str:
    """``pending`` while a person still has points to give, ``graded`` once none wait, ``none`` without any."""
    if score.pending:
        return "pending"
    return "graded" if score.manual_max else "none"


GRADES_FIELDS = ("assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
                 "autograded", "autograded_max", "manual", "manual_max", "manual_pending", "manual_state",
                 "late_submission_penalty", "total", "max_score")


class GradesCsv(ExportPlugin):
    """``nbgrader export``'s grades.csv, one row per student and assignment, with autograded, manual
    (and the part of it still pending) and total points in columns of their own."""

    def export(self, gradebook: Gradebook) -> None:
        students = {str(student) for student in self.student}
        assignments = {str(assignment) for assignment in self.assignment}
        with open(self.to or "grades.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, GRADES_FIELDS)
            writer.writeheader()
            for assignment in gradebook.assignments:
                if assignments and assignment.name not in assignments:
                    continue
                for student in gradebook.students:
                    if students and student.id not in students:
                        continue
                    writer.writerow(self._row(gradebook, assignment, student))

    @staticmethod
    def _row(gradebook: Gradebook, assignment, student) -> dict:
        row = {"assignment": assignment.name, "duedate": assignment.duedate or "", "student_id": student.id,
               "last_name": student.last_name or "", "first_name": student.first_name or "",
               "email": student.email or ""}
        try:
            submission = gradebook.find_submission(assignment.name, student.id)
        except MissingEntry:  # nothing submitted: nothing earned, nothing waits for a person
            score = Score(autograded_max=total([assignment.max_code_score]),
                          manual_max=total([assignment.max_score, -assignment.max_code_score]))
            row["timestamp"] = ""
        else:
            grades = [grade for notebook in submission.notebooks for grade in notebook.grades]
            score = score_of(grades, submission.late_submission_penalty)
            row["timestamp"] = submission.timestamp
        row.update(autograded=score.autograded, autograded_max=score.autograded_max, manual=score.manual,
                   manual_max=score.manual_max, manual_pending=score.pending, manual_state=manual_state(score),
                   late_submission_penalty=score.penalty, total=score.total, max_score=score.max_score)
        return row
