"""The standard image sets (MNIST, Fashion-MNIST, CIFAR-10) read from a local folder.

Nothing is ever downloaded: the files must already be under the data root, the
environment variable ``GANBENCH_DATA_DIR`` (default ``data/`` in the current
directory). Each set keeps its official train/test split. Files are parsed with numpy
only (IDX for the MNISTs, the *binary* CIFAR-10 records: the python version is a pickle,
and unpickling runs code). Parsed arrays are cached per process, keyed by folder and each
file's modification time and size, so many trials in one worker read the files once and a
changed file is read again. Each set's ``origin`` is its folder and its ``data_hash`` a sha256
of the decoded arrays (uint8 images and labels, as in the files), computed with the parse.

    <root>/mnist/          train-images-idx3-ubyte[.gz] ... (or <root>/MNIST/raw/)
    <root>/fashion_mnist/  the same four names            (or <root>/FashionMNIST/raw/)
    <root>/cifar10/        data_batch_1.bin ... data_batch_5.bin, test_batch.bin
                           (or <root>/cifar10/cifar-10-batches-bin/)
"""
from __future__ import annotations

import gzip
import math
import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ganbench.datasets.base import DatasetUnavailable, content_hash
from ganbench.datasets.images import ImageDataset, to_unit_range
from ganbench.registry import DATASETS

ENV_VAR = "GANBENCH_DATA_DIR"
DEFAULT_ROOT = "data"

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR_TRAIN = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
CIFAR_TEST = "test_batch.bin"
CIFAR_FILES = (*CIFAR_TRAIN, CIFAR_TEST)
CIFAR_RECORD = 1 + 3 * 32 * 32  # one label byte, then R, G, B planes of 32x32
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
#: background padding on each side: 28x28 -> 32x32 (as LeNet-5 fed MNIST)
MNIST_PAD = 2


def data_root() -> Path:
    """The folder that holds one sub-folder per data set: $GANBENCH_DATA_DIR, else ./data (absolute)."""
    return Path(os.environ.get(ENV_VAR) or DEFAULT_ROOT).expanduser().resolve()


def clear_cache() -> None:
    """Forget parsed arrays (tests that rewrite the files; nothing else needs it)."""
    _PARSED.clear()


# -- locating files ----------------------------------------------------------------------


def _find(folder: Path, name: str, gz_ok: bool) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz") if gz_ok else (folder / name,):
        if candidate.is_file():
            return candidate
    return None


def _unavailable(dataset: str, folders: list[Path], files: tuple[str, ...], gz_ok: bool, hint: str = "") -> DatasetUnavailable:
    primary = folders[0]
    missing = [f for f in files if _find(primary, f, gz_ok) is None]
    also = f" (also searched {', '.join(str(f) for f in folders[1:])})" if len(folders) > 1 else ""
    each = " (each plain or .gz)" if gz_ok else ""
    where = os.environ.get(ENV_VAR)
    root = f"{ENV_VAR}={where}" if where else f"./{DEFAULT_ROOT} ({ENV_VAR} is unset)"
    partial = f"; missing there: {', '.join(missing)}" if len(missing) < len(files) else ""
    return DatasetUnavailable(
        f"dataset {dataset!r} is unavailable: expected {', '.join(files)}{each} in {primary}{also}{partial}. "
        f"Data root: {root}. ganbench downloads nothing: copy the files into {primary} or set {ENV_VAR}.{hint}"
    )


def locate(dataset: str) -> Path:
    """The folder holding every file of ``dataset`` (mnist, fashion_mnist, cifar10), else DatasetUnavailable.

    Cheap (no parsing): a ``validate`` step can call it before any trial starts.
    """
    root = data_root()
    if dataset in _IDX_FOLDERS:
        folders = [root / sub for sub in _IDX_FOLDERS[dataset]]
        files, gz_ok, hint = IDX_FILES, True, ""
    elif dataset == "cifar10":
        folders = [root / "cifar10" / "cifar-10-batches-bin", root / "cifar10"]
        files, gz_ok, hint = CIFAR_FILES, False, _cifar_python_hint(root)
    else:
        raise ValueError(f"no local files are known for dataset {dataset!r}; known: {', '.join([*_IDX_FOLDERS, 'cifar10'])}")
    for folder in folders:
        if all(_find(folder, f, gz_ok) is not None for f in files):
            return folder
    raise _unavailable(dataset, folders, files, gz_ok, hint)


