"""The sandbox's processes as the parent drives them: one fork server per submission, one process per check.

``Zygote`` starts the sandbox (``launcher.py`` running ``runner.py``) and talks to its
fork server over a Unix seqpacket socket: ``fork()`` hands it two fresh pipes and
returns a ``Child``, the check process that owns them. ``Child.exchange`` sends one
request and waits for the reply while draining the sandbox's stdout/stderr and
watching the control socket (which says when the check process has ended), all on
this thread with ``selectors``, under a deadline. Output beyond
``Limits.output_keep_bytes`` is dropped; beyond ``Limits.output_max_bytes`` the check
is stopped. Stopping a check asks the fork server to kill it and everything it
started; a fork server that does not answer is ended with the whole sandbox.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from autograder import protocol
from autograder.limits import Limits
from autograder.protocol import Frame, ProtocolError
from autograder.sandbox import CONTROL_FD, SETUP_FAILED

STOP_SECONDS = 10.0
FORK_SECONDS = 30.0  # the sandbox's start (mounts, interpreter, numpy) happens before the first fork answers


class ChildTimeout(Exception):
    """The check process did not answer in time; it has been killed."""


class ChildGone(Exception):
    """The check process ended, or was stopped, before answering; the message says how."""


class SandboxFailure(Exception):
    """The sandbox itself could not be set up or stopped answering: the grader's fault, not the student's."""


class Zygote:
    """A sandbox whose PID 1 is the fork server of ``runner.py``."""

    def __init__(self, command_for: Callable[[list[tuple[int, int]]], list[str]], limits: Limits,
                 cwd: Path | None = None):
        """``command_for`` gets the ``(fd here, fd inside)`` pairs to pass and returns the launcher command."""
        self.limits = limits
        self.control, inside = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        command = command_for([(inside.fileno(), CONTROL_FD)])
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                pass_fds=(inside.fileno(),), start_new_session=True, close_fds=True, cwd=cwd)
        finally:
            inside.close()
        assert self.process.stdout is not None
        self.output_fd = self.process.stdout.fileno()
        os.set_blocking(self.output_fd, False)
        self.control.setblocking(False)
        self._kept = bytearray()
        self._total = 0
        self.alive = True
        self.busy: Child | None = None

    # -- output of the current check

    @property
    def output(self) -> str:
        text = self._kept.decode("utf-8", errors="replace")
        if self._total > len(self._kept):
            text += f"\n[... {self._total - len(self._kept)} more bytes of output dropped]"
        return text

    def drain_output(self) -> bool:
        """Read what the sandbox printed; False at end of file. Raises ChildGone on a flood."""
        chunk = _read(self.output_fd)
        if chunk is None:
            return True
        if not chunk:
            return False
        self._total += len(chunk)
        room = self.limits.output_keep_bytes - len(self._kept)
        if room > 0:
            self._kept += chunk[:room]
        if self._total > self.limits.output_max_bytes:
            raise ChildGone(f"printed more than {self.limits.output_max_bytes >> 20} MiB of output and was stopped")
        return True

    # -- the control socket

    def _receive(self, deadline: float) -> dict[str, Any] | None:
        """The fork server's next message, or None when the sandbox has gone (or the deadline passed)."""
        with selectors.DefaultSelector() as selector:
            selector.register(self.control, selectors.EVENT_READ, "control")
            selector.register(self.output_fd, selectors.EVENT_READ, "output")
            while (left := deadline - time.monotonic()) > 0:
                for key, _ in selector.select(left):
                    if key.data == "output":
                        try:
                            if not self.drain_output():
                                selector.unregister(self.output_fd)
                        except ChildGone:
                            pass  # a flood between checks is the sandbox's problem, not this message's
                    else:
                        message = self.read_control()
                        if message is not None:
                            return message
                        if not self.alive:
                            return None
        return None

    def read_control(self) -> dict[str, Any] | None:
        """One message from the control socket if one is waiting; marks the sandbox dead at end of file."""
        try:
            data = self.control.recv(4096)
        except BlockingIOError:
            return None
        except OSError:
            data = b""
        if not data:
            self.alive = False
            return None
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        if not isinstance(message, dict):
            raise SandboxFailure("the fork server sent a malformed message")
        return message

    def fork(self) -> Child:
        """A fresh check process, forked from the pristine fork server."""
        if not self.alive:
            raise SandboxFailure("the sandbox is no longer running")
        request_r, request_w = os.pipe()
        reply_r, reply_w = os.pipe()
        try:
            socket.send_fds(self.control, [b'{"op": "fork"}'], [request_r, reply_w])
        except OSError:
            self.alive = False
        finally:
            os.close(request_r)
            os.close(reply_w)
        self._kept, self._total = bytearray(), 0
        message = self._receive(time.monotonic() + FORK_SECONDS) if self.alive else None
        if message != {"forked": True}:
            os.close(request_w)
            os.close(reply_r)
            raise self._failure("the sandbox did not start a check process")
        child = Child(self, request_w, reply_r)
        self.busy = child
        return child

    def end_check(self, kill: bool) -> dict[str, int] | None:
        """Wait for the current check process to end (killing it first if ``kill``); its exit, if known."""
        if kill:
            try:
                self.control.send(b'{"op": "kill"}')
            except OSError:
                self.alive = False
        message = self._receive(time.monotonic() + STOP_SECONDS) if self.alive else None
        self.busy = None
        if message is None or not isinstance(message.get("ended"), dict):
            self.stop()  # it did not answer: end the whole sandbox; the next check gets a new one
            return None
        return message["ended"]

    def _failure(self, what: str) -> SandboxFailure:
        stop(self.process)
        deadline = time.monotonic() + STOP_SECONDS
        try:  # what it printed before it ended, up to end of file (or a stray holder's deadline)
            while self.drain_output() and time.monotonic() < deadline:
                pass
        except ChildGone:
            pass
        self.stop()
        code = self.process.returncode
        detail = self.output.strip()[-500:]
        if code == SETUP_FAILED and "sandbox setup failed" in detail:
            return SandboxFailure(detail)
        return SandboxFailure(f"{what} (exit {code}): {detail}")

    def stop(self) -> None:
        """End the sandbox and everything in it. Safe to call twice."""
        self.alive = False
        self.busy = None
        stop(self.process)
        self.control.close()
        if self.process.stdout is not None:
            self.process.stdout.close()


