"""The acceptance study as a test: real CS231n layers from public repositories (``real_cs231n_code``),
ported with glue only. No buggy function passes every CS231n-level case, no correct one loses any,
and every loss comes with a message; cases beyond CS231n's semantics are the kit's extensions.
"""

from __future__ import annotations

import pytest
from autograder_helpers import copy_solved
from real_cs231n_code import PORTS
from test_fair_verdicts import cs231n_level

pytestmark = pytest.mark.slow


def test_the_study_covers_eight_repositories_and_every_kind_of_layer():
    assert len({port.repo for port in PORTS}) >= 8
    functions = {f for port in PORTS for f in port.verdict}
    assert {"conv_forward_naive", "conv_backward_naive", "max_pool_forward_naive", "max_pool_backward_naive",
            "softmax_loss", "relu_forward", "relu_backward", "affine_forward", "affine_backward"} <= functions
    assert any(port.verdict[f] for port in PORTS for f in port.verdict)  # real bugs, not only right code
    assert any(not port.verdict[f] for port in PORTS for f in port.verdict)


@pytest.mark.parametrize("port", PORTS, ids=[port.repo for port in PORTS])
def test_real_code_is_judged_right(port, tmp_path, grade_with):
    folder = copy_solved(tmp_path / "submission")
    layers = folder / "cs_conv" / "layers.py"
    layers.write_text(layers.read_text() + "\n\n" + port.code)
    report = grade_with(folder, only=list(port.verdict))
    assert report.error is None, report.error
    for function, wrong in port.verdict.items():
        results = [r for r in report.results if r.function == function and cs231n_level(r.case)]
        lost = {r.case: r.message for r in results if not r.passed}
        if wrong:
            assert lost, f"{port.repo} {function} ({wrong}) passed every CS231n-level case"
            assert all(lost.values())
        else:
            assert not lost, f"{port.repo} {function} is right but lost {lost}"