_IDX_FOLDERS = {"mnist": ("mnist", "MNIST/raw"), "fashion_mnist": ("fashion_mnist", "FashionMNIST/raw")}


def unavailable(dataset: str) -> DatasetUnavailable | None:
    """Why ``dataset`` cannot load here (its local files are missing), or None: present, or not a local-folder
    set. Cheap, as ``locate``."""
    if dataset not in (*_IDX_FOLDERS, "cifar10"):
        return None
    try:
        locate(dataset)
    except DatasetUnavailable as err:
        return err
    return None


def _cifar_python_hint(root: Path) -> str:
    candidates = [root / "cifar10" / "cifar-10-batches-py", root / "cifar-10-batches-py", root / "cifar10"]
    for folder in candidates:
        if (folder / "data_batch_1").is_file():
            return (
                f" Found the python (pickled) version in {folder}; ganbench does not unpickle it (pickle runs code). "
                f"Fetch the binary version instead (cifar-10-binary.tar.gz from {CIFAR_URL}) and extract it into {root / 'cifar10'}."
            )
    return ""


# -- parsing -----------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as f:
            return f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"{path}: not a readable gzip file ({e})") from e


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An IDX file of unsigned bytes (plain or .gz) -> uint8 array; a wrong magic number or size names the file."""
    raw = _read_bytes(path)
    expected_magic = 0x0800 + ndim  # two zero bytes, type 0x08 (unsigned byte), number of dimensions
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if magic != expected_magic:
        found = "a file shorter than 4 bytes" if magic is None else f"magic number {magic:#010x}"
        raise ValueError(f"{path}: not an IDX file of unsigned bytes with {ndim} dimensions: "
                         f"{found}, expected {expected_magic:#010x}")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(raw)} bytes)")
    dims = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    if len(raw) != header + math.prod(dims):
        raise ValueError(f"{path}: {len(raw)} bytes, but its header's shape {dims} needs {header + math.prod(dims)}")
    return np.frombuffer(raw, np.uint8, offset=header).reshape(dims)


def _check_labels(path: Path, labels: np.ndarray, n: int, n_classes: int = 10) -> None:
    if len(labels) != n:
        raise ValueError(f"{path}: {len(labels)} labels for {n} images")
    if len(labels) and labels.max() >= n_classes:
        raise ValueError(f"{path}: label {int(labels.max())} outside 0..{n_classes - 1}")


def _stamp(folder: Path, files: tuple[str, ...], gz_ok: bool) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime_ns, size) of each file: part of the parse cache's key, so a changed file is parsed again."""
    found = [_find(folder, name, gz_ok) for name in files]
    return tuple((str(path), path.stat().st_mtime_ns, path.stat().st_size) for path in found if path is not None)


#: (parser, folder) -> (the files' stamp, the parsed set): one entry per folder, parsed again when a file changed
_PARSED: dict[tuple[str, Path], tuple[tuple, tuple[Tensor, Tensor, Tensor, Tensor, str]]] = {}


def _parsed(parse, folder: Path, files: tuple[str, ...], gz_ok: bool) -> tuple[Tensor, Tensor, Tensor, Tensor, str]:
    key, stamp = (parse.__name__, folder), _stamp(folder, files, gz_ok)
    if key not in _PARSED or _PARSED[key][0] != stamp:
        _PARSED[key] = (stamp, parse(folder))
    return _PARSED[key][1]


