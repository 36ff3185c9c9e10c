# nbgrader settings for the cs-conv course: one assignment, "cnn", graded by the sandboxed autograder.
#
# Run nbgrader from this folder (the Makefile's release, grade and gradescope targets do). Another
# course folder (the demo's) can reuse every setting with
#     load_subconfig("<repository>/assignments/nbgrader_config.py")
#     c.CourseDirectory.root = "<that folder>"

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
TEMPLATES = HERE / "course_tools" / "templates"
for path in (str(REPO), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)

import nbgrader  # noqa: E402
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.converters import GenerateAssignment, GenerateFeedback  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties,
    DeduplicateIds,
    IgnorePattern,
    LimitOutput,
    OverwriteCells,
    OverwriteKernelspec,
    SaveAutoGrades,
)

from course_tools.feedback_exporter import FeedbackExporter  # noqa: E402
from course_tools.kernel import SandboxedExecute, SubmittedOutputs  # noqa: E402
from course_tools.metadata_check import CheckCellMetadataSchemaOnce  # noqa: E402
from course_tools.nofollow_copy import RefuseLinks, SafeCollect  # noqa: E402
from course_tools.pending import MarkPending  # noqa: E402
from course_tools.release import NOT_SUBMITTED, ReleaseFiles  # noqa: E402
from course_tools.sanitise import SanitiseStudentContent  # noqa: E402
from course_tools.scores import GradesCsv  # noqa: E402
from course_tools.verdicts import (  # noqa: E402
    ApplyVerdicts,
    LimitOutputBytes,
    RestoreMissingCells,
    RunAutograder,
    StripForgedCells,
)

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

c.CourseDirectory.root = str(HERE)
c.CourseDirectory.course_id = "cs-conv"
# What a student's folder may hold besides their work (a virtual environment, build products, the
# upload zip): never collected, copied or graded. The release's own nbgrader_config.py says the same.
c.CourseDirectory.ignore = NOT_SUBMITTED

# Students edit cs_conv/ and submit it beside the notebooks. The source folder holds notebooks only
# (solved code must never sit there), so nothing would overwrite these anyway; the list makes sure.
c.Autograde.exclude_overwriting = {
    "cnn": sorted(str(path.relative_to(REPO)) for path in (REPO / "cs_conv").rglob("*")
                  if path.suffix in {".py", ".pyx"})
}

# The student release (nbgrader generate_assignment, formgrader's Generate button, make release):
# nbgrader's own steps, in nbgrader's order, then ReleaseFiles, which writes the stubbed cs_conv,
# packaging and data/ beside the notebooks and scans everything for leaks. It comes last so that it
# scans each notebook as nbgrader writes it.
c.GenerateAssignment.preprocessors = [*GenerateAssignment.preprocessors.default(), ReleaseFiles]

# Every grade cell is re-added if a student deleted it, and restored if they edited it.
c.OverwriteCells.add_missing_cells = True

# Re-running submitted notebooks: off by default. Scores come from the autograder either way; a re-run
# only gives feedback fresh outputs, at most of the grading's cost. Off, each notebook keeps the outputs
# the student submitted (sanitised like a kernel's, and headed by a note saying whose they are).
# On for one run: nbgrader autograde cnn --GradingMode.execute_notebooks=True, or
# python -m course_tools.grading --execute.
c.GradingMode.execute_notebooks = False

# Execution of submitted notebooks (when re-run): per-cell timeout, output limits.
c.Execute.timeout = 180
c.Execute.interrupt_on_timeout = True
c.LimitOutput.max_lines = 300
c.LimitOutput.max_traceback = 60
c.LimitOutputBytes.max_bytes = 2_000_000

# The autograder. Each submission's results.json is kept in verdicts/ beside the gradebook.
c.RunAutograder.command = [sys.executable, "-m", "autograder"]
c.RunAutograder.timeout = 900

# nbgrader collect copies students' submissions out of the exchange without following a link.
c.ExchangeFactory.collect = SafeCollect

