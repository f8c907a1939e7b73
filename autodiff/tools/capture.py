"""Captured steps: record a loss function's ops once, then replay forward and backward on new
batches without building a graph.

`capture(loss_fn)` gives a callable that does what `loss_fn(*batch).backward()` does. The
first two calls for a batch shape run eagerly and record the ops; when both recordings agree,
later calls run the same rules on the new arrays (bit-identical to eager). Anything else
runs eagerly: a new shape or dtype, no_grad(), detect_anomaly(), or a function whose two
recordings differ or that reads tensor values into Python (`if loss > 1`, `.item()`).
Like jax.jit, Python state other than the batch's shapes (a global flag, or numpy values of
the batch examined in Python) is read while recording: keep such branches out of loss_fn.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable

import numpy as np

from ..core.engine import _memory_owner, _seed, sum_to_shape
from ..core.mode import switches
from ..core.op import Op
from ..core.tensor import Tensor

# Ways for Python to read a tensor's values (and so branch on them) while recording.
_ESCAPES = ("__bool__", "__array__", "item", "numpy")
_MAX_SHAPES = 8  # traces kept per captured function, most recent last


class Captured:
    """A loss function captured for replay; call it as the function itself (see module)."""

    def __init__(self, loss_fn: Callable):
        self.loss_fn = loss_fn
        self.traces: dict[tuple, _Trace | None] = {}  # None: this key always runs eagerly
        self.recordings: dict[tuple, list] = {}
        self.replays = 0  # calls served by a replay, for tests and benchmarks
        functools.update_wrapper(self, loss_fn)

    def __call__(self, *batch) -> Tensor:
        if not switches.grad_enabled:
            return self.loss_fn(*batch)
        key = tuple([_key(b) for b in batch])
        trace = self.traces.get(key)
        if trace is not None and not switches.anomaly:
            self.replays += 1
            return trace.replay(batch)
        if switches.anomaly or key in self.traces:
            return _eager(self.loss_fn, batch)
        loss, recording = _record(self.loss_fn, batch)
        previous = self.recordings.pop(key, None)
        if recording is None:
            self._remember(key, None)
        elif previous is not None:
            self._remember(key, _Trace(recording) if _agree(previous, recording) else None)
        else:
            self.recordings[key] = recording
        return loss

    def _remember(self, key: tuple, trace) -> None:
        if len(self.traces) >= _MAX_SHAPES:
            self.traces.pop(next(iter(self.traces)))
        self.traces[key] = trace


def _key(value) -> tuple:
    """What a trace depends on in one argument: an array's shape and dtype, else the value."""
    if isinstance(value, (np.ndarray, Tensor)):
        return value.shape, value.dtype
    return type(value), value


def capture(loss_fn: Callable) -> Captured:
    """Capture loss_fn(*batch) -> scalar Tensor: calling the result runs it and its backward.

    Pass the batch as arrays (`step(x[idx], y[idx])`); parameters are the Tensors loss_fn
    uses, read afresh on every call, so an optimizer may update them between calls. Returns
    the loss as a Tensor (after a replay, one without a graph).
    """
    return Captured(loss_fn)


def _eager(loss_fn: Callable, batch, backward: bool = True) -> Tensor:
    loss = loss_fn(*batch)
    if not isinstance(loss, Tensor):
        raise TypeError(
            f"capture: the function must return the loss as a scalar Tensor, got "
            f"{type(loss).__name__}"
        )
    if backward:
        loss.backward()
    return loss


class _ValueRead(Exception):
    pass


@contextlib.contextmanager
def _recording():
    """Collect every op applied, and note any read of a tensor's values into Python."""
    ops: list = []
    escaped: list = []
    originals = {name: getattr(Tensor, name) for name in _ESCAPES}

    def watch(name):
        def read(self, *args, **kwargs):
            escaped.append(name)
            return originals[name](self, *args, **kwargs)

        return read

    previous = switches.recording
    switches.recording = ops
    for name in _ESCAPES:
        setattr(Tensor, name, watch(name))
    try:
        yield ops, escaped
    finally:
        switches.recording = previous
        for name, method in originals.items():
            setattr(Tensor, name, method)


