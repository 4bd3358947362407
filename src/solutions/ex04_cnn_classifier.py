# %% [markdown]
# # Exercise 04 · A CNN classifier
#
# In lesson 04 you followed an image through a two-block CNN and trained it with
# `cu.fit`. Now you write the pieces yourself:
#
# 1. `stable_softmax` — logits to probabilities, without overflowing;
# 2. `build_classifier` — the two-block network of the lesson;
# 3. `train_one_epoch` — one pass of training over a `DataLoader`;
# 4. `evaluate` — the accuracy of a model on a `DataLoader`.
#
# Write your code where it says **YOUR CODE HERE**, then run the self-check cell
# below it. A ✓ means your function passed the checks you can see; your
# instructor's grader runs more (hidden) checks on the same function, so make it
# right in general, not just for the examples shown. Don't rename the functions
# or change their arguments, and run the whole notebook top to bottom
# (*Kernel → Restart and run all*) before you hand it in.

# %%
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import course_utils as cu

cu.setup()

# %% [markdown]
# ## 1 · A softmax that never overflows
#
# Write `stable_softmax(logits, dim=-1)`:
#
# - `logits` is a float tensor of any shape; `dim` is the axis that holds the
#   classes (the last one by default);
# - return a tensor of the same shape whose entries along `dim` are
#   `exp(z_i) / Σ_j exp(z_j)`: positive, summing to 1;
# - it must work for huge logits such as `1e4` (where `torch.exp` alone gives
#   `inf`) and hugely negative ones such as `-1e4` (where it gives 0 for every
#   class, and 0/0 is NaN).
#
# Use `torch.exp`, a maximum and a sum — not `torch.softmax`, `F.softmax`,
# `torch.special.softmax` or `log_softmax` (the checks watch PyTorch's dispatcher
# and refuse every route to its softmax). The trick from the lesson:
# subtracting the same number from every logit along `dim` does not change the
# result. Keep `dim` in mind: `keepdim=True` keeps the reduced axis so that
# broadcasting lines up.

