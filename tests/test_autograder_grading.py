"""End to end: the solved kit earns full marks, the blank release zero, and grading is repeatable.

These build the student's ``.pyx`` and run every case in sandboxed processes, so
they take seconds each; the build cache is shared by the session.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import shutil
import subprocess
import sys

import pytest
from autograder_helpers import REPO, TEST_LIMITS, by_function, copy_solved, messages

from autograder import catalog
from autograder.results import Report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def solved_report(grade_with, solved_submission) -> Report:
    return grade_with(solved_submission)


def comparable(report: Report) -> list[tuple[str, float, float, str]]:
    return [(r.name, r.score, r.max_score, r.message) for r in report.results]


def test_the_solved_kit_earns_full_marks(solved_report):
    failures = [(r.name, r.message) for r in solved_report.results if not r.passed]
    assert solved_report.error is None
    assert not failures
    assert solved_report.score == solved_report.max_score == sum(c.points for c in catalog.CATALOG)
    assert {r.function for r in solved_report.results} == {c.function for c in catalog.CATALOG}


def test_regrading_gives_identical_results_from_the_build_cache(grade_with, solved_submission, solved_report):
    again = grade_with(solved_submission)
    assert comparable(again) == comparable(solved_report)
    assert again.notes == solved_report.notes
    assert any("cache hit" in line for line in again.diagnostics)


def test_the_blank_release_earns_zero_and_says_not_attempted(grade_with, blank_submission):
    report = grade_with(blank_submission)
    assert report.error is None
    assert report.score == 0
    assert report.max_score == sum(c.points for c in catalog.CATALOG)
    assert all("not attempted" in r.message for r in report.results), \
        [r.name + ": " + r.message for r in report.results if "not attempted" not in r.message][:5]


def test_compiled_files_in_a_submission_are_ignored(grade_with, blank_submission, solved_report, tmp_path):
    # The blank copy with the solved extension dropped in: the grader rebuilds from the blank .pyx.
    submission = tmp_path / "sneaky"
    shutil.copytree(blank_submission, submission)
    built = next((REPO / "cs_conv").glob("im2col_cython*.so"), None)
    if built is None:
        pytest.skip("the solved extension is not built in place (run make build)")
    shutil.copyfile(built, submission / "cs_conv" / built.name)
    (submission / "cs_conv" / "im2col_cython.c").write_text("/* stale */")
    report = grade_with(submission, only=["im2col_cython"])
    assert report.score == 0
    assert all("not attempted" in m for m in messages(report, "im2col_cython"))


def test_a_missing_or_garbled_file_costs_only_its_checks(grade_with, tmp_path):
    submission = copy_solved(tmp_path / "damaged")
    (submission / "cs_conv" / "layers.py").write_text("def conv_forward_naive(:\n")  # a syntax error
    (submission / "cs_conv" / "optim.py").unlink()
    report = grade_with(submission, only=["relu_forward", "adam", "im2col_cython"])
    totals = by_function(report)
    assert totals["relu_forward"][0] == 0
    assert all("SyntaxError" in m and "cs_conv.layers" in m for m in messages(report, "relu_forward"))
    assert totals["adam"][0] == 0
    assert all("No module named 'cs_conv.optim'" in m for m in messages(report, "adam"))
    assert totals["im2col_cython"][0] == totals["im2col_cython"][1]


def test_a_symlinked_file_is_not_followed(grade_with, tmp_path):
    submission = copy_solved(tmp_path / "linked")
    layers = submission / "cs_conv" / "layers.py"
    layers.unlink()
    layers.symlink_to(REPO / "cs_conv" / "layers.py")
    report = grade_with(submission, only=["relu_forward"])
    assert report.score == 0
    assert any("not a regular file" in note for note in report.notes)


def test_a_submission_without_cs_conv_scores_zero_with_a_reason(grade_with, tmp_path):
    (tmp_path / "empty").mkdir()
    report = grade_with(tmp_path / "empty", only=["relu_forward"])
    assert report.error is None and report.score == 0
    assert all("has no cs_conv/ folder" in m for m in messages(report, "relu_forward"))


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600)


def test_cli_grade_writes_gradescope_json(solved_submission, grader_cache, tmp_path):
    out = tmp_path / "results.json"
    result = run_cli("grade", str(solved_submission), "--format", "gradescope", "--out", str(out),
                     "--only", "relu_*,conv_backward_naive", "--cache", str(grader_cache))
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert set(document) == {"score", "execution_time", "output", "output_format", "stdout_visibility", "tests"}
    names = [t["name"] for t in document["tests"]]
    assert "conv_backward_naive: stride 2, pad 0" in names
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] for t in document["tests"])
    assert document["score"] == sum(t["max_score"] for t in document["tests"])


def test_cli_grade_text_and_json(blank_submission, grader_cache):
    text = run_cli("grade", str(blank_submission), "--only", "softmax_loss", "--cache", str(grader_cache))
    assert text.returncode == 0
    assert "softmax_loss (task 1.5): 0 / 6" in text.stdout
    assert "FAIL confident scores (scale 25): not attempted" in text.stdout
    assert "Sandbox:" in text.stdout
    as_json = json.loads(run_cli("grade", str(blank_submission), "--format", "json", "--only", "softmax_loss",
                                 "--cache", str(grader_cache)).stdout)
    assert as_json["extra_data"]["max_score"] == 6
    assert as_json["tests"][0]["extra_data"]["function"] == "softmax_loss"
    bad = run_cli("grade", str(blank_submission), "--only", "no_such_function")
    assert bad.returncode == 2 and "no check matches" in bad.stderr


def test_cli_grades_in_the_notebooks_points_and_refuses_a_table_without_a_graded_task(solved_submission,
                                                                                     grader_cache, tmp_path):
    table = tmp_path / "points.json"
    table.write_text(json.dumps({"softmax_loss": {"task": "Notebook 01, task 1.5", "points": 4}}))
    shown = run_cli("grade", str(solved_submission), "--only", "softmax_loss", "--points", str(table),
                    "--cache", str(grader_cache))
    assert shown.returncode == 0, shown.stderr
    assert "Score: 4 / 4 notebook points" in shown.stdout and "softmax_loss (task 1.5): 4 / 4" in shown.stdout
    missing = run_cli("grade", str(solved_submission), "--only", "softmax_loss,relu_forward", "--points", str(table))
    assert missing.returncode == 2 and "gives no points for relu_forward (task 1.3)" in missing.stderr
    # grade-all's workers (autograder serve) are given the table too.
    (tmp_path / "submitted").mkdir()
    shutil.copytree(solved_submission, tmp_path / "submitted" / "alice")
    result = run_cli("grade-all", str(tmp_path / "submitted"), "--csv", str(tmp_path / "grades.csv"),
                     "--only", "softmax_loss", "--points", str(table), "--cache", str(grader_cache))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "grades.csv").open()))
    assert [(r["score"], r["max_score"]) for r in rows if r["test"] == "TOTAL"] == [("4.0", "4.0")]
    assert {r["max_score"] for r in rows if r["test"] != "TOTAL"} == {"0.6667"}  # six cases share 4 points


def test_grade_all_writes_a_row_per_student_and_test_and_never_drops_one(solved_submission, blank_submission,
                                                                         grader_cache, tmp_path):
    folder = tmp_path / "submitted"
    folder.mkdir()
    shutil.copytree(solved_submission, folder / "alice")
    shutil.copytree(blank_submission, folder / "bob" / "cnn")  # nbgrader-style student/assignment/cs_conv
    (folder / "carol").mkdir()  # handed in nothing
    table = tmp_path / "grades.csv"
    result = run_cli("grade-all", str(folder), "--workers", "2", "--csv", str(table), "--only", "relu_forward",
                     "--cache", str(grader_cache))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(table.open()))
    students = [r["student"] for r in rows]
    assert students == ["alice"] * 4 + ["bob"] * 4 + ["carol"] * 4
    totals = {r["student"]: r for r in rows if r["test"] == "TOTAL"}
    assert float(totals["alice"]["score"]) == 3 and totals["alice"]["status"] == "graded"
    assert float(totals["bob"]["score"]) == 0
    assert "relu_forward: exact zeros" in [r["test"] for r in rows if r["student"] == "carol"]
    assert "grading" in result.stderr  # the progress bar


def test_grade_all_reports_a_stalled_worker_instead_of_dropping_the_student(solved_submission, grader_cache,
                                                                              tmp_path):
    from autograder.grade_all import grade_all

    folder = tmp_path / "submitted"
    stalled = copy_solved(folder / "dave")
    layers = stalled / "cs_conv" / "layers.py"
    layers.write_text(layers.read_text().replace("def relu_forward(x):\n",
                                                 "def relu_forward(x):\n    while True:\n        pass\n"))
    shutil.copytree(solved_submission, folder / "erin")
    options = ["--only", "relu_forward", "--case-timeout", "60", "--cache", str(grader_cache)]
    outcomes = grade_all(folder, 1, tmp_path / "out.csv", options, timeout=6.0)
    assert [o.student for o in outcomes] == ["dave", "erin"]
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "out.csv").open()) if r["test"] == "TOTAL"}
    assert rows["dave"]["status"] == "error" and "longer than 6 s" in rows["dave"]["output"]
    assert rows["erin"]["status"] == "graded" and float(rows["erin"]["score"]) == 3


def test_protections_are_reported(solved_report):
    summary = "\n".join(solved_report.protections)
    assert "limits:" in summary
    if os.geteuid() == 0 and sys.platform == "linux":
        assert "network: none" in summary and "user: uid 640" in summary


def test_test_limits_are_the_ones_in_use(solved_report):
    assert TEST_LIMITS.case_seconds < 20  # keeps the hostile tests quick


def test_without_namespaces_grading_still_works_and_says_it_is_weaker(grader_cache, solved_submission, tmp_path):
    # The degraded path (no root or no namespaces): own process group, sys.path limited to the
    # submission and numpy. Run as the current user, since the sandbox user cannot always reach
    # the interpreter without a mount namespace; student code then runs as the grader's own user,
    # so the grader refuses unless the instructor says --insecure.
    from autograder.grade import Settings, grade
    from autograder.sandbox import Sandbox

    refused = Sandbox(TEST_LIMITS, None, namespaces=False)
    assert refused.unusable is not None and "refusing to grade" in refused.unusable
    assert "--insecure" in refused.unusable and "cannot be isolated" in refused.unusable
    nothing = grade(solved_submission, Settings(limits=TEST_LIMITS, cache_dir=grader_cache, only=["relu_forward"]),
                    sandbox=refused)
    assert nothing.error == refused.unusable and nothing.results == [] and nothing.score == 0
    weak = Sandbox(TEST_LIMITS, None, namespaces=False, insecure=True)
    assert weak.unusable is None
    report = grade(solved_submission, Settings(limits=TEST_LIMITS, cache_dir=grader_cache,
                                               only=["relu_forward", "conv_forward_fast"]), sandbox=weak)
    assert report.error is None and report.score == report.max_score
    assert any("NOT isolated" in line for line in report.protections)
    assert any("--insecure" in line for line in report.protections)
    looping = copy_solved(tmp_path / "looping")
    layers = looping / "cs_conv" / "layers.py"
    layers.write_text(layers.read_text().replace("def relu_forward(x):\n",
                                                 "def relu_forward(x):\n    while True:\n        pass\n"))
    limits = dataclasses.replace(TEST_LIMITS, case_seconds=1.0)
    report = grade(looping, Settings(limits=limits, cache_dir=grader_cache, only=["relu_forward", "relu_backward"]),
                   sandbox=Sandbox(limits, None, namespaces=False, insecure=True))
    assert by_function(report)["relu_forward"][0] == 0
    assert by_function(report)["relu_backward"][0] == 3
