# %% [markdown]
# # 08 · What the leaderboard hides
#
# A leaderboard reports one number: accuracy on a test set. In this lesson we
# train networks that earn a fine number while reading the wrong thing, fail a
# group that the number averages away, or fall apart when the light changes.
# Then we ask the two questions a single number cannot answer: *for which
# groups of images is the model right, and what in the image does it use?*
#
# **In this lesson you will**
# 1. catch a shortcut: a CNN that scores well on a standard test and collapses once a spurious "scanner tag" stops agreeing with the label, measured by per-group and worst-group accuracy;
# 2. see what the network reads, with saliency maps and Grad-CAM;
# 3. fix the shortcut two ways (group reweighting, an augmentation that breaks the tag) and measure each fix and its cost;
# 4. measure dataset bias and distribution shift — an under-represented group, and six corruptions at five severities on real photos and on our CNN — and write down what you found in a model card.
#
# **Runtime:** {{runtime}} for Run All in JupyterLab on a 2-core CPU (measured by the course's tests;
# ten small trainings, and photos through an ImageNet network). No GPU, no internet.

# %%
import pandas as pd
import torch
from IPython.display import Markdown, display
from tqdm.auto import tqdm

import course_utils as cu

device = cu.setup()

# %% [markdown]
# ## 1 · A shortcut, caught in the act
#
# In 2018 Zech and colleagues trained CNNs to spot pneumonia on 158,323 chest
# X-rays from three hospital systems (Zech et al. 2018, *PLOS Medicine*
# 15(11): e1002683). Pneumonia was far more common in one hospital's images
# (34.2%) than in the other two (about 1%), so knowing the hospital alone
# already separated sick from healthy quite well: sorting images by hospital
# gave an AUC of 0.861 on the pooled data of two sites. And the networks could
# tell the hospital — even the department — from the image. A model can then
# score well by recognising *where* an X-ray was taken rather than *what* it
# shows; and in three of five comparisons the models did better on the
# hospitals they were trained on than on a hospital they had never seen.
#
# We rebuild that story with shapes we control completely. Two classes, circle
# and square, play "healthy" and "sick". Every image carries a **scanner tag**:
# a bright 3×3 mark at the top edge, on the left ("tag A", hospital A) or a
# little to the right ("tag B", hospital B). In training, the tag agrees with
# the label in 95% of the images: hospital A mostly sees circles, hospital B
# mostly squares. We draw three test sets that differ *only* in how the tag
# relates to the label:
#
# | test set | tag agrees with the label | what it asks |
# |---|---|---|
# | standard | 95%, like training | the leaderboard number |
# | uncorrelated | 50% | does the model work when the tag carries no information? |
# | reversed | 0% | what if every image comes from the "other" hospital? |

# %%
CLASSES = ("circle", "square")
TAGS = ("tag A", "tag B")


def load_tagged(train_agreement, test_agreement, n_train=2000, n_test=1000):
    """Circles and squares with a scanner tag; only the tag's agreement differs between calls."""
    return cu.data.load_shapes(n_train, n_test, seed=0, classes=CLASSES, tag_agreement=train_agreement,
                               test={"tag_agreement": test_agreement})


def tensors(split):
    """(x, y, tag): images (N, 1, 32, 32) in [0, 1], labels (N,), tags (N,)."""
    x, y = cu.data.to_tensors(split)
    return x, y, torch.as_tensor(split["tag"])


train_x, train_y, train_tag = tensors(load_tagged(0.95, 0.95)["train"])
tests = {name: tensors(load_tagged(0.95, agreement)["test"])
         for name, agreement in [("standard", 0.95), ("uncorrelated", 0.5), ("reversed", 0.0)]}
cu.fairness.group_counts(cu.fairness.group_names(train_y, train_tag, CLASSES, TAGS))

# %% [markdown]
# Two big groups and two small ones: 95% of the training images belong to
# "circle · tag A" or "square · tag B". Here are a few of each group; look at
# the top-left corner.

# %%
groups_train = cu.fairness.group_names(train_y, train_tag, CLASSES, TAGS)
order = sorted(set(groups_train))
picks = [i for g in order for i in [j for j, gj in enumerate(groups_train) if gj == g][:4]]
cu.show_images(train_x[picks], titles=[groups_train[i] for i in picks], ncols=8, size=1.5,
               alt="Sixteen 32-by-32 training images, four per group: circles and squares, each with a small "
                   "bright square mark on the top edge, at the far left for tag A and a few pixels right for tag B.")

# %% [markdown]
# The shapes themselves are easy to tell apart: in section 3 the same network,
# trained on images whose tag carries no information, gets almost all of them
# right (more than 85% in every group, checked there). We train a slim version
# of lesson 04's CNN (8 and 16 filters, so that
# each of this lesson's ten trainings stays short) on the tagged images.

# %%
def new_cnn(seed, num_classes=2):
    """A slim version of lesson 04's CNN, seeded so that every run starts from the same weights."""
    torch.manual_seed(seed)
    return cu.models.small_cnn(num_classes, 1, width=8, hidden=32).to(device)


baseline = new_cnn(0)
history = cu.fit(baseline, (train_x, train_y), tests["standard"][:2], epochs=6, seed=0)

# %% [markdown]
# The standard test is the leaderboard. Now the other two test sets, and the
# accuracy within each **group** (class × tag) of the uncorrelated test set,
# where the four groups are about equally common. The lowest of those is the
# **worst-group accuracy** (Sagawa et al. 2020, *Distributionally robust neural
# networks for group shifts*, ICLR).

# %%
def predictions(model, x):
    return cu.predict(model, x).argmax(1)


def measure(model):
    """Average accuracy on each test set, and group accuracies on the uncorrelated one."""
    out = {name: float((predictions(model, x) == y).float().mean()) for name, (x, y, tag) in tests.items()}
    x, y, tag = tests["uncorrelated"]
    out["groups"] = cu.fairness.group_accuracy(predictions(model, x), y, cu.fairness.group_names(y, tag, CLASSES, TAGS))
    return out


results = {"baseline": measure(baseline)}
cu.fairness.group_table(results)

# %%
b = results["baseline"]
cu.expect(b["reversed"] < 0.3, "on the reversed test set the baseline falls far below chance", reversed=b["reversed"])
display(Markdown(
    f"On the standard test the baseline scores **{b['standard']:.1%}**. Take away the tag's information and it "
    f"falls to **{b['uncorrelated']:.1%}** (chance is 50%); reverse the tag and it drops to "
    f"**{b['reversed']:.1%}**, far below chance. Its worst group, "
    f"*{min(b['groups'], key=b['groups'].get)}*, is right **{min(b['groups'].values()):.1%}** of the time."))