def _record(loss_fn: Callable, batch):
    """Run loss_fn eagerly with its backward; (loss, recording or None if not replayable)."""
    with _recording() as (ops, escaped):
        loss = _eager(loss_fn, batch, backward=False)
    loss.backward()
    if escaped or loss.op is None or loss.size != 1:
        return loss, None
    recording = _Recording(ops, loss, batch)
    return loss, recording if recording.replayable else None


class _Recording:
    """One eager run as a program: each op's inputs as slots, batch arrays, or constants."""

    def __init__(self, applied: list, loss: Tensor, batch):
        self.batch = [np.asarray(b.data if isinstance(b, Tensor) else b) for b in batch]
        self.slots: dict[int, int] = {}  # id(tensor) -> slot
        self.tensors: list[Tensor] = []  # slot -> the tensor recorded there
        self.sources: list = []  # slot -> ("op", node) | ("batch", k, dtype) | ("leaf",) | ...
        self.nodes = []  # (op, input slots, output slot, batch attributes)
        self.replayable = True
        for op, inputs, out in applied:
            ins = [self._slot(t) for t in inputs]
            self.nodes.append((op, ins, self._new_slot(out, ("op",)), self._batch_attributes(op)))
        self.root = self.slots.get(id(loss))
        self.replayable = self.replayable and self.root is not None

    def _new_slot(self, tensor: Tensor, source: tuple) -> int:
        self.slots[id(tensor)] = len(self.tensors)
        self.tensors.append(tensor)
        self.sources.append(source)
        return len(self.tensors) - 1

    def _slot(self, tensor: Tensor) -> int:
        if id(tensor) in self.slots:
            return self.slots[id(tensor)]
        if tensor.requires_grad:  # a parameter: read afresh on every replay
            # A tensor computed before the call: replaying would stop the gradient at it.
            self.replayable = self.replayable and tensor.op is None
            return self._new_slot(tensor, ("leaf",))
        found = self._from_batch(tensor.data)
        return self._new_slot(tensor, found or ("constant", tensor.data))

    def _from_batch(self, array) -> tuple | None:
        """("batch", k, dtype) when array is batch k (or batch k in another dtype)."""
        if not isinstance(array, np.ndarray):
            return None
        for k, b in enumerate(self.batch):
            if array is b:
                return ("batch", k, None)
        for k, b in enumerate(self.batch):
            if array.shape == b.shape and np.array_equal(array, b.astype(array.dtype)):
                # An equal copy in the same dtype is used as the batch itself: same values.
                return ("batch", k, None if array.dtype == b.dtype else array.dtype)
        return None

    def _batch_attributes(self, op: Op) -> list:
        return [
            (name, found[1], found[2])
            for name, value in op.attributes().items()
            if (found := self._from_batch(value)) is not None
        ]


def _agree(first: _Recording, second: _Recording) -> bool:
    """Whether two recordings ran the same program (the second's tensors are kept)."""
    if not (first.replayable and second.replayable) or len(first.nodes) != len(second.nodes):
        return False
    if first.root != second.root or len(first.sources) != len(second.sources):
        return False
    for a, b, ta, tb in zip(first.sources, second.sources, first.tensors, second.tensors):
        if a[0] != b[0] or ta.shape != tb.shape or ta.dtype != tb.dtype:
            return False
        if a[0] == "leaf" and ta is not tb or a[0] == "batch" and a[1:] != b[1:]:
            return False
        if a[0] == "constant" and not _same(a[1], b[1]):
            return False
    for (op_a, ins_a, out_a, sub_a), (op_b, ins_b, out_b, sub_b) in zip(first.nodes, second.nodes):
        if type(op_a) is not type(op_b) or ins_a != ins_b or out_a != out_b or sub_a != sub_b:
            return False
        if op_a.needs_input_grad != op_b.needs_input_grad:
            return False
        batch_names = {name for name, _, _ in sub_a}
        settings_a, settings_b = op_a.attributes(), op_b.attributes()
        if settings_a.keys() != settings_b.keys() or not all(
            _same(settings_a[name], settings_b[name])
            for name in settings_a
            if name not in batch_names
        ):
            return False
    return True


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b)
        )
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


