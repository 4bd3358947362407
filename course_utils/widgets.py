"""Interactive widgets, each a thin ipywidgets view over pure functions.

Every widget is displayed together with a static PNG of its first state
(`display_widget`): JupyterLab and Colab render the live widget, while a
static viewer (GitHub, nbviewer, a PDF export) or a headless run shows the
picture, with alt text. The pure functions behind each widget live in the
module that teaches them and are tested on their own.
"""

from __future__ import annotations

import io

import ipywidgets as W

__all__ = [
    "channel_mixer",
    "corruption_explorer",
    "degradation_explorer",
    "depth_explorer",
    "kernel_editor",
    "layer_cost_explorer",
    "pixel_inspector",
    "replay_view",
    "scaling_explorer",
    "shift_explorer",
    "shortcut_explorer",
    "sketch_pad",
    "topk_explorer",
]


class Picture(W.HTML):
    """A picture inside a widget, with alt text (ipywidgets' ``Image`` renders an ``<img>`` without any).

    ``picture.show(png)`` replaces what it shows; ``alt`` says what that is.

    Introduced in lesson 01.
    """

    def __init__(self, alt: str, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.alt = alt

    def show(self, png: bytes) -> None:
        import base64
        import html

        data = base64.b64encode(png).decode("ascii")
        self.value = f'<img src="data:image/png;base64,{data}" alt="{html.escape(self.alt, quote=True)}"/>'


def png_bytes(fig) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it.

    Introduced in lesson 01.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    try:
        import matplotlib.pyplot as plt

        plt.close(fig)
    except Exception:
        pass
    return buffer.getvalue()


def display_widget(widget: W.Widget, static_fig, alt: str) -> None:
    """Display ``widget`` with a static picture for viewers that cannot run it.

    The output carries both the live widget view and ``image/png``: front ends
    that render widgets show the widget, others the picture.

    Args:
        widget: the live ipywidgets view.
        static_fig: a matplotlib ``Figure`` of the widget's first state.
        alt: one sentence saying what the picture shows (required).

    Introduced in lesson 01.
    """
    from IPython.display import display

    from course_utils.viz import png_with_alt

    if not alt or not alt.strip():
        raise ValueError("a widget's static picture needs alt text")
    if getattr(widget, "_repr_mimebundle_", None) is not None:  # ipywidgets 8
        bundle = widget._repr_mimebundle_()
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
    else:  # ipywidgets 7 (what Colab ships): the same view message, built by hand
        data = {"application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}}
    data.update(png_with_alt(png_bytes(static_fig), alt))
    data["text/plain"] = f"[interactive widget] {alt}"
    display(data, raw=True, metadata={"image/png": {"alt": alt}})
    if hasattr(widget, "_handle_displayed"):
        widget._handle_displayed()


# ----------------------------------------------------------------------------- lesson 01: pixels and channels


def pixel_inspector(image, *, row: int | None = None, col: int | None = None, radius: int = 3) -> W.Box:
    """Move over a photo's rows and columns; read the pixel's RGB bytes and the matching tensor slice.

    A thin view over `course_utils.pixels` (`neighbourhood`, `mark_window`, `window_html`).

    Args:
        image: a photo, (H, W, 3) uint8 (see `course_utils.pixels.as_hwc_uint8`).
        row, col: the first pixel shown (default: the middle).
        radius: pixels on each side of the inspected window.

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-pixel-inspector``).

    Introduced in lesson 01.
    """
    from course_utils import pixels

    array = pixels.as_hwc_uint8(image)
    h, w = array.shape[:2]
    row = h // 2 if row is None else int(row)
    col = w // 2 if col is None else int(col)
    pixels.neighbourhood(array.shape, row, col, radius)  # validates the start
    row_slider = W.IntSlider(value=row, min=0, max=h - 1, description="row", continuous_update=True)
    col_slider = W.IntSlider(value=col, min=0, max=w - 1, description="column", continuous_update=True)
    photo = Picture("the photo, with the inspected window outlined")
    zoom = Picture("the inspected window, enlarged so that each pixel is a square")
    numbers = W.HTML()

    def update(_=None) -> None:
        window = pixels.neighbourhood(array.shape, row_slider.value, col_slider.value, radius)
        photo.show(pixels.png(pixels.mark_window(array, window)))
        zoom.show(pixels.png(array[window.top : window.bottom, window.left : window.right], scale=24))
        numbers.value = pixels.window_html(array, window)

    update()
    row_slider.observe(update, names="value")
    col_slider.observe(update, names="value")
    pictures = W.HBox([photo, zoom], layout=W.Layout(align_items="flex-start"))  # keep the zoom square
    box = W.VBox([W.HBox([row_slider, col_slider]), pictures, numbers])
    box.add_class("p2l-widget")
    box.add_class("p2l-pixel-inspector")
    display_widget(
        box,
        pixels.figure_pixel_inspector(array, row, col, radius),
        alt=f"The photo with a small window framed around row {row}, column {col}, the window enlarged, "
        "and its red, green and blue values written in three grids.",
    )
    return box


def channel_mixer(image, gains: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> W.Box:
    """Scale a photo's red, green and blue channels, and see the gray image those weights make.

    A thin view over `course_utils.pixels.mix_channels` and `weighted_gray`.

    Args:
        image: a photo, (H, W, 3) uint8.
        gains: the starting factors for red, green and blue (each 0 to 2).

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-channel-mixer``).

    Introduced in lesson 01.
    """
    import numpy as np

    from course_utils import pixels

    array = pixels.as_hwc_uint8(image)
    sliders = [
        W.FloatSlider(value=float(g), min=0.0, max=2.0, step=0.05, description=f"{name} ×", continuous_update=True)
        for g, name in zip(gains, ("red", "green", "blue"))
    ]
    presets = {
        "all channels (1, 1, 1)": (1.0, 1.0, 1.0),
        "red only (1, 0, 0)": (1.0, 0.0, 0.0),
        "green only (0, 1, 0)": (0.0, 1.0, 0.0),
        "blue only (0, 0, 1)": (0.0, 0.0, 1.0),
        "BT.601 luma (0.299, 0.587, 0.114)": pixels.BT601_LUMA,
        "equal thirds": (1 / 3, 1 / 3, 1 / 3),
    }
    start = next((k for k, v in presets.items() if np.allclose(v, gains)), None)
    preset = W.Dropdown(options=list(presets), value=start, description="preset")
    mixed = Picture("the photo with each colour channel scaled by its gain")
    gray = Picture("the photo in gray, a weighted sum of its channels")
    caption = W.HTML()
    busy = {"setting": False}

    def update(_=None) -> None:
        if busy["setting"]:
            return
        g = [s.value for s in sliders]
        mixed.show(pixels.png(pixels.mix_channels(array, g)))
        total = sum(g)
        if total > 0:
            gray.show(pixels.png(pixels.weighted_gray(array, g)))
            weights = " + ".join(f"{v / total:.3f}·{c}" for v, c in zip(g, "RGB"))
            text = f"gray = {weights}"
        else:
            gray.show(pixels.png(np.zeros(array.shape[:2], dtype=np.uint8)))
            text = "all weights are 0: no gray image to make"
        means = pixels.mix_channels(array, g).reshape(-1, 3).mean(axis=0)
        caption.value = (
            f"<div style='font-family:monospace'>left: out[c] = gain[c] × x[c], gains = "
            f"[{g[0]:.2f}, {g[1]:.2f}, {g[2]:.2f}]; channel means now "
            f"[{means[0]:.0f}, {means[1]:.0f}, {means[2]:.0f}]<br>right: {text}</div>"
        )

    def choose(change) -> None:
        if change["new"] is None:
            return
        busy["setting"] = True
        try:
            for s, v in zip(sliders, presets[change["new"]]):
                s.value = float(v)
        finally:
            busy["setting"] = False
        update()

    update()
    for s in sliders:
        s.observe(update, names="value")
    preset.observe(choose, names="value")
    box = W.VBox([W.HBox([W.VBox(sliders), preset]), W.HBox([mixed, gray]), caption])
    box.add_class("p2l-widget")
    box.add_class("p2l-channel-mixer")
    display_widget(
        box,
        pixels.figure_channel_mixer(array, [s.value for s in sliders]),
        alt="The photo, the photo with its channels scaled by the chosen gains, and the gray image "
        "made by averaging the channels with those gains as weights.",
    )
    return box


# ----------------------------------------------------------------------------- lesson 02: a shape on the move


def shift_explorer(
    models: dict,
    params,
    *,
    train_range: tuple[float, float],
    x_pixels: tuple[int, int] | None = None,
    start: int | None = None,
) -> W.Box:
    """Slide one shape across the image and watch several classifiers' predictions side by side.

    Every position of every class is drawn and classified once when the widget
    is built; moving the slider only swaps pictures and text.

    Args:
        models: display name -> trained classifier (input (N, C, S, S) float in [0, 1]).
        params: the `course_utils.shapes.ShapeParams` the models were trained on.
        train_range: the shape centres seen in training, as fractions of the width.
        x_pixels: (first, last) centre x offered by the slider, in pixels
            (default: from 15% to 85% of the width).
        start: the slider's first position (default: the middle of the training range).

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-shift-explorer``).

    Raises:
        ValueError: no models, or ``start`` outside the slider's range.

    Introduced in lesson 02.
    """
    import torch

    from course_utils import translation
    from course_utils.train import predict

    size = params.size
    lo, hi = x_pixels if x_pixels is not None else (round(0.15 * size), round(0.85 * size))
    positions = list(range(lo, hi + 1))
    range_px = (train_range[0] * size, train_range[1] * size)
    start = int(round(sum(range_px) / 2)) if start is None else int(start)
    if not lo <= start <= hi:
        raise ValueError(f"start={start} is outside the slider's range of centres, {lo} to {hi} pixels")
    if not models:
        raise ValueError("pass at least one model: {'name': trained classifier}")
    classes = list(params.classes)
    tracks, probs = {}, {}
    for label in range(len(classes)):
        images = translation.shape_track(params, label, [(x + 0.5) / size for x in positions])
        tracks[label] = images
        with torch.no_grad():
            probs[label] = {name: predict(m, images) for name, m in models.items()}

    shape = W.Dropdown(options=[(c, i) for i, c in enumerate(classes)], value=0, description="shape")
    slider = W.IntSlider(value=start, min=lo, max=hi, description="centre x (px)", continuous_update=True,
                         style={"description_width": "90px"})  # fmt: skip
    picture = Picture("the shape at the chosen position, and what each network makes of it")
    where = W.HTML()
    panels = [W.HTML() for _ in models]

    def update(_=None) -> None:
        label, i = shape.value, positions.index(slider.value)
        picture.show(_png(translation.track_picture(tracks[label][i], slider.value + 0.5, range_px)))
        inside = range_px[0] <= slider.value + 0.5 <= range_px[1]
        where.value = (
            f"<div style='font-size:13px'>centre x = {slider.value + 0.5:.1f} px: "
            f"<b>{'inside' if inside else 'outside'}</b> the training positions "
            f"({range_px[0]:.1f}–{range_px[1]:.1f} px, blue bar)</div>"
        )
        for panel, name in zip(panels, models):
            panel.value = translation.probability_html(name, probs[label][name][i], classes, truth=label)

    update()
    shape.observe(update, names="value")
    slider.observe(update, names="value")
    box = W.VBox([W.HBox([shape, slider]), where, W.HBox([picture, *panels], layout=W.Layout(align_items="flex-start"))])
    box.add_class("p2l-widget")
    box.add_class("p2l-shift-explorer")
    i = positions.index(start)
    display_widget(
        box,
        translation.figure_shift_explorer(
            translation.track_picture(tracks[0][i], start + 0.5, range_px),
            {name: probs[0][name][i] for name in models},
            classes,
            truth=0,
            title=f"{classes[0]} at x = {start + 0.5:.1f} px",
        ),
        alt=f"A {classes[0]} drawn at x = {start + 0.5:.1f} pixels, "
        f"{'inside' if range_px[0] <= start + 0.5 <= range_px[1] else 'outside'} the training positions, "
        "and each model's class probabilities as bars.",
    )
    return box


def _fit_within(gray, size: int):
    """A (H, W) image shrunk (with antialiasing) so that its longer side is at most ``size`` pixels."""
    import torchvision.transforms.v2.functional as TF

    h, w = gray.shape
    if max(h, w) <= size:
        return gray
    scale = size / max(h, w)
    return TF.resize(gray[None], [round(h * scale), round(w * scale)], antialias=True)[0].clamp(0, 1)


def _png(array) -> bytes:
    from course_utils.pixels import png

    return png(array)


# ----------------------------------------------------------------------------- lesson 04: a CNN classifier, end to end


def replay_view(model, examples: dict, class_names, *, delay: float = 0.3, max_maps: int = 16) -> W.Box:
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

    def update(_=None) -> None:
        result, i = runs[choice.value], stage.value
        if (choice.value, i) not in pictures:
            pictures[(choice.value, i)] = st.png(st.stage_picture(result[i], max_maps=max_maps), min_size=280)
        strip.value = st.stage_strip_html(result, i)
        picture.show(pictures[(choice.value, i)])
        caption.value = (
            f"<div style='max-width:36em'><b>{result[i].name}</b> · {st.explain_stage(result[i], last=i == last_linear)}"
            f"<br><span style='color:#555'>{result[i].params:,} parameters in this layer</span></div>"
        )
        if i == n - 1:
            probs.value = st.probability_html(result[-1].output[0], class_names)
        else:
            probs.value = f"<i>stage {i + 1} of {n}: the prediction appears when the signal reaches the end</i>"

    def play(_=None) -> None:
        for i in range(n):
            stage.value = i
            time.sleep(delay)

    update()
    choice.observe(update, names="value")
    stage.observe(update, names="value")
    replay.on_click(play)
    box = W.VBox([W.HBox([choice, replay, stage]), strip, W.HBox([picture, W.VBox([caption, probs])])])
    box.add_class("p2l-widget")
    box.add_class("p2l-replay")
    first = runs[names[0]]
    blocks = ("BasicBlock", "Bottleneck", "InvertedResidual", "DepthwiseSeparableConv")
    shown = [s.name for s in first if s.layer in ("input", "Conv2d", "MaxPool2d", "Flatten", "softmax")]
    if any(s.layer in blocks for s in first):  # a deep network: its blocks, not every layer
        shown = [s.name for s in first if s.layer in blocks][::2] + [s.name for s in first if s.layer in ("input", "softmax")]
    best = int(first[-1].output[0].argmax())
    display_widget(
        box,
        st.figure_stages(first, class_names, names=shown, title=f"Input '{names[0]}', stage by stage"),
        alt=f"The input '{names[0]}' followed through the network: the image, the feature maps after each "
        + ("residual block" if any(s.layer in blocks for s in first) else "convolution and pooling, the flattened vector")
        + f", and the class probabilities, highest for {class_names[best]} ({float(first[-1].output[0, best]):.0%}).",
    )
    return box


def sketch_pad(model, class_names, *, grid: int = 10, size: int = 32, start: str = "circle") -> W.Box:
    """Draw a shape on a grid of cells (or upload a photo of one) and see what the network says.

    A thin view over `course_utils.stages.drawing_to_image` and
    `photo_to_image`: the drawing is centred, resized and shaded like the
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
    import torch
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
        seen.show(st.png((image[0].numpy() * 255).round().astype(np.uint8), scale=6))
        probs.value = st.probability_html(p, class_names)
        source.value = f"<i>{where}, as the network sees it ({size}×{size}):</i>"

    def drawing() -> np.ndarray:
        return np.array([[int(b.value) for b in row] for row in cells])

    def redraw(_=None) -> None:
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

    def toggled(change) -> None:
        change["owner"].button_style = "info" if change["new"] else ""
        redraw()

    def uploaded(change) -> None:
        from PIL import Image

        files = change["new"]
        if not files:
            return
        item = files[0] if isinstance(files, (list, tuple)) else next(iter(files.values()))
        try:
            photo = np.asarray(Image.open(io.BytesIO(bytes(item["content"]))).convert("RGB"))
            classify(st.photo_to_image(photo, size=size), f"your photo {item.get('name', '')}")
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
    box.add_class("p2l-widget")
    box.add_class("p2l-sketch-pad")
    image = st.drawing_to_image(st.preset_drawing(start, grid), size=size)
    display_widget(box, _figure_sketch(st.preset_drawing(start, grid), image, model, class_names),
                   alt=f"A {start} drawn on a {grid}-by-{grid} grid of cells, the {size}-by-{size} image the network "
                   "receives after centring and smoothing it, and the network's class probabilities.")  # fmt: skip
    row = W.HBox([upload, W.HTML("<i>…or upload a photo of a shape drawn on paper (dark on light or light on dark).</i>")])
    row.add_class("p2l-upload")
    display(row)
    return box


def _figure_sketch(cells, image, model, class_names):
    """Static picture of the sketch pad: the drawing, the network's input, the probabilities."""
    from matplotlib.figure import Figure

    from course_utils.train import predict

    p = predict(model, image.unsqueeze(0))[0]
    fig = Figure(figsize=(8, 2.6))
    ax_draw, ax_in, ax_p = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.4]})
    ax_draw.imshow(cells, cmap="gray_r", vmin=0, vmax=1)
    ax_draw.set_title("your drawing (cells)")
    ax_in.imshow(image[0].numpy(), cmap="gray", vmin=0, vmax=1)
    ax_in.set_title("what the network sees")
    for ax in (ax_draw, ax_in):
        ax.set_xticks([]), ax.set_yticks([])
    order = p.argsort(descending=True)
    ax_p.barh(range(len(p)), p[order].numpy() * 100, color="#0072B2")
    ax_p.set_yticks(range(len(p)), [class_names[i] for i in order])
    ax_p.invert_yaxis()
    ax_p.set(xlim=(0, 100), xlabel="probability (%)", title="prediction")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- lesson 08: what the leaderboard hides


