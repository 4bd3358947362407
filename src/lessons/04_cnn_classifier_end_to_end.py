# %% [markdown]
# # 04 · A CNN classifier, end to end
#
# Lessons 01–03 gave us the parts: pixels as a tensor, convolution, pooling. Now
# we assemble them into a whole classifier and follow a 32×32 image all the way
# from pixels to a sentence such as "circle, 87% sure". Then we train it: what
# the loss measures, what the optimiser and its schedule do, why we keep a
# validation set apart from the test set, and what batch norm does differently
# in training and in evaluation. Finally we read its mistakes, replay its
# forward pass stage by stage, and feed it a shape we draw ourselves.
#
# **In this lesson you will**
# 1. build a two-block CNN and read off the shape and the parameter count at every stage;
# 2. turn logits into probabilities with softmax, and score them with cross-entropy, the negative log-likelihood of the right class;
# 3. train it with AdamW and a one-cycle schedule, choosing on a validation set and testing once at the end;
# 4. know what `train()`, `eval()` and `torch.no_grad()` each change, read the confusion matrix, and replay the forward pass.
#
# **Runtime:** {{runtime}} for Run All in JupyterLab on a 2-core CPU (measured by the course's tests).
# No GPU, no internet.

# %%
import copy
import math
from collections import OrderedDict

import torch
from matplotlib.figure import Figure
from torch import nn

import course_utils as cu

device = cu.setup()

# %% [markdown]
# ## 1 · The task: name the shape
#
# We use the course's drawn shapes: 32×32 grayscale images of five classes, each
# shape at a random position, size and rotation, with a little pixel noise. We
# draw 6,000 images for learning and 2,000 others, with a different random seed,
# for the final test, and we split the 6,000 in two:
#
# - the **training set** (5,000 images): the weights are fitted to it;
# - the **validation set** (1,000 images): we watch it during training and use it
#   for every choice *we* make — how many epochs, which learning rate, which
#   network;
# - the **test set** (2,000 images): used once, at the very end, when every choice
#   has been made.
#
# Why three? Each time we look at a score and change something because of it, we
# fit our choices a little to the images behind that score, and the score becomes
# optimistic. The validation set absorbs that; the test set, looked at once, still
# estimates how the finished network does on images nobody has tuned anything
# on.

# %%
shapes = cu.data.load("shapes", n_train=6000, n_test=2000)
names = shapes["train"].features["label"].names
x_learn, y_learn = cu.data.to_tensors(shapes["train"])
x_train, y_train = x_learn[:5000], y_learn[:5000]  # the shapes are drawn independently: any 1,000 will do
x_val, y_val = x_learn[5000:], y_learn[5000:]
x_test, y_test = cu.data.to_tensors(shapes["test"])
cu.show_images(x_train[:10], [names[i] for i in y_train[:10]], ncols=10,
               alt="Ten 32-by-32 training images: bright circles, squares, triangles, crosses and stars "
                   "on dark backgrounds, each titled with its class.")
x_train.shape, x_val.shape, x_test.shape, names

# %% [markdown]
# ## 2 · The network, block by block
#
# A **conv block** does four things in a row:
#
# 1. a 3×3 convolution with padding 1: every filter slides over the image and
#    makes one feature map of the same size (lesson 03);
# 2. batch normalisation: each map is shifted and scaled to a standard range,
#    which lets training take large steps without blowing up (Ioffe & Szegedy,
#    2015, arXiv:1502.03167). It subtracts each map's mean and then adds a
#    learned shift of its own, so a bias in the convolution would be cancelled:
#    we build the convolutions without one (`bias=False`). Section 6 shows what
#    batch norm does differently while training;
# 3. a ReLU, which keeps positive responses and sets negative ones to zero;
# 4. a 2×2 max-pool, which keeps the strongest response in each 2×2 window and
#    halves the height and width.
#
# Two blocks turn 32×32 into 16×16 and then 8×8. After them, `Flatten` lays
# the 32 maps of 8×8 out as one long vector, and a small multilayer perceptron
# (two linear layers with a ReLU between) maps it to one score per class. The
# names in the `OrderedDict` are how we refer to each stage later.