# %%
cu.show(cu.fairness.figure_group_accuracy({"baseline": b["groups"]}, chance=0.5,
                                          title="Baseline CNN, uncorrelated test set: accuracy per group"),
        alt="Bar chart of the baseline's accuracy in four groups: "
            + ", ".join(f"{g} {v:.0%}" for g, v in b["groups"].items()) + "; a dashed line marks chance at 50%.")
agreeing = {f"{c} · {t}" for i, c in enumerate(CLASSES) for j, t in enumerate(TAGS) if i == j}
cu.expect(min(v for g, v in b["groups"].items() if g in agreeing) > 0.9
          and max(v for g, v in b["groups"].items() if g not in agreeing) < 0.5,
          "nearly perfect when the tag agrees with the label, wrong most of the time when it does not",
          groups=b["groups"])

# %% [markdown]
# The network is nearly perfect when the tag agrees with the label and wrong
# most of the time when it does not: it reads the tag, not the shape. The standard
# test set cannot show this, because 95% of its images come from the two
# groups where the tag happens to be right.
#
# That is no accident of this test set. An average accuracy **is** a weighted
# mean of group accuracies, weighted by how common each group is in the test
# set. Plug the standard test's mix of groups into the group accuracies we just
# measured on the uncorrelated test, and we recover the leaderboard number:

# %%
x, y, tag = tests["standard"]
standard_mix = cu.fairness.group_counts(cu.fairness.group_names(y, tag, CLASSES, TAGS))
predicted = cu.fairness.accuracy_under_mix(b["groups"], standard_mix)
cu.expect(abs(predicted - b["standard"]) < 0.03, "the two numbers agree up to sampling noise",
          predicted=predicted, measured=b["standard"])
{"mix of standard test": standard_mix,
 "predicted from group accuracies": round(predicted, 3),
 "measured on the standard test": round(b["standard"], 3)}

# %% [markdown]
# The two numbers agree up to sampling noise (each group of the uncorrelated
# test has about 250 images). A test set that mirrors the training mix simply
# multiplies the small groups by small weights.
#
# Why did the network take the tag when the shapes were easy? The tag is a
# single bright patch in a fixed place, the simplest feature that predicts 95%
# of the labels, and gradient descent picks up simple, predictive features
# first. Geirhos et al. (2020, *Shortcut learning in deep neural networks*,
# Nature Machine Intelligence 2: 665–673) collect many such cases and call
# them **shortcuts**: decision rules that work on the usual test set and fail
# on the data we actually care about.

# %% [markdown]
# ## 2 · See what it reads
#
# Two standard ways to ask a trained network which pixels it uses:
#
# - A **saliency map** (Simonyan, Vedaldi and Zisserman 2014, *Deep inside
#   convolutional networks*, ICLR workshop) is the size of the gradient of the
#   class's logit with respect to every input pixel: how much a tiny change of
#   that pixel would move the score. One backward pass gives it.
# - **Grad-CAM** (Selvaraju et al. 2017, ICCV) works one level up. It takes the
#   feature maps of a late convolutional layer, weighs each map by the average
#   gradient of the class logit with respect to it, keeps the positive part of
#   the weighted sum and stretches it to the image size: a coarse map of the
#   regions whose features pushed the score *up*.
#
# Saliency is short enough to write here. Putting the model in eval mode
# matters: batch normalisation must use its stored statistics, and we want the
# gradient for the network that makes the predictions. We look at the first two
# test images of each group, explaining the class the baseline predicted.

# %%
def saliency(model, x, target):
    model.eval()
    x = x.to(device).clone().requires_grad_(True)
    logits = model(x)
    (grad,) = torch.autograd.grad(logits[torch.arange(len(x)), target].sum(), x)
    return grad.abs().amax(dim=1).cpu()  # (N, H, W): the largest over the colour channels


x, y, tag = tests["uncorrelated"]
pred = predictions(baseline, x)
show = [int(i) for c, t in [(0, 0), (1, 1), (1, 0), (0, 1)] for i in torch.nonzero((y == c) & (tag == t))[:2, 0]]
maps = {"saliency": saliency(baseline, x[show], pred[show]),
        "Grad-CAM": cu.saliency.grad_cam(baseline, baseline.relu2, x[show], pred[show])}
torch.testing.assert_close(maps["saliency"], cu.saliency.saliency_map(baseline, x[show], pred[show]))


def roughness(maps):
    """(N, H, W) maps -> (N,): mean jump between neighbouring pixels over the mean value (speckle is high)."""
    jumps = (maps.diff(dim=-1).abs().mean((-2, -1)) + maps.diff(dim=-2).abs().mean((-2, -1))) / 2
    return jumps / maps.mean((-2, -1)).clamp_min(1e-12)


rough = {name: float(roughness(m).median()) for name, m in maps.items()}
cu.expect(rough["saliency"] > 2 * rough["Grad-CAM"], "the raw gradient is speckled; Grad-CAM is smooth", roughness=rough)
titles = [f"{CLASSES[y[i]]} · {TAGS[tag[i]]}\nsaid {CLASSES[pred[i]]}" for i in show]
cu.show(cu.saliency.figure_explanations(x[show], maps, titles, size=1.4,
                                        title="The baseline, explaining the class it predicted"),
        alt="Eight test images, two per group, with the baseline's saliency and Grad-CAM maps below them. "
            + " ".join(f"{t.replace(chr(10), ', ')}." for t in titles)
            + " Saliency is scattered speckle; Grad-CAM is a smooth blob on either the tag mark or the shape.")
{f"roughness of {name} (median)": round(r, 2) for name, r in rough.items()}

# %% [markdown]
# (The `assert_close` line checks our five-line `saliency` against the course's
# `cu.saliency.saliency_map`, which we use from now on.) The raw gradient is
# speckled: measured as the mean jump between neighbouring pixels relative to
# the map's mean, it is more than twice as rough as Grad-CAM (the line above). That noise is a known weakness of plain gradient maps (Smilkov et al.,
# *SmoothGrad: removing noise by adding noise*, arXiv:1706.03825, 2017); Grad-CAM
# is easier to read. Where does Grad-CAM peak? Over the whole uncorrelated test set, split by
# the predicted class:

# %%
TAG_STRIP = torch.zeros(32, 32, dtype=torch.bool)
TAG_STRIP[:5, :10] = True  # rows 0-4, columns 0-9: both tag positions and a pixel around them


