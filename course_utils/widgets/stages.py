"""Lesson 04's widgets (a CNN classifier, end to end): the replay view and the sketch pad, over `course_utils.stages`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import ipywidgets as W

from course_utils.widgets._core import Change, Picture, array_png, finish, probability_html

if TYPE_CHECKING:
    import torch
    from torch import nn

__all__ = ["replay_view", "sketch_pad"]


def replay_view(
    model: nn.Module, examples: Mapping[str, torch.Tensor], class_names: Sequence[str], *, delay: float = 0.3, max_maps: int = 16
) -> W.Box:
    """Pick an input, press Replay, and watch it travel through the network stage by stage.

    A thin view over `course_utils.stages`: every stage of every example is
    computed once (`run_stages`), so moving the stage slider or switching the
    input only redraws one small picture. Works for any ``nn.Sequential``
    classifier.

    Args:
        model: an ``nn.Sequential`` classifier (input (1, C, H, W) float in [0, 1]),
            or a Sequential-like one such as a torchvision ResNet (see
            `course_utils.stages.sequential_view`).
        examples: display name -> one image (C, H, W) float in [0, 1].
        class_names: one name per logit.
        delay: seconds per stage during a replay.
        max_maps: feature maps shown per stage.

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-replay``).

    Introduced in lesson 04.
    """
    import time

    from course_utils import stages as st

    if not examples:
        raise ValueError("examples must map at least one name to an image")
    names = list(examples)
    runs = {name: st.run_stages(model, examples[name]) for name in names}
    n = len(runs[names[0]])
    last_linear = max((i for i, s in enumerate(runs[names[0]]) if s.layer == "Linear"), default=-1)
    pictures: dict[tuple[str, int], bytes] = {}

    choice = W.Dropdown(options=names, value=names[0], description="input")
    replay = W.Button(description="Replay", icon="play", tooltip="send the input through the network, one stage at a time")
    stage = W.IntSlider(value=0, min=0, max=n - 1, description="stage", continuous_update=True)
    strip, picture, caption, probs = W.HTML(), Picture("the feature maps of the chosen stage"), W.HTML(), W.HTML()

    def update(_: object = None) -> None:
        result, i = runs[choice.value], stage.value
        if (choice.value, i) not in pictures:
            pictures[(choice.value, i)] = array_png(st._stage_picture(result[i], max_maps=max_maps), min_size=280)
        strip.value = st._stage_strip_html(result, i)
        picture.show(pictures[(choice.value, i)])
        caption.value = (
            f"<div style='max-width:36em'><b>{result[i].name}</b> · {st._explain_stage(result[i], last=i == last_linear)}"
            f"<br><span style='color:#555'>{result[i].params:,} parameters in this layer</span></div>"
        )
        if i == n - 1:
            probs.value = probability_html(result[-1].output[0], class_names)
        else:
            probs.value = f"<i>stage {i + 1} of {n}: the prediction appears when the signal reaches the end</i>"

    def play(_: object = None) -> None:
        for i in range(n):
            stage.value = i
            time.sleep(delay)

    update()
    replay.on_click(play)
    box = W.VBox([W.HBox([choice, replay, stage]), strip, W.HBox([picture, W.VBox([caption, probs])])])
    first = runs[names[0]]
    blocks = ("BasicBlock", "Bottleneck", "InvertedResidual", "DepthwiseSeparableConv")
    shown = [s.name for s in first if s.layer in ("input", "Conv2d", "MaxPool2d", "Flatten", "softmax")]
    if any(s.layer in blocks for s in first):  # a deep network: its blocks, not every layer
        shown = [s.name for s in first if s.layer in blocks][::2] + [s.name for s in first if s.layer in ("input", "softmax")]
    best = int(first[-1].output[0].argmax())
    return finish(
        box,
        "p2l-replay",
        st._figure_stages(first, class_names, names=shown, title=f"Input '{names[0]}', stage by stage"),
        alt=f"The input '{names[0]}' followed through the network: the image, the feature maps after each "
        + ("residual block" if any(s.layer in blocks for s in first) else "convolution and pooling, the flattened vector")
        + f", and the class probabilities, highest for {class_names[best]} ({float(first[-1].output[0, best]):.0%}).",
        update=update,
        controls=(choice, stage),
    )


def sketch_pad(model: nn.Module, class_names: Sequence[str], *, grid: int = 10, size: int = 32, start: str = "circle") -> W.Box:
    """Draw a shape on a grid of cells (or upload a photo of one) and see what the network says.

    A thin view over `course_utils.stages.drawing_to_image` and
    `_photo_to_image`: the drawing is centred, resized and shaded like the
    training shapes, then classified; every click redraws the network's input
    and its probabilities. The photo upload is displayed in its own row below
    the pad (a file chooser cannot be operated by the automatic widget tests).

    Args:
        model: a classifier for (1, 1, size, size) inputs in [0, 1].
        class_names: one name per logit.
        grid: cells per side of the drawing pad.
        size: the network's input size.
        start: the first drawing: a shape name or ``"blank"``.

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-sketch-pad``).

    Introduced in lesson 04.
    """
    import io

    import numpy as np
    from IPython.display import display

    from course_utils import stages as st
    from course_utils.train import predict

    presets = ["blank", *[c for c in class_names if c in ("circle", "square", "triangle", "cross", "star")]]
    if start not in presets:
        raise ValueError(f"start must be one of {presets}; got {start!r}")
    cells = [[W.ToggleButton(value=False, description="", tooltip=f"row {r + 1}, column {c + 1}",
                             layout=W.Layout(width="26px", height="26px", padding="0", margin="0"))
              for c in range(grid)] for r in range(grid)]  # fmt: skip
    preset = W.Dropdown(options=presets, value=start, description="start from")
    clear = W.Button(description="Clear", icon="eraser", tooltip="switch every cell off")
    seen, probs, source = Picture("what the network sees: the drawing scaled to its input size"), W.HTML(), W.HTML()
    upload = W.FileUpload(accept="image/*", multiple=False, description="Upload a photo")
    state = {"busy": False}

    def classify(image: torch.Tensor, where: str) -> None:
        p = predict(model, image.unsqueeze(0))[0]
        seen.show(array_png((image[0].numpy() * 255).round().astype(np.uint8), scale=6))
        probs.value = probability_html(p, class_names)
        source.value = f"<i>{where}, as the network sees it ({size}×{size}):</i>"

    def drawing() -> np.ndarray:
        return np.array([[int(b.value) for b in row] for row in cells])

    def redraw(_: object = None) -> None:
        if state["busy"]:
            return
        cells_on = drawing()
        if cells_on.any():
            rows, cols = np.nonzero(cells_on)
            what = (
                f"your drawing: {int(cells_on.sum())} cell(s) in a {np.ptp(rows) + 1}×{np.ptp(cols) + 1} box, "
                "centred, its longer side scaled to about half the image"
            )
        else:
            what = "an empty pad"
        classify(st.drawing_to_image(cells_on, size=size), what)

    def fill(pattern: np.ndarray) -> None:
        state["busy"] = True
        try:
            for r, row in enumerate(cells):
                for c, button in enumerate(row):
                    button.value = bool(pattern[r, c])
                    button.button_style = "info" if button.value else ""
        finally:
            state["busy"] = False
        redraw()

    def toggled(change: Change) -> None:
        change["owner"].button_style = "info" if change["new"] else ""
        redraw()

    def uploaded(change: Change) -> None:
        from PIL import Image

        files = change["new"]
        if not files:
            return
        item = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        try:
            photo = np.asarray(Image.open(io.BytesIO(bytes(item["content"]))).convert("RGB"))
            classify(st._photo_to_image(photo, size=size), f"your photo {item.get('name', '')}")
        except Exception as err:  # a broken file: say so in the widget instead of failing silently
            source.value = f"<b>Could not read that file as an image</b> ({type(err).__name__}): try a PNG or JPEG."

    for row in cells:
        for button in row:
            button.observe(toggled, names="value")
    preset.observe(lambda change: fill(st.preset_drawing(change["new"], grid)), names="value")
    clear.on_click(lambda _: fill(st.preset_drawing("blank", grid)))
    upload.observe(uploaded, names="value")
    fill(st.preset_drawing(start, grid))

    pad = W.VBox([W.HBox(row, layout=W.Layout(margin="0")) for row in cells])
    box = W.VBox([W.HBox([preset, clear]), W.HBox([pad, W.VBox([source, seen]), probs])])
    image = st.drawing_to_image(st.preset_drawing(start, grid), size=size)
    first = predict(model, image.unsqueeze(0))[0]
    finish(box, "p2l-sketch-pad", st._figure_sketch_pad(st.preset_drawing(start, grid), image, first, class_names),
           alt=f"A {start} drawn on a {grid}-by-{grid} grid of cells, the {size}-by-{size} image the network "
           "receives after centring and smoothing it, and the network's class probabilities.")  # fmt: skip
    row = W.HBox([upload, W.HTML("<i>…or upload a photo of a shape drawn on paper (dark on light or light on dark).</i>")])
    row.add_class("p2l-upload")
    display(row)
    return box
