"""A stand-in for Nielsen's src/mnist_loader.py, in Python 3, from the book's description:
load_data() reads ../data/mnist.pkl.gz (three (images, labels) pairs), load_data_wrapper()
gives his lists: training inputs as (784, 1) columns with (10, 1) one-hot targets, validation
and test inputs with int labels, as zips. Not part of the package.
"""

import gzip
import pickle

import numpy as np


def load_data():
    with gzip.open("../data/mnist.pkl.gz", "rb") as f:
        return pickle.load(f, encoding="latin1")


def load_data_wrapper():
    tr_d, va_d, te_d = load_data()
    training_inputs = [np.reshape(x, (784, 1)) for x in tr_d[0]]
    training_data = zip(training_inputs, [vectorized_result(y) for y in tr_d[1]])
    validation_data = zip([np.reshape(x, (784, 1)) for x in va_d[0]], va_d[1])
    test_data = zip([np.reshape(x, (784, 1)) for x in te_d[0]], te_d[1])
    return (training_data, validation_data, test_data)


def vectorized_result(j):
    e = np.zeros((10, 1))
    e[j] = 1.0
    return e
