"""The elementary derivative table: + - * / **, neg exp log tanh sigmoid relu, sum mean max,
matmul, reshape transpose indexing (the rest: numpy_surface/ops/).

Each op is a small class, forward and vector-Jacobian product side by side, its docstring
stating both with g for the incoming gradient. Rules use numpy operations, so one rule runs on
arrays (first order) and on Tensors (second order); the engine sums their gradients back from
the broadcast shape to each input's shape. Ops never look at the graph.
"""

from __future__ import annotations

import numpy as np

from .code import Code, expanded, number, reduction_arguments
from .op import Op

# exp(t) overflows above log(largest float): about 709 in float64, 88 in float32 (one less,
# for margin against rounding the limit itself).
_EXP_LIMIT = {np.dtype(t): float(np.log(np.finfo(t).max)) - 1 for t in (np.float32, np.float64)}


class Add(Op):
    """z = x + y;  dx = g, dy = g"""

    def forward(self, x, y):
        return x + y

    def backward(self, grad_out, x, y, z):
        return grad_out, grad_out

    code = Code("{x} + {y}", ("{g}", "add: g"), ("{g}", "add: g"))


class Sub(Op):
    """z = x - y;  dx = g, dy = -g"""

    def forward(self, x, y):
        return x - y

    def backward(self, grad_out, x, y, z):
        return grad_out, -grad_out

    code = Code("{x} - {y}", ("{g}", "sub: g"), ("-{g}", "sub: -g"))


class Mul(Op):
    """z = x * y;  dx = g * y, dy = g * x"""

    def forward(self, x, y):
        return x * y

    def backward(self, grad_out, x, y, z):
        return grad_out * y, grad_out * x

    code = Code("{x} * {y}", ("{g} * {y}", "mul: g * y"), ("{g} * {x}", "mul: g * x"))


class Div(Op):
    """z = x / y;  dx = g / y, dy = -g * z / y"""

    def forward(self, x, y):
        return x / y

    def backward(self, grad_out, x, y, z):
        dx = grad_out / y
        # Only when wanted: for a constant divisor (x / n) an inf in g would make -inf * 0.
        return dx, (-dx * z if self.needs_input_grad[1] else None)

    code = Code("{x} / {y}", ("{g} / {y}", "div: g / y"), ("-{g} / {y} * {out}", "div: -g z / y"))


class Pow(Op):
    """z = x ** y;  dx = g * y * x ** (y - 1), dy = g * z * log(x)  (0 where x = 0, y >= 0)"""

    def forward(self, x, y):
        return x**y

    def backward(self, grad_out, x, y, z):
        x_is_zero = np.asarray(np.equal(x, 0))
        dx = dy = None
        if self.needs_input_grad[0]:
            # At x = y = 0 the formula is 0 * 0 ** -1 = NaN, but x ** 0 is flat: its slope is 0.
            # Only that point changes its exponent (1 - 1), so second order stays exact elsewhere.
            both_zero = np.logical_and(x_is_zero, np.asarray(np.equal(y, 0)))
            dx = grad_out * y * x ** (np.where(both_zero, 1, y) - 1)
        if self.needs_input_grad[1]:
            # 0 ** y is 0 for y > 0: slope 0, where z * log(x) would be 0 * -inf = NaN. log is
            # taken of a safe base, so its own gradient (second order) is finite too.
            dy = grad_out * z * np.log(np.where(x_is_zero, 1, x))
        return dx, dy

    code = Code(
        "{x} ** {y}",
        (
            "{g} * {y} * {x} ** (np.where(({x} == 0) & ({y} == 0), 1, {y}) - 1)",
            "power: g y x^(y - 1), 0 at x = y = 0",
        ),
        ("{g} * {out} * np.log(np.where({x} == 0, 1, {x}))", "power: g z ln x, 0 at x = 0"),
    )


class PowConst(Op):
    """z = x ** p for a constant p;  dx = g * p * x ** (p - 1)  (0 for p = 0, and at x = 0 for
    p > 1)"""

    def __init__(self, exponent: float):
        self.exponent = exponent

    def forward(self, x):
        return x**self.exponent

    def backward(self, grad_out, x, z):
        p = self.exponent
        if p == 0:  # x ** 0 is flat; the formula would give 0 * 0 ** -1 = NaN at x = 0
            return (grad_out * 0,)
        if p > 1:
            at_zero = np.asarray(np.equal(x, 0))
            if at_zero.any():
                # x ** p for p > 1 is flat at 0: its slope is 0 whatever comes from above, even
                # the inf of sqrt's slope at 0 (std at zero spread), where g * 0 would be NaN.
                with np.errstate(invalid="ignore"):
                    return (np.where(at_zero, 0, grad_out * p * x ** (p - 1)),)
        return (grad_out * p * x ** (p - 1),)

    def code(self, x, z) -> Code:
        p = number(self.exponent)
        if self.exponent == 0:
            return Code("{x} ** 0", ("{g} * 0", "x^0 is flat"))
        power = "{x}" if self.exponent == 2 else f"{{x}} ** {number(self.exponent - 1)}"
        return Code(f"{{x}} ** {p}", (f"{{g}} * {p} * {power}", "power: g p x^(p - 1)"))


