"""Captured steps: record a loss function's ops, write them out as one numpy program (forward
and backward, as gradient_source does), and run that program on new batches.

`capture(loss_fn)` gives a callable that does what `loss_fn(*batch).backward()` does. The
first two calls for a batch shape run eagerly and record the ops; when both recordings agree,
the program is written and compiled once for that shape (`captured.source` shows it), and
later calls run it: no Tensor, op or graph per step. Every code form computes what its rule
computes, in the same order, so results are bit-identical to eager; the one exception is
plain SGD folded in (capture(..., optimizer=)), whose updates agree to rounding. Intermediate
arrays live in buffers the next call writes over: tensors recorded in loss_fn (model.zs)
show the latest call, as after backward(), but an array kept from them changes. Anything
else runs eagerly, and says why once: a new shape or dtype beyond the last few, no_grad(),
detect_anomaly(), a function whose two recordings differ or that reads tensor values into
Python (`if loss > 1`, `.item()`), or an op the generator cannot write.
Like jax.jit, Python state other than the batch's shapes (a global flag, or numpy values of
the batch examined in Python) is read while recording: keep such branches out of loss_fn.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable

import numpy as np

from ..core import CodeUnavailable
from ..core.engine import _memory_owner
from ..core.mode import switches
from ..core.op import Op
from ..core.tensor import Tensor
from .buffers import with_buffers
from .codegen import ASSUMES, Program, recording

_MAX_SHAPES = 8  # traces kept per captured function, most recent last


class Captured:
    """A loss function captured for replay; call it as the function itself (see module)."""

    def __init__(self, loss_fn: Callable, optimizer=None):
        self.loss_fn, self.optimizer = loss_fn, optimizer
        self.traces: dict[tuple, _Compiled | None] = {}  # None: this key always runs eagerly
        self.recordings: dict[tuple, list] = {}
        self.replays = 0  # calls served by the compiled program, for tests and benchmarks
        self.why_eager: str | None = None  # the last reason for running eagerly, said once
        self.source: str | None = None  # the program most recently compiled
        functools.update_wrapper(self, loss_fn)

    def __call__(self, *batch) -> Tensor:
        optimizer = self.optimizer
        if not switches.grad_enabled:
            return self.loss_fn(*batch)  # the loss only: no backward, no step
        key = tuple([_key(b) for b in batch])
        trace = self.traces.get(key)
        if trace is not None and not switches.anomaly:
            self.replays += 1
            try:
                if optimizer is not None:
                    rate = trace.folded_rate(optimizer)
                    if rate is not None:
                        return trace.replay_with_sgd(batch, rate)
                loss = trace.replay(batch)
            except ValueError as error:  # a code form's assumption (no NaN, no zero) failed
                if not str(error).startswith(ASSUMES):
                    raise
                self.replays -= 1
                loss = _eager(self.loss_fn, batch)
        else:
            loss = self._run_eagerly(key, batch)
        if optimizer is not None:
            optimizer.step()
        return loss

    def _run_eagerly(self, key: tuple, batch) -> Tensor:
        """loss_fn(*batch).backward() eagerly, recording it while a program may come of it."""
        if switches.anomaly or key in self.traces:
            return _eager(self.loss_fn, batch)
        loss, recording, why = _record(self.loss_fn, batch)
        previous = self.recordings.pop(key, None)
        if recording is None:
            self._remember(key, None, why)
        elif previous is not None:
            if not _agree(previous, recording):
                self._remember(key, None, "its two recorded runs took different paths")
            else:
                try:
                    compiled = _Compiled(recording, _batch_names(self.loss_fn, len(batch)))
                except CodeUnavailable as error:
                    self._remember(key, None, str(error))
                else:
                    self.source = compiled.source
                    self._remember(key, compiled, None)
        else:
            if len(self.recordings) >= _MAX_SHAPES:  # a first run per shape, the latest few
                del self.recordings[next(iter(self.recordings))]
            self.recordings[key] = recording
        return loss

    def _remember(self, key: tuple, trace, why: str | None) -> None:
        if len(self.traces) >= _MAX_SHAPES:
            self.traces.pop(next(iter(self.traces)))
        self.traces[key] = trace
        if why is not None:
            if self.why_eager is None:
                name = getattr(self.loss_fn, "__name__", "the function")
                warnings.warn(
                    f"autodiff.capture runs {name} eagerly: {why}", RuntimeWarning, stacklevel=4
                )
            self.why_eager = why


def _batch_names(loss_fn: Callable, count: int) -> list[str]:
    """The names loss_fn gives its arguments (the batch), else batch0, batch1, ..."""
    try:
        names = [
            p.name
            for p in inspect.signature(loss_fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        names = []
    return names[:count] + [f"batch{k}" for k in range(len(names), count)]


def _key(value) -> tuple:
    """What a trace depends on in one argument: an array's shape and dtype, else the value."""
    if isinstance(value, (np.ndarray, Tensor)):
        return value.shape, value.dtype
    return type(value), value


