"""cu.restrictions.call_without: a library function refuses to run inside a student's function, then comes back."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from course_utils.checks import CheckFailed
from course_utils.restrictions import call_without

FORBIDDEN = ["torch.nn.functional.conv2d", "torch.conv2d", "torch.nn.Conv2d.forward"]


def test_a_forbidden_call_fails_with_a_message_naming_it():
    def lazy(x, w):
        return F.conv2d(x, w)

    with pytest.raises(CheckFailed, match=r"lazy: expected your own computation, got a call to torch\.nn\.functional\.conv2d"):
        call_without(FORBIDDEN, lazy, torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 2))


def test_module_and_method_forms_are_caught_too():
    with pytest.raises(CheckFailed, match="conv2d"):  # torch.conv2d is F.conv2d: one built-in, two names
        call_without(FORBIDDEN, lambda: torch.conv2d(torch.zeros(1, 1, 3, 3), torch.zeros(1, 1, 2, 2)))
    layer = nn.Conv2d(1, 1, 2)
    with pytest.raises(CheckFailed, match="Conv2d.forward"):
        call_without(FORBIDDEN, lambda: layer(torch.zeros(1, 1, 3, 3)))


def test_allowed_code_runs_and_everything_is_restored():
    originals = (F.conv2d, torch.conv2d, nn.Conv2d.forward)
    x = torch.rand(1, 1, 4, 4)

    def own(x):
        return x.unfold(2, 2, 1).unfold(3, 2, 1).sum(dim=(-2, -1))

    out = call_without(FORBIDDEN, own, x)
    torch.testing.assert_close(out, F.conv2d(x, torch.ones(1, 1, 2, 2)))  # F.conv2d works again afterwards
    assert (F.conv2d, torch.conv2d, nn.Conv2d.forward) == originals
    with pytest.raises(ValueError, match="boom"):
        call_without(FORBIDDEN, lambda: (_ for _ in ()).throw(ValueError("boom")))
    assert (F.conv2d, torch.conv2d, nn.Conv2d.forward) == originals  # restored after an error too


def test_unknown_paths_are_reported():
    with pytest.raises(ValueError, match="names nothing"):
        call_without(["torch.nn.functional.no_such_thing"], lambda: None)
    with pytest.raises(ValueError, match="not a dotted path"):
        call_without(["conv2d"], lambda: None)


def test_every_route_to_a_convolution_is_caught_at_the_dispatcher():
    x, w = torch.rand(1, 1, 5, 6), torch.rand(1, 1, 2, 2)
    routes = {
        "torch.ops.aten": lambda: torch.ops.aten.conv2d(x, w),
        "conv3d on an unsqueezed input": lambda: F.conv3d(x.unsqueeze(2), w.unsqueeze(2)).squeeze(2),
        "conv_transpose": lambda: F.conv_transpose2d(x, w),
        "an alias": (lambda c=F.conv2d: c(x, w)),
    }
    for what, route in routes.items():
        with pytest.raises(CheckFailed, match="got a call to aten.convolution"):
            call_without(["aten.convolution"], route)
        assert route() is not None, what  # works again outside


def test_softmax_pooling_and_resampling_routes():
    x = torch.rand(2, 1, 4, 6)
    for route in (lambda: torch.special.softmax(x, -1), lambda: x.softmax(-1), lambda: torch.ops.aten._softmax(x, -1, False)):
        with pytest.raises(CheckFailed, match="aten._softmax"):
            call_without(["aten._softmax"], route)
    with pytest.raises(CheckFailed, match="aten.max_pool2d_with_indices"):
        call_without(["aten.max_pool2d_with_indices"], lambda: nn.MaxPool2d(2)(x))
    import torchvision.transforms.v2.functional as TF

    with pytest.raises(CheckFailed, match="aten.grid_sampler_2d"):
        call_without(["aten.grid_sampler_2d"], lambda: TF.affine(x, angle=0.0, translate=[1, 0], scale=1.0, shear=[0.0, 0.0]))


def test_python_functions_are_caught_by_their_code_whatever_the_name():
    from course_utils import speed

    x = torch.rand(2, 1, 6, 6)
    alias = speed.random_translate
    with pytest.raises(CheckFailed, match="course_utils.speed.random_translate"):
        call_without(["course_utils.speed.random_translate"], lambda: alias(x, 1))
    from torch.utils.flop_counter import FlopCounterMode

    with pytest.raises(CheckFailed, match="FlopCounterMode"):
        call_without(["torch.utils.flop_counter.FlopCounterMode"], lambda: FlopCounterMode(display=False))
    with pytest.raises(CheckFailed, match="torch.Tensor.softmax"):
        call_without(["torch.Tensor.softmax"], lambda: x.softmax(0))


def test_a_caught_exception_does_not_hide_the_call():
    def sly(x):
        try:
            F.conv2d(x, torch.ones(1, 1, 1, 1))
        except CheckFailed:
            pass
        return x

    with pytest.raises(CheckFailed, match="aten.convolution"):
        call_without(["aten.convolution"], sly, torch.rand(1, 1, 3, 3))


def test_switching_the_watchers_off_is_reported():
    import sys

    def unhook():
        sys.setprofile(None)
        return 1

    with pytest.raises(CheckFailed, match="removed the profile hook"):
        call_without(["aten.convolution"], unhook)
    assert sys.getprofile() is None
    assert call_without(["aten.convolution"], lambda: 2) == 2


def test_popping_the_dispatch_mode_is_reported():
    from torch.utils import _python_dispatch

    def pop():
        _python_dispatch._pop_mode()
        return 1

    with pytest.raises(CheckFailed, match="removed the dispatch mode"):
        call_without(["aten.convolution"], pop)
    assert _python_dispatch._get_current_dispatch_mode() is None


def test_a_named_function_called_from_a_new_thread_is_caught():
    import threading

    def sly(x, w):
        out = []
        thread = threading.Thread(target=lambda: out.append(F.conv2d(x, w)))
        thread.start()
        thread.join()
        return out[0]

    with pytest.raises(CheckFailed, match="conv2d"):
        call_without(["torch.nn.functional.conv2d"], sly, torch.rand(1, 1, 4, 4), torch.rand(1, 1, 2, 2))
    assert threading.getprofile() is None
