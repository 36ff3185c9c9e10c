"""The grader's trusted parts on their own: reference layers, numeric gradients, wire format, verdicts.

No sandbox here: these run in milliseconds. The reference is checked three ways:
against the grader's own numeric gradients, against the solved kit (which has its
own tests), and on hand-traceable inputs.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder import catalog, judge, points, protocol, reference
from autograder.grade import WITHOUT_EXTENSION
from autograder.numeric import KINK_FREE_STEP, LINEAR_STEP, numeric_gradient
from autograder.protocol import ProtocolError
from autograder.report import results_json, text
from autograder.results import CaseResult, Report
from autograder.student import Returned, Scalar, Seq, clean, decode_value
from cs_conv import im2col as kit_im2col
from cs_conv import layers
from cs_conv.tasks import TASKS

REPO = Path(__file__).resolve().parent.parent


def rel(a: np.ndarray, b: np.ndarray) -> float:
    return judge.relative_error(a, b, judge.FLOAT64.floor)


# ---------------------------------------------------------------- reference layers


@st.composite
def conv_problems(draw):
    groups = draw(st.sampled_from([1, 2]))
    C = groups * draw(st.integers(1, 2))
    F = groups * draw(st.integers(1, 2))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    param = {"stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
             "pad": (draw(st.integers(0, 2)), draw(st.integers(0, 2))),
             "dilation": draw(st.integers(1, 2)), "groups": groups}
    H = draw(st.integers(max(1, (kh - 1) * param["dilation"] + 1 - 2 * param["pad"][0]), 7))
    W = draw(st.integers(max(1, (kw - 1) * param["dilation"] + 1 - 2 * param["pad"][1]), 7))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((draw(st.integers(1, 2)), C, H, W))
    return x, rng.standard_normal((F, C // groups, kh, kw)), rng.standard_normal(F), param


@settings(max_examples=40, deadline=None)
@given(conv_problems())
def test_reference_conv_matches_numeric_gradients_and_the_kit(problem):
    x, w, b, param = problem
    out = reference.conv_forward(x, w, b, param)
    assert rel(out, layers.conv_forward_naive(x, w, b, param)[0]) < 1e-12
    dout = np.random.default_rng(0).standard_normal(out.shape)
    dx, dw, db = reference.conv_backward(dout, x, w, param)
    assert rel(dx, numeric_gradient(lambda v: reference.conv_forward(v, w, b, param), x, dout, LINEAR_STEP)) < 1e-8
    assert rel(dw, numeric_gradient(lambda v: reference.conv_forward(x, v, b, param), w, dout, LINEAR_STEP)) < 1e-8
    assert rel(db, numeric_gradient(lambda v: reference.conv_forward(x, w, v, param), b, dout, LINEAR_STEP)) < 1e-8


@st.composite
def pool_problems(draw):
    ph, pw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    param = {"pool_height": ph, "pool_width": pw,
             "stride": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
             "pad": (draw(st.integers(0, ph // 2)), draw(st.integers(0, pw // 2))),
             "ceil_mode": draw(st.booleans())}
    H = draw(st.integers(max(1, ph - 2 * param["pad"][0]), 7))
    W = draw(st.integers(max(1, pw - 2 * param["pad"][1]), 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), H, W)
    distinct = rng.permutation(np.prod(shape)).reshape(shape) * 0.05 - 1.0
    ties = rng.integers(-1, 2, size=shape).astype(float)
    return distinct, ties, param


@settings(max_examples=60, deadline=None)
@given(pool_problems())
def test_reference_pooling_matches_numeric_gradients_and_the_kit(problem):
    x, ties, param = problem
    for kind in ("max", "avg"):
        forward = getattr(reference, f"{kind}_pool_forward")
        backward = getattr(reference, f"{kind}_pool_backward")
        kit_forward = getattr(layers, f"{kind}_pool_forward_naive")
        kit_backward = getattr(layers, f"{kind}_pool_backward_naive")
        out, cache = kit_forward(x, param)
        assert rel(forward(x, param), out) < 1e-12
        dout = np.random.default_rng(1).standard_normal(out.shape)
        numeric = numeric_gradient(lambda v, forward=forward: forward(v, param), x, dout, KINK_FREE_STEP)
        assert rel(backward(dout, x, param), numeric) < 1e-8
        # Tied windows: the first maximum in row-major order, as the kit (and PyTorch) do.
        _, tie_cache = kit_forward(ties, param)
        assert rel(backward(dout, ties, param), kit_backward(dout, tie_cache)) < 1e-12


def test_reference_basic_layers_match_numeric_gradients():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((3, 2, 4)), rng.standard_normal((8, 5)), rng.standard_normal(5)
    dout = rng.standard_normal((3, 5))
    dx, dw, db = reference.affine_backward(dout, x, w)
    assert rel(dx, numeric_gradient(lambda v: reference.affine_forward(v, w, b), x, dout, LINEAR_STEP)) < 1e-9
    assert rel(dw, numeric_gradient(lambda v: reference.affine_forward(x, v, b), w, dout, LINEAR_STEP)) < 1e-9
    assert rel(db, numeric_gradient(lambda v: reference.affine_forward(x, w, v), b, dout, LINEAR_STEP)) < 1e-9
    scores, y = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    loss, dscores = reference.softmax_loss(scores, y)
    assert loss == pytest.approx(layers.softmax_loss(scores, y)[0], rel=1e-12)
    assert rel(dscores, numeric_gradient(lambda v: reference.softmax_loss(v, y)[0], scores)) < 1e-7
    huge = scores * 1e4
    assert np.isfinite(reference.softmax_loss(huge, y)[0])


def test_reference_conv_on_a_hand_traced_case():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    out = reference.conv_forward(x, w, np.array([0.5]), {"stride": 2, "pad": 0})
    # Each window's top-left minus its bottom-right is 0 - 5 = -5, plus the bias.
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), -4.5))


@pytest.mark.parametrize("kernel, param", [((2, 3), {"stride": 1, "pad": 1}),
                                           ((3, 2), {"stride": (2, 1), "pad": (0, 2), "dilation": 2})])
def test_reference_im2col_follows_the_documented_layout(kernel, param):
    x = np.random.default_rng(5).standard_normal((2, 3, 7, 6))
    args = (param["pad"], param["stride"], param.get("dilation", 1))
    cols = reference.im2col(x, *kernel, param)
    np.testing.assert_array_equal(cols, kit_im2col.im2col(x, *kernel, *args))
    back = np.random.default_rng(6).standard_normal(cols.shape)
    folded = reference.col2im(back, x.shape, *kernel, param)
    assert rel(folded, kit_im2col.col2im(back, *x.shape, *kernel, *args)) < 1e-12
    # col2im is im2col's adjoint.
    assert np.sum(cols * back) == pytest.approx(np.sum(x * reference.col2im(back, x.shape, *kernel, param)))


# ---------------------------------------------------------------- the wire format


def test_frames_round_trip():
    arrays = [np.arange(6.0).reshape(2, 3), np.array([1, 2], dtype=np.int64), np.zeros((0, 4), np.float32)]
    data = protocol.encode({"ok": True, "value": {"$t": "none"}}, arrays)
    header_len, payload_len = protocol.read_prefix(data[:protocol.PREFIX.size], 1 << 20)
    start = protocol.PREFIX.size
    frame = protocol.decode_body(data[start:start + header_len], data[start + header_len:])
    assert frame.header["ok"] is True
    for sent, got in zip(arrays, frame.arrays, strict=True):
        assert got.dtype == sent.dtype and got.shape == sent.shape and np.array_equal(got, sent)
        assert type(got) is np.ndarray and got.flags.writeable


def test_prefix_limits_are_enforced():
    with pytest.raises(ProtocolError, match="magic"):
        protocol.read_prefix(struct.pack("<4sIQ", b"EVIL", 10, 10), 1 << 20)
    with pytest.raises(ProtocolError, match="header"):
        protocol.read_prefix(struct.pack("<4sIQ", b"CSG1", 1 << 30, 0), 1 << 20)
    with pytest.raises(ProtocolError, match="payload"):
        protocol.read_prefix(struct.pack("<4sIQ", b"CSG1", 10, 1 << 40), 1 << 20)


@pytest.mark.parametrize("header, payload", [
    (b"not json", b""),
    (b"[1, 2]", b""),
    (json.dumps({"arrays": [{"dtype": "object", "shape": [1]}]}).encode(), b"\0" * 8),
    (json.dumps({"arrays": [{"dtype": "float64", "shape": [-1]}]}).encode(), b""),
    (json.dumps({"arrays": [{"dtype": "float64", "shape": [4]}]}).encode(), b"\0" * 8),
    (json.dumps({"arrays": [{"dtype": "float64", "shape": [1]}]}).encode(), b"\0" * 16),
    (json.dumps({"arrays": [{"dtype": "float64", "shape": [1], "evil": 1}]}).encode(), b"\0" * 8),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, b""),
])
def test_malformed_bodies_are_protocol_errors(header, payload):
    with pytest.raises(ProtocolError):
        protocol.decode_body(header, payload)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=64))
def test_arbitrary_bytes_never_escape_as_anything_but_protocol_errors(header, payload):
    try:
        frame = protocol.decode_body(header, payload)
    except ProtocolError:
        return
    for array in frame.arrays:
        assert type(array) is np.ndarray


def test_reply_values_decode_to_inert_objects_only():
    arrays = [np.ones((2, 2))]
    tree = {"$t": "seq", "type": "tuple", "len": 2, "v": [
        {"$t": "array", "i": 0, "type": "Liar", "dtype": "float64", "shape": [2, 2]},
        {"$t": "float", "v": 1.5, "type": "float64"}]}
    value = decode_value(tree, arrays)
    assert isinstance(value, Seq) and isinstance(value.items[0], Returned) and isinstance(value.items[1], Scalar)
    assert value.items[0].type_name == "Liar"
    for bad in ({"$t": "pickle", "v": "..."}, {"$t": "array", "i": 5, "shape": [2, 2]},
                {"$t": "array", "i": 0, "shape": [4]}, {"$t": "float", "v": "1.0"}, [1, 2], None):
        with pytest.raises(ProtocolError):
            decode_value(bad, arrays)


# ---------------------------------------------------------------- verdicts and reports


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


def test_catalog_has_a_check_per_task_in_table_order_with_its_module_and_number():
    tasks = list(TASKS.values())
    assert [check.function for check in catalog.CATALOG] == [task.tested_as for task in tasks]
    for check, task in zip(catalog.CATALOG, tasks, strict=True):
        assert (check.module, check.task) == (task.module, task.number), task.function
        names = [case.name for case in check.cases]
        assert names and len(names) == len(set(names)), f"{check.function} has no or duplicate case names"
        assert all(":" not in name for name in names)
        assert {case.function for case in check.cases} == {check.function}, "a case's test name is its check's"


def test_a_task_without_cases_or_cases_without_a_task_stop_the_grader(monkeypatch):
    monkeypatch.setitem(catalog.CASES, "helper", ())
    with pytest.raises(RuntimeError, match=r"tasks without cases: \[\]; cases without a task: \['helper'\]"):
        catalog._catalog()
    monkeypatch.delitem(catalog.CASES, "helper")
    monkeypatch.delitem(catalog.CASES, "im2col_cython")
    with pytest.raises(RuntimeError, match=r"tasks without cases: \['im2col_cython'\]"):
        catalog._catalog()


def test_the_build_is_skipped_only_for_modules_that_never_load_the_compiled_kernels():
    """``grade.WITHOUT_EXTENSION`` comes from the table's ``compiled`` flags; importing shows they are true."""
    probe = "import importlib, sys; importlib.import_module(sys.argv[1]); print('cs_conv.im2col_cython' in sys.modules)"
    env = {key: value for key, value in os.environ.items() if key != "CS_CONV_LAYERS"}
    for module in sorted({task.module for task in TASKS.values()}):
        loaded = subprocess.run([sys.executable, "-c", probe, module], capture_output=True, text=True, check=True,
                                cwd=REPO, env=env).stdout.strip()
        assert (loaded == "False") == (module in WITHOUT_EXTENSION), module
    assert WITHOUT_EXTENSION, "the loop layers are graded without a build"