def _idx_set(folder: Path) -> tuple[Tensor, Tensor, Tensor, Tensor, str]:
    return _parsed(_load_idx_set, folder, IDX_FILES, True)


def _load_idx_set(folder: Path) -> tuple[Tensor, Tensor, Tensor, Tensor, str]:
    """(train images, train labels, test images, test labels, content hash of the decoded arrays)."""
    out: list[Tensor] = []
    decoded: list[np.ndarray] = []
    for images_name, labels_name in (IDX_FILES[:2], IDX_FILES[2:]):
        images_path, labels_path = _find(folder, images_name, True), _find(folder, labels_name, True)
        assert images_path is not None and labels_path is not None  # locate() checked
        images, labels = read_idx(images_path, 3), read_idx(labels_path, 1)
        if images.shape[1:] != (28, 28):
            raise ValueError(f"{images_path}: images of {images.shape[1]}x{images.shape[2]}, expected 28x28")
        _check_labels(labels_path, labels, len(images))
        decoded += [images, labels]
        p = MNIST_PAD
        padded = np.pad(images, ((0, 0), (p, p), (p, p)))  # background is 0, so -1 after scaling
        out += [to_unit_range(torch.from_numpy(padded).unsqueeze(1), 255.0), torch.from_numpy(labels.astype(np.int64))]
    return out[0], out[1], out[2], out[3], content_hash(*decoded)


def read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 binary batch -> (uint8 images (N, 3, 32, 32), uint8 labels (N,))."""
    raw = path.read_bytes()
    if not raw or len(raw) % CIFAR_RECORD:
        raise ValueError(f"{path}: {len(raw)} bytes is not a whole number of CIFAR-10 records of {CIFAR_RECORD} bytes")
    records = np.frombuffer(raw, np.uint8).reshape(-1, CIFAR_RECORD)
    labels = records[:, 0]
    _check_labels(path, labels, len(records))
    return records[:, 1:].reshape(-1, 3, 32, 32), labels


def _cifar10(folder: Path) -> tuple[Tensor, Tensor, Tensor, Tensor, str]:
    return _parsed(_load_cifar10, folder, CIFAR_FILES, False)


def _load_cifar10(folder: Path) -> tuple[Tensor, Tensor, Tensor, Tensor, str]:
    """As ``_load_idx_set``, for CIFAR-10's binary batches."""
    train = [read_cifar_batch(folder / name) for name in CIFAR_TRAIN]
    test_images, test_labels = read_cifar_batch(folder / CIFAR_TEST)
    train_images = np.concatenate([images for images, _ in train])
    train_labels = np.concatenate([labels for _, labels in train])
    return (
        to_unit_range(torch.from_numpy(train_images), 255.0),
        torch.from_numpy(train_labels.astype(np.int64)),
        to_unit_range(torch.from_numpy(test_images.copy()), 255.0),
        torch.from_numpy(test_labels.astype(np.int64)),
        content_hash(train_images, train_labels, test_images, test_labels),
    )


# -- the registered sets -----------------------------------------------------------------


def _local_set(name: str, load) -> ImageDataset:
    folder = locate(name)
    *arrays, digest = load(folder)
    return ImageDataset(name, *arrays, n_classes=10, origin=f"local files in {folder}", digest=digest)


@DATASETS.register("mnist")
def mnist() -> ImageDataset:
    """MNIST from local IDX files, padded to 32x32, official 60k/10k split (no download)."""
    return _local_set("mnist", _idx_set)


@DATASETS.register("fashion_mnist")
def fashion_mnist() -> ImageDataset:
    """Fashion-MNIST from local IDX files, padded to 32x32, official 60k/10k split (no download)."""
    return _local_set("fashion_mnist", _idx_set)


@DATASETS.register("cifar10")
def cifar10() -> ImageDataset:
    """CIFAR-10 from the local binary batches, 3x32x32, official 50k/10k split (no download)."""
    return _local_set("cifar10", _cifar10)
