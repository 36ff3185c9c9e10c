"""Hostile submissions gain nothing and break nothing.

Each plants an attack in the solved sources (so everything else about the
submission is right) and checks three things: the attacked check scores zero with
a clear reason, a check in another module keeps its points (a fresh process), and
the grader stays within its limits. Attacks that only operating-system isolation
can stop are skipped, with the reason, where the grader cannot use namespaces.
"""

from __future__ import annotations

import dataclasses
import socket
import time
from pathlib import Path

import pytest
from autograder_helpers import REPO, TEST_LIMITS, by_function, messages, processes_of
from autograder_helpers import assert_contained as contained

from autograder.sandbox import Sandbox, default_identity

pytestmark = pytest.mark.slow

LIMITS = dataclasses.replace(TEST_LIMITS, case_seconds=2.0, import_seconds=4.0, output_max_bytes=1 << 20,
                             memory_bytes=1 << 30, processes=16)
RELU = "def relu_forward(x):\n"
IMPORTS = "import numpy as np\n\nfrom cs_conv.shapes import ("
needs_isolation = pytest.mark.skipif(not Sandbox(LIMITS, default_identity()).isolated,
                                     reason="needs the namespace sandbox (Linux, grader running as root)")


def in_relu_forward(code: str) -> list[tuple[str, str, str]]:
    """A patch that runs ``code`` first thing in relu_forward (indented into its body)."""
    body = "".join(f"    {line}\n" for line in code.strip("\n").splitlines())
    return [("layers.py", RELU, RELU + body)]


def at_import(code: str) -> list[tuple[str, str, str]]:
    return [("layers.py", IMPORTS, code.strip("\n") + "\n" + IMPORTS)]


def graded(grade_with, submission: Path, uid: int | None = None, only=("relu_forward", "adam"), limits=LIMITS):
    started = time.monotonic()
    report = grade_with(submission, only=list(only), limits=limits, uid=uid)
    return report, time.monotonic() - started


def assert_contained(report, seconds: float, reason: str, keep: str = "adam", lose: str = "relu_forward"):
    contained(report, reason, keep, lose)
    assert seconds < LIMITS.submission_seconds + 60  # the submission's budget bounds it, whatever the load


@pytest.mark.parametrize("exit_call, reason", [
    ("import os\nos._exit(3)", "exited with code 3 while importing cs_conv.layers"),
    ("import sys\nsys.exit(0)", "called sys.exit(0) while importing cs_conv.layers"),
])
def test_exiting_at_import(make_submission, grade_with, exit_call, reason):
    assert_contained(*graded(grade_with, make_submission(at_import(exit_call))), reason)


def test_infinite_loop(make_submission, grade_with):
    report, seconds = graded(grade_with, make_submission(in_relu_forward("while True:\n    pass")))
    assert_contained(report, seconds, "timed out (limit 2 s)")
    assert any("timed out in an earlier case" in m for m in messages(report, "relu_forward"))
    # One time-out costs the function; its other cases never start (counted, not timed).
    assert sum("timed out (limit" in m for m in messages(report, "relu_forward")) == 1


@needs_isolation
def test_ignoring_sigterm_and_hiding_a_daemon_leaves_nothing_running(make_submission, grade_with):
    code = """
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        while True:
            time.sleep(1)
    os._exit(0)
while True:
    pass
"""
    uid = 64901
    report, seconds = graded(grade_with, make_submission(in_relu_forward(code)), uid=uid)
    assert_contained(report, seconds, "timed out")
    assert processes_of(uid) == []


def test_unbounded_allocation(make_submission, grade_with):
    code = "hog = []\nwhile True:\n    hog.append(np.ones(10**7))"
    # The memory limit ends this loop, not the clock: a case limit far above what filling 1 GiB takes
    # even on a loaded machine, so the verdict is the memory's (issue 14 saw "timed out" at 2 s).
    roomy = dataclasses.replace(LIMITS, case_seconds=60.0)
    report, seconds = graded(grade_with, make_submission(in_relu_forward(code)), limits=roomy)
    found = " ".join(messages(report, "relu_forward"))
    assert "MemoryError" in found or "killed" in found
    assert_contained(report, seconds, "")


