"""Primitive operations: the derivative table of the engine.

Each op is a small class with its forward and its gradient side by side; the docstring states
both formulas with g for the incoming gradient (grad_out). Rules see arrays or Tensors (see
function.py) and may return gradients at the broadcast shape: the engine sums them back to each
input's shape in one place. Ops never look at the graph.
"""

from __future__ import annotations

import numpy as np

from .function import Op

# ---------------------------------------------------------------- elementwise, two inputs


class Add(Op):
    """z = x + y;  dx = g, dy = g"""

    def forward(self, x, y):
        return x + y

    def backward(self, grad_out, x, y, z):
        return grad_out, grad_out


class Sub(Op):
    """z = x - y;  dx = g, dy = -g"""

    def forward(self, x, y):
        return x - y

    def backward(self, grad_out, x, y, z):
        return grad_out, -grad_out


class Mul(Op):
    """z = x * y;  dx = g * y, dy = g * x"""

    def forward(self, x, y):
        return x * y

    def backward(self, grad_out, x, y, z):
        return grad_out * y, grad_out * x


class Div(Op):
    """z = x / y;  dx = g / y, dy = -g * z / y"""

    def forward(self, x, y):
        return x / y

    def backward(self, grad_out, x, y, z):
        dx = grad_out / y
        return dx, -dx * z


class Pow(Op):
    """z = x ** y;  dx = g * y * x ** (y - 1), dy = g * z * log(x)"""

    def forward(self, x, y):
        return x**y

    def backward(self, grad_out, x, y, z):
        dx = grad_out * y * x ** (y - 1) if self.needs_input_grad[0] else None
        # log(x) is only defined for x > 0, so the exponent's gradient is only asked for then.
        dy = grad_out * z * np.log(x) if self.needs_input_grad[1] else None
        return dx, dy


class Maximum(Op):
    """z = max(x, y);  dx = g where x >= y, dy = g elsewhere (ties go to x)"""

    def forward(self, x, y):
        return np.maximum(x, y)

    def backward(self, grad_out, x, y, z):
        dx = grad_out * (x >= y)
        return dx, grad_out - dx


class Minimum(Op):
    """z = min(x, y);  dx = g where x <= y, dy = g elsewhere (ties go to x)"""

    def forward(self, x, y):
        return np.minimum(x, y)

    def backward(self, grad_out, x, y, z):
        dx = grad_out * (x <= y)
        return dx, grad_out - dx


class Where(Op):
    """z = where(condition, x, y);  dx = g where condition, dy = g elsewhere"""

    def __init__(self, condition: np.ndarray):
        self.condition = condition

    def forward(self, x, y):
        return np.where(self.condition, x, y)

    def backward(self, grad_out, x, y, z):
        return np.where(self.condition, grad_out, 0), np.where(self.condition, 0, grad_out)


# ---------------------------------------------------------------- elementwise, one input


class Neg(Op):
    """z = -x;  dx = -g"""

    def forward(self, x):
        return -x

    def backward(self, grad_out, x, z):
        return (-grad_out,)


class PowConst(Op):
    """z = x ** p for a constant p;  dx = g * p * x ** (p - 1)"""

    def __init__(self, exponent: float):
        self.exponent = exponent

    def forward(self, x):
        return x**self.exponent

    def backward(self, grad_out, x, z):
        p = self.exponent
        return (grad_out * p * x ** (p - 1),)


class Exp(Op):
    """z = exp(x);  dx = g * z"""

    def forward(self, x):
        return np.exp(x)

    def backward(self, grad_out, x, z):
        return (grad_out * z,)


class Log(Op):
    """z = log(x);  dx = g / x"""

    def forward(self, x):
        return np.log(x)

    def backward(self, grad_out, x, z):
        return (grad_out / x,)


class Sqrt(Op):
    """z = sqrt(x);  dx = g / (2 z)"""

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, grad_out, x, z):
        return (grad_out / (2 * z),)


class Abs(Op):
    """z = |x|;  dx = g * sign(x)  (0 at x = 0)"""

    def forward(self, x):
        return np.abs(x)

    def backward(self, grad_out, x, z):
        return (grad_out * np.sign(x),)


class Tanh(Op):
    """z = tanh(x);  dx = g * (1 - z^2)"""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad_out, x, z):
        return (grad_out * (1 - z * z),)


