"""Training loops: `fit`, `evaluate`, `predict` — one code path for CPU, CUDA and MPS.

The data are kept as whole tensors on the device and cut into batches by
index (lesson 05 measures why: a per-image Python pipeline starves the
device). On the CPU and on CUDA, convolutional models train in the
channels-last memory layout, which oneDNN and cuDNN run faster (lesson 05
measures it); the model is handed back in its original layout. The named
optimizers take PyTorch's fused step (one kernel for all weights). Progress bars
come from ``tqdm.auto`` (a widget in notebooks, never stderr there);
``progress=False`` or ``TQDM_DISABLE=1`` silences them.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import torch
from torch import nn

from course_utils import env
from course_utils.models import _eval_mode

if TYPE_CHECKING:
    import datasets

__all__ = ["Data", "History", "LossFn", "autocast_dtype", "evaluate", "fit", "predict", "synchronize", "throughput"]

# What `fit`, `evaluate` and `_as_tensors` accept: ``(x, y)`` tensors (a tuple or a two-item list) or a Hugging Face dataset.
Data: TypeAlias = "tuple[torch.Tensor, torch.Tensor] | list[torch.Tensor] | datasets.Dataset"
# ``loss_fn(logits, y) -> loss`` (a scalar, or one loss per sample with ``reduction="none"``).
LossFn: TypeAlias = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """What happened during `fit`, one entry per epoch.

    Attributes:
        train_loss, train_acc: mean loss and accuracy over each epoch's batches.
        val_loss, val_acc: on the validation data after each epoch (empty if none).
        seconds: wall time of each epoch (training only, not validation).
        images: training images seen per epoch.
    """

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    images: list[int] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    @property
    def images_per_second(self) -> float:
        return sum(self.images) / max(sum(self.seconds), 1e-9)

    def time_to(self, accuracy: float, *, split: str = "val") -> float | None:
        """Training seconds until an epoch first ended at ``accuracy`` or better.

        Args:
            accuracy: the target, a fraction (``0.98`` for 98%).
            split: ``"val"`` (validation accuracy) or ``"train"``.

        Returns:
            The summed training time of the epochs up to and including the
            first one that reached the target (evaluation time excluded), or
            ``None`` if no epoch reached it.

        Introduced in lesson 05.
        """
        if split not in ("val", "train"):
            raise ValueError(f"split must be 'val' or 'train'; got {split!r}")
        accs = self.val_acc if split == "val" else self.train_acc
        if split == "val" and not accs:
            raise ValueError("this history has no validation accuracy: pass val=... to fit, or use split='train'")
        for epoch, acc in enumerate(accs):
            if acc >= accuracy:
                return float(sum(self.seconds[: epoch + 1]))
        return None

    def summary(self) -> str:
        """One line: epochs, time, throughput, final accuracies."""
        text = (
            f"{self.epochs} epochs in {sum(self.seconds):.1f} s ({self.images_per_second:,.0f} img/s): "
            f"train loss {self.train_loss[-1]:.3f}, train acc {self.train_acc[-1]:.1%}"
        )
        if self.val_acc:
            text += f", val acc {self.val_acc[-1]:.1%}"
        return text

    def __repr__(self) -> str:
        return f"History({self.summary()})" if self.epochs else "History(empty)"


def _as_tensors(data: Data, device: torch.device | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x, y)`` tensors on ``device`` from a tuple of tensors or a ``datasets.Dataset``.

    Introduced in lesson 04.
    """
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = data
        if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
            raise TypeError("expected (x, y) as two tensors")
        if x.dtype == torch.uint8:
            x = x.float().div_(255)
    elif hasattr(data, "features") and "image" in data.features:
        from course_utils.data import to_tensors

        x, y = to_tensors(data)
    else:
        raise TypeError(f"expected (x, y) tensors or a datasets.Dataset with an 'image' column; got {type(data).__name__}")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    if device is not None:
        x, y = x.to(device), y.to(device)
    return x, y


