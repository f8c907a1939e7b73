"""Progress bars: tqdm.auto's (widgets in Jupyter, text elsewhere) without the warning it
gives in a notebook that lacks ipywidgets, where its text bars work just as well."""

import warnings

from tqdm import TqdmWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", TqdmWarning)
    from tqdm.auto import tqdm

__all__ = ["tqdm"]
