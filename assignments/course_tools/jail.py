"""The autograder's one sandbox, as notebook kernels use it: their limits, folders and command.

Kernels start through the same ``autograder/launcher.py`` as the grader's checks and builds,
with the same ``Sandbox`` (``autograder.sandbox``): as root on Linux, a uid of this grading
process's own (``claim_uid``: never ``nobody``, which every process on the machine shares), a
cgroup bounding the kernel's memory and tasks as a whole, fresh namespaces with a root holding
only the system, the interpreter (read-only) and the kernel's connection file, a size-capped
tmpfs working copy of the notebook's folder and a size-capped tmpfs for its sockets (so nothing
on the host disk is writable). Where that isolation is impossible the sandbox refuses, unless
``CS_CONV_INSECURE=1`` says to run kernels with resource limits only (as the instructor's own user).
"""

from __future__ import annotations

import os
import sys
import sysconfig
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from autograder.limits import GiB, Limits, MiB
from autograder.sandbox import Bind, Sandbox, default_identity, interpreter

from course_tools.paths import REPO

# The interpreter by its environment's path (not the symlink's target): it must find its venv.
PYTHON = os.path.abspath(sys.executable)
# A kernel imports numpy, matplotlib and IPython and runs a small ConvNet's training.
KERNEL_LIMITS = Limits(memory_bytes=3 * GiB, processes=64, file_bytes=256 * MiB, tmp_bytes=256 * MiB,
                       open_files=1024)
KERNEL_CPU_SECONDS = 900
WORK_BYTES = 768 * MiB  # the kernel's working copy of the notebook's folder
IPC_BYTES = 1 * MiB  # the kernel's sockets, nothing else
INSECURE = "CS_CONV_INSECURE"
VENV_INSIDE = "/opt/venv"  # where a kernel finds the interpreter's environment
HOME_INSIDE = "/home/student"  # where a kernel finds its copy of the notebook's folder


@cache
def kernel_sandbox() -> Sandbox:
    """The sandbox every kernel of this process starts in (probed once)."""
    return Sandbox(KERNEL_LIMITS, default_identity(), insecure=os.environ.get(INSECURE) == "1")


def summary() -> str:
    """One line for the grading log: how kernels are confined here."""
    sandbox = kernel_sandbox()
    if sandbox.unusable:
        return f"kernels cannot start: {sandbox.unusable}"
    return "kernels: " + "; ".join(sandbox.protections.summary(KERNEL_LIMITS))


@dataclass(frozen=True)
class KernelView:
    """What the kernel is told: its interpreter, its folder, and the binds that make them so."""

    python: str
    home: str
    binds: list[Bind]


def kernel_view(sandbox: Sandbox, scratch: Path, work: Path, readable: list[Path], writable: list[Path]) -> KernelView:
    """The system and the interpreter read-only, the kernel's own files, and nothing that names this machine.

    In namespaces the environment appears at ``/opt/venv`` (its ``bin`` holding only the interpreter,
    its ``pyvenv.cfg`` only what Python reads, the files that record where it was installed from
    emptied) and the notebook's folder at ``/home/student``: the kernel sees neither the repository's
    path nor the grader's scratch folder. Without namespaces it runs where it is.
    """
    if not sandbox.isolated:
        return KernelView(PYTHON, str(work), [])
    binds = sandbox.binds([], None, None)
    python = str(interpreter())
    environment = Path(os.path.realpath(sys.prefix))
    if environment != Path(os.path.realpath(sys.base_prefix)):
        view = scratch / "venv"
        (view / "bin").mkdir(parents=True)
        for name in ("python", "python3", f"python{sys.version_info.major}.{sys.version_info.minor}"):
            (view / "bin" / name).symlink_to(python)
        (view / "pyvenv.cfg").write_text(f"home = {Path(python).parent}\ninclude-system-site-packages = false\n"
                                         f"version = {'.'.join(map(str, sys.version_info[:3]))}\n")
        (view / "empty").write_text("")
        binds += [Bind(str(environment), VENV_INSIDE, "ro"), Bind(str(view / "bin"), f"{VENV_INSIDE}/bin", "ro"),
                  Bind(str(view / "pyvenv.cfg"), f"{VENV_INSIDE}/pyvenv.cfg", "ro")]
        binds += [Bind(str(view / "empty"), f"{VENV_INSIDE}/{path.relative_to(environment)}", "ro")
                  for path in install_records(environment)]
        python = f"{VENV_INSIDE}/bin/python"
    binds += [Bind(str(path), str(path), "ro") for path in readable]
    binds += [Bind(str(path), str(path), "rw") for path in writable]
    return KernelView(python, HOME_INSIDE, binds)


def install_records(environment: Path) -> list[Path]:
    """The environment's files that say where a package was installed from (an editable install of
    this kit names the repository): path configuration, editable finders, ``direct_url.json``."""
    site = Path(sysconfig.get_path("purelib", vars={"base": str(environment), "platbase": str(environment)}))
    found = [*site.glob("*.pth"), *site.glob("__editable__*"), *site.glob("*.dist-info/direct_url.json")]
    return sorted(path for path in found if path.is_file() and str(REPO) in path.read_text(errors="replace"))
