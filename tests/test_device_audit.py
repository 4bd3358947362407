"""The GPU path, proven without a GPU: the device audit, and the lessons run under it.

`course_utils.device_audit` (``P2L_DEVICE_AUDIT=1``) hands the lessons a CPU
stand-in for a GPU and fails on any operation that mixes tensors on it with
tensors on the host, and on any layer whose weights stayed on the host. The
unit tests below show it catches each kind of slip in a fresh process (the
audit changes process-wide PyTorch state, so it never runs inside pytest's own
process). Lessons 04, 05, 07 and 08 run under it, as a student runs them, in
the Colab-like runtime (tests/test_colab.py: Colab is where most students have
a GPU), so they are executed once for both checks.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from conftest import ROOT

AUDITED_LESSONS = ["04", "05", "07", "08"]
PY = sys.executable


PRELUDE = """
import torch
from torch import nn
import course_utils as cu
from course_utils.device_audit import DeviceAuditError
device = cu.setup(verbose=False)
print(device)
def fails(f, *words):
    try:
        f()
    except (DeviceAuditError, RuntimeError) as err:
        for w in words:
            assert w in str(err), (w, str(err))
        return
    raise AssertionError("no error")
"""


def _run(code: str, *, audit: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "P2L_DEVICE_AUDIT": "1" if audit else "0", "TQDM_DISABLE": "1"}
    return subprocess.run([PY, "-c", PRELUDE + textwrap.dedent(code)], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def test_setup_hands_out_the_stand_in_and_tracks_where_tensors_are():
    result = _run("""
    assert device == torch.device("cpu", 0), device
    x = torch.rand(4, 3)
    d = x.to(device)
    assert x.device == torch.device("cpu") and d.device == device
    assert torch.zeros(2, device=device).device == device
    assert (d * 2 + 1).device == device and d.sum().device == device
    assert d.cpu().device == torch.device("cpu") and d.to("cpu").device == torch.device("cpu")
    assert torch.equal(d.cpu(), x)                      # same numbers: the arithmetic is the CPU's
    m = nn.Linear(3, 2)
    opt = torch.optim.AdamW(m.parameters())            # built before the move, as lesson 05 teaches
    m.to(device)
    assert isinstance(m.weight, nn.Parameter) and m.weight.device == device
    m(d).sum().backward()
    assert m.weight.grad.device == device
    before = m.weight.detach().cpu().clone()
    opt.step()
    assert not torch.equal(before, m.weight.detach().cpu())   # the optimizer updated the moved weights
    (d + torch.tensor(2.0)).sum().item()                # a host scalar is fine, as on CUDA
    assert d[torch.tensor([0, 1])].shape == (2, 3)       # host indices into a device tensor, as on CUDA
    print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_the_audit_fails_on_every_kind_of_cross_device_use():
    result = _run("""
    host_model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    x = torch.rand(5, 1, 8, 8)
    fails(lambda: host_model(x), "Conv2d", "weights on the host", "model.to(device)")           # model never moved
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2)).to(device)
    fails(lambda: model(x), "conv2d", "cpu (the host) (5, 1, 8, 8)", "x.to(device)")            # batch never moved
    d = x.to(device)
    fails(lambda: d + x, "on the device and on the host")
    fails(lambda: d.numpy(), "NumPy", ".cpu()")
    import numpy as np
    fails(lambda: np.asarray(d), "NumPy")
    fails(lambda: x[torch.tensor([0]).to(device)], "host")                                      # device index, host tensor
    model(d)
    print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_the_audit_catches_lesson_05_section_9_as_it_was():
    """Lesson 05 §9 used to train `pool_first_cnn()` without moving it: cu.fit must stop, and say why."""
    result = _run("""
    x = torch.rand(64, 1, 28, 28).to(device)
    y = torch.randint(0, 10, (64,)).to(device)
    torch.manual_seed(0)
    net = cu.speed.pool_first_cnn()                 # the old cell: no .to(device)
    fails(lambda: cu.fit(net, (x, y), epochs=1, progress=False, verbose=False),
          "model is on cpu", "training data are on cpu:0", "model.to('cpu:0')")
    net = cu.speed.pool_first_cnn().to(device)      # the fixed cell
    cu.fit(net, (x, y), epochs=1, progress=False, verbose=False)
    assert all(p.device == device for p in net.parameters())
    print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_without_the_variable_nothing_changes():
    result = _run(
        """
    import course_utils.device_audit as da
    assert device != da.AUDIT_DEVICE and da._mode is None
    assert not torch.__future__.get_swap_module_params_on_conversion()
    print("ok")
    """,
        audit=False,
    )
    assert result.returncode == 0, result.stderr


def test_host_data_follow_the_model_to_the_device_and_results_come_back():
    """fit/evaluate/predict and the saliency maps copy host data to the model's device; same numbers as on the host."""
    result = _run("""
    import copy
    torch.manual_seed(0)
    model = cu.models.small_cnn(3, 1, width=4, hidden=8).to(device)
    host_model = copy.deepcopy(model).cpu()
    assert all(p.device == device for p in model.parameters())
    assert all(p.device == torch.device("cpu") for p in host_model.parameters())
    x, y = torch.rand(16, 1, 32, 32), torch.randint(0, 3, (16,))
    cu.fit(model, (x, y), (x, y), epochs=1, progress=False, verbose=False)
    fails(lambda: host_model(x), "weights on the host")
    with cu.device_audit.host_models_allowed():  # the CPU reference, deliberately on the host
        cu.fit(host_model, (x, y), (x, y), epochs=1, progress=False, verbose=False)
        host_eval, host_probs = cu.evaluate(host_model, (x, y)), cu.predict(host_model, x)
        host_cam = cu.saliency.grad_cam(host_model, host_model.relu2, x, 1)
    assert all(p.device == device for p in model.parameters())
    for a, b in zip(model.parameters(), host_model.parameters()):
        assert torch.allclose(a.detach().cpu(), b.detach(), atol=1e-6)
    assert cu.evaluate(model, (x, y)) == host_eval
    p = cu.predict(model, x)
    assert p.device == torch.device("cpu") and torch.equal(p, host_probs)
    for maps in (cu.saliency.grad_cam(model, model.relu2, x, 1), cu.saliency.saliency_map(model, x, 1)):
        assert maps.device == torch.device("cpu") and maps.shape == (16, 32, 32)
    assert torch.allclose(cu.saliency.grad_cam(model, model.relu2, x, 1), host_cam, atol=1e-6)
    print("ok")
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_simulated_device_audits_one_block_only():
    """cu.device_audit.simulated_device(): the audit inside a with block (a hidden test's GPU stand-in), nothing after."""
    result = _run(
        """
    import course_utils.device_audit as da
    x = torch.rand(4, 3)
    with da.simulated_device() as dev:
        assert dev == da.AUDIT_DEVICE and torch.__future__.get_swap_module_params_on_conversion()
        layer = nn.Linear(3, 2).to(dev)
        assert next(layer.parameters()).device == dev
        fails(lambda: layer(x), "mixes tensors on the device and on the host")
        fails(lambda: nn.Linear(3, 2)(x), "weights on the host")
        y = layer(x.to(dev))
        back = y.cpu()
        assert da.is_on_device(y) and y.device == dev and not da.is_on_device(back) and back.device.index is None
    # After the block: plain CPU semantics again; results equal the host computation.
    assert da._mode is None and not torch.__future__.get_swap_module_params_on_conversion()
    assert y.device == torch.device("cpu") and torch.equal(back, layer(x))
    nn.Linear(3, 2)(x)  # host models run again
    try:
        with da.simulated_device() as dev:
            raise KeyError("inside")
    except KeyError:
        pass
    assert not torch.__future__.get_swap_module_params_on_conversion()
    nn.Linear(3, 2)(x)
    print("ok")
    """,
        audit=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