# %%
torch.manual_seed(0)
model = nn.Sequential(OrderedDict([
    ("conv1", nn.Conv2d(1, 16, kernel_size=3, padding=1, bias=False)),
    ("bn1", nn.BatchNorm2d(16)),
    ("relu1", nn.ReLU()),
    ("pool1", nn.MaxPool2d(2)),
    ("conv2", nn.Conv2d(16, 32, kernel_size=3, padding=1, bias=False)),
    ("bn2", nn.BatchNorm2d(32)),
    ("relu2", nn.ReLU()),
    ("pool2", nn.MaxPool2d(2)),
    ("flatten", nn.Flatten()),
    ("fc1", nn.Linear(32 * 8 * 8, 64)),
    ("relu3", nn.ReLU()),
    ("fc2", nn.Linear(64, len(names))),
])).to(device)  # the weights live on the device from here on (lesson 05 explains devices)
model

# %% [markdown]
# Now we push one image through the stages by hand, printing what comes out of
# each and how many parameters (weights and biases) each stage holds. We switch
# to evaluation mode and turn gradients off, because we only look (section 6
# explains both switches).

# %%
model.eval()
out = x_train[:1].to(device)  # the input goes where the weights are
print(f"{'stage':<8} {'output shape':<18} {'numbers':>8} {'parameters':>11}")
print(f"{'input':<8} {str(tuple(out.shape)):<18} {out[0].numel():>8,} {0:>11,}")
with torch.no_grad():
    for name, layer in model.named_children():
        out = layer(out)
        params = sum(p.numel() for p in layer.parameters())
        print(f"{name:<8} {str(tuple(out.shape)):<18} {out[0].numel():>8,} {params:>11,}")
total = cu.models.count_params(model)
fc1_params = model.fc1.weight.numel() + model.fc1.bias.numel()
cu.expect(fc1_params > 0.9 * total and model.conv1.weight.numel() == 144, "almost all the parameters sit in fc1; "
          "144 weights for 16 filters of 3×3", fc1=fc1_params, total=total)
f"{total:,} parameters in all; fc1 alone holds {fc1_params:,} of them"

# %% [markdown]
# Read the table from the top. The convolutions keep the 32×32 size (padding 1)
# and change how many maps there are; the pools halve the size; the flatten
# changes only the layout (2,048 numbers before and after). The convolutions
# are cheap in parameters — 144 weights for 16 filters of 3×3 — because each
# filter is reused at every position. Almost all the parameters sit in `fc1`,
# which connects every one of the 2,048 flattened numbers to each of its 64
# outputs. This is the network that `cu.models.small_cnn(5)` builds, layer for
# layer; later lessons call that.

# %%
library = dict(cu.models.small_cnn(len(names)).named_children())
same_layers = {name: repr(layer) == repr(library.get(name)) for name, layer in model.named_children()}
cu.expect(list(library) == list(same_layers) and all(same_layers.values()),
          "cu.models.small_cnn(5) builds this network, layer for layer", differ=[n for n, same in same_layers.items() if not same])
f"{len(same_layers)} layers compared by name, type and settings (channels, kernel, padding, bias): all the same"

# %% [markdown]
# ## 3 · From logits to "circle, 87% sure"
#
# The last layer gives five numbers, one per class, called **logits**. They can
# be any real numbers. **Softmax** turns them into probabilities: exponentiate
# each one (everything becomes positive), then divide by the sum (everything
# adds up to 1). A larger logit always means a larger probability.

# %%
with torch.no_grad():
    logits = model(x_train[:1].to(device))[0].cpu()