# Sanitizing a submitted notebook, in order. RefuseLinks comes first: nbgrader has just copied the
# submission into autograded/, following links, and it deletes from that copy whatever came through a
# link (or a hard link, or a special file) before the autograder or a kernel can read it.
# StripForgedCells comes next, before any step that reads nbgrader metadata: DeduplicateIds,
# OverwriteCells and CheckCellMetadata raise on metadata a student forged, or trust it.
# RestoreMissingCells must come before OverwriteCells, whose add_missing_cells (nbgrader 0.9)
# raises KeyError when a read-only cell precedes a deleted grade cell. SubmittedOutputs is nbgrader's
# ClearOutput when notebooks are re-run; otherwise it keeps the submitted outputs except in grade cells
# and in read-only cells whose source OverwriteCells is about to put back. CheckCellMetadataSchemaOnce
# is nbgrader's CheckCellMetadata, checking nbgrader's schema against JSON Schema's once per process
# instead of once per cell (course_tools/metadata_check.py); here and at the end of autograding.
c.Autograde.sanitize_preprocessors = [
    RefuseLinks,
    StripForgedCells,
    SubmittedOutputs,
    DeduplicateIds,
    OverwriteKernelspec,
    RestoreMissingCells,
    OverwriteCells,
    CheckCellMetadataSchemaOnce,
]

# Autograding, in order. The kernel's own outputs are never trusted:
# - RunAutograder grades the submission's files before any of its kernels runs;
# - SandboxedExecute runs the notebook in a jailed kernel, in a scratch copy of the folder (when
#   re-running; otherwise it only heads the notebook with a note that the outputs are the student's);
# - ApplyVerdicts, after the output limits and before SaveAutoGrades reads the scores, replaces
#   every grade cell's outputs by the autograder's verdict and points;
# - SanitiseStudentContent makes the autograded notebook's HTML inert (formgrader renders it in
#   the instructor's Jupyter origin), after SaveAutoGrades, which compares markdown answers
#   with their release checksums and would take a rewritten unanswered cell for an answer.
c.Autograde.autograde_preprocessors = [
    RunAutograder,
    SandboxedExecute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    LimitOutputBytes,
    ApplyVerdicts,
    SaveAutoGrades,
    SanitiseStudentContent,
    AssignLatePenalties,
    CheckCellMetadataSchemaOnce,
]

# Every HTML page made with this configuration (generate_feedback, formgrader started from this
# folder) sanitises again while rendering: a notebook autograded before the sanitiser existed, or
# edited since, is made inert too.
c.HTMLExporter.preprocessors = [SanitiseStudentContent]

# Feedback (generate_feedback): nbgrader's steps, then MarkPending, and the course's copy of nbgrader's
# feedback template, which shows grades that wait for a person as pending rather than 0, and loads no
# MathJax: feedback files travel alone (nbgrader release_feedback copies the .html files only), so
# their math is MathML, written by SanitiseStudentContent (course_tools/mathml.py).
c.GenerateFeedback.preprocessors = [*GenerateFeedback.preprocessors.default(), MarkPending]
# nbconvert's HTMLExporter, without the BeautifulSoup pass over each finished page (its cost: see the module).
c.GenerateFeedback.exporter_class = FeedbackExporter
c.GenerateFeedback.HTMLExporter.template_name = "cs_conv_feedback"
c.GenerateFeedback.HTMLExporter.extra_template_basedirs = [str(TEMPLATES)]

# formgrader renders submissions with the course's copy of its template, which loads MathJax (with its
# Safe extension) from the Jupyter server's own copy (jupyter-server-mathjax), not a CDN: it typesets
# what the sanitiser could not turn into MathML, without a network.
c.HTMLExporter.template_name = "cs_conv_formgrade"
# formgrader's own templates (its handlers.template_path, whose import is slow): as a base folder for the
# template chain, and as a search path for the "formgrade/index.html.j2" that the course's copy extends.
FORMGRADER_TEMPLATES = str(Path(nbgrader.__file__).parent / "server_extensions" / "formgrader" / "templates")
c.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), FORMGRADER_TEMPLATES]
c.HTMLExporter.extra_template_paths = [FORMGRADER_TEMPLATES]

# nbgrader export (make grade runs it): grades.csv with autograded, manual (and its pending part) and
# total points in columns of their own, rounded to 2 places (course_tools/scores.py).
c.ExportApp.plugin_class = GradesCsv

# Environment switches: CS_CONV_NO_SANDBOX=1 runs kernels without the jail (debugging only).
if os.environ.get("CS_CONV_NO_SANDBOX") == "1":
    c.SandboxedExecute.sandbox = False
