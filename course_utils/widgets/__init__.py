"""Interactive widgets, each a thin ipywidgets view over pure functions; one module per lesson.

Every widget is displayed together with a static PNG of its first state
(`display_widget`): JupyterLab and Colab render the live widget, while a
static viewer (GitHub, nbviewer, a PDF export) or a headless run shows the
picture, with alt text. The pure functions behind each widget live in the
module that teaches them and are tested on their own.

Where each widget lives (``cu.widgets.<name>`` works for all of them):

- `pixels` (lesson 01): `pixel_inspector`, `channel_mixer`
- `translation` (lesson 02): `shift_explorer`
- `convolution` (lesson 03): `kernel_editor`
- `stages` (lesson 04): `replay_view`, `sketch_pad`
- `imagenet` (lesson 06): `topk_explorer`, `layer_cost_explorer`
- `architectures` (lesson 06b): `degradation_explorer`
- `transfer` (lesson 07): `depth_explorer`
- `leaderboard` (lesson 08): `shortcut_explorer`, `corruption_explorer`
- `distributed` (lesson 09): `scaling_explorer`
- `_core`: what they share (`Picture`, `png_bytes`, `array_png`, `probability_html`, `display_widget`, and
  `finish`, the end of every factory)
"""

from __future__ import annotations

from course_utils.widgets._core import Picture, display_widget, png_bytes  # noqa: F401 (the shared core, as before the split)
from course_utils.widgets.architectures import degradation_explorer
from course_utils.widgets.convolution import kernel_editor
from course_utils.widgets.distributed import scaling_explorer
from course_utils.widgets.imagenet import layer_cost_explorer, topk_explorer
from course_utils.widgets.leaderboard import corruption_explorer, shortcut_explorer
from course_utils.widgets.pixels import channel_mixer, pixel_inspector
from course_utils.widgets.stages import replay_view, sketch_pad
from course_utils.widgets.transfer import depth_explorer
from course_utils.widgets.translation import shift_explorer

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