def _batches(n: int, batch_size: int, generator: torch.Generator | None, shuffle: bool) -> Iterable[torch.Tensor]:
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    return order.split(batch_size)


def _device_of(model: nn.Module) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


def _same_device(a: torch.device, b: torch.device) -> bool:
    """``cuda`` and ``cuda:0`` are the same GPU; ``cpu`` and ``cpu:0`` are not (``cpu:0`` is the audit's device)."""
    if a == b:
        return True
    return a.type == b.type != "cpu" and (a.index is None or b.index is None)


def _check_data_device(fn: str, what: str, t: torch.Tensor, device: torch.device, model_device: torch.device) -> None:
    """Data on the host (the CPU) are copied to ``device``; data on another device are an error.

    Copying host data up is the ordinary upload every training loop does. Data
    already on an accelerator that is not the model's mean a forgotten
    ``model.to(device)``; moving them back silently would train on the wrong
    device, so we stop and say what to do.
    """
    where = t.device
    if _same_device(where, device) or where == torch.device("cpu"):
        return
    if _same_device(device, model_device):
        hint = f"move the model there first: `model.to({str(where)!r})`, or pass device={str(where)!r} to {fn}"
    else:
        hint = f"pass device={str(where)!r} to {fn}, or move the data to {device}"
    raise RuntimeError(
        f"cu.{fn}: the model is on {model_device} but the {what} are on {where}. {fn} runs where the model is "
        f"(or on device=...), and it does not move data off a device silently: {hint}."
    )


def autocast_dtype(device: torch.device | str) -> torch.dtype:
    """The 16-bit type mixed precision should use on ``device``.

    bfloat16 keeps float32's range and needs no gradient scaler, but NVIDIA
    GPUs compute it in hardware only from compute capability 8.0 (Ampere). A
    T4 (capability 7.5) reports ``torch.cuda.is_bf16_supported()`` as true
    because PyTorch emulates it there, slowly; so on CUDA the choice follows
    ``torch.cuda.get_device_capability``, and older GPUs get float16 (train it
    with ``torch.amp.GradScaler``, as `fit` does). The CPU gets bfloat16
    (oneDNN computes it, natively on CPUs with AVX-512 BF16 or AMX); Apple
    GPUs get float16.

    Args:
        device: where the model runs.

    Returns:
        ``torch.bfloat16`` or ``torch.float16``.

    Introduced in lesson 05.
    """
    device = torch.device(device)
    if device.type == "cuda":
        major, _minor = torch.cuda.get_device_capability(device)
        return torch.bfloat16 if major >= 8 else torch.float16
    if device.type == "mps":
        return torch.float16
    return torch.bfloat16


def synchronize(device: torch.device | str) -> None:
    """Wait until ``device`` has finished its queued work (CUDA and MPS run asynchronously).

    Call it before reading a clock: without it, a GPU timing measures only
    how fast Python queued the work.

    Introduced in lesson 05.
    """
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def _wants_channels_last(model: nn.Module, x: torch.Tensor, device: torch.device, choice: bool | None) -> bool:
    """Channels-last pays for 4-D images through 2-D convolutions on the CPU and CUDA (not MPS)."""
    if choice is not None:
        return bool(choice) and x.dim() == 4
    return x.dim() == 4 and device.type in ("cpu", "cuda") and any(isinstance(m, nn.Conv2d) for m in model.modules())


@contextmanager
def _memory_format(model: nn.Module, channels_last: bool) -> Iterator[None]:
    """Run a block with the model's 4-D weights in channels-last layout; restore the layout after.

    Only parameters and buffers that were contiguous are converted back, so the
    caller gets the model (and its gradients) in the layout it handed over.
    """
    if not channels_last:
        yield
        return
    tensors = [t for t in (*model.parameters(), *model.buffers()) if t.dim() == 4 and t.is_contiguous()]
    model.to(memory_format=torch.channels_last)
    try:
        yield
    finally:
        for t in tensors:
            t.data = t.data.contiguous()
            if isinstance(t, nn.Parameter) and t.grad is not None:
                t.grad = t.grad.contiguous()


