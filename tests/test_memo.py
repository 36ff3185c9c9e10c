"""autograder.memo: expected values remembered for exactly the inputs they were computed for."""

from __future__ import annotations

import numpy as np
import pytest

from autograder import memo


@pytest.fixture(autouse=True)
def empty_memory(monkeypatch):
    monkeypatch.setattr(memo, "_remembered", type(memo._remembered)())


def counting(values: dict[str, np.ndarray]):
    calls = []

    def compute():
        calls.append(1)
        return {k: v.copy() for k, v in values.items()}
    return compute, calls


def test_the_same_inputs_are_computed_once():
    x = np.arange(6.0).reshape(2, 3)
    compute, calls = counting({"dx": x * 2})
    first = memo.remembered("double", (x, {"stride": 1}), compute)
    again = memo.remembered("double", (x.copy(), {"stride": 1}), compute)
    assert len(calls) == 1
    np.testing.assert_array_equal(again["dx"], x * 2)
    assert first.keys() == again.keys() == {"dx"}


@pytest.mark.parametrize("changed", [
    lambda x, p: (np.where(np.eye(2, 3, dtype=bool), np.nextafter(x, np.inf), x), p),  # one entry's last bit
    lambda x, p: (x.astype(np.float32), p),  # same values, another dtype
    lambda x, p: (x.reshape(3, 2), p),  # same bytes, another shape
    lambda x, p: (x, {"stride": 2}),  # another parameter
], ids=["one entry", "dtype", "shape", "parameter"])
def test_any_difference_in_the_inputs_computes_again(changed):
    x, param = np.arange(6.0).reshape(2, 3) + 1, {"stride": 1}
    compute, calls = counting({"dx": np.ones(3)})
    memo.remembered("double", (x, param), compute)
    memo.remembered("double", changed(x, param), compute)
    assert len(calls) == 2


def test_another_label_is_another_computation():
    x = np.ones(3)
    compute, calls = counting({"dx": x})
    memo.remembered("conv centred differences", (x,), compute)
    memo.remembered("pool centred differences", (x,), compute)
    assert len(calls) == 2


def test_values_handed_out_cannot_be_changed_for_the_next_submission():
    x = np.ones(3)
    compute, _ = counting({"dx": np.zeros(3)})
    got = memo.remembered("zeros", (x,), compute)
    with pytest.raises(ValueError, match="read-only"):
        got["dx"][0] = 1.0
    got["dx"] = np.ones(3)  # replacing an entry of the dict handed out changes nothing remembered
    np.testing.assert_array_equal(memo.remembered("zeros", (x,), compute)["dx"], np.zeros(3))


def test_memory_is_bounded_and_forgets_the_oldest_first(monkeypatch):
    monkeypatch.setattr(memo, "ENTRIES", 3)
    compute, calls = counting({"dx": np.zeros(1)})
    for value in range(5):
        memo.remembered("bounded", (value,), compute)
    assert len(memo._remembered) == 3
    memo.remembered("bounded", (4,), compute)  # the newest is still there
    assert len(calls) == 5
    memo.remembered("bounded", (0,), compute)  # the oldest was forgotten
    assert len(calls) == 6
