"""What every widget shares: a picture with alt text, PNG rendering, probability bars, and the end of every factory.

`finish` is what each factory does once its controls and its ``update`` are
built: observe the controls, add the CSS classes, and display the widget with
a static picture of its first state (`display_widget`).
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

import ipywidgets as W

if TYPE_CHECKING:
    import numpy as np
    import torch
    from matplotlib.figure import Figure

__all__ = ["Change", "Picture", "array_png", "display_widget", "finish", "png_bytes", "probability_html"]

# What ipywidgets hands an observer: traitlets' change, a dict with "name", "old", "new", "owner" and "type".
Change: TypeAlias = Mapping[str, Any]


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


def png_bytes(fig: Figure) -> bytes:
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


def array_png(image: np.ndarray, *, scale: int = 1, min_size: int = 0) -> bytes:
    """PNG bytes of an (H, W) or (H, W, 3) uint8 image, enlarged with square pixels.

    Args:
        image: the pixels, uint8.
        scale: enlargement factor (nearest neighbour, so pixels stay crisp).
        min_size: enlarge further until the longer side is at least this many pixels.

    Raises:
        ValueError: the pixels are not uint8.
    """
    import numpy as np
    from PIL import Image

    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise ValueError(f"array_png needs a uint8 image; got {array.dtype}")
    longest = max(array.shape[:2])
    if min_size and longest * scale < min_size:
        scale = math.ceil(min_size / longest)
    picture = Image.fromarray(array)
    if scale > 1:
        picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)  # fast: a widget redraws while a slider moves
    return buffer.getvalue()


def probability_html(
    probs: torch.Tensor,
    class_names: Sequence[str],
    *,
    top: int | None = 10,
    ranked: bool = True,
    title: str | None = None,
    truth: int | None = None,
) -> str:
    """Class probabilities as HTML: a headline with the most likely class, then one labelled bar per class.

    Readable as text (a screen reader hears "circle, 87% sure" and each class's
    percentage); class names and the title are HTML-escaped.

    Args:
        probs: (K,) probabilities (any shape with K elements).
        class_names: K names, in logit order.
        top: list only this many classes (``None``: all of them).
        ranked: most likely class first; ``False`` keeps the classes' own order
            (bars that stay in place while a slider moves).
        title: who is predicting (a model's name), shown as "<title> says ...".
        truth: the true class's index: the headline adds ✓ or ✗ (it is a ...).

    Raises:
        ValueError: ``probs`` and ``class_names`` differ in length.
    """
    import torch

    probs = torch.as_tensor(probs).detach().float().flatten()
    if len(probs) != len(class_names):
        raise ValueError(f"{len(probs)} probabilities but {len(class_names)} class names")
    names = [html.escape(str(name)) for name in class_names]
    best = int(probs.argmax())
    order = probs.argsort(descending=True).tolist() if ranked else list(range(len(probs)))
    rows = []
    for i in order[:top]:
        p = float(probs[i])
        weight, colour = ("bold", "#0072B2") if i == best else ("normal", "#999999")
        rows.append(
            f"<div style='display:flex;align-items:center;gap:6px;font-weight:{weight}'>"
            f"<span style='width:5.5em'>{names[i]}</span>"
            f"<span style='display:inline-block;height:0.9em;width:{p * 10:.2f}em;background:{colour}'></span>"
            f"<span>{p:.1%}</span></div>"
        )
    verdict = "" if truth is None else " ✓" if best == truth else f" ✗ (it is a {names[truth]})"
    who = f"<b>{html.escape(title)}</b> says " if title else ""
    head = f"<div>{who}<b>{names[best]}</b>, {float(probs[best]):.0%} sure{verdict}</div>"
    return f"<div style='min-width:16em'>{head}{''.join(rows)}</div>"


def display_widget(widget: W.Widget, static_fig: Figure, alt: str) -> None:
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

    from course_utils.viz import _png_with_alt

    if not alt or not alt.strip():
        raise ValueError("a widget's static picture needs alt text")
    if getattr(widget, "_repr_mimebundle_", None) is not None:  # ipywidgets 8
        bundle = widget._repr_mimebundle_()
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
    else:  # ipywidgets 7 (what Colab ships): the same view message, built by hand
        data = {"application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}}
    data.update(_png_with_alt(png_bytes(static_fig), alt))
    data["text/plain"] = f"[interactive widget] {alt}"
    display(data, raw=True, metadata={"image/png": {"alt": alt}})
    if hasattr(widget, "_handle_displayed"):
        widget._handle_displayed()


def finish(
    box: W.Box,
    css_class: str,
    static_fig: Figure,
    alt: str,
    *,
    update: Callable[..., Any] | None = None,
    controls: Iterable[W.Widget] = (),
) -> W.Box:
    """End a widget factory: observe the controls, add the CSS classes, display with a static picture.

    Args:
        box: the widget's outer box.
        css_class: the widget's own CSS class (``"p2l-topk"``); ``p2l-widget`` is added too.
        static_fig: a matplotlib ``Figure`` of the widget's first state.
        alt: one sentence saying what that picture shows.
        update: called with the change whenever the ``value`` of one of ``controls`` changes.
        controls: the controls that redraw the widget through ``update``.

    Returns:
        ``box``, displayed.
    """
    if update is not None:
        for control in controls:
            control.observe(update, names="value")
    box.add_class("p2l-widget")
    box.add_class(css_class)
    display_widget(box, static_fig, alt=alt)
    return box