manual = torch.exp(logits) / torch.exp(logits).sum()
cu.expect(torch.allclose(manual, logits.softmax(dim=0)), "our softmax matches PyTorch's")
cu.expect(((manual > 0.15) & (manual < 0.25)).all(), "the untrained network's probabilities are all near 1/5",
          probabilities=manual)
logits, manual, manual.sum(), torch.allclose(manual, logits.softmax(dim=0))

# %% [markdown]
# The untrained network has no idea yet: its probabilities are all near 1/5.
# One practical catch: `exp` overflows for large inputs. In 32-bit floats,
# `exp(89)` is already infinite, and infinity divided by infinity is "not a
# number". Subtracting the largest logit first changes nothing mathematically
# (the factor cancels in the fraction) but keeps every exponent at or below 0.
# Library softmax functions do exactly this; the exercise asks you to write it.

# %%
big = torch.tensor([1000.0, 999.0, 0.0])
naive = torch.exp(big) / torch.exp(big).sum()
shifted = torch.exp(big - big.max()) / torch.exp(big - big.max()).sum()
cu.expect(naive.isnan().any() and torch.allclose(shifted, big.softmax(dim=0)),
          "the naive formula gives 'not a number'; subtracting the largest logit first gives the right answer")
naive, shifted

# %% [markdown]
# The prediction is the class with the largest probability (the **argmax**),
# and its probability says how sure the network is. We wrap that in a small
# function and try it on the untrained network.

# %%
def describe(probs: torch.Tensor) -> str:
    best = int(probs.argmax())
    return f"{names[best]}, {float(probs[best]):.0%} sure"


describe(logits.softmax(dim=0)), f"truth: {names[y_train[0]]}"

# %% [markdown]
# ## 4 · Cross-entropy: how wrong is a probability?
#
# To train the network we need one number that says how badly it did on a batch:
# the **loss**. Take one training image whose true class is y. The network gives
# that class some probability, p(y): the *likelihood* it assigns to the right
# answer. A good network gives every training image's right answer a high
# probability, so training should make the product of those probabilities, over
# all images, as large as possible (*maximum likelihood*). A product of thousands
# of numbers below 1 is too small for any float, so we take logarithms, which turn
# the product into a sum, and flip the sign to get something to minimise:
#
# $$ \text{loss} = -\frac{1}{N} \sum_{i=1}^{N} \log p_i(y_i) $$
#
# This is the **cross-entropy** loss (it is the cross-entropy between the label,
# seen as a distribution with all its mass on y, and the network's distribution).
# For one image, the figure shows what it rewards and punishes.

# %%
def figure_cross_entropy(marks=(0.2, 0.5, 0.9), chance=0.2):
    """The per-image loss −log p against p, the probability given to the right class."""
    p = torch.linspace(0.005, 1.0, 400)
    fig = Figure(figsize=(6, 3.2))
    ax = fig.subplots()
    ax.plot(p, -torch.log(p), label="loss = −log p(right class)")
    for q in marks:
        ax.plot([q], [-math.log(q)], "o", color=cu.viz.OKABE_ITO[1])
        ax.annotate(f"p = {q}: {-math.log(q):.2f}", (q, -math.log(q)), textcoords="offset points", xytext=(6, 6))
    ax.axvline(chance, color=cu.viz.OKABE_ITO[2], ls=":", label=f"chance for 5 classes (p = {chance})")
    ax.set(xlabel="probability the network gives the right class", ylabel="cross-entropy loss", ylim=(0, 5.5))
    ax.legend()
    fig.tight_layout()
    return fig


cu.show(figure_cross_entropy(), alt="Curve of the loss −log p against p from 0 to 1: zero at p = 1, 0.11 at 0.9, "
        "0.69 at 0.5, 1.61 at chance (0.2), and rising without limit as p approaches 0.")

