"""ImageNet and its challenge: the results table, the 1,000 class names, top-k views, the 2012 AlexNet.

The challenge results are kept in a data file with a source for every row,
``course_utils/resources/ilsvrc_results.csv``; figures are drawn from it, so a
corrected number changes every figure at once. Class names come from
torchvision's weight metadata (`course_utils.models.imagenet_classes`), with
no download.
"""

from __future__ import annotations

import csv
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from course_utils.pixels import ImageLike

__all__ = [
    "ChallengeResult",
    "RESULTS_CSV",
    "alexnet_2012",
    "figure_gallery_topk",
    "figure_ilsvrc",
    "ilsvrc_results",
    "search_classes",
]

#: The ILSVRC classification results table shipped with the course (one source per row).
RESULTS_CSV = Path(__file__).resolve().parent / "resources" / "ilsvrc_results.csv"

_COLUMNS = ("year", "team", "entry", "top5_error_pct", "role", "method", "approximate", "source")
_ROLES = ("winner", "runner-up", "entry", "human")


@dataclass(frozen=True)
class ChallengeResult:
    """One row of the ILSVRC classification results table.

    Attributes:
        year: the challenge year.
        team: the team (and, in brackets, the network's common name).
        entry: what was submitted, in a few words.
        top5_error: top-5 error on the test set, in percent.
        role: ``"winner"``, ``"runner-up"``, ``"entry"`` (another entry of note) or ``"human"``.
        method: ``"hand-engineered"``, ``"deep CNN"`` or ``"human"``.
        approximate: ``True`` when the number is rounded or taken from a secondary account.
        source: where the number comes from.
    """

    year: int
    team: str
    entry: str
    top5_error: float
    role: str
    method: str
    approximate: bool
    source: str


def ilsvrc_results(path: str | Path | None = None) -> list[ChallengeResult]:
    """The ILSVRC classification results table, one `ChallengeResult` per row.

    Args:
        path: a CSV with the columns of ``RESULTS_CSV`` (default: the course's table).

    Raises:
        ValueError: a column is missing or a value is malformed; the message names the row.

    Introduced in lesson 06.
    """
    path = Path(path) if path is not None else RESULTS_CSV
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = set(_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path.name} lacks the column(s) {sorted(missing)}; expected {list(_COLUMNS)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                result = ChallengeResult(
                    year=int(row["year"]),
                    team=row["team"].strip(),
                    entry=row["entry"].strip(),
                    top5_error=float(row["top5_error_pct"]),
                    role=row["role"].strip(),
                    method=row["method"].strip(),
                    approximate={"yes": True, "no": False}[row["approximate"].strip().lower()],
                    source=row["source"].strip(),
                )
            except (KeyError, ValueError) as err:
                raise ValueError(f"{path.name} line {line}: malformed row {dict(row)} ({err!r})") from err
            if result.role not in _ROLES or not result.source or not 0 <= result.top5_error <= 100:
                raise ValueError(
                    f"{path.name} line {line}: role must be one of {_ROLES}, the error a percentage "
                    f"and the source non-empty; got {result}"
                )
            rows.append(result)
    return rows


def figure_ilsvrc(results: Sequence[ChallengeResult], *, title: str | None = None) -> Figure:
    """Winning top-5 error per year as bars, the 2012 runner-up beside AlexNet, a human reference line.

    Bars are coloured by method (hand-engineered features or deep CNN);
    approximate numbers are labelled with "≈".

    Introduced in lesson 06.
    """
    from course_utils.viz import OKABE_ITO, _figure

    winners = sorted((r for r in results if r.role == "winner"), key=lambda r: r.year)
    runners = {r.year: r for r in results if r.role == "runner-up"}
    humans = [r for r in results if r.role == "human"]
    colour = {"hand-engineered": OKABE_ITO[1], "deep CNN": OKABE_ITO[0]}
    fig = _figure(figsize=(10, 4.8))
    ax = fig.subplots()
    width = 0.4
    for r in winners:
        x = r.year - (width / 2 if r.year in runners else 0)
        ax.bar(x, r.top5_error, width=width, color=colour.get(r.method, OKABE_ITO[7]), edgecolor="black", linewidth=0.5)
        ax.text(x, r.top5_error + 0.5, f"{'≈' if r.approximate else ''}{r.top5_error:g}%", ha="center", fontsize=8)
        ax.text(x, -1.2, r.team.split(" (")[-1].rstrip(")"), ha="center", va="top", fontsize=7.5)
    for year, r in runners.items():
        x = year + width / 2
        ax.bar(x, r.top5_error, width=width, color="white", edgecolor=colour.get(r.method, OKABE_ITO[7]), hatch="//", linewidth=1)
        ax.text(x, r.top5_error + 0.5, f"{'≈' if r.approximate else ''}{r.top5_error:g}%", ha="center", fontsize=8)
        ax.text(x + 0.05, -2.6, r.team.split(" (")[0] + " (2nd)", ha="center", va="top", fontsize=7.5)
    for h in humans:
        ax.axhline(h.top5_error, color=OKABE_ITO[2], linestyle="--", linewidth=1.2)
        ax.text(winners[-1].year + 0.45, h.top5_error + 0.4, f"one trained person: {h.top5_error:g}%", ha="right",
                color=OKABE_ITO[2], fontsize=8)  # fmt: skip
    from matplotlib.patches import Patch

    handles = [Patch(color=c, label=m) for m, c in colour.items()]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="runner-up"))
    if any(r.approximate for r in results):
        handles.append(Patch(color="none", label="≈ approximate (see the table's sources)"))
    ax.legend(handles=handles, loc="upper right", frameon=False)
    years = [r.year for r in winners]
    ax.set_xticks(years, [str(y) for y in years])
    ax.tick_params(axis="x", pad=30)
    ax.set(ylabel="top-5 error on the test set (%)", xlabel="challenge year", ylim=(0, 32),
           title=title or "ImageNet challenge (ILSVRC): the winning top-5 error by year")  # fmt: skip
    fig.tight_layout()
    return fig