# %% kind="solution" id="stable_softmax"
def stable_softmax(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """float tensor of any shape -> probabilities of the same shape, summing to 1 along dim."""
    ### BEGIN SOLUTION
    shifted = logits - logits.amax(dim=dim, keepdim=True)
    e = torch.exp(shifted)
    return e / e.sum(dim=dim, keepdim=True)
    ### END SOLUTION


# %% kind="tests" id="test_stable_softmax" points=2
logits = torch.tensor([[1.0, 2.0, 3.0], [1e4, 0.0, -1e4], [-1e4, -1e4 + 1.0, -1e4]])
cu.checks.check_close(cu.restrictions.call_without(["aten._softmax", "aten._log_softmax", "aten._safe_softmax", "aten.softmax", "aten.log_softmax",
                                                    "torch.nn.functional.softmax", "torch.Tensor.softmax"],
                                                   stable_softmax, logits),
                      torch.softmax(logits, dim=-1), "stable_softmax(logits)", atol=1e-6,
                      hint="subtract each row's largest logit (keepdim=True) before exp; then divide by the row's sum")
### BEGIN HIDDEN TESTS
x = torch.randn(4, 5, 6, generator=torch.Generator().manual_seed(0)) * 50
library_softmax = ["torch.Tensor.softmax", "torch.nn.functional.softmax", "aten.log_softmax", "aten.softmax",
                   "aten._safe_softmax", "aten._log_softmax", "aten._softmax"]  # every route to PyTorch's own
cu.checks.check_close(cu.restrictions.call_without(library_softmax, stable_softmax, x, dim=1),
                      torch.softmax(x, dim=1), "stable_softmax(x, dim=1) of a 3-D tensor",
                      atol=1e-6, hint="take the maximum and the sum over dim, not over the last axis")
cu.checks.check_close(stable_softmax(x, dim=0), torch.softmax(x, dim=0), "stable_softmax(x, dim=0)", atol=1e-6)
cu.checks.check_close(stable_softmax(x), torch.softmax(x, dim=-1), "stable_softmax(x) with the default dim", atol=1e-6)
xt = x.transpose(0, -1)  # a view with other strides, not contiguous in memory
cu.checks.check_close(stable_softmax(xt, dim=1), torch.softmax(xt, dim=1), "stable_softmax on a transposed (non-contiguous) view",
                      atol=1e-6, hint="reduce with amax/sum over dim; .view() needs contiguous memory")
cu.checks.check_close(stable_softmax(torch.tensor([3e4, 3e4])), torch.tensor([0.5, 0.5]), "two equal huge logits",
                      hint="use the maximum, not the mean: exp(z - mean) still overflows")
cu.checks.check_close(stable_softmax(torch.tensor([[2.0, 0.0, -1e4]]) + 100), torch.softmax(torch.tensor([[2.0, 0.0, -1e4]]), dim=-1),
                      "adding the same number to every logit changes nothing", atol=1e-6,
                      hint="subtract each row's maximum before exp: softmax(z + c) equals softmax(z)")
cu.checks.check_equal(x, torch.randn(4, 5, 6, generator=torch.Generator().manual_seed(0)) * 50,
                      "the logits after stable_softmax", hint="do not modify the input in place")
### END HIDDEN TESTS
cu.checks.passed("stable_softmax")

# %% [markdown]
# ## 2 · The network
#
# Write `build_classifier(num_classes, in_channels=1)`. It returns one flat
# `nn.Sequential` of these twelve layers, in this order, for 32×32 inputs:
#
# | # | layer | settings |
# |---|---|---|
# | 0 | `nn.Conv2d` | `in_channels` → 16 maps, 3×3, `padding=1`, `bias=False` |
# | 1 | `nn.BatchNorm2d` | 16 |
# | 2 | `nn.ReLU` | |
# | 3 | `nn.MaxPool2d` | 2 |
# | 4 | `nn.Conv2d` | 16 → 32 maps, 3×3, `padding=1`, `bias=False` |
# | 5 | `nn.BatchNorm2d` | 32 |
# | 6 | `nn.ReLU` | |
# | 7 | `nn.MaxPool2d` | 2 |
# | 8 | `nn.Flatten` | |
# | 9 | `nn.Linear` | 32·8·8 → 64 |
# | 10 | `nn.ReLU` | |
# | 11 | `nn.Linear` | 64 → `num_classes` |
#
# The two conv blocks turn a 32×32 image into an 8×8 stack of 32 feature maps;
# the last layer outputs one logit per class. The grader loads the same weights
# (and batch-norm statistics) into your network and into one built from this
# table, and compares their outputs in training and in evaluation mode: every
# setting in the table matters (kernel sizes, padding, pooling), the random initial
# weights do not.

# %% kind="solution" id="build_classifier"
def build_classifier(num_classes: int, in_channels: int = 1) -> nn.Sequential:
    """The lesson's two-block CNN: (N, in_channels, 32, 32) float -> (N, num_classes) logits."""
    ### BEGIN SOLUTION
    return nn.Sequential(
        nn.Conv2d(in_channels, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 8 * 8, 64), nn.ReLU(),
        nn.Linear(64, num_classes),
    )
    ### END SOLUTION


# %% kind="tests" id="test_build_classifier" points=2
cu.checks.check_equal([type(m).__name__ for m in build_classifier(5).modules() if not list(m.children())],
                      ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d",
                       "Flatten", "Linear", "ReLU", "Linear"],
                      "the layer types of build_classifier(5), in order", hint="follow the table, one row per layer")
cu.checks.check_shape(build_classifier(5)(torch.zeros(2, 1, 32, 32)), (2, 5), "build_classifier(5) on a (2, 1, 32, 32) batch",
                      hint="with padding=1 a 3x3 convolution keeps 32x32; each pool halves it: 32 -> 16 -> 8")
