"""Loaders of cs_conv.data and the X/O images of cs_conv.xo: shapes, dtypes, ranges, splits, errors.

CIFAR-10 is never downloaded: a few images are written in the official pickle format
(and packed as the official tar.gz) in a temporary folder, and fetched from a file:// URL.
"""

import hashlib
import pickle
import shutil
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cs_conv import data as cs_data
from cs_conv import xo
from cs_conv.layers import conv_forward_naive, max_pool_forward_naive

REPO_DATA = Path(cs_data.__file__).resolve().parent.parent / "data"
SPLITS = ("train", "val", "test")


# ----------------------------------------------------------------------------- data folder

def test_data_folder_is_beside_the_package(monkeypatch):
    monkeypatch.delenv(cs_data.DATA_ENV, raising=False)
    assert cs_data.find_data_dir() == REPO_DATA


def test_data_folder_can_be_moved_by_argument_or_environment(tmp_path, monkeypatch):
    shutil.copy(REPO_DATA / "digits.npz", tmp_path)
    assert cs_data.find_data_dir(tmp_path) == tmp_path
    monkeypatch.setenv(cs_data.DATA_ENV, str(tmp_path))
    assert cs_data.find_data_dir() == tmp_path
    assert cs_data.load_digits()["X_train"].shape == (1197, 1, 8, 8)


def test_missing_data_folder_says_how_to_point_at_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="CS_CONV_DATA"):
        cs_data.load_digits(tmp_path / "nowhere")


def test_a_data_folder_without_digits_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"digits\.npz"):
        cs_data.load_digits(tmp_path)


# ----------------------------------------------------------------------------- digits

def test_shipped_digits_are_the_export_and_small():
    assert cs_data.digits_sha256() == cs_data.DIGITS_SHA256
    assert (REPO_DATA / "digits.npz").stat().st_size < 100_000


def test_digits_shapes_dtypes_and_ranges():
    data = cs_data.load_digits()
    sizes = {"train": 1197, "val": 300, "test": 300}
    for split in SPLITS:
        X, y = data[f"X_{split}"], data[f"y_{split}"]
        assert X.shape == (sizes[split], 1, 8, 8), split
        assert X.dtype == np.float32 and y.dtype == np.int64, split
        assert 0.0 <= X.min() and X.max() <= 1.0, split
        assert set(np.unique(y)) <= set(range(10)), split
    # Grey levels are multiples of 1/16, and every class appears in every split.
    np.testing.assert_array_equal(data["X_train"] * 16, np.round(data["X_train"] * 16))
    assert all(len(np.unique(data[f"y_{split}"])) == 10 for split in SPLITS)
    assert data["class_names"] == tuple("0123456789")


def test_digits_splits_partition_the_set_and_repeat_with_the_seed():
    first, again, other = cs_data.load_digits(), cs_data.load_digits(), cs_data.load_digits(seed=1)
    for split in SPLITS:
        np.testing.assert_array_equal(first[f"X_{split}"], again[f"X_{split}"], err_msg=split)
    assert not np.array_equal(first["y_val"], other["y_val"])
    # Together the splits hold each of the 1797 images exactly once (as a multiset of rows).
    with np.load(REPO_DATA / "digits.npz") as archive:
        expected = sorted(map(bytes, archive["images"].reshape(1797, 64)))
    rows = np.concatenate([np.rint(first[f"X_{s}"] * 16).astype(np.uint8).reshape(-1, 64) for s in SPLITS])
    assert sorted(map(bytes, rows)) == expected


def test_digits_split_sizes_and_dtype_are_arguments():
    data = cs_data.load_digits(num_val=100, num_test=50, dtype=np.float64)
    assert (len(data["y_train"]), len(data["y_val"]), len(data["y_test"])) == (1647, 100, 50)
    assert data["X_val"].dtype == np.float64
    with pytest.raises(ValueError, match="cannot hold out"):
        cs_data.load_digits(num_val=1000, num_test=1000)