# %% [markdown]
# Certainty about the right class costs nothing (p = 1, loss 0). A network that
# guesses, p = 1/5 for every class, pays log 5 ≈ 1.61 per image. A confident
# mistake pays without limit: as p(right class) goes to 0, the loss grows to
# infinity, so training works hardest on the images the network gets most
# wrong. PyTorch's `nn.functional.cross_entropy` takes the logits directly (it
# computes the log-softmax in one stable step, with the same largest-logit trick
# as above). We check it against the definition on eight training images.

# %%
with torch.no_grad():
    batch_logits = model(x_train[:8].to(device)).cpu()
p_right = batch_logits.softmax(dim=1)[torch.arange(8), y_train[:8]]  # the probability of each image's true class
by_hand = -p_right.log().mean()
library = nn.functional.cross_entropy(batch_logits, y_train[:8])
cu.expect(torch.allclose(by_hand, library), "cross_entropy is the mean of −log p(right class)",
          by_hand=by_hand, library=library)
cu.expect(abs(library.item() - math.log(5)) < 0.1, "the untrained network pays about log 5 ≈ 1.61 per image",
          loss=library)
f"by hand {by_hand:.4f}, PyTorch {library:.4f}, log 5 = {math.log(5):.4f}"

# %% [markdown]
# ## 5 · Training: AdamW and a one-cycle schedule
#
# Training repeats one step many times: take a batch of images, compute the
# logits and the cross-entropy loss, compute the gradient of the loss with
# respect to every parameter, and move every parameter a little against its
# gradient:
#
# ```python
# logits = model(xb)
# loss = nn.functional.cross_entropy(logits, yb)
# optimizer.zero_grad()     # forget the previous batch's gradients
# loss.backward()           # gradients of the loss for every parameter
# optimizer.step()          # move each parameter a little against its gradient
# scheduler.step()          # set the learning rate for the next step
# ```
#
# **The optimiser: AdamW.** Plain gradient descent moves each weight by the
# learning rate times its gradient, so weights with large gradients jump and
# weights with small ones barely move. Adam (Kingma & Ba, 2015, arXiv:1412.6980)
# keeps two running averages for every weight: of its gradient (a *momentum*,
# which keeps a direction that persists over batches and averages out noise) and
# of its squared gradient (how large that weight's gradients usually are). It
# moves the weight by the learning rate times the first divided by the square root
# of the second, so every weight takes steps of roughly the learning rate,
# whatever the scale of its gradients. The *W* is weight decay, decoupled from the
# gradient (Loshchilov & Hutter, 2019, arXiv:1711.05101): every step also shrinks
# every weight by the factor 1 − learning rate × decay, pulling weights the data
# do not support back towards zero.
#
# **The schedule: one cycle.** The learning rate need not stay fixed. Smith and
# Topin (*Super-convergence*, 2019, arXiv:1708.07120) start small, raise it to a
# peak, then lower it to almost nothing: large steps in the middle cross the loss
# landscape quickly, small steps at the end settle into a low point. `cu.fit` uses
# PyTorch's `OneCycleLR` with a quarter of the steps warming up. We build the same
# schedule for this lesson's training (4 epochs of 5,000 images in batches of
# 128) and plot it.

# %%
epochs, batch_size, peak_lr = 4, 128, 3e-3
steps = epochs * math.ceil(len(x_train) / batch_size)
optimizer = torch.optim.AdamW([nn.Parameter(torch.zeros(1))], lr=peak_lr)  # a stand-in: only the schedule matters
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=peak_lr, total_steps=steps, pct_start=0.25)
lrs = []
for _ in range(steps):
    lrs.append(scheduler.get_last_lr()[0])
    optimizer.step()
    scheduler.step()
peak_step = max(range(steps), key=lrs.__getitem__)
cu.expect(abs(lrs[peak_step] - peak_lr) < 1e-9 and abs(peak_step - steps / 4) <= 1 and lrs[-1] < lrs[0] / 100,
          "a quarter of the steps warm up to the peak, then the rate falls far below where it started",
          peak_step=peak_step, steps=steps, first=lrs[0], last=lrs[-1])