cu.checks.check_equal(sum(p.numel() for p in build_classifier(5).parameters()), 136309,
                      "the parameter count of build_classifier(5)",
                      hint="bias=False in both convolutions; 16 then 32 maps; Linear(32 * 8 * 8, 64), Linear(64, num_classes)")
### BEGIN HIDDEN TESTS
cu.checks.check_true(isinstance(build_classifier(5), nn.Sequential), "build_classifier returns an nn.Sequential")
cu.checks.check_shape(build_classifier(5)[:8](torch.zeros(1, 1, 32, 32)), (1, 32, 8, 8),
                      "the output of the two conv blocks, build_classifier(5)[:8]",
                      hint="keep all twelve layers in one flat nn.Sequential, in the table's order")
cu.checks.check_shape(build_classifier(10, in_channels=3)(torch.zeros(2, 3, 32, 32)), (2, 10),
                      "build_classifier(10, in_channels=3) on colour images", hint="use in_channels in the first convolution")
cu.checks.check_equal(sum(p.numel() for p in build_classifier(10, in_channels=3).parameters()), 136922,
                      "the parameter count of build_classifier(10, in_channels=3)",
                      hint="the first convolution takes in_channels inputs, not always 1")
cu.checks.check_equal(sum(p.numel() for p in build_classifier(2).parameters()), 136114,
                      "the parameter count of build_classifier(2)", hint="the last layer has num_classes outputs")


def seeded_outputs(model, x, seed):
    """The model's outputs on x in eval and train mode, with seeded weights and batch-norm statistics."""
    n_params = sum(p.numel() for p in model.parameters())
    gen = torch.Generator().manual_seed(seed)
    nn.utils.vector_to_parameters(torch.randn(n_params, generator=gen) * 0.1, model.parameters())
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
    with torch.no_grad():
        return {"eval": model.eval()(x), "train": model.train()(x)}


x32 = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(6))
cu.checks.check_close(seeded_outputs(build_classifier(7, in_channels=3), x32, 8)["eval"],
                      seeded_outputs(nn.Sequential(
                          nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 8 * 8, 64), nn.ReLU(), nn.Linear(64, 7)), x32, 8)["eval"],
                      "build_classifier(7, in_channels=3)'s outputs in eval mode, with the same weights as the table's network",
                      atol=1e-5, hint="same weights, different outputs: check each layer's settings against the table "
                                      "(zero padding=1, MaxPool2d(2) without overlap, the order of the layers)")
cu.checks.check_close(seeded_outputs(build_classifier(7, in_channels=3), x32, 8)["train"],
                      seeded_outputs(nn.Sequential(
                          nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(32 * 8 * 8, 64), nn.ReLU(), nn.Linear(64, 7)), x32, 8)["train"],
                      "build_classifier(7, in_channels=3)'s outputs in training mode, with the same weights",
                      atol=1e-5, hint="in training mode batch norm uses the batch's statistics: nn.BatchNorm2d with default settings")
### END HIDDEN TESTS
cu.checks.passed("build_classifier")

# %% [markdown]
# ## 3 · One epoch of training
#
# Write `train_one_epoch(model, loader, optimizer, loss_fn, device)`. It makes
# one pass over `loader` (a `DataLoader` yielding `(xb, yb)` batches) and returns
# the **mean loss per sample** over the epoch as a Python `float`:
#
# - put the model in training mode first (batch norm uses the batch's own
#   statistics while training, and only then updates its running averages);
# - move each batch to `device` (the model is already there);
# - for each batch: forward pass, `loss = loss_fn(logits, yb)` (the mean over
#   the batch), clear the old gradients, backward pass, optimizer step;
# - the epoch's mean loss is Σ (batch mean × batch size) / number of samples,
#   each batch's loss taken before its optimizer step. Careful: the last batch
#   can be smaller than the others, so the plain average of the batch means is
#   wrong. `loss.item()` turns a one-number tensor into a float.