@settings(deadline=None, max_examples=50)
@given(n=st.integers(2, 300), val=st.integers(0, 150), test=st.integers(0, 150), seed=st.integers(0, 2**32 - 1))
def test_split_indices_partition_any_set(n, val, test, seed):
    if val + test >= n:
        with pytest.raises(ValueError, match="cannot hold out"):
            cs_data.split_indices(n, val, test, seed)
        return
    train, val_idx, test_idx = cs_data.split_indices(n, val, test, seed)
    assert (len(train), len(val_idx), len(test_idx)) == (n - val - test, val, test)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val_idx, test_idx])), np.arange(n))


def test_a_corrupt_digits_file_is_rejected(tmp_path):
    np.savez_compressed(tmp_path / "digits.npz", images=np.zeros((10, 8, 8), np.uint8), target=np.zeros(10))
    with pytest.raises(ValueError, match="not the digits export"):
        cs_data.load_digits(tmp_path)


# ----------------------------------------------------------------------------- X and O

# The lecture's 4x4 maps after filtering its X with each feature (mean of products),
# then 2x2 max pooling with stride 2 of the 7x7 map (ceil mode keeps the last row/column).
LECTURE_POOLED = np.array([
    [[1.00, 0.33, 0.55, 0.33], [0.33, 1.00, 0.33, 0.55], [0.55, 0.33, 1.00, 0.11], [0.33, 0.55, 0.11, 0.77]],
    [[0.55, 0.33, 0.55, 0.33], [0.33, 1.00, 0.55, 0.11], [0.55, 0.55, 0.55, 0.11], [0.33, 0.11, 0.11, 0.33]],
    [[0.33, 0.55, 1.00, 0.77], [0.55, 0.55, 1.00, 0.33], [1.00, 1.00, 0.11, 0.55], [0.77, 0.33, 0.55, 0.33]],
])


def test_lecture_x_and_filters_give_the_lectures_pooled_maps():
    x = xo.LECTURE_X.astype(float)[None, None]
    w = xo.LECTURE_FILTERS.astype(float)[:, None] / 9  # the lecture divides by the 9 pixels
    maps, _ = conv_forward_naive(x, w, np.zeros(3), {"stride": 1, "pad": 0})
    pooled, _ = max_pool_forward_naive(maps, {"pool_height": 2, "pool_width": 2, "stride": 2, "ceil_mode": True})
    # The slides cut values to two decimals (7/9 shows as 0.77).
    np.testing.assert_array_equal(np.trunc(pooled[0] * 100 + 1e-9) / 100, LECTURE_POOLED)


def test_lecture_patterns_are_drawn_exactly():
    expected_x = -np.ones((9, 9))
    for k in range(1, 8):
        expected_x[k, k] = expected_x[k, 8 - k] = 1
    np.testing.assert_array_equal(xo.LECTURE_X, expected_x)
    np.testing.assert_array_equal(xo.draw(0), expected_x)
    np.testing.assert_array_equal(xo.draw(1), xo.LECTURE_O)
    # The O is a closed ring: 16 ink pixels, symmetric under both flips and transposition.
    O = xo.LECTURE_O
    assert (O == 1).sum() == 16
    for image in (O[::-1], O[:, ::-1], O.T):
        np.testing.assert_array_equal(image, O)


def test_draw_moves_the_strokes():
    np.testing.assert_array_equal(xo.draw(0, shift=(1, 0))[1:], xo.LECTURE_X[:-1])
    np.testing.assert_array_equal(xo.draw(1, angle=90), xo.LECTURE_O)   # the ring's symmetry
    assert (xo.draw(0, scale=0.5) == 1).sum() < (xo.LECTURE_X == 1).sum()
    assert (xo.draw(0, width=1.0) == 1).sum() > (xo.LECTURE_X == 1).sum()
    with pytest.raises(ValueError, match="label must be 0"):
        xo.draw(2)