class _Trace:
    """A recording compiled for replay: flat lists of slots, run by two loops.

    Which leaf gradients need a copy of their own (backward()'s rule: a leaf's .grad never
    shares memory with another gradient) depends only on the program, so the first replay
    finds out as backward() does and later replays reuse the answer.
    """

    def __init__(self, recording: _Recording):
        tensors = recording.tensors
        self.tensors, self.values = tensors, [t.data for t in tensors]
        kinds = [source[0] for source in recording.sources]
        self.batch_slots = [
            (i, s[1], s[2]) for i, s in enumerate(recording.sources) if s[0] == "batch"
        ]
        self.leaf_slots = [i for i, kind in enumerate(kinds) if kind == "leaf"]
        self.intermediates = [i for i, kind in enumerate(kinds) if kind == "op"]
        self.root = recording.root
        # Per node: (op, input slots, output slot, batch attributes, inputs to send grads to).
        self.nodes = [
            (
                op,
                ins,
                out,
                batch_attributes,
                [
                    (j, slot, tensors[slot].shape)
                    for j, slot in enumerate(ins)
                    if tensors[slot].requires_grad
                ],
            )
            for op, ins, out, batch_attributes in recording.nodes
        ]
        self.copies: list | None = None  # leaf slots whose gradient must be copied

    def replay(self, batch) -> Tensor:
        values, tensors = self.values, self.tensors
        for slot, k, dtype in self.batch_slots:
            b = batch[k]
            b = b.data if isinstance(b, Tensor) else b
            values[slot] = b if dtype is None else b.astype(dtype)
        for slot in self.leaf_slots:
            values[slot] = tensors[slot].data
        for op, ins, out, batch_attributes, _ in self.nodes:
            for name, k, dtype in batch_attributes:
                b = batch[k]
                b = b.data if isinstance(b, Tensor) else b
                setattr(op, name, b if dtype is None else b.astype(dtype))
            arrays = [values[i] for i in ins]
            arrays.append(op.forward(*arrays))
            values[out] = arrays[-1]
            op.saved = arrays
        return self._backward()

    def _backward(self) -> Tensor:
        values, tensors = self.values, self.tensors
        grads: list = [None] * len(values)
        grads[self.root] = _seed(tensors[self.root], None, "backward()")
        for op, _, out, _, targets in reversed(self.nodes):
            grad_out = grads[out]
            if grad_out is None:
                continue
            input_grads = op.backward(grad_out, *op.saved)
            for j, slot, shape in targets:
                grad = input_grads[j]
                if grad is None:
                    continue
                if grad.shape != shape:
                    grad = sum_to_shape(grad, shape)
                previous = grads[slot]
                grads[slot] = grad if previous is None else previous + grad
        # As backward(): intermediates get this pass's values and gradients; each leaf gets
        # an array of its own, added to what it already holds.
        for slot in self.intermediates:
            tensor = tensors[slot]
            tensor.data, tensor.grad = values[slot], grads[slot]
        if self.copies is None:
            self.copies = self._leaves_to_copy(grads)
        for slot in self.leaf_slots:
            g = grads[slot]
            if g is None:
                continue
            if slot in self.copies:
                g = g.copy()
            tensor = tensors[slot]
            tensor.grad = g if tensor.grad is None else tensor.grad + g
        return Tensor._make(values[self.root], False)

    def _leaves_to_copy(self, grads: list) -> set:
        shared = {id(_memory_owner(grads[i])) for i in self.intermediates if grads[i] is not None}
        copies = set()
        for slot in self.leaf_slots:
            g = grads[slot]
            if g is None:
                continue
            owner = id(_memory_owner(g))
            if owner in shared or not g.flags.writeable:
                copies.add(slot)
            shared.add(owner)
        return copies
