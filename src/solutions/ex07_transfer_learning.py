# %% [markdown]
# # Exercise 07 · Transfer learning
#
# In lesson 07 we took a network trained on one task and reused it for another:
# we cut off its head, bolted on a new one, froze what should not change, and
# trained a linear head on cached features. Here you write those tools yourself,
# general enough to work on two families of backbone: timm's EfficientNet
# (head: `model.classifier`) and torchvision's ResNet (head: `model.fc`).
#
# | Function | Points |
# |---|---|
# | `replace_head(model, num_classes)` | 3 |
# | `count_trainable(model)` | 1 |
# | `freeze(model, trainable)` | 4 |
# | `extract_features(backbone, images, batch_size)` | 3 |
# | `linear_probe(train_feats, train_labels, test_feats, test_labels)` | 2 |
# | two questions in your own words | 4 |
#
# The self-checks use small, randomly initialised models at small input sizes, so
# every check runs in a second or two on a laptop CPU. Nothing here downloads
# anything. When your instructor grades the notebook, hidden checks test the
# same functions on more cases, so make them correct in general.
#
# - Don't rename the functions or change their arguments.
# - Don't delete or copy the self-check cells.
# - Run the notebook top to bottom (*Kernel → Restart and run all*) before you hand it in.

# %%
import timm
import torch
import torchvision
from torch import nn

import course_utils as cu

cu.setup()

# %% [markdown]
# The self-checks build their models with the two helpers below. Each helper
# seeds its own random generator, so `make_resnet(0)` gives the same weights
# every time you call it, on any machine with the same library versions.

# %% kind="locked" id="helpers"
def make_resnet(seed: int) -> nn.Module:
    """A randomly initialised torchvision ResNet-18 (1,000-way head `fc`), the same for the same seed."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return torchvision.models.resnet18(weights=None)


def make_effnet(seed: int) -> nn.Module:
    """A randomly initialised timm EfficientNet-Lite0 (1,000-way head `classifier`), the same for the same seed."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return timm.create_model("tf_efficientnet_lite0", pretrained=False)


