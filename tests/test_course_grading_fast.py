"""Fast grading (issue 15): kept outputs, long-lived nbgrader workers, incremental regrades.

One small course (``course_tools.demo.make_course``: the repository's nbgrader config and source
notebooks in a temporary folder) with two submissions, ``solution`` and ``partial``, is graded by
``course_tools.grading.grade`` the default way (submitted outputs kept, two workers) and, in a copy
made before grading, by a full serial regrade that re-runs every notebook. The grades must be the
same cell for cell; the kept outputs must be the student's, sanitised and marked as theirs; an
unchanged submission is not graded again and a changed one is; nothing under ``submitted/`` changes.
"""

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "assignments"))

from course_tools import regrade  # noqa: E402
from course_tools.demo import make_course  # noqa: E402
from course_tools.grading import cell_grades, grade, notebook_scores  # noqa: E402
from course_tools.jail import INSECURE, kernel_sandbox  # noqa: E402
from course_tools.kernel import KEPT_OUTPUTS_NOTE  # noqa: E402
from course_tools.release import make_release, nbgrader_env  # noqa: E402
from course_tools.samples import make_samples  # noqa: E402

from autograder.cases import SEED_BITS  # noqa: E402

pytestmark = pytest.mark.slow
NOTEBOOK = "01_vector_backprop.ipynb"
OWN_OUTPUT = "my own check: relu looks right"
FORGED = "all checks passed (forged)"
GRADER_VERSION = regrade.grader_version  # steady_grader replaces it while the course is graded


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def copy_course(course: Path, target: Path) -> Path:
    shutil.copytree(course, target, symlinks=True)
    config = target / "nbgrader_config.py"
    config.write_text(config.read_text().replace(repr(str(course)), repr(str(target))))
    return target


def is_grade_cell(cell: dict) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("grade")) and cell["cell_type"] == "code"


def plant_outputs(path: Path) -> None:
    """As a student leaves a notebook: outputs, one with a script; a read-only cell edited to fake a pass."""
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    setup = next(c for c in cells if c["cell_type"] == "code")
    setup["outputs"] = [{"output_type": "stream", "name": "stdout", "text": OWN_OUTPUT + "\n"},
                        {"output_type": "display_data", "metadata": {},
                         "data": {"text/html": "<b>bold</b><script>alert('xss-kept')</script>",
                                  "text/plain": "<IPython.core.display.HTML object>"}}]
    setup["execution_count"] = 1
    edited = [c for c in cells if c["cell_type"] == "code"][2]
    edited["source"] = f"print({FORGED!r})"
    edited["outputs"] = [{"output_type": "stream", "name": "stdout", "text": FORGED + "\n"}]
    graded = next(c for c in cells if is_grade_cell(c))
    graded["outputs"] = [{"output_type": "execute_result", "execution_count": 9, "metadata": {},
                          "data": {"text/plain": "100"}}]
    path.write_text(json.dumps(nb, indent=1))


@pytest.fixture(scope="module", autouse=True)
def steady_grader():
    """The grader's version as of the first grading: other work in this tree (an edited check) must not
    make these tests regrade what they expect to be left alone. ``test_the_grader_version_...`` checks
    the version itself."""
    versions: dict[tuple, str] = {}
    regrade.grader_version = lambda course, assignment, execute: versions.setdefault(
        (assignment, execute), GRADER_VERSION(course, assignment, execute))
    yield
    regrade.grader_version = GRADER_VERSION


@pytest.fixture(scope="module")
def courses(tmp_path_factory):
    """(course, full): the same two submissions, before grading; ``full`` is a copy of ``course``."""
    if not kernel_sandbox().isolated:
        os.environ[INSECURE] = "1"  # the kit's own samples only, as make demo does
    root = tmp_path_factory.mktemp("fast-grading")
    course = make_course(root / "course")
    with open(course / "nbgrader_config.py", "a") as config:  # the same inputs in every grading compared
        config.write(f"c.RunAutograder.seed = {secrets.randbelow(1 << SEED_BITS)}\n")
    make_release(course)
    make_samples(course, ("solution", "partial"))
    plant_outputs(course / "submitted" / "partial" / "cnn" / NOTEBOOK)
    full = copy_course(course, root / "full")
    plain = copy_course(course, root / "plain")
    return {"course": course, "full": full, "plain": plain, "submitted": tree_digest(course / "submitted")}


