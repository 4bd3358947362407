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
    with pytest.raises(CheckFailed, match="torch.conv2d"):
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