# %% kind="solution" id="train_one_epoch"
def train_one_epoch(model: nn.Module, loader, optimizer: torch.optim.Optimizer, loss_fn, device) -> float:
    """One pass of training over loader; returns the mean loss per sample (a float)."""
    ### BEGIN SOLUTION
    model.train()
    total, count = 0.0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item() * len(yb)
        count += len(yb)
    return total / count
    ### END SOLUTION


# %% [markdown]
# The self-checks below train tiny models on 20 random samples in batches of 8,
# 8 and 4 (so the last batch is short). Every weight comes from a seeded random
# generator, so every run sees the same numbers.

# %% kind="locked" id="probes"
def tiny_data():
    g = torch.Generator().manual_seed(4)
    return TensorDataset(torch.randn(20, 3, 2, 2, generator=g), torch.randint(0, 3, (20,), generator=g))


def seeded(model: nn.Module, seed: int) -> nn.Module:
    count = sum(p.numel() for p in model.parameters())
    nn.utils.vector_to_parameters(torch.randn(count, generator=torch.Generator().manual_seed(seed)) * 0.5,
                                  model.parameters())  # fmt: skip
    return model


class GradProbe(nn.Module):
    """Passes its input through and remembers whether gradients were being tracked."""

    def __init__(self):
        super().__init__()
        self.grad_enabled = []

    def forward(self, x):
        self.grad_enabled.append(torch.is_grad_enabled())
        return x


def linear_model(seed: int) -> nn.Module:
    return seeded(nn.Sequential(nn.Flatten(), nn.Linear(12, 3)), seed)


def batchnorm_model(seed: int) -> nn.Module:
    model = seeded(nn.Sequential(GradProbe(), nn.Flatten(), nn.Linear(12, 6), nn.BatchNorm1d(6), nn.ReLU(),
                                 nn.Linear(6, 3)), seed)  # fmt: skip
    model[3].running_mean.fill_(0.8)
    model[3].running_var.fill_(3.0)
    return model


class DeviceProbe(torch.Tensor):
    """A batch that remembers which devices it was asked to move to (.to, .cuda, .cpu)."""

    asked: list[str] = []

    def to(self, *args, **kwargs):
        wanted = kwargs.get("device", args[0] if args else None)
        if isinstance(wanted, (str, torch.device)):
            DeviceProbe.asked.append(str(wanted))
        return torch.Tensor.to(self.as_subclass(torch.Tensor), *args, **kwargs)

    def cuda(self, *args, **kwargs):
        DeviceProbe.asked.append("cuda")
        return self.as_subclass(torch.Tensor)

    def cpu(self, *args, **kwargs):
        DeviceProbe.asked.append("cpu")
        return self.as_subclass(torch.Tensor)


def probed_loader():
    """The tiny data in batches of 8, 8 and 4, whose tensors record the devices they are sent to."""
    DeviceProbe.asked = []
    return DataLoader(tiny_data(), batch_size=8, shuffle=False,
                      collate_fn=lambda b: [t.as_subclass(DeviceProbe) for t in torch.utils.data.default_collate(b)])


loader = DataLoader(tiny_data(), batch_size=8, shuffle=False)
x_all, y_all = tiny_data().tensors

# %% kind="tests" id="test_train_one_epoch" points=3
model = linear_model(1)
loss = train_one_epoch(model, loader, torch.optim.SGD(model.parameters(), lr=0.0), nn.CrossEntropyLoss(), "cpu")
cu.checks.check_true(isinstance(loss, float), "train_one_epoch returns a Python float", hint="return loss.item()-based numbers, not a tensor")
cu.checks.check_close(loss, F.cross_entropy(linear_model(1)(x_all), y_all).item(), "the mean loss of an epoch with lr=0",
                      hint="weight each batch's mean loss by its size: the last batch holds 4 samples, not 8")
### BEGIN HIDDEN TESTS
def reference_epoch(model, loader, lr, loss_fn=F.cross_entropy):
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    total = 0.0
    for xb, yb in loader:
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(yb)
    return {"loss": total / 20, "params": nn.utils.parameters_to_vector(model.parameters()).detach(),
            "running_mean": model[3].running_mean.clone()}