class Sigmoid(Op):
    """z = 1 / (1 + exp(-x));  dx = g * z * (1 - z)"""

    def forward(self, x):
        # The tanh form never overflows, unlike 1 / (1 + exp(-x)) for x below about -709.
        z = np.tanh(x * 0.5)
        z *= 0.5
        z += 0.5
        return z

    def backward(self, grad_out, x, z):
        # Built in place in one fresh array (on Tensors, *= records a Mul as usual).
        dx = 1 - z
        dx *= z
        dx *= grad_out
        return (dx,)


class Relu(Op):
    """z = max(x, 0);  dx = g where x > 0"""

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, grad_out, x, z):
        return (grad_out * (x > 0),)


class Clip(Op):
    """z = clip(x, low, high);  dx = g where low <= x <= high"""

    def __init__(self, low: float | None, high: float | None):
        self.low, self.high = low, high

    def forward(self, x):
        return np.clip(x, self.low, self.high)

    def backward(self, grad_out, x, z):
        low = -np.inf if self.low is None else self.low
        high = np.inf if self.high is None else self.high
        return (grad_out * np.logical_and(x >= low, x <= high),)


# ---------------------------------------------------------------- reductions


def _keepdims_shape(shape: tuple, axis: tuple | None) -> tuple:
    """The shape of a reduction over `axis` with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


class _Reduction(Op):
    """Shared settings of reductions; `axis` is None or a tuple of non-negative axes."""

    def __init__(self, axis: tuple | None, keepdims: bool):
        self.axis, self.keepdims = axis, keepdims

    def expand(self, grad_out, x):
        """Bring a reduced gradient back to the input's rank, ready to broadcast."""
        return grad_out.reshape(_keepdims_shape(x.shape, self.axis))


class Sum(_Reduction):
    """z = sum(x, axis);  dx = g broadcast back over axis"""

    def forward(self, x):
        return x.sum(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad_out, x, z):
        return (np.broadcast_to(self.expand(grad_out, x), x.shape),)


class Mean(_Reduction):
    """z = mean(x, axis);  dx = g / n broadcast back over axis, n the number averaged"""

    def forward(self, x):
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad_out, x, z):
        count = x.size // max(z.size, 1)
        return (np.broadcast_to(self.expand(grad_out, x) / count, x.shape),)


class Max(_Reduction):
    """z = max(x, axis);  dx = g where x == z, shared equally between ties"""

    def forward(self, x):
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad_out, x, z):
        # A constant mask in x's dtype: counting a bool mask gives int64, which would make
        # float32 gradients float64.
        hits = np.asarray(np.equal(x, self.expand(z, x)), dtype=x.dtype)
        return (hits * self.expand(grad_out, x) / hits.sum(axis=self.axis, keepdims=True),)


class Min(Max):
    """z = min(x, axis);  dx = g where x == z, shared equally between ties"""

    def forward(self, x):
        return x.min(axis=self.axis, keepdims=self.keepdims)


class LogSumExp(_Reduction):
    """z = log(sum(exp(x), axis));  dx = g * exp(x - z)"""

    def forward(self, x):
        shift = _finite_max(x, self.axis)
        total = np.exp(x - shift).sum(axis=self.axis, keepdims=True)
        z = np.log(total) + shift
        return z if self.keepdims else z.reshape(_reduced_shape(x.shape, self.axis))

    def backward(self, grad_out, x, z):
        return (self.expand(grad_out, x) * np.exp(x - self.expand(z, x)),)


def _finite_max(x: np.ndarray, axis) -> np.ndarray:
    """The max along axis (keepdims), with infinities replaced by 0 so x - max stays finite."""
    shift = x.max(axis=axis, keepdims=True)
    return np.where(np.isfinite(shift), shift, 0)


def _reduced_shape(shape: tuple, axis: tuple | None) -> tuple:
    return () if axis is None else tuple(n for i, n in enumerate(shape) if i not in axis)


