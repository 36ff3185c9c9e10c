"""The student's code as the grader sees it: a sandbox, and in it one fresh process per check.

``Student.start_check`` forks a clean check process from the sandbox's fork server;
``Student.call`` sends it arguments (arrays go as raw bytes), gets back a tree of
inert values (``Returned`` arrays, ``Scalar``, ``Seq``, ``Mapping``, ``Other``),
and learns which input arrays the call modified. Whatever went wrong on the
student's side (an exception, a time-out, a crash, a garbled reply) surfaces as
``StudentFailure`` with a message fit for feedback; a check process that failed is
discarded and the next call forks a fresh one (and imports the check's modules again).
``Student.precompile`` has the staged sources compiled to bytecode once, before any check,
so that each check's fresh process imports them without compiling them again.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from autograder import protocol
from autograder.child import Child, ChildGone, ChildTimeout, Zygote
from autograder.limits import Limits
from autograder.protocol import Frame, ProtocolError
from autograder.results import one_line
from autograder.sandbox import CONTROL_FD, SITE_DIR, SUBMISSION_DIR, Bind, Sandbox, interpreter, package_dirs

if TYPE_CHECKING:  # typing.Unpack is Python 3.11's; the annotations that name it are never evaluated
    from typing import Unpack

RUNNER = Path(__file__).with_name("runner.py")
RUNNER_INSIDE = "/opt/grader/runner.py"  # the one file of the grader a sandbox can see (it holds no answers)
RUNTIME_PACKAGES = ("numpy", "threadpoolctl")
MESSAGE_CHARS = 300


class StudentFailure(Exception):
    """The student's code gave no usable answer. ``kind`` is one of
    ``not attempted``, ``raised``, ``timeout``, ``crashed``, ``protocol``."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Deadline:
    """When a request's answer must have arrived, and what the report says ran out if it has not."""

    at: float  # on time.monotonic()'s clock
    reason: str  # "limit 20 s", or "the submission's time budget (180 s) was used up"

    def left(self) -> float:
        return self.at - time.monotonic()


@dataclass(frozen=True)
class Ref:
    """A value an earlier call kept in the student's process (``keep=``), optionally indexed."""

    name: str
    path: tuple[int | str, ...] = ()


@dataclass(frozen=True)
class Returned:
    """An array the student returned. ``array`` is None when it was not asked for or not numeric."""

    type_name: str
    dtype: str
    shape: tuple[int, ...]
    array: np.ndarray | None


@dataclass(frozen=True)
class Scalar:
    value: float | int | bool
    type_name: str


@dataclass(frozen=True)
class Seq:
    items: tuple[Any, ...]
    type_name: str
    length: int


@dataclass(frozen=True)
class Mapping:
    items: dict[str, Any]
    type_name: str
    length: int


@dataclass(frozen=True)
class Other:
    type_name: str


class CallOptions(TypedDict, total=False):
    """How ``Student.call`` makes a call and what it sends back; every one may be left out."""

    kwargs: dict[str, Any]  # keyword arguments of the call
    on: str | None  # call method ``name`` of this kept value instead of a module's function
    keep: str | None  # keep the return value in the student's process under this name
    select: list[tuple[int | str, ...]] | None  # the parts of the return value whose arrays come back (default: all)
    names: dict[str, np.ndarray]  # labels of input arrays, so ``Answer.mutated`` can say which changed
    echo: bool  # send the inputs back, to see whether the call changed them (default: True)


@dataclass
class Answer:
    value: Any
    seconds: float
    mutated: list[str] = field(default_factory=list)


def clean(text: str, limit: int = MESSAGE_CHARS) -> str:
    """Student-supplied text made stable for a report: no addresses, runs of white space as one
    space (a traceback's lines read as one), then ``results.one_line``."""
    text = re.sub(r"0x[0-9a-fA-F]{6,}", "0x...", text)
    return one_line(re.sub(r"\s+", " ", text).strip(), limit)


