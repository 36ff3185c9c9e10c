"""autograder/judge.py's messages, and the cleaning of student text for reports (``student.clean``)."""

from __future__ import annotations

import numpy as np
import pytest

from autograder import judge
from autograder.student import Returned, clean


def test_judge_messages_name_the_output_and_never_the_answer():
    expected = np.array([1.0, 2.0, 3.0])
    message = judge.close(np.array([1.0, 2.5, 3.0]), expected, "dw", judge.FLOAT64)
    assert message == "dw relative error 1.1e-01, needs < 1e-7"
    assert judge.close(expected + 1e-12, expected, "dw", judge.FLOAT64) is None
    assert "inf or nan" in judge.close(np.array([1.0, np.nan, 3.0]), expected, "dx", judge.FLOAT64)
    with pytest.raises(judge.Fail, match=r"out has dtype float64, expected float32"):
        judge.array(Returned("ndarray", "float64", (3,), expected), "out", (3,), np.float32)
    with pytest.raises(judge.Fail, match=r"out is a Liar, expected a plain numpy.ndarray"):
        judge.array(Returned("Liar", "float64", (3,), expected), "out", (3,), np.float64)
    with pytest.raises(judge.Fail, match=r"expected a tuple \(dx, dw, db\)"):
        judge.unpack(Returned("ndarray", "float64", (3,), expected), ("dx", "dw", "db"))


def test_student_text_is_cleaned_for_reports():
    assert clean("bad\x00value at 0x7f3a2b1c9d00\nnext") == "bad\\x00value at 0x... next"
    assert len(clean("x" * 1000)) == 300