def test_only_selects_by_pattern_and_rejects_unknown_names():
    assert [c.function for c in catalog.select(["conv_*_naive"])] == ["conv_forward_naive", "conv_backward_naive"]
    with pytest.raises(ValueError, match="no check matches"):
        catalog.select(["conv_forward_navie"])


def test_gradescope_json_has_exactly_the_schema_fields():
    report = Report("alice", [CaseResult("relu_forward", "float32", "1.3", 0.0, 1.0, "out has dtype float64, "
                                         "expected float32")], seconds=1.234)
    document = results_json(report, extra=False)
    assert set(document) == {"score", "execution_time", "output", "output_format", "stdout_visibility", "tests"}
    (test,) = document["tests"]
    assert set(test) == {"name", "number", "score", "max_score", "status", "output", "visibility"}
    assert test["name"] == "relu_forward: float32" and test["status"] == "failed"
    assert test["output"] == "out has dtype float64, expected float32"
    extended = results_json(report, extra=True)
    assert extended["tests"][0]["extra_data"] == {"function": "relu_forward", "case": "float32", "task": "1.3"}


def conv_forward_report(table: dict) -> Report:
    """Seven cases of conv_forward_naive (task 2.1), five passed, one of relu_forward (1.3), failed."""
    results = [CaseResult("conv_forward_naive", f"case {k}", "2.1", 1.0 if k < 5 else 0.0, 1.0,
                          "" if k < 5 else "out is wrong") for k in range(7)]
    results.append(CaseResult("relu_forward", "float32", "1.3", 0.0, 1.0, "out has dtype float64"))
    return Report("bob", results, points=points.parse(table))