@pytest.fixture(scope="module")
def fast(courses):
    return grade(courses["course"], workers=2, log=lambda *args: None)


@pytest.fixture(scope="module")
def full(courses):
    return grade(courses["full"], workers=1, execute=True, force=True, log=lambda *args: None)


def test_the_fast_path_and_a_serial_reexecuting_regrade_give_identical_grades(courses, fast, full):
    assert fast["failures"] == [] and full["failures"] == []
    assert sorted(fast["autograded"]) == sorted(full["autograded"]) == ["partial", "solution"]
    fast_grades, full_grades = cell_grades(courses["course"]), cell_grades(courses["full"])
    assert len(fast_grades) > 2 * 20 and fast_grades == full_grades
    totals = {row.student: row.score.autograded for row in notebook_scores(courses["course"])
              if row.notebook == "01_vector_backprop"}
    assert totals["solution"] == 12 and 0 < totals["partial"] < 12
    # The two really differ in what they did: kernels ran in one only.
    fast_log = (courses["course"] / "logs" / "autograde-partial.log").read_text()
    full_log = (courses["full"] / "logs" / "autograde-partial.log").read_text()
    assert "Kept the submitted outputs of 05_convnet" in fast_log and "Executed" not in fast_log
    assert "Executed 05_convnet in" in full_log and "Kept the submitted outputs" not in full_log


def test_kept_outputs_are_the_students_own_sanitised_and_marked(courses, fast):
    autograded = courses["course"] / "autograded" / "partial" / "cnn" / NOTEBOOK
    cells = json.loads(autograded.read_text())["cells"]
    assert KEPT_OUTPUTS_NOTE.split("**")[1] in "".join(cells[0]["source"]), "the note heads the notebook"
    text = json.dumps(cells)
    assert OWN_OUTPUT in text and "<b>bold</b>" in text
    assert "xss-kept" not in text, "kept HTML is sanitised like a kernel's"
    assert FORGED not in text, "an edited read-only cell is restored and loses the outputs of the edit"
    graded = [c for c in cells if is_grade_cell(c)]
    assert all("Autograder verdict for" in "".join(c["outputs"][0]["text"]) for c in graded)
    assert "100" not in [c["outputs"][-1]["data"]["text/plain"] for c in graded]
    page = (courses["course"] / "feedback" / "partial" / "cnn" / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    assert "the outputs in this notebook are the ones you submitted" in page
    assert OWN_OUTPUT in page and "xss-kept" not in page and FORGED not in page
    assert "Autograder verdict for relu_backward" in page
    # Re-executing gives the kernel's outputs and no note.
    rerun = json.loads((courses["full"] / "autograded" / "partial" / "cnn" / NOTEBOOK).read_text())["cells"]
    assert "ones you submitted" not in json.dumps(rerun) and OWN_OUTPUT not in json.dumps(rerun)
    assert "cs_conv is imported from" in "".join(rerun[1]["outputs"][0]["text"])


def test_plain_nbgrader_autograde_keeps_outputs_unless_switched_on(courses):
    plain = courses["plain"]
    base = ["autograde", "cnn", "--student", "partial", "--notebook", NOTEBOOK[:-len(".ipynb")], "--force"]
    for extra, expected in (([], "Kept the submitted outputs"), (["--GradingMode.execute_notebooks=True"], "Executed")):
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *base, *extra], cwd=plain, env=nbgrader_env(),
                              capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert expected in proc.stderr
        cells = json.loads((plain / "autograded" / "partial" / "cnn" / NOTEBOOK).read_text())["cells"]
        assert (OWN_OUTPUT in json.dumps(cells)) == (extra == [])


