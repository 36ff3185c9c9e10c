"""Resource limits for everything the grader runs on a student's behalf, in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass

GiB = 1 << 30
MiB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Defaults suit a 2-core machine grading hundreds of submissions.

    Wall clocks are the real controls; ``RLIMIT_CPU`` is only a backstop.
    """

    # One case: the student's time over every request it makes; the floor of a limit that grows to
    # 20x the grader's own seven-loop layer on this machine for the case's work (autograder.pace).
    case_seconds: float = 20.0
    import_seconds: float = 20.0  # importing the student's module in a fresh process
    # Everything for one full grade, build included: a submission that loops in every function
    # finishes within it, the checks it leaves unrun reported as not run.
    submission_seconds: float = 180.0
    # The part of that budget a grade of any selection (``--only``) needs whole: sandbox start and
    # build; a selection gets this plus its share of the rest, by number of cases.
    setup_seconds: float = 60.0
    build_seconds: float = 180.0  # compiling im2col_cython.pyx
    memory_bytes: int = 2 * GiB  # address space of each student process
    build_memory_bytes: int = 4 * GiB
    build_bytes: int = 256 * MiB  # the build's writable folder (sources, generated C, the library)
    processes: int = 16  # processes and threads of the sandbox user (honest code needs 2)
    file_bytes: int = 64 * MiB  # largest file the student's process may write (only /tmp is writable)
    tmp_bytes: int = 64 * MiB  # the sandbox's private /tmp
    open_files: int = 256
    output_keep_bytes: int = 16 * 1024  # student stdout/stderr kept for messages
    output_max_bytes: int = 8 * MiB  # more output than this and the process is stopped
    reply_bytes: int = 256 * MiB  # largest reply the parent accepts
    timeouts_per_function: int = 1  # after this many time-outs the function's other cases are not run


def parse_size(text: str) -> int:
    """``"2G"``, ``"512M"``, ``"64k"`` or a plain byte count as bytes.

    >>> parse_size("2G"), parse_size("512M"), parse_size("4096")
    (2147483648, 536870912, 4096)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)i?[bB]?\s*", text)
    if not match:
        raise ValueError(f"not a size: {text!r} (try 2G, 512M, 64k)")
    scale = {"": 1, "k": 1 << 10, "m": MiB, "g": GiB}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)
