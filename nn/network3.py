"""Nielsen's network3.py (chapter 6) on the engine instead of Theano: Network, ConvPoolLayer,
FullyConnectedLayer, SoftmaxLayer, his activations and load_data_shared, with his semantics.

Reimplemented from the behaviour the book documents: weights as he initialises and lays them
out (a fully connected w is (n_in, n_out)), conv then max-pool then bias then activation, a
true convolution as Theano's conv2d (kernels flipped; nn.Conv2d correlates, as PyTorch), no
dropout scaling while training and (1 - p_dropout) on the weighted input at evaluation, L2
0.5 lmbda sum(w^2) / num_training_batches over every layer's weights (biases not),
mini-batches in file order, and the test accuracy reported at the best validation epoch.
Max-pool ties follow PyTorch (see nn.layers.pooling), not Theano.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autodiff import Tensor, no_grad

from .data import load_mnist, load_nielsen_pickle
from .layers import Parameter, conv2d, max_pool2d
from .losses import cross_entropy
from .optim import SGD as _SGDOptimizer

# ---------------------------------------------------------------- activation functions


def sigmoid(z: Tensor) -> Tensor:
    return z.sigmoid()


def tanh(z: Tensor) -> Tensor:
    return z.tanh()


def ReLU(z: Tensor) -> Tensor:  # his name
    return z.relu()


def linear(z: Tensor) -> Tensor:
    return z


# ---------------------------------------------------------------- data


def load_data_shared(filename: str = "mnist.pkl.gz") -> list[tuple[np.ndarray, np.ndarray]]:
    """[training, validation, test], each (images float32 (n, 784), labels int32 (n,)).

    Read from his mnist.pkl.gz with nn.data's restricted unpickler. When the file is absent,
    the same layout is made from MNIST's IDX files (nn.data.load_mnist, split="nielsen").
    Theano's shared variables become plain arrays: net.SGD takes them as they are.
    """
    path = Path(filename).expanduser()
    if path.exists():
        splits = load_nielsen_pickle(path)
    else:
        warnings.warn(
            f"{path} not found: building the same 50,000 / 10,000 / 10,000 split from "
            "MNIST's IDX files (nn.data.load_mnist)",
            stacklevel=2,
        )
        mnist = load_mnist(split="nielsen", dtype=np.float32, fallback=False)
        splits = (mnist.train, mnist.validation, mnist.test)
    return [(np.asarray(x, np.float32), np.asarray(y, np.int32)) for x, y in splits]


def size(data) -> int:
    """The number of examples in an (images, labels) pair."""
    return len(data[0])


# ---------------------------------------------------------------- layers


def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


class ConvPoolLayer:
    """A convolutional layer (true convolution, 'valid') followed by max-pooling, then bias and
    activation. filter_shape (filters, input feature maps, height, width); image_shape
    (mini-batch size, input feature maps, height, width). No dropout."""

    def __init__(
        self, filter_shape, image_shape, poolsize=(2, 2), activation_fn=sigmoid, *, rng=None
    ):
        self.filter_shape, self.image_shape = tuple(filter_shape), tuple(image_shape)
        self.poolsize, self.activation_fn = tuple(poolsize), activation_fn
        if self.filter_shape[1] != self.image_shape[1]:
            raise ValueError(
                f"ConvPoolLayer: filter_shape {self.filter_shape} has {self.filter_shape[1]} "
                f"input feature maps, image_shape {self.image_shape} has {self.image_shape[1]}"
            )
        # His scale: sqrt(1 / n_out), n_out the outputs each input reaches after pooling.
        n_out = self.filter_shape[0] * np.prod(self.filter_shape[2:]) / np.prod(self.poolsize)
        rng = _rng(rng)
        self.w = Parameter(rng.normal(0, np.sqrt(1.0 / n_out), self.filter_shape))
        self.b = Parameter(rng.normal(0, 1.0, self.filter_shape[0]))
        self.params = [self.w, self.b]

    def output(self, inpt, training: bool, rng: np.random.Generator) -> Tensor:
        inpt = inpt.reshape((-1,) + self.image_shape[1:])
        # Theano's conv2d flips the kernels: correlating with w reversed is convolving with w.
        conv_out = conv2d(inpt, self.w[:, :, ::-1, ::-1])
        pooled_out = max_pool2d(conv_out, self.poolsize)
        return self.activation_fn(pooled_out + self.b.reshape((1, -1, 1, 1)))


class FullyConnectedLayer:
    """activation(x @ w + b), w (n_in, n_out) ~ N(0, 1/sqrt(n_out)), b ~ N(0, 1); dropout of
    the inputs with probability p_dropout while training, weighted input scaled by
    (1 - p_dropout) at evaluation."""

    def __init__(self, n_in: int, n_out: int, activation_fn=sigmoid, p_dropout=0.0, *, rng=None):
        self.n_in, self.n_out = n_in, n_out
        self.activation_fn, self.p_dropout = activation_fn, p_dropout
        rng = _rng(rng)
        self.w = Parameter(rng.normal(0, np.sqrt(1.0 / n_out), (n_in, n_out)))
        self.b = Parameter(rng.normal(0, 1.0, n_out))
        self.params = [self.w, self.b]

    def weighted_input(self, inpt, training: bool, rng: np.random.Generator) -> Tensor:
        inpt = inpt.reshape((-1, self.n_in))
        if training:
            if self.p_dropout:
                keep = rng.random(inpt.shape) < 1 - self.p_dropout
                inpt = inpt * keep.astype(inpt.dtype)
            return inpt @ self.w + self.b
        if self.p_dropout:
            return (inpt @ self.w) * (1 - self.p_dropout) + self.b
        return inpt @ self.w + self.b

    def output(self, inpt, training: bool, rng: np.random.Generator) -> Tensor:
        return self.activation_fn(self.weighted_input(inpt, training, rng))


class SoftmaxLayer(FullyConnectedLayer):
    """softmax(x @ w + b) with w and b starting at zero; the cost is the log-likelihood
    -mean(log(output)[label]), computed from the weighted input (softmax cross-entropy)."""

    def __init__(self, n_in: int, n_out: int, p_dropout=0.0):
        self.n_in, self.n_out, self.p_dropout = n_in, n_out, p_dropout
        self.activation_fn = None
        self.w = Parameter(np.zeros((n_in, n_out)))
        self.b = Parameter(np.zeros(n_out))
        self.params = [self.w, self.b]

    def output(self, inpt, training: bool, rng: np.random.Generator) -> Tensor:
        return self.weighted_input(inpt, training, rng).softmax(axis=-1)


# ---------------------------------------------------------------- the network


@dataclass
class Result:
    """What net.SGD measured: per-epoch validation accuracy, the best one, and the test
    accuracy at that epoch (None without test data)."""

    validation_accuracies: list = field(default_factory=list)
    best_validation_accuracy: float = 0.0
    best_iteration: int = 0
    test_accuracy: float | None = None
    seconds: float = 0.0


class Network:
    """Network(layers, mini_batch_size): the layers in order, the last a SoftmaxLayer.

    Dropout masks come from np.random.default_rng(seed) (his Theano stream had a fixed seed
    too). dtype converts every parameter (float64 as Theano's default floatX, or float32).
    """

    def __init__(self, layers, mini_batch_size: int, *, seed=0, dtype=np.float64):
        if not isinstance(layers[-1], SoftmaxLayer):
            raise ValueError("Network: the last layer must be a SoftmaxLayer (its cost is used)")
        self.layers, self.mini_batch_size = list(layers), mini_batch_size
        self.dtype = np.dtype(dtype)
        for layer in self.layers:
            for p in layer.params:
                p.data = p.data.astype(self.dtype)
        self.params = [p for layer in self.layers for p in layer.params]
        self.rng = _rng(seed)

    def forward(self, x, training: bool) -> Tensor:
        """The last layer's weighted input (training: dropout path; else evaluation path)."""
        a = Tensor(np.asarray(x, dtype=self.dtype))
        for layer in self.layers[:-1]:
            a = layer.output(a, training, self.rng)
        return self.layers[-1].weighted_input(a, training, self.rng)

    def cost(self, x, y, lmbda: float = 0.0, num_training_batches: int = 1) -> Tensor:
        """His training cost: log-likelihood + 0.5 lmbda sum(w^2) / num_training_batches."""
        l2_norm_squared = sum((layer.w**2).sum() for layer in self.layers)
        log_likelihood = cross_entropy(self.forward(x, training=True), np.asarray(y))
        return log_likelihood + 0.5 * lmbda * l2_norm_squared / num_training_batches

    def predict(self, x, batch_size: int = 1000) -> np.ndarray:
        """The predicted digit for each row of x (evaluation path: no dropout)."""
        with no_grad():
            return np.concatenate(
                [
                    self.forward(x[start : start + batch_size], training=False).data.argmax(1)
                    for start in range(0, len(x), batch_size)
                ]
            )

    def accuracy(self, data) -> float:
        """The fraction right over whole mini-batches only, as his mean of per-batch means."""
        x, y = data
        count = (len(x) // self.mini_batch_size) * self.mini_batch_size
        return float(np.mean(self.predict(x[:count]) == np.asarray(y[:count])))

    def SGD(  # his name
        self,
        training_data,
        epochs: int,
        mini_batch_size: int,
        eta: float,
        validation_data,
        test_data=None,
        lmbda: float = 0.0,
        *,
        progress: bool = False,
        verbose: bool = True,
    ) -> Result:
        """Train with his update w <- w - eta * d(cost)/dw, printing his lines; returns Result."""
        # Flushed: his lines must reach a log before the next epoch's bar (on stderr) does.
        say = (lambda line: print(line, flush=True)) if verbose else (lambda *args: None)
        training_x, training_y = training_data
        num_training_batches = size(training_data) // mini_batch_size
        # d/dw of 0.5 lmbda w^2 / num_training_batches is weight decay on every w (ndim >= 2),
        # never on biases; nn.SGD decays exactly those (checked in tests/test_network3.py).
        optimizer = _SGDOptimizer(self.params, lr=eta, weight_decay=lmbda / num_training_batches)
        result, start = Result(), time.perf_counter()
        for epoch in range(epochs):
            # One bar per epoch, gone before the epoch's lines are printed: they never mix.
            bar = _progress(num_training_batches, epoch, epochs) if progress else None
            for minibatch_index in range(num_training_batches):
                iteration = num_training_batches * epoch + minibatch_index
                if iteration % 1000 == 0 and bar is None:
                    say(f"Training mini-batch number {iteration}")
                batch = slice(
                    minibatch_index * mini_batch_size, (minibatch_index + 1) * mini_batch_size
                )
                self.train_step(training_x[batch], training_y[batch], optimizer)
                if bar is not None:
                    bar.update()
            if bar is not None:
                bar.close()
            validation_accuracy = self.accuracy(validation_data)
            result.validation_accuracies.append(validation_accuracy)
            say(f"Epoch {epoch}: validation accuracy {validation_accuracy:.2%}")
            if validation_accuracy >= result.best_validation_accuracy:
                say("This is the best validation accuracy to date.")
                result.best_validation_accuracy = validation_accuracy
                result.best_iteration = iteration
                if test_data:
                    result.test_accuracy = self.accuracy(test_data)
                    say(f"The corresponding test accuracy is {result.test_accuracy:.2%}")
        result.seconds = time.perf_counter() - start
        say("Finished training network.")
        say(
            f"Best validation accuracy of {result.best_validation_accuracy:.2%} obtained at "
            f"iteration {result.best_iteration}"
        )
        if result.test_accuracy is not None:
            say(f"Corresponding test accuracy of {result.test_accuracy:.2%}")
        if test_data:
            test_x = test_data[0]
            self.test_mb_predictions = lambda i: self.predict(
                test_x[i * mini_batch_size : (i + 1) * mini_batch_size]
            )
        return result

    def train_step(self, x, y, optimizer) -> None:
        """One step of gradient descent on the mini-batch (x, y), dropout path."""
        loss = cross_entropy(self.forward(x, training=True), np.asarray(y))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def _progress(total: int, epoch: int, epochs: int):
    from .data.progress import tqdm  # only when asked for

    return tqdm(total=total, unit="batch", leave=False, desc=f"epoch {epoch + 1}/{epochs}")