f"{steps} steps: from {lrs[0]:.1e} up to {lrs[peak_step]:.1e} at step {peak_step}, down to {lrs[-1]:.1e} at the end"

# %%
def figure_schedule(lrs):
    fig = Figure(figsize=(6, 2.8))
    ax = fig.subplots()
    ax.plot(range(len(lrs)), lrs)
    ax.set(xlabel="training step", ylabel="learning rate", title="One-cycle schedule (OneCycleLR, pct_start=0.25)")
    fig.tight_layout()
    return fig


cu.show(figure_schedule(lrs), alt=f"The learning rate over {steps} steps: it rises smoothly from {lrs[0]:.1e} to "
        f"{peak_lr:.0e} at step {peak_step}, then falls smoothly to {lrs[-1]:.1e}.")

# %% [markdown]
# `cu.fit` runs exactly this loop over shuffled batches (an epoch is one pass over
# the training set) with AdamW and this schedule, and after each epoch it measures
# the loss and accuracy on the validation set. In the exercise you write the loop
# yourself, and lesson 05 takes apart every choice that makes it fast.

# %%
torch.manual_seed(0)
history = cu.fit(model, (x_train, y_train), (x_val, y_val), epochs=epochs, batch_size=batch_size, lr=peak_lr)
cu.show_history(history, title="Training the two-block CNN on 5,000 shapes (validation: 1,000 others)")

# %%
gap = history.train_acc[-1] - history.val_acc[-1]
last_change = abs(history.val_acc[-1] - history.val_acc[-2])
last_train_change = abs(history.train_acc[-1] - history.train_acc[-2])
cu.expect(max(last_change, last_train_change) < 0.03, "both curves flatten out within four epochs",
          val_acc=history.val_acc, train_acc=history.train_acc)
cu.expect(abs(gap) < 0.03, "the validation accuracy sits close to the training accuracy",
          train_acc=history.train_acc[-1], val_acc=history.val_acc[-1])
(f"validation accuracy {history.val_acc[-1]:.1%} (training {history.train_acc[-1]:.1%}); "
 f"the last epoch changed it by {last_change:.1%} (training: {last_train_change:.1%})")

# %% [markdown]
# Both curves flatten out within four epochs (their last epoch moved each by less
# than 3 points), and the validation accuracy sits close to the training accuracy
# (the lines above check both), so the network has
# not just memorised its 5,000 training images: it does as well on 1,000 it never
# trained on. Had the validation accuracy stalled while the training accuracy kept
# climbing, we would stop earlier or regularise more; that is the kind of choice the
# validation set is for.

# %% [markdown]
# ## 6 · Batch norm in training and in evaluation
#
# Batch norm normalises each feature map with a mean and a variance. Which ones?
# **While training**, those of the current batch: every map is centred and
# scaled using the batch's own statistics, then shifted and scaled by the layer's
# learned parameters. That couples the images of a batch: one image's output
# depends on which other images share its batch. Fine for training, wrong for
# answering a question about one photo. So every batch-norm layer also keeps
# **running statistics**: after each training batch it moves its stored mean and
# variance 10% of the way towards the batch's (`momentum=0.1` in PyTorch). **In
# evaluation**, it uses those stored values instead, the same for every image.
#
# Two switches, often confused:
#
# - `model.train()` / `model.eval()` set the *mode* of every layer: batch norm uses
#   batch statistics and updates its running ones, or uses the running ones and
#   leaves them alone (dropout, lesson 06, is on or off the same way). They
#   change what the network computes.
# - `with torch.no_grad():` stops autograd from recording the operations for a
#   backward pass, which saves memory and time. It changes no layer's behaviour.
#
# To predict you want both: `eval()` for the right arithmetic, `no_grad()` for
# the savings (`cu.predict` and `cu.evaluate` do both). We check on a copy of the
# trained network what each switch does and does not do.

