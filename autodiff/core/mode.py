"""Global switches: whether ops are recorded (`no_grad`), protected, checked for NaN, captured.

The tools room sets the last three: tools/inplace.py (always, when autodiff is imported),
tools/anomaly.py (`detect_anomaly`) and tools/capture.py; the core only calls them.
"""

from __future__ import annotations

import functools


class _Switches:
    grad_enabled = True
    protection = None  # lock(op) in apply, release(order) after the walk (tools/inplace.py)
    anomaly = None  # the NaN/Inf checker while detect_anomaly() is active (tools/anomaly.py)
    recording = None  # a list collecting (op, inputs, output) while capture.py records


switches = _Switches()


class _Switch:
    """A context manager (and decorator) that sets one switch and restores it on exit."""

    attribute = ""
    value = False

    def __enter__(self):
        self._previous = getattr(switches, self.attribute)
        setattr(switches, self.attribute, self.value)
        return self

    def __exit__(self, *exc_info):
        setattr(switches, self.attribute, self._previous)

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_Switch):
    """Inside this context no op is recorded: results have requires_grad=False and no graph."""

    attribute, value = "grad_enabled", False


class enable_grad(_Switch):
    """Turn recording back on inside a `no_grad` block."""

    attribute, value = "grad_enabled", True