model = batchnorm_model(2).eval()
loss = train_one_epoch(model, loader, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), nn.CrossEntropyLoss(), "cpu")
cu.checks.check_close(loss, reference_epoch(batchnorm_model(2), loader, 0.1)["loss"], "the mean loss of a training epoch", atol=1e-5,
                      hint="model.train() first, optimizer.zero_grad() before every backward, each batch's loss weighted by its size")
cu.checks.check_close(nn.utils.parameters_to_vector(model.parameters()).detach(),
                      reference_epoch(batchnorm_model(2), loader, 0.1)["params"], "the weights after one epoch", atol=1e-5,
                      hint="call optimizer.zero_grad() before every backward pass, otherwise gradients pile up")
cu.checks.check_close(model[3].running_mean, reference_epoch(batchnorm_model(2), loader, 0.1)["running_mean"],
                      "batch norm's running mean after one epoch", atol=1e-5,
                      hint="in eval mode batch norm never updates its running statistics: call model.train()")
cu.checks.check_equal(model.training, True, "model.training after train_one_epoch", hint="call model.train() at the start")
model = linear_model(8)
loss = train_one_epoch(model, probed_loader(), torch.optim.SGD(model.parameters(), lr=0.0), nn.CrossEntropyLoss(),
                       torch.device("cpu", 0))
cu.checks.check_equal(list(DeviceProbe.asked), ["cpu:0"] * 6, "the devices each batch (inputs and labels) was moved to",
                      hint="move xb and yb of every batch with .to(device), using the device argument you are given")
smooth = nn.CrossEntropyLoss(weight=torch.tensor([0.5, 1.0, 2.0]), label_smoothing=0.2)
model = batchnorm_model(7)
loss = train_one_epoch(model, loader, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), smooth, "cpu")
cu.checks.check_close(loss, reference_epoch(batchnorm_model(7), loader, 0.1,
                                            nn.CrossEntropyLoss(weight=torch.tensor([0.5, 1.0, 2.0]), label_smoothing=0.2))["loss"],
                      "the mean loss with a weighted, label-smoothed loss_fn", atol=1e-5,
                      hint="compute every batch's loss with the loss_fn you are given, not a cross-entropy of your own")
cu.checks.check_close(nn.utils.parameters_to_vector(model.parameters()).detach(),
                      reference_epoch(batchnorm_model(7), loader, 0.1,
                                      nn.CrossEntropyLoss(weight=torch.tensor([0.5, 1.0, 2.0]), label_smoothing=0.2))["params"],
                      "the weights after an epoch with a weighted, label-smoothed loss_fn", atol=1e-5,
                      hint="backpropagate the loss_fn you are given")
### END HIDDEN TESTS
cu.checks.passed("train_one_epoch")

# %% [markdown]
# ## 4 · Evaluation
#
# Write `evaluate(model, loader, device)`. It returns the **accuracy** — the
# fraction of samples (between 0 and 1) whose predicted class equals the label —
# over every batch in `loader`, as a Python `float`:
#
# - put the model in evaluation mode (batch norm then uses its running
#   statistics instead of the batch's) and leave it there;
# - run without gradient tracking (`with torch.no_grad():`): we only look, so
#   there is no reason to keep what a backward pass would need;
# - the prediction is the class with the largest logit, for each sample;
# - count correct predictions over all samples and divide once at the end
#   (the last batch can be smaller: averaging per-batch accuracies is wrong).

# %% kind="solution" id="evaluate"
def evaluate(model: nn.Module, loader, device) -> float:
    """Accuracy in [0, 1] of model over every batch of loader (a float)."""
    ### BEGIN SOLUTION
    model.eval()
    correct, count = 0, 0
    with torch.no_grad():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            correct += (model(xb).argmax(dim=1) == yb).sum().item()
            count += len(yb)
    return correct / count
    ### END SOLUTION