def test_with_a_points_table_every_format_gives_the_notebooks_points():
    table = {"conv_forward_naive": {"task": "Notebook 02, task 2.1", "points": 6, "notebook": "02_convolution"},
             "relu_forward": {"task": "Notebook 01, task 1.3", "points": 1, "notebook": "01_vector_backprop"}}
    report = conv_forward_report(table)
    # 6 * 5/7 = 4.2857...: rounded to 2 places, as nbgrader then records the grade cell.
    assert report.tasks()["2.1"].score == 4.29 and report.score == 4.29 and report.max_score == 7
    document = results_json(report, extra=True)
    assert document["score"] == 4.29
    assert document["extra_data"]["tasks"] == {"2.1": {"score": 4.29, "max_score": 6.0},
                                               "1.3": {"score": 0.0, "max_score": 1.0}}
    assert document["extra_data"]["unit"] == "notebook points"
    first = document["tests"][0]
    assert (first["score"], first["max_score"]) == (0.8571, 0.8571)  # a case's share of its task's 6 points
    assert first["extra_data"]["notebook"] == "02_convolution"
    shown = text(report)
    assert "Score: 4.29 / 7 notebook points" in shown and "conv_forward_naive (task 2.1): 4.29 / 6" in shown
    assert document["output"].splitlines()[0] == "Score: 4.29 / 7 notebook points"


