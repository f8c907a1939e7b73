"""Error messages: shape errors name the op and both shapes; anomalies name the op and our line."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import autodiff
from autodiff import AnomalyError, Op, ShapeError, Tensor, apply

# ---------------------------------------------------------------- shapes


def test_matmul_shape_error_names_each_operand_and_what_would_fit():
    x, y = Tensor([1.0, 2.0], requires_grad=True), Tensor([[3.0]])
    with pytest.raises(ShapeError) as caught:
        x @ y
    message = str(caught.value)
    assert "matmul" in message.lower()
    assert re.search(r"left operand shape \(2,\)", message)
    assert re.search(r"right operand shape \(1, 1\)", message)
    assert "(2, 1)" in message  # a right operand that would fit


def test_matmul_shape_error_for_matrices_suggests_both_fixes():
    with pytest.raises(ShapeError) as caught:
        Tensor(np.ones((2, 3))) @ np.ones((4, 5))
    message = str(caught.value)
    assert "(2, 3)" in message and "(4, 5)" in message
    assert "(3, 5)" in message and "(2, 4)" in message


def test_matmul_shape_error_with_numpy_on_the_left():
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(4,\)"):
        np.ones((2, 3)) @ Tensor(np.ones(4))


def test_matmul_of_a_scalar_is_a_shape_error():
    with pytest.raises(ShapeError, match=r"rank"):
        Tensor(2.0) @ Tensor([1.0])


def test_matmul_batch_mismatch_names_the_op_and_shapes():
    with pytest.raises(ShapeError, match=r"MatMul.*\(2, 3, 4\).*\(5, 4, 6\)"):
        Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((5, 4, 6)))


@pytest.mark.parametrize(
    "expression, op",
    [
        (lambda x, y: x + y, "Add"),
        (lambda x, y: y.data + x, "Add"),
        (lambda x, y: x * y, "Mul"),
        (lambda x, y: x / y, "Div"),
        (autodiff.maximum, "Maximum"),
        (lambda x, y: autodiff.where(np.ones((2, 3), dtype=bool), x, y), "Where"),
    ],
)
def test_broadcasting_error_names_the_op_and_both_shapes(expression, op):
    x, y = Tensor(np.ones((2, 3)), requires_grad=True), Tensor(np.ones(4))
    with pytest.raises(ShapeError) as caught:
        expression(x, y)
    message = str(caught.value)
    assert op in message and "(2, 3)" in message and "(4,)" in message
    assert isinstance(caught.value, ValueError)  # still a ValueError for generic handlers


def test_concatenate_and_reshape_errors_name_op_and_shapes():
    with pytest.raises(ShapeError, match=r"Concatenate.*\(2, 3\).*\(2, 2\)"):
        autodiff.concatenate([Tensor(np.ones((2, 3))), Tensor(np.ones((2, 2)))], axis=0)
    with pytest.raises(ShapeError, match=r"Reshape.*\(2, 3\)"):
        Tensor(np.ones((2, 3))).reshape(4, 2)


def test_index_out_of_range_names_the_shape():
    with pytest.raises(IndexError, match=r"Index.*\(2, 3\)"):
        Tensor(np.ones((2, 3)))[5]


def test_axis_out_of_range_names_the_rank():
    with pytest.raises(np.exceptions.AxisError, match="rank 2"):
        Tensor(np.ones((2, 3))).sum(axis=2)


# ---------------------------------------------------------------- backward


def test_backward_on_a_non_scalar_without_grad_explains_what_to_pass():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(RuntimeError) as caught:
        y.backward()
    message = str(caught.value)
    assert "(2, 3)" in message and "grad" in message and ".sum()" in message


def test_backward_with_a_grad_of_the_wrong_shape_names_both_shapes():
    y = Tensor(np.ones((2, 3)), requires_grad=True) * 2
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))


def test_backward_on_a_tensor_without_grad_says_so():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        (Tensor([1.0]) * 2).backward()


def test_a_rule_returning_the_wrong_shape_is_named():
    class _Truncating(Op):
        def forward(self, x):
            return x * 2

        def backward(self, grad_out, x, z):
            return (grad_out[:1],)

    y = apply(_Truncating(), Tensor([1.0, 2.0, 3.0], requires_grad=True))
    with pytest.raises(RuntimeError, match=r"_Truncating.*\(1,\).*\(3,\)"):
        y.sum().backward()


# ---------------------------------------------------------------- anomalies


def this_line() -> int:
    return inspect.currentframe().f_back.f_lineno


def assert_names_this_file(message: str, line: int):
    assert f'File "{__file__}", line {line}' in message, message


def test_detect_anomaly_names_the_op_and_line_of_a_nan_in_forward():
    x = Tensor([1.0, -1.0], requires_grad=True)
    with (
        np.errstate(invalid="ignore"),
        autodiff.detect_anomaly(),
        pytest.raises(AnomalyError) as caught,
    ):
        line = this_line() + 1
        x.log()
    message = str(caught.value)
    assert "Log" in message and "NaN" in message and "forward" in message
    assert_names_this_file(message, line)


def test_detect_anomaly_names_the_op_and_line_of_an_inf_in_backward():
    x = Tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore"), autodiff.detect_anomaly():
        line = this_line() + 1
        y = x.sqrt()
        loss = (y * 3.0).sum()
        with pytest.raises(AnomalyError) as caught:
            loss.backward()
    message = str(caught.value)
    assert "Sqrt" in message and "Inf" in message and "backward" in message
    assert_names_this_file(message, line)


def test_without_detect_anomaly_nan_passes_silently_and_the_switch_is_restored():
    x = Tensor([-1.0], requires_grad=True)
    with np.errstate(invalid="ignore"):
        with pytest.raises(AnomalyError), autodiff.detect_anomaly():
            x.log()
        assert np.isnan(x.log().data).all()


def test_axis_on_a_scalar_tensor_names_the_rank():
    # (axis 0 and -1 are accepted on a 0-d tensor, as numpy's sum does: tests/test_numpy_values)
    with pytest.raises(
        np.exceptions.AxisError, match="axis 1 is out of range for a tensor of rank 0"
    ):
        Tensor(2.0).sum(axis=1)