class Child:
    """One check process: requests on its own pipe, replies on another, output shared with the sandbox."""

    def __init__(self, zygote: Zygote, request_w: int, reply_r: int):
        self.zygote = zygote
        self.limits = zygote.limits
        self._request_w, self._reply_r = request_w, reply_r
        for fd in (request_w, reply_r):
            os.set_blocking(fd, False)
        self._pending = bytearray()
        self._closed = False

    @property
    def output(self) -> str:
        return self.zygote.output

    def exchange(self, request: bytes, timeout: float) -> tuple[Frame, float]:
        """Send one request and return the reply and the seconds it took, measured here."""
        if self._closed:
            raise ChildGone("the process was already stopped")
        if self._pending:
            self.kill()
            raise ProtocolError("the process sent data nobody asked for")
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        outgoing = memoryview(request)
        expected: int | None = None
        selector = selectors.DefaultSelector()
        try:
            selector.register(self._reply_r, selectors.EVENT_READ, "reply")
            selector.register(self.zygote.output_fd, selectors.EVENT_READ, "output")
            selector.register(self.zygote.control, selectors.EVENT_READ, "control")
            if outgoing:
                selector.register(self._request_w, selectors.EVENT_WRITE, "request")
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    self.kill()
                    raise ChildTimeout(f"no answer within {timeout:g} s")
                for key, _ in selector.select(left):
                    if key.data == "request":
                        try:
                            outgoing = outgoing[os.write(self._request_w, outgoing):]
                        except BrokenPipeError:
                            outgoing = outgoing[:0]
                        if not outgoing:
                            selector.unregister(self._request_w)
                    elif key.data == "output":
                        try:
                            if not self.zygote.drain_output():
                                selector.unregister(self.zygote.output_fd)
                        except ChildGone:
                            self.kill()
                            raise
                    elif key.data == "control":
                        message = self.zygote.read_control()
                        if message is not None or not self.zygote.alive:
                            raise self._ended(message)
                    else:
                        chunk = _read(self._reply_r)
                        if chunk is None:
                            continue
                        if not chunk:
                            raise self._ended(None)
                        self._pending += chunk
                        if expected is None and len(self._pending) >= protocol.PREFIX.size:
                            header_len, payload_len = protocol.read_prefix(
                                bytes(self._pending[:protocol.PREFIX.size]), self.limits.reply_bytes)
                            expected = protocol.PREFIX.size + header_len + payload_len
                        if expected is not None and len(self._pending) >= expected:
                            elapsed = time.perf_counter() - started
                            return self._take(expected), elapsed
        except ProtocolError:
            self.kill()
            raise
        finally:
            selector.close()

    def _take(self, size: int) -> Frame:
        data = bytes(self._pending[:size])
        del self._pending[:size]
        header_len, _ = protocol.read_prefix(data[:protocol.PREFIX.size], self.limits.reply_bytes)
        start = protocol.PREFIX.size
        return protocol.decode_body(data[start:start + header_len], data[start + header_len:])

    def _ended(self, message: dict[str, Any] | None) -> Exception:
        """The check process stopped answering: say how it ended."""
        self._close_fds()
        if message is not None and isinstance(message.get("ended"), dict):
            self.zygote.busy = None
            return ChildGone(describe_status(message["ended"]))
        status = self.zygote.end_check(kill=True) if self.zygote.alive else None
        if status is not None:
            return ChildGone(describe_status(status))
        self.zygote.stop()
        return ChildGone("the sandbox stopped unexpectedly; the next check gets a new one")

    def kill(self) -> None:
        """Stop this check process and everything it started. Safe to call twice."""
        if self._closed:
            return
        self._close_fds()
        if self.zygote.alive and self.zygote.busy is self:
            self.zygote.end_check(kill=True)

    def close(self) -> None:
        """Let the check process finish (its request pipe closes) and wait for it to end."""
        if self._closed:
            return
        self._close_fds()
        if self.zygote.alive and self.zygote.busy is self:
            status = self.zygote.end_check(kill=False)
            if status is None and self.zygote.alive:
                self.zygote.end_check(kill=True)

    def _close_fds(self) -> None:
        self._closed = True
        for fd in (self._request_w, self._reply_r):
            try:
                os.close(fd)
            except OSError:
                pass


