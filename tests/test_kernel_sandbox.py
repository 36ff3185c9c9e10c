"""Notebook kernels run in the autograder's one sandbox: each attack a student's notebook could make.

Each test executes a small notebook through ``SandboxedExecute``, the preprocessor nbgrader's
``autograde`` runs (``nbgrader_config.py``), and asserts containment: what the cell could see or
change, and that nothing of the kernel's is left on the machine afterwards.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from autograder_helpers import processes_of
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "assignments"))

from course_tools import jail, kernel  # noqa: E402
from course_tools.jail import IPC_BYTES, WORK_BYTES, kernel_sandbox  # noqa: E402
from course_tools.kernel import SandboxedExecute  # noqa: E402

from autograder.sandbox import SANDBOX_UIDS, Sandbox, claim_uid  # noqa: E402

pytestmark = pytest.mark.slow
needs_isolation = pytest.mark.skipif(not kernel_sandbox().isolated,
                                     reason="kernels are isolated only as root on Linux with namespaces")


def execute(tmp_path: Path, *sources: str, student: str = "student", **traits) -> list[str]:
    """Run one notebook of ``sources`` in a sandboxed kernel; each cell's text output (or error)."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    (work / "mine.txt").write_text("student file")
    notebook = new_notebook(cells=[new_code_cell(source) for source in sources])
    executor = SandboxedExecute(timeout=traits.pop("timeout", 120), **traits)
    notebook, _ = executor.preprocess(notebook, {"metadata": {"path": str(work)}, "nbgrader": {"student": student}})
    texts = []
    for cell in notebook.cells:
        parts = [o.get("text", "") if o.output_type == "stream" else o.get("evalue", "") for o in cell.outputs]
        texts.append("".join(parts).strip())
    return texts


def descends_from_us(pid: int) -> bool:
    while pid > 1:
        if pid == os.getpid():
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return False
    return False


def our_sandbox_cgroups() -> list[str]:
    """Sandbox cgroups (named ``cs-conv-sandbox-<supervisor pid>-...``) that this test process started
    and that are still there (other processes on the machine may be grading meanwhile)."""
    left = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in set(controllers.split(",")) & {"memory", "pids"}:
            folder = Path("/sys/fs/cgroup") / controller / path.lstrip("/")
            for entry in folder.glob("cs-conv-sandbox-*"):
                supervisor = entry.name.split("-")[3]
                if supervisor.isdigit() and descends_from_us(int(supervisor)):
                    left.append(entry.name)
    return left


@needs_isolation
def test_a_kernel_sees_only_its_own_copy_as_its_own_user(tmp_path):
    probe = f"""
import json, os, socket
seen = {{'uid': os.getuid(), 'pid': os.getpid(), 'mine': open('mine.txt').read(),
        'repository': os.path.exists({str(REPO / "cs_conv")!r}), 'grader': os.path.exists({str(REPO / "autograder")!r}),
        'mountinfo': os.path.exists('/proc/self/mountinfo'), 'host_tmp': os.listdir('/tmp')}}
import glob, site, sys
texts = [*os.environ.values(), *sys.path, sys.executable, sys.prefix, os.getcwd()]
for folder in site.getsitepackages():
    for pattern in ('/*.pth', '/__editable__*', '/*/direct_url.json'):
        for path in glob.glob(folder + pattern):
            texts.append(open(path, errors='replace').read())
texts.append(open(sys.prefix + '/pyvenv.cfg').read())
seen['names_this_machine'] = [t for t in texts if {str(REPO)!r} in t or {str(Path(sys.prefix).resolve())!r} in t]
try:
    socket.create_connection(('1.1.1.1', 53), timeout=2)
    seen['network'] = True
except OSError:
    seen['network'] = False
print(json.dumps(seen))
"""
    seen = json.loads(execute(tmp_path, probe)[0])
    assert seen["mine"] == "student file" and seen["pid"] == 1
    assert seen["uid"] == claim_uid() and seen["uid"] in SANDBOX_UIDS  # this process's own, not nobody
    assert not seen["repository"] and not seen["grader"] and not seen["network"] and not seen["mountinfo"]
    assert seen["names_this_machine"] == []
    assert processes_of(seen["uid"]) == [] and our_sandbox_cgroups() == []


