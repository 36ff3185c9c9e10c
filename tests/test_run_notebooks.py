"""course_tools/run_notebooks.py: the instructor's headless run of the source notebooks."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_a_headless_run_is_clean_and_prints_no_kernel_warnings():
    # Over TCP, ipykernel warns on every start that traffic is unencrypted; over ipc it has no reason to,
    # and a kernel shut down by its runner never reports its parent gone.
    proc = subprocess.run([sys.executable, "-m", "course_tools.run_notebooks",
                           str(REPO / "assignments" / "source" / "cnn" / "01_vector_backprop.ipynb")],
                          cwd=REPO / "assignments", capture_output=True, text=True, timeout=600,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "01_vector_backprop.ipynb" in proc.stdout and "clean" in proc.stdout
    assert "WARNING" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
