"""Datasets as numpy arrays, rows as examples: MNIST found, downloaded (verified, atomic) or
taken from the genuine sample shipped here (mnist), and what serves any dataset: one-hot
labels, mini-batches, Nielsen's list-of-columns format (arrays); his mnist.pkl.gz read with
a restricted unpickler (nielsen); his expanded training set of 1-pixel shifts (expand);
names for character-level language models (names) and text for "Let's build GPT" (text).
Knows nothing of models.
"""

from .arrays import as_pair, from_nielsen, iterate_minibatches, one_hot, to_nielsen
from .download import DownloadError
from .expand import expand_mnist
from .mnist import (
    FILES,
    MIRRORS,
    MNIST,
    SAMPLE_PATH,
    SHA256,
    SIZES,
    SPLITS,
    SampleDataWarning,
    cache_dir,
    download_mnist,
    load_mnist,
    load_sample,
    read_idx,
)
from .names import NAMES_SAMPLE_PATH, Names, NamesSplit, load_names
from .nielsen import load_nielsen_pickle, save_nielsen_pickle
from .text import TEXT_SAMPLE_PATH, Text, load_text

__all__ = [
    "FILES",
    "MIRRORS",
    "MNIST",
    "NAMES_SAMPLE_PATH",
    "Names",
    "NamesSplit",
    "SAMPLE_PATH",
    "SHA256",
    "SIZES",
    "SPLITS",
    "DownloadError",
    "SampleDataWarning",
    "TEXT_SAMPLE_PATH",
    "Text",
    "as_pair",
    "cache_dir",
    "download_mnist",
    "expand_mnist",
    "from_nielsen",
    "iterate_minibatches",
    "load_mnist",
    "load_names",
    "load_nielsen_pickle",
    "load_sample",
    "load_text",
    "one_hot",
    "read_idx",
    "save_nielsen_pickle",
    "to_nielsen",
]
