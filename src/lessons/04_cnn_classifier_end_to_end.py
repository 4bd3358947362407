# %% [markdown]
# # 04 · A CNN classifier, end to end
#
# Lessons 01–03 gave us the parts: pixels as a tensor, convolution, pooling. Now
# we assemble them into a whole classifier and follow a 32×32 image all the way
# from pixels to a sentence such as "circle, 87% sure". Then we train it, read
# its mistakes, replay its forward pass stage by stage, and feed it a shape we
# draw ourselves.
#
# **In this lesson you will**
# 1. build a two-block CNN and read off the shape and the parameter count at every stage;
# 2. turn logits into probabilities with softmax, and probabilities into a prediction;
# 3. train the network, then read its loss curves, its confusion matrix and its most confident mistakes;
# 4. replay the forward pass stage by stage, and classify a shape you draw.
#
# **Runtime:** about 30 s on a 2-core laptop CPU (measured in JupyterLab). No GPU, no internet.

# %%
from collections import OrderedDict

import torch
from torch import nn

import course_utils as cu

device = cu.setup()

# %% [markdown]
# ## 1 · The task: name the shape
#
# We use the course's drawn shapes: 32×32 grayscale images of five classes, each
# shape at a random position, size and rotation, with a little pixel noise.
# 6,000 images train the network; 2,000 others, drawn with a different random
# seed, are held out to test it.

# %%
shapes = cu.data.load("shapes", n_train=6000, n_test=2000)
names = shapes["train"].features["label"].names
x_train, y_train = cu.data.to_tensors(shapes["train"])
x_test, y_test = cu.data.to_tensors(shapes["test"])
cu.show_images(x_train[:10], [names[i] for i in y_train[:10]], ncols=10,
               alt="Ten 32-by-32 training images: bright circles, squares, triangles, crosses and stars "
                   "on dark backgrounds, each titled with its class.")
x_train.shape, x_test.shape, names

# %% [markdown]
# ## 2 · The network, block by block
#
# A **conv block** does four things in a row:
#
# 1. a 3×3 convolution with padding 1: every filter slides over the image and
#    makes one feature map of the same size (lesson 03);
# 2. batch normalisation: each map is shifted and scaled to a standard range,
#    which lets training take large steps without blowing up (Ioffe & Szegedy,
#    2015, arXiv:1502.03167). It adds its own shift, so the convolution needs
#    no bias;
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
# to evaluation mode and turn gradients off, because we only look.

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
f"{total:,} parameters in all; fc1 alone holds {model.fc1.weight.numel() + model.fc1.bias.numel():,} of them"

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
cu.models.count_params(cu.models.small_cnn(len(names))) == total

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
# ## 4 · Training
#
# Training repeats one step many times: take a batch of images, compute the
# logits, measure the cross-entropy loss against the true labels, compute the
# gradients and nudge every weight downhill:
#
# ```python
# logits = model(xb)
# loss = nn.functional.cross_entropy(logits, yb)
# optimizer.zero_grad()     # forget the previous batch's gradients
# loss.backward()           # gradients of the loss for every parameter
# optimizer.step()          # move each parameter a little against its gradient
# ```
#
# `cu.fit` runs this loop over shuffled batches for a few epochs (an epoch is
# one pass over the training set), with the AdamW optimiser and a learning rate
# that warms up and then cools down; after each epoch it measures the held-out
# accuracy. In the exercise you write the loop yourself, and lesson 05 takes
# apart every choice that makes it fast.

# %%
history = cu.fit(model, (x_train, y_train), (x_test, y_test), epochs=4, lr=3e-3)
cu.show_history(history, title="Training the two-block CNN on 6,000 shapes")

# %%
result = cu.evaluate(model, (x_test, y_test))
f"held-out accuracy: {result['accuracy']:.2%} on {len(x_test):,} test images"

# %% [markdown]
# Both curves flatten out within four epochs, and the test accuracy sits close to
# the training accuracy, so the network has not just memorised its 6,000 training
# images. Here is the same first image again, now through the trained network:

# %%
probs = cu.predict(model, x_train[:1])[0]
describe(probs), f"truth: {names[y_train[0]]}"

# %% [markdown]
# ## 5 · Reading the results
#
# A single accuracy number hides *which* classes get confused. The confusion
# matrix counts, for every true class (row), how often the network predicted
# each class (column); a perfect classifier puts everything on the diagonal.

# %%
test_probs = cu.predict(model, x_test)
test_preds = test_probs.argmax(dim=1)
cm = cu.show_confusion(test_preds, y_test, names, title="Held-out shapes: true class against prediction")

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
                   alt=f"The {len(worst)} held-out images the network got wrong with the highest confidence, "
                       "each titled with its true class and the network's prediction.")
f"{len(wrong)} mistakes out of {len(y_test):,}"

# %% [markdown]
# Look at what the mistakes have in common: typically small shapes, shapes cut
# by the image border, or a triangle or star turned so that it resembles its
# neighbour class. The network only knows the variations it was shown.

# %% [markdown]
# ## 6 · Replay: follow the signal through the network
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
# probabilities update at once. Notice how the early maps of a cross and a
# square look alike (edges everywhere), while the later stages pull them apart.
#
# (A static copy of this notebook shows a picture of the widget's first input instead.)

# %%
replay_widget = cu.widgets.replay_view(model, examples, names)

# %% [markdown]
# ## 7 · Draw your own
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
# - A CNN classifier is a pipeline: image → feature maps → pooled maps →
#   flattened vector → logits → softmax → prediction.
# - Conv blocks (convolution, batch norm, ReLU, pooling) keep few parameters
#   because each filter is reused everywhere; the dense layer after the
#   flatten holds almost all of them.
# - Softmax turns logits into probabilities that sum to 1; subtract the
#   largest logit first to avoid overflow. The argmax is the prediction.
# - Accuracy alone hides which classes are confused: read the confusion matrix
#   and look at the most confident mistakes.
#
# ## Check your understanding
#
# 1. Why does the first convolution have 144 weights, and where would 16 more
#    parameters come from if we kept its bias?
# 2. Without padding, a 3×3 convolution shrinks 32×32 to 30×30. What would the
#    flattened vector's length be after two unpadded blocks?
# 3. Two logits are 2.0 and 0.0. What are their softmax probabilities? What if
#    both are raised by 100?
# 4. The network says "star, 99% sure" about a cross. What does that tell you
#    about the word "sure"?
# 5. Remove `bn1` and `bn2` from the network and train again with the same
#    four epochs. What happens to the accuracy, and why might that be?
#
# **Exercise:** [ex04 · A CNN classifier](../exercises/ex04_cnn_classifier/ex04_cnn_classifier.ipynb) —
# write a stable softmax, the network, one training epoch and the evaluation.
#
# **Next:** [05 · Training on a GPU, and fast on a CPU](05_training_fast.ipynb).
