"""autograder/child.py, the parent's half of the sandbox protocol, against a stand-in fork server.

The stand-in speaks the fork server's control protocol (``runner.py``'s) without a sandbox: it
forks a check process per ``{"op": "fork"}``, kills it on ``{"op": "kill"}`` and reports how it
ended. What each check process does is the test's choice: answer, hang, crash, flood its output
or send a frame that breaks the format. The real sandbox is exercised by every grading test.
"""

from __future__ import annotations

import signal
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from autograder import protocol
from autograder.child import ChildGone, ChildTimeout, SandboxFailure, Zygote, describe_exit, describe_status, run_capped
from autograder.limits import Limits
from autograder.protocol import ProtocolError
from autograder.sandbox import CONTROL_FD

REPO = Path(__file__).resolve().parent.parent
LIMITS = Limits(output_keep_bytes=1000, output_max_bytes=1 << 20)

FORK_SERVER = textwrap.dedent(f"""
    import json, os, select, signal, socket, sys, time
    import numpy
    sys.path.insert(0, {str(REPO)!r})
    from autograder import protocol

    MODE = sys.argv[1]
    control = socket.socket(fileno=int(sys.argv[2]))  # the launcher would have moved it to fd 3

    def check(request_r, reply_w):
        if MODE == "hang":
            time.sleep(600)
        data = b""
        while len(data) < protocol.PREFIX.size:
            data += os.read(request_r, protocol.PREFIX.size - len(data))
        _, header_len, payload_len = protocol.PREFIX.unpack(data)
        body = b""
        while len(body) < header_len + payload_len:
            body += os.read(request_r, header_len + payload_len - len(body))
        request = json.loads(body[:header_len])
        if MODE == "crash":
            os._exit(3)
        if MODE == "flood":
            os.write(1, b"x" * (4 << 20))
            time.sleep(600)
        if MODE == "garbage":
            os.write(reply_w, b"NOPE" + bytes(12))
            time.sleep(600)
        print("the check says hello", flush=True)
        os.write(reply_w, protocol.encode({{"echo": request}}, [2 * numpy.ones(3)]))
        os._exit(0)

    while True:
        message, fds, _, _ = socket.recv_fds(control, 4096, 2)
        if not message:
            break
        request_r, reply_w = fds
        pid = os.fork()
        if pid == 0:
            control.close()
            check(request_r, reply_w)
            os._exit(0)
        os.close(request_r)
        os.close(reply_w)
        control.send(b'{{"forked": true}}')
        while True:
            ready, _, _ = select.select([control], [], [], 0.01)
            if ready:
                op = control.recv(4096)
                if not op:
                    sys.exit(0)
                if json.loads(op).get("op") == "kill":
                    os.kill(pid, signal.SIGKILL)
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                ended = ({{"signal": os.WTERMSIG(status)}} if os.WIFSIGNALED(status)
                         else {{"code": os.WEXITSTATUS(status)}})
                control.send(json.dumps({{"ended": ended}}).encode())
                break
""")


@contextmanager
def stand_in(tmp_path: Path, mode: str) -> Iterator[Zygote]:
    """A Zygote whose fork server is the stand-in in ``mode``; stopped, and seen to end, afterwards."""
    script = tmp_path / "fork_server.py"
    script.write_text(FORK_SERVER)

    def command_for(fds: list[tuple[int, int]]) -> list[str]:
        ((here, inside),) = fds
        assert inside == CONTROL_FD
        return [sys.executable, str(script), mode, str(here)]
    zygote = Zygote(command_for, LIMITS)
    try:
        yield zygote
    finally:
        zygote.stop()
        assert gone(zygote.process.pid)