def capture(loss_fn: Callable, optimizer=None) -> Captured:
    """Capture loss_fn(*batch) -> scalar Tensor: calling the result runs it and its backward.

    Pass the batch as arrays (`step(x[idx], y[idx])`); parameters are the Tensors loss_fn
    uses, read afresh on every call, so an optimizer may update them between calls. Returns
    the loss as a Tensor (after a replay, one without a graph).

    With an optimizer, each call also takes its step. When its update is plain SGD
    (`optimizer.folded_rate()` gives lr) and no parameter holds a gradient yet (as after
    zero_grad), the program takes the step itself with lr folded into its seed, as a
    hand-written step folds it into the output delta: the same update to rounding, in
    one pass over each weight, and .grad is left None.
    """
    return Captured(loss_fn, optimizer)


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


def _record(loss_fn: Callable, batch):
    """Run loss_fn eagerly with its backward: (loss, recording or None, why not replayable)."""
    with recording() as (ops, escaped, effects):
        loss = _eager(loss_fn, batch, backward=False)
    loss.backward()
    if escaped:
        return loss, None, f"it reads tensor values into Python ({escaped[0]})"
    if effects:
        return loss, None, f"it changes state that a replay would not ({effects[0]})"
    if loss.op is None or loss.size != 1:
        return (
            loss,
            None,
            (
                f"its loss is not a scalar computed by recorded ops (got shape {loss.shape}, "
                f"{'made by ' + loss.op.name if loss.op else 'a constant'})"
            ),
        )
    recorded = _Recording(ops, loss, batch)
    if not recorded.replayable:
        return loss, None, "it uses a tensor computed before the call"
    return loss, recorded, None


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