def fit(
    model: nn.Module,
    train: Data,
    val: Data | None = None,
    *,
    epochs: int = 5,
    batch_size: int = 128,
    lr: float = 3e-3,
    weight_decay: float = 5e-4,
    optimizer: str | torch.optim.Optimizer = "adamw",
    schedule: str | None = "onecycle",
    loss_fn: LossFn | None = None,
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    sample_weights: torch.Tensor | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    progress: bool = True,
    verbose: bool = True,
    channels_last: bool | None = None,
    autocast: torch.dtype | None = None,
) -> History:
    """Train ``model`` on ``train`` and return the per-epoch history.

    Args:
        model: any classifier: input x (N, ...) float, output (N, K) logits.
        train: ``(x, y)`` tensors (x float in [0, 1] or uint8, y int64) or a
            ``datasets.Dataset`` with a fixed-shape ``image`` column.
        val: the same kind of data to evaluate after every epoch, or ``None``.
        epochs: passes over the training data.
        batch_size: images per step (the last batch of an epoch may be smaller).
        lr: peak learning rate.
        weight_decay: decoupled weight decay (AdamW) or L2 (SGD).
        optimizer: ``"adamw"``, ``"sgd"`` (momentum 0.9, Nesterov) or a ready
            optimizer over ``model``'s parameters.
        schedule: ``"onecycle"`` (warm up, then anneal), or ``None`` (constant).
        loss_fn: default cross-entropy. Called as ``loss_fn(logits, y)``; with
            ``sample_weights`` it must return per-sample losses
            (``reduction="none"``).
        augment: ``augment(xb, generator) -> xb`` applied to each training
            batch on the device (e.g. random shifts).
        sample_weights: (N,) non-negative weight per training example (lesson
            08's group reweighting); the batch loss is their weighted mean.
        device: where to train (default: where the model is); the model is
            moved there. Data on the host (CPU) are copied to it; data already
            on another device raise an error saying what to move (moving them
            back silently would train on the wrong device).
        seed: seeds the shuffling and the augmentation; same seed, same result.
        progress: show a progress bar (``tqdm.auto``) counting images, with
            the live images/second.
        verbose: print a one-line summary at the end.
        channels_last: train in the channels-last memory layout. ``None``
            (default) turns it on for 4-D images through ``nn.Conv2d`` layers
            on the CPU and CUDA. The model's layout is restored afterwards.
        autocast: run the forward pass in mixed precision with this dtype
            (``torch.float16`` or ``torch.bfloat16``; default full float32).
            Float16 on CUDA also scales the loss (``torch.amp.GradScaler``) so
            small gradients do not underflow. `autocast_dtype` picks the type
            that suits a device. Lesson 05 measures when it pays.

    Returns:
        A `History`.

    Introduced in lesson 04 (used in lesson 02 as a black box); lesson 05 explains every speed trick in it.
    """
    from tqdm.auto import tqdm

    model_device = _device_of(model)
    device = torch.device(device) if device is not None else model_device
    x, y = _as_tensors(train)
    _check_data_device("fit", "training data", x, device, model_device)
    x, y = x.to(device), y.to(device)
    val_data = None
    if val is not None:
        val_data = _as_tensors(val)
        _check_data_device("fit", "validation data", val_data[0], device, model_device)
        val_data = (val_data[0].to(device), val_data[1].to(device))
    model.to(device)
    if sample_weights is not None:
        sample_weights = torch.as_tensor(sample_weights, dtype=torch.float32, device=device)
        if sample_weights.shape != (len(x),):
            raise ValueError(f"sample_weights must have shape ({len(x)},); got {tuple(sample_weights.shape)}")
    if epochs < 1 or batch_size < 1:
        raise ValueError(f"epochs and batch_size must be at least 1; got epochs={epochs}, batch_size={batch_size}")
    reduction = "none" if sample_weights is not None else "mean"
    loss_fn = loss_fn or nn.CrossEntropyLoss(reduction=reduction)
    opt = _make_optimizer(model, optimizer, lr, weight_decay)
    steps_per_epoch = math.ceil(len(x) / batch_size)
    scheduler = None
    if schedule == "onecycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=[g["lr"] for g in opt.param_groups], total_steps=epochs * steps_per_epoch, pct_start=0.25
        )
    elif schedule is not None:
        raise ValueError(f"schedule must be 'onecycle' or None; got {schedule!r}")
    if autocast not in (None, torch.float16, torch.bfloat16):
        raise ValueError(f"autocast must be None, torch.float16 or torch.bfloat16; got {autocast!r}")
    mixed = (lambda: torch.autocast(device.type, dtype=autocast)) if autocast is not None else contextlib.nullcontext
    scaler = torch.amp.GradScaler(device.type) if autocast == torch.float16 and device.type == "cuda" else None
    use_channels_last = _wants_channels_last(model, x, device, channels_last)
    if use_channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    generator = torch.Generator().manual_seed(seed)
    aug_generator = torch.Generator(device=device).manual_seed(seed + 1) if augment else None
    history = History()
    quiet = not progress or os.environ.get("TQDM_DISABLE", "") not in ("", "0")
    bar = tqdm(total=epochs * len(x), desc=f"epoch 1/{epochs}", unit="img", unit_scale=True,
               disable=True if quiet else None, leave=False)  # fmt: skip
    with _memory_format(model, use_channels_last):
        for epoch in range(epochs):
            model.train()
            bar.set_description(f"epoch {epoch + 1}/{epochs}")
            synchronize(device)
            start = time.perf_counter()
            total_loss = torch.zeros((), device=device)
            correct = torch.zeros((), dtype=torch.long, device=device)
            # One permutation per epoch, drawn on the CPU (the same on every device), moved once.
            for idx in torch.randperm(len(x), generator=generator).to(device).split(batch_size):
                xb, yb = x[idx], y[idx]
                if augment is not None and aug_generator is not None:  # both or neither
                    xb = augment(xb, aug_generator)
                with mixed():
                    logits = model(xb)
                    loss = loss_fn(logits, yb)
                    if sample_weights is not None:
                        w = sample_weights[idx]
                        loss = (loss * w).sum() / w.sum().clamp(min=1e-12)
                opt.zero_grad(set_to_none=True)
                if scaler is None:
                    loss.backward()
                    opt.step()
                else:
                    scaler.scale(loss).backward()
                    scaler.step(opt)
                    scaler.update()
                if scheduler is not None:
                    scheduler.step()
                total_loss += loss.detach().float() * len(idx)  # stays on the device: no synchronisation per step
                correct += (logits.detach().argmax(1) == yb).sum()
                bar.update(len(idx))
            synchronize(device)
            history.seconds.append(time.perf_counter() - start)
            history.images.append(len(x))
            history.train_loss.append(float(total_loss) / len(x))
            history.train_acc.append(int(correct) / len(x))
            postfix = {"loss": f"{history.train_loss[-1]:.3f}", "acc": f"{history.train_acc[-1]:.1%}"}
            if val_data is not None:
                metrics = evaluate(model, val_data, device=device)
                history.val_loss.append(metrics["loss"])
                history.val_acc.append(metrics["accuracy"])
                postfix["val_acc"] = f"{metrics['accuracy']:.1%}"
            bar.set_postfix(postfix)
    bar.close()
    model.eval()
    if verbose:
        print(history.summary())
    return history


