"""Lesson 08's widgets (what the leaderboard hides): shortcut strength and corruptions.

Thin views over `course_utils.fairness` and `course_utils.corruptions`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import TYPE_CHECKING

import ipywidgets as W

from course_utils.widgets._core import Picture, finish, png_bytes

if TYPE_CHECKING:
    import torch
    from matplotlib.figure import Figure

__all__ = ["shortcut_explorer", "corruption_explorer"]


def shortcut_explorer(strengths: Sequence[float], curves: Mapping[str, Sequence[float]],
                      group_accs: Sequence[Mapping[Hashable, float]], *, chance: float | None = None,
                      start: int | None = None) -> W.Box:  # fmt: skip
    """Pick how often the scanner tag agreed with the label in training; see what the CNN learned.

    Every strength was trained in the lesson beforehand: the slider only swaps
    pictures of `course_utils.fairness._figure_correlation` (each rendered once,
    on first view) and a one-line summary.

    Args:
        strengths: training tag agreements, increasing (e.g. 0.5 ... 0.99).
        curves: ``{metric name: accuracy at each strength}``.
        group_accs: for each strength, ``{group: accuracy}`` on the uncorrelated test.
        chance: chance accuracy (a dashed line).
        start: index of the strength shown first (default: the last).

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-shortcut-explorer``).

    Introduced in lesson 08.
    """
    from course_utils import fairness

    strengths = [float(s) for s in strengths]
    if len(group_accs) != len(strengths) or any(len(v) != len(strengths) for v in curves.values()):
        raise ValueError("curves and group_accs need one entry per strength")
    start = len(strengths) - 1 if start is None else int(start)
    labels = [f"{100 * s:g}%" for s in strengths]
    slider = W.SelectionSlider(options=labels, value=labels[start], description="tag agrees in",
                               continuous_update=False, style={"description_width": "100px"},
                               layout=W.Layout(width="420px"))  # fmt: skip
    picture = Picture("accuracy curves at the chosen shortcut strength")
    summary = W.HTML()
    rendered: dict[int, bytes] = {}

    def figure(i: int) -> Figure:
        return fairness._figure_correlation(strengths, curves, group_accs, i, chance=chance)

    def update(_: object = None) -> None:
        i = labels.index(slider.value)
        if i not in rendered:
            rendered[i] = png_bytes(figure(i))
        picture.show(rendered[i])
        worst = min(group_accs[i], key=group_accs[i].__getitem__)
        parts = ", ".join(f"{name} <b>{100 * vals[i]:.0f}%</b>" for name, vals in curves.items())
        summary.value = (
            f"<div style='font-size:13px'>Trained with the tag agreeing in {labels[i]} of images: {parts}; "
            f"the worst group is <b>{worst}</b>.</div>"
        )

    update()
    box = W.VBox([slider, summary, picture])
    worst = min(group_accs[start], key=group_accs[start].__getitem__)
    return finish(
        box,
        "p2l-shortcut-explorer",
        figure(start),
        alt=f"Test accuracy against how often the tag agreed with the label in training, marked at {labels[start]}; "
        f"beside it each group's accuracy there, the worst being {worst} at {100 * group_accs[start][worst]:.0f}%.",
        update=update,
        controls=(slider,),
    )


def corruption_explorer(images: torch.Tensor, probs: torch.Tensor, photo_names: Sequence[str], kinds: Sequence[str],
                        class_names: Sequence[str], *, accepted: Mapping[str, Sequence[str]] | None = None,
                        start: tuple[int, int, int] = (0, 0, 3)) -> W.Box:  # fmt: skip
    """Pick a photo, a corruption and a severity; see the image and the pretrained model's top-5.

    A thin view over `course_utils.corruptions._figure_corrupted_prediction`:
    every image and prediction was computed beforehand by
    `course_utils.corruptions.classify_corrupted`.

    Args:
        images: (P, K, 6, 3, H, W) uint8 corrupted photos (severity 0 = clean).
        probs: (P, K, 6, C) class probabilities for each of them.
        photo_names: P names; kinds: K corruption kinds; class_names: C names.
        accepted: ``{photo name: class names that count as right}``. Without
            it, each picture is compared with the clean photo instead: the
            check mark and the summary say whether the top-1 class is still
            the one the model chose on the clean photo.
        start: (photo, kind, severity) indices shown first.

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-corruption-explorer``).

    Introduced in lesson 08.
    """
    from course_utils import corruptions

    judged = accepted is not None
    accepted = accepted or {}
    photo = W.Dropdown(options=[(n, i) for i, n in enumerate(photo_names)], value=start[0], description="photo")
    kind = W.Dropdown(options=[(k.replace("_", " "), i) for i, k in enumerate(kinds)], value=start[1],
                      description="corruption")  # fmt: skip
    severity = W.IntSlider(value=start[2], min=0, max=images.shape[2] - 1, description="severity",
                           continuous_update=False)  # fmt: skip
    picture = Picture("the photo at the chosen corruption and severity, with the model's top guesses")
    summary = W.HTML()

    def marked(p: int, k: int) -> tuple[str, ...]:
        """The classes that get a check mark: the accepted ones, or the clean photo's top-1."""
        if judged:
            return tuple(accepted.get(photo_names[p], ()))
        return (class_names[int(probs[p, k, 0].argmax())],)

    def figure(p: int, k: int, s: int) -> Figure:
        label = "clean" if s == 0 else f"severity {s}"
        return corruptions._figure_corrupted_prediction(
            images[p, k, s],
            probs[p, k, s],
            class_names,
            accepted=marked(p, k),
            mark_label="counts as right" if judged else "the clean photo's top-1",
            title=f"{photo_names[p]} · {kinds[k].replace('_', ' ')} · {label}",
        )

    def describe(p: int, k: int, s: int) -> str:
        pr = probs[p, k, s]
        top = int(pr.argmax())
        good = class_names[top] in set(marked(p, k))
        clean_top = int(probs[p, k, 0].argmax())
        if judged:
            verdict = "counts as right" if good else "wrong"
        else:
            verdict = "the same as on the clean photo" if good else "changed from the clean photo's"
        return (
            f"top-1 <b>{class_names[top]}</b> ({100 * float(pr[top]):.0f}%), "
            f"{verdict}; on the clean photo: {class_names[clean_top]} "
            f"({100 * float(probs[p, k, 0, clean_top]):.0f}%)"
        )

    def update(_: object = None) -> None:
        p, k, s = photo.value, kind.value, severity.value
        picture.show(png_bytes(figure(p, k, s)))
        summary.value = f"<div style='font-size:13px'>{describe(p, k, s)}</div>"

    update()
    box = W.VBox([W.HBox([photo, kind, severity]), summary, picture])
    p, k, s = start
    return finish(
        box,
        "p2l-corruption-explorer",
        figure(p, k, s),
        alt=f"The {photo_names[p]} photo under {kinds[k].replace('_', ' ')} at severity {s}, next to the pretrained "
        f"model's five most likely classes: {describe(p, k, s).replace('<b>', '').replace('</b>', '')}.",
        update=update,
        controls=(photo, kind, severity),
    )