def cam_peaks_on_tag(model, region=None):
    """For each predicted class: the share of test images whose Grad-CAM peaks inside the tag strip.

    With ``region`` ((N, 32, 32) bool, one mask per test image), the share that peaks inside that region instead.
    """
    x, y, tag = tests["uncorrelated"]
    pred = predictions(model, x)
    cam = cu.saliency.grad_cam(model, model.relu2, x, pred)
    masks = TAG_STRIP.expand(len(x), -1, -1) if region is None else region
    inside = masks.flatten(1).gather(1, cam.flatten(1).argmax(1, keepdim=True))[:, 0]
    return {f"said {name}": round(float(inside[pred == c].float().mean()), 3) for c, name in enumerate(CLASSES)}


# each test image's shape: its bright pixels outside the tag strip, grown by 2 pixels on every side
x_u = tests["uncorrelated"][0]
shape_area = torch.nn.functional.max_pool2d((x_u > 0.5).float(), 5, stride=1, padding=2)[:, 0].bool() & ~TAG_STRIP
peaks = cam_peaks_on_tag(baseline)
peaks_on_shape = cam_peaks_on_tag(baseline, shape_area)
cu.expect(peaks[f"said {CLASSES[1]}"] > 0.8 and peaks[f"said {CLASSES[0]}"] < 0.2
          and peaks_on_shape[f"said {CLASSES[0]}"] > 0.8,
          f"when the baseline says '{CLASSES[1]}', Grad-CAM points at the tag; when it says '{CLASSES[0]}', at the shape",
          peaks=peaks, on_shape=peaks_on_shape)
{"peak on the tag strip": peaks, "peak on the shape (2-pixel margin)": peaks_on_shape}

# %% [markdown]
# When the baseline says "square", Grad-CAM points at the tag B mark, whether
# the image shows a square or a circle. When it says "circle", Grad-CAM peaks
# on the shape (within 2 pixels of it) — even when the shape is a square. Does the baseline read
# circles after all? No: it has learned, roughly, "tag B means square,
# anything else means circle". Grad-CAM shows the features that push a score *up*, and the
# evidence for "circle" is just "a bright blob, and no tag B". The absence of a
# mark has no pixels to light up.
#
# So a map that highlights the object does not prove the network uses the
# object's shape. Adebayo et al. (2018, *Sanity checks for saliency maps*,
# NeurIPS) found that some popular methods draw nearly the same picture for a
# trained network and for one with random weights. A map is a hint to be
# tested by an experiment. The experiment here: keep every shape, paint over
# the tag, and stamp the *other* tag. If the network reads shapes, nothing
# changes.

# %%
def stamp_tag(xb, new_tag):
    """Paint over the tag strip with the rows just below it, then stamp new_tag (one per image)."""
    xb = xb.clone()
    xb[:, :, 1:4, :10] = xb[:, :, 5:8, :10]
    for t in range(len(TAGS)):
        xb[new_tag == t, :, 1:4, 1 + 4 * t: 4 + 4 * t] = 1.0  # the mark the scanner stamps
    return xb


def flip_rate(model, new_tag):
    """Share of uncorrelated-test predictions that change when each image gets new_tag."""
    x, y, tag = tests["uncorrelated"]
    return round(float((predictions(model, x) != predictions(model, stamp_tag(x, new_tag(tag)))).float().mean()), 3)


x, y, tag = tests["uncorrelated"]
cu.show_images(torch.cat([x[show[:4]], stamp_tag(x[show[:4]], 1 - tag[show[:4]])]), ncols=4, size=1.7,
               titles=[f"{CLASSES[y[i]]} · {TAGS[tag[i]]}" for i in show[:4]]
                      + [f"swapped to {TAGS[1 - tag[i]]}" for i in show[:4]],
               alt="Four test images, and below them the same images with the tag painted over and the other tag stamped.")
flips = {"baseline": {"same tag re-stamped": flip_rate(baseline, lambda t: t), "tag swapped": flip_rate(baseline, lambda t: 1 - t)}}
cu.expect(flips["baseline"]["same tag re-stamped"] < 0.05 and flips["baseline"]["tag swapped"] > 0.5,
          "re-stamping the same tag changes almost nothing; swapping it changes most of the baseline's answers",
          flips=flips)
flips

# %% [markdown]
# Re-stamping the same tag changes almost nothing, so painting over the strip
# is harmless; swapping the tag changes most of the baseline's answers. That is
# the decisive measurement: the baseline reads the tag.


# %% [markdown]
# ## 3 · Fix it, and measure the fix
#
# **Fix 1: group reweighting.** If we know each training image's group, we can
# make the loss count every (class, tag) cell equally: weigh each image by one
# over the size of its cell. The few dozen images of a small cell then weigh as
# much in total as the nine hundred-odd of a big one (the counts are printed
# below). `cu.fit` takes the weights as
# `sample_weights` and uses a weighted mean of the per-image losses.

# %%
cell = train_y * 2 + train_tag  # 4 cells: (class, tag)
counts = torch.bincount(cell, minlength=4).float()
weights = len(cell) / (4 * counts[cell])  # every cell sums to N / 4; the mean weight is 1
torch.testing.assert_close(weights, cu.fairness.balanced_weights(train_y, train_tag))
cu.expect(24 <= counts.min() <= 60 and 900 <= counts.max() < 1000,
          "a few dozen images in a small cell, nine hundred-odd in a big one", counts=counts)
{"images per cell": counts.int().tolist(), "weight per image": [round(float(w), 2) for w in len(cell) / (4 * counts)]}

# %%
reweighted = new_cnn(0)
cu.fit(reweighted, (train_x, train_y), epochs=6, seed=0, sample_weights=weights, progress=False)
results["reweighted"] = measure(reweighted)

# %% [markdown]
# **Fix 2: break the tag.** The experiment above told us where the shortcut
# lives. An augmentation can make it useless: in every training batch we stamp
# a *random* tag over the real one, with the `stamp_tag` we just wrote. The tag
# then agrees with the label only by chance, so it predicts nothing, and the
# network must learn the shapes. (This needs to know where the shortcut is;
# reweighting needs to know each image's group. Neither comes for free in real
# data.)

# %%
def randomise_tag(xb, generator):
    """A training augmentation: every image gets a random tag."""
    return stamp_tag(xb, torch.randint(0, len(TAGS), (len(xb),), generator=generator, device=xb.device))


