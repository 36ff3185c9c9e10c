"""Compile the student's ``im2col_cython.pyx`` from source, sandboxed, with a cache keyed by content.

Compiling is running student input through Cython and a C compiler, which can read
any file they are pointed at (``include "..."``, ``cdef extern from "..."``), so
it happens in the same sandbox as student code, with ``/build`` (a size-capped tmpfs
the grader reads the library back from) the only writable folder. Any compiled file in
the submission is ignored: only ``.pyx``/``.pxd``/``.pxi`` source is compiled.

The cache key hashes the sources with everything else that shapes the result
(Cython and Python versions, compiler flags, this recipe's version), so a cache
hit is the same library a fresh build would give; re-grading skips the compiler.
Compile errors are cached too (they are deterministic); time-outs and sandbox
faults are not.

Cython's own utility code (memoryviews, buffers, error handling: about two thirds of the C it
generates) is the same in every build, so it is compiled once per toolchain into a shared
module, ``cs_conv._cython_shared`` (``shared_library``), and each student's module is compiled
against it (Cython's ``--shared``), which takes about 6 s instead of 9.5 s. That module is built
from Cython's files alone, no student input, so it is built here, outside the sandbox, into the
cache (``python -m autograder prepare`` builds it ahead, as the Gradescope image's setup does).
Where it cannot be built, every build carries its own copy of that code, as ``setup.py``'s do.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from autograder.child import SandboxFailure, describe_exit, run_capped
from autograder.limits import Limits
from autograder.sandbox import BUILD_DIR, SETUP_FAILED, SITE_DIR, Sandbox, host_tmpfs, interpreter, package_dirs
from autograder.student import clean

RECIPE = "cs-conv-autograder build v2"
MODULE = "im2col_cython"
SHARED_MODULE = "_cython_shared"  # cs_conv._cython_shared: Cython's utility code, shared by every build
EXT_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
# The directives setup.py compiles with (its release ones), so the student's code behaves as it did
# for them: read from the kit beside the grader (the repository's, or the copy a Gradescope bundle carries).
DIRECTIVES_FILE = Path(__file__).resolve().parents[1] / "cs_conv" / "cython_directives.json"
CFLAGS = ["-shared", "-fPIC", "-O2", "-fwrapv", "-fno-strict-aliasing", "-DNDEBUG", "-w"]
BUILD_PACKAGES = ("Cython", "cython", "numpy")
LOG_CHARS = 1500
BUILD_SHARED_SECONDS = 600.0  # the shared module: once per toolchain, about 7 s here

# Runs inside the sandbox: Cython to C, then C to a shared library. Exit 2 = compile error.
BUILD_SOURCE = """
import os, subprocess, sys
config = __import__("json").loads(sys.argv[1])
sys.path.append(config["site"])
os.chdir(config["build"])
from Cython.Compiler import Main
shared = {"shared_utility_qualified_name": config["shared"]} if config["shared"] else {}  # Cython 3.1's
options = Main.CompilationOptions(Main.default_options, compiler_directives=config["directives"],
                                  language_level=3, **shared)
result = Main.compile_single("cs_conv/im2col_cython.pyx", options, full_module_name="cs_conv.im2col_cython")
if result.num_errors:
    sys.exit(2)
command = [config["cc"], *config["cflags"], "-I", config["include"], "-I", config["numpy_include"],
           "cs_conv/im2col_cython.c", "-o", "cs_conv/im2col_cython" + config["suffix"]]
sys.exit(2 if subprocess.run(command).returncode else 0)
"""


@dataclass(frozen=True)
class BuildResult:
    ok: bool
    cached: bool
    message: str  # "" when ok; else what went wrong, for the report
    library: Path | None
    seconds: float
    shared: Path | None = None  # the shared utility module ``library`` imports, if it was built against one

    def install(self, package: Path) -> None:
        """Copy the library (and the shared module it imports) into the package folder ``package``."""
        for library in (self.library, self.shared):
            if library is not None:
                shutil.copyfile(library, package / library.name)
                (package / library.name).chmod(0o755)


@cache
def directives() -> dict[str, object]:
    """The Cython compiler directives of every build (read on first use: grading without a build needs none)."""
    return json.loads(DIRECTIVES_FILE.read_text())["release"]


def _toolchain() -> hashlib._Hash:
    """A digest of everything besides the sources that shapes a build's result."""
    digest = hashlib.sha256()
    for part in (RECIPE, importlib.metadata.version("Cython"), sys.version, EXT_SUFFIX,
                 json.dumps(directives(), sort_keys=True), " ".join(CFLAGS), compiler()):
        digest.update(part.encode() + b"\0")
    return digest


def source_key(sources: dict[str, bytes], shared: bool) -> str:
    """The cache key for these Cython sources (relative name -> bytes) under this recipe, built against
    the shared utility module or not."""
    digest = _toolchain()
    digest.update(b"shared\0" if shared else b"standalone\0")
    for name in sorted(sources):
        digest.update(name.encode() + b"\0" + hashlib.sha256(sources[name]).digest())
    return digest.hexdigest()


def shared_library(cache_dir: Path) -> Path | None:
    """``cs_conv._cython_shared`` for this toolchain, from the cache or compiled now; None if it cannot be built."""
    key = _toolchain().hexdigest()
    library = cache_dir / "shared" / key[:2] / key / (SHARED_MODULE + EXT_SUFFIX)
    if library.is_file():
        return library
    with tempfile.TemporaryDirectory(prefix="cs-conv-shared-") as work:
        source, built = Path(work) / f"{SHARED_MODULE}.c", Path(work) / library.name
        steps = [[sys.executable, "-m", "cython", "--generate-shared", str(source)],
                 [compiler(), *CFLAGS, "-I", str(sysconfig.get_config_var("INCLUDEPY")), str(source), "-o", str(built)]]
        for step in steps:
            try:
                if subprocess.run(step, capture_output=True, timeout=BUILD_SHARED_SECONDS).returncode != 0:
                    return None
            except (OSError, subprocess.TimeoutExpired):  # no such program, or it never finished
                return None
        final = _store_entry(cache_dir / "shared", key, True, "", built)
    return final / library.name