class Neg(Op):
    """z = -x;  dx = -g"""

    def forward(self, x):
        return -x

    def backward(self, grad_out, x, z):
        return (-grad_out,)

    code = Code("-{x}", ("-{g}", "neg: -g"))


class Exp(Op):
    """z = exp(x);  dx = g * z"""

    def forward(self, x):
        return np.exp(x)

    def backward(self, grad_out, x, z):
        return (grad_out * z,)

    code = Code("np.exp({x})", ("{g} * {out}", "exp' = exp"))


class Log(Op):
    """z = log(x);  dx = g / x"""

    def forward(self, x):
        return np.log(x)

    def backward(self, grad_out, x, z):
        return (grad_out / x,)

    code = Code("np.log({x})", ("{g} / {x}", "log' = 1 / x"))


class Tanh(Op):
    """z = tanh(x);  dx = g * (1 - z^2)"""

    def forward(self, x):
        return np.tanh(x)

    def backward(self, grad_out, x, z):
        return (grad_out * (1 - z * z),)

    code = Code("np.tanh({x})", ("{g} * (1 - {out} * {out})", "tanh' = 1 - tanh^2"))


class Sigmoid(Op):
    """z = 1 / (1 + exp(-x));  dx = g * z * (1 - z)"""

    def forward(self, x):
        if x.ndim == 0:  # ufuncs give 0-d results as scalars, which cannot be written in place
            return self.forward(x.reshape(1)).reshape(())
        if x.dtype == np.float16:  # its exp overflows at 11: clipping there would be visible
            return self.forward(x.astype(np.float32)).astype(np.float16)
        # This form keeps relative precision at both ends (sigmoid(-40) is 4.2e-18, where
        # 0.5 + 0.5 tanh(x / 2) cancels to 0). -x is clipped where exp would overflow: z there
        # is about 1e-308 (float64) or 1e-38 (float32), true values smaller still. In place.
        z = np.negative(x)
        np.minimum(z, _EXP_LIMIT.get(x.dtype, 709.0), out=z)
        np.exp(z, out=z)
        z += 1
        return np.reciprocal(z, out=z)

    def backward(self, grad_out, x, z):
        # Built in place in one fresh array (on Tensors, *= records a Mul as usual).
        dx = 1 - z
        dx *= z
        dx *= grad_out
        return (dx,)

    code = Code("1 / (1 + np.exp(-{x}))", ("{g} * ({out} * (1 - {out}))", "sigmoid' = s(1 - s)"))


class Relu(Op):
    """z = max(x, 0);  dx = g where x > 0"""

    def forward(self, x):
        return np.maximum(x, 0)

    def backward(self, grad_out, x, z):
        return (grad_out * (x > 0),)

    code = Code("np.maximum({x}, 0)", ("{g} * ({x} > 0)", "relu' = 1 where x > 0, else 0"))


