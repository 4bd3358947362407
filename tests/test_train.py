"""The training loop: `fit`, `evaluate`, `predict` against hand-written references."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import course_utils as cu
from course_utils import train


def _data(n: int = 40, seed: int = 0, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, size, size, generator=g), torch.randint(0, 3, (n,), generator=g)


def _conv_model(seed: int = 0, bn: bool = True) -> nn.Sequential:
    torch.manual_seed(seed)
    layers = [nn.Conv2d(1, 4, 3, padding=1)]
    layers += [nn.BatchNorm2d(4)] if bn else []
    layers += [nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 4 * 4, 3)]
    return nn.Sequential(*layers)


def _linear_model(seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 3))


def _params(model: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def _reference_loop(model, x, y, opt, sched, *, epochs: int, batch_size: int, seed: int) -> None:
    """A plain training loop drawing batches in cu.fit's order (one seeded permutation per epoch)."""
    g = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(batch_size):
            opt.zero_grad()
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            if sched is not None:
                sched.step()


def test_evaluate_matches_a_manual_loop_with_a_short_last_batch():
    x, y = _data(37)
    model = _conv_model()
    model.train()
    result = cu.evaluate(model, (x, y), batch_size=8)  # 4 batches of 8, then 5
    model.eval()
    with torch.no_grad():
        logits = model(x)
    assert result["loss"] == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-5)
    assert result["accuracy"] == pytest.approx(float((logits.argmax(1) == y).float().mean()))
    assert model.training is False  # we switched it; evaluate restored what it found
    model.train()
    cu.evaluate(model, (x, y))
    assert model.training is True


def test_evaluate_with_a_mean_loss_scales_back_to_a_sum():
    x, y = _data(37)
    model = _conv_model()
    a = cu.evaluate(model, (x, y), batch_size=8, loss_fn=nn.CrossEntropyLoss())
    b = cu.evaluate(model, (x, y), batch_size=100)
    assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)


def test_fit_is_deterministic_under_a_seed():
    x, y = _data(50)
    runs = []
    for _ in range(2):
        model = _conv_model()
        history = cu.fit(model, (x, y), (x, y), epochs=2, batch_size=16, seed=3, progress=False, verbose=False,
                         augment=cu.speed.flip_and_translate(1))  # fmt: skip
        runs.append((_params(model), history.train_loss, history.val_acc))
    for a, b in zip(runs[0][0], runs[1][0]):
        assert torch.equal(a, b)
    assert runs[0][1:] == runs[1][1:]
    other = _conv_model()
    cu.fit(other, (x, y), epochs=2, batch_size=16, seed=4, progress=False, verbose=False)
    assert not all(torch.equal(a, b) for a, b in zip(runs[0][0], _params(other)))


def test_uniform_sample_weights_give_the_plain_mean():
    x, y = _data(50)
    plain, weighted = _conv_model(), _conv_model()
    h1 = cu.fit(plain, (x, y), epochs=2, batch_size=16, progress=False, verbose=False)
    h2 = cu.fit(weighted, (x, y), epochs=2, batch_size=16, sample_weights=torch.full((50,), 2.5),
                progress=False, verbose=False)  # fmt: skip
    for a, b in zip(_params(plain), _params(weighted)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)
    assert h1.train_loss == pytest.approx(h2.train_loss, rel=1e-5)


def test_sample_weights_weight_the_loss():
    x, y = _data(10)
    w = torch.tensor([1.0, 0, 0, 2, 0, 0, 1, 0, 3, 0])
    model = _linear_model()
    with torch.no_grad():
        losses = F.cross_entropy(model(x), y, reduction="none")
    opt = torch.optim.SGD(model.parameters(), lr=0.0)  # the model stays put: the epoch loss is exact
    h = cu.fit(model, (x, y), epochs=1, batch_size=10, optimizer=opt, schedule=None, sample_weights=w,
               progress=False, verbose=False)  # fmt: skip
    assert h.train_loss[0] == pytest.approx(float((losses * w).sum() / w.sum()), rel=1e-5)


def test_epoch_loss_and_accuracy_average_a_short_last_batch_right():
    x, y = _data(10)
    model = _linear_model()
    with torch.no_grad():
        logits = model(x)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    h = cu.fit(model, (x, y), epochs=1, batch_size=4, optimizer=opt, schedule=None, progress=False, verbose=False)
    # Batches of 4, 4 and 2: the epoch mean is over the 10 samples, not over the 3 batch means.
    assert h.train_loss[0] == pytest.approx(float(F.cross_entropy(logits, y)), rel=1e-5)
    assert h.train_acc[0] == pytest.approx(float((logits.argmax(1) == y).float().mean()))
    assert h.images == [10] and len(h.seconds) == 1