cu.show_images(randomise_tag(train_x[picks[::2]], torch.Generator().manual_seed(0)), ncols=8, size=1.3,
               titles=[f"{CLASSES[train_y[i]]}, random tag" for i in picks[::2]],
               alt="Eight training images after the augmentation: each still shows one tag mark, now chosen at random.")

# %%
untagged = new_cnn(0)
cu.fit(untagged, (train_x, train_y), epochs=6, seed=0, augment=randomise_tag, progress=False)
results["tag randomised"] = measure(untagged)
cu.fairness.group_table(results)

# %%
cu.show(cu.fairness.figure_group_accuracy({name: r["groups"] for name, r in results.items()}, chance=0.5,
                                          title="Uncorrelated test set: accuracy per group, before and after the fixes"),
        alt="Grouped bar chart of accuracy in four groups for three models. "
            + " ".join(f"{name}: worst group {min(r['groups'].values()):.0%}, standard test {r['standard']:.0%}."
                       for name, r in results.items()))

# %%
r, u = results["reweighted"], results["tag randomised"]
cu.expect(min(r["groups"].values()) > min(b["groups"].values()) + 0.2 and r["standard"] < b["standard"],
          "reweighting lifts the worst group a long way, and pays for it on the standard test",
          reweighted=r, baseline=b)
cu.expect(min(u["groups"].values()) > min(b["groups"].values()) + 0.2,
          "the augmentation that breaks the tag raises worst-group accuracy too (the summary says both fixes do)",
          randomised=u, baseline=b)
cu.expect(min(u["groups"].values()) > 0.85,
          "trained on images whose tag carries no information, the same network gets almost all of them right "
          "(more than 85% in every group; section 1 says so)", randomised=u["groups"])
display(Markdown(
    f"Worst-group accuracy: **{min(b['groups'].values()):.0%}** for the baseline, **{min(r['groups'].values()):.0%}** "
    f"with reweighting, **{min(u['groups'].values()):.0%}** with the randomised tag. The price on the leaderboard "
    f"(standard test): {b['standard']:.1%} → {r['standard']:.1%} with reweighting, {u['standard']:.1%} with the "
    f"randomised tag."))

# %% [markdown]
# Reweighting lifts the worst group a long way, and it pays for it on the
# standard test: it stops using a feature that *is* right 95% of the time there.
# It also leans hard on the few dozen images of each small cell, which the network can
# memorise; Sagawa et al. (2020) found that reweighting and group DRO improve
# worst-group accuracy only with much stronger regularisation than usual
# (weight decay, early stopping) for exactly this reason. Breaking the tag
# removes the shortcut at its source and gives the network all 2,000 images to
# learn shapes from.
#
# Did the fixed models stop reading the tag? The same swap experiment, and the
# same Grad-CAM maps for the tag-randomised model:

# %%
for name, model in [("reweighted", reweighted), ("tag randomised", untagged)]:
    flips[name] = {"same tag re-stamped": flip_rate(model, lambda t: t), "tag swapped": flip_rate(model, lambda t: 1 - t)}
x, y, tag = tests["uncorrelated"]
pred_u = predictions(untagged, x)
maps_u = {"saliency": cu.saliency.saliency_map(untagged, x[show], pred_u[show]),
          "Grad-CAM": cu.saliency.grad_cam(untagged, untagged.relu2, x[show], pred_u[show])}
cu.show(cu.saliency.figure_explanations(x[show], maps_u, [f"{CLASSES[y[i]]} · {TAGS[tag[i]]}\nsaid {CLASSES[pred_u[i]]}"
                                                          for i in show], size=1.4,
                                        title="The tag-randomised model, explaining the class it predicted"),
        alt=f"The same eight test images with the tag-randomised model's saliency and Grad-CAM maps. Swapping the tag "
            f"changes {flips['tag randomised']['tag swapped']:.0%} of this model's predictions, against "
            f"{flips['baseline']['tag swapped']:.0%} of the baseline's.")
cu.expect(flips["tag randomised"]["tag swapped"] < 0.05,
          "swapping the tag changes almost none of the tag-randomised model's answers", flips=flips)
{"predictions changed by": flips, "Grad-CAM peaks on the tag (tag randomised)": cam_peaks_on_tag(untagged)}

# %% [markdown]
# Compare the two experiments. The swap test says the tag-randomised model has
# stopped reading the tag: swapping it changes almost none of its answers.
# Grad-CAM, asked where that model's evidence for "square" lies, may still
# point at the tag — look at the numbers above and the maps — because the tag
# *is* a small bright square, and features that detect squares respond to it.
# What changed is that the real square's edges now light up too. To put a
# number on that, we take the test squares a model calls "square" and compare
# its map along each square's outline (a band two pixels wide) with its
# map on the empty background, each map scaled to a peak of 1.

# %%
def outline_contrast(model):
    """Test squares the model calls square: mean Grad-CAM on the square's outline / mean on the background."""
    x, y, tag = tests["uncorrelated"]
    square = CLASSES.index("square")
    x = x[(predictions(model, x) == square) & (y == square)]
    cam = cu.saliency.grad_cam(model, model.relu2, x, torch.full((len(x),), square))
    cam = cam / cam.flatten(1).amax(1).clamp_min(1e-12)[:, None, None]
    shape = ((x[:, 0] > 0.5) & ~TAG_STRIP)[:, None].float()
    grown = torch.nn.functional.max_pool2d(shape, 3, 1, 1)[:, 0] > 0.5  # one pixel wider all round
    shrunk = -torch.nn.functional.max_pool2d(-shape, 3, 1, 1)[:, 0] > 0.5  # one pixel narrower
    outline, background = grown & ~shrunk & ~TAG_STRIP, ~grown & ~TAG_STRIP
    return float(cam[outline].mean() / cam[background].mean())


contrast = {name: outline_contrast(model) for name, model in [("baseline", baseline), ("tag randomised", untagged)]}
cu.expect(contrast["tag randomised"] > 1.5 * contrast["baseline"], "the real square's edges now light up too",
          contrast=contrast)
display(Markdown(f"Along a square's outline the map is **{contrast['tag randomised']:.1f}×** as bright as on the "
                 f"background for the tag-randomised model, and **{contrast['baseline']:.1f}×** for the baseline."))

# %% [markdown]
# A map shows which features respond; only an experiment shows which ones
# decide.

# %% [markdown]
# ### How strong must a shortcut be?
#
# We trained at 95% agreement. What happens at 50% (no shortcut at all), 75%,
# 90%, 99%? We train one baseline per strength and measure the group
# accuracies on the uncorrelated test; the standard-test accuracy at each
# strength then follows from the weighted-mean identity above, with groups
# mixed as in that strength's training data.

