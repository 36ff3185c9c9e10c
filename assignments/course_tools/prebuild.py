"""Compile a submission's ``im2col_cython.pyx`` once, in the jail, for all of its notebook kernels.

Every kernel of a submission starts with this library in its folder, so notebooks 04 and 05 do not
each compile it again (their build cells then find it up to date). Libraries are cached by the digest
of the Cython sources in ``$CS_CONV_BUILD_CACHE`` (``make grade`` sets one per run) or in a private
temporary folder; a failed build is cached too and not retried, and the notebooks' own build cells
then show the student the compiler's reasons.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

from course_tools.jail import PYTHON, REPO, detect_jail, run_jailed

# Runs in the jail, in a copy of the build folder: compile, then copy the library to argv[1].
BUILD_SCRIPT = """
import glob, shutil, subprocess, sys
proc = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], capture_output=True, text=True)
sys.stdout.write(proc.stdout[-3000:])
sys.stderr.write(proc.stderr[-3000:])
for path in glob.glob("cs_conv/im2col_cython*.so") + glob.glob("cs_conv/im2col_cython*.pyd"):
    shutil.copy(path, sys.argv[1])
sys.exit(proc.returncode)
"""
CYTHON_SOURCES = ("*.pyx", "*.pxd", "*.pxi")


@lru_cache(maxsize=1)
def build_cache() -> Path:
    """Compiled extensions by digest of their Cython sources: ``$CS_CONV_BUILD_CACHE`` or a private folder."""
    configured = os.environ.get("CS_CONV_BUILD_CACHE")
    if configured:
        folder = Path(configured)
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    folder = Path(tempfile.mkdtemp(prefix="cs-conv-builds-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def cython_digest(package: Path) -> str | None:
    """Digest of a package's Cython sources, or None when it has no .pyx."""
    sources = sorted(p for pattern in CYTHON_SOURCES for p in package.glob(pattern)
                     if p.is_file() and not p.is_symlink())
    if not any(p.suffix == ".pyx" for p in sources):
        return None
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def prebuilt_extension(package: Path, timeout: float = 300) -> Path | None:
    """The student's ``im2col_cython`` compiled once per distinct source, in the jail; None if it fails.

    Every notebook kernel of a submission starts with this library in place, so notebooks 04 and 05 do
    not each compile it again (their build cells then find it up to date). A failed build is not
    retried: the notebooks' own build cells then show the student the compiler's reasons.
    """
    digest = cython_digest(package)
    if digest is None:
        return None
    entry = build_cache() / digest
    built = sorted(entry.glob("im2col_cython*")) if entry.is_dir() else []
    if built or (entry / "failed").exists():
        return built[0] if built else None
    scratch = Path(tempfile.mkdtemp(prefix="cs-conv-build-"))
    try:
        work = scratch / "work"
        (work / "cs_conv").mkdir(parents=True)
        shutil.copy(REPO / "setup.py", work / "setup.py")  # the course's recipe, not the student's
        for path in package.iterdir():
            if path.is_file() and not path.is_symlink() and any(path.match(p) for p in CYTHON_SOURCES):
                shutil.copy(path, work / "cs_conv" / path.name)
        (work / "cs_conv" / "__init__.py").write_text("")
        out = scratch / "out"
        out.mkdir()
        jail = detect_jail()
        if jail.user:
            import pwd

            user = pwd.getpwnam(jail.user)
            os.chown(out, user.pw_uid, user.pw_gid)
        try:
            proc = run_jailed([PYTHON, "-c", BUILD_SCRIPT, str(out)], work, timeout)
            ok = proc.returncode == 0
        except subprocess.TimeoutExpired:
            ok = False
        staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=build_cache()))
        libraries = sorted(out.glob("im2col_cython*")) if ok else []
        for library in libraries:
            shutil.copy(library, staging / library.name)
        if not libraries:
            (staging / "failed").write_text("")
        try:
            os.rename(staging, entry)
        except OSError:  # another grading process stored it first
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return prebuilt_extension(package, timeout) if entry.is_dir() else None


def seed_extension(package: Path) -> None:
    """Replace any compiled module a student submitted by one built here from their source."""
    if not package.is_dir():
        return
    for stale in package.glob("im2col_cython*"):
        if stale.suffix not in {".pyx", ".pxd", ".pxi"}:
            stale.unlink()
    library = prebuilt_extension(package)
    if library is not None:
        # Copied now, so it is newer than the .pyx: the build cells find it up to date.
        shutil.copy(library, package / library.name)