# %%
probe = copy.deepcopy(model)
one, batch = x_val[:1].to(device), x_val[:256].to(device)  # where the model's weights are
stored = probe.bn1.running_mean.clone()
probe.train()
with torch.no_grad():
    train_alone, train_in_batch = probe(one), probe(batch)[:1]
moved_train = (probe.bn1.running_mean - stored).abs().max().item()
probe.eval()
stored = probe.bn1.running_mean.clone()
with torch.no_grad():
    eval_alone, eval_in_batch = probe(one), probe(batch)[:1]
moved_eval = (probe.bn1.running_mean - stored).abs().max().item()
effects = {"train mode: image alone vs in a batch (largest logit difference)": (train_alone - train_in_batch).abs().max().item(),
           "eval mode: image alone vs in a batch": (eval_alone - eval_in_batch).abs().max().item(),
           "train mode under no_grad: running mean moved by": moved_train,
           "eval mode: running mean moved by": moved_eval}  # fmt: skip
cu.expect(effects["train mode: image alone vs in a batch (largest logit difference)"] > 1e-3
          and effects["eval mode: image alone vs in a batch"] < 1e-4,
          "in train mode an image's output depends on its batch; in eval mode it does not", effects=effects)
cu.expect(moved_train > 0 and moved_eval == 0,
          "no_grad does not stop a train-mode pass from moving the running statistics; eval mode does", effects=effects)
{name: f"{value:.2e}" for name, value in effects.items()}

# %% [markdown]
# In training mode, the same image gets different logits alone and inside a
# batch, and a forward pass under `no_grad` still moved the running mean: a
# classic bug is to "evaluate" with `no_grad` alone and silently overwrite the
# statistics with test data. In evaluation mode the image's answer does not
# depend on its neighbours, and nothing is updated.

# %% [markdown]
# ## 7 · The test, once, and reading the results
#
# Every choice is made; now, once, the test set.

# %%
result = cu.evaluate(model, (x_test, y_test))
cu.expect(abs(result["accuracy"] - history.val_acc[-1]) < 0.02,
          "the test accuracy is within two points of the validation accuracy",
          test=result["accuracy"], val=history.val_acc[-1])
f"test accuracy: {result['accuracy']:.2%} on {len(x_test):,} images (validation: {history.val_acc[-1]:.2%})"

# %% [markdown]
# The test accuracy lands within two points of the validation accuracy (checked
# above): our few choices did not fit the validation set, and 2,000 fresh images
# agree. Here is the first training image again, now through the trained network:

# %%
probs = cu.predict(model, x_train[:1])[0]
describe(probs), f"truth: {names[y_train[0]]}"

# %% [markdown]
# A single accuracy number hides *which* classes get confused. The confusion
# matrix counts, for every true class (row), how often the network predicted
# each class (column); a perfect classifier puts everything on the diagonal.

# %%
test_probs = cu.predict(model, x_test)
test_preds = test_probs.argmax(dim=1)
cm = cu.show_confusion(test_preds, y_test, names, title="Test shapes: true class against prediction")

# %% [markdown]
# The mistakes deserve a look of their own, the most confident first: a
# mistake made at 99% says more about the network than one made at 40%.

# %%
wrong = (test_preds != y_test).nonzero().flatten()
confidence = test_probs[wrong, test_preds[wrong]]
worst = wrong[confidence.argsort(descending=True)][:8]
if len(worst):
    cu.show_images(x_test[worst], [f"{names[y_test[i]]} → {describe(test_probs[i])}" for i in worst], ncols=4,
                   size=2.2, title="Most confident mistakes (true → predicted)",
                   alt=f"The {len(worst)} test images the network got wrong with the highest confidence, "
                       "each titled with its true class and the network's prediction.")
f"{len(wrong)} mistakes out of {len(y_test):,}"

# %% [markdown]
# Look at what the mistakes have in common, if anything. Are the shapes small?
# Cut by the image border? Turned so that a triangle or a star looks like its
# neighbour class? Whatever you find, the network only knows the variations it
# was shown.