# %%
STRENGTHS = [0.5, 0.75, 0.9, 0.95, 0.99]
by_strength = {0.95: b}
for s in tqdm([s for s in STRENGTHS if s not in by_strength], desc="one training per strength"):
    sx, sy, _ = tensors(load_tagged(s, 0.95)["train"])
    model = new_cnn(0)
    cu.fit(model, (sx, sy), epochs=6, seed=0, progress=False, verbose=False)
    by_strength[s] = measure(model)
group_accs = [by_strength[s]["groups"] for s in STRENGTHS]


def mix(s):
    """Group frequencies when the tag agrees with the label with probability s (classes equally common)."""
    return {f"{c} · {t}": (s if i == j else 1 - s) for i, c in enumerate(CLASSES) for j, t in enumerate(TAGS)}


curves = {"standard test (same mix as training)": [cu.fairness.accuracy_under_mix(g, mix(s)) for g, s in zip(group_accs, STRENGTHS)],
          "uncorrelated test": [by_strength[s]["uncorrelated"] for s in STRENGTHS],
          "worst group": [min(g.values()) for g in group_accs]}
std = curves["standard test (same mix as training)"]
cu.expect(min(group_accs[0].values()) > 0.9 and min(std) > 0.9 and curves["worst group"][-1] < curves["worst group"][0] - 0.3
          and curves["uncorrelated test"][-1] < curves["uncorrelated test"][0] - 0.1,
          "at 50% every group is learned well; as the tag grows more reliable the leaderboard stays high while the "
          "uncorrelated test and the worst group sink", curves=curves)
(f"trained {len(STRENGTHS) - 1} more models; standard test between {min(std):.0%} and {max(std):.0%} at every "
 f"strength; worst group from {curves['worst group'][0]:.0%} at 50% to {curves['worst group'][-1]:.0%} at 99%")

# %%
explorer = cu.widgets.shortcut_explorer(STRENGTHS, curves, group_accs, chance=0.5, start=STRENGTHS.index(0.95))

# %% [markdown]
# Move the slider. At 50% the tag means nothing and every group is learned
# well: that model reads shapes. As the tag grows more reliable, the
# leaderboard number (standard test, drawn like the training data) stays high
# while the uncorrelated test and the worst group sink. The leaderboard cannot
# tell the shape reader from the tag reader.

# %% [markdown]
# ## 4 · Dataset bias: who is in the data?
#
# A shortcut is one way a dataset misleads. Another is who is missing from it.
# We train on all five shapes, but only 5% of the training images are drawn as
# **outlines**; the rest are filled. The test set has half of each, so that we
# can measure both groups. Then we compare with two remedies: reweighting the
# rare style, and simply drawing a training set with 50% outlines.

# %%
SHAPES = cu.shapes.SHAPE_CLASSES
STYLES = ("filled", "outline")
bias = {}
for name, share_outline, reweight in tqdm([("5% outlines", 0.05, False), ("5% outlines, reweighted", 0.05, True),
                                           ("50% outlines", 0.5, False)], desc="three trainings"):
    ds = cu.data.load_shapes(2000, 1000, seed=3, outline=share_outline, test={"outline": 0.5})
    (sx, sy), style = cu.data.to_tensors(ds["train"]), torch.as_tensor(ds["train"]["style"])
    model = new_cnn(0, num_classes=5)
    cu.fit(model, (sx, sy), epochs=6, seed=0, progress=False, verbose=False,
           sample_weights=cu.fairness.balanced_weights(sy, style) if reweight else None)
    (tx, ty), tstyle = cu.data.to_tensors(ds["test"]), torch.as_tensor(ds["test"]["style"])
    p = predictions(model, tx)
    bias[name] = {**cu.fairness.group_accuracy(p, ty, [STYLES[s] for s in tstyle]),
                  "groups": cu.fairness.group_accuracy(p, ty, cu.fairness.group_names(ty, tstyle, SHAPES, STYLES))}
cu.fairness.group_table(bias).iloc[:, :3]

# %%
cu.show(cu.fairness.figure_group_accuracy({name: r["groups"] for name, r in bias.items()}, chance=0.2,
                                          title="Five shapes: accuracy per shape and drawing style"),
        alt="Grouped bars for ten groups (five shapes, filled or outline) and three models. "
            + " ".join(f"{n}: filled {r['filled']:.0%}, outline {r['outline']:.0%}, worst group "
                       f"{min(r['groups'], key=r['groups'].get)} {min(r['groups'].values()):.0%}." for n, r in bias.items()))

# %%
few, rw, many = bias["5% outlines"], bias["5% outlines, reweighted"], bias["50% outlines"]
cu.expect(few["outline"] < few["filled"] - 0.05 and many["outline"] > max(few["outline"], rw["outline"]),
          "the rare group is learned worst, and a training set that contains it is the real fix",
          few=few, reweighted=rw, many=many)
display(Markdown(
    f"With 5% outlines: filled **{few['filled']:.0%}**, outlines **{few['outline']:.0%}**, and the worst group "
    f"(*{min(few['groups'], key=few['groups'].get)}*) **{min(few['groups'].values()):.0%}**. Reweighting the rare "
    f"style: filled {rw['filled']:.0%}, outlines {rw['outline']:.0%}. A training set with 50% outlines: filled "
    f"{many['filled']:.0%}, outlines **{many['outline']:.0%}**."))

# %% [markdown]
# A group that is rare in training is learned worst, and the average hides it
# because the usual test set is just as lopsided. Reweighting cannot create
# information the data does not contain: about a hundred outline drawings,
# each weighing some twenty times as much as a filled one, are still about a
# hundred drawings, and weighing them heavily makes them easy to memorise. A training set that contains
# the group is the real fix. Bias in the data is fixed best in the data.
#
# The same thing happens at the scale of the world. Shankar et al. (2017,
# *No classification without representation*, NIPS workshop, arXiv:1711.08536)
# estimated where the photos of ImageNet and Open Images came from. Roughly 45%
# of the ImageNet images they could place were taken in the United States,
# while China and India, together more than a third of the world's people
# (United Nations, *World Population Prospects 2022*), contributed only a few
# percent (approximate figures). The skew shows in
# predictions. When Google announced the Inclusive Images challenge (Doshi
# 2018, Google AI blog; a NeurIPS 2018 competition), it showed a classifier
# trained on Open Images labelling a bride in a white Western wedding dress
# "bride", "wedding", "dress", while a bride in a traditional non-Western
# wedding dress got labels such as "clothing", "event" and "performance art":
# no bride, no wedding. The challenge: train on Open Images, mostly photographed
# in North America and Europe, and be tested on photos crowdsourced from other
# parts of the world.
#
# DeVries et al. (2019, *Does object recognition work for everyone?*, CVPR
# workshops) tested five commercial recognition services and one open model
# on photos of everyday household objects from 264 homes in 54 countries (the
# Dollar Street collection). The error rate was roughly 10% higher for homes
# living on less than US$50 a month than for homes with more than US$3,500
# (approximate), mostly because the same kind of object looks different from
# home to home (their example: dish soap) or sits in a different context (a
# toothbrush outside a bathroom). A dataset that rarely shows the second kind of home teaches a
# model to miss it.

