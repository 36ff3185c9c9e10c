"""The kernel that runs a submitted notebook while grading: in a scratch copy, inside the sandbox.

nbgrader's ``Execute`` runs every cell of every submitted notebook, and a submission's
``cs_conv`` is imported by those cells: that is arbitrary code, run by the grader. So
``SandboxedExecute`` (listed in ``nbgrader_config.py`` in place of ``Execute``) starts each
kernel through the autograder's own launcher, with the sandbox of ``course_tools.jail``:

- the kernel works in a size-capped tmpfs copy of the notebook's folder, never in nbgrader's
  output folder, so nothing it writes (or links) is read back by nbgrader or lands on the disk;
- it talks to nbgrader over IPC sockets in a size-capped tmpfs of their own, not TCP, so it can
  live in a network namespace with no network at all;
- as root on Linux: fresh namespaces whose root holds only the system and the interpreter (the
  repository, the course folder with the gradebook and other students, the grader: none of it
  exists in there), a uid of this grading process's own, a cgroup for memory and tasks. Where
  that is impossible the kernel does not start (its cells say why), unless ``CS_CONV_INSECURE=1``.

Every notebook has a wall-clock budget (``notebook_seconds``) on top of nbgrader's per-cell
time-out, and every submission one across its notebooks (``submission_seconds``): cells past it
do not run and say so, so a submission of many slow cells cannot hold grading for hours.

Nothing the kernel prints is trusted for grading anyway (``course_tools.verdicts``); the sandbox
keeps it from reading what it must not see (and echoing it into feedback) or changing the
gradebook, other submissions or the grader.

Re-execution is on request (``GradingMode.execute_notebooks``, ``--execute`` for
``python -m course_tools.grading``): since verdicts come from the autograder either way, a re-run
buys only fresh outputs for feedback, at most of the grading's cost. By default ``SubmittedOutputs``
(in place of nbgrader's ``ClearOutput``) keeps the outputs the student submitted, except where
they cannot belong to the cell nbgrader shows (a read-only cell whose source the student edited,
which ``OverwriteCells`` restores), and ``SandboxedExecute`` starts no kernel but puts a note at the
top of the notebook saying whose outputs they are. The later steps (output limits, verdicts,
``SanitiseStudentContent``) treat kept outputs exactly as a kernel's.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from contextlib import ExitStack
from functools import lru_cache
from pathlib import Path

from autograder.sandbox import host_tmpfs
from jupyter_client.manager import AsyncKernelManager
from nbformat import v4
from nbformat.notebooknode import from_dict
from nbgrader.preprocessors import ClearOutput, Execute
from traitlets import Bool, Integer
from traitlets.config import Configurable

from course_tools.jail import (
    IPC_BYTES,
    KERNEL_CPU_SECONDS,
    KERNEL_LIMITS,
    PYTHON,
    WORK_BYTES,
    kernel_sandbox,
    kernel_view,
    summary,
)
from course_tools.prebuild import seed_extension
from course_tools.verdicts import conversion_source_cells

# Environment variables a kernel may inherit; everything else (tokens, paths) stays out.
PASSED_ENV = ("NBGRADER_EXECUTION", "JPY_PARENT_PID", "JPY_SESSION_NAME", "LANG", "LC_ALL", "TERM",
              "PYDEVD_DISABLE_FILE_VALIDATION")
log = logging.getLogger(__name__)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager that starts its kernel in a scratch copy of its folder, in the sandbox."""

    # Every scratch folder made in this process; SandboxedExecute removes them after each notebook,
    # in case a kernel that died took the manager's own cleanup with it.
    scratch_folders: list[tuple[Path, ExitStack]] = []

    async def _async_pre_start_kernel(self, **kw):
        self.sandbox = kernel_sandbox()
        if self.sandbox.unusable:
            raise RuntimeError(self.sandbox.unusable)
        self._scratch = Path(tempfile.mkdtemp(prefix="cs-conv-kernel-"))
        self._mounts = ExitStack()
        SandboxedKernelManager.scratch_folders.append((self._scratch, self._mounts))
        os.chmod(self._scratch, 0o755)
        source = Path(kw.get("cwd") or os.getcwd())
        self._work = self._scratch / "work"
        # symlinks=True copies a link as a link: it is never followed on the grader's side.
        shutil.copytree(source, self._work, symlinks=True,
                        ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"))
        _seed_matplotlib(self._work / ".matplotlib")
        seed_extension(self._work / "cs_conv")
        identity = self.sandbox.identity
        if identity is not None and not self.sandbox.isolated:  # it works in this very folder
            for folder, dirs, files in os.walk(self._work):
                for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
                    os.lchown(name, identity.uid, identity.gid)
        ipc = self._mounts.enter_context(host_tmpfs(self._scratch / "ipc", IPC_BYTES, identity))
        self.transport = "ipc"
        self.ip = str(ipc / "kernel")
        self.connection_file = str(self._scratch / "connection.json")
        kw["cwd"] = str(self._work)
        self._view = kernel_view(self.sandbox, self._scratch, self._work, [Path(self.connection_file)], [ipc])
        self._launch_env = self._kernel_env(kw.get("env") or os.environ)
        kw["env"] = self._launch_env
        return await super()._async_pre_start_kernel(**kw)

    def _kernel_env(self, parent: dict[str, str]) -> dict[str, str]:
        env = {key: parent[key] for key in PASSED_ENV if key in parent}
        env.update({
            # The kernel's parent in the sandbox is not this process; naming one keeps ipykernel from
            # printing its stand-alone banner (it polls for its parent only by PID).
            "JPY_PARENT_PID": str(os.getpid()),
            "PATH": os.pathsep.join([str(Path(self._view.python).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": self._view.home, "MPLCONFIGDIR": f"{self._view.home}/.matplotlib",
            "IPYTHONDIR": f"{self._view.home}/.ipython", "PYTHONNOUSERSITE": "1",
            "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        })
        return env

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        # Called after the connection file is written: the kernel's user must be able to read it.
        os.chmod(self.connection_file, 0o644)
        if cmd and os.path.abspath(cmd[0]) == PYTHON:
            cmd[0] = self._view.python
        view = self._view
        return self.sandbox.command(cmd, [], self._scratch, view.binds, KERNEL_LIMITS.memory_bytes,
                                    KERNEL_CPU_SECONDS, env=self._launch_env, work=(self._work, view.home, WORK_BYTES),
                                    cwd=view.home, log=self._scratch / "output.log")

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        scratch = getattr(self, "_scratch", None)
        if scratch is not None and not restart:
            _remove_scratch(scratch, self._mounts)


def _remove_scratch(scratch: Path, mounts: ExitStack) -> None:
    mounts.close()  # unmount the sockets' tmpfs first: rmtree must not descend into a mount
    shutil.rmtree(scratch, ignore_errors=True)


@lru_cache(maxsize=1)
def _font_cache() -> Path | None:
    """The grader's own matplotlib font cache, so that kernels need not rebuild it (seconds each)."""
    import matplotlib
    from matplotlib import font_manager  # noqa: F401 - builds the cache if it is missing

    found = sorted(Path(matplotlib.get_cachedir()).glob("fontlist-*.json"))
    return found[-1] if found else None


def _seed_matplotlib(folder: Path) -> None:
    folder.mkdir(exist_ok=True)
    cache = _font_cache()
    if cache is not None:
        shutil.copy(cache, folder / cache.name)


class GradingMode(Configurable):
    """Whether grading re-runs every submitted notebook; one switch for every step that depends on it.

    On by default, as nbgrader's own ``ClearOutput`` and ``Execute`` behave; the course's
    ``nbgrader_config.py`` turns it off, and ``nbgrader autograde cnn
    --GradingMode.execute_notebooks=True`` (or ``course_tools.grading --execute``) on again.
    """

    execute_notebooks = Bool(True, help="Re-run every submitted notebook in a sandboxed kernel (fresh outputs); "
                                         "False keeps the outputs the student submitted. Scores are the "
                                         "autograder's either way.").tag(config=True)


# The first cell of a notebook graded without re-running it: whose outputs the reader sees.
KEPT_OUTPUTS_NOTE = (
    "**Grader's note: the outputs in this notebook are the ones you submitted**, not re-run by the grader "
    "(cleaned of scripts and active HTML). Your points come from the autograder, which ran your `cs_conv` "
    "on its own inputs in a sandbox: only the outputs that begin \"Autograder verdict\" are the grader's.")


class SubmittedOutputs(GradingMode, ClearOutput):
    """nbgrader's ``ClearOutput`` when notebooks are re-run; otherwise keep the submitted outputs.

    Kept, except in cells whose outputs cannot belong to what feedback shows: a read-only or
    grade cell whose source differs from the release (``OverwriteCells``, later, puts the release's
    source back, and ``ApplyVerdicts`` replaces a grade cell's outputs anyway). Runs after
    ``StripForgedCells``, so every ``grade_id`` left names the source cell it claims.
    """

    def preprocess(self, nb, resources):
        if self.execute_notebooks:
            return super().preprocess(nb, resources)
        cells = conversion_source_cells(resources) or {}
        for cell in nb.cells:
            name = cell.metadata.get("nbgrader", {}).get("grade_id")
            source = cells.get(name)
            if cell.cell_type != "code" or source is None:
                continue
            if source.nbgrader["grade"] or (source.nbgrader["locked"] and cell.source != source.source):
                cell.outputs = []
                cell.execution_count = None
        return nb, resources


class SandboxedExecute(GradingMode, Execute):
    """nbgrader's ``Execute``, with every kernel sandboxed, its output capped, its time budgeted,
    and its death survived.

    nbgrader's own ``Execute`` lets a kernel that dies (a student's ``os._exit``, a segfault in
    their Cython) fail the whole notebook, which then gets no grades at all; here the cells run
    so far keep their outputs, the cell that killed the kernel says so, and grading goes on.
    """

    sandbox = Bool(True, help="Run kernels in the sandbox (False: nbgrader's own kernel manager)").tag(config=True)
    max_output_bytes = Integer(4_000_000, help="Output kept per cell while it runs; the rest is dropped").tag(
        config=True)
    notebook_seconds = Integer(600, help="Wall clock for all cells of one notebook").tag(config=True)
    submission_seconds = Integer(1500, help="Wall clock for all notebooks of one submission").tag(config=True)

    # When each submission's first notebook started (one nbgrader process grades many, one at a time).
    _submission_started: dict[str, float] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.sandbox:
            self.kernel_manager_class = SandboxedKernelManager
        self._output_bytes: dict[int, int] = {}
        self._deadline = 0.0
        self._budget = ""

    def preprocess(self, nb, resources=None, km=None):
        if not self.execute_notebooks:
            self.log.info("Kept the submitted outputs of %s (not re-run)",
                          (resources or {}).get("nbgrader", {}).get("notebook", "notebook"))
            nb.cells.insert(0, v4.new_markdown_cell(KEPT_OUTPUTS_NOTE))
            return nb, resources
        if self.sandbox:
            self.log.info("Sandbox: %s", summary())
        self._output_bytes = {}
        start = time.monotonic()
        student = str((resources or {}).get("nbgrader", {}).get("student", ""))
        first = self._submission_started.setdefault(student, start)
        self._deadline, self._budget = min(
            (start + self.notebook_seconds, f"the notebook's time budget ({self.notebook_seconds} s)"),
            (first + self.submission_seconds, f"the submission's time budget ({self.submission_seconds} s)"))
        self.timeout_func = self._cell_timeout
        try:
            nb, resources = super().preprocess(nb, resources, km=km)
            self.log.info("Executed %s in %.2f s", (resources or {}).get("nbgrader", {}).get("notebook", "notebook"),
                          time.monotonic() - start)
            return nb, resources
        except Exception as error:  # noqa: BLE001 - DeadKernelError and kin: keep what ran
            return self._stopped(nb, resources, error)
        finally:
            while SandboxedKernelManager.scratch_folders:
                _remove_scratch(*SandboxedKernelManager.scratch_folders.pop())

    def _cell_timeout(self, cell) -> int:
        """nbgrader's per-cell time-out, shortened to what is left of the budget."""
        left = int(self._deadline - time.monotonic()) + 1
        return max(1, min(self.timeout or left, left))

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and time.monotonic() >= self._deadline:
            cell.outputs = [_not_run(f"{self._budget} was used up")]
            cell.execution_count = None
            return cell, resources
        return super().preprocess_cell(cell, resources, index)

    def _stopped(self, nb, resources, error):
        """Mark the first cell that did not run, and return the notebook as far as it got."""
        self.log.warning("The kernel stopped (%s: %s); the remaining cells do not run", type(error).__name__, error)
        for cell in nb.cells:
            if cell.cell_type == "code" and cell.get("execution_count") is None and not cell.get("outputs"):
                cell.outputs = [_not_run(f"the kernel stopped earlier ({type(error).__name__}: {error})")]
                break
        return nb, resources

    def output(self, outs, msg, display_id, cell_index):
        # Count what the kernel sends for this cell; past the budget, keep one notice and drop the rest
        # (otherwise a print loop fills the grader's memory until the cell times out).
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        if used > self.max_output_bytes:
            return None
        if used + size > self.max_output_bytes:
            notice = f"\n... output stopped: more than {self.max_output_bytes} bytes ...\n"
            return super().output(outs, {**msg, "msg_type": "stream",
                                         "content": {"name": "stdout", "text": notice}}, None, cell_index)
        return super().output(outs, msg, display_id, cell_index)


def _not_run(why: str):
    return from_dict({"output_type": "error", "ename": "KernelStopped", "evalue": f"not run: {why}",
                      "traceback": [f"KernelStopped: not run: {why}"]})
