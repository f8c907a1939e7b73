"""The in-place protection: arrays saved for backward stay read-only until a backward pass
through every graph that saved them.

The core calls two functions here through `switches.protection` (installed when autodiff is
imported): `lock(op)` when apply records an op, and `release(order)` after the backward walk.
Locked are what a recorded op will read: its output for good (the graph's record) and its
leaf inputs (parameters, constants, the batch), registered in PINNED with the ops that saved
them until the walks through their graphs release them. So a user's in-place change that
would corrupt a gradient (`w.data += 1`, `b.data[...] = 0`) fails at the change, and
updating parameters after `backward()` is legal. The library's own writers (optimizers,
load_state_dict) never fail for a graph: `writable` gives them a fresh array to bind instead
of one a graph saved. Knows nothing of the walk.
"""

from __future__ import annotations

import sys
from weakref import ref

import numpy as np

from ..core.mode import switches
from ..core.op import Op

# id(array) -> (array, the class of the op that first saved it, the ops that saved it: a weak
# reference, or a list of them once a second op saves it). Holding the array keeps its id
# unique while registered; registered arrays are exactly those made read-only here.
PINNED: dict[int, tuple[np.ndarray, type[Op], ref | list[ref]]] = {}

# Graphs dropped without a backward leave their arrays here; past this many entries, those
# that nothing else holds any more are forgotten (see prune). lock checks it on insertion.
prune_at = 1024


def install() -> None:
    """Turn the protection on: the core calls lock and release through its switch."""
    switches.protection = sys.modules[__name__]


def lock(op: Op) -> None:
    """Make what a just-recorded op will read in backward read-only: its output for good, its
    leaf inputs until a backward pass releases them (an input made by a recorded op was locked
    as that op's output). setflags with a positional argument: the keyword form and
    flags.writeable = ... cost several times more."""
    saved = op.saved
    for t, array in zip(op.inputs, saved):
        if t.op is None:
            key = id(array)
            entry = PINNED.get(key)
            if entry is not None:  # saved by another op (of this graph or another) too
                _add_saver(key, entry, op)
            elif array.flags.writeable:
                array.setflags(False)
                PINNED[key] = array, type(op), ref(op)
                if len(PINNED) > prune_at:
                    prune()
    output = saved[-1]
    if output.flags.writeable:
        output.setflags(False)


def _add_saver(key: int, entry: tuple, op: Op) -> None:
    """Count op among the savers of a registered array (a list from the second one on)."""
    array, first, savers = entry
    if isinstance(savers, ref):
        PINNED[key] = array, first, [savers, ref(op)]
        return
    if len(savers) >= 8:  # forget the ops of graphs that are gone
        savers[:] = [r for r in savers if r() is not None]
    savers.append(ref(op))


def release(order: list) -> None:
    """Make writable again the leaves' arrays registered for the tensors of `order` (a walked
    graph), except those that an op of another graph still alive saved too: that graph's
    backward is still to come. Arrays made by recorded ops stay read-only (the record)."""
    ops = None
    for tensor in order:
        if tensor.op is not None:
            continue
        key = id(tensor.data)
        entry = PINNED.pop(key, None)
        if entry is None:
            continue
        if ops is None:
            ops = {t.op for t in order}
        savers = entry[2]
        if isinstance(savers, ref):  # the usual case: one op saved it
            saver = savers()
            if saver is not None and saver not in ops:
                PINNED[key] = entry  # its graph is still to be walked
                continue
        else:
            others = [r for r in savers if (saver := r()) is not None and saver not in ops]
            if others:
                PINNED[key] = entry[0], entry[1], others
                continue
        try:  # noqa: SIM105 (contextlib.suppress costs more than the unlock itself)
            tensor.data.setflags(True)
        except ValueError:  # a view whose base another pending graph still saved
            pass
    if len(PINNED) > prune_at:
        prune()


def prune() -> None:
    """Forget registered arrays that only the registry still holds (their graphs are gone)."""
    global prune_at
    for key, (array, _, _) in list(PINNED.items()):
        # References: the registry's tuple, `array` here and getrefcount's argument.
        if sys.getrefcount(array) <= 3:
            del PINNED[key]
    prune_at = max(1024, 2 * len(PINNED))


def saved_by(array: np.ndarray) -> type[Op] | None:
    """The class of the recorded op that made array read-only, or None if none did."""
    entry = PINNED.get(id(array))
    return entry[1] if entry is not None and entry[0] is array else None


def writable(array: np.ndarray) -> np.ndarray:
    """array itself when it is free to change in place; a writable copy (same layout) when a
    graph saved it for backward, live or dropped, for the caller to bind in its place.

    For the library's own writers (optimizer steps, load_state_dict, running statistics): a
    graph never makes them fail, one awaiting backward keeps the array it computed with (its
    gradient stays that of the computation as it ran), and a dropped one costs a copy. A
    user's own `w.data[...] = 0` into such an array is still refused by numpy, at the write.
    An array read-only for another reason is returned as it is, for the write to refuse.
    """
    if array.flags.writeable or saved_by(array) is None:
        return array
    return array.copy(order="K")


def writable_data(tensor) -> np.ndarray:
    """tensor.data, ready to change in place: rebound to a copy first when a graph saved it."""
    data = tensor.data
    if not data.flags.writeable:
        data = tensor.data = writable(data)
    return data