def images(n: int, size: int, seed: int) -> torch.Tensor:
    """A batch (n, 3, size, size) of random normalised 'images'."""
    return torch.randn(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


# %% [markdown]
# ## 1 · Lop off the head, bolt on a new one
#
# Write `replace_head(model, num_classes)`. The model's last layer is an
# `nn.Linear` called `fc` (torchvision ResNet) or `classifier` (timm EfficientNet).
#
# - Replace it with a **new** `nn.Linear` that has the same number of input
#   features, `num_classes` outputs, and a bias.
# - With `num_classes=0`, replace it with `nn.Identity()` instead: the model then
#   returns its pooled features (512 numbers per image for ResNet-18, 1,280 for
#   EfficientNet-Lite0). This is timm's convention for "no head".
# - Change nothing else, change the model in place, and return it.
# - If the model has neither an `nn.Linear` called `fc` nor one called
#   `classifier`, raise a `ValueError` that says so.

# %% kind="solution" id="replace_head"
def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Swap the final nn.Linear (`fc` or `classifier`) for a fresh one with `num_classes` outputs."""
    ### BEGIN SOLUTION
    for name in ("fc", "classifier"):
        old = getattr(model, name, None)
        if isinstance(old, nn.Linear):
            new = nn.Linear(old.in_features, num_classes) if num_classes > 0 else nn.Identity()
            setattr(model, name, new)
            return model
    raise ValueError(
        f"{type(model).__name__} has no nn.Linear head called 'fc' or 'classifier'; "
        "replace_head knows torchvision ResNets and timm EfficientNets"
    )
    ### END SOLUTION


# %% kind="tests" id="test_replace_head" points=3
x = images(2, 64, seed=1)
resnet = replace_head(make_resnet(0), 5)
effnet = replace_head(make_effnet(0), 3)
cu.checks.check_shape(resnet(x), (2, 5), "replace_head(resnet, 5)(x)",
                      hint="the new head needs num_classes outputs")
cu.checks.check_shape(effnet(x), (2, 3), "replace_head(effnet, 3)(x)",
                      hint="timm's EfficientNet keeps its head in model.classifier")
cu.checks.check_equal(resnet.fc.in_features, 512, "the new ResNet head's in_features",
                      hint="reuse the old head's in_features")
cu.checks.check_raises(lambda: replace_head(nn.Sequential(nn.Conv2d(3, 4, 3)), 2), ValueError,
                       "replace_head on a model without a head")
### BEGIN HIDDEN TESTS
cu.checks.check_true(resnet.fc.bias is not None, "the new head has a bias",
                     hint="nn.Linear(in_features, num_classes) has a bias unless you turn it off")
cu.checks.check_equal(tuple(resnet.fc.bias.shape), (5,), "the new head's bias shape")
cu.checks.check_equal(tuple(effnet.classifier.weight.shape), (3, 1280), "the new EfficientNet head's weight shape")
cu.checks.check_close(torch.stack([p.detach().double().sum() for k, p in resnet.named_parameters() if not k.startswith("fc.")]),
                      torch.stack([p.detach().double().sum() for k, p in make_resnet(0).named_parameters() if not k.startswith("fc.")]),
                      "the ResNet's weights outside the head", hint="change only the head; do not rebuild the model")
cu.checks.check_close(torch.stack([p.detach().double().sum() for k, p in effnet.named_parameters() if not k.startswith("classifier.")]),
                      torch.stack([p.detach().double().sum() for k, p in make_effnet(0).named_parameters() if not k.startswith("classifier.")]),
                      "the EfficientNet's weights outside the head", hint="change only the head; do not rebuild the model")
same = make_resnet(2)
cu.checks.check_true(replace_head(same, 4) is same, "replace_head returns the model it was given")
cu.checks.check_shape(replace_head(make_resnet(0), 0)(x), (2, 512), "replace_head(resnet, 0)(x)",
                      hint="num_classes=0 means no head: nn.Identity()")
cu.checks.check_shape(replace_head(make_effnet(0), 0)(x), (2, 1280), "replace_head(effnet, 0)(x)",
                      hint="num_classes=0 means no head: nn.Identity()")
cu.checks.check_shape(replace_head(make_resnet(0), 1)(x), (2, 1), "replace_head(resnet, 1)(x): one output, e.g. a single logit",
                      hint="only num_classes=0 means no head; any positive num_classes gets an nn.Linear with that many outputs")
### END HIDDEN TESTS
cu.checks.passed("replace_head")

# %% [markdown]
# ## 2 · Count what will train
#
# Write `count_trainable(model)`: the number of individual numbers (not tensors)
# in the parameters that have `requires_grad=True`. You will use it to check
# your `freeze` below.

# %% kind="solution" id="count_trainable"
def count_trainable(model: nn.Module) -> int:
    """How many parameter entries will receive gradients."""
    ### BEGIN SOLUTION
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
    ### END SOLUTION


# %% kind="tests" id="test_count_trainable" points=1
tiny = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
tiny[0].weight.requires_grad_(False)
cu.checks.check_equal(count_trainable(tiny), 14, "count_trainable(tiny)",
                      hint="4 (first bias) + 8 (second weight) + 2 (second bias): count entries, skip frozen tensors")
### BEGIN HIDDEN TESTS
frozen_resnet = make_resnet(0)
for name, p in frozen_resnet.named_parameters():
    p.requires_grad_(name.startswith("fc."))
course_counter = ["course_utils.models.count_params"]
cu.checks.check_equal(cu.restrictions.call_without(course_counter, count_trainable, frozen_resnet), 513000,
                      "count_trainable(ResNet-18 with only fc trainable)",
                      hint="write the sum yourself: p.numel() of every parameter with requires_grad")
cu.checks.check_equal(cu.restrictions.call_without(course_counter, count_trainable, make_effnet(0)), 4652008,
                      "count_trainable(a fresh EfficientNet-Lite0)", hint="every parameter of a fresh model trains")
### END HIDDEN TESTS
cu.checks.passed("count_trainable")

# %% [markdown]
# ## 3 · Freeze, including batch norm
#
# Write `freeze(model, trainable=())`:
#
# 1. Every parameter whose name (as in `model.named_parameters()`) starts with
#    one of the prefixes in `trainable` gets `requires_grad=True`; every other
#    parameter gets `requires_grad=False`. For example `trainable=("layer4", "fc")`
#    leaves ResNet's last stage and its head trainable, and
#    `trainable=("blocks.6", "conv_head", "bn2", "classifier")` does the same for
#    EfficientNet.
# 2. A batch-norm layer whose parameters are frozen must also stop *changing*:
#    in training mode a batch-norm layer normalises with the statistics of the
#    current batch and updates its running mean and variance, even when
#    `requires_grad` is `False`. So frozen batch-norm layers must stay in eval
#    mode **even after** somebody calls `model.train()` (every training loop
#    does). The mechanism we ask for: register a *forward pre-hook* on every
#    batch-norm layer (`isinstance(m, nn.modules.batchnorm._BatchNorm)` covers
#    `BatchNorm1d/2d/3d` and timm's `BatchNormAct2d`) that switches the layer to
#    eval mode just before it runs if none of its parameters requires a
#    gradient. The hook must return `None` (a pre-hook that returns something
#    replaces the layer's input).
# 3. Calling `freeze` again on the same model replaces the earlier choice: a
#    layer that becomes trainable must train normally again, batch norm
#    included (this is "gradual unfreezing").
# 4. Return the model.
#
# Read about hooks in PyTorch's documentation of
# [`Module.register_forward_pre_hook`](https://pytorch.org/docs/stable/generated/torch.nn.Module.html#torch.nn.Module.register_forward_pre_hook).

# %% kind="solution" id="freeze"
def freeze(model: nn.Module, trainable: tuple[str, ...] = ()) -> nn.Module:
    """Freeze every parameter except those whose names start with a prefix in `trainable`.

    Frozen batch-norm layers stay in eval mode whenever they run, even in model.train().
    """
    ### BEGIN SOLUTION
    prefixes = tuple(trainable)
    for name, p in model.named_parameters():
        p.requires_grad_(name.startswith(prefixes))
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not getattr(m, "_keeps_eval_when_frozen", False):
            m.register_forward_pre_hook(_eval_if_frozen)
            m._keeps_eval_when_frozen = True
    return model


def _eval_if_frozen(module: nn.Module, args) -> None:
    """Forward pre-hook: a batch-norm layer with no trainable parameter runs in eval mode."""
    if not any(p.requires_grad for p in module.parameters()):
        module.eval()
    ### END SOLUTION


# %% kind="tests" id="test_freeze" points=4
x = images(4, 64, seed=2)
resnet = freeze(make_resnet(0), trainable=("layer4", "fc"))
cu.checks.check_equal(sorted({n.split(".")[0] for n, p in resnet.named_parameters() if p.requires_grad}), ["fc", "layer4"],
                      "the top-level parts left trainable", hint="a parameter is trainable if its name starts with a prefix")
cu.checks.check_equal(resnet.conv1.weight.requires_grad, False, "resnet.conv1.weight.requires_grad")
resnet.train()
_ = resnet(x)  # one forward pass in training mode
cu.checks.check_equal(resnet.bn1.training, False, "a frozen batch-norm layer's .training after model.train() and a forward pass",
                      hint="register a forward pre-hook that calls module.eval() on frozen batch-norm layers")
cu.checks.check_close(resnet.bn1.running_mean, torch.zeros(64), "a frozen batch-norm layer's running mean",
                      hint="in training mode batch norm updates its running statistics; frozen ones must stay in eval mode")
cu.checks.check_equal(resnet.layer4[1].bn2.training, True, "a trainable batch-norm layer's .training after model.train()",
                      hint="only batch-norm layers whose parameters are frozen stay in eval mode")
### BEGIN HIDDEN TESTS
cu.checks.check_true(resnet.layer4[1].bn2.running_mean.abs().sum().item() > 0, "a trainable batch-norm layer updates its statistics",
                     hint="do not put trainable batch-norm layers in eval mode")
cu.checks.check_equal(sum(p.numel() for p in resnet.parameters() if p.requires_grad),
                      sum(p.numel() for n, p in make_resnet(0).named_parameters() if n.startswith(("layer4", "fc"))),
                      "trainable parameters after freeze(resnet, ('layer4', 'fc'))")
head_only = make_resnet(1)
cu.checks.check_true(freeze(head_only, ("fc",)) is head_only, "freeze returns the model it was given")
cu.checks.check_equal(sum(p.numel() for p in head_only.parameters() if p.requires_grad), 513000, "trainable parameters with only the head trainable",
                      hint="'fc.weight' starts with 'fc': compare prefixes, not whole names")
cu.checks.check_close(head_only.train()(x), make_resnet(1).eval()(x), "a ResNet frozen below its head, run in train mode",
                      atol=1e-4, hint="with every batch-norm layer frozen, train mode must give eval-mode outputs")
effnet = freeze(make_effnet(0), ("blocks.6", "conv_head", "bn2", "classifier"))
cu.checks.check_equal(sum(p.numel() for p in effnet.parameters() if p.requires_grad),
                      sum(p.numel() for n, p in make_effnet(0).named_parameters() if n.startswith(("blocks.6", "conv_head", "bn2", "classifier"))),
                      "trainable parameters of the EfficientNet")
effnet.train()
_ = effnet(x)
cu.checks.check_close(effnet.bn1.running_var, torch.ones(32), "the EfficientNet's frozen stem batch norm (timm's BatchNormAct2d)")
cu.checks.check_equal(effnet.bn2.training, True, "the EfficientNet's trainable last batch norm")
nothing = freeze(make_resnet(3))
cu.checks.check_equal(sum(p.numel() for p in nothing.parameters() if p.requires_grad), 0, "freeze(model) with no trainable prefixes")
gradual = freeze(make_resnet(4), ("fc",))
gradual = freeze(gradual, ("layer4", "fc"))
gradual.train()
_ = gradual(x)
cu.checks.check_equal(gradual.layer4[0].bn1.training, True, "a batch-norm layer unfrozen by a second call to freeze",
                      hint="decide in the hook, each time it runs, whether the layer is frozen")
cu.checks.check_true(gradual.layer4[0].bn1.running_mean.abs().sum().item() > 0, "an unfrozen batch-norm layer updates its statistics")
cu.checks.check_close(gradual.layer3[0].bn1.running_mean, torch.zeros(256), "a batch-norm layer still frozen after the second call")
dropped = freeze(nn.Sequential(nn.Linear(64, 64), nn.Dropout(0.5)), ("0",))
dropped.train()
cu.checks.check_close((dropped(torch.ones(100, 64)) == 0).float().mean(), 0.5, "the fraction of outputs zeroed by a dropout(0.5) layer "
                      "in train mode after freeze", atol=0.05,
                      hint="only frozen batch-norm layers are kept in eval mode; dropout and other layers keep model.train()")
cu.checks.check_equal(dropped[1].training, True, "a dropout layer's .training after freeze, model.train() and forward passes",
                      hint="put only batch-norm layers (nn.modules.batchnorm._BatchNorm) in eval mode")
### END HIDDEN TESTS
cu.checks.passed("freeze")

# %% [markdown]
# ## 4 · Extract features once
#
# Write `extract_features(backbone, images, batch_size)`: run `backbone` on
# `images` (an `(N, C, H, W)` float tensor) `batch_size` images at a time and
# return one `(N, D)` tensor of features, row `i` belonging to image `i`.
#
# - Run in eval mode and without building a computation graph (`torch.no_grad()`
#   or `torch.inference_mode()`), then put the backbone back in the mode it was in.
# - Move each batch to the backbone's device and bring its features back to the CPU.
# - If the backbone returns feature maps `(n, C, h, w)`, flatten each image's
#   maps into one row of `C*h*w` numbers.

# %% kind="solution" id="extract_features"
def extract_features(backbone: nn.Module, images: torch.Tensor, batch_size: int = 64) -> torch.Tensor:
    """(N, C, H, W) float -> (N, D) features on the CPU, computed in eval mode without gradients."""
    ### BEGIN SOLUTION
    device = next(backbone.parameters()).device
    was_training = backbone.training
    backbone.eval()
    try:
        with torch.no_grad():
            chunks = [backbone(batch.to(device)).flatten(1).cpu() for batch in images.split(batch_size)]
    finally:
        backbone.train(was_training)
    return torch.cat(chunks)
    ### END SOLUTION


# %% kind="tests" id="test_extract_features" points=3
x = images(10, 32, seed=3)
backbone = make_resnet(0)
backbone.fc = nn.Identity()  # a ResNet-18 without its head: 512 pooled features per image
feats = extract_features(backbone, x, batch_size=4)
cu.checks.check_shape(feats, (10, 512), "extract_features(resnet without head, x, 4)")
cu.checks.check_close(feats, nn.Sequential(*list(make_resnet(0).children())[:-1], nn.Flatten()).eval()(x),
                      "the features", atol=1e-4,
                      hint="eval mode (batch norm uses its running statistics), and keep the images in order")
### BEGIN HIDDEN TESTS
cu.checks.check_equal(feats.requires_grad, False, "feats.requires_grad", hint="compute features under torch.no_grad()")
cu.checks.check_close(backbone.bn1.running_mean, torch.zeros(64), "the backbone's running statistics after extraction",
                      hint="in train mode every batch changes the batch-norm statistics")
cu.checks.check_equal(backbone.training, True, "backbone.training after extract_features on a model in train mode",
                      hint="put the backbone back in the mode you found it in")
backbone.eval()
extract_features(backbone, x, batch_size=4)
cu.checks.check_equal(backbone.training, False, "backbone.training after extract_features on a model in eval mode")


class BatchRecorder(nn.Module):
    """Records the size of every batch it sees."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.sizes = []

    def forward(self, batch):
        self.sizes.append(len(batch))
        return batch.mean(dim=(2, 3)) * self.scale


recorder = BatchRecorder()
cu.checks.check_close(extract_features(recorder, x, batch_size=4), x.mean(dim=(2, 3)), "features from a per-image backbone",
                      hint="keep the order of the images: do not shuffle")
cu.checks.check_equal(recorder.sizes, [4, 4, 2], "the batch sizes the backbone saw", hint="images.split(batch_size)")
conv = nn.Conv2d(3, 2, 3, stride=4)
cu.checks.check_shape(extract_features(conv, x, batch_size=3), (10, 2 * 8 * 8), "features from a backbone returning maps",
                      hint="flatten everything after the batch dimension")
remote = nn.Sequential(nn.Conv2d(3, 2, 3, stride=4), nn.Flatten())
with torch.no_grad():  # seeded weights: the same in every kernel
    remote_gen = torch.Generator().manual_seed(5)
    for p in remote.parameters():
        p.copy_(torch.randn(p.shape, generator=remote_gen))
with cu.device_audit.simulated_device() as device:  # a stand-in for a GPU: mixing it with the CPU raises, as on a GPU
    remote.to(device)
    remote_feats = extract_features(remote, x, batch_size=4)  # x stays on the CPU
    remote_feats_on_device = cu.device_audit.is_on_device(remote_feats)
cu.checks.check_equal(remote_feats_on_device, False, "whether the features of a backbone on another device are left there",
                      hint="bring each batch's features back to the CPU with .cpu()")
cu.checks.check_close(remote_feats.as_subclass(torch.Tensor), remote(x).detach(),
                      "the features of a backbone on another device",
                      atol=1e-6, hint="move each batch to the backbone's device (next(backbone.parameters()).device)")
### END HIDDEN TESTS
cu.checks.passed("extract_features")

# %% [markdown]
# ## 5 · A linear probe
#
# Write `linear_probe(train_feats, train_labels, test_feats, test_labels)`: fit a
# linear classifier (multinomial logistic regression, i.e. one `nn.Linear` head
# trained with cross-entropy) on the training features only, and return its
# accuracy on the test features as a Python `float` between 0 and 1.
# `scikit-learn`'s `LogisticRegression(max_iter=1000)` is the usual tool (it
# accepts NumPy arrays: `.numpy()`); a head trained with PyTorch is fine too.
# Features are `(N, D)` float tensors, labels `(N,)` int64 tensors.

# %% kind="solution" id="linear_probe"
def linear_probe(train_feats: torch.Tensor, train_labels: torch.Tensor,
                 test_feats: torch.Tensor, test_labels: torch.Tensor) -> float:
    """Fit logistic regression on the training features; return test accuracy in [0, 1]."""
    ### BEGIN SOLUTION
    from sklearn.linear_model import LogisticRegression

    clf = LogisticRegression(max_iter=1000)
    clf.fit(train_feats.numpy(), train_labels.numpy())
    return float(clf.score(test_feats.numpy(), test_labels.numpy()))
    ### END SOLUTION


# %% kind="tests" id="test_linear_probe" points=2
g = torch.Generator().manual_seed(4)
centres = torch.tensor([[-3.0, 0.0, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0]])
train_labels = torch.arange(2).repeat(20)
train_feats = centres[train_labels] + 0.3 * torch.randn(40, 4, generator=g)
test_labels = torch.tensor([0, 0, 0, 1, 1, 1, 1, 0])  # the last two are labelled against their cluster
test_feats = centres[torch.tensor([0, 0, 0, 1, 1, 1, 0, 1])] + 0.3 * torch.randn(8, 4, generator=g)
cu.checks.check_close(linear_probe(train_feats, train_labels, test_feats, test_labels), 0.75,
                      "linear_probe on two clusters (6 of 8 test points labelled with their cluster)",
                      hint="train on the training set, score on the test set, return a fraction (not a percentage)")
### BEGIN HIDDEN TESTS
cu.checks.check_close(linear_probe(train_feats, train_labels, test_feats, 1 - test_labels), 0.25,
                      "linear_probe with the test labels swapped", hint="fit on the training features only")
centres3 = 4 * torch.eye(3, 6)
labels3 = torch.arange(3).repeat(15)
feats3 = centres3[labels3] + 0.5 * torch.randn(45, 6, generator=g)
test3 = torch.tensor([2, 1, 0, 0, 2, 1])
cu.checks.check_close(linear_probe(feats3, labels3, centres3[test3] + 0.5 * torch.randn(6, 6, generator=g), test3), 1.0,
                      "linear_probe on three clusters")


def stretched(seed, n):
    """Classes 1 apart along feature 0 (noise 0.1); feature 1 shifts 3 with noise 5; feature 2 is noise 4."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.arange(2).repeat(n // 2)
    feats = torch.stack([labels * 1.0 + 0.1 * torch.randn(n, generator=gen),
                         labels * 3.0 + 5.0 * torch.randn(n, generator=gen), 4.0 * torch.randn(n, generator=gen)], dim=1)
    return feats, labels


# Logistic regression finds the narrow separating direction; nearest-centroid (65%) and 1-NN (52%) do not.
cu.checks.check_close(linear_probe(*stretched(11, 40), *stretched(12, 40)), 1.0,
                      "linear_probe where the classes differ along one narrow direction and noise dominates distances",
                      hint="fit a linear classifier with cross-entropy (logistic regression); a nearest-centroid "
                           "or nearest-neighbour rule is not a linear probe")
### END HIDDEN TESTS
cu.checks.passed("linear_probe")

# %% [markdown]
# ## 6 · Put it together on real photos
#
# Your four functions turn the ImageNet-pretrained EfficientNet-Lite0 into a
# face detector trained on five labelled examples per class. This cell is not
# graded; it shows your code at work (about 5 s on a laptop CPU).

# %%
backbone = replace_head(cu.models.pretrained_backbone().model, 0)
faces = cu.data.load_faces()
x_train, y_train = cu.data.to_tensors(faces["train"])
x_test, y_test = cu.data.to_tensors(faces["test"])
few = cu.transfer.per_class_subset(y_train, 5, seed=0)
f_train = extract_features(backbone, cu.transfer.to_backbone_input(x_train[few], 64), batch_size=32)
f_test = extract_features(backbone, cu.transfer.to_backbone_input(x_test, 64), batch_size=32)
accuracy = linear_probe(f_train, y_train[few], f_test, y_test)
print(f"{count_trainable(freeze(backbone))} trainable parameters in the frozen backbone; "
      f"a linear probe on {len(few)} labelled faces/non-faces: {accuracy:.0%} of {len(y_test)} test crops right")

# %% [markdown]
# ## 7 · In your own words
#
# **(a)** A classmate froze every parameter of a pretrained ResNet except its new
# head (`requires_grad=False`) and fine-tuned with batches of 8 photos. The
# training loss falls, yet the test accuracy is worse than with a linear probe on
# features extracted once beforehand. What changed inside the "frozen" backbone
# during training, and how do you prevent it? Two or three sentences.

# %% [markdown] kind="written" id="q_frozen_bn" points=2
# In `model.train()` the batch-norm layers normalise with each small batch's own
# statistics and update their running means and variances, even though their
# weights get no gradient. The backbone's features therefore drift away from the
# ImageNet statistics they were trained with, and depend on which photos share a
# batch. Keeping frozen batch-norm layers in eval mode (a hook, or swapping them for
# `FrozenBatchNorm2d`) keeps the features fixed.

# %% [markdown]
# **(b)** In the lesson, ImageNet features beat training from scratch on face
# photos but not on handwritten digits, while a small CNN pretrained on
# Fashion-MNIST did help on digits. When does transfer pay? Two or three sentences.

# %% [markdown] kind="written" id="q_when_transfer" points=2
# Transfer pays when the source and target share structure: the features the
# source task taught must be the ones the target needs. Faces are natural photos
# like ImageNet's, so its texture and part detectors apply; digits are white strokes
# on black at 28×28, closer to Fashion-MNIST's grayscale silhouettes than to
# ImageNet's colour photos. With very few labels the gain is largest, and it
# shrinks as labelled data grows.