def test_without_a_points_table_each_case_is_a_point_and_the_report_says_so():
    report = conv_forward_report({})
    assert report.score == 5 and report.max_score == 8
    assert text(report).splitlines()[1] == "Score: 5 / 8 case points"
    assert "--points gives the notebooks' points" in text(report)


def test_a_points_table_that_cannot_be_used_says_why():
    with pytest.raises(points.PointsError, match="relu_forward: needs a \"task\""):
        points.parse({"relu_forward": {"points": 1}})
    with pytest.raises(points.PointsError, match="points must be 0 or more"):
        points.parse({"relu_forward": {"task": "Notebook 01, task 1.3", "points": -1}})


def test_loop_yardsticks_compute_the_same_layers():
    # They only time, but a yardstick that computed something else would time something else.
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    param = {"stride": 1, "pad": 1}
    dout = rng.standard_normal((2, 4, 8, 8))
    assert rel(reference.conv_forward_loops(x, w, b, param), reference.conv_forward(x, w, b, param)) < 1e-12
    for got, want in zip(reference.conv_backward_loops(dout, x, w, param), reference.conv_backward(dout, x, w, param),
                         strict=True):
        assert rel(got, want) < 1e-12
    pool = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dout = rng.standard_normal((2, 3, 4, 4))
    for kind in ("max", "avg"):
        forward, backward = getattr(reference, f"{kind}_pool_forward"), getattr(reference, f"{kind}_pool_backward")
        assert rel(reference.pool_forward_loops(x, pool, kind), forward(x, pool)) < 1e-12
        assert rel(reference.pool_backward_loops(dout, x, pool, kind), backward(dout, x, pool)) < 1e-12
