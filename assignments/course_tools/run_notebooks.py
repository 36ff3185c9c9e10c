"""Execute notebooks top to bottom and report errors, anything on stderr, and the time each took.

    python -m course_tools.run_notebooks [NOTEBOOK ...]

With no arguments, runs every source notebook against the solved kit (the repository root goes
first on the kernel's ``sys.path``), which is how ``tests/test_course_notebooks.py`` proves that
each one runs clean. Exit status 1 if any cell errs or writes to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

from course_tools.paths import REPO, SOURCE


@dataclass
class RunResult:
    path: Path
    seconds: float
    errors: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    notebook: nbformat.NotebookNode | None = None

    @property
    def clean(self) -> bool:
        return not self.errors and not self.stderr


def run_notebook(path: Path, *, cwd: Path | None = None, env: dict[str, str] | None = None,
                 timeout: int = 300) -> RunResult:
    """Run every cell of ``path`` in a fresh kernel whose working directory is ``cwd``.

    The kernel talks over Unix sockets in a private folder (``ipc``), not TCP on localhost, so other
    users on the machine cannot reach it, and ipykernel has no unencrypted-TCP warning to print.
    """
    nb = nbformat.read(path, as_version=4)
    kernel_env = {**os.environ, **(env or {})}
    with tempfile.TemporaryDirectory(prefix="cs-conv-kernel-") as sockets:
        manager = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"))
        client = NotebookClient(nb, km=manager, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(cwd or path.parent)}})
        start = time.perf_counter()
        try:
            client.execute(env=kernel_env)
        finally:  # a kernel manager handed in is the caller's to shut down
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)
    result = RunResult(path, time.perf_counter() - start, notebook=nb)
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                result.errors.append(f"cell {index}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                result.stderr.append(f"cell {index}: {output.text.strip()[:500]}")
    return result


def solved_kit_env() -> dict[str, str]:
    """Kernel environment in which ``import cs_conv`` finds the repository's solved kit."""
    paths = [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    return {"PYTHONPATH": os.pathsep.join(paths), "PYTHONWARNINGS": "default"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(SOURCE.glob("*.ipynb"))
    failed = False
    for path in paths:
        result = run_notebook(path, env=solved_kit_env())
        status = "clean" if result.clean else "FAILED"
        print(f"{path.name}: {result.seconds:.1f} s, {status}")
        for line in result.errors + result.stderr:
            print("   ", line)
        failed |= not result.clean
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
