"""Lesson 09's widget (beyond one machine): predicted data-parallel speed-up, over `course_utils.distributed`."""

from __future__ import annotations

import ipywidgets as W

from course_utils.widgets._core import Picture, finish, png_bytes

__all__ = ["scaling_explorer"]


def scaling_explorer(
    *,
    num_params: float = 25.6e6,
    bandwidth_gb_per_s: float = 50.0,
    compute_ms: float = 100.0,
    latency_us: float = 10.0,
    max_workers: int = 256,
) -> W.Box:
    """Sliders for model size, link bandwidth, compute per step and latency; see the predicted speed-up.

    A thin view over `course_utils.distributed._figure_scaling` and
    `course_utils.distributed._efficiency_summary` (ring all-reduce after each
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

    def state() -> tuple[float, float, float, float]:
        return compute.value / 1e3, params.value, bandwidth.value, latency.value / 1e6

    def update(_: object = None) -> None:
        c, p, b, lat = state()
        picture.show(png_bytes(distributed._figure_scaling(c, p, b, latency_s=lat, max_workers=max_workers)))
        summary.value = f"<div style='font-size:13px'>{distributed._efficiency_summary(c, p, b, 8, latency_s=lat)}</div>"

    update()
    box = W.VBox([params, bandwidth, compute, latency, summary, picture])
    c, p, b, lat = state()
    return finish(box, "p2l-scaling", distributed._figure_scaling(c, p, b, latency_s=lat, max_workers=max_workers),
                  alt=f"Predicted speed-up against the number of workers on log axes, with the ideal line, for "
                  f"{p / 1e6:.1f} million parameters, {b:g} GB/s links and {c * 1e3:g} ms of compute per step: "
                  f"{distributed._efficiency_summary(c, p, b, 8, latency_s=lat)}.",
                  update=update, controls=(params, bandwidth, compute, latency))  # fmt: skip