def _make_optimizer(
    model: nn.Module, optimizer: str | torch.optim.Optimizer, lr: float, weight_decay: float
) -> torch.optim.Optimizer:
    if isinstance(optimizer, torch.optim.Optimizer):
        return optimizer
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no trainable parameters (are they all frozen?)")
    make: Callable[..., torch.optim.Optimizer]
    kwargs: dict[str, Any]
    if optimizer == "adamw":
        make, kwargs = torch.optim.AdamW, {"lr": lr, "weight_decay": weight_decay}
    elif optimizer == "sgd":
        make, kwargs = torch.optim.SGD, {"lr": lr, "momentum": 0.9, "nesterov": True, "weight_decay": weight_decay}
    else:
        raise ValueError(f"optimizer must be 'adamw', 'sgd' or a torch.optim.Optimizer; got {optimizer!r}")
    # The fused step updates every tensor in one kernel instead of a Python loop over them: the
    # same arithmetic with much less overhead, a large share of a small network's step on a CPU.
    # PyTorch has the kernels for floating-point weights on the CPU and CUDA (it checks only at the first step).
    fused = all(p.device.type in ("cpu", "cuda") and p.is_floating_point() for p in params)
    return make(params, fused=fused or None, **kwargs)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    data: Data,
    *,
    batch_size: int = 1024,
    loss_fn: LossFn | None = None,
    device: torch.device | str | None = None,
) -> dict[str, float]:
    """Mean loss and accuracy of ``model`` on ``data``, in eval mode, without gradients.

    Args:
        model: a classifier returning (N, K) logits.
        data: ``(x, y)`` tensors or a ``datasets.Dataset`` (see `fit`).
        batch_size: images per forward pass (memory only; the result is the same).
        loss_fn: default cross-entropy (mean over the batch).
        device: default: where the model is (the model is moved there). Data
            on the host are copied to it; data on another device are an error,
            as in `fit`.

    Returns:
        ``{"loss": float, "accuracy": float}``; the model's train/eval mode is
        restored afterwards.

    Introduced in lesson 04 (used in lesson 02 as a black box).
    """
    model_device = _device_of(model)
    device = torch.device(device) if device is not None else model_device
    x, y = _as_tensors(data)
    _check_data_device("evaluate", "data", x, device, model_device)
    x, y = x.to(device), y.to(device)
    model.to(device)
    loss_fn = loss_fn or nn.CrossEntropyLoss(reduction="sum")
    total, correct = 0.0, 0
    with _eval_mode(model):
        for xb, yb in zip(x.split(batch_size), y.split(batch_size)):
            logits = model(xb)
            loss = loss_fn(logits, yb)
            # A "sum" loss adds up; a "mean" loss is scaled back to a sum.
            total += float(loss) * (1 if getattr(loss_fn, "reduction", "mean") == "sum" else len(yb))
            correct += int((logits.argmax(1) == yb).sum())
    return {"loss": total / len(x), "accuracy": correct / len(x)}


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, *, batch_size: int = 1024) -> torch.Tensor:
    """Class probabilities for a batch of images.

    Args:
        model: a classifier returning (N, K) logits.
        x: (N, C, H, W) float in [0, 1] (or uint8, scaled for you), on the
            host (copied to the model's device batch by batch) or on the
            model's device; images on another device are an error.

    Returns:
        (N, K) float probabilities (softmax of the logits), on the CPU.

    Introduced in lesson 04 (used in lesson 02 as a black box).
    """
    device = _device_of(model)
    _check_data_device("predict", "images", x, device, device)
    if x.dtype == torch.uint8:
        x = x.float() / 255
    with _eval_mode(model):
        chunks = [model(xb.to(device)).softmax(-1).cpu() for xb in x.split(batch_size)]
    return torch.cat(chunks)


def throughput(step: Callable[[], object], images_per_step: int, *, warmup: int = 2, repeats: int = 5) -> float:
    """Images per second of ``step()`` (after warm-up, synchronising CUDA).

    Introduced in lesson 07.
    """
    for _ in range(warmup):
        step()
    with env.timer() as t:
        for _ in range(repeats):
            step()
    return images_per_step * repeats / t.seconds