# %% [markdown]
# ## 5 · Distribution shift: the same things, photographed differently
#
# Even with the right groups in the data, a deployed model meets images that
# differ from its test set: a darker room, a cheaper camera, heavier
# compression, a tilted phone. Hendrycks and Dietterich (2019, *Benchmarking
# neural network robustness to common corruptions and perturbations*, ICLR)
# built ImageNet-C: the ImageNet validation set under 15 corruptions at 5
# severities each. We use six everyday corruptions, five severities each
# (`cu.corruptions.CORRUPTIONS` lists the values; noise, blur, contrast and
# JPEG follow ImageNet-C's), each implemented with torchvision's functional
# transforms.

# %%
{kind: (cu.corruptions.PARAMETER_NAMES[kind], values) for kind, values in cu.corruptions.CORRUPTIONS.items()}

# %% [markdown]
# First, the real thing: lesson 06's ImageNet-trained EfficientNet-Lite0 on
# every photo of the course's gallery (`cu.data.PHOTOS`, eight of them).

# %%
pretrained = cu.models.pretrained_backbone(device)
GALLERY = list(cu.data.PHOTOS)
crops = cu.corruptions.photo_crops(pretrained, [cu.data.load_photo(name) for name in GALLERY])
KINDS = list(cu.corruptions.CORRUPTIONS)
cu.expect(len(GALLERY) == 8, "eight photos", gallery=GALLERY)
cu.show(cu.corruptions.figure_corruption_grid(crops[GALLERY.index("cat")], KINDS, generator=torch.Generator().manual_seed(0),
                                              title="The cat photo under six corruptions at five severities"),
        alt="A grid of the cat photo: one row per corruption (brightness, contrast, Gaussian noise, Gaussian blur, "
            "JPEG, rotation), one column per severity from clean to 5, each column visibly more damaged.")

# %% [markdown]
# Before we damage the photos, section 2's tools on this real network.
# Grad-CAM needs a late layer with feature maps: EfficientNet-Lite0's last one,
# `bn2` (its 1,280 maps of 7×7, after their activation). We explain four of
# the photos, each for the class the network ranks first.
#
# This network ends the way the original **class activation map** (CAM) of
# Zhou et al. (2016, *Learning deep features for discriminative localization*,
# CVPR) requires: global average pooling of those maps, then one linear layer.
# The logit of class $c$ is then $b_c + \frac{1}{49}\sum_k w_{ck} \sum_{i,j} A_k[i,j]$,
# so the gradient with respect to every cell of map $k$ is $w_{ck}/49$, and
# Grad-CAM's weighted sum is exactly the CAM, $\sum_k w_{ck} A_k$, divided by 49
# (before the ReLU and the upsampling). The cell checks that with the
# classifier's weights. Grad-CAM's contribution is that it also works for
# networks without that ending.

# %%
CAM_PHOTOS = ["cat", "coffee", "rocket", "cameraman"]
mean, std = torch.tensor(pretrained.mean).view(1, 3, 1, 1), torch.tensor(pretrained.std).view(1, 3, 1, 1)
normalised = ((crops - mean) / std)[[GALLERY.index(name) for name in CAM_PHOTOS]]  # what the network reads
pretrained.model.eval()  # already in eval mode; said here because batch norm must use its stored statistics
with torch.no_grad():
    features = pretrained.model.forward_features(normalised.to(device))  # the output of bn2: (4, 1280, 7, 7)
    clean_top = pretrained.model.forward_head(features).argmax(1)
    weights = pretrained.model.classifier.weight[clean_top]  # (4, 1280): each photo's class row
    cam = torch.einsum("nk,nkij->nij", weights, features) / features[0, 0].numel()
    cam = torch.nn.functional.interpolate(torch.relu(cam)[:, None], size=crops.shape[-2:], mode="bilinear")[:, 0]
clean_top, cam = clean_top.cpu(), cam.cpu()
real_maps = {"saliency": cu.saliency.saliency_map(pretrained.model, normalised, clean_top),
             "Grad-CAM (bn2, 7×7)": cu.saliency.grad_cam(pretrained.model, pretrained.model.bn2, normalised, clean_top)}
torch.testing.assert_close(real_maps["Grad-CAM (bn2, 7×7)"], cam, rtol=1e-4, atol=1e-4 * float(cam.max()))
real_titles = [f"{photo}: said {pretrained.classes[int(c)]}" for photo, c in zip(CAM_PHOTOS, clean_top)]
rough_real = {name: float(roughness(m).median()) for name, m in real_maps.items()}
cu.expect(rough_real["saliency"] > 3 * rough_real["Grad-CAM (bn2, 7×7)"], "the saliency maps show the same speckle",
          roughness=rough_real)
cu.show(cu.saliency.figure_explanations(crops[[GALLERY.index(name) for name in CAM_PHOTOS]], real_maps, real_titles, size=2.2,
                                        title="EfficientNet-Lite0 explaining its first choice for four photos"),
        alt="Four photos (" + "; ".join(real_titles) + ") with the network's saliency map and Grad-CAM map below "
            "each: the saliency maps are fine speckle, the Grad-CAM maps a coarse 7-by-7 blob.")
real_titles, {f"roughness of {name} (median)": round(r, 2) for name, r in rough_real.items()}