def test_xo_sets_are_balanced_deterministic_and_minus_one_or_one():
    data = cs_data.load_xo()
    for split, n in zip(SPLITS, (240, 80, 80), strict=True):
        X, y = data[f"X_{split}"], data[f"y_{split}"]
        assert X.shape == (n, 1, 9, 9) and X.dtype == np.float32 and y.dtype == np.int64, split
        assert set(np.unique(X)) == {-1.0, 1.0}, split
        assert (y == 0).sum() == (y == 1).sum() == n // 2, split
    np.testing.assert_array_equal(data["X_train"][0, 0], xo.LECTURE_X)
    np.testing.assert_array_equal(data["X_train"][1, 0], xo.LECTURE_O)
    assert set(data["kind_train"][2:]) == set(xo.XO_KINDS)
    again = cs_data.load_xo()
    np.testing.assert_array_equal(data["X_test"], again["X_test"])
    assert not np.array_equal(data["X_test"], cs_data.load_xo(seed=1)["X_test"])
    assert data["class_names"] == ("X", "O")


@settings(deadline=None, max_examples=60)
@given(label=st.sampled_from([0, 1]), dr=st.floats(-2, 2), dc=st.floats(-2, 2), scale=st.floats(0.5, 1.5),
       angle=st.floats(-180, 180), width=st.floats(0.6, 1.2))
def test_draw_always_gives_minus_one_or_one_pixels_with_some_ink(label, dr, dc, scale, angle, width):
    image = xo.draw(label, shift=(dr, dc), scale=scale, angle=angle, width=width)
    assert image.shape == (9, 9) and set(np.unique(image)) <= {-1.0, 1.0}
    # Every line passes within 0.5 of some pixel centre, and these strokes stay on the grid.
    assert (image == 1).any()


def test_xo_variants_differ_from_the_lecture_letters():
    images, labels, kinds = xo.make_xo(40, seed=3)
    originals = np.stack([xo.LECTURE_X, xo.LECTURE_O])
    changed = [not np.array_equal(images[k], originals[labels[k]]) for k in range(2, 40)]
    # A small turn of the ring can leave the O unchanged; nearly all copies must differ.
    assert sum(changed) >= 34
    with pytest.raises(ValueError, match="unknown kind"):
        xo.variant(0, "blur", np.random.default_rng(0))


# ----------------------------------------------------------------------------- photograph

def test_photo_shapes_ranges_and_credit():
    rgb = cs_data.load_photo()
    assert rgb.shape == (1, 3, 600, 512) and rgb.dtype == np.float32
    assert 0.0 <= rgb.min() and rgb.max() <= 1.0 and rgb.std() > 0.1
    gray = cs_data.load_photo(gray=True, dtype=np.float64)
    assert gray.shape == (1, 1, 600, 512)
    np.testing.assert_allclose(gray[0, 0], 0.299 * rgb[0, 0] + 0.587 * rgb[0, 1] + 0.114 * rgb[0, 2], atol=1e-6)
    small = cs_data.load_photo(gray=True, downsample=4, dtype=np.float64)
    assert small.shape == (1, 1, 150, 128)
    blocks = sum(gray[0, 0, i::4, j::4] for i in range(4) for j in range(4)) / 16
    np.testing.assert_allclose(small[0, 0], blocks, atol=1e-12)
    with pytest.raises(ValueError, match="downsample"):
        cs_data.load_photo(downsample=0)
    assert "Hopper" in cs_data.PHOTO_CREDIT and "public domain" in cs_data.PHOTO_CREDIT
    assert "grace_hopper.jpg" in (REPO_DATA / "CREDITS.txt").read_text()


def test_photo_is_matplotlibs_sample_byte_for_byte():
    digest = hashlib.sha256((REPO_DATA / "grace_hopper.jpg").read_bytes()).hexdigest()
    assert digest == "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"


# ----------------------------------------------------------------------------- CIFAR-10

def fake_pixel(n: int, c: int, i: int, j: int) -> int:
    """The byte at image n, channel c, row i, column j of the fixture: traceable by hand."""
    return (7 * n + 50 * c + 3 * i + j) % 256