# %% [markdown]
# ## 8 · Replay: follow the signal through the network
#
# `cu.stages.run_stages` is the loop of section 2 as a library function: it
# runs any `nn.Sequential` one layer at a time and keeps every intermediate
# output, with its name and parameter count.

# %%
examples = {}
for k, name in enumerate(names):
    i = int((y_test == k).nonzero()[0])
    examples[f"{name} (test image {i})"] = x_test[i]
replay = cu.stages.run_stages(model, next(iter(examples.values())))
for stage in replay:
    print(stage.describe())

# %% [markdown]
# Now the same, animated. Choose an input and press **Replay**: the signal
# travels from the image through each convolution (every small picture is one
# feature map, bright where its filter responds), the batch norm, the ReLU and
# the pooling, into the flattened vector, the logits and finally the softmax.
# Drag the **stage** slider to step by hand. At the end, switch the input: the
# probabilities update at once. Compare a cross and a square: at which stage do
# their maps start to look different?
#
# (A static copy of this notebook shows a picture of the widget's first input instead.)

# %%
replay_widget = cu.widgets.replay_view(model, examples, names)

# %% [markdown]
# ## 9 · Draw your own
#
# Click cells of the pad to draw a shape (Tab moves between cells and Space
# toggles one). Your drawing is cropped to its bounding box, resized to the size
# of the training shapes, centred and smoothed, so that it looks like what the
# network was trained on; that preprocessed 32×32 image is what gets
# classified. You can also upload a photo of a shape drawn on paper.

# %%
pad = cu.widgets.sketch_pad(model, names, start="circle")

# %% [markdown]
# The same preprocessing, run on one drawing per class from the pad's presets.
# Blocky drawings are not quite the smooth shapes of the training set, so this
# is a small test of how far the network's knowledge stretches.

# %%
drawings = torch.stack([cu.stages.drawing_to_image(cu.stages.preset_drawing(name)) for name in names])
drawn_probs = cu.predict(model, drawings)
cu.show_images(drawings, [describe(p) for p in drawn_probs], ncols=5, size=2.0,
               title="Preset drawings, as the network sees them, and its predictions",
               alt="Five drawings (circle, square, triangle, cross, star) after preprocessing to 32 by 32 pixels, "
                   "each titled with the network's prediction and confidence.")
[f"drew a {name}: {describe(p)}" for name, p in zip(names, drawn_probs)]