# %% kind="tests" id="test_evaluate" points=3
model = linear_model(3)
accuracy = evaluate(model, loader, "cpu")
cu.checks.check_true(isinstance(accuracy, float), "evaluate returns a Python float", hint="divide two Python numbers, or use .item()")
cu.checks.check_close(accuracy, (linear_model(3)(x_all).argmax(dim=1) == y_all).float().mean().item(), "the accuracy on 20 samples",
                      hint="argmax over the class axis (dim=1); count correct samples over all batches, then divide by 20")
### BEGIN HIDDEN TESTS
model = batchnorm_model(5).train()
accuracy_bn = evaluate(model, loader, "cpu")
cu.checks.check_close(accuracy_bn, (batchnorm_model(5).eval()(x_all).argmax(dim=1) == y_all).float().mean().item(),
                      "the accuracy of a network with batch norm", hint="call model.eval() before the forward passes")
cu.checks.check_equal(model.training, False, "model.training after evaluate", hint="call model.eval()")
cu.checks.check_equal(sorted(set(model[0].grad_enabled)), [False], "gradient tracking during evaluate's forward passes",
                      hint="wrap the loop in `with torch.no_grad():`")
cu.checks.check_close(model[3].running_mean, torch.full((6,), 0.8), "batch norm's running mean after evaluate",
                      hint="evaluation must not change the model: use eval mode")
accuracy = evaluate(linear_model(9), probed_loader(), torch.device("cpu", 0))
cu.checks.check_equal(list(DeviceProbe.asked), ["cpu:0"] * 6, "the devices each batch (inputs and labels) was moved to",
                      hint="move xb and yb of every batch with .to(device), using the device argument you are given")
cu.checks.check_close(accuracy, (linear_model(9)(x_all).argmax(dim=1) == y_all).float().mean().item(),
                      "the accuracy of a second model on batches of 8, 8 and 4",
                      hint="count correct predictions over all batches, the short last one too, and divide by the number of images")
### END HIDDEN TESTS
cu.checks.passed("evaluate")

# %% [markdown]
# ## 5 · Put it together
#
# Your four functions are a complete training pipeline. This cell trains your
# network for two epochs on 1,000 shapes and evaluates it on 500 others; it takes
# a few seconds. (It is not graded; it only shows your code at work.)

# %%
shapes = cu.data.load("shapes", n_train=6000, n_test=2000)  # the lesson's shapes; we use the first 1,000 and 500
x_train, y_train = cu.data.to_tensors(shapes["train"])
x_test, y_test = cu.data.to_tensors(shapes["test"])
train_loader = DataLoader(TensorDataset(x_train[:1000], y_train[:1000]), batch_size=64, shuffle=True)
test_loader = DataLoader(TensorDataset(x_test[:500], y_test[:500]), batch_size=250)
net = build_classifier(5)
optimizer = torch.optim.AdamW(net.parameters(), lr=3e-3)
for epoch in range(2):
    epoch_loss = train_one_epoch(net, train_loader, optimizer, nn.CrossEntropyLoss(), "cpu")
    print(f"epoch {epoch + 1}: mean training loss {epoch_loss:.3f}, test accuracy {evaluate(net, test_loader, 'cpu'):.1%}")
print("probabilities for the first test image:", stable_softmax(net.eval()(x_test[:1]).detach())[0])

# %% [markdown]
# ## 6 · In your own words
#
# Your `evaluate` switches the model to evaluation mode although it changes no
# weights. Name a layer of your network whose output depends on that mode, and
# say what would go wrong at test time without the switch. Two or three sentences.

# %% [markdown] kind="written" id="q_eval_mode" points=1
# Batch normalisation: in training mode it normalises each batch with that
# batch's own mean and variance (and updates its running averages); in
# evaluation mode it uses the running averages learned in training. Without
# `model.eval()`, a test prediction would depend on which other images happen to
# share its batch (and a batch of one would be normalised by itself), and the
# evaluation would quietly change the running statistics.