def test_flooding_stdout_and_stderr(make_submission, grade_with):
    code = "import sys\nwhile True:\n    print('x' * 10000)\n    sys.stderr.write('y' * 10000)"
    report, seconds = graded(grade_with, make_submission(in_relu_forward(code)))
    assert_contained(report, seconds, "printed more than 1 MiB of output and was stopped")


@needs_isolation
def test_fork_bomb_is_contained_and_the_next_submission_is_graded_normally(make_submission, grade_with,
                                                                         solved_submission):
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    uid = 64902
    report, seconds = graded(grade_with, make_submission(in_relu_forward(code)), uid=uid)
    assert_contained(report, seconds, "timed out")
    assert processes_of(uid) == []
    after, _ = graded(grade_with, solved_submission, uid=uid)
    assert after.score == after.max_score


def test_monkeypatching_numpy_builtins_and_sys_modules(make_submission, grade_with):
    patch = at_import("""
import builtins, json, sys, types
import numpy
numpy.allclose = lambda *a, **k: True
numpy.array_equal = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
builtins.abs = lambda value: 0
builtins.max = lambda *a, **k: 0
json.dumps = lambda *a, **k: '{"ok": true}'
sys.modules["autograder"] = types.ModuleType("autograder")
sys.modules["autograder.judge"] = types.ModuleType("autograder.judge")
""") + in_relu_forward("return np.zeros_like(x), x")
    report, seconds = graded(grade_with, make_submission(patch))
    assert_contained(report, seconds, "out relative error")


def test_breaking_the_modules_the_fork_server_preloads_reaches_no_later_check(make_submission, grade_with):
    # The fork server imports these once for every check (runner.WARM); a check that breaks them breaks
    # only its own copy: the fast layers' check, later, still builds its dataclasses and thread pool.
    patch = in_relu_forward("""
import concurrent.futures, concurrent.futures.thread, dataclasses, gc, threadpoolctl, typing
def broken(*args, **kwargs):
    raise RuntimeError("patched by an earlier check")
dataclasses.dataclass = concurrent.futures.ThreadPoolExecutor = broken
concurrent.futures.thread.ThreadPoolExecutor = threadpoolctl.ThreadpoolController = typing.TypeVar = broken
gc.unfreeze()
return np.zeros_like(x), x
""")
    report, seconds = graded(grade_with, make_submission(patch), only=("relu_forward", "max_pool_forward_fast"))
    assert_contained(report, seconds, "out relative error", keep="max_pool_forward_fast")


@pytest.mark.parametrize("liar, reason", [
    ("class Liar(np.ndarray):\n"
     "    def __eq__(self, other):\n        return np.ones(self.shape, bool)\n"
     "    def __sub__(self, other):\n        return np.zeros(self.shape)\n"
     "return np.maximum(x, 0).view(Liar), x",
     "out is a Liar, expected a plain numpy.ndarray"),
    ("class Pretender:\n"
     "    shape = x.shape\n    dtype = x.dtype\n"
     "    def __array__(self, dtype=None, copy=None):\n        return np.maximum(x, 0)\n"
     "    def __eq__(self, other):\n        return True\n"
     "return Pretender(), x",
     "out is a Pretender, expected a numpy array"),
])
def test_returning_objects_that_lie(make_submission, grade_with, liar, reason):
    assert_contained(*graded(grade_with, make_submission(in_relu_forward(liar))), reason)


@needs_isolation
def test_searching_for_the_grader_or_the_solved_kit_finds_nothing(make_submission, grade_with, grader_cache):
    code = f"""
import importlib, importlib.util, os, sys
found = []
for name in ("autograder", "autograder.reference", "__editable___cs_conv_0_1_0_finder"):
    try:
        importlib.import_module(name)
        found.append(name)
    except Exception:
        pass
targets = [{str(REPO / "cs_conv" / "layers.py")!r}, {str(REPO / "autograder" / "reference.py")!r},
           {str(grader_cache)!r}, "/root/.cache/cs-conv-autograder", "/work"]
found += [t for t in targets if os.path.exists(t)]
for top in ("/", "/opt", "/tmp", "/root", "/home"):
    for folder, dirs, files in os.walk(top):
        dirs[:] = [d for d in dirs if folder != "/" or d not in ("proc", "sys", "usr", "submission")]
        found += [os.path.join(folder, f) for f in files if f in ("layers.py", "reference.py", "judge.py")]
        found += [os.path.join(folder, d) for d in dirs if d in ("autograder", "cs_conv")]
for path in found:
    if path.endswith("layers.py"):
        spec = importlib.util.spec_from_file_location("solved", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.relu_forward(x)
raise RuntimeError("found nothing: " + repr(found))
"""
    report, seconds = graded(grade_with, make_submission(in_relu_forward(code)))
    assert_contained(report, seconds, "found nothing: []")