class Student:
    """One submission's code: a sandbox for the whole submission, a fresh process for each check."""

    def __init__(self, sandbox: Sandbox, package_root: Path, scratch: Path, limits: Limits):
        self.sandbox = sandbox
        self.package_root = package_root
        self.scratch = scratch
        self.limits = limits
        self._zygote: Zygote | None = None
        self._child: Child | None = None
        self._modules: list[str] = []
        self._packages = package_dirs(RUNTIME_PACKAGES)

    # -- process life

    def _argv(self) -> list[str]:
        if self.sandbox.isolated:
            runner, root, site = RUNNER_INSIDE, SUBMISSION_DIR, SITE_DIR
        else:
            runner, root, site = str(self._runner_copy()), str(self.package_root), str(self._site_links())
        return [str(interpreter()), "-I", "-S", "-B", runner, root, site, str(CONTROL_FD),
                "1" if self.sandbox.isolated else "0"]

    def _runner_copy(self) -> Path:
        """The runner, copied out of the grader's folder (bound from here in a mount namespace, run from
        here without one), so the grader's own files can stay unreadable to the sandbox user."""
        copy = self.scratch / "runner.py"
        if not copy.exists():
            shutil.copyfile(RUNNER, copy)
            copy.chmod(0o644)
        return copy

    def _site_links(self) -> Path:
        """Without a mount namespace: a folder of symlinks to just the allowlisted packages."""
        site = self.scratch / "site"
        if not site.exists():
            site.mkdir(parents=True)
            for folder in self._packages:
                (site / folder.name).symlink_to(folder)
        return site

    def _start(self) -> Child:
        """A fresh check process (starting the sandbox first if it is not running)."""
        if self._zygote is None or not self._zygote.alive:
            self.scratch.mkdir(parents=True, exist_ok=True)
            binds = [*self.sandbox.binds(self._packages, self.package_root, None),
                     Bind(str(self._runner_copy()), RUNNER_INSIDE, "ro")]
            argv = self._argv()
            self._zygote = Zygote(
                lambda fds: self.sandbox.command(argv, fds, self.scratch, binds, self.limits.memory_bytes,
                                                 self.limits.submission_seconds),
                self.limits, cwd=self.scratch)
        self._child = self._zygote.fork()
        return self._child

    def start_check(self) -> None:
        """Begin a new check: the next request goes to a new process that has imported nothing."""
        self.end_check()
        self._modules = []

    def end_check(self) -> None:
        """Let the current check process finish, and make sure it has."""
        if self._child is not None:
            self._child.close()
            self._child = None

    def close(self) -> None:
        """End the current check and the sandbox."""
        self.end_check()
        if self._zygote is not None:
            self._zygote.stop()
            self._zygote = None

    def discard(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child = None

    def precompile(self, files: list[str], deadline: Deadline) -> int:
        """Store bytecode beside the staged ``.py`` files (relative to the package root); how many got it.

        A fresh process, in which nothing of the student's has run, compiles each file (compiling
        runs none of it) and sends back the code object's bytes; the header that ties them to
        their source (its size and modification time, as the import system checks them) is
        written here. A file that does not compile, or a reply that is not one byte array, is
        left alone: the checks compile it themselves and report what is wrong, as before.
        """
        self.start_check()
        stored = 0
        try:
            for relative in files:
                if deadline.left() <= 0:
                    break
                try:
                    frame, _ = self._request({"op": "compile", "file": relative}, [], deadline)
                except StudentFailure:
                    continue
                code = frame.arrays[0] if len(frame.arrays) == 1 else None
                if code is None or code.dtype != np.uint8 or code.ndim != 1:
                    continue
                source = self.package_root / relative
                info = source.stat()
                cached = Path(importlib.util.cache_from_source(str(source), optimization=""))
                cached.parent.mkdir(mode=0o755, exist_ok=True)
                cached.write_bytes(importlib.util.MAGIC_NUMBER
                                   + struct.pack("<III", 0, int(info.st_mtime) & 0xFFFFFFFF, info.st_size & 0xFFFFFFFF)
                                   + code.tobytes())
                cached.chmod(0o644)
                stored += 1
        finally:
            self.end_check()
        return stored

    # -- requests

    def import_module(self, module: str, deadline: Deadline) -> None:
        """Import ``module`` in the current process (starting one if needed), remembering it for restarts."""
        self._request({"op": "import", "module": module}, [], deadline, importing=module)
        if module not in self._modules:
            self._modules.append(module)

    def call(self, module: str, name: str, args: list[Any], deadline: Deadline,
             **options: Unpack[CallOptions]) -> Answer:
        """Call ``module.name(*args, **kwargs)``, or method ``name`` of kept value ``on`` (``CallOptions``)."""
        encoder = _Encoder()
        on, select, echo = options.get("on"), options.get("select"), options.get("echo", True)
        header = {
            "op": "call",
            "callee": {"ref": on, "name": name} if on else {"module": module, "name": name},
            "args": [encoder.tree(a) for a in args],
            "kwargs": {k: encoder.tree(v) for k, v in options.get("kwargs", {}).items()},
            "keep": options.get("keep"),
            "select": [list(p) for p in select] if select is not None else None,
            "echo": echo,
        }
        frame, seconds = self._request(header, encoder.arrays, deadline)
        value = decode_value(frame.header.get("value"), frame.arrays)
        echoed = frame.header.get("echo")
        if not isinstance(echoed, list) or len(echoed) != (len(encoder.arrays) if echo else 0):
            raise self._protocol("reply does not echo the inputs")
        mutated = []
        labels = {id(array): label for label, array in options.get("names", {}).items()}
        for k, index in enumerate(echoed):
            sent = encoder.arrays[k]
            if type(index) is not int or not 0 <= index < len(frame.arrays):
                raise self._protocol("reply echoes an input that is not there")
            after = frame.arrays[index]
            if after.shape != sent.shape or after.dtype != sent.dtype or after.tobytes() != sent.tobytes():
                mutated.append(labels.get(id(sent), f"argument array {k}"))
        return Answer(value, seconds, mutated)

    def setitem(self, ref: str, attr: str, key: str, value: Any, deadline: Deadline) -> None:
        """``kept[ref].attr[key] = value`` in the student's process (e.g. a model's parameters)."""
        encoder = _Encoder()
        header = {"op": "setitem", "target": {"ref": ref, "attr": attr}, "key": key,
                  "value": encoder.tree(value)}
        self._request(header, encoder.arrays, deadline)

    def _request(self, header: dict[str, Any], arrays: list[np.ndarray], deadline: Deadline,
                 importing: str | None = None) -> tuple[Frame, float]:
        child = self._child
        if child is None:
            child = self._start()
            for module in self._modules:
                self._exchange(child, {"op": "import", "module": module}, [], deadline, module)
        return self._exchange(child, header, arrays, deadline, importing)

    def _exchange(self, child: Child, header: dict[str, Any], arrays: list[np.ndarray], deadline: Deadline,
                  importing: str | None) -> tuple[Frame, float]:
        during = f" while importing {importing}" if importing else ""
        try:
            frame, seconds = child.exchange(protocol.encode(header, arrays), deadline.left())
        except ChildTimeout:
            self.discard()
            raise StudentFailure("timeout", f"timed out{during} ({deadline.reason})") from None
        except ChildGone as gone:
            output = self._tail(child)
            self.discard()
            raise StudentFailure("crashed", f"{gone}{during}{output}") from None
        except ProtocolError as error:
            self.discard()
            raise StudentFailure("protocol", f"the process sent a malformed reply{during} ({error})") from None
        ok = frame.header.get("ok")
        if ok is True:
            return frame, seconds
        problem = frame.header.get("error")
        if ok is not False or not isinstance(problem, dict):
            raise self._protocol(f"reply has no verdict{during}")
        kind, message, where = (problem.get(k) for k in ("type", "message", "where"))
        if not all(isinstance(v, str) for v in (kind, message, where)):
            raise self._protocol(f"reply has a malformed error{during}")
        assert isinstance(kind, str) and isinstance(message, str) and isinstance(where, str)
        at = f" ({clean(where, 120)})" if where else ""
        if kind == "NotImplementedError":
            detail = f" ({clean(message)})" if message else ""
            raise StudentFailure("not attempted", f"not attempted{detail}")
        if kind == "SystemExit":
            raise StudentFailure("raised", f"called sys.exit({clean(message, 40)}){during}{at}")
        return_text = f"raised {clean(kind, 60)}: {clean(message)}" if message else f"raised {clean(kind, 60)}"
        raise StudentFailure("raised", f"{return_text}{during}{at}")

    def _protocol(self, why: str) -> StudentFailure:
        self.discard()
        return StudentFailure("protocol", f"the process sent a malformed reply ({why})")

    @staticmethod
    def _tail(child: Child) -> str:
        text = clean(child.output[-400:], 200)
        return f"; its last output: {text}" if text else ""


class _Encoder:
    """Arguments as a tagged tree; each distinct array object is sent once."""

    def __init__(self) -> None:
        self.arrays: list[np.ndarray] = []
        self._index: dict[int, int] = {}

    def tree(self, value: Any) -> Any:
        if isinstance(value, np.ndarray):
            if id(value) not in self._index:
                self._index[id(value)] = len(self.arrays)
                self.arrays.append(value)
            return {"$t": "array", "i": self._index[id(value)]}
        if isinstance(value, Ref):
            return {"$t": "ref", "name": value.name, "path": list(value.path)}
        if isinstance(value, tuple):
            return {"$t": "tuple", "v": [self.tree(v) for v in value]}
        if isinstance(value, list):
            return {"$t": "list", "v": [self.tree(v) for v in value]}
        if isinstance(value, dict):
            return {"$t": "dict", "v": {str(k): self.tree(v) for k, v in value.items()}}
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        if isinstance(value, (int, np.integer)):
            return int(value)
        if isinstance(value, (float, np.floating)):
            return float(value)
        if value is None or isinstance(value, str):
            return value
        raise TypeError(f"cannot send {type(value).__name__} to the student's process")


def decode_value(node: Any, arrays: list[np.ndarray], depth: int = 0) -> Any:
    """A reply's value tree as inert objects; anything unexpected is a protocol error."""
    if depth > 6 or not isinstance(node, dict) or not isinstance(node.get("$t"), str):
        raise ProtocolError("reply value is malformed")
    tag = node["$t"]
    type_name = _text(node.get("type", ""))
    if tag == "none":
        return None
    if tag == "array":
        shape = node.get("shape")
        if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
            raise ProtocolError("reply array has a malformed shape")
        array = None
        if "i" in node:
            index = node["i"]
            if type(index) is not int or not 0 <= index < len(arrays):
                raise ProtocolError("reply refers to an array that is not there")
            array = arrays[index]
            if list(array.shape) != shape:
                raise ProtocolError("reply array's shape does not match its data")
        return Returned(type_name, _text(node.get("dtype", "")), tuple(shape), array)
    if tag in ("float", "int", "bool"):
        value = node.get("v")
        expected = {"float": (float, int), "int": (int,), "bool": (bool,)}[tag]
        if not isinstance(value, expected):
            raise ProtocolError("reply scalar is malformed")
        return Scalar(value, type_name)
    if tag == "seq":
        items = node.get("v")
        length = node.get("len")
        if not isinstance(items, list) or type(length) is not int:
            raise ProtocolError("reply sequence is malformed")
        return Seq(tuple(decode_value(item, arrays, depth + 1) for item in items), type_name, length)
    if tag == "dict":
        items = node.get("v")
        length = node.get("len")
        if not isinstance(items, dict) or type(length) is not int:
            raise ProtocolError("reply mapping is malformed")
        return Mapping({_text(k): decode_value(v, arrays, depth + 1) for k, v in items.items()}, type_name, length)
    if tag == "other":
        return Other(type_name)
    raise ProtocolError("reply value has an unknown tag")


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ProtocolError("reply has a non-text name")
    return clean(value, 100)

