"""Datasets as numpy arrays, rows as examples: MNIST found, downloaded (verified, atomic) or
taken from the genuine sample shipped here (mnist), and what serves any dataset: one-hot
labels, mini-batches, Nielsen's list-of-columns format (arrays). Knows nothing of models.
"""

from .arrays import from_nielsen, iterate_minibatches, one_hot, to_nielsen
from .download import DownloadError
from .mnist import (
    FILES,
    MIRRORS,
    MNIST,
    SAMPLE_PATH,
    SHA256,
    SPLITS,
    SampleDataWarning,
    cache_dir,
    download_mnist,
    load_mnist,
    load_sample,
    read_idx,
)

__all__ = [
    "FILES",
    "MIRRORS",
    "MNIST",
    "SAMPLE_PATH",
    "SHA256",
    "SPLITS",
    "DownloadError",
    "SampleDataWarning",
    "cache_dir",
    "download_mnist",
    "from_nielsen",
    "iterate_minibatches",
    "load_mnist",
    "load_sample",
    "one_hot",
    "read_idx",
    "to_nielsen",
]