def compiler() -> str:
    found = shutil.which("cc") or shutil.which("gcc")
    if not found:
        raise RuntimeError("the grader needs a C compiler (cc or gcc) to build im2col_cython.pyx")
    return os.path.realpath(found)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "cs-conv-autograder" / "builds"


def build_extension(sources: dict[str, bytes], cache_dir: Path, sandbox: Sandbox, limits: Limits,
                    scratch: Path) -> BuildResult:
    """The compiled ``im2col_cython`` for these sources, from the cache or from a sandboxed build."""
    started = time.perf_counter()
    shared = shared_library(cache_dir)
    key = source_key(sources, shared is not None)
    entry = cache_dir / key[:2] / key
    hit = _read_entry(entry)
    if hit is not None:
        ok, message = hit
        return BuildResult(ok, True, message, entry / (MODULE + EXT_SUFFIX) if ok else None,
                           time.perf_counter() - started, shared)
    with host_tmpfs(scratch / "build", limits.build_bytes, sandbox.identity) as work:
        (work / "cs_conv").mkdir()
        for name, data in sources.items():
            (work / "cs_conv" / name).write_bytes(data)
        (work / "cs_conv" / "__init__.py").write_bytes(b"")
        if sandbox.identity is not None:
            for path in [work, *work.rglob("*")]:
                os.chown(path, sandbox.identity.uid, sandbox.identity.gid)
        ok, message, cacheable = _compile(work, sandbox, limits, scratch, shared is not None)
        library = work / "cs_conv" / (MODULE + EXT_SUFFIX)
        if ok and not library.is_file():
            ok, message = False, "the compiler reported success but produced no library"
        # Stored (or kept) outside the build's tmpfs, which goes when this block ends.
        entry = _store_entry(cache_dir if cacheable else scratch / "uncached", key, ok, message,
                             library if ok else None)
    return BuildResult(ok, False, message, entry / (MODULE + EXT_SUFFIX) if ok else None,
                       time.perf_counter() - started, shared)


def _compile(work: Path, sandbox: Sandbox, limits: Limits, scratch: Path, shared: bool) -> tuple[bool, str, bool]:
    """Run the build in the sandbox: (ok, message, whether the outcome may be cached)."""
    packages = package_dirs(BUILD_PACKAGES)
    numpy_dir = next(p for p in packages if p.name == "numpy")
    isolated = sandbox.isolated
    config = {
        "site": SITE_DIR if isolated else str(_site_links(scratch, packages)),
        "build": BUILD_DIR if isolated else str(work),
        "directives": directives(),
        "cc": compiler(),
        "cflags": CFLAGS,
        "include": sysconfig.get_config_var("INCLUDEPY"),
        "numpy_include": (f"{SITE_DIR}/numpy" if isolated else str(numpy_dir)) + "/_core/include",
        "suffix": EXT_SUFFIX,
        "shared": f"cs_conv.{SHARED_MODULE}" if shared else None,
    }
    argv = [str(interpreter()), "-I", "-S", "-B", "-c", BUILD_SOURCE, json.dumps(config)]
    binds = sandbox.binds(packages, None, work)
    command = sandbox.command(argv, [], scratch, binds, limits.build_memory_bytes, limits.build_seconds)
    code, output, timed_out = run_capped(command, limits.build_seconds, limits.output_keep_bytes,
                                         limits.output_max_bytes, cwd=scratch)
    log = _trim(output)
    if timed_out:
        return False, f"the build took longer than {limits.build_seconds:g} s and was stopped", False
    if code == SETUP_FAILED and "sandbox setup failed" in output:
        raise SandboxFailure(output.strip()[-500:])
    if code == 0:
        return True, "", True
    if code == 2:
        return False, f"compile error: {log}", True
    return False, f"the build failed: {describe_exit(code)}; {log}", False


def _site_links(scratch: Path, packages: list[Path]) -> Path:
    site = scratch / "build-site"
    site.mkdir(exist_ok=True)
    for folder in packages:
        link = site / folder.name
        if not link.exists():
            link.symlink_to(folder)
    return site


def _trim(output: str) -> str:
    """The compiler's complaint, without the noise that differs between builds."""
    lines = [line for line in output.splitlines() if line.strip() and "warning:" not in line]
    return clean(" | ".join(lines)[-LOG_CHARS:], LOG_CHARS)


def _read_entry(entry: Path) -> tuple[bool, str] | None:
    try:
        record = json.loads((entry / "result.json").read_text())
    except (OSError, ValueError):
        return None
    ok, message = bool(record.get("ok")), str(record.get("message", ""))
    if ok and not (entry / (MODULE + EXT_SUFFIX)).is_file():
        return None
    return ok, message


def _store_entry(cache_dir: Path, key: str, ok: bool, message: str, library: Path | None) -> Path:
    """Write the entry under a temporary name and rename it into place (another worker may race us)."""
    final = cache_dir / key[:2] / key
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".tmp-", dir=final.parent))
    if library is not None:
        shutil.copy2(library, staging / library.name)
    (staging / "result.json").write_text(json.dumps({"ok": ok, "message": message}))
    try:
        os.rename(staging, final)
    except OSError:  # someone else stored the same key first: theirs is as good as ours
        shutil.rmtree(staging, ignore_errors=True)
    return final
