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
from functools import cache
from pathlib import Path

from autograder.limits import GiB, Limits, MiB
from autograder.sandbox import Bind, Sandbox, default_identity

# The interpreter by its environment's path (not the symlink's target): it must find its venv.
PYTHON = os.path.abspath(sys.executable)
# A kernel imports numpy, matplotlib and IPython and runs a small ConvNet's training.
KERNEL_LIMITS = Limits(memory_bytes=3 * GiB, processes=64, file_bytes=256 * MiB, tmp_bytes=256 * MiB,
                       open_files=1024)
KERNEL_CPU_SECONDS = 900
WORK_BYTES = 768 * MiB  # the kernel's working copy of the notebook's folder
IPC_BYTES = 1 * MiB  # the kernel's sockets, nothing else
INSECURE = "CS_CONV_INSECURE"


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


def kernel_binds(sandbox: Sandbox, readable: list[Path], writable: list[Path]) -> list[Bind]:
    """The system, the interpreter and its environment read-only, plus the kernel's own files."""
    binds = sandbox.binds([], None, None)
    environment = os.path.abspath(sys.prefix)
    if environment != os.path.realpath(sys.base_prefix):
        binds.append(Bind(environment, environment, "ro"))
    binds += [Bind(str(path), str(path), "ro") for path in readable]
    binds += [Bind(str(path), str(path), "rw") for path in writable]
    return binds