def search_classes(word: str, classes: Sequence[str] | None = None) -> list[tuple[int, str]]:
    """Class names containing ``word`` (case-insensitive), with their index.

    Args:
        word: the text to look for, e.g. ``"dog"`` or ``"space"``.
        classes: the class names (default: the 1,000 ImageNet classes).

    Returns:
        ``[(index, name), ...]`` in class order; empty if nothing matches.

    Raises:
        ValueError: ``word`` is empty.

    Introduced in lesson 06.
    """
    if not isinstance(word, str) or not word.strip():
        raise ValueError(f"give a word to search for, e.g. 'dog'; got {word!r}")
    if classes is None:
        from course_utils.models import imagenet_classes

        classes = imagenet_classes()
    needle = word.strip().lower()
    return [(i, name) for i, name in enumerate(classes) if needle in name.lower()]


def _topk_rows(probs: torch.Tensor, classes: Sequence[str], k: int = 5) -> list[tuple[int, str, float]]:
    """The ``k`` most probable classes of one prediction.

    Args:
        probs: (K,) probabilities (or logits) for one image.
        classes: K class names.
        k: how many, 1 <= k <= K.

    Returns:
        ``[(class index, name, probability), ...]``, most probable first (the
        order of ``torch.topk``).

    Raises:
        ValueError: ``probs`` is not one vector of K scores, or ``k`` is out of range.

    Introduced in lesson 06.
    """
    probs = torch.as_tensor(probs).detach().cpu().float()
    if probs.ndim != 1 or probs.numel() != len(classes):
        raise ValueError(f"expected one vector of {len(classes)} scores; got shape {tuple(probs.shape)}")
    if not 1 <= k <= len(classes):
        raise ValueError(f"k must be between 1 and the number of classes ({len(classes)}); got {k}")
    top = probs.topk(k)
    return [(int(i), classes[int(i)], float(p)) for p, i in zip(top.values, top.indices)]


def _draw_topk(
    ax: Axes, rows: Sequence[tuple[int, str, float]], *, colour: str, highlight: Collection[str] = frozenset()
) -> None:
    from course_utils.viz import OKABE_ITO

    values = [100 * p for _, _, p in rows]
    colours = [OKABE_ITO[2] if name in highlight else colour for _, name, _ in rows]
    ax.barh(range(len(rows)), values, color=colours)
    ax.set_yticks(range(len(rows)), [f"{r + 1}. {name}" for r, (_, name, _) in enumerate(rows)], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("probability (%)", fontsize=8)
    for row, v in enumerate(values):
        ax.text(min(v + 1.5, 80), row, f"{v:.1f}%", va="center", fontsize=8)


def _figure_topk(image: ImageLike, probs: torch.Tensor, classes: Sequence[str], k: int = 5, *, title: str | None = None,
                 highlight: Sequence[str] = ()) -> Figure:  # fmt: skip
    """A photo beside its top-``k`` classes as horizontal bars.

    Args:
        image: (H, W, 3) uint8 array or any image `course_utils.viz.figure_images` accepts.
        probs: (K,) class probabilities for this photo.
        classes: K class names.
        k: how many classes to draw.
        title: the figure title.
        highlight: class names to draw in another colour (e.g. the right answer).

    Introduced in lesson 06.
    """
    from course_utils.viz import OKABE_ITO, _figure, _to_numpy_image

    rows = _topk_rows(probs, classes, k)
    fig = _figure(figsize=(8.5, max(2.6, 0.32 * k + 1.2)))
    ax_img, ax_bar = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.6]})
    ax_img.imshow(_to_numpy_image(image))
    ax_img.axis("off")
    _draw_topk(ax_bar, rows, colour=OKABE_ITO[0], highlight=set(highlight))
    rest = 1 - sum(p for _, _, p in rows)
    ax_bar.set_title(f"the other {len(classes) - k:,} classes share {rest:.0%}", fontsize=9)
    fig.suptitle(title or f"Top-{k} prediction: {rows[0][1]} ({rows[0][2]:.0%})")
    fig.tight_layout()
    return fig


