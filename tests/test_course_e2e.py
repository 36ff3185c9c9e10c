"""The instructor's cycle end to end: release, four sample submissions, nbgrader grading, feedback, exports.

One run of ``course_tools.demo.run`` (the code behind ``make demo``) in a temporary course folder is
shared by every test here: it takes two to three minutes on two cores.
"""

import csv
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "assignments"))

from course_tools import demo, gradescope  # noqa: E402
from course_tools.grading import table  # noqa: E402
from course_tools.jail import kernel_sandbox  # noqa: E402
from course_tools.leaks import find_leaks, grader_lines  # noqa: E402
from course_tools.samples import BUGS, MARKER, UNFINISHED  # noqa: E402
from course_tools.verdicts import points_table  # noqa: E402

from cs_conv.tasks import TASKS  # noqa: E402

pytestmark = pytest.mark.slow
# In the partial sample these functions are solved but call code with a planted bug where their cases
# go (the fast conv layers the im2col kernel's dilation, the backward sandwiches relu_backward and
# conv_backward_naive, the model softmax_loss); every other solved function must earn full marks.
CALL_A_BUG = ("conv_forward_fast", "conv_backward_fast", "affine_relu_backward", "conv_relu_backward",
              "conv_relu_pool_backward", "three_layer_forward", "three_layer_backward")
UNTOUCHED = [function for function in TASKS
             if function not in {*UNFINISHED, *CALL_A_BUG, *(bug.function for bug in BUGS)}]


# A world-readable copy of the solved kit and the grader outside the repository, as an instructor
# might keep one: the hostile sample looks there too, and must find nothing.
DECOY = Path("/srv/cs-conv-decoy")


