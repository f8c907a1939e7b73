"""The in-place protection: arrays saved for backward stay read-only until a backward pass
through their graph.

The core calls two functions here through `switches.protection` (installed when autodiff is
imported): `lock(op)` when apply records an op, and `release(order)` after the backward walk.
Locked are what a recorded op will read: its output for good (the graph's record) and its
leaf inputs (parameters, constants, the batch), registered in PINNED until the walk through
their graph releases them. So an in-place change that would corrupt a gradient (`w.data += 1`,
`b.data[...] = 0`, an optimizer step before `backward()`) fails at the change, and updating
parameters after `backward()` is legal. Writers outside the engine (optimizers,
load_state_dict) check an array with `ensure_writable` first. Knows nothing of the walk.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterable

import numpy as np

from ..core.mode import switches
from ..core.op import Op

# id(array) -> (array, the class of the op that first saved it). Holding the array keeps
# its id unique while registered; registered arrays are exactly those made read-only here.
PINNED: dict[int, tuple[np.ndarray, type[Op]]] = {}

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
        if t.op is None and id(array) not in PINNED and array.flags.writeable:
            array.setflags(False)
            PINNED[id(array)] = array, type(op)  # the class: the op holds its graph
            if len(PINNED) > prune_at:
                prune()
    output = saved[-1]
    if output.flags.writeable:
        output.setflags(False)


def release(order: Iterable) -> None:
    """Make writable again the leaves' arrays registered for the tensors of `order` (a walked
    graph). Arrays made by recorded ops stay read-only: they are the graph's record."""
    for tensor in order:
        if tensor.op is None and PINNED.pop(id(tensor.data), None) is not None:
            # Inline, not _unlock: contextlib.suppress costs more than the unlock itself.
            try:  # noqa: SIM105
                tensor.data.setflags(True)
            except ValueError:  # a view whose base another pending graph still saved
                pass
    if len(PINNED) > prune_at:
        prune()


def _unlock(array: np.ndarray) -> None:
    # A view whose base another pending graph still saved stays read-only: ValueError.
    with contextlib.suppress(ValueError):
        array.setflags(True)  # positional: the keyword form costs several times more


def prune() -> None:
    """Forget registered arrays that only the registry still holds (their graphs are gone)."""
    global prune_at
    for key, (array, _) in list(PINNED.items()):
        # References: the registry's tuple, `array` here and getrefcount's argument.
        if sys.getrefcount(array) <= 3:
            del PINNED[key]
    prune_at = max(1024, 2 * len(PINNED))


def saved_by(array: np.ndarray) -> type[Op] | None:
    """The class of the recorded op that made array read-only, or None if none did."""
    entry = PINNED.get(id(array))
    return entry[1] if entry is not None and entry[0] is array else None


def release_if_unused(array: np.ndarray) -> bool:
    """Make array writable again when no live recorded op still holds it (its graphs were
    dropped without backward); return whether it is writable. Slow (it asks the garbage
    collector who refers to the array): for error paths only."""
    if saved_by(array) is None:
        return bool(array.flags.writeable)
    for holder in gc.get_referrers(array):
        if isinstance(holder, list) and any(
            isinstance(owner, Op) or (isinstance(owner, dict) and owner.get("saved") is holder)
            for owner in gc.get_referrers(holder)
        ):
            return False
    del PINNED[id(array)]
    _unlock(array)
    return bool(array.flags.writeable)


def read_only_error(array: np.ndarray, what: str) -> RuntimeError | None:
    """A RuntimeError naming `what` and the op that saved array while a live graph still
    needs it for backward; None (after releasing it) when no graph does."""
    op = saved_by(array)
    if op is None or release_if_unused(array):
        return None
    return RuntimeError(
        f"{what} is saved for backward by {op.__name__} in a graph that has not been "
        "backpropagated yet, so it is read-only: changing it now would make that gradient "
        "wrong. Call backward() first, or build the graph under autodiff.no_grad() when no "
        "gradient is wanted"
    )


def ensure_writable(array: np.ndarray, what: str) -> None:
    """Before changing array in place: raise read_only_error's RuntimeError while a live graph
    needs it (releasing it first when none does). For writers outside the engine."""
    if not array.flags.writeable:
        error = read_only_error(array, what)
        if error is not None:
            raise error