def _read(fd: int) -> bytes | None:
    try:
        return os.read(fd, 1 << 20)
    except BlockingIOError:
        return None
    except OSError:
        return b""


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a sandboxed process: ask its supervisor (the launcher) to end the sandbox, then SIGKILL the group.

    The supervisor (trusted, outside the sandbox) returns only once every process
    inside its PID namespace or cgroup is gone; the process group is the last resort.
    """
    if process.poll() is None:
        try:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        pass


def describe_status(status: dict[str, int]) -> str:
    """A student-readable account of how a check process ended (from the fork server's report)."""
    if "signal" in status:
        return describe_exit(128 + int(status["signal"]))
    return describe_exit(int(status.get("code", -1)))


def describe_exit(code: int) -> str:
    """A student-readable account of an exit status (signals as 128 + n, as the launcher reports them)."""
    if code > 128 and code - 128 in signal.valid_signals():
        name = signal.Signals(code - 128).name
        hint = {"SIGKILL": " (killed, often for using too much memory)",
                "SIGSEGV": " (a crash, often an out-of-bounds index in compiled code)",
                "SIGXCPU": " (CPU time limit)", "SIGXFSZ": " (file size limit)"}.get(name, "")
        return f"the process was killed by {name}{hint}"
    if code < 0:
        return f"the process was killed by {signal.Signals(-code).name}"
    return f"the process exited with code {code}"


def run_capped(command: list[str], timeout: float, keep_bytes: int, max_bytes: int,
               cwd: Path | None = None) -> tuple[int, str, bool]:
    """Run a sandboxed command that does not speak the protocol (a build).

    Returns ``(exit code, the first keep_bytes of its output, whether it timed out)``;
    a process that prints more than ``max_bytes`` is stopped like one that timed out.
    """
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True, close_fds=True, cwd=cwd)
    assert process.stdout is not None
    fd = process.stdout.fileno()
    os.set_blocking(fd, False)
    kept, total = bytearray(), 0
    deadline = time.monotonic() + timeout
    timed_out = False
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or total > max_bytes:
                timed_out = True
                break
            if not selector.select(left):
                continue
            chunk = _read(fd)
            if chunk is None:
                continue
            if not chunk:
                break
            total += len(chunk)
            kept += chunk[:max(0, keep_bytes - len(kept))]
    if timed_out:
        stop(process)
    code = process.wait()
    process.stdout.close()
    return code, kept.decode("utf-8", errors="replace"), timed_out
