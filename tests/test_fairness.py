"""course_utils.fairness: per-group accuracy and balanced weights, against hand counts and NumPy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from course_utils import fairness


def _numpy_group_accuracy(preds, labels, groups):
    preds, labels, groups = np.asarray(preds), np.asarray(labels), np.asarray(groups)
    return {g.item(): float(np.mean(preds[groups == g] == labels[groups == g])) for g in np.unique(groups)}


def test_group_accuracy_by_hand():
    preds = torch.tensor([0, 1, 1, 0, 1, 1])
    labels = torch.tensor([0, 1, 0, 0, 1, 0])
    groups = torch.tensor([0, 0, 1, 1, 2, 2])
    acc = fairness.group_accuracy(preds, labels, groups)
    assert acc == {0: 1.0, 1: 0.5, 2: 0.5}
    assert all(type(k) is int for k in acc) and all(type(v) is float for v in acc.values())


def test_group_accuracy_matches_numpy_on_random_unequal_groups():
    gen = torch.Generator().manual_seed(0)
    preds = torch.randint(0, 3, (500,), generator=gen)
    labels = torch.randint(0, 3, (500,), generator=gen)
    groups = torch.multinomial(torch.tensor([0.7, 0.0, 0.25, 0.05]), 500, replacement=True, generator=gen)
    acc = fairness.group_accuracy(preds, labels, groups)
    expected = _numpy_group_accuracy(preds.numpy(), labels.numpy(), groups.numpy())
    assert set(acc) == set(expected) and 1 not in acc  # an empty group is absent, not NaN
    for g in expected:
        assert acc[g] == pytest.approx(expected[g], abs=1e-12)
    assert fairness.worst_group_accuracy(preds, labels, groups) == pytest.approx(min(expected.values()))


def test_string_groups_and_worst_group():
    preds = torch.tensor([1, 1, 0, 0, 1])
    labels = torch.tensor([1, 0, 0, 1, 1])
    groups = ["a", "b", "a", "b", "c"]
    assert fairness.group_accuracy(preds, labels, groups) == {"a": 1.0, "b": 0.0, "c": 1.0}
    assert fairness.worst_group_accuracy(preds, labels, groups) == 0.0


def test_group_accuracy_rejects_bad_input():
    with pytest.raises(ValueError, match="one id per sample"):
        fairness.group_accuracy(torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match="must match"):
        fairness.group_accuracy(torch.tensor([0, 1, 1]), torch.tensor([0, 1]), [0, 1])
    with pytest.raises(ValueError, match="no samples"):
        fairness.group_accuracy(torch.tensor([], dtype=torch.long), torch.tensor([], dtype=torch.long), [])


def test_balanced_weights_equalise_every_cell():
    gen = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 2, (300,), generator=gen)
    groups = torch.where(torch.rand(300, generator=gen) < 0.9, labels, 1 - labels)  # 90 % agreement
    w = fairness.balanced_weights(labels, groups)
    assert w.dtype == torch.float32 and w.shape == (300,)
    assert float(w.sum()) == pytest.approx(300, rel=1e-5)
    totals = {}
    for lab, g, wi in zip(labels.tolist(), groups.tolist(), w.tolist()):
        totals[(lab, g)] = totals.get((lab, g), 0.0) + wi
    assert len(totals) == 4
    assert all(t == pytest.approx(300 / 4, rel=1e-5) for t in totals.values())
    # Reference: inverse cell frequency, rescaled to mean 1.
    counts = np.zeros((2, 2))
    np.add.at(counts, (labels.numpy(), groups.numpy()), 1)
    ref = 1 / counts[labels.numpy(), groups.numpy()]
    np.testing.assert_allclose(w.numpy(), ref / ref.mean(), rtol=1e-5)


def test_balanced_weights_with_string_groups():
    w = fairness.balanced_weights(torch.tensor([0, 0, 0, 1]), ["x", "x", "y", "x"])
    # cells (0,x): 2 members, (0,y): 1, (1,x): 1 -> N / (3 * n_cell)
    torch.testing.assert_close(w, torch.tensor([4 / 6, 4 / 6, 4 / 3, 4 / 3]))


def test_accuracy_under_mix_is_the_weighted_mean():
    preds = torch.tensor([0, 0, 1, 1, 1, 0, 0, 1])
    labels = torch.tensor([0, 0, 1, 1, 0, 0, 1, 1])
    groups = ["maj", "maj", "maj", "maj", "min", "min", "min", "min"]
    acc = fairness.group_accuracy(preds, labels, groups)
    # The average over the test set equals the mix of its own group counts.
    overall = float((preds == labels).float().mean())
    assert fairness.accuracy_under_mix(acc, fairness.group_counts(groups)) == pytest.approx(overall)
    assert fairness.accuracy_under_mix(acc, {"maj": 0.9, "min": 0.1}) == pytest.approx(0.9 * 1.0 + 0.1 * 0.5)
    with pytest.raises(ValueError, match="no accuracy"):
        fairness.accuracy_under_mix(acc, {"other": 1.0})


def test_group_names_and_counts():
    names = fairness.group_names(torch.tensor([0, 1, 1]), torch.tensor([1, 1, 0]), ["circle", "square"], ["tag A", "tag B"])
    assert names == ["circle · tag B", "square · tag B", "square · tag A"]
    assert fairness.group_counts(["b", "a", "b"]) == {"a": 1, "b": 2}


def test_group_table_columns():
    table = fairness.group_table({"m": {"average": 0.5, "groups": {"a": 0.25, "b": 0.75}}})
    assert list(table.columns) == ["average", "worst group", "a", "b"]
    assert table.loc["m", "worst group"] == 25.0


def test_figures_build():
    fig = fairness.figure_group_accuracy({"m1": {"a": 0.5, "b": 1.0}, "m2": {"a": 0.9}}, title="t", chance=0.5)
    assert fig.axes[0].get_title() == "t"
    fig = fairness._figure_correlation([0.5, 0.9], {"standard": [0.9, 0.95], "worst": [0.9, 0.1]},
                                      [{"a": 0.9}, {"a": 0.1}], 1, chance=0.5)  # fmt: skip
    assert "90%" in fig.axes[1].get_title()
    with pytest.raises(ValueError, match="selected"):
        fairness._figure_correlation([0.5], {"s": [0.9]}, [{"a": 0.9}], 3)
