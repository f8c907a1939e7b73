"""Training and keeping networks: `fit` with progress, monitoring, checkpoints and Ctrl+C,
`evaluate`, the History and its plot, and save/load in network2.py's JSON format.
"""

from .fit import History, evaluate, fit, training_step
from .plots import new_figure, plot_history
from .serialization import load, nielsen_cost, save, to_document, write_atomically

__all__ = [
    "History",
    "evaluate",
    "fit",
    "load",
    "new_figure",
    "nielsen_cost",
    "plot_history",
    "save",
    "to_document",
    "training_step",
    "write_atomically",
]
