"""The bubblewrap path: a grader that is not root still isolates student code.

Forced here with ``Sandbox(..., backend="bwrap")`` (as root it would use the launcher's own
namespaces); each test is an attack a student could make, and asserts what the sandbox let it see
or change, that another function keeps its points, and that the next submission grades normally.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from autograder_helpers import REPO, TEST_LIMITS, by_function, messages

from autograder import bwrap
from autograder.grade import Settings, grade
from autograder.sandbox import Sandbox

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not bwrap.works()[0], reason=f"bubblewrap cannot run here: {bwrap.works()[1]}")]
RELU = "def relu_forward(x):\n"


def in_relu_forward(code: str) -> list[tuple[str, str, str]]:
    body = "".join(f"    {line}\n" for line in code.strip("\n").splitlines())
    return [("layers.py", RELU, RELU + body)]


@pytest.fixture(scope="module")
def bwrap_sandbox() -> Sandbox:
    sandbox = Sandbox(TEST_LIMITS, None, backend="bwrap")
    assert sandbox.isolated and sandbox.unusable is None
    return sandbox


def graded(submission: Path, sandbox: Sandbox, cache: Path, only=("relu_forward", "adam")):
    report = grade(submission, Settings(limits=TEST_LIMITS, cache_dir=cache, only=list(only)), sandbox=sandbox)
    assert report.error is None, report.error
    return report


def test_the_solved_kit_earns_full_marks_and_the_report_names_bubblewrap(solved_submission, bwrap_sandbox,
                                                                        grader_cache):
    report = graded(solved_submission, bwrap_sandbox, grader_cache,
                    only=("relu_forward", "conv_forward_fast", "im2col_cython", "adam"))
    assert report.score == report.max_score
    assert any("bubblewrap" in line for line in report.protections)
    assert any("cgroup: none" in line for line in report.protections)  # said, not hidden


def test_the_grader_the_repository_and_the_network_are_out_of_reach(make_submission, bwrap_sandbox, grader_cache,
                                                                    tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    gradebook = tmp_path / "gradebook.db"
    gradebook.write_text("original grades")
    code = f"""
import os, socket, sys
seen = []
for path in ({str(REPO / "autograder" / "reference.py")!r}, {str(REPO / "cs_conv" / "layers.py")!r},
             {str(grader_cache)!r}, "/proc/self/mountinfo"):
    if os.path.exists(path):
        seen.append(path)
for path in ({str(gradebook)!r}, "/submission/cs_conv/layers.py", "/HACKED"):
    try:
        open(path, "w").write("x")
        seen.append("wrote " + path)
    except OSError:
        pass
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=1)
    seen.append("connected")
except OSError:
    pass
seen += [v for v in (*os.environ.values(), *sys.path, os.getcwd()) if {str(REPO)!r} in v]
raise RuntimeError("seen: " + repr(seen))
"""
    report = graded(make_submission(in_relu_forward(code)), bwrap_sandbox, grader_cache,
                    only=("relu_forward", "relu_backward", "adam"))
    assert any("seen: []" in m for m in messages(report, "relu_forward")), messages(report, "relu_forward")
    totals = by_function(report)
    assert totals["relu_forward"][0] == 0 and totals["adam"][0] == totals["adam"][1]
    assert totals["relu_backward"][0] == totals["relu_backward"][1]  # layers.py was not changed
    assert gradebook.read_text() == "original grades"
    server.settimeout(0.2)
    with pytest.raises(socket.timeout):
        server.accept()
    server.close()


def test_a_daemon_that_hides_in_a_new_session_is_gone_with_the_sandbox(make_submission, bwrap_sandbox,
                                                                         grader_cache, solved_submission):
    marker = "cs-conv-bwrap-daemon"
    code = f"""
import os, time
if os.fork() == 0:
    os.setsid()
    os.execv("/bin/sleep", ["{marker}", "600"]) if os.path.exists("/bin/sleep") else time.sleep(600)
while True:
    pass
"""
    report = graded(make_submission(in_relu_forward(code)), bwrap_sandbox, grader_cache)
    assert by_function(report)["relu_forward"][0] == 0
    assert any("timed out" in m for m in messages(report, "relu_forward"))
    left = [p for p in Path("/proc").glob("[0-9]*/cmdline") if _reads(p).startswith(marker)]
    assert left == []
    after = graded(solved_submission, bwrap_sandbox, grader_cache)
    assert after.score == after.max_score


def _reads(path: Path) -> str:
    try:
        return path.read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