def _keepdims_shape(shape: tuple, axis: tuple | None) -> tuple:
    """The shape of a reduction over `axis` with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


def _reduced_shape(shape: tuple, axis: tuple | None) -> tuple:
    return () if axis is None else tuple(n for i, n in enumerate(shape) if i not in axis)


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

    def code(self, x, z) -> Code:
        g = expanded("{g}", self.axis, self.keepdims)
        return Code(
            f"{{x}}.sum({reduction_arguments(self.axis, self.keepdims)})",
            (f"np.broadcast_to({g}, {{x}}.shape)", "sum: g copied to every entry summed"),
        )


class Mean(_Reduction):
    """z = mean(x, axis);  dx = g / n broadcast back over axis, n the number averaged"""

    def forward(self, x):
        return x.mean(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad_out, x, z):
        count = x.size // max(z.size, 1)
        return (np.broadcast_to(self.expand(grad_out, x) / count, x.shape),)

    def code(self, x, z) -> Code:
        g = expanded("{g}", self.axis, self.keepdims)
        count = "{x}.size" if self.axis is None else "({x}.size // {out}.size)"
        return Code(
            f"{{x}}.mean({reduction_arguments(self.axis, self.keepdims)})",
            (f"np.broadcast_to({g} / {count}, {{x}}.shape)", "mean: g / n to every entry"),
        )


class Max(_Reduction):
    """z = max(x, axis);  dx = g where x == z, shared equally between ties"""

    def forward(self, x):
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def backward(self, grad_out, x, z):
        # A constant mask in x's dtype: counting a bool mask gives int64, which would make
        # float32 gradients float64.
        hits = np.asarray(np.equal(x, self.expand(z, x)), dtype=x.dtype)
        return (hits * self.expand(grad_out, x) / hits.sum(axis=self.axis, keepdims=True),)

    def code(self, x, z) -> Code:
        z, g = (
            expanded("{out}", self.axis, self.keepdims),
            expanded("{g}", self.axis, self.keepdims),
        )
        name = type(self).__name__.lower()
        count = reduction_arguments(self.axis, keepdims=True)
        return Code(
            f"{{x}}.{name}({reduction_arguments(self.axis, self.keepdims)})",
            (
                f"{{d}}_hits = ({{x}} == {z}).astype({{x}}.dtype)\n"
                f"{{d}} = {{d}}_hits * {g} / {{d}}_hits.sum({count})",
                f"{name}: g shared among the entries equal to the {name}",
            ),
        )


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

    def code(self, x, y, z) -> Code:
        if x.ndim == 1 and y.ndim == 1:
            return Code("{x} @ {y}", ("{g} * {y}", "dot: g y"), ("{g} * {x}", "dot: g x"))
        if x.ndim == 1:  # a row on the left
            return Code(
                "{x} @ {y}",
                ("({g}[..., None, :] @ np.swapaxes({y}, -1, -2))[..., 0, :]", "matmul: g @ y^T"),
                ("{x}[:, None] * {g}[..., None, :]", "matmul: x^T @ g"),
            )
        if y.ndim == 1:  # a column on the right
            return Code(
                "{x} @ {y}",
                ("{g}[..., None] * {y}", "matmul: g @ y^T"),
                ("(np.swapaxes({x}, -1, -2) @ {g}[..., None])[..., 0]", "matmul: x^T @ g"),
            )
        yt = "{y}.T" if y.ndim == 2 else "np.swapaxes({y}, -1, -2)"
        xt = "{x}.T" if x.ndim == 2 else "np.swapaxes({x}, -1, -2)"
        return Code(
            "{x} @ {y}", (f"{{g}} @ {yt}", "matmul: g @ y^T"), (f"{xt} @ {{g}}", "matmul: x^T @ g")
        )


class Reshape(Op):
    """z = reshape(x, shape);  dx = reshape(g, x.shape)"""

    def __init__(self, shape: tuple):
        self.shape = shape

    def forward(self, x):
        return x.reshape(self.shape)

    def backward(self, grad_out, x, z):
        return (grad_out.reshape(x.shape),)

    code = Code("{x}.reshape({shape})", ("{g}.reshape({x}.shape)", "reshape: g to x's shape"))


class Transpose(Op):
    """z = transpose(x, axes);  dx = transpose(g, inverse of axes)"""

    def __init__(self, axes: tuple):
        self.axes = axes

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, grad_out, x, z):
        return (grad_out.transpose(tuple(np.argsort(self.axes))),)

    def code(self, x, z) -> Code:
        if self.axes == (1, 0):
            return Code("{x}.T", ("{g}.T", "transpose: g transposed back"))
        back = tuple(int(a) for a in np.argsort(self.axes))
        return Code(
            f"{{x}}.transpose({self.axes!r})", (f"{{g}}.transpose({back!r})", "transpose: g back")
        )


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

    def code(self, x, z) -> Code:
        if _is_basic(self.index):
            scatter = "{d} = np.zeros_like({x})\n{d}[{index_subscript}] = {g}"
        else:
            scatter = "{d} = np.zeros_like({x})\nnp.add.at({d}, {index}, {g})"
        return Code("{x}[{index_subscript}]", (scatter, "index: g added back where x was read"))


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

    def code(self, x, z) -> Code:
        if _is_basic(self.index):
            forward = "{out} = np.zeros({shape}, dtype={x}.dtype)\n{out}[{index_subscript}] = {x}"
        else:
            forward = "{out} = np.zeros({shape}, dtype={x}.dtype)\nnp.add.at({out}, {index}, {x})"
        return Code(forward, ("{g}[{index_subscript}]", "scatter_add: g read at the index"))