def test_feedback_only_when_a_person_changed_a_grade(courses, fast, full):
    from nbgrader.api import Gradebook

    course = courses["course"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        answer = gradebook.find_grade("nb01_jacobian", NOTEBOOK[:-len(".ipynb")], "cnn", "solution")
        answer.manual_score = 1.5
        gradebook.db.commit()
    again = grade(course, workers=2, log=lambda *args: None)
    assert again["failures"] == []
    assert again["autograded"] == [] and again["feedback_only"] == ["solution"] and again["unchanged"] == ["partial"]
    assert cell_grades(course)[("solution", "01_vector_backprop", "nb01_jacobian")][1] == 1.5


def test_an_unchanged_submission_is_not_regraded_and_a_changed_one_is(courses, fast, full):
    course = courses["course"]
    grade(course, workers=2, log=lambda *args: None)  # settles anything an earlier test changed
    before = cell_grades(course)
    stamp = (course / "autograded" / "solution" / "cnn" / NOTEBOOK).stat().st_mtime_ns
    again = grade(course, workers=2, log=lambda *args: None)
    assert again["autograded"] == [] and again["feedback_only"] == [] and sorted(again["unchanged"]) == [
        "partial", "solution"]
    assert cell_grades(course) == before

    # The instructor's copy of a student's submission changes (a resubmission, collected again).
    layers = course / "submitted" / "partial" / "cnn" / "cs_conv" / "layers.py"
    fixed = layers.read_text().replace("dx = np.where(x >= 0, dout, 0)", "dx = np.where(x > 0, dout, 0)")
    assert fixed != layers.read_text()
    layers.write_text(fixed)
    changed = grade(course, workers=2, log=lambda *args: None)
    assert changed["failures"] == [] and changed["autograded"] == ["partial"] and changed["unchanged"] == ["solution"]
    after = cell_grades(course)
    relu = ("partial", "01_vector_backprop", "autograde_relu_backward")
    assert after[relu][0] > before[relu][0], "the fixed function earns its points"
    assert (course / "autograded" / "solution" / "cnn" / NOTEBOOK).stat().st_mtime_ns == stamp

    forced = grade(course, workers=2, force=True, log=lambda *args: None)
    assert sorted(forced["autograded"]) == ["partial", "solution"]
    assert cell_grades(course) == after


def test_grading_never_changes_submitted(courses, fast, full):
    # The incremental test above edits one submission on purpose (as a resubmission would): compare the copies.
    assert tree_digest(courses["full"] / "submitted") == courses["submitted"]
    assert tree_digest(courses["plain"] / "submitted") == courses["submitted"]


# ---- the submission digest ------------------------------------------------------------------------

def test_the_digest_sees_every_change_and_follows_no_link(tmp_path):
    folder = tmp_path / "sub"
    (folder / "cs_conv").mkdir(parents=True)
    (folder / "cs_conv" / "layers.py").write_text("x = 1\n")
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "b.txt").write_text("b")
    os.symlink(tmp_path / "a.txt", folder / "link")
    first = regrade.submission_digest(folder)
    assert first == regrade.submission_digest(folder)
    (tmp_path / "a.txt").write_text("changed behind the link")
    assert regrade.submission_digest(folder) == first, "a link's target is never read"
    os.remove(folder / "link")
    os.symlink(tmp_path / "b.txt", folder / "link")
    retargeted = regrade.submission_digest(folder)
    assert retargeted != first
    (folder / "cs_conv" / "layers.py").write_text("x = 2\n")
    assert regrade.submission_digest(folder) not in (first, retargeted)
    os.mkfifo(folder / "pipe")  # never opened: the digest does not hang
    assert regrade.submission_digest(folder) is not None
    os.symlink(folder, tmp_path / "linked")
    assert regrade.submission_digest(tmp_path / "linked") is None, "a linked submission folder is not walked"


def test_the_grader_version_names_the_mode_the_config_and_the_source_notebooks(tmp_path):
    course = tmp_path / "course"
    (course / "source" / "cnn").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text("c = get_config()\n")
    (course / "source" / "cnn" / "01.ipynb").write_text("{}")
    first = GRADER_VERSION(course, "cnn", False)
    assert first == GRADER_VERSION(course, "cnn", False)
    assert GRADER_VERSION(course, "cnn", True) != first
    (course / "source" / "cnn" / "01.ipynb").write_text('{"cells": []}')
    second = GRADER_VERSION(course, "cnn", False)
    assert second != first
    (course / "nbgrader_config.py").write_text("c = get_config()\nc.Execute.timeout = 5\n")
    assert GRADER_VERSION(course, "cnn", False) not in (first, second)
