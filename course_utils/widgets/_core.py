"""What every widget shares: a picture with alt text, PNG rendering, and the end of every factory.

`finish` is what each factory does once its controls and its ``update`` are
built: observe the controls, add the CSS classes, and display the widget with
a static picture of its first state (`display_widget`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

import ipywidgets as W

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Change", "Picture", "display_widget", "finish", "png_bytes"]

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