def gone(pid: int, seconds: float = 30.0) -> bool:
    """Whether ``pid`` ends within ``seconds`` (a SIGKILL sent is delivered a moment later): no such
    process, or only its exit status left (a zombie that its new parent has yet to reap)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except FileNotFoundError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


REQUEST = protocol.encode({"op": "call", "name": "relu_forward"})


def test_a_check_answers_and_ends_with_its_exit_code(tmp_path):
    with stand_in(tmp_path, "echo") as zygote:
        child = zygote.fork()
        frame, seconds = child.exchange(REQUEST, timeout=30)
        assert frame.header["echo"]["op"] == "call" and frame.header["echo"]["name"] == "relu_forward"
        np.testing.assert_array_equal(frame.arrays[0], [2.0, 2.0, 2.0])
        assert seconds >= 0
        child.close()
        assert zygote.busy is None and zygote.alive
        assert "the check says hello" in zygote.output
        again = zygote.fork()  # the fork server is still there for the next check
        assert again.exchange(REQUEST, timeout=30)[0].header["echo"]["name"] == "relu_forward"
        again.close()


def test_a_hanging_check_times_out_is_killed_and_the_next_check_runs(tmp_path):
    with stand_in(tmp_path, "hang") as zygote:
        child = zygote.fork()
        with pytest.raises(ChildTimeout, match="no answer within 0.5 s"):
            child.exchange(REQUEST, timeout=0.5)
        assert zygote.alive and zygote.busy is None, "killed through the fork server, which answered"
        with pytest.raises(ChildGone, match="already stopped"):
            child.exchange(REQUEST, timeout=30)
        assert zygote.fork() is not None


def test_a_crashing_check_says_how_it_ended(tmp_path):
    with stand_in(tmp_path, "crash") as zygote:
        with pytest.raises(ChildGone, match="the process exited with code 3"):
            zygote.fork().exchange(REQUEST, timeout=30)


def test_a_check_flooding_its_output_is_stopped_and_only_the_start_is_kept(tmp_path):
    with stand_in(tmp_path, "flood") as zygote:
        with pytest.raises(ChildGone, match="printed more than 1 MiB of output"):
            zygote.fork().exchange(REQUEST, timeout=60)
        assert zygote.output.startswith("x" * 1000) and "more bytes of output dropped" in zygote.output


def test_a_frame_that_breaks_the_format_is_a_protocol_error(tmp_path):
    with stand_in(tmp_path, "garbage") as zygote:
        with pytest.raises(ProtocolError):
            zygote.fork().exchange(REQUEST, timeout=30)
        assert zygote.busy is None, "the check that lied was stopped"


def test_a_sandbox_that_never_starts_is_the_graders_failure_with_its_output(tmp_path):
    zygote = Zygote(lambda fds: [sys.executable, "-c", "print('mount: permission denied'); raise SystemExit(7)"],
                    LIMITS)
    with pytest.raises(SandboxFailure, match=r"did not start a check process \(exit 7\): mount: permission denied"):
        zygote.fork()
    with pytest.raises(SandboxFailure, match="no longer running"):
        zygote.fork()


@pytest.mark.parametrize(("code", "words"), [
    (0, "the process exited with code 0"),
    (3, "the process exited with code 3"),
    (128 + signal.SIGKILL, "killed by SIGKILL (killed, often for using too much memory)"),
    (128 + signal.SIGSEGV, "killed by SIGSEGV (a crash, often an out-of-bounds index in compiled code)"),
    (128 + signal.SIGXCPU, "killed by SIGXCPU (CPU time limit)"),
    (-signal.SIGTERM, "killed by SIGTERM"),
    (200, "the process exited with code 200"),  # 200 - 128 is no signal
])
def test_exit_statuses_read_as_words(code, words):
    assert words in describe_exit(code)


def test_the_fork_servers_report_reads_as_words():
    assert describe_status({"signal": int(signal.SIGKILL)}) == describe_exit(128 + signal.SIGKILL)
    assert describe_status({"code": 1}) == "the process exited with code 1"


def test_run_capped_keeps_the_start_of_the_output_and_its_exit_code():
    code, kept, timed_out = run_capped([sys.executable, "-c", "print('a' * 5000); raise SystemExit(4)"],
                                       timeout=60, keep_bytes=100, max_bytes=1 << 20)
    assert (code, kept, timed_out) == (4, "a" * 100, False)


def test_run_capped_stops_a_flood_and_a_hang_with_everything_they_started(tmp_path):
    marker = tmp_path / "grandchild"
    hang = (f"import subprocess, sys, time; p = subprocess.Popen(['sleep', '600']); "
            f"open({str(marker)!r}, 'w').write(str(p.pid)); time.sleep(600)")
    started = time.monotonic()
    code, _, timed_out = run_capped([sys.executable, "-c", hang], timeout=2, keep_bytes=100, max_bytes=1 << 20)
    assert timed_out and code != 0
    assert gone(int(marker.read_text())), "the process group went with it"
    assert time.monotonic() - started < 300  # bounded by the stop's own waits, not by the sleeps
    code, kept, timed_out = run_capped([sys.executable, "-c", "import sys\nwhile True: sys.stdout.write('y' * 65536)"],
                                       timeout=600, keep_bytes=10, max_bytes=1 << 20)
    assert timed_out and kept == "y" * 10


