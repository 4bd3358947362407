"""Accuracy per group: what an average hides, and how to weigh groups fairly.

A *group* is any subset of the test images we care about separately — in
lesson 08 a (class, scanner tag) pair or a drawing style. The average accuracy
is the mean of the group accuracies weighted by how often each group occurs in
the test set, so a rare group can fail completely while the average barely
moves. Worst-group accuracy (Sagawa et al. 2020, "Distributionally robust
neural networks for group shifts", ICLR) reports the group that fares worst.

Group ids may be a tensor or array of integers, or a list of strings (or any
hashable values); results are keyed by plain Python values.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

__all__ = [
    "accuracy_under_mix",
    "balanced_weights",
    "figure_group_accuracy",
    "group_accuracy",
    "group_counts",
    "group_names",
    "group_table",
    "worst_group_accuracy",
]


def _as_keys(groups: Any, n: int, what: str = "groups") -> list[Hashable]:
    """Group ids as a list of plain Python values (ints from tensors, strings as given)."""
    if isinstance(groups, (torch.Tensor, np.ndarray)):
        if groups.ndim != 1:
            raise ValueError(f"{what} must be one id per sample, shape ({n},); got shape {tuple(groups.shape)}")
        keys = groups.tolist()
    elif isinstance(groups, Sequence) and not isinstance(groups, (str, bytes)):
        keys = [g.item() if isinstance(g, (torch.Tensor, np.generic)) else g for g in groups]
    else:
        raise TypeError(f"{what} must be a tensor, an array or a list with one id per sample; got {type(groups).__name__}")
    if len(keys) != n:
        raise ValueError(f"{what} has {len(keys)} entries but there are {n} samples; give one id per sample")
    return keys


def _as_labels(values: Any, what: str) -> torch.Tensor:
    t = torch.as_tensor(values)
    if t.ndim != 1:
        raise ValueError(f"{what} must be a 1-D tensor of class indices, shape (N,); got shape {tuple(t.shape)}")
    return t.long()


def _sorted(keys: Iterable[Any]) -> list[Any]:
    try:
        return sorted(keys)
    except TypeError:  # mixed types: order by their text
        return sorted(keys, key=str)


def group_counts(groups: Any) -> dict[Hashable, int]:
    """How many samples each group has, e.g. ``{"circle · tag circle": 950, ...}``.

    Args:
        groups: (N,) group ids: an int tensor/array or a list of strings.

    Introduced in lesson 08.
    """
    keys = _as_keys(groups, len(groups))
    counts: dict[Hashable, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    return {k: counts[k] for k in _sorted(counts)}


def group_accuracy(preds: Any, labels: Any, groups: Any) -> dict[Hashable, float]:
    """Accuracy within each group that occurs.

    Args:
        preds: (N,) int64 predicted classes.
        labels: (N,) int64 true classes.
        groups: (N,) group ids: an int tensor/array or a list of strings.

    Returns:
        ``{group: accuracy}`` with plain Python keys and float values, one entry
        per group present (a group with no samples has no entry, never NaN).

    Raises:
        ValueError: lengths differ, or no samples at all.

    Introduced in lesson 08.
    """
    preds, labels = _as_labels(preds, "preds"), _as_labels(labels, "labels")
    if preds.shape != labels.shape:
        raise ValueError(f"preds has {len(preds)} entries but labels has {len(labels)}; they must match")
    if len(labels) == 0:
        raise ValueError("no samples: group accuracy needs at least one prediction")
    keys = _as_keys(groups, len(labels))
    correct = (preds == labels).tolist()
    hits: dict[Hashable, list[int]] = {}
    for k, c in zip(keys, correct):
        h = hits.setdefault(k, [0, 0])
        h[0] += int(c)
        h[1] += 1
    return {k: hits[k][0] / hits[k][1] for k in _sorted(hits)}


def worst_group_accuracy(preds: Any, labels: Any, groups: Any) -> float:
    """The lowest accuracy over the groups present (see `group_accuracy`).

    Introduced in lesson 08's exercise.
    """
    return min(group_accuracy(preds, labels, groups).values())


def balanced_weights(labels: Any, groups: Any) -> torch.Tensor:
    """Per-sample weights that give every (label, group) cell the same total weight.

    A sample in a cell with ``n_cell`` members gets ``N / (n_cells * n_cell)``:
    the weights average 1 (they sum to N) and each of the ``n_cells`` cells
    present sums to ``N / n_cells``. Pass them to ``cu.fit(...,
    sample_weights=w)`` to train as if every cell were equally common.

    Args:
        labels: (N,) int64 true classes.
        groups: (N,) group ids: an int tensor/array or a list of strings.

    Returns:
        (N,) float32 weights.

    Introduced in lesson 08.
    """
    labels = _as_labels(labels, "labels")
    keys = _as_keys(groups, len(labels))
    cells = list(zip(labels.tolist(), keys))
    counts: dict[tuple[Any, Hashable], int] = {}
    for c in cells:
        counts[c] = counts.get(c, 0) + 1
    n = len(cells)
    return torch.tensor([n / (len(counts) * counts[c]) for c in cells], dtype=torch.float32)


def accuracy_under_mix(group_acc: Mapping[Hashable, float], mix: Mapping[Hashable, float]) -> float:
    """The average accuracy a test set with group frequencies ``mix`` would report.

    The average accuracy is a weighted mean of group accuracies, weighted by how
    common each group is: ``sum(mix[g] * acc[g]) / sum(mix[g])``.

    Args:
        group_acc: ``{group: accuracy}`` (e.g. from `group_accuracy`).
        mix: ``{group: frequency}`` (counts or shares; only ratios matter).

    Raises:
        ValueError: a group of ``mix`` has no accuracy, or the mix sums to zero.

    Introduced in lesson 08.
    """
    missing = [g for g, w in mix.items() if w > 0 and g not in group_acc]
    if missing:
        raise ValueError(f"no accuracy for group(s) {missing}; measure every group the mix uses")
    total = sum(mix.values())
    if total <= 0:
        raise ValueError("the mix must have a positive total frequency")
    return sum(w * group_acc[g] for g, w in mix.items() if w > 0) / total


def group_names(labels: Any, attribute: Any, label_names: Sequence[str], attribute_names: Sequence[str],
                *, sep: str = " · ") -> list[str]:  # fmt: skip
    """Readable group ids from two integer columns, e.g. ``"circle · tag square"``.

    Args:
        labels: (N,) class indices into ``label_names``.
        attribute: (N,) indices into ``attribute_names`` (a tag, a style, ...).

    Introduced in lesson 08.
    """
    labels, attribute = _as_labels(labels, "labels"), _as_labels(attribute, "attribute")
    return [f"{label_names[a]}{sep}{attribute_names[b]}" for a, b in zip(labels.tolist(), attribute.tolist())]


def group_table(results: Mapping[str, Mapping[str, Any]], *, percent: bool = True) -> pd.DataFrame:
    """A table with one row per model: average, worst group, and every group.

    Args:
        results: ``{model name: {"average": float, "groups": {group: acc}, ...}}``;
            any other float entries (e.g. ``"standard test"``) become columns too.
        percent: show accuracies in percent, rounded to one decimal.

    Returns:
        A ``pandas.DataFrame``.

    Introduced in lesson 08.
    """
    import pandas as pd

    rows = {}
    for name, r in results.items():
        row = {k: v for k, v in r.items() if k != "groups"}
        groups = dict(r.get("groups", {}))
        if groups:
            row["worst group"] = min(groups.values())
        row.update(groups)
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    return (table * 100).round(1) if percent else table


def figure_group_accuracy(results: Mapping[str, Mapping[Hashable, float]], *, title: str,
                          chance: float | None = None, ylabel: str = "accuracy (%)") -> Figure:  # fmt: skip
    """Grouped bars: one cluster per group, one bar per model.

    Args:
        results: ``{model name: {group: accuracy}}`` (accuracies in [0, 1]).
        title: the figure title.
        chance: draw a dashed line at this accuracy (e.g. 0.5 for two classes).

    Returns:
        A matplotlib ``Figure``.

    Introduced in lesson 08.
    """
    from course_utils.viz import OKABE_ITO, _figure

    groups = _sorted({g for accs in results.values() for g in accs})
    n_models = len(results)
    fig = _figure(figsize=(min(12.0, max(6.0, 0.4 * len(groups) * max(1, n_models) + 2.5)), 3.6))
    ax = fig.subplots()
    width = 0.8 / max(n_models, 1)
    for i, (name, accs) in enumerate(results.items()):
        xs = np.arange(len(groups)) + (i - (n_models - 1) / 2) * width
        vals = [100 * accs.get(g, np.nan) for g in groups]
        bars = ax.bar(xs, vals, width, label=name, color=OKABE_ITO[i % len(OKABE_ITO)])
        ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=1)
    if chance is not None:
        ax.axhline(100 * chance, color="black", linestyle="--", linewidth=1, label=f"chance ({chance:.0%})")
    ax.set_xticks(range(len(groups)), [str(g) for g in groups], rotation=20, ha="right")
    ax.set(ylim=(0, 109), ylabel=ylabel, title=title)
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(1.0, 0.0))
    fig.tight_layout()
    return fig


def _figure_correlation(strengths: Sequence[float], curves: Mapping[str, Sequence[float]],
                        group_accs: Sequence[Mapping[Hashable, float]], selected: int, *,
                        chance: float | None = None) -> Figure:  # fmt: skip
    """Accuracy against the strength of a spurious correlation, with one strength picked.

    Left: one line per metric (e.g. "standard test", "worst group") against the
    share of training images whose tag agrees with the label, with a marker at
    the selected strength. Right: every group's accuracy at that strength.

    Args:
        strengths: the training agreement values, increasing.
        curves: ``{metric name: accuracy at each strength}`` (in [0, 1]).
        group_accs: for each strength, ``{group: accuracy}``.
        selected: index into ``strengths`` of the strength to highlight.
        chance: draw chance level as a dashed line.

    Introduced in lesson 08.
    """
    from course_utils.viz import OKABE_ITO, _figure

    if not 0 <= selected < len(strengths):
        raise ValueError(f"selected must index strengths (0 to {len(strengths) - 1}); got {selected}")
    fig = _figure(figsize=(10, 3.8))
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
    xs = 100 * np.asarray(strengths, dtype=float)
    markers = "osD^v"
    for i, (name, ys) in enumerate(curves.items()):
        pct = 100 * np.asarray(ys, dtype=float)
        ax.plot(xs, pct, marker=markers[i % len(markers)], color=OKABE_ITO[i % len(OKABE_ITO)], label=name)
        ax.annotate(f"{pct[selected]:.0f}%", (xs[selected], pct[selected]), textcoords="offset points",
                    xytext=(6, 4), fontsize=8, color=OKABE_ITO[i % len(OKABE_ITO)])  # fmt: skip
    ax.axvline(xs[selected], color="grey", linewidth=6, alpha=0.3)
    if chance is not None:
        ax.axhline(100 * chance, color="black", linestyle="--", linewidth=1, label="chance")
    ax.set(xlabel="training images whose tag agrees with the label (%)", ylabel="test accuracy (%)",
           ylim=(0, 105), title="Accuracy as the shortcut gets stronger")  # fmt: skip
    ax.legend(fontsize=8, loc="lower left")
    accs = group_accs[selected]
    names = _sorted(accs)
    vals = [100 * accs[g] for g in names]
    colors = [OKABE_ITO[0] if v >= 50 else OKABE_ITO[3] for v in vals]
    bars = bx.barh(range(len(names)), vals, color=colors)
    bx.bar_label(bars, fmt="%.0f%%", fontsize=8, padding=2)
    bx.set_yticks(range(len(names)), [str(g) for g in names])
    bx.invert_yaxis()
    bx.set(xlim=(0, 115), xlabel="accuracy (%)", title=f"Each group, trained at {xs[selected]:.0f}% agreement")
    if chance is not None:
        bx.axvline(100 * chance, color="black", linestyle="--", linewidth=1)
    fig.tight_layout()
    return fig
