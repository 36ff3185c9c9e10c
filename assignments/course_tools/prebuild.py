"""Give every notebook kernel of a submission the student's ``im2col_cython``, compiled once per source.

The build is the autograder's own (``autograder.build``: one recipe, sandboxed, cached by the
content of the Cython sources in the grader's build cache). ``RunAutograder`` grades a submission
before any of its kernels starts, so the library is normally in the cache already and each kernel
only copies it in: notebooks 04 and 05 then find it up to date instead of each compiling it again.
A failed build leaves no library, and the notebooks' own build cells show the student the
compiler's reasons.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from autograder.build import MODULE, build_extension, default_cache_dir
from autograder.submission import stage

from course_tools.jail import KERNEL_LIMITS, kernel_sandbox

CYTHON_SUFFIXES = (".pyx", ".pxd", ".pxi")


def seed_extension(package: Path) -> None:
    """Replace any compiled module a student submitted by one built from their source (if it builds)."""
    if not package.is_dir() or package.is_symlink():
        return
    for stale in package.glob(MODULE + "*"):
        if not stale.name.endswith(CYTHON_SUFFIXES):
            stale.unlink()
    with tempfile.TemporaryDirectory(prefix="cs-conv-build-") as scratch:
        os.chmod(scratch, 0o755)  # the sandbox user reaches its build folder through it
        (Path(scratch) / "staged").mkdir(mode=0o755)
        staged = stage(package.parent, Path(scratch) / "staged")
        if staged.problem or MODULE + ".pyx" not in staged.cython:
            return
        build = Path(scratch) / "build"
        build.mkdir(mode=0o755)
        result = build_extension(staged.cython, default_cache_dir(), kernel_sandbox(), KERNEL_LIMITS, build)
        if result.ok and result.library is not None:
            # Copied now, so it is newer than the .pyx: the build cells find it up to date.
            result.install(package)