# %% [markdown]
# (The `assert_close` line is the CAM check: Grad-CAM from the gradients equals
# the classifier's weights times the feature maps.) The 7×7 grid makes
# Grad-CAM coarse, but on a real photo it is readable: check whether the warm
# region sits on the object named in the title or on its surroundings. The
# saliency maps show the same speckle as in section 2 (by the roughness measure
# from there, printed above, saliency is more than three times as rough as
# Grad-CAM here). As there, a map says which features pushed the score up, not
# which rule the network follows; the experiment below tests the network
# instead.
#
# The experiment: all eight photos under every corruption and severity, one
# forward pass over the eight photos for each corruption and severity. We ask
# a question that needs no judgement of what each photo "really" shows (the
# gallery has people, and ImageNet has no class for a person as such): **does the top-1
# label survive?** That is, is the network's first choice on the damaged photo
# still its first choice on the clean one? Hendrycks and Dietterich ask the
# same kind of question on their second benchmark, ImageNet-P: how often the
# top-1 prediction changes from one frame to the next in sequences of
# gradually perturbed copies of an image.

# %%
sweep = cu.corruptions.classify_corrupted(pretrained, crops, KINDS, seed=0)
names = pretrained.classes
top = sweep["probs"].argmax(-1)  # (photos, kinds, 6 severities)
survives = top == top[:, :, :1]  # the same label as on the clean photo
kept = sweep["probs"].gather(-1, top[:, :, :1, None].expand(-1, -1, 6, 1))[..., 0]  # probability on the clean top-1
surviving = {k: survives[:, i].float().mean(0).tolist() for i, k in enumerate(KINDS)}
confidence = {k: kept[:, i].mean(0).tolist() for i, k in enumerate(KINDS)}
clean = sweep["probs"][:, 0, 0]
display(Markdown(f"{len(GALLERY) * (1 + 5 * len(KINDS))} distinct images classified. The clean photos' top-1 labels: "
                 + "; ".join(f"{photo} *{names[int(c.argmax())]}* ({c.max():.0%})" for photo, c in zip(GALLERY, clean))
                 + "."))
survival_table = pd.DataFrame({("clean" if s == 0 else f"severity {s}"): [int(survives[:, i, s].sum()) for i in range(len(KINDS))]
                               for s in range(6)}, index=[k.replace("_", " ") for k in KINDS])
survival_table.index.name = f"photos (of {len(GALLERY)}) whose top-1 survives"
survival_table

# %%
cu.show(cu.corruptions.figure_severity_curves(
            surviving, extra=confidence, title=f"EfficientNet-Lite0 on the {len(GALLERY)} gallery photos under rising corruption",
            ylabel="photos whose top-1 survives (%)", extra_ylabel="probability on the clean top-1 class (%)",
            ax_titles=["top-1 label unchanged", "confidence in the clean top-1 (mean over photos)"]),
        alt="Two line charts against severity 0 to 5, one line per corruption. "
            + " ".join(f"{k.replace('_', ' ')}: the top-1 label survives on {100 * surviving[k][1]:.0f}% of the photos "
                       f"at severity 1 and {100 * surviving[k][-1]:.0f}% at severity 5; mean probability on the clean "
                       f"top-1 class {100 * confidence[k][0]:.0f}% clean, {100 * confidence[k][-1]:.0f}% at severity 5."
                       for k in KINDS))

# %%
mean_survival = survives[:, :, 1:].float().mean(dim=(0, 1))  # per severity, over photos and kinds
at_5 = {k: v[-1] for k, v in surviving.items()}
mildest = min(KINDS, key=lambda k: surviving[k][1])
cu.expect(mean_survival[-1] < mean_survival[0] - 0.2 and all(confidence[k][-1] < confidence[k][0] for k in KINDS),
          "labels and confidence drain away as severity rises", mean_survival=mean_survival, confidence=confidence)
cu.expect(max(at_5.values()) - min(at_5.values()) >= 0.5, "some corruptions hurt far more than others", at_5=at_5)
cu.expect(surviving[mildest][1] < 1, "even the mildest severity changes some labels", surviving=surviving)
display(Markdown(
    f"Over all six corruptions, the top-1 label survives on **{mean_survival[0]:.0%}** of the photos at severity 1 and "
    f"**{mean_survival[-1]:.0%}** at severity 5. At severity 1, the mildest, {mildest.replace('_', ' ')} already "
    f"changes the label of {int((~survives[:, KINDS.index(mildest), 1]).sum())} of the {len(GALLERY)} photos. "
    "At severity 5: " + "; ".join(f"{k.replace('_', ' ')} keeps {v:.0%}" for k, v in sorted(at_5.items(), key=lambda kv: kv[1]))
    + "."))

# %% [markdown]
# Eight photos are an anecdote, not a benchmark: ImageNet-C measures the same
# curves over the 50,000 validation images, and with eight photos every
# percentage above moves in steps of 12.5 points. But the pattern is the one
# Hendrycks and Dietterich report: as severity rises the network changes its
# mind and its confidence drains away, and some corruptions hurt far more than
# others. A label that survives is not necessarily right, either: the clean
# answers listed above are the starting point, right or wrong. Explore every
# photo, corruption and severity yourself (the check mark shows the clean
# photo's top-1 class):

# %%
explorer = cu.widgets.corruption_explorer(sweep["images"], sweep["probs"], GALLERY, KINDS, names,
                                          start=(GALLERY.index("coffee"), KINDS.index("gaussian_noise"), 3))

# %% [markdown]
# Now our own CNN: the tag-randomised model from section 3, on 500 images of
# its uncorrelated test set, under the same corruptions (blur scaled to
# 32-pixel images).

# %%
x, y, tag = (t[:500] for t in tests["uncorrelated"])  # 500 images keep the sweep short
cnn_curves = {}
gen = torch.Generator().manual_seed(0)
for kind in tqdm(KINDS, desc="corruptions"):
    cnn_curves[kind] = [float((predictions(untagged, cu.corruptions.corrupt(x, kind, s, gen)) == y).float().mean())
                        for s in range(6)]
cu.show(cu.corruptions.figure_severity_curves(cnn_curves, chance=0.5, ylabel="test accuracy (%)",
                                              title="Our tag-randomised CNN, circles vs squares, under corruption"),
        alt="Line chart of the CNN's test accuracy against severity for six corruptions: "
            + ", ".join(f"{k.replace('_', ' ')} {100 * v[0]:.0f}% to {100 * v[-1]:.0f}%" for k, v in cnn_curves.items())
            + "; a dashed line marks chance at 50%.")

# %%
cu.show(cu.corruptions.figure_corruption_grid(x[0], KINDS, generator=torch.Generator().manual_seed(0),
                                              title="One test shape under the six corruptions", size=1.0),
        alt="A grid of one 32-by-32 test shape under six corruptions at severities 0 to 5.")
