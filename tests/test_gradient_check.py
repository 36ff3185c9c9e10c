"""The numeric gradient tools against functions whose derivatives are known in closed form."""

import numpy as np
import pytest

from cs_conv.gradient_check import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)


def test_rel_error_is_the_largest_relative_difference():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 4.2)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3,\)"):
        rel_error(np.zeros(2), np.zeros(3))


def test_numerical_gradient_of_a_cubic():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    original = x.copy()
    grad = eval_numerical_gradient(lambda v: np.sum(v ** 3), x)
    np.testing.assert_allclose(grad, 3 * original ** 2, rtol=1e-8)
    np.testing.assert_array_equal(x, original, err_msg="x must be restored after probing")


def test_numerical_gradient_array_is_the_vector_jacobian_product():
    x = np.array([0.3, -1.2, 2.0])
    df = np.array([1.0, -2.0, 0.5])
    grad = eval_numerical_gradient_array(np.sin, x, df)
    np.testing.assert_allclose(grad, np.cos(x) * df, rtol=1e-8)


def test_numerical_gradient_array_copies_a_reused_output_buffer():
    buffer = np.empty(2)

    def f(v):
        np.multiply(v, v, out=buffer)  # returns the same array every call
        return buffer

    x = np.array([1.0, 2.0])
    np.testing.assert_allclose(eval_numerical_gradient_array(f, x, np.ones(2)), 2 * x, rtol=1e-8)


def test_grad_check_sparse_returns_small_errors_for_a_right_gradient_and_large_for_a_wrong_one():
    x = np.linspace(-1, 1, 12).reshape(3, 4)
    f = lambda v: float(np.sum(np.exp(v)))
    good = grad_check_sparse(f, x, np.exp(x), num_checks=5, verbose=False)
    bad = grad_check_sparse(f, x, 2 * np.exp(x), num_checks=5, verbose=False)
    assert good.shape == (5,) and good.max() < 1e-8
    assert bad.min() > 0.3


def test_grad_check_sparse_prints_each_check(capsys):
    grad_check_sparse(lambda v: float(np.sum(v ** 2)), np.ones(3), 2 * np.ones(3), num_checks=2)
    assert capsys.readouterr().out.count("relative error") == 2