def test_grading_processes_never_share_a_kernel_uid():
    # RLIMIT_NPROC counts per uid across namespaces: a shared uid lets one kernel starve another.
    mine = claim_uid()
    other = subprocess.run([sys.executable, "-c", "from autograder.sandbox import claim_uid; print(claim_uid())"],
                           capture_output=True, text=True, cwd=REPO, check=True)
    assert int(other.stdout) != mine


@needs_isolation
def test_writing_past_the_quotas_fills_capped_memory_not_the_disk(tmp_path):
    fill = """
import os
def fill(folder):
    written = 0
    try:
        with open(os.path.join(folder, 'filler'), 'wb') as handle:
            while written < 2 * 2**30:
                handle.write(b'x' * 2**20)
                handle.flush()
                written += 2**20
    except OSError as error:
        written = f'{written >> 20} MiB then {type(error).__name__}'
    info = os.statvfs(folder)
    return f'{written} on {info.f_blocks * info.f_frsize}'
from ipykernel.kernelapp import IPKernelApp
print(fill('.'), '|', fill(os.path.dirname(IPKernelApp.instance().ip)), '|', fill('/tmp'))
"""
    work, ipc, private_tmp = (part.strip() for part in execute(tmp_path, fill)[0].split("|"))
    # Each writable folder is a filesystem of exactly its cap (a tmpfs: memory, charged to the
    # kernel's cgroup), and the writes stopped there.
    assert work.endswith(f"on {WORK_BYTES}") and "OSError" in work
    assert ipc.endswith(f"on {IPC_BYTES}") and "OSError" in ipc
    assert private_tmp.endswith(f"on {jail.KERNEL_LIMITS.tmp_bytes}") and "OSError" in private_tmp
    assert not list(Path("/tmp").glob("cs-conv-kernel-*/ipc/filler"))


@needs_isolation
def test_a_fork_bomb_and_a_memory_hog_in_a_cell_leave_nothing_behind(tmp_path):
    bomb = """
import os
children = 0
try:
    while children < 10000:
        if os.fork() == 0:
            import time
            time.sleep(600)
            os._exit(0)
        children += 1
except OSError as error:
    print('stopped after', children, type(error).__name__)
"""
    hog = """
import os
for _ in range(3):
    if os.fork() == 0:
        import numpy as np
        hold = np.ones(2**30 // 8 * 2)
        import time
        time.sleep(600)
print('forked')
"""
    outputs = execute(tmp_path, bomb, hog, "print('still alive')")
    stopped = int(outputs[0].split()[2])
    assert stopped < jail.KERNEL_LIMITS.processes  # the cgroup's task limit, not the machine's
    assert processes_of(claim_uid()) == [] and our_sandbox_cgroups() == []


def test_cells_past_the_notebook_budget_do_not_run(tmp_path):
    # 60 cells of one second each, in a 15 s budget: most of them must not run.
    outputs = execute(tmp_path, *["import time\ntime.sleep(1)\nprint('slept')"] * 60, notebook_seconds=15,
                      student=f"sleepy-{tmp_path.name}")
    not_run = [text for text in outputs if "not run: the notebook's time budget (15 s) was used up" in text]
    assert outputs[0] == "slept" and len(not_run) >= 40


def test_the_submission_budget_spans_its_notebooks(tmp_path):
    slow = f"slow-{tmp_path.name}"
    first = execute(tmp_path, "import time\ntime.sleep(3)", "print('late')", student=slow, submission_seconds=2)
    second = execute(tmp_path, "print('next notebook')", student=slow, submission_seconds=2)
    other = execute(tmp_path, "print('another student')", student=f"fresh-{tmp_path.name}")
    assert "submission's time budget (2 s) was used up" in first[1]
    assert "submission's time budget (2 s) was used up" in second[0]
    assert other == ["another student"]


def test_without_isolation_kernels_refuse_to_start_unless_insecure(tmp_path, monkeypatch):
    weak = Sandbox(jail.KERNEL_LIMITS, None, namespaces=False)
    monkeypatch.setattr(kernel, "kernel_sandbox", lambda: weak)
    outputs = execute(tmp_path, "print('ran')")
    assert "refusing to grade" in outputs[0] and "--insecure" in outputs[0]
    insecure = Sandbox(jail.KERNEL_LIMITS, None, namespaces=False, insecure=True)
    monkeypatch.setattr(kernel, "kernel_sandbox", lambda: insecure)
    assert execute(tmp_path, "print('ran')") == ["ran"]