noisy = predictions(untagged, cu.corruptions.corrupt(x, "gaussian_noise", 1, torch.Generator().manual_seed(0)))
square_share = float((noisy == 1).float().mean())
worst_kind = min(cnn_curves, key=lambda k: cnn_curves[k][-1])
cu.expect(cnn_curves[worst_kind][-1] < cnn_curves[worst_kind][0] - 0.2,
          "the corruptions cut our CNN's accuracy", curves=cnn_curves)
cu.expect(abs(square_share - 0.5) > 0.3, "under noise it falls back to mostly one class", square_share=square_share)
{"clean accuracy": round(cnn_curves["gaussian_noise"][0], 3),
 "accuracy at severity 1, per corruption": {k: round(v[1], 3) for k, v in cnn_curves.items()},
 "share predicted 'square' under noise, severity 1": round(square_share, 3)}

# %% [markdown]
# Look at severity 1, the mildest level, in the grid: would you find those shapes
# any harder to label than the clean ones? At its worst corruption, severity 5
# cuts our CNN's accuracy by more than 20 points (checked above), and the rest of
# the curves are in the chart. The lesson is the same one Hendrycks and Dietterich drew for ImageNet models: a
# network is robust to the variations its training data contained and to
# nothing else by default. Our CNN was trained on images with faint noise
# (standard deviation 0.03) and one fixed contrast range, so noise and contrast
# changes are outside its experience. When a network is lost it often falls
# back to mostly one class: here, under mild noise, the share it predicts
# "square" is more than 30 points away from the 50% of squares in the test set
# (the line above). Robustness is measured, not assumed —
# and the cheapest fix is to train with the corruption you expect (noise, blur,
# contrast augmentation).

# %% [markdown]
# ## 6 · Which groups does it fail, and which cue does it use?
#
# Mitchell et al. (2019, *Model cards for model reporting*, FAT\*) proposed
# that every released model come with a short **model card**: what it is for,
# what data it was trained and evaluated on, its metrics *per group*, and the
# known ways it fails. Here is one for our baseline, filled in from what this
# notebook measured.

# %%
def model_card(name, r, flip):
    groups = "\n".join(f"| {g} | {a:.1%} |" for g, a in r["groups"].items())
    return f"""**Model card: {name}** (a two-class CNN, circle vs square, 32×32 grayscale)

- **Training data:** 2,000 drawn shapes; a scanner tag agrees with the label in 95% of them.
- **Intended use:** teaching. Not for any decision about anything.
- **Leaderboard (standard test, tag agrees 95%):** {r['standard']:.1%}.
- **Uncorrelated test:** {r['uncorrelated']:.1%}; **reversed tag:** {r['reversed']:.1%}; **worst group:** {min(r['groups'].values()):.1%}.
- **Known shortcut:** reads the tag — swapping the tag and keeping the shape changes {flip:.0%} of its predictions.
- **Robustness:** not measured for this model (see the tag-randomised model in section 5).

| group (uncorrelated test) | accuracy |
|---|---|
{groups}
"""


display(Markdown(model_card("baseline", b, flips["baseline"]["tag swapped"])))

# %% [markdown]
# In the exercise you write the same for a model you train yourself, and you
# decide what a reader must be told.

# %% [markdown]
# ## Summary
#
# - One accuracy number is a weighted mean of group accuracies; a test set that
#   mirrors the training mix weighs the rare groups least. Report accuracy per
#   group and the **worst-group accuracy**.
# - Networks take **shortcuts**: a tag that agreed with the label 95% of the
#   time was learned instead of easy shapes. A test set where the shortcut is
#   uncorrelated or reversed exposes it. Saliency and Grad-CAM hint at what the
#   network reads, but they show evidence *for* a class, not the rule behind
#   it; a counterfactual test (swap the tag, keep the shape) settles it.
# - **Group reweighting** and an **augmentation that breaks the shortcut** both
#   raised worst-group accuracy; reweighting cost standard-test accuracy, and
#   both needed knowledge (group labels, where the tag is) that real data rarely
#   hands over.
# - An under-represented group is learned worst; more data from that group
#   helped it more than reweighting did. ImageNet's skew toward a few countries is
#   the same problem at scale.
# - Common corruptions — noise, blur, compression, contrast — change a
#   network's answers, cut its accuracy and drain its confidence; a network
#   copes with the variations its training data showed and with little else.
# - Ask which groups the model fails and which cue it relies on, and write the answer in a
#   model card.
#
# ## Check your understanding
#
# 1. A model scores 95% on a test set whose groups are 47.5%, 47.5%, 2.5% and
#    2.5% of the images. What is the lowest its worst-group accuracy could be?
#
#    <details><summary>Answer</summary>
#
#    0%. 95% overall means 5% of the images are wrong, and one small group holds only 2.5% of
#    them: all its images can be among the mistakes.
#    </details>
#
# 2. Why does the reversed test set fall *below* chance rather than to chance?
#
#    <details><summary>Answer</summary>
#
#    On the reversed test set the tag points to the wrong class on every image. A model that
#    reads the tag is therefore wrong on most images, which is worse than guessing; chance
#    would need its answers to be unrelated to the label, but here they are anti-related.
#    </details>
#
# 3. Reweighting needs group labels for the training set; randomising the tag
#    needs to know where the tag is. Name a real dataset where you would have
#    one but not the other.
#
#    <details><summary>Answer</summary>
#
#    For example, chest X-rays from several hospitals: the hospital of each image is recorded
#    (group labels), but nobody knows which pixels betray it (scanner noise, a burnt-in
#    marker). The reverse, a watermark whose place is known on photos whose source group is
#    not, works as an example too.
#    </details>
#
# 4. Our CNN was trained with only faint noise (standard deviation 0.03). Which augmentation would you add to
#    make it robust to Gaussian noise, and how would you check that it worked
#    without fooling yourself?
#
#    <details><summary>Answer</summary>
#
#    Gaussian-noise augmentation: add noise of random strength, up to about what you expect
#    in use, to each training batch. To check without fooling yourself: measure on a held-out
#    test set with fresh noise at several levels (including levels and seeds not used in
#    training), report clean accuracy too, and do not tune the augmentation on that test set;
#    tune it on a validation set.
#    </details>
#
# **Exercise:** [ex08 · What the leaderboard hides](../exercises/ex08_what_the_leaderboard_hides/ex08_what_the_leaderboard_hides.ipynb)
# — per-group metrics, balanced weights, saliency, corruptions, a fix that must
# reach a worst-group accuracy, and a model card.
#
# Next, the last lesson: [09 · Beyond one machine](09_beyond_one_machine.ipynb), where one training runs in several processes.
