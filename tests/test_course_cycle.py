"""The course cycle through nbgrader's own commands, as instructors and students run them.

Each test works in its own copy of the course (``course_tools.demo.make_course``: the repository's
nbgrader config and source notebooks, rooted in a temporary folder) and runs the venv's ``nbgrader``
there, the way an instructor types it.
"""

import filecmp
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COURSE = REPO / "assignments"
sys.path.insert(0, str(COURSE))

from course_tools.demo import make_course  # noqa: E402
from course_tools.release import nbgrader_env  # noqa: E402

NBGRADER = str(Path(sys.executable).with_name("nbgrader"))


def run_nbgrader(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """``nbgrader ARGS`` in ``cwd``, as typed in a shell whose PATH starts with the venv's bin."""
    return subprocess.run([NBGRADER, *args], cwd=cwd, env=nbgrader_env(), capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=600)


def tree(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def assert_same_tree(a: Path, b: Path) -> None:
    assert tree(a) == tree(b)
    files = [name for name in tree(a) if (a / name).is_file()]
    _, mismatch, errors = filecmp.cmpfiles(a, b, files, shallow=False)
    assert not mismatch and not errors, f"differ: {mismatch + errors}"


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """A course copy after ``nbgrader generate_assignment cnn --force``; returns its release folder."""
    course = make_course(tmp_path_factory.mktemp("generated") / "course")
    proc = run_nbgrader(course, "generate_assignment", "cnn", "--force")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return course / "release" / "cnn"


# ---- defect 2: nbgrader's own release command makes the whole release -------------------------

@pytest.mark.slow
def test_generate_assignment_writes_the_whole_release(released):
    names = tree(released)
    for expected in ("01_vector_backprop.ipynb", "05_convnet.ipynb", "setup.py", "pyproject.toml",
                     "requirements.txt", "README.md", "data/digits.npz", "cs_conv/layers.py",
                     "cs_conv/im2col_cython.pyx", "cs_conv/classifiers/cnn.py"):
        assert expected in names
    layers = (released / "cs_conv" / "layers.py").read_text()
    assert 'raise NotImplementedError("Notebook 02, task 2.1: conv_forward_naive")' in layers
    assert "### BEGIN SOLUTION" not in layers


@pytest.mark.slow
def test_make_release_and_formgraders_button_give_the_same_folder_as_the_command(released, tmp_path):
    # make release runs exactly this, from assignments/.
    by_make = make_course(tmp_path / "make")
    proc = subprocess.run([sys.executable, "-m", "course_tools.release", "--course", str(by_make)], cwd=COURSE,
                          env={**nbgrader_env(), "PYTHONPATH": str(REPO)}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "no leaks found" in proc.stdout
    assert_same_tree(released, by_make / "release" / "cnn")

    # formgrader's Generate button calls NbGraderAPI.generate_assignment with the server's config.
    by_button = make_course(tmp_path / "button")
    script = (
        "import sys\n"
        "from traitlets.config.loader import PyFileConfigLoader\n"
        "from nbgrader.apps.api import NbGraderAPI\n"
        "from nbgrader.coursedir import CourseDirectory\n"
        "config = PyFileConfigLoader('nbgrader_config.py', path='.').load_config()\n"
        "result = NbGraderAPI(CourseDirectory(config=config), config=config).generate_assignment('cnn')\n"
        "sys.exit(0 if result['success'] else result.get('error', 'failed'))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=by_button, env=nbgrader_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert_same_tree(released, by_button / "release" / "cnn")


@pytest.mark.slow
def test_a_leaking_source_fails_generate_assignment_and_leaves_no_release(tmp_path):
    course = make_course(tmp_path / "course")
    # Solved code in source/cnn: nbgrader would copy it into the release, and over every submission.
    (course / "source" / "cnn" / "layers.py").write_text((REPO / "cs_conv" / "layers.py").read_text())
    proc = run_nbgrader(course, "generate_assignment", "cnn", "--force")
    assert proc.returncode != 0
    assert "must hold notebooks only" in proc.stderr and "layers.py" in proc.stderr
    assert not (course / "release" / "cnn").exists()


# ---- defect 1: the student's environment stays out of the submission --------------------------

def add_environment_and_build_products(folder: Path) -> None:
    """What a student's folder holds after following an older README: a venv, the build, compiled files."""
    site = folder / ".venv" / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    with open(site / "numpy_core.so", "wb") as big:
        big.truncate(150_000_000)  # sparse: counts as 150 MB, nbgrader's limit is 100 MB
    (folder / ".venv" / "bin").mkdir()
    (folder / ".venv" / "bin" / "python").symlink_to(sys.executable)
    (folder / "build" / "temp").mkdir(parents=True)
    (folder / "build" / "temp" / "im2col_cython.o").write_bytes(b"\0" * 64)
    (folder / "cs_conv" / "im2col_cython.c").write_text("/* generated by Cython */\n")
    (folder / "cs_conv" / "im2col_cython.cpython-311-x86_64-linux-gnu.so").write_bytes(b"\0" * 64)


@pytest.mark.slow
def test_nbgrader_submit_and_collect_leave_the_students_environment_out(released, tmp_path):
    course = released.parents[1]
    exchange = tmp_path / "exchange"
    exchange.mkdir(mode=0o777)
    home = tmp_path / "home"
    home.mkdir()
    on_exchange = ("--Exchange.root=" + str(exchange),)
    proc = run_nbgrader(course, "release_assignment", "cnn", "--force", *on_exchange)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_nbgrader(home, "fetch_assignment", "cnn", "--course=cs-conv", *on_exchange)
    assert proc.returncode == 0, proc.stderr[-3000:]
    student = home / "cnn"
    assert (student / "nbgrader_config.py").is_file() and (student / "cs_conv" / "layers.py").is_file()
    add_environment_and_build_products(student)

    # Without the release's config (nbgrader's defaults, run from the folder above) the submission is refused...
    proc = run_nbgrader(home, "submit", "cnn", "--course=cs-conv", *on_exchange)
    assert proc.returncode != 0 and "Directory size is too big" in proc.stderr
    # ...with it, as the release's README says (nbgrader submit in the assignment folder), it goes through.
    proc = run_nbgrader(student, "submit", *on_exchange)
    assert proc.returncode == 0, proc.stderr[-3000:]

    proc = run_nbgrader(course, "collect", "cnn", *on_exchange)
    assert proc.returncode == 0, proc.stderr[-3000:]
    [submitted] = (course / "submitted").glob("*/cnn")
    names = tree(submitted)
    assert "cs_conv/layers.py" in names and "cs_conv/im2col_cython.pyx" in names and "02_convolution.ipynb" in names
    unwanted = [name for name in names if name.startswith((".venv", "build")) or name.endswith((".so", ".c", ".o"))]
    assert not unwanted
    [inbound] = (exchange / "cs-conv" / "inbound").iterdir()
    assert not (inbound / ".venv").exists()


@pytest.mark.slow
def test_collect_submission_zips_exactly_the_graded_files(released, tmp_path):
    student = tmp_path / "cnn"
    shutil.copytree(released, student)
    add_environment_and_build_products(student)
    (student / ".ipynb_checkpoints").mkdir()
    (student / ".ipynb_checkpoints" / "02_convolution-checkpoint.ipynb").write_text("{}")
    proc = subprocess.run([sys.executable, "collect_submission.py", "--no-pdf"], cwd=student, capture_output=True,
                          text=True)  # the written answers' PDF: tests/test_collect_submission.py
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(student / "cnn_submission.zip") as archive:
        names = sorted(archive.namelist())
    expected = sorted([p.name for p in released.glob("*.ipynb")]
                      + [str(p.relative_to(released)) for p in (released / "cs_conv").rglob("*.py")]
                      + ["cs_conv/im2col_cython.pyx"])
    assert names == expected
    assert "Upload this zip as it is" in proc.stdout

    # Run anywhere else, it says where it belongs instead of zipping nothing.
    shutil.copy(student / "collect_submission.py", tmp_path / "collect_submission.py")
    proc = subprocess.run([sys.executable, "collect_submission.py"], cwd=tmp_path, capture_output=True, text=True)
    assert proc.returncode != 0 and "keep this script in your assignment folder" in proc.stderr


# ---- defect 3: validate reports failing code cells -------------------------------------------

@pytest.mark.slow
def test_validate_on_the_blank_release_lists_the_unfinished_functions(released):
    proc = run_nbgrader(released, "validate", "01_vector_backprop.ipynb")
    assert "VALIDATION FAILED" in proc.stdout
    # Each check cell stops at the first stub it calls (affine_backward's check runs affine_forward first).
    for task in ("task 1.1: affine_forward", "task 1.3: relu_forward", "task 1.5: softmax_loss"):
        assert f"NotImplementedError: Notebook 01, {task}" in proc.stdout
    # Kernels over local sockets: no warning about unencrypted TCP on the student's terminal.
    assert "without encryption" not in proc.stderr


@pytest.mark.slow
def test_validate_reports_a_failing_visible_check_that_nbgraders_default_misses(released, tmp_path):
    from course_tools.samples import write_partial

    student = tmp_path / "cnn"
    write_partial(released, released.parents[1] / "source" / "cnn", student)
    message = "AssertionError: relu_backward lets nothing through at exactly x = 0"
    proc = run_nbgrader(student, "validate", "01_vector_backprop.ipynb")
    assert message in proc.stdout
    # nbgrader's default (what students had before) looks at graded cells only.
    proc = run_nbgrader(student, "validate", "01_vector_backprop.ipynb", "--Validator.validate_all=False")
    assert message not in proc.stdout


# ---- defect 7: Gradescope understands zip, flat and nested uploads; visibility in one place ---

@pytest.fixture(scope="module")
def gradescope_bundle(tmp_path_factory) -> Path:
    """The unpacked bundle, made with the tests' results shown only after the due date."""
    from course_tools import gradescope

    out = tmp_path_factory.mktemp("bundle")
    gradescope.make_bundle(out, visibility="after_due_date")
    return out / "source"


@pytest.fixture(scope="module")
def layers_done(released, tmp_path_factory) -> Path:
    """A student folder in which cs_conv/layers.py is finished and everything else is as released."""
    student = tmp_path_factory.mktemp("student") / "cnn"
    shutil.copytree(released, student)
    shutil.copy(REPO / "cs_conv" / "layers.py", student / "cs_conv" / "layers.py")
    return student


def run_on_gradescope(bundle: Path, root: Path, make_upload) -> dict:
    """Gradescope's layout in ``root`` (source/, submission/, results/): run_autograder, return results.json."""
    shutil.copytree(bundle, root / "source")
    (root / "submission").mkdir()
    make_upload(root / "submission")
    proc = subprocess.run([str(root / "source" / "run_autograder")], capture_output=True, text=True,
                          env={**nbgrader_env(), "GRADESCOPE_ROOT": str(root), "PYTHON": sys.executable})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads((root / "results" / "results.json").read_text())


def zip_upload(student: Path):
    def upload(submission: Path) -> None:
        subprocess.run([sys.executable, "collect_submission.py", "--no-pdf"], cwd=student, check=True,
                       capture_output=True)
        shutil.move(student / "cnn_submission.zip", submission / "cnn.zip")
    return upload


def flat_upload(student: Path, leave_out: str = ""):
    from course_tools.gradescope import task_files

    def upload(submission: Path) -> None:
        for name in task_files():
            if name != leave_out:
                shutil.copy(student / "cs_conv" / name, submission / Path(name).name)
    return upload


def nested_upload(student: Path):
    def upload(submission: Path) -> None:
        shutil.copytree(student, submission / "Downloads" / "cs231 work" / "cnn")
        # What macOS's Finder adds to a folder it compresses.
        (submission / "__MACOSX" / "cnn" / "cs_conv").mkdir(parents=True)
        (submission / "__MACOSX" / "cnn" / "cs_conv" / "._layers.py").write_bytes(b"\0\5\26\7")
    return upload


def test_the_gradescope_bundle_holds_the_grader_but_no_fence_tool_and_no_solution(gradescope_bundle):
    from course_tools.fences import BEGIN, find_fences
    from course_tools.leaks import LeakScan
    from course_tools.paths import SOURCE

    names = tree(gradescope_bundle)
    assert "autograder/grade.py" in names and "release_cs_conv/layers.py" in names
    # Of the kit, only the plain data the grader reads: the table of tasks and the compiler directives.
    assert [name for name in names if name.startswith("cs_conv")] == [
        "cs_conv", "cs_conv/__init__.py", "cs_conv/cython_directives.json", "cs_conv/tasks.py"]
    assert (gradescope_bundle / "cs_conv" / "tasks.py").read_text() == (REPO / "cs_conv" / "tasks.py").read_text()
    for path in gradescope_bundle.rglob("*.py"):
        text = path.read_text()
        assert "def write_student_copy" not in text and "def find_fences" not in text, path
        assert BEGIN not in text, path
    # The release copy that fills in what a student leaves out: stubs only.
    assert LeakScan(SOURCE).folder(gradescope_bundle / "release_cs_conv") == []
    layers = gradescope_bundle / "release_cs_conv" / "layers.py"
    assert find_fences(layers.read_text()) == [] and 'raise NotImplementedError("Notebook 02' in layers.read_text()


@pytest.mark.slow
def test_gradescope_grades_zip_flat_and_nested_uploads_alike(gradescope_bundle, layers_done, tmp_path):
    results = {kind: run_on_gradescope(gradescope_bundle, tmp_path / kind, make(layers_done))
               for kind, make in (("zip", zip_upload), ("flat", flat_upload), ("nested", nested_upload))}
    scores = {kind: result["score"] for kind, result in results.items()}
    # layers.py's functions earn their points, the released stubs none: the same in every layout.
    assert len(set(scores.values())) == 1 and 0 < scores["zip"] < 96, scores
    for result in results.values():
        assert result["execution_time"] > 0
        assert result["visibility"] == "after_due_date"
        assert {test["visibility"] for test in result["tests"]} == {"after_due_date"}


@pytest.mark.slow
def test_gradescope_says_exactly_what_to_upload_when_a_file_is_missing(gradescope_bundle, layers_done, tmp_path):
    result = run_on_gradescope(gradescope_bundle, tmp_path, flat_upload(layers_done, leave_out="fast_layers.py"))
    assert result["score"] == 0 and result["tests"] == []
    assert "Your upload is missing cs_conv/fast_layers.py" in result["output"]
    assert "python collect_submission.py" in result["output"]


def test_a_zip_upload_cannot_write_outside_its_folder(tmp_path):
    sys.path.insert(0, str(COURSE / "course_tools" / "gradescope_files"))
    try:
        import upload
    finally:
        sys.path.pop(0)
    archive = tmp_path / "cnn.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../escaped.py", "x = 1\n")
        zipped.writestr("/abs/escaped.py", "x = 1\n")
        zipped.writestr("cnn/cs_conv/layers.py", "x = 1\n")
        zipped.writestr("cnn/data/big.npz", "not code")
    target = upload.extract_sources(archive, tmp_path / "out")
    assert tree(target) == ["cnn", "cnn/cs_conv", "cnn/cs_conv/layers.py"]
    assert not (tmp_path / "escaped.py").exists()
    with pytest.raises(upload.UploadError, match="missing cs_conv/optim.py"):
        upload.locate(target, tmp_path / "work", ["layers.py", "optim.py"])


# ---- defect 9: student files speak only of what students have ---------------------------------

def test_the_release_speaks_only_of_what_students_have(released):
    instructor_words = re.compile(r"solution fence|BEGIN SOLUTION|release tool|\bpytest\b|test suite"
                                  r"|make (test|release)|autograder/|course_tools", re.IGNORECASE)
    found = []
    for path in released.rglob("*"):
        if path.suffix in {".py", ".pyx", ".md", ".toml", ".txt"}:
            found += [f"{path.relative_to(released)}: {line.strip()}" for line in path.read_text().splitlines()
                      if instructor_words.search(line)]
    assert not found


# ---- defect 4: feedback shows written answers not graded yet as pending ------------------------

@pytest.mark.slow
def test_feedback_shows_ungraded_written_answers_as_pending(released):
    from course_tools.samples import write_partial

    course = released.parents[1]
    write_partial(released, course / "source" / "cnn", course / "submitted" / "partial" / "cnn")
    proc = run_nbgrader(course, "autograde", "cnn", "--student=partial")
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = run_nbgrader(course, "generate_feedback", "cnn", "--student=partial")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "not recognized by `MarkPending`" not in proc.stderr
    html = (course / "feedback" / "partial" / "cnn" / "01_vector_backprop.html").read_text()
    # The partial student answered one of notebook 01's two written questions: that answer waits for a
    # person (pending), the unanswered one scores 0 as nbgrader decides.
    assert html.count("Score: pending / 2.0") == 2  # the table of contents and the cell's heading
    assert "2.0 of these points pending: written answers not graded yet" in html
    assert "cs-conv-kernel-" not in html and str(course) not in html


@pytest.mark.slow
def test_make_release_fails_when_the_course_config_does_not_load(tmp_path):
    from course_tools.release import ReleaseError, make_release

    course = make_course(tmp_path / "course")
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + "raise RuntimeError('a typo in the config')\n")
    with pytest.raises(ReleaseError, match="ReleaseFiles did not run") as error:
        make_release(course)
    assert "a typo in the config" in str(error.value)


@pytest.mark.slow
def test_formgrader_renders_math_with_the_servers_own_mathjax(released, tmp_path):
    import socket
    import sqlite3
    import time
    import urllib.parse
    import urllib.request

    course = released.parents[1]
    if not (course / "autograded" / "blank").is_dir():
        shutil.copytree(released, course / "submitted" / "blank" / "cnn")
        assert run_nbgrader(course, "autograde", "cnn", "--student=blank").returncode == 0
    with sqlite3.connect(course / "gradebook.db") as db:
        [notebook_id] = db.execute("SELECT id FROM submitted_notebook LIMIT 1").fetchone()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path / "server.log", "w")
    server = subprocess.Popen([str(Path(sys.executable).with_name("jupyter")), "server", "--no-browser", "--allow-root",
                               f"--port={port}", "--ServerApp.ip=127.0.0.1", "--ServerApp.token=t"],
                              cwd=course, env={**nbgrader_env(), "HOME": str(tmp_path)}, stdout=log, stderr=log,
                              stdin=subprocess.DEVNULL)
    try:
        page_url = f"http://127.0.0.1:{port}/formgrader/submissions/{notebook_id}/"
        for _ in range(120):
            try:
                page = urllib.request.urlopen(page_url + "?token=t", timeout=5).read().decode()
                break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail((tmp_path / "server.log").read_text()[-3000:])
        [src] = re.findall(r'<script src="([^"]*MathJax[^"]*)"', page, re.IGNORECASE)
        assert not src.startswith(("http:", "https:", "//")) and src.endswith(",Safe")
        mathjax = urllib.parse.urljoin(page_url, src.split("?")[0])
        for url in (mathjax, urllib.parse.urljoin(mathjax, "config/Safe.js"),
                    urllib.parse.urljoin(mathjax, "config/TeX-AMS-MML_HTMLorMML-full.js")):
            assert urllib.request.urlopen(url + "?token=t", timeout=10).status == 200, url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