def test_fit_matches_a_reference_loop():
    """Same data order, same optimizer, same schedule: the same weights as a plain loop."""
    x, y = _data(40)
    model = _conv_model(bn=False)
    reference = copy.deepcopy(model)
    cu.fit(model, (x, y), epochs=2, batch_size=16, lr=1e-2, seed=5, progress=False, verbose=False, channels_last=False)
    opt = torch.optim.AdamW(reference.parameters(), lr=1e-2, weight_decay=5e-4, foreach=False)  # the plain loop
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[1e-2], total_steps=2 * 3, pct_start=0.25)
    _reference_loop(reference, x, y, opt, sched, epochs=2, batch_size=16, seed=5)
    for a, b in zip(_params(model), _params(reference)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_named_optimizers_take_the_fused_step_and_match_the_plain_one():
    """cu.fit's "adamw" and "sgd" use PyTorch's fused kernels on the CPU; the weights match unfused optimizers."""
    model = _conv_model(bn=False)
    for name in ("adamw", "sgd"):
        assert train._make_optimizer(model, name, 0.1, 5e-4).defaults["fused"] is True
        assert not train._make_optimizer(copy.deepcopy(model).to("meta"), name, 0.1, 5e-4).defaults["fused"]
    x, y = _data(40)
    reference = copy.deepcopy(model)
    cu.fit(model, (x, y), epochs=2, batch_size=16, optimizer="sgd", lr=0.05, schedule=None, seed=3,
           progress=False, verbose=False, channels_last=False)  # fmt: skip
    opt = torch.optim.SGD(reference.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4,
                          foreach=False)  # fmt: skip
    _reference_loop(reference, x, y, opt, None, epochs=2, batch_size=16, seed=3)
    for a, b in zip(_params(model), _params(reference)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=1e-5)


def test_channels_last_gives_the_same_training_and_hands_back_the_layout():
    x, y = _data(48)
    a, b = _conv_model(), _conv_model()
    # SGD, not Adam: Adam divides by the gradient's size, which magnifies rounding differences near zero.
    for model, layout in ((a, True), (b, False)):
        cu.fit(model, (x, y), epochs=2, batch_size=16, optimizer="sgd", lr=0.05, progress=False, verbose=False,
               channels_last=layout)  # fmt: skip
    for p, q in zip(_params(a), _params(b)):
        torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4)
    conv = a[0]
    assert conv.weight.is_contiguous() and conv.weight.grad.is_contiguous()
    conv.weight.view(4, -1)  # views work again (they fail on a channels-last tensor)


def test_channels_last_is_chosen_for_conv_nets_on_cpu_only():
    x4 = torch.zeros(2, 1, 8, 8)
    cpu = torch.device("cpu")
    assert train._wants_channels_last(_conv_model(), x4, cpu, None) is True
    assert train._wants_channels_last(_linear_model(), x4, cpu, None) is False
    assert train._wants_channels_last(_conv_model(), x4, torch.device("mps"), None) is False
    assert train._wants_channels_last(_conv_model(), torch.zeros(2, 64), cpu, True) is False
    assert train._wants_channels_last(_conv_model(), x4, cpu, False) is False


def test_fit_accepts_uint8_and_reports_errors():
    x, y = _data(20)
    x8 = (x * 255).round().to(torch.uint8)
    a, b = _conv_model(), _conv_model()
    cu.fit(a, (x8, y), epochs=1, batch_size=8, progress=False, verbose=False)
    cu.fit(b, (x8.float() / 255, y), epochs=1, batch_size=8, progress=False, verbose=False)
    for p, q in zip(_params(a), _params(b)):
        assert torch.equal(p, q)
    with pytest.raises(ValueError, match="epochs"):
        cu.fit(a, (x, y), epochs=0, progress=False, verbose=False)
    with pytest.raises(ValueError, match="sample_weights"):
        cu.fit(a, (x, y), sample_weights=torch.ones(3), progress=False, verbose=False)
    with pytest.raises(ValueError, match="schedule"):
        cu.fit(a, (x, y), schedule="cosine", progress=False, verbose=False)


def test_history_time_to_a_target():
    h = train.History(train_loss=[1, 0.5, 0.3], train_acc=[0.5, 0.9, 0.95], val_acc=[0.6, 0.97, 0.99],
                      val_loss=[1, 0.2, 0.1], seconds=[2.0, 3.0, 4.0], images=[10, 10, 10])  # fmt: skip
    assert h.time_to(0.97) == pytest.approx(5.0)
    assert h.time_to(0.5) == pytest.approx(2.0)
    assert h.time_to(0.995) is None
    assert h.time_to(0.9, split="train") == pytest.approx(5.0)
    with pytest.raises(ValueError, match="validation"):
        train.History(train_loss=[1], train_acc=[0.5], seconds=[1], images=[1]).time_to(0.5)