@pytest.fixture(scope="session")
def course_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("course-demo")
    decoy = os.geteuid() == 0 and not DECOY.exists()
    if decoy:
        for package in ("autograder", "cs_conv"):
            shutil.copytree(REPO / package, DECOY / package, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
        for path in [DECOY, *DECOY.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    printed: list[str] = []
    try:
        summary = demo.run(out, log=printed.append)
        summary["printed"] = printed
        time.sleep(2)  # give a daemon the hostile sample left behind (if any survived) time to strike
    finally:
        if decoy:
            shutil.rmtree(DECOY)
    return summary


@pytest.fixture(scope="session")
def scores(course_run):
    """{student: {notebook: Score}} from the gradebook (``course_tools.scores``)."""
    found: dict[str, dict] = {}
    for row in course_run["rows"]:
        found.setdefault(row.student, {})[row.notebook] = row.score
    return found


@pytest.fixture(scope="session")
def cell_points(course_run):
    return gradescope.cell_points(course_run["course"] / "source" / "cnn")


def task_scores(course, student, cell_points):
    """function -> (score, max_score) of its task in the autograder's own results.json, and the results."""
    results = json.loads((course / "verdicts" / "cnn" / f"{student}.json").read_text())
    tasks = results["extra_data"]["tasks"]
    found = {}
    for function in cell_points:
        task = tasks[TASKS[function].number]
        found[function] = (task["score"], task["max_score"])
    return found, results


def expected_scores(course, student, cell_points):
    """Per notebook, the points the autograder's own results.json gives its tasks."""
    found, results = task_scores(course, student, cell_points)
    expected: dict[str, float] = {}
    for function, entry in cell_points.items():
        expected[entry["notebook"]] = expected.get(entry["notebook"], 0.0) + found[function][0]
    return expected, results


def test_grading_worked_for_every_submission(course_run, scores):
    assert course_run["failures"] == []
    hostile = ["hostile"] if kernel_sandbox().isolated else []
    assert sorted(scores) == sorted(["blank", "partial", "solution", *hostile])
    assert all(len(notebooks) == len({task.notebook for task in TASKS.values()}) for notebooks in scores.values())


def test_grading_says_as_each_student_is_done(course_run):
    done = [line for line in course_run["printed"] if re.match(r"\[\d+/\d+\] ", line)]
    assert sorted(line.split("] ", 1)[1].split(":")[0] for line in done) == sorted(course_run["students"])
    assert all(re.search(r": autograded in \d+ s, feedback \d+ s$", line) for line in done), done
    assert [line.split("]")[0] for line in done] == [f"[{k}/{len(done)}" for k in range(1, len(done) + 1)]


def test_release_has_everything_a_student_needs_and_no_leaks(course_run):
    release, source = course_run["release"], course_run["course"] / "source" / "cnn"
    assert find_leaks(release, source) == []
    for name in ("setup.py", "pyproject.toml", "requirements.txt", "README.md", "data/digits.npz",
                 "data/grace_hopper.jpg", "cs_conv/im2col_cython.pyx", "cs_conv/fast_layers.py"):
        assert (release / name).is_file(), name
    assert sorted(p.name for p in release.glob("*.ipynb")) == sorted(p.name for p in source.glob("*.ipynb"))
    assert not (release / "autograder").exists()
    assert 'raise NotImplementedError("Notebook 02, task 2.1: conv_forward_naive")' in (
        release / "cs_conv" / "layers.py").read_text()
    assert not list(release.rglob("*.so"))


def test_release_builds_and_its_stubs_say_which_task(course_run, tmp_path):
    folder = tmp_path / "student"
    shutil.copytree(course_run["release"], folder)
    build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=folder,
                           capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-2000:]
    probe = ("import numpy as np\nfrom cs_conv.layers import relu_forward\n"
             "try:\n    relu_forward(np.ones(3))\nexcept NotImplementedError as e:\n    print(e)\n")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=folder, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": ""})
    assert proc.stdout.strip() == "Notebook 01, task 1.3: relu_forward"


def test_solution_earns_full_marks(scores):
    for notebook, row in scores["solution"].items():
        assert row.autograded == row.autograded_max, notebook
        assert row.manual == 0 and row.pending == row.manual_max, f"{notebook}: written answers wait for a person"
    assert sum(row.autograded_max for row in scores["solution"].values()) == 96


def test_blank_release_earns_zero(scores):
    for notebook, row in scores["blank"].items():
        assert row.autograded == 0, notebook
        assert row.manual == 0 and row.pending == 0, f"{notebook}: unanswered questions score 0 without a grader"


def test_partial_earns_exactly_what_its_tests_say(course_run, scores, cell_points):
    expected, results = expected_scores(course_run["course"], "partial", cell_points)
    for notebook, row in scores["partial"].items():
        assert row.autograded == round(expected[notebook], 2), notebook
    found, _ = task_scores(course_run["course"], "partial", cell_points)
    full = {function: score == worth for function, (score, worth) in found.items()}
    for function in UNFINISHED:
        assert found[function][0] == 0, function
    for bug in BUGS:
        assert not full[bug.function], f"{bug.function}: the planted bug ({bug.why}) should cost points"
    # Functions whose code, and everything they call, the sample left solved.
    for function in UNTOUCHED:
        assert full[function], f"{function}: untouched solved code should earn full marks"
    total = sum(row.autograded for row in scores["partial"].values())
    assert 0 < total < 96


def test_a_students_edited_cs_conv_is_what_got_graded(course_run):
    autograded = course_run["course"] / "autograded" / "partial" / "cnn" / "01_vector_backprop.ipynb"
    cells = json.loads(autograded.read_text())["cells"]
    setup_output = "".join(cells[1]["outputs"][0]["text"])
    assert "cs_conv is imported from" in setup_output and str(REPO) not in setup_output
    # The kernel's copy of the student's own folder, under the name it has inside the sandbox.
    assert "/home/student/cs_conv" in setup_output, setup_output
    verdicts = {cell["metadata"]["nbgrader"]["grade_id"]: "".join(cell["outputs"][0]["text"])
                for cell in cells if cell.get("metadata", {}).get("nbgrader", {}).get("grade")
                and cell["cell_type"] == "code"}
    assert "FAILED" in verdicts["autograde_relu_backward"]
    assert "FAILED" not in verdicts["autograde_relu_forward"]


def test_hostile_submission_is_contained(course_run, scores, cell_points):
    if "hostile" not in scores:
        pytest.skip(f"kernels cannot be isolated here ({kernel_sandbox().protections.reason}): the demo leaves the "
                    "hostile sample out")
    course = course_run["course"]
    expected, _ = expected_scores(course, "hostile", cell_points)
    for notebook, row in scores["hostile"].items():
        assert row.autograded == round(expected[notebook], 2), notebook
    # No marker file anywhere it tried outside its own jailed scratch folder.
    places = [REPO, REPO / "assignments", course, course.parent, Path("/tmp"), Path.home(), Path("/work"), DECOY]
    places += list(course.glob("*/*/cnn")) + list(course.glob("*/*"))
    planted = [str(place / MARKER) for place in places if (place / MARKER).exists()]
    assert planted == []
    # The gradebook holds only the source's grade cells, none above its maximum.
    with sqlite3.connect(course / "gradebook.db") as db:
        over = db.execute("SELECT COUNT(*) FROM grade JOIN grade_cells ON grade.cell_id = grade_cells.id "
                          "WHERE grade.auto_score > grade_cells.max_score").fetchone()[0]
        names = {row[0] for row in db.execute("SELECT name FROM base_cell")}
    assert over == 0 and "bonus_points" not in names
    feedback = "\n".join(p.read_text() for p in (course / "feedback" / "hostile" / "cnn").glob("*.html"))
    for sign in ("STOLEN", "TAMPERED", "LEAK "):
        assert sign not in feedback, f"the hostile code printed {sign}: it found something"
    assert "Autograder verdict for affine_forward" in feedback


def test_feedback_shows_verdicts_and_no_hidden_source(course_run):
    course = course_run["course"]
    secret = grader_lines(REPO / "autograder", REPO / "cs_conv")
    for student in course_run["students"]:
        pages = sorted((course / "feedback" / student / "cnn").glob("*.html"))
        assert len(pages) == 5, student
        for page in pages:
            html = page.read_text()
            assert "Autograder verdict for" in html, f"{student}/{page.name} shows no verdict"
            assert "HIDDEN TESTS" not in html and "BEGIN SOLUTION" not in html
            leaked = [line for line in secret if line in html]
            assert leaked == [], f"{student}/{page.name} shows grader source: {leaked[:3]}"


def test_exports_have_a_row_per_student_test_and_notebook(course_run):
    exports = course_run["exports"]
    grades = exports["grades"].read_text().splitlines()
    who = course_run["students"]
    assert len(grades) == 1 + len(who) and grades[0].startswith("assignment,")
    tests = exports["tests"].read_text().splitlines()
    assert {line.split(",")[0] for line in tests[1:]} == set(who) and len(tests) > len(who) * 100
    assert len(exports["notebooks"].read_text().splitlines()) == 1 + len(who) * 5


def csv_rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_score_surface_agrees_on_the_solution_the_partial_and_the_blank(course_run, scores, cell_points):
    """The autograder's JSON and text, nbgrader's gradebook and feedback, grades.csv, notebooks.csv,
    tests.csv, Gradescope's results and the printed table: one number per student, in points."""
    course = course_run["course"]
    sys.path.insert(0, str(REPO / "assignments" / "course_tools" / "gradescope_files"))
    try:
        import run_gradescope
    finally:
        sys.path.pop(0)
    # The autograder is given the same table from the gradebook as the Gradescope bundle from the notebooks.
    assert points_table(f"sqlite:///{course / 'gradebook.db'}", "cnn") == cell_points
    grades = {row["student_id"]: row for row in csv_rows(course_run["exports"]["grades"])}
    notebooks = csv_rows(course_run["exports"]["notebooks"])
    tests = csv_rows(course_run["exports"]["tests"])
    printed = table(course_run["rows"]).splitlines()
    surfaces = {}
    for student in ("solution", "partial", "blank"):
        rows = scores[student]
        autograded = round(sum(row.autograded for row in rows.values()), 2)
        manual = round(sum(row.manual for row in rows.values()), 2)
        pending = round(sum(row.pending for row in rows.values()), 2)
        results = json.loads((course / "verdicts" / "cnn" / f"{student}.json").read_text())
        mine = [row for row in notebooks if row["student"] == student]
        line = next(line for line in printed if line.split()[0] == student)
        surfaces[student] = {
            "gradebook": autograded,
            "autograder json": results["score"],
            "autograder text": results["output"].splitlines()[0],
            "gradescope": run_gradescope.for_students(results)["score"],
            "grades.csv": (float(grades[student]["autograded"]), float(grades[student]["manual"]),
                           float(grades[student]["manual_pending"]), float(grades[student]["total"])),
            "notebooks.csv": (round(sum(float(row["autograded"]) for row in mine), 2),
                              round(sum(float(row["manual"]) for row in mine), 2),
                              round(sum(float(row["manual_pending"]) for row in mine), 2)),
            "tests.csv": round(sum(float(row["score"]) for row in tests if row["student"] == student), 2),
            "table": line.split()[-4:],
        }
        seen = surfaces[student]
        assert seen["autograder json"] == seen["gradescope"] == autograded, seen
        assert seen["autograder text"] == f"Score: {autograded:g} / 96 notebook points", seen
        assert seen["grades.csv"] == (autograded, manual, pending, round(autograded + manual, 2)), seen
        assert seen["notebooks.csv"] == (autograded, manual, pending), seen
        assert seen["tests.csv"] == pytest.approx(autograded, abs=0.01), seen  # shares to 4 places
        assert seen["table"] == [f"{autograded:.2f}/96", f"{manual:.2f}/20", f"{pending:g}",
                                 f"{autograded + manual:.2f}/116"], seen
        for name, row in rows.items():
            page = (course / "feedback" / student / "cnn" / f"{name}.html").read_text()
            assert f"(Score: {round(row.autograded + row.manual, 2)} / {round(row.max_score, 2)}" in page, name
    for row in notebooks:  # every field a number (no empty field meaning 0), none with float noise
        for field in ("autograded", "autograded_max", "manual", "manual_max", "manual_pending", "total"):
            assert row[field] == str(round(float(row[field]), 2)), row
        waiting, written = float(row["manual_pending"]), float(row["manual_max"])
        assert row["manual_state"] == ("pending" if waiting else "graded" if written else "none"), row
    print(json.dumps(surfaces, indent=1))  # the side-by-side view, with -s
    assert surfaces["solution"]["gradebook"] == 96 and surfaces["blank"]["gradebook"] == 0
    assert 0 < surfaces["partial"]["gradebook"] < 96


def test_gradescope_bundle_scores_like_nbgrader(course_run, scores, tmp_path):
    source = course_run["course"] / "source" / "cnn"
    bundle = gradescope.make_bundle(tmp_path / "bundle", source)
    assert bundle.is_file()
    # Rescaled to the notebooks' points, the partial sample's own results give its nbgrader score.
    sys.path.insert(0, str(tmp_path / "bundle" / "source"))
    try:
        import run_gradescope
    finally:
        sys.path.pop(0)
    raw = json.loads((course_run["course"] / "verdicts" / "cnn" / "partial.json").read_text())
    shown = run_gradescope.for_students(raw, "after_due_date")
    assert shown["score"] == round(sum(row.autograded for row in scores["partial"].values()), 2)
    assert shown["execution_time"] == raw["execution_time"] > 0
    assert {test["visibility"] for test in shown["tests"]} == {"after_due_date"}
    # And the bundle runs as Gradescope runs it: the full solution earns every autograded point.
    root = tmp_path / "gradescope"
    root.mkdir()
    shutil.copytree(tmp_path / "bundle" / "source", root / "source")
    shutil.copytree(course_run["course"] / "submitted" / "solution" / "cnn", root / "submission" / "cnn")
    proc = subprocess.run([str(root / "source" / "run_autograder")], capture_output=True, text=True,
                          env={**os.environ, "GRADESCOPE_ROOT": str(root), "PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 96, results["output"]
    assert results["execution_time"] > 0
    assert {test["extra_data"]["notebook"] for test in results["tests"]} == {p.stem for p in source.glob("*.ipynb")}