def figure_gallery_topk(images: Mapping[str, ImageLike], probs: torch.Tensor, classes: Sequence[str], k: int = 5, *,
                        ncols: int = 2, title: str | None = None) -> Figure:  # fmt: skip
    """Every photo with its top-``k`` bars, in a grid.

    Args:
        images: name -> photo, in the order of the rows of ``probs``.
        probs: (N, K) class probabilities.
        classes: K class names.
        k: classes per photo.
        ncols: photo/bar pairs per row.
        title: the figure title.

    Introduced in lesson 06.
    """
    from course_utils.viz import OKABE_ITO, _figure, _to_numpy_image

    probs = torch.as_tensor(probs)
    if probs.ndim != 2 or len(probs) != len(images):
        raise ValueError(f"expected probs of shape ({len(images)}, {len(classes)}); got {tuple(probs.shape)}")
    n = len(images)
    nrows = -(-n // ncols)
    fig = _figure(figsize=(6.6 * ncols, 1.95 * nrows + 0.6))
    axes = fig.subplots(nrows, 2 * ncols, squeeze=False, gridspec_kw={"width_ratios": [1, 1.7] * ncols})
    for ax in axes.flat:
        ax.axis("off")
    for i, (name, image) in enumerate(images.items()):
        ax_img, ax_bar = axes[i // ncols, 2 * (i % ncols)], axes[i // ncols, 2 * (i % ncols) + 1]
        ax_img.imshow(_to_numpy_image(image))
        ax_img.set_title(name, fontsize=9)
        ax_bar.axis("on")
        _draw_topk(ax_bar, _topk_rows(probs[i], classes, k), colour=OKABE_ITO[0])
        for side in ("top", "right"):
            ax_bar.spines[side].set_visible(False)
    fig.suptitle(title or f"Top-{k} ImageNet classes for each photo")
    fig.tight_layout()
    return fig


def alexnet_2012(num_classes: int = 1000) -> nn.Sequential:
    """AlexNet as published in 2012, split in two groups the way it was split over two GPUs.

    Krizhevsky, Sutskever & Hinton (NeurIPS 2012, Sec. 3.5 and Fig. 2): five
    convolutions with 96, 256, 384, 384 and 256 kernels, then dense layers of
    4096, 4096 and 1000 units. Half of every layer's kernels lived on each
    GPU, and layers 2, 4 and 5 only read the maps on their own GPU: here those
    convolutions have ``groups=2``. Local response normalisation follows
    layers 1 and 2 with the paper's constants (Sec. 3.3: k = 2, n = 5,
    alpha = 1e-4, beta = 0.75). The paper adds alpha times the *sum* of the n
    squares; PyTorch's ``LocalResponseNorm`` (like Caffe's) multiplies the sum
    by ``alpha / size``, so the paper's layer is ``alpha = 5 * 1e-4`` here
    (passing 1e-4 would give Caffe's reference model, whose alpha is the
    paper's divided by n). The input is 227x227 so that the first layer's
    stride-4, 11x11 filters give the paper's 55x55 maps. Untrained.

    Returns:
        ``nn.Sequential``: input (N, 3, 227, 227) float, output (N, num_classes) logits.

    Introduced in lesson 06.
    """
    lrn: dict[str, Any] = dict(size=5, alpha=5 * 1e-4, beta=0.75, k=2.0)  # PyTorch divides alpha by size; the paper does not
    layers = OrderedDict(
        [
            ("conv1", nn.Conv2d(3, 96, 11, stride=4)), ("relu1", nn.ReLU()), ("norm1", nn.LocalResponseNorm(**lrn)),
            ("pool1", nn.MaxPool2d(3, 2)),
            ("conv2", nn.Conv2d(96, 256, 5, padding=2, groups=2)), ("relu2", nn.ReLU()),
            ("norm2", nn.LocalResponseNorm(**lrn)), ("pool2", nn.MaxPool2d(3, 2)),
            ("conv3", nn.Conv2d(256, 384, 3, padding=1)), ("relu3", nn.ReLU()),
            ("conv4", nn.Conv2d(384, 384, 3, padding=1, groups=2)), ("relu4", nn.ReLU()),
            ("conv5", nn.Conv2d(384, 256, 3, padding=1, groups=2)), ("relu5", nn.ReLU()), ("pool5", nn.MaxPool2d(3, 2)),
            ("flatten", nn.Flatten()),
            ("drop6", nn.Dropout(0.5)), ("fc6", nn.Linear(256 * 6 * 6, 4096)), ("relu6", nn.ReLU()),
            ("drop7", nn.Dropout(0.5)), ("fc7", nn.Linear(4096, 4096)), ("relu7", nn.ReLU()),
            ("fc8", nn.Linear(4096, num_classes)),
        ]
    )  # fmt: skip
    return nn.Sequential(layers)
