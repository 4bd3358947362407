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

__all__ = ["display_widget", "png_bytes"]


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
    import base64

    from IPython.display import display

    if not alt or not alt.strip():
        raise ValueError("a widget's static picture needs alt text")
    if getattr(widget, "_repr_mimebundle_", None) is not None:  # ipywidgets 8
        bundle = widget._repr_mimebundle_()
        data = dict(bundle[0] if isinstance(bundle, tuple) else bundle)
    else:  # ipywidgets 7 (what Colab ships): the same view message, built by hand
        data = {"application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0, "model_id": widget.model_id}}
    data["image/png"] = base64.b64encode(png_bytes(static_fig)).decode("ascii")
    data["text/plain"] = f"[interactive widget] {alt}"
    display(data, raw=True, metadata={"image/png": {"alt": alt}})
    if hasattr(widget, "_handle_displayed"):
        widget._handle_displayed()