class Softmax(Op):
    """z = exp(x) / sum(exp(x), axis);  dx = z * (g - sum(g * z, axis))"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        e = np.exp(x - _finite_max(x, self.axis))
        return e / e.sum(axis=self.axis, keepdims=True)

    def backward(self, grad_out, x, z):
        return (z * (grad_out - (grad_out * z).sum(axis=self.axis, keepdims=True)),)


class LogSoftmax(Op):
    """z = x - logsumexp(x, axis);  dx = g - exp(z) * sum(g, axis)"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, x):
        shifted = x - _finite_max(x, self.axis)
        return shifted - np.log(np.exp(shifted).sum(axis=self.axis, keepdims=True))

    def backward(self, grad_out, x, z):
        return (grad_out - np.exp(z) * grad_out.sum(axis=self.axis, keepdims=True),)


# ---------------------------------------------------------------- linear algebra


def _swap_last(a):
    return a.swapaxes(-1, -2)


class MatMul(Op):
    """z = x @ y (numpy rules: 1-D, 2-D, batched);  dx = g @ y^T, dy = x^T @ g"""

    def forward(self, x, y):
        return x @ y

    def backward(self, grad_out, x, y, z):
        if x.ndim == 1 and y.ndim == 1:
            return grad_out * y, grad_out * x
        # A 1-D operand acts as a row (left) or a column (right); give g that axis back.
        x_is_vector, y_is_vector = x.ndim == 1, y.ndim == 1
        if x_is_vector:
            grad_out = grad_out.reshape(grad_out.shape[:-1] + (1, grad_out.shape[-1]))
            x = x.reshape((1, -1))
        if y_is_vector:
            grad_out = grad_out.reshape(grad_out.shape + (1,))
            y = y.reshape((-1, 1))
        dx = grad_out @ _swap_last(y) if self.needs_input_grad[0] else None
        dy = _swap_last(x) @ grad_out if self.needs_input_grad[1] else None
        if y_is_vector and dy is not None:
            dy = dy.reshape(dy.shape[:-1])
        return dx, dy


# ---------------------------------------------------------------- shape and indexing


class Reshape(Op):
    """z = reshape(x, shape);  dx = reshape(g, x.shape)"""

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, grad_out, x, z):
        return (grad_out.reshape(x.shape),)


class Transpose(Op):
    """z = transpose(x, axes);  dx = transpose(g, inverse of axes)"""

    def __init__(self, axes: tuple):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, grad_out, x, z):
        return (grad_out.transpose(tuple(np.argsort(self.axes))),)


class BroadcastTo(Op):
    """z = broadcast_to(x, shape);  dx = g summed back to x.shape (by the engine)"""

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        return np.broadcast_to(x, self.shape)

    def backward(self, grad_out, x, z):
        return (grad_out,)


def _is_basic(index) -> bool:
    """True for ints, slices, None and Ellipsis: such an index never repeats a position."""
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


class Index(Op):
    """z = x[index];  dx = zeros like x with g added at index"""

    def __init__(self, index):
        self.index = index

    def forward(self, x):
        return x[self.index]

    def backward(self, grad_out, x, z):
        from .tensor import apply  # the scatter is itself an op, for second order

        return (apply(ScatterAdd(x.shape, self.index), grad_out),)


class ScatterAdd(Op):
    """z = zeros(shape) with x added at index (repeats add up);  dx = g[index]"""

    def __init__(self, shape: tuple, index):
        self.shape, self.index = shape, index

    def forward(self, x):
        z = np.zeros(self.shape, dtype=x.dtype)
        if _is_basic(self.index):
            z[self.index] = x
        else:
            np.add.at(z, self.index, x)
        return z

    def backward(self, grad_out, x, z):
        return (grad_out[self.index],)


class Concatenate(Op):
    """z = concatenate(xs, axis);  dx_i = the slice of g that x_i filled"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        return np.concatenate(xs, axis=self.axis)

    def backward(self, grad_out, *xs_and_z):
        *xs, z = xs_and_z
        lead = (slice(None),) * self.axis
        bounds = np.cumsum([0] + [x.shape[self.axis] for x in xs])
        return tuple(grad_out[lead + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))


class Stack(Op):
    """z = stack(xs, axis);  dx_i = g[..., i, ...] along axis"""

    def __init__(self, axis: int):
        self.axis = axis

    def forward(self, *xs):
        return np.stack(xs, axis=self.axis)

    def backward(self, grad_out, *xs_and_z):
        lead = (slice(None),) * self.axis
        return tuple(grad_out[lead + (i,)] for i in range(len(xs_and_z) - 1))