class _Compiled:
    """A recording written out as one numpy program (codegen.py) and compiled for replay.

    The program takes the parameters and the batch and returns the loss, the parameters'
    gradients, and every intermediate's value and gradient (as backward() leaves them).
    Which leaf gradients need a copy of their own (backward()'s rule: a leaf's .grad never
    shares memory with another gradient) depends only on the program: the first replay
    finds out as backward() does and later replays reuse the answer.
    """

    def __init__(self, recording: _Recording, batch_names: list[str]):
        tensors, sources = recording.tensors, recording.sources
        constants: dict = {}
        names = dict(enumerate(batch_names[: len(recording.batch)]))  # batch position -> name

        def constant(array) -> str:
            found = recording._from_batch(array)
            if found is not None:
                _, k, dtype = found
                return names[k] if dtype is None else f"{names[k]}.astype(np.{dtype.name})"
            for name, value in constants.items():
                if value is array:
                    return name
            name = f"c{len(constants)}"
            constants[name] = array
            program.env[name] = array
            return name

        def external(t: Tensor):
            slot = recording.slots[id(t)]
            kind = sources[slot][0]
            if kind == "leaf":
                position = self.leaf_slots.index(slot)
                hint = t.name if t.name and t.name.isidentifier() else f"p{position}"
                return program.fresh(hint), True
            if kind == "batch":
                _, k, dtype = sources[slot]
                return (names[k] if dtype is None else constant(t.data)), False
            if t.ndim == 0 and t.dtype.kind in "fiub":
                return repr(t.data.item()), False
            return constant(t.data), False

        self.tensors = tensors
        self.leaf_slots = []
        program = Program(external, constant)
        for k, name in names.items():
            program.taken.add(name)
            program.env[name] = recording.batch[k]
        nodes = [
            (op, [tensors[i] for i in ins], tensors[out]) for op, ins, out, _ in recording.nodes
        ]
        # Leaves are named in the order they are first used, as the program reads them.
        for _, inputs, _ in nodes:
            for t in inputs:
                slot = recording.slots[id(t)]
                if sources[slot][0] == "leaf" and slot not in self.leaf_slots:
                    self.leaf_slots.append(slot)
        program.write(nodes, tensors[recording.root], root_hint="loss")
        self.leaf_slots = [s for s in self.leaf_slots if id(tensors[s]) in program.values]
        leaf_names = [program.values[id(tensors[s])].name for s in self.leaf_slots]
        self.intermediates = [
            s for s, source in enumerate(sources)
            if source[0] == "op" and id(tensors[s]) in program.values
        ]  # fmt: skip
        values = [program.values[id(tensors[s])].name for s in self.intermediates]
        grads = [program.grad_name(tensors[s]) or "None" for s in self.intermediates]
        leaf_grads = [program.grad_name(tensors[s]) or "None" for s in self.leaf_slots]
        returns = (
            f"{program.root.name}, ({_tuple(leaf_grads)}), ({_tuple(values)}), ({_tuple(grads)})"
        )
        body = program.forward + [""] + program.backward
        keep = {program.root.name}
        values: dict = {}
        lines, buffers = with_buffers(body, program.env, keep, values)
        parameters = ", ".join(leaf_names + list(names.values()))
        function = _function("step", parameters, lines, returns)
        # The same program taking SGD's step: the seed is lr instead of 1, so every gradient
        # comes out times lr, and each parameter is updated by one subtraction.
        seed = program.backward[0]
        seed_name = seed.split(" = ", 1)[0]
        sgd_body = [
            f"{seed_name} = np.asarray(lr, {program.root.name}.dtype)  # SGD's lr as the seed"
            if line == seed
            else line
            for line in body
        ]
        updates = [
            f"{name} -= {grad}  # SGD: {name} <- {name} - lr d{program.root.name}/d{name}"
            for name, grad in zip(leaf_names, leaf_grads)
            if grad != "None"
        ]
        sgd_lines, sgd_buffers = with_buffers(sgd_body, program.env, keep, values)
        sgd_function = _function(
            "step_with_sgd", "lr, " + parameters, sgd_lines + updates, program.root.name
        )
        header = "\n".join(program.imports())
        allocations = list(dict.fromkeys(buffers + sgd_buffers))
        if allocations:
            header += "\n\n# buffers, allocated once for this batch shape\n" + "\n".join(
                allocations
            )
        if constants:
            shapes = ", ".join(f"{n} {np.shape(v)}" for n, v in constants.items())
            header += f"\n\n# constants recorded with the program: {shapes}"
        self.source = header + "\n\n\n" + function + "\n\n" + sgd_function
        # Only what the program reads: numpy and the constants, not the recorded values the
        # writer checked its lines on (they would stay alive as long as the program).
        namespace = {"np": np, "sliding_window_view": program.env["sliding_window_view"]}
        namespace.update(constants)
        exec(compile(self.source, "<captured step>", "exec"), namespace)  # noqa: S102
        self.function, self.sgd_function = namespace["step"], namespace["step_with_sgd"]
        # The writer's closures refer to it: a cycle the garbage collector would free only
        # later, holding every recorded value (a weight-sized gradient among them) till then.
        program.env.clear()
        vars(program).clear()
        self.buffers = {id(v) for k, v in namespace.items() if k.startswith("buf_")}
        self.updated = [s for s, g in zip(self.leaf_slots, leaf_grads) if g != "None"]
        self.copies: set | None = None  # leaf slots whose gradient must be copied
        self.leaves = [tensors[s] for s in self.leaf_slots]
        self.optimizer_checked, self.optimizer_covers = None, False

    def folded_rate(self, optimizer) -> float | None:
        """The optimizer's lr when the program may take its step itself, else None: plain
        SGD over every parameter the program updates, none holding a gradient, all writable."""
        folded_rate = getattr(optimizer, "folded_rate", None)
        if folded_rate is None:
            return None
        key = (id(optimizer), len(optimizer.params))
        if self.optimizer_checked != key:  # its parameters, checked once per optimizer
            params = {id(p) for p in optimizer.params}
            self.optimizer_covers = all(id(self.tensors[s]) in params for s in self.updated)
            self.optimizer_checked = key
        if not self.optimizer_covers:
            return None
        for t in self.leaves:
            if t.grad is not None or not t.data.flags.writeable:
                return None
        return folded_rate()  # asked last: it may free what the optimizer's own step uses

    def replay_with_sgd(self, batch, rate: float) -> Tensor:
        arrays = [t.data for t in self.leaves]
        arrays += [b.data if isinstance(b, Tensor) else b for b in batch]
        return Tensor._make(np.asarray(self.sgd_function(rate, *arrays)), False)

    def replay(self, batch) -> Tensor:
        tensors = self.tensors
        for slot in self.leaf_slots:
            g = tensors[slot].grad
            if g is not None and id(g) in self.buffers:  # the next run writes over it
                tensors[slot].grad = g.copy()
        arrays = [tensors[slot].data for slot in self.leaf_slots]
        arrays += [b.data if isinstance(b, Tensor) else b for b in batch]
        loss, leaf_grads, values, grads = self.function(*arrays)
        # As backward(): intermediates get this pass's values and gradients; each leaf gets
        # an array of its own, added to what it already holds.
        for slot, value, grad in zip(self.intermediates, values, grads):
            tensor = tensors[slot]
            tensor.data, tensor.grad = value, grad
        if self.copies is None:
            self.copies = self._leaves_to_copy(leaf_grads, grads)
        for slot, g in zip(self.leaf_slots, leaf_grads):
            if g is None:
                continue
            if slot in self.copies:
                g = g.copy()
            tensor = tensors[slot]
            tensor.grad = g if tensor.grad is None else tensor.grad + g
        return Tensor._make(np.asarray(loss), False)

    def _leaves_to_copy(self, leaf_grads, grads) -> set:
        shared = {id(_memory_owner(g)) for g in grads if isinstance(g, np.ndarray)}
        copies = set()
        for slot, g in zip(self.leaf_slots, leaf_grads):
            if g is None:
                continue
            if not isinstance(g, np.ndarray):
                copies.add(slot)
                continue
            owner = id(_memory_owner(g))
            if owner in shared or not g.flags.writeable:
                copies.add(slot)
            shared.add(owner)
        return copies


def _function(name: str, parameters: str, lines: list[str], returns: str) -> str:
    body = [("    " + line) if line else "" for line in lines]
    return f"def {name}({parameters}):\n" + "\n".join(body) + f"\n    return {returns}\n"


def _tuple(names: list[str]) -> str:
    return ", ".join(names) + ("," if len(names) == 1 else "")