def write_cifar10(root: Path, per_batch: int = 4) -> Path:
    """Write a tiny CIFAR-10 in the official layout: ``root/cifar-10-batches-py/``.

    Image k overall (batches in order, test last) has pixels ``fake_pixel(k, c, i, j)``
    and label ``k % 10``; rows of ``data`` are the red plane, then green, then blue.
    """
    folder = root / cs_data.CIFAR10_DIR
    folder.mkdir(parents=True)
    c, i, j = np.meshgrid(np.arange(3), np.arange(32), np.arange(32), indexing="ij")
    for b, name in enumerate(cs_data.CIFAR10_FILES):
        ks = range(b * per_batch, (b + 1) * per_batch)
        rows = np.stack([fake_pixel(k, c, i, j).reshape(3072) for k in ks]).astype(np.uint8)
        # Python 2 pickled these with str keys, which Python 3 reads back as bytes.
        batch = {b"batch_label": name.encode(), b"labels": [k % 10 for k in ks], b"data": rows,
                 b"filenames": [f"img{k}.png".encode() for k in ks]}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [n.encode() for n in
                                                                         cs_data.CIFAR10_CLASSES]}))
    return folder


def test_cifar10_batches_are_read_in_the_official_layout(tmp_path):
    folder = write_cifar10(tmp_path)
    data = cs_data.load_cifar10(folder, num_training=15, num_validation=5, num_test=3, subtract_mean=False)
    assert data["X_train"].shape == (15, 3, 32, 32) and data["X_train"].dtype == np.float32
    assert data["X_val"].shape == (5, 3, 32, 32) and data["X_test"].shape == (3, 3, 32, 32)
    assert data["y_train"].dtype == np.int64
    np.testing.assert_array_equal(data["y_train"], np.arange(15) % 10)
    np.testing.assert_array_equal(data["y_val"], np.arange(15, 20) % 10)
    np.testing.assert_array_equal(data["y_test"], np.arange(20, 23) % 10)
    # Image 6 (data_batch_2, second row): green channel, row 1, column 2.
    assert data["X_train"][6, 1, 1, 2] == np.float32(fake_pixel(6, 1, 1, 2) / 255)
    assert data["X_val"][0, 2, 31, 0] == np.float32(fake_pixel(15, 2, 31, 0) / 255)
    assert data["X_test"][2, 0, 5, 9] == np.float32(fake_pixel(22, 0, 5, 9) / 255)
    assert 0.0 <= data["X_train"].min() and data["X_train"].max() <= 1.0
    assert data["class_names"][0] == "airplane"


def test_cifar10_mean_subtraction_and_parent_folder(tmp_path):
    write_cifar10(tmp_path)
    data = cs_data.load_cifar10(tmp_path, num_training=10, num_validation=2, num_test=2)
    np.testing.assert_allclose(data["X_train"].mean(axis=0), 0, atol=1e-6)
    raw = cs_data.load_cifar10(tmp_path, num_training=10, num_validation=2, num_test=2, subtract_mean=False)
    np.testing.assert_allclose(data["X_val"] + data["mean_image"], raw["X_val"], atol=1e-6)


def test_cifar10_refuses_more_images_than_it_has(tmp_path):
    write_cifar10(tmp_path)
    with pytest.raises(ValueError, match="asked for"):
        cs_data.load_cifar10(tmp_path)  # the defaults want 50000


def test_missing_cifar10_names_the_fetch_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="fetch-cifar10"):
        cs_data.load_cifar10(tmp_path / "nowhere")
    folder = write_cifar10(tmp_path)
    (folder / "test_batch").unlink()
    with pytest.raises(FileNotFoundError, match="test_batch missing"):
        cs_data.load_cifar10(folder)


def pack(tmp_path: Path, folder: Path) -> tuple[Path, str, str]:
    """The fixture as the official archive: a tar.gz with cifar-10-batches-py/ at its top."""
    archive = tmp_path / "served" / cs_data.CIFAR10_ARCHIVE
    archive.parent.mkdir()
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname=cs_data.CIFAR10_DIR)
    content = archive.read_bytes()
    return archive, hashlib.md5(content).hexdigest(), hashlib.sha256(content).hexdigest()


