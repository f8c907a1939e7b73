"""The core: everything reverse mode needs, and nothing else. Read it first, in this order:

1. op.py       the Op base: an operation's forward and its vector-Jacobian product
2. ops.py      the elementary derivative table (+ - * / ** exp log tanh sigmoid relu ...)
3. tensor.py   the Tensor, and `apply`: the one place where tensors meet ops
4. methods.py  the Tensor's operators and methods, one line each, naming their op
5. engine.py   the backward walk (creation order is a topological order), `grad`
6. mode.py     no_grad, and the switches through which the tools room joins in
7. numbers.py, arguments.py  what users may pass: real numbers, axes, matmul shapes
8. code.py     the code forms: each op's numpy source beside its rule, for gradient_source
               and capture (skip the `code` members on a first read)

It imports numpy, the standard library and itself only; the rooms above build on it. The
in-place protection (tools/inplace.py) and detect_anomaly (tools/anomaly.py) sit beside it:
apply and the walk call them through mode.py's switches.
"""

from .arguments import ShapeError
from .code import Code, CodeUnavailable
from .engine import backpropagate, grad, sum_to_shape, topological_order
from .methods import data_of
from .mode import enable_grad, no_grad
from .op import Op
from .tensor import Tensor, apply, lift

__all__ = [
    "Code",
    "CodeUnavailable",
    "Op",
    "ShapeError",
    "Tensor",
    "apply",
    "backpropagate",
    "data_of",
    "enable_grad",
    "grad",
    "lift",
    "no_grad",
    "sum_to_shape",
    "topological_order",
]
