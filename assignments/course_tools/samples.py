"""Four sample submissions, made from a release, for the demo and the end-to-end tests.

- ``solution``: the solved ``cs_conv`` and every written answer filled in;
- ``blank``: the release exactly as students receive it;
- ``partial``: a student who got most of it, with the realistic bugs in ``BUGS`` and the tasks in
  ``UNFINISHED`` left as stubs, and one written answer;
- ``hostile``: a student who attacks the grader (``hostile_files/``): reads and prints what it can
  find, writes marker files, tampers with the gradebook, leaves a daemon behind, loops, exhausts
  memory, monkeypatches numpy, forges grade cells and submits symbolic links.

``make_samples(course)`` writes them to ``course/submitted/<name>/cnn/`` (``paths.ASSIGNMENT``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from course_tools.fences import source_files, student_text
from course_tools.paths import ASSIGNMENT, GRADER, REPO, SOLVED

HOSTILE_FILES = Path(__file__).with_name("hostile_files")
MARKER = "HOSTILE_WAS_HERE"
SAMPLES = ("solution", "blank", "partial", "hostile")


@dataclass(frozen=True)
class SampleBug:
    """A realistic mistake of the sample students: ``old`` (found exactly once in ``function`` of ``path``)
    becomes ``new``; ``why`` says what it gets wrong."""

    path: str
    function: str
    old: str
    new: str
    why: str


BUGS = (
    SampleBug("cs_conv/layers.py", "relu_backward",
        "dx = np.where(x > 0, dout, 0)", "dx = np.where(x >= 0, dout, 0)",
        "lets the gradient through at x == 0"),
    SampleBug("cs_conv/layers.py", "softmax_loss",
        "shifted = x.astype(dtype, copy=False) - x.max(axis=1, keepdims=True)",
        "shifted = x.astype(dtype, copy=False)",
        "no max subtraction: overflows for large scores"),
    SampleBug("cs_conv/layers.py", "conv_backward_naive",
        "dxpad[n, c0:c0 + Cg, rows, cols] += dout[n, f, i, j] * w[f]",
        "dxpad[n, c0:c0 + Cg, rows, cols] = dout[n, f, i, j] * w[f]",
        "= instead of +=: overlapping windows overwrite each other"),
    SampleBug("cs_conv/layers.py", "avg_pool_backward_naive",
        "dxpad[n, c, rows, cols] += dout[n, c, i, j] / divisor",
        "dxpad[n, c, rows, cols] += dout[n, c, i, j] / (g.pool[0] * g.pool[1])",
        "divides by the full window even where ceil_mode clips it"),
    SampleBug("cs_conv/im2col_cython.pyx", "im2col_kernel",
        "i_lo, i_hi = inside(kh * dil_h - ph, sh, H, H_out)", "i_lo, i_hi = inside(kh - ph, sh, H, H_out)",
        "forgets the dilation (rows)"),
    SampleBug("cs_conv/im2col_cython.pyx", "im2col_kernel",
        "src = &x[n, c, i * sh + kh * dil_h - ph, 0] + (kw * dil_w - pw)",
        "src = &x[n, c, i * sh + kh - ph, 0] + (kw * dil_w - pw)",
        "forgets the dilation (rows)"),
)
# Tasks the partial student never got to: left exactly as the release has them.
UNFINISHED = ("adam", "max_pool_backward_fast")


def solved_sources() -> dict[str, str]:
    """Relative path -> text of every .py and .pyx file of the solved package."""
    return {str(path.relative_to(REPO)): path.read_text() for path in source_files(SOLVED)}


def plant(text: str, bug: SampleBug) -> str:
    """``text`` with ``bug.old`` replaced by ``bug.new`` inside ``bug.function`` (exactly once)."""
    match = re.search(rf"^(c?p?def|cdef)\b[^(\n]*\b{bug.function}\s*\(", text, flags=re.MULTILINE)
    if match is None:
        raise ValueError(f"{bug.path} has no function {bug.function}: update course_tools.samples.BUGS")
    end = re.search(r"^(?:c?p?def|cdef|class)\b", text[match.end():], flags=re.MULTILINE)
    stop = match.end() + (end.start() if end else len(text) - match.end())
    body = text[match.start():stop]
    if body.count(bug.old) != 1:
        raise ValueError(f"bug for {bug.function} in {bug.path}: expected exactly one {bug.old!r} in it; "
                         "the solved code changed, update course_tools.samples.BUGS")
    return text[:match.start()] + body.replace(bug.old, bug.new) + text[stop:]


def _copy_release(release: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(release, target)


def _answer_questions(folder: Path, source: Path, how_many: int | None) -> None:
    """Fill the written-answer cells with the source's model answers (the first ``how_many``)."""
    answered = 0
    for path in sorted(folder.glob("*.ipynb")):
        nb = json.loads(path.read_text())
        model = {cell["metadata"]["nbgrader"]["grade_id"]: cell["source"]
                 for cell in json.loads((source / path.name).read_text())["cells"]
                 if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and cell["cell_type"] == "markdown"}
        for cell in nb["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in model and (how_many is None or answered < how_many):
                text = "".join(model[grade_id]).replace("*Model answer (for graders).* ", "")
                cell["source"] = "My answer: " + text
                answered += 1
        path.write_text(json.dumps(nb, indent=1))


def write_solution(release: Path, source: Path, target: Path) -> None:
    _copy_release(release, target)
    for relative, text in solved_sources().items():
        (target / relative).write_text(student_text(text, relative, unfinished=()))
    _answer_questions(target, source, None)


def write_blank(release: Path, target: Path) -> None:
    _copy_release(release, target)


def write_partial(release: Path, source: Path, target: Path) -> None:
    _copy_release(release, target)
    sources = solved_sources()
    for relative, text in sources.items():
        text = student_text(text, relative, unfinished=UNFINISHED)
        for bug in (b for b in BUGS if b.path == relative):
            text = plant(text, bug)
        (target / relative).write_text(text)
    _answer_questions(target, source, 1)


def write_hostile(release: Path, target: Path) -> None:
    """The blank release plus the attacks in hostile_files/ (see its README)."""
    _copy_release(release, target)
    init = target / "cs_conv" / "__init__.py"
    attack = (HOSTILE_FILES / "attack.py").read_text()
    init.write_text(init.read_text() + "\n\n" + attack)
    layers = target / "cs_conv" / "layers.py"
    layers.write_text(layers.read_text() + "\n\n" + (HOSTILE_FILES / "sabotage.py").read_text())
    _forge_notebook(target / "01_vector_backprop.ipynb")
    # Links nbgrader follows when it copies the folder: RefuseLinks deletes them from its copy.
    os.symlink(GRADER / "reference.py", target / "cs_conv" / "answers.py")
    os.symlink("/", target / "root_link")


def _forge_notebook(path: Path) -> None:
    """Edit a grade cell to print full marks, forge two grade cells, delete another grade cell."""
    nb = json.loads(path.read_text())
    forged = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and cell["cell_type"] == "code":
            cell["source"] = "print('full marks please')\n100"
            cell["outputs"] = [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                "data": {"text/plain": "100"}}]
            forged.append(meta["grade_id"])
    fake = {"cell_type": "code", "execution_count": None, "id": "forged1", "outputs": [],
            "metadata": {"nbgrader": {"grade": True, "grade_id": "bonus_points", "locked": False,
                                      "points": 1000, "schema_version": 3, "solution": False, "task": False}},
            "source": "1000"}
    duplicate = {**fake, "id": "forged2", "metadata": {"nbgrader": {**fake["metadata"]["nbgrader"],
                                                                     "grade_id": forged[0], "points": 500}}}
    nb["cells"].insert(3, duplicate)
    nb["cells"].insert(3, fake)
    # Delete the last grade cell altogether: nbgrader adds it back.
    last = max(i for i, cell in enumerate(nb["cells"])
               if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == forged[-1])
    del nb["cells"][last]
    path.write_text(json.dumps(nb, indent=1))


def make_samples(course: Path, names: tuple[str, ...] = SAMPLES) -> dict[str, Path]:
    """Write the sample submissions into ``course/submitted``; return their folders."""
    release = course / "release" / ASSIGNMENT
    source = course / "source" / ASSIGNMENT
    folders = {}
    for name in names:
        target = course / "submitted" / name / ASSIGNMENT
        target.parent.mkdir(parents=True, exist_ok=True)
        if name == "solution":
            write_solution(release, source, target)
        elif name == "blank":
            write_blank(release, target)
        elif name == "partial":
            write_partial(release, source, target)
        elif name == "hostile":
            write_hostile(release, target)
        else:
            raise ValueError(f"unknown sample {name!r}; choose from {SAMPLES}")
        folders[name] = target
    return folders