def shortcut_explorer(strengths, curves: dict, group_accs: list, *, chance: float | None = None,
                      start: int | None = None) -> W.Box:  # fmt: skip
    """Pick how often the scanner tag agreed with the label in training; see what the CNN learned.

    Every strength was trained in the lesson beforehand: the slider only swaps
    pictures of `course_utils.fairness.figure_correlation` (each rendered once,
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

    def figure(i: int):
        return fairness.figure_correlation(strengths, curves, group_accs, i, chance=chance)

    def update(_=None) -> None:
        i = labels.index(slider.value)
        if i not in rendered:
            rendered[i] = png_bytes(figure(i))
        picture.show(rendered[i])
        worst = min(group_accs[i], key=group_accs[i].get)
        parts = ", ".join(f"{name} <b>{100 * vals[i]:.0f}%</b>" for name, vals in curves.items())
        summary.value = (
            f"<div style='font-size:13px'>Trained with the tag agreeing in {labels[i]} of images: {parts}; "
            f"the worst group is <b>{worst}</b>.</div>"
        )

    update()
    slider.observe(update, names="value")
    box = W.VBox([slider, summary, picture])
    box.add_class("p2l-widget")
    box.add_class("p2l-shortcut-explorer")
    worst = min(group_accs[start], key=group_accs[start].get)
    display_widget(
        box,
        figure(start),
        alt=f"Test accuracy against how often the tag agreed with the label in training, marked at {labels[start]}; "
        f"beside it each group's accuracy there, the worst being {worst} at {100 * group_accs[start][worst]:.0f}%.",
    )
    return box


def corruption_explorer(images, probs, photo_names, kinds, class_names, *, accepted: dict | None = None,
                        start: tuple[int, int, int] = (0, 0, 3)) -> W.Box:  # fmt: skip
    """Pick a photo, a corruption and a severity; see the image and the pretrained model's top-5.

    A thin view over `course_utils.corruptions.figure_corrupted_prediction`:
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

    def figure(p: int, k: int, s: int):
        label = "clean" if s == 0 else f"severity {s}"
        return corruptions.figure_corrupted_prediction(
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

    def update(_=None) -> None:
        p, k, s = photo.value, kind.value, severity.value
        picture.show(png_bytes(figure(p, k, s)))
        summary.value = f"<div style='font-size:13px'>{describe(p, k, s)}</div>"

    update()
    for control in (photo, kind, severity):
        control.observe(update, names="value")
    box = W.VBox([W.HBox([photo, kind, severity]), summary, picture])
    box.add_class("p2l-widget")
    box.add_class("p2l-corruption-explorer")
    p, k, s = start
    display_widget(
        box,
        figure(p, k, s),
        alt=f"The {photo_names[p]} photo under {kinds[k].replace('_', ' ')} at severity {s}, next to the pretrained "
        f"model's five most likely classes: {describe(p, k, s).replace('<b>', '').replace('</b>', '')}.",
    )
    return box


# ----------------------------------------------------------------------------- lesson 03: a kernel editor


def kernel_editor(photos, *, preset: str = "Sobel x (vertical edges)") -> W.Box:
    """Edit a 3x3 kernel (or pick a classic one) and see it filter a photo live.

    A thin view over `course_utils.convolution` (`KERNELS`, `filter_gray`,
    `response_image`, `kernel_html`).

    Args:
        photos: one photo, (H, W, 3) uint8, or a dict name -> photo to choose from.
        preset: the kernel shown first, a key of `course_utils.convolution.KERNELS`.

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-kernel-editor``).

    Introduced in lesson 03.
    """
    import torch

    from course_utils import convolution, pixels

    if not isinstance(photos, dict):
        photos = {"photo": photos}
    grays = {name: _fit_within(convolution.gray(p), 360) for name, p in photos.items()}
    start = convolution.kernel(preset)
    cells = [
        [W.FloatText(value=float(start[i, j]), step=0.5, description=f"w[{i},{j}]",
                     style={"description_width": "48px"}, layout=W.Layout(width="135px"))
         for j in range(3)]
        for i in range(3)
    ]  # fmt: skip
    presets = W.Dropdown(options=list(convolution.KERNELS), value=preset, description="preset")
    photo = W.Dropdown(options=list(grays), value=next(iter(grays)), description="photo")
    original, filtered = Picture("the photo in gray"), Picture("the photo filtered by the kernel")
    caption = W.HTML()
    busy = {"setting": False}
    shown: dict[str, bytes] = {}  # PNGs of the unfiltered photos, made once

    def weights() -> list[list[float]]:
        return [[float(c.value) for c in row] for row in cells]

    def update(_=None) -> None:
        if busy["setting"]:
            return
        gray, w = grays[photo.value], weights()
        response = convolution.filter_gray(gray, w)
        if photo.value not in shown:
            shown[photo.value] = pixels.png((gray * 255).round().to(torch.uint8).numpy())
        original.show(shown[photo.value])
        filtered.show(pixels.png(convolution.response_image(response, w)))
        caption.value = convolution.kernel_html(w, response)

    def choose(change) -> None:
        busy["setting"] = True
        try:
            for row, values in zip(cells, convolution.KERNELS[change["new"]]):
                for cell, v in zip(row, values):
                    cell.value = round(float(v), 4)
        finally:
            busy["setting"] = False
        update()

    update()
    for row in cells:
        for cell in row:
            cell.observe(update, names="value")
    presets.observe(choose, names="value")
    photo.observe(update, names="value")
    grid = W.VBox([W.HBox(row) for row in cells])
    box = W.VBox([W.HBox([W.VBox([presets, photo]), grid]), W.HBox([original, filtered]), caption])
    box.add_class("p2l-widget")
    box.add_class("p2l-kernel-editor")
    first = next(iter(grays))
    display_widget(
        box,
        convolution.figure_kernel_editor(grays[first], weights(), title=f"{preset} on the {first} photo"),
        alt=f"The {first} photo in gray and the same photo filtered with the {preset} kernel, "
        "whose nine weights are written beside it.",
    )
    return box


# ----------------------------------------------------------------------------- lesson 06: top-k and layer costs


def topk_explorer(photos, probs, class_names, *, k: int = 5, max_k: int = 10, start: str | None = None) -> W.Box:
    """Pick a photo and k; see the photo beside the pretrained model's top-k classes.

    A thin view over `course_utils.imagenet.figure_topk` and
    `course_utils.imagenet.topk_rows`; every prediction was computed
    beforehand, so an update only redraws a figure.

    Args:
        photos: ``{name: (H, W, 3) uint8 photo}``, in the order of the rows of ``probs``.
        probs: (P, C) class probabilities, one row per photo.
        class_names: the C class names.
        k: the k shown first; max_k: the slider's upper end.
        start: the photo shown first (default: the first).

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-topk``).

    Introduced in lesson 06.
    """
    from course_utils import imagenet

    names = list(photos)
    if len(names) != len(probs):
        raise ValueError(f"got {len(names)} photos but {len(probs)} rows of probabilities")
    start = start or names[0]
    photo = W.Dropdown(options=names, value=start, description="photo")
    k_slider = W.IntSlider(value=k, min=1, max=max_k, description="k (guesses)", continuous_update=False)
    picture = Picture("the photo and the network's top-k guesses")
    summary = W.HTML()

    def figure(name: str, kk: int):
        return imagenet.figure_topk(photos[name], probs[names.index(name)], class_names, kk,
                                    title=f"{name}: the model's top-{kk} of {len(class_names):,} classes")  # fmt: skip

    def describe(name: str, kk: int) -> str:
        rows = imagenet.topk_rows(probs[names.index(name)], class_names, kk)
        covered = sum(p for _, _, p in rows)
        return (f"top-1 <b>{rows[0][1]}</b> ({rows[0][2]:.0%}); the top {kk} together hold {covered:.0%} "
                f"of the probability")  # fmt: skip

    def update(_=None) -> None:
        picture.show(png_bytes(figure(photo.value, k_slider.value)))
        summary.value = f"<div style='font-size:13px'>{describe(photo.value, k_slider.value)}</div>"

    update()
    photo.observe(update, names="value")
    k_slider.observe(update, names="value")
    box = W.VBox([W.HBox([photo, k_slider]), summary, picture])
    box.add_class("p2l-widget")
    box.add_class("p2l-topk")
    text = describe(start, k).replace("<b>", "").replace("</b>", "")
    display_widget(box, figure(start, k), alt=f"The {start} photo beside bars of the model's {k} most likely "
                   f"ImageNet classes: {text}.")  # fmt: skip
    return box


def layer_cost_explorer(costs, *, start: str | None = None, title: str | None = None) -> W.Box:
    """Pick a layer of a network; see its share of the parameters and of the FLOPs.

    A thin view over `course_utils.costs.figure_layer_costs` and
    `course_utils.costs.layer_summary`.

    Args:
        costs: a list of `course_utils.costs.LayerCost` (from `course_utils.costs.layer_costs`).
        start: the layer selected first (default: the first layer with parameters).
        title: the figure title.

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-layer-costs``).

    Introduced in lesson 06.
    """
    from course_utils import costs as cost_module

    names = [c.name for c in costs if c.params or c.flops]
    if not names:
        raise ValueError("no layer has parameters or FLOPs to explore")
    start = start or names[0]
    layer = W.Dropdown(options=names, value=start, description="layer")
    picture = Picture("parameters and multiply-adds of each layer, the chosen one highlighted")
    summary = W.HTML()

    def update(_=None) -> None:
        picture.show(png_bytes(cost_module.figure_layer_costs(costs, highlight=layer.value, title=title)))
        summary.value = f"<div style='font-size:13px'>{cost_module.layer_summary(costs, layer.value)}</div>"

    update()
    layer.observe(update, names="value")
    box = W.VBox([layer, summary, picture])
    box.add_class("p2l-widget")
    box.add_class("p2l-layer-costs")
    display_widget(box, cost_module.figure_layer_costs(costs, highlight=start, title=title),
                   alt=f"Two bar charts of each layer's share of all parameters and of all FLOPs, with {start} "
                   f"highlighted: {cost_module.layer_summary(costs, start)}.")  # fmt: skip
    return box


# ----------------------------------------------------------------------------- lesson 07: transfer learning


def depth_explorer(photos: dict, stages: dict, *, k: int = 8, start: tuple[str, str] | None = None) -> W.Box:
    """Pick a photo and a depth of the pretrained backbone; see that stage's strongest feature maps.

    A thin view over `course_utils.transfer` (`figure_depth`, `stage_summary`);
    every stage output was computed beforehand, so interaction only redraws.

    Args:
        photos: photo name -> (3, H, W) float image in [0, 1] (what the network saw).
        stages: photo name -> ``{stage name: (1, C, h, w) maps}`` (see
            `course_utils.transfer.stage_outputs`), shallow to deep.
        k: feature maps shown per stage.
        start: the (photo, stage) shown first (default: the first photo's stem).

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-depth-explorer``).

    Raises:
        ValueError: ``photos`` and ``stages`` name different photos.

    Introduced in lesson 07.
    """
    from course_utils import transfer

    if set(photos) != set(stages) or not photos:
        raise ValueError(f"photos {sorted(photos)} and stages {sorted(stages)} must name the same photos")
    names = list(photos)
    depths = list(stages[names[0]])
    photo0, depth0 = start or (names[0], depths[0])
    photo = W.Dropdown(options=names, value=photo0, description="photo")
    depth = W.SelectionSlider(options=depths, value=depth0, description="depth", continuous_update=False,
                              layout=W.Layout(width="420px"))  # fmt: skip
    picture = Picture("the photo and the strongest feature maps at the chosen depth")
    summary = W.HTML()

    def figure(name: str, stage: str):
        return transfer.figure_depth(photos[name], {stage: stages[name][stage]}, k=k, title=f"{name}, {stage}")

    def update(_=None) -> None:
        picture.show(png_bytes(figure(photo.value, depth.value)))
        text = transfer.stage_summary(depth.value, stages[photo.value][depth.value], k)
        summary.value = f"<div style='font-size:13px'>{text}</div>"

    update()
    photo.observe(update, names="value")
    depth.observe(update, names="value")
    box = W.VBox([W.HBox([photo, depth]), summary, picture])
    box.add_class("p2l-widget")
    box.add_class("p2l-depth-explorer")
    display_widget(box, figure(photo0, depth0),
                   alt=f"The {photo0} photo beside its {k} strongest feature maps at the {depth0} of the pretrained "
                   f"backbone; {transfer.stage_summary(depth0, stages[photo0][depth0], k)}")  # fmt: skip
    return box


# ----------------------------------------------------------------------------- lesson 09: beyond one machine


def scaling_explorer(
    *,
    num_params: float = 25.6e6,
    bandwidth_gb_per_s: float = 50.0,
    compute_ms: float = 100.0,
    latency_us: float = 10.0,
    max_workers: int = 256,
) -> W.Box:
    """Sliders for model size, link bandwidth, compute per step and latency; see the predicted speed-up.

    A thin view over `course_utils.distributed.figure_scaling` and
    `course_utils.distributed.efficiency_summary` (ring all-reduce after each
    step, no overlap with the backward pass).

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-scaling``).

    Introduced in lesson 09.
    """
    from course_utils import distributed

    style = {"description_width": "170px"}
    layout = W.Layout(width="480px")
    params = W.FloatLogSlider(
        value=num_params,
        base=10,
        min=4,
        max=10,
        step=0.1,
        description="parameters",
        readout_format=".3s",
        style=style,
        layout=layout,
    )
    bandwidth = W.FloatLogSlider(
        value=bandwidth_gb_per_s,
        base=10,
        min=-1,
        max=3,
        step=0.1,
        description="link bandwidth (GB/s)",
        readout_format=".3g",
        style=style,
        layout=layout,
    )
    compute = W.FloatLogSlider(
        value=compute_ms,
        base=10,
        min=0,
        max=4,
        step=0.1,
        description="compute per step (ms)",
        readout_format=".3g",
        style=style,
        layout=layout,
    )
    latency = W.FloatLogSlider(
        value=latency_us,
        base=10,
        min=0,
        max=4,
        step=0.1,
        description="latency per step (µs)",
        readout_format=".3g",
        style=style,
        layout=layout,
    )
    picture = Picture("predicted step time and speed-up against the number of GPUs, for the chosen model and link")
    summary = W.HTML()

    def state() -> tuple:
        return compute.value / 1e3, params.value, bandwidth.value, latency.value / 1e6

    def update(_=None) -> None:
        c, p, b, lat = state()
        picture.show(png_bytes(distributed.figure_scaling(c, p, b, latency_s=lat, max_workers=max_workers)))
        summary.value = f"<div style='font-size:13px'>{distributed.efficiency_summary(c, p, b, 8, latency_s=lat)}</div>"

    update()
    for control in (params, bandwidth, compute, latency):
        control.observe(update, names="value")
    box = W.VBox([params, bandwidth, compute, latency, summary, picture])
    box.add_class("p2l-widget")
    box.add_class("p2l-scaling")
    c, p, b, lat = state()
    display_widget(box, distributed.figure_scaling(c, p, b, latency_s=lat, max_workers=max_workers),
                   alt=f"Predicted speed-up against the number of workers on log axes, with the ideal line, for "
                       f"{p / 1e6:.1f} million parameters, {b:g} GB/s links and {c * 1e3:g} ms of compute per step: "
                       f"{distributed.efficiency_summary(c, p, b, 8, latency_s=lat)}.")  # fmt: skip
    return box


# ----------------------------------------------------------------------------- lesson 06b: the recipe, scaled up


def degradation_explorer(runs, *, start: int | None = None, window: int = 25) -> W.Box:
    """Pick a depth; see the plain and the residual net's training loss and their gradient norms at that depth.

    A thin view over `course_utils.architectures.figure_degradation`; every
    network was trained beforehand (`course_utils.architectures.degradation_runs`).

    Args:
        runs: a list of `course_utils.architectures.DepthRun`.
        start: the depth shown first (default: the shallowest; the slider steps deeper).
        window: steps averaged in the running loss shown first.

    Returns:
        The displayed outer box (CSS classes ``p2l-widget p2l-degradation``).

    Introduced in lesson 06b.
    """
    from course_utils import architectures as arch

    depths = sorted({r.depth for r in runs})
    if not depths:
        raise ValueError("runs is empty: train some networks with cu.architectures.degradation_runs first")
    start = depths[0] if start is None else start  # step right to go deeper
    depth = W.SelectionSlider(options=depths, value=start, description="depth", continuous_update=False)
    smooth = W.IntSlider(value=window, min=1, max=100, description="smoothing", continuous_update=False,
                         tooltip="steps averaged in the running loss")  # fmt: skip
    picture = Picture("training loss against step and gradient norm per layer, plain against residual, at the chosen depth")
    summary = W.HTML()

    def describe(d: int) -> str:
        plain, residual = arch._pick(runs, d, False), arch._pick(runs, d, True)
        return (f"depth {d}: after training, plain loss {plain.train_loss:.2f} (accuracy {plain.train_accuracy:.0%}), "
                f"residual loss {residual.train_loss:.2f} (accuracy {residual.train_accuracy:.0%}) on training images")  # fmt: skip

    def update(_=None) -> None:
        picture.show(png_bytes(arch.figure_degradation(runs, depth.value, window=smooth.value)))
        summary.value = f"<div style='font-size:13px'>{describe(depth.value)}</div>"

    update()
    depth.observe(update, names="value")
    smooth.observe(update, names="value")
    box = W.VBox([W.HBox([depth, smooth]), summary, picture])
    box.add_class("p2l-widget")
    box.add_class("p2l-degradation")
    display_widget(box, arch.figure_degradation(runs, start, window=window),
                   alt=f"Training loss against step and gradient norm per layer at initialisation for the plain and "
                   f"the residual network of depth {start}; {describe(start)}.")  # fmt: skip
    return box
