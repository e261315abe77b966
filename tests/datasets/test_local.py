"""Local MNIST / Fashion-MNIST / CIFAR-10 loaders, on tiny files written in the real formats."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from ganbench.datasets import DatasetUnavailable, local
from ganbench.registry import DATASETS

N_TRAIN, N_TEST = 20, 10


def write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if gz:
        with gzip.open(path.with_name(path.name + ".gz"), "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def idx_images(n: int, offset: int) -> np.ndarray:
    images = np.zeros((n, 28, 28), np.uint8)
    for i in range(n):
        images[i] = (np.arange(28 * 28).reshape(28, 28) + offset + i) % 256
    images[0, 0, 0], images[0, 27, 27] = 0, 255
    return images


def write_idx_set(folder: Path, gz: bool) -> dict[str, np.ndarray]:
    folder.mkdir(parents=True)
    arrays = {
        "train-images-idx3-ubyte": idx_images(N_TRAIN, 0),
        "train-labels-idx1-ubyte": np.arange(N_TRAIN) % 10,
        "t10k-images-idx3-ubyte": idx_images(N_TEST, 100),
        "t10k-labels-idx1-ubyte": (np.arange(N_TEST) * 3) % 10,
    }
    for name, array in arrays.items():
        write_idx(folder / name, array, gz)
    return arrays


def cifar_records(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    images[0] = 0
    images[0, 0] = 255  # red only
    return images, labels


def write_cifar(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    folder.mkdir(parents=True)
    batches = {name: cifar_records(4, i) for i, name in enumerate(local.CIFAR_FILES)}
    for name, (images, labels) in batches.items():
        records = np.concatenate([labels[:, None], images.reshape(len(images), -1)], axis=1)
        (folder / name).write_bytes(records.tobytes())
    return batches


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv(local.ENV_VAR, str(tmp_path))
    local.clear_cache()
    yield tmp_path
    local.clear_cache()


def expected_pixels(images: np.ndarray) -> torch.Tensor:
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2))).astype(np.float32)
    return torch.from_numpy(padded / 255 * 2 - 1).unsqueeze(1)


@pytest.mark.parametrize("name,sub,gz", [("mnist", "mnist", True), ("mnist", "MNIST/raw", False),
                                         ("fashion_mnist", "fashion_mnist", False), ("fashion_mnist", "FashionMNIST/raw", True)])
def test_idx_sets_load_padded_in_unit_range(root, name, sub, gz):
    arrays = write_idx_set(root / sub, gz)
    data = DATASETS.get(name)()
    assert data.name == name and data.n_classes == 10 and data.shape == (1, 32, 32)
    assert data.train_images.shape == (N_TRAIN, 1, 32, 32) and data.test_images.shape == (N_TEST, 1, 32, 32)
    assert data.train_images.dtype == torch.float32
    assert data.train_images.min() == -1 and data.train_images.max() == 1
    assert data.train_images[0, 0, 2, 2] == -1 and data.train_images[0, 0, 29, 29] == 1  # pixel 0 and 255
    for images in (data.train_images, data.test_images):  # 2 pixels of background each side
        assert (images[..., :2, :] == -1).all() and (images[..., -2:, :] == -1).all()
        assert (images[..., :2] == -1).all() and (images[..., -2:] == -1).all()
    torch.testing.assert_close(data.train_images, expected_pixels(arrays["train-images-idx3-ubyte"]))
    torch.testing.assert_close(data.test_images, expected_pixels(arrays["t10k-images-idx3-ubyte"]))
    assert data.train_labels.tolist() == arrays["train-labels-idx1-ubyte"].tolist()
    assert data.test_labels.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    assert data.train_labels.dtype == torch.int64


def test_cifar10_binary_channel_major(root):
    batches = write_cifar(root / "cifar10" / "cifar-10-batches-bin")
    data = DATASETS.get("cifar10")()
    assert data.shape == (3, 32, 32) and data.n_classes == 10
    assert len(data.train_images) == 5 * 4 and len(data.test_images) == 4
    red = data.train_images[0]
    assert (red[0] == 1).all() and (red[1] == -1).all() and (red[2] == -1).all()
    train = np.concatenate([batches[n][0] for n in local.CIFAR_TRAIN]).astype(np.float32)
    torch.testing.assert_close(data.train_images, torch.from_numpy(train / 255 * 2 - 1))
    assert data.train_labels.tolist() == np.concatenate([batches[n][1] for n in local.CIFAR_TRAIN]).tolist()
    assert data.test_labels.tolist() == batches[local.CIFAR_TEST][1].tolist()


def test_cifar10_files_directly_in_folder(root):
    write_cifar(root / "cifar10")
    assert DATASETS.get("cifar10")().train_images.shape == (20, 3, 32, 32)


def test_parsed_once_per_folder(root):
    write_idx_set(root / "mnist", gz=False)
    assert DATASETS.get("mnist")().train_images is DATASETS.get("mnist")().train_images


def test_a_set_names_its_folder_and_content_hash_and_a_changed_file_is_read_again(root):
    write_idx_set(root / "mnist", gz=True)
    first = DATASETS.get("mnist")()
    assert first.identity() == {"origin": f"local files in {root / 'mnist'}", "data_hash": first.data_hash}
    assert len(first.data_hash) == 16 and DATASETS.get("mnist")().data_hash == first.data_hash
    changed = idx_images(N_TEST, 100)
    changed[3, 5, 5] ^= 1  # one pixel of one test image, same file size
    write_idx(root / "mnist" / "t10k-images-idx3-ubyte", changed, gz=True)
    second = DATASETS.get("mnist")()  # the same process: the file's time and size key the parse cache
    assert second.data_hash != first.data_hash
    assert not torch.equal(second.test_images, first.test_images)
    assert torch.equal(second.train_images, first.train_images)


def test_two_folders_of_different_images_train_two_feature_networks(root, tmp_path, monkeypatch):
    from ganbench.metrics.features import cache_path, load_feature_net

    nets = []
    for i, folder in enumerate(["a", "b"]):
        write_idx_set(root / folder / "mnist", gz=False)
        if i:  # the second folder: one training image differs
            images = idx_images(N_TRAIN, 0)
            images[7, 10, 10] += 1
            write_idx(root / folder / "mnist" / "train-images-idx3-ubyte", images, gz=False)
        monkeypatch.setenv(local.ENV_VAR, str(root / folder))
        data = DATASETS.get("mnist")()
        nets.append((data, cache_path(data, cache_dir=tmp_path / "cache"), load_feature_net(data, cache_dir=tmp_path / "cache")))
    (a, path_a, _), (b, path_b, _) = nets
    assert a.data_hash != b.data_hash and path_a != path_b
    assert a.data_hash in path_a.name and b.data_hash in path_b.name
    assert sorted(p.name for p in (tmp_path / "cache" / "features").iterdir()) == sorted([path_a.name, path_b.name])
    meta = torch.load(path_b, weights_only=True)["meta"]
    assert meta["data_hash"] == b.data_hash and meta["data_origin"] == f"local files in {root / 'b' / 'mnist'}"


@pytest.mark.parametrize("name,folder,files", [("mnist", "mnist", local.IDX_FILES),
                                               ("fashion_mnist", "fashion_mnist", local.IDX_FILES),
                                               ("cifar10", "cifar10/cifar-10-batches-bin", local.CIFAR_FILES)])
def test_missing_files_name_folder_and_files(root, name, folder, files):
    with pytest.raises(DatasetUnavailable) as info:
        DATASETS.get(name)()
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert repr(name) in message and str(root / folder) in message and "GANBENCH_DATA_DIR" in message
    assert "downloads nothing" in message
    assert all(f in message for f in files)


def test_partial_set_lists_the_missing_file(root):
    write_idx_set(root / "mnist", gz=True)
    (root / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetUnavailable, match=r"missing there: t10k-labels-idx1-ubyte\."):
        DATASETS.get("mnist")()


def test_cifar_python_version_is_refused(root):
    (root / "cifar10" / "cifar-10-batches-py").mkdir(parents=True)
    (root / "cifar10" / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"not unpickled")
    with pytest.raises(DatasetUnavailable, match="binary version"):
        DATASETS.get("cifar10")()


@pytest.mark.parametrize("gz", [False, True])
def test_wrong_magic_names_the_file(root, gz):
    write_idx_set(root / "mnist", gz)
    bad = root / "mnist" / ("train-labels-idx1-ubyte" + (".gz" if gz else ""))
    write_idx(root / "mnist" / "train-labels-idx1-ubyte", np.zeros((N_TRAIN, 1), np.uint8), gz)  # 2-D: magic 0x802
    with pytest.raises(ValueError, match="magic number 0x00000802") as info:
        DATASETS.get("mnist")()
    assert str(bad) in str(info.value)


def test_truncated_cifar_batch_names_the_file(root):
    write_cifar(root / "cifar10")
    bad = root / "cifar10" / "data_batch_3.bin"
    bad.write_bytes(bad.read_bytes()[:-1])
    with pytest.raises(ValueError, match="data_batch_3.bin"):
        DATASETS.get("cifar10")()


def test_data_root_default_is_relative_data(monkeypatch, tmp_path):
    monkeypatch.delenv(local.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    assert local.data_root() == tmp_path.resolve() / "data"


def test_validate_names_a_damaged_local_file_and_exits_2(root, tmp_path, capsys):
    from ganbench.cli import main

    write_cifar(root / "cifar10")
    bad = root / "cifar10" / "data_batch_2.bin"
    bad.write_bytes(bad.read_bytes()[:-7])
    suite = tmp_path / "s.yaml"
    suite.write_text("name: c\nseeds: [0]\nbudget: {steps: 1, eval_every: 1}\n"
                     "grid: {model: [dcgan], loss: [hinge], dataset: [cifar10]}\nparams: {hidden: 8}\n")
    assert main(["validate", str(suite)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "grid: dataset 'cifar10'" in err and "data_batch_2.bin" in err and "Traceback" not in err