def test_fetch_downloads_verifies_and_unpacks(tmp_path):
    archive, md5, sha256 = pack(tmp_path, write_cifar10(tmp_path / "source"))
    dest = tmp_path / "dest"
    folder = cs_data.fetch_cifar10(dest, url=archive.as_uri(), md5=md5, sha256=sha256, quiet=True)
    assert folder == dest / cs_data.CIFAR10_DIR
    assert not (dest / cs_data.CIFAR10_ARCHIVE).exists()  # deleted after unpacking
    data = cs_data.load_cifar10(dest, num_training=20, num_validation=0, num_test=4)
    np.testing.assert_array_equal(data["y_test"], np.arange(20, 24) % 10)
    # A second fetch finds the folder complete and touches no network (the URL is gone).
    archive.unlink()
    assert cs_data.fetch_cifar10(dest, url=archive.as_uri(), md5=md5, quiet=True) == folder


def test_fetch_deletes_an_archive_with_the_wrong_checksum(tmp_path):
    archive, md5, _ = pack(tmp_path, write_cifar10(tmp_path / "source"))
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match="MD5"):
        cs_data.fetch_cifar10(dest, url=archive.as_uri(), md5="0" * 32, sha256=None, quiet=True)
    assert not (dest / cs_data.CIFAR10_ARCHIVE).exists() and not (dest / cs_data.CIFAR10_DIR).exists()
    with pytest.raises(ValueError, match="SHA-256"):
        cs_data.fetch_cifar10(dest, url=archive.as_uri(), md5=md5, sha256="0" * 64, quiet=True)


def test_fetch_uses_an_archive_copied_in_by_hand(tmp_path):
    archive, md5, sha256 = pack(tmp_path, write_cifar10(tmp_path / "source"))
    dest = tmp_path / "dest"
    dest.mkdir()
    shutil.copy(archive, dest)
    folder = cs_data.fetch_cifar10(dest, url="http://unreachable.invalid/x.tar.gz", md5=md5, sha256=sha256,
                                   keep_archive=True, quiet=True)
    assert (folder / "data_batch_5").is_file() and (dest / cs_data.CIFAR10_ARCHIVE).is_file()


def test_fetch_without_a_network_says_what_to_do(tmp_path):
    with pytest.raises(OSError, match="could not download"):
        cs_data.fetch_cifar10(tmp_path, url=(tmp_path / "absent.tar.gz").as_uri(), quiet=True)
    assert list(tmp_path.iterdir()) == []  # no partial file left behind


def test_fetch_refuses_members_outside_the_dataset_folder(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    payload = tmp_path / "payload"
    payload.write_text("x")
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(payload, arcname=f"{cs_data.CIFAR10_DIR}/../../escaped")
    dest = tmp_path / "dest"
    with pytest.raises(ValueError, match="refusing to unpack"):
        cs_data.fetch_cifar10(dest, url=evil.as_uri(), md5=None, sha256=None, quiet=True)
    assert not (tmp_path / "escaped").exists()


def test_command_line_and_shell_script_fetch(tmp_path):
    archive, md5, sha256 = pack(tmp_path, write_cifar10(tmp_path / "source"))
    dest = tmp_path / "dest"
    argv = ["fetch-cifar10", "--dest", str(dest), "--url", archive.as_uri(), "--md5", md5, "--sha256", sha256,
            "--quiet"]
    assert cs_data.main(argv) == 0
    assert cs_data.main([*argv[:-3], "--md5", "0" * 32, "--sha256", "", "--quiet"]) == 0  # already complete
    shutil.rmtree(dest)
    assert cs_data.main([*argv[:5], "--md5", "0" * 32, "--quiet"]) == 1
    # The shell script is a thin wrapper around the same command (its --dest comes first, ours wins).
    script = REPO_DATA / "get_cifar10.sh"
    result = subprocess.run(["sh", str(script), *argv[1:]], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (dest / cs_data.CIFAR10_DIR / "test_batch").is_file()