def test_predict_is_the_softmax_of_the_logits_in_eval_mode():
    x, _ = _data(30)
    model = _conv_model()
    model.train()
    probs = cu.predict(model, x, batch_size=7)
    model.eval()
    with torch.no_grad():
        expected = model(x).softmax(-1)
    torch.testing.assert_close(probs, expected)
    torch.testing.assert_close(probs.sum(1), torch.ones(30))


def test_synchronize_waits_on_the_right_backend_only(monkeypatch):
    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda device=None: calls.append(("cuda", device)))
    monkeypatch.setattr(torch.mps, "synchronize", lambda: calls.append(("mps", None)))
    train.synchronize("cpu")
    train.synchronize(torch.device("cpu"))
    assert calls == []  # the CPU runs synchronously: nothing to wait for
    train.synchronize("cuda:1")
    train.synchronize(torch.device("mps"))
    assert calls == [("cuda", torch.device("cuda:1")), ("mps", None)]


def test_autocast_bfloat16_trains_close_to_float32():
    x, y = _data(10)
    model = _linear_model()
    with torch.no_grad():
        reference = F.cross_entropy(model(x), y)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    h = cu.fit(model, (x, y), epochs=1, batch_size=4, optimizer=opt, schedule=None, autocast=torch.bfloat16,
               progress=False, verbose=False)  # fmt: skip
    assert h.train_loss[0] == pytest.approx(float(reference), rel=2e-2)  # bfloat16 keeps about 3 digits
    assert h.train_loss[0] != pytest.approx(float(reference), rel=1e-6)  # ... and it really ran in bfloat16
    with pytest.raises(ValueError, match="autocast"):
        cu.fit(model, (x, y), autocast=torch.float64, progress=False, verbose=False)


# --- where fit, evaluate and predict run ------------------------------------------------------------
# The `meta` device stands for "another device": tensors there have shapes but no values, which is
# all these checks need (they must stop before any data-dependent work).


def _on_meta(x: torch.Tensor) -> torch.Tensor:
    return x.to("meta")


def test_fit_evaluate_predict_refuse_data_on_another_device_and_say_what_to_move():
    x, y = torch.rand(8, 1, 4, 4), torch.randint(0, 3, (8,))
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 3))
    calls = {
        "fit": lambda: cu.fit(model, (_on_meta(x), _on_meta(y)), epochs=1, progress=False, verbose=False),
        "evaluate": lambda: cu.evaluate(model, (_on_meta(x), _on_meta(y))),
        "predict": lambda: cu.predict(model, _on_meta(x)),
    }
    for name, call in calls.items():
        with pytest.raises(RuntimeError) as err:
            call()
        message = str(err.value)
        assert f"cu.{name}: the model is on cpu" in message and "on meta" in message, message
        assert "model.to('meta')" in message, message
    # validation data on another device are caught before training starts
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(RuntimeError, match="validation data are on meta"):
        cu.fit(model, (x, y), (_on_meta(x), _on_meta(y)), epochs=1, progress=False, verbose=False)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    # an explicit device that disagrees with the data: the message says which device to name
    with pytest.raises(RuntimeError, match=r"pass device='meta' to fit, or move the data to cpu"):
        cu.fit(nn.Linear(16, 3).to("meta"), (_on_meta(x), _on_meta(y)), device="cpu", epochs=1, progress=False, verbose=False)


def test_host_data_follow_the_model_and_cuda_names_match_cuda_zero():
    assert train._same_device(torch.device("cuda"), torch.device("cuda:0"))
    assert not train._same_device(torch.device("cuda:1"), torch.device("cuda:0"))
    assert not train._same_device(torch.device("cpu"), torch.device("cpu", 0))  # cpu:0 is the audit's device
    host = torch.rand(2, 3)
    for device in ("cuda:0", "mps", "meta"):
        train._check_data_device("fit", "data", host, torch.device(device), torch.device(device))  # no error


@pytest.mark.parametrize(
    "capability, expected",
    [
        ((7, 5), torch.float16),
        ((7, 0), torch.float16),
        ((6, 1), torch.float16),
        ((8, 0), torch.bfloat16),
        ((8, 6), torch.bfloat16),
        ((9, 0), torch.bfloat16),
        ((12, 0), torch.bfloat16),
    ],
)
def test_autocast_dtype_follows_the_cuda_capability_not_is_bf16_supported(monkeypatch, capability, expected):
    """A T4 (7.5) says is_bf16_supported() (emulated): it must still get float16 (and fit's GradScaler)."""
    asked = []
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: asked.append(device) or capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert train.autocast_dtype("cuda") == expected
    assert train.autocast_dtype(torch.device("cuda", 0)) == expected
    assert asked == [torch.device("cuda"), torch.device("cuda", 0)]


def test_autocast_dtype_off_cuda():
    assert train.autocast_dtype("cpu") == torch.bfloat16
    assert train.autocast_dtype("mps") == torch.float16
