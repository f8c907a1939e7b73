"""The numpy surface: numpy's dispatch protocols, the rest of the derivative table, linear algebra
and layout functions, all built on the core.

Importing this room gives the core's Tensor numpy's protocols and methods (methods.install), so
`np.exp(t)`, `np.ones(3) + t`, `np.var(t, axis=0)` and `t.clip(0, 1)` record ops; the core never
imports it. Read in this order: ops/ (the rules, family by family), functions.py and linalg.py
(functions composed of ops), ufuncs.py and array_functions.py (how numpy's names reach them),
methods.py (the Tensor methods and the install).
"""

from ..core.tensor import Tensor
from .functions import concatenate, maximum, minimum, stack, where
from .methods import install

install(Tensor)

__all__ = ["concatenate", "maximum", "minimum", "stack", "where"]