@needs_isolation
def test_writing_outside_its_folder_changes_nothing(make_submission, grade_with, tmp_path):
    gradebook = tmp_path / "gradebook.db"
    gradebook.write_text("original grades")
    results = tmp_path / "results" / "results.json"
    results.parent.mkdir()
    code = f"""
import os
outcomes = []
for path, text in (({str(gradebook)!r}, "all full marks"), ({str(results)!r}, '{{"score": 999}}'),
                   ({str(REPO / "HACKED")!r}, "x"), ("/submission/cs_conv/layers.py", "raise SystemExit"),
                   ("/opt/site/numpy/__init__.py", "x")):
    try:
        with open(path, "w") as handle:
            handle.write(text)
        outcomes.append("wrote " + path)
    except OSError as error:
        outcomes.append(type(error).__name__)
raise RuntimeError("writes: " + ", ".join(outcomes))
"""
    submission = make_submission(in_relu_forward(code))
    report, seconds = graded(grade_with, submission, only=("relu_forward", "relu_backward", "adam"))
    assert_contained(report, seconds, "writes: ")
    assert "wrote" not in " ".join(messages(report, "relu_forward"))
    assert gradebook.read_text() == "original grades"
    assert not results.exists() and not (REPO / "HACKED").exists()
    # relu_backward lives in the same layers.py and runs in a later process: the file is intact.
    assert by_function(report)["relu_backward"][0] == by_function(report)["relu_backward"][1]


@needs_isolation
def test_no_network(make_submission, grade_with):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    code = f"""
import socket
errors = []
for address in (("127.0.0.1", {port}), ("1.1.1.1", 80)):
    try:
        socket.create_connection(address, timeout=1).close()
        errors.append("connected")
    except OSError as error:
        errors.append(type(error).__name__)
raise RuntimeError("network: " + ", ".join(errors))
"""
    report, seconds = graded(grade_with, make_submission(in_relu_forward(code)))
    assert_contained(report, seconds, "network: ")
    assert "connected" not in " ".join(messages(report, "relu_forward"))
    with pytest.raises(socket.timeout):
        server.accept()
    server.close()


REPLY = "import __main__, os\nreply = __main__.FD_OUT\n"  # the runner's reply pipe, as an attacker finds it


@pytest.mark.parametrize("forgery", [
    REPLY + "os.write(reply, b'garbage' * 100)\nimport time\ntime.sleep(10)",
    REPLY + "import struct\nos.write(reply, struct.pack('<4sIQ', b'CSG1', 2, 10**12) + b'{}')\n"
            "import time\ntime.sleep(10)",
    REPLY + "import struct, json\nbody = json.dumps({'ok': True, 'value': {'$t': 'other', 'type': 'x'}, "
            "'echo': [], 'arrays': []}).encode()\n"
            "os.write(reply, struct.pack('<4sIQ', b'CSG1', len(body), 0) + body)\nos._exit(0)",
], ids=["garbage", "huge payload", "forged verdict"])
def test_forged_replies(make_submission, grade_with, forgery):
    report, seconds = graded(grade_with, make_submission(in_relu_forward(forgery)))
    found = " ".join(messages(report, "relu_forward"))
    assert "malformed reply" in found or "expected" in found
    assert_contained(report, seconds, "")


@needs_isolation
def test_a_pyx_that_includes_the_solved_kernels_does_not_compile(make_submission, grade_with):
    solved = REPO / "cs_conv" / "im2col_cython.pyx"
    submission = make_submission([])
    (submission / "cs_conv" / "im2col_cython.pyx").write_text(f'include "{solved}"\n')
    report, _ = graded(grade_with, submission, only=("im2col_cython", "adam"))
    assert_contained(report, 0, "did not compile", lose="im2col_cython")
    assert any("not found" in m for m in messages(report, "im2col_cython"))