# %% [markdown]
# ## Summary
#
# - The classifier is a chain of stages: convolution blocks turn the 32×32 image
#   into 32 maps of 8×8, `Flatten` makes them one vector, two dense layers give
#   five logits, softmax makes those probabilities, and the largest is the answer.
# - The filters are shared across positions, so the conv blocks are light; nearly
#   all the weights belong to the first dense layer.
# - Softmax exponentiates and normalises; subtracting the largest logit first
#   keeps the exponentials finite.
# - The loss is cross-entropy: minus the log of the probability given to the right
#   class, averaged over the batch. Minimising it maximises the likelihood of the
#   training labels; a confident mistake costs the most.
# - AdamW scales each weight's step by the size of its recent gradients and decays
#   weights separately; the one-cycle schedule warms the learning rate up, then
#   cools it down to almost nothing.
# - Train on the training set, make choices on the validation set, and open the
#   test set once, at the end.
# - `train()`/`eval()` change what batch norm computes (batch statistics and
#   updates, or the stored running statistics); `no_grad()` only skips recording
#   for the backward pass. Predict with both.
# - Beyond one accuracy number, the confusion matrix and the most confident
#   mistakes show what the network gets wrong.
#
# ## Check your understanding
#
# 1. Why does the first convolution have 144 weights, and where would 16 more
#    parameters come from if we kept its bias?
#
#    <details><summary>Answer</summary>
#
#    16 filters, each of 1 input channel × 3 × 3 = 9 weights: 16 × 9 = 144. A bias is one
#    number per filter, so 16 more.
#    </details>
#
# 2. Without padding, a 3×3 convolution shrinks 32×32 to 30×30. What would the
#    flattened vector's length be after two unpadded blocks?
#
#    <details><summary>Answer</summary>
#
#    32 → 30 (conv) → 15 (pool) → 13 (conv) → 6 (pool: ⌊13 / 2⌋ = 6), so 32 maps of 6×6: 32 ×
#    6 × 6 = 1,152 numbers.
#    </details>
#
# 3. Two logits are 2.0 and 0.0. What are their softmax probabilities? What if
#    both are raised by 100?
#
#    <details><summary>Answer</summary>
#
#    e² / (e² + e⁰) = 7.389 / 8.389 ≈ 0.881 and 1 / 8.389 ≈ 0.119. Raising both by 100
#    changes nothing: the common factor e¹⁰⁰ cancels in the fraction (which is why
#    subtracting the largest logit is safe).
#    </details>
#
# 4. The network gives the right class a probability of 0.5 on one image and
#    0.01 on another. What does each add to the cross-entropy loss, and which does
#    training push harder on?
#
#    <details><summary>Answer</summary>
#
#    −log 0.5 ≈ 0.69 and −log 0.01 ≈ 4.61. The second image costs almost seven times as much,
#    and its gradient is larger too (the gradient of the loss with respect to the right
#    class's logit is p − 1: −0.5 against −0.99), so training pushes harder on the image it
#    gets most wrong.
#    </details>
#
# 5. The network says "star, 99% sure" about a cross. What does that tell you
#    about the word "sure"?
#
#    <details><summary>Answer</summary>
#
#    "Sure" is the softmax output: a score training pushed towards 1 for training images, not
#    a measured chance of being right. On inputs unlike its training data a network can be
#    confidently wrong; whether its probabilities match how often it is right (its
#    *calibration*) has to be measured on held-out data.
#    </details>
#
# 6. Remove `bn1` and `bn2` from the network and train again with the same
#    four epochs. What else is now missing from the convolutions, and what would
#    you expect to happen to training?
#
#    <details><summary>Answer</summary>
#
#    The convolutions were built with `bias=False`, because batch norm's shift made a bias
#    pointless; without batch norm they have no bias at all, so every map's zero point is
#    fixed. To compare fairly, turn the bias back on (`bias=True`). Without batch norm,
#    expect training at the same learning rate to be slower or less stable, because the scale
#    of each layer's inputs now drifts as the weights change; with four epochs the accuracy
#    may come out lower. Try it: that is an experiment, not something this lesson measured.
#    </details>
#
# 7. A colleague evaluates with `with torch.no_grad(): model(x_test)` but never
#    calls `model.eval()`. Name two things that go wrong.
#
#    <details><summary>Answer</summary>
#
#    Batch norm uses each batch's own statistics instead of the running ones, so a test
#    image's answer depends on the other images in its batch (and the results change with the
#    batch size); and every forward pass updates the running statistics with test data,
#    changing the model the next time it is evaluated properly. `no_grad` only saves memory;
#    it fixes neither.
#    </details>
#
# 8. Why do we pick the number of epochs on the validation set and not on the
#    test set?
#
#    <details><summary>Answer</summary>
#
#    Choosing the number of epochs by looking at a score fits that choice to the images
#    behind the score, so the score becomes optimistic. If that score is the test accuracy,
#    nothing is left to estimate honestly how the network does on new images; the validation
#    set takes the bias so that the test set does not.
#    </details>
#
# **Exercise:** [ex04 · A CNN classifier](../exercises/ex04_cnn_classifier/ex04_cnn_classifier.ipynb) —
# write a stable softmax, the network, one training epoch and the evaluation.
#
# **Next:** [05 · Training on a GPU, and fast on a CPU](05_training_fast.ipynb).
