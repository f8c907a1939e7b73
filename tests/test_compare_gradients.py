"""autodiff.compare_gradients: a correct manual backward (the backprop-ninja example, every
intermediate of the batch-norm MLP) is all exact or close; each classic mistake, planted in one
tensor, is caught on that tensor alone and named; shapes, inputs and the table."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import autodiff
from autodiff import Tensor, compare_gradients

ROOT = Path(__file__).resolve().parents[1]


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ninja = load_example("backprop_ninja")
SAMPLE = str(ROOT / "nn" / "data" / "names_sample.txt")


def test_the_ninja_manual_backward_is_exact_or_close_everywhere(capsys):
    result, loss = ninja.compare(SAMPLE)
    assert result.ok and not result.failures
    assert len(result) == 28  # 26 tensors and the two one-formula shortcuts
    assert {"C", "emb", "bnvar_inv", "logit_maxes", "logits (fused)"} <= result.rows.keys()
    assert all(row.exact or row.close for row in result)
    assert ninja.main(["--data", SAMPLE]) == 0
    assert "28 gradients: all exact or close" in capsys.readouterr().out


PLANTED = {
    "missing-sum": "missing sum over the broadcast axis 0",
    "wrong-axis": "the sum kept the wrong axis",
    "transposed": "transposed it matches autograd",
    "missing-1/n": "too large by a factor of 32: a missing 1/32",
    "sign": "sign flipped",
    "row-constant": "right up to a constant in each row",
    "zeros": "all zeros where autograd has values",
}


def test_every_planted_mistake_has_an_expected_diagnosis():
    assert set(PLANTED) == set(ninja.MISTAKES)


@pytest.mark.parametrize("mistake", sorted(PLANTED))
def test_a_planted_mistake_is_named_on_its_tensor_only(mistake):
    result, _ = ninja.compare(SAMPLE, mistake)
    tensor = ninja.MISTAKES[mistake][0]
    assert not result.ok
    assert [row.name for row in result.failures] == [tensor]
    assert PLANTED[mistake] in result[tensor].diagnosis
    assert ninja.main(["--data", SAMPLE, "--mistake", mistake]) == 1


# ---------------------------------------------------------------- small graphs


def layer(seed=0):
    """z = x @ W.T + b, loss = mean(tanh(z)^2), with autograd's gradients by backward."""
    rng = np.random.default_rng(seed)
    x = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    w = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = Tensor(rng.standard_normal(4), requires_grad=True)
    z = x @ w.T + b
    h = z.tanh()
    loss = (h * h).mean()
    dh = 2 * h.data / h.size
    dz = dh * (1 - h.data**2)
    manual = {"x": dz @ w.data, "w": dz.T @ x.data, "b": dz.sum(0), "z": dz, "h": dh}
    return {"x": x, "w": w, "b": b, "z": z, "h": h}, manual, loss


def pairs_of(tensors, manual, **changes):
    return {name: (changes.get(name, manual[name]), tensors[name]) for name in manual}


def test_loss_gives_gradients_of_intermediates_without_touching_grad():
    tensors, manual, loss = layer()
    result = compare_gradients(pairs_of(tensors, manual), loss=loss)
    assert result.ok
    assert all(t.grad is None for t in tensors.values())
    # Without loss=, the .grad of a backward already run is used (the leaves keep theirs);
    # an intermediate without .grad asks for loss=.
    loss.backward()
    leaves = {name: manual[name] for name in ("x", "w", "b")}
    assert compare_gradients(pairs_of(tensors, leaves)).ok
    tensors["z"].grad = None
    with pytest.raises(ValueError, match="has no .grad. Pass loss=loss"):
        compare_gradients(pairs_of(tensors, manual))


def test_size_one_axes_are_compared_and_noted():
    tensors, manual, loss = layer()
    result = compare_gradients(pairs_of(tensors, manual, b=manual["b"][None, :]), loss=loss)
    assert result.ok
    assert result["b"].note == "manual (1, 4) compared as (4,) (they differ by size-1 axes)"
    assert (result["b"].manual_shape, result["b"].autograd_shape) == ((1, 4), (4,))


def test_a_broadcast_gradient_summed_over_the_wrong_thing_is_still_reported():
    tensors, manual, loss = layer()
    wrong = np.broadcast_to(-manual["b"], (5, 4)) / 5  # summed it would be -db
    row = compare_gradients(pairs_of(tensors, manual, b=wrong), loss=loss)["b"]
    assert not row.close and np.isnan(row.max_abs_diff)
    assert "summed over axis 0 it still differs: sign flipped" in row.diagnosis


def test_partial_zeros_constant_factors_square_transposes_and_the_rest():
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((3, 3)), requires_grad=True)
    m = Tensor(rng.standard_normal((3, 3)))
    loss = (x * m).sum() + (x @ x.T)[0, 1]
    auto = autodiff.grad(loss, x).data
    masked = auto.copy()
    masked[0, :2] = 0
    cases = {
        "masked": (masked, "zeros at 2 of 9 positions"),
        "scaled": (auto * 1.5, "off by a constant factor 1.5"),
        "third": (auto / 3, "too small by a factor of 3"),
        "transposed": (auto.T, "transposed: the manual gradient is autograd's transposed"),
        "noise": (auto + rng.standard_normal((3, 3)), "not one of the classic mistakes"),
        "nan": (np.full((3, 3), np.nan), "NaN or Inf"),
        "shape": (np.zeros(7), "cannot be compared"),
    }
    result = compare_gradients({k: (v, x) for k, (v, _) in cases.items()}, loss=loss)
    for name, (_, expected) in cases.items():
        assert expected in result[name].diagnosis, (name, result[name].diagnosis)
        assert not result[name].close


def test_close_but_not_exact_says_rounding_and_the_table_prints_every_row():
    tensors, manual, loss = layer()
    nudged = manual["w"] * (1 + 1e-12)
    result = compare_gradients(pairs_of(tensors, manual, w=nudged), loss=loss)
    row = result["w"]
    assert row.close and not row.exact and row.diagnosis == "close (rounding only)"
    assert 0 < row.relative_diff < 1e-11
    text = str(result)
    assert text.splitlines()[0].split() == ["tensor", "exact", "close", "max", "abs", "diff",
                                            "rel", "diff", "diagnosis"]  # fmt: skip
    assert len(text.splitlines()) == 1 + 5 + 1 and text.endswith("all exact or close")


def test_inputs_are_checked_with_a_hint():
    tensors, manual, loss = layer()
    with pytest.raises(TypeError, match=r"the order is \(manual_gradient, tensor\)"):
        compare_gradients({"w": (tensors["w"], manual["w"])}, loss=loss)
    with pytest.raises(ValueError, match="does not require grad"):
        compare_gradients({"c": (np.zeros(2), Tensor(np.zeros(2)))}, loss=loss)
    with pytest.raises(TypeError, match=r"takes a dict"):
        compare_gradients([("w", manual["w"], tensors["w"])], loss=loss)
    assert not compare_gradients({}, loss=loss).ok
