"""The datasets the kit trains and draws on, each as a dict of deterministic splits.

Given infrastructure: students do not write this module.

- ``load_digits()``: the 1797 8x8 handwritten digits of the UCI optical digits set,
  shipped in ``data/digits.npz`` (see ``data/export_digits.py``).
- ``load_xo()``: the lecture's 9x9 X and O, plus shifted, scaled, rotated, thickened and
  noisy copies generated from a seed (no file: see ``cs_conv.xo``).
- ``load_photo()``: one real photograph for filtering demos (``data/grace_hopper.jpg``).
- ``load_cifar10(path)``: CIFAR-10's python pickles, fetched once with
  ``python -m cs_conv.data fetch-cifar10`` (see ``fetch_cifar10``).

Every dataset loader returns ``X_train, y_train, X_val, y_val, X_test, y_test``
(X float of shape (N, C, H, W), y int64 of shape (N,)) and ``class_names``.
The data folder is ``data/`` beside the ``cs_conv`` package, in the repository and
in a student release alike; pass ``data_dir=`` or set ``CS_CONV_DATA`` to move it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import sys
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

from cs_conv.xo import LECTURE_FILTERS, LECTURE_O, LECTURE_X, XO_CLASSES, make_xo

__all__ = [
    "LECTURE_FILTERS", "LECTURE_O", "LECTURE_X", "XO_CLASSES", "fetch_cifar10", "find_data_dir",
    "load_cifar10", "load_digits", "load_photo", "load_xo",
]

DATA_ENV = "CS_CONV_DATA"

DIGITS_FILE = "digits.npz"
# SHA-256 of images.tobytes() + target.tobytes(), printed by data/export_digits.py.
DIGITS_SHA256 = "87ff0c9e40dc7e2c0e34e7257799c2e3f3aec1a016363bb11cad869ec428a826"

PHOTO_FILE = "grace_hopper.jpg"
PHOTO_CREDIT = (
    "Commodore Grace M. Hopper, USNR: official portrait photograph, 20 January 1984, "
    "U.S. Naval History and Heritage Command (public domain, work of the U.S. federal government); "
    "the cropped copy matplotlib ships as sample data (mpl-data/sample_data/grace_hopper.jpg)."
)

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_DIR = "cifar-10-batches-py"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
CIFAR10_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
CIFAR10_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
FETCH_COMMAND = "python -m cs_conv.data fetch-cifar10"


def find_data_dir(path=None) -> Path:
    """The folder that holds the kit's data files.

    ``path`` if given, else the ``CS_CONV_DATA`` environment variable, else the copy an installed
    wheel carries (``cs_conv/_data``), else ``data/`` next to the ``cs_conv`` package (the layout
    of the repository and of a release).
    """
    if path is None:
        package = Path(__file__).resolve().parent
        installed = package / "_data"
        path = os.environ.get(DATA_ENV) or (installed if installed.is_dir() else package.parent / "data")
    path = Path(path).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"data folder {path} does not exist: pass data_dir='...' or set {DATA_ENV} to the "
            f"folder that holds {DIGITS_FILE} (the 'data' folder shipped beside 'cs_conv')"
        )
    return path


def split_indices(n: int, num_val: int, num_test: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shuffle ``range(n)`` with ``seed`` and cut it into train, val and test indices.

    >>> train, val, test = split_indices(10, 2, 3, seed=0)
    >>> len(train), len(val), len(test), sorted(np.concatenate([train, val, test])) == list(range(10))
    (5, 2, 3, True)
    """
    if num_val < 0 or num_test < 0 or num_val + num_test >= n:
        raise ValueError(f"cannot hold out {num_val} validation and {num_test} test samples from {n}")
    order = np.random.default_rng(seed).permutation(n)
    return order[num_val + num_test:], order[:num_val], order[num_val:num_val + num_test]


def _splits(X: np.ndarray, y: np.ndarray, num_val: int, num_test: int, seed: int) -> dict:
    train, val, test = split_indices(len(y), num_val, num_test, seed)
    return {
        "X_train": X[train], "y_train": y[train],
        "X_val": X[val], "y_val": y[val],
        "X_test": X[test], "y_test": y[test],
    }


# ----------------------------------------------------------------------------- digits

def load_digits(data_dir=None, *, num_val: int = 300, num_test: int = 300, seed: int = 0,
                dtype=np.float32) -> dict:
    """The 1797 handwritten digits, 8x8 pixels, split into train, validation and test sets.

    The grey levels 0..16 of the UCI set are divided by 16, so X lies in [0, 1] with
    ink bright. The split is a permutation of all 1797 images by ``seed``: the first
    ``num_val`` are validation, the next ``num_test`` test, the rest (1197) training.

    Parameters
    ----------
    data_dir : folder holding ``digits.npz`` (default: see ``find_data_dir``)
    num_val, num_test : sizes of the held-out sets
    seed : seed of the split
    dtype : float dtype of X

    Returns
    -------
    dict with X_train (1197, 1, 8, 8), y_train (1197,) int64, X_val (300, 1, 8, 8),
    y_val, X_test (300, 1, 8, 8), y_test, and class_names ('0', ..., '9').

    >>> data = load_digits()
    >>> data["X_train"].shape, data["X_val"].shape, data["y_test"].dtype
    ((1197, 1, 8, 8), (300, 1, 8, 8), dtype('int64'))
    """
    path = find_data_dir(data_dir) / DIGITS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: it ships with the kit; regenerate it with data/export_digits.py")
    with np.load(path) as archive:
        images, target = archive["images"], archive["target"]
    if images.shape != (1797, 8, 8) or target.shape != (1797,) or images.dtype != np.uint8:
        raise ValueError(f"{path} is not the digits export: images {images.shape} {images.dtype}, "
                         f"target {target.shape}")
    X = (images[:, None, :, :] / 16.0).astype(dtype)
    data = _splits(X, target.astype(np.int64), num_val, num_test, seed)
    data["class_names"] = tuple(str(d) for d in range(10))
    return data


def digits_sha256(data_dir=None) -> str:
    """SHA-256 of the shipped digits' arrays, to compare with ``DIGITS_SHA256``."""
    with np.load(find_data_dir(data_dir) / DIGITS_FILE) as archive:
        return hashlib.sha256(archive["images"].tobytes() + archive["target"].tobytes()).hexdigest()


# ----------------------------------------------------------------------------- X and O

def load_xo(*, num_train: int = 240, num_val: int = 80, num_test: int = 80, seed: int = 0,
            dtype=np.float32) -> dict:
    """X and O images, 9x9 with pixels -1 and 1, as in the lecture's toy ConvNet.

    ``X_train[0]`` and ``X_train[1]`` are the lecture's X and O themselves; every other
    image is one of them shifted, scaled, rotated, thickened or noisy (``cs_conv.xo``),
    drawn from ``seed``. Classes alternate, so every split is balanced. Labels: 0 is X,
    1 is O. The images are generated, not read: no file is involved.

    Returns
    -------
    dict with X_train (num_train, 1, 9, 9), y_train (num_train,) int64, X_val, y_val,
    X_test, y_test, class_names ('X', 'O') and kind_train, kind_val, kind_test (each
    image's distortion: 'lecture', 'shift', 'scale', 'rotate', 'weight' or 'noise').

    >>> data = load_xo()
    >>> data["X_train"].shape, data["y_train"][:4].tolist(), data["kind_train"][:3].tolist()
    ((240, 1, 9, 9), [0, 1, 0, 1], ['lecture', 'lecture', 'shift'])
    """
    if min(num_val, num_test) < 0 or num_train < 2:
        raise ValueError(f"need num_train >= 2 and no negative sizes, got {num_train}, {num_val}, {num_test}")
    images, labels, kinds = make_xo(num_train + num_val + num_test, seed)
    X = images[:, None].astype(dtype)
    cuts = {"train": slice(0, num_train), "val": slice(num_train, num_train + num_val),
            "test": slice(num_train + num_val, None)}
    data: dict = {"class_names": XO_CLASSES}
    for name, part in cuts.items():
        data[f"X_{name}"], data[f"y_{name}"], data[f"kind_{name}"] = X[part], labels[part], kinds[part]
    return data


# ----------------------------------------------------------------------------- photograph

def load_photo(data_dir=None, *, gray: bool = False, downsample: int = 1, dtype=np.float32) -> np.ndarray:
    """A real photograph as a batch of one image, values in [0, 1] (credit: ``PHOTO_CREDIT``).

    Parameters
    ----------
    gray : average the colours with the luma weights 0.299 R + 0.587 G + 0.114 B
    downsample : an integer k; each k x k block of pixels becomes its mean

    Returns
    -------
    x : ndarray of shape (1, C, 600 // k, 512 // k), C = 1 if gray else 3 (RGB)

    >>> load_photo(gray=True, downsample=4).shape
    (1, 1, 150, 128)
    """
    import matplotlib.image  # only the photo needs it; keeps the other loaders light

    path = find_data_dir(data_dir) / PHOTO_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: it ships with the kit in the data folder")
    if not isinstance(downsample, (int, np.integer)) or downsample < 1:
        raise ValueError(f"downsample must be a positive int, got {downsample!r}")
    image = matplotlib.image.imread(path).astype(np.float64) / 255.0  # (H, W, 3) uint8 JPEG
    x = image.transpose(2, 0, 1)
    if gray:
        x = np.tensordot([0.299, 0.587, 0.114], x, axes=1)[None]
    C, H, W = x.shape
    k = int(downsample)
    x = x[:, :H - H % k, :W - W % k].reshape(C, H // k, k, W // k, k).mean(axis=(2, 4))
    return x[None].astype(dtype)


# ----------------------------------------------------------------------------- CIFAR-10

def _missing_cifar(path: Path, what: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"CIFAR-10 {what} at {path}. Fetch it (170 MB, checksum verified) with\n"
        f"    {FETCH_COMMAND}\n"
        f"or `sh data/get_cifar10.sh`, run from the folder that holds cs_conv/ and data/; "
        f"offline, copy {CIFAR10_ARCHIVE} into data/ and run the same command to verify and unpack it."
    )


def load_cifar10_batch(path) -> tuple[np.ndarray, np.ndarray]:
    """One pickled CIFAR-10 batch: uint8 images of shape (N, 3, 32, 32) and int64 labels (N,).

    Each row of the pickle's ``data`` holds 3072 bytes: the 1024 red pixels row by row,
    then the green, then the blue. Unpickling can run code: read only files you trust
    (``fetch_cifar10`` checks the official archive's checksums).
    """
    with open(path, "rb") as f:
        # The batches were pickled by Python 2; "bytes" keeps their str keys as bytes.
        batch = pickle.load(f, encoding="bytes")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(f"{path} is not a CIFAR-10 batch: data {data.shape}, {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32), labels


def cifar10_folder(path=None) -> Path:
    """The ``cifar-10-batches-py`` folder: ``path`` itself, or that folder inside it or inside the data folder."""
    if path is None:
        try:
            path = find_data_dir() / CIFAR10_DIR
        except FileNotFoundError:
            raise _missing_cifar(Path("data") / CIFAR10_DIR, "not found (no data folder)") from None
    path = Path(path).expanduser()
    if (path / CIFAR10_DIR).is_dir():
        path = path / CIFAR10_DIR
    if not path.is_dir():
        raise _missing_cifar(path, "not found")
    missing = [name for name in CIFAR10_FILES if not (path / name).is_file()]
    if missing:
        raise _missing_cifar(path, f"incomplete ({', '.join(missing)} missing)")
    return path


def load_cifar10(path=None, *, num_training: int = 49000, num_validation: int = 1000, num_test: int = 1000,
                 subtract_mean: bool = True, dtype=np.float32) -> dict:
    """CIFAR-10 from its python pickles, split as CS231n does.

    Training images are the first ``num_training`` of data_batch_1..5 in order,
    validation the ``num_validation`` after them, test the first ``num_test`` of
    test_batch. Pixels are divided by 255; with ``subtract_mean`` the mean training
    image is then subtracted from every split (and returned as ``mean_image``).

    Parameters
    ----------
    path : the ``cifar-10-batches-py`` folder or the folder holding it (default: in the data folder)

    Returns
    -------
    dict with X_train (num_training, 3, 32, 32), y_train (num_training,) int64, X_val,
    y_val, X_test, y_test, class_names, and mean_image (3, 32, 32) if subtract_mean.
    """
    folder = cifar10_folder(path)
    batches = [load_cifar10_batch(folder / name) for name in CIFAR10_FILES[:5]]
    X_all = np.concatenate([X for X, _ in batches])
    y_all = np.concatenate([y for _, y in batches])
    X_test, y_test = load_cifar10_batch(folder / "test_batch")
    if num_training + num_validation > len(y_all) or num_test > len(y_test):
        raise ValueError(f"asked for {num_training} training + {num_validation} validation of {len(y_all)} "
                         f"and {num_test} test images of {len(y_test)} in {folder}")
    scale = lambda X: (X / 255.0).astype(dtype)
    data = {
        "X_train": scale(X_all[:num_training]), "y_train": y_all[:num_training],
        "X_val": scale(X_all[num_training:num_training + num_validation]),
        "y_val": y_all[num_training:num_training + num_validation],
        "X_test": scale(X_test[:num_test]), "y_test": y_test[:num_test],
        "class_names": CIFAR10_CLASSES,
    }
    if subtract_mean:
        mean_image = data["X_train"].mean(axis=0)
        for key in ("X_train", "X_val", "X_test"):
            data[key] -= mean_image
        data["mean_image"] = mean_image
    return data


def _file_digests(path: Path) -> tuple[str, str]:
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            md5.update(chunk)
            sha256.update(chunk)
    return md5.hexdigest(), sha256.hexdigest()


def _download(url: str, target: Path, quiet: bool) -> None:
    """Stream ``url`` into ``target`` through a ``.part`` file, reporting progress on stdout."""
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done = 0
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                done += len(chunk)
                if not quiet and total:
                    print(f"\r{url}: {done / 1e6:.0f} / {total / 1e6:.0f} MB", end="", flush=True)
        if not quiet:
            print()
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise OSError(f"could not download {url} ({error}). Without a network, download "
                      f"{CIFAR10_ARCHIVE} elsewhere, copy it to {target.parent} and rerun "
                      f"{FETCH_COMMAND}") from error
    partial.replace(target)


def _safe_members(archive: tarfile.TarFile, top: str) -> list[tarfile.TarInfo]:
    members = archive.getmembers()
    for member in members:
        parts = Path(member.name).parts
        if not parts or parts[0] != top or ".." in parts or Path(member.name).is_absolute():
            raise ValueError(f"refusing to unpack {member.name!r}: everything must lie under {top}/")
        if not (member.isfile() or member.isdir()):
            raise ValueError(f"refusing to unpack {member.name!r}: not a plain file or folder")
    return members


def fetch_cifar10(dest=None, *, url: str = CIFAR10_URL, md5: str | None = CIFAR10_MD5,
                  sha256: str | None = CIFAR10_SHA256, keep_archive: bool = False,
                  quiet: bool = False) -> Path:
    """Download CIFAR-10's python version into ``dest``, verify its checksums and unpack it.

    Nothing is downloaded when ``dest/cifar-10-batches-py`` is already complete, and an
    archive already in ``dest`` (copied there by hand) is verified instead of fetched.
    An archive whose MD5 or SHA-256 differs from the official one is deleted, and
    ``ValueError`` says so. Returns the ``cifar-10-batches-py`` folder.
    """
    if dest is not None:
        Path(dest).expanduser().mkdir(parents=True, exist_ok=True)
    dest = find_data_dir(dest)
    try:
        return cifar10_folder(dest)
    except FileNotFoundError:
        pass
    archive = dest / CIFAR10_ARCHIVE
    if not archive.is_file():
        _download(url, archive, quiet)
    got_md5, got_sha256 = _file_digests(archive)
    for name, want, got in (("MD5", md5, got_md5), ("SHA-256", sha256, got_sha256)):
        if want is not None and got != want.lower():
            archive.unlink()
            raise ValueError(f"{CIFAR10_ARCHIVE} from {url} has {name} {got}, expected {want}: "
                             f"deleted it; the download was corrupt or not the official file")
    with tarfile.open(archive, "r:gz") as tar:
        members = _safe_members(tar, CIFAR10_DIR)
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, members=members, filter="data")
        else:  # Python < 3.10.12 / 3.11.4: the members were checked above
            tar.extractall(dest, members=members)
    if not keep_archive:
        archive.unlink()
    folder = cifar10_folder(dest)
    if not quiet:
        print(f"CIFAR-10 is in {folder}")
    return folder


def main(argv=None) -> int:
    """``python -m cs_conv.data fetch-cifar10 [--dest DIR]``: fetch and verify CIFAR-10."""
    parser = argparse.ArgumentParser(prog="python -m cs_conv.data", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-cifar10", help="download, verify and unpack CIFAR-10 (170 MB)")
    fetch.add_argument("--dest", help=f"data folder (default: ${DATA_ENV} or data/ beside cs_conv/)")
    fetch.add_argument("--url", default=CIFAR10_URL)
    fetch.add_argument("--md5", default=CIFAR10_MD5, help="expected MD5 ('' to skip)")
    fetch.add_argument("--sha256", default=CIFAR10_SHA256, help="expected SHA-256 ('' to skip)")
    fetch.add_argument("--keep-archive", action="store_true", help="keep the .tar.gz after unpacking")
    fetch.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    try:
        fetch_cifar10(args.dest, url=args.url, md5=args.md5 or None, sha256=args.sha256 or None,
                      keep_archive=args.keep_archive, quiet=args.quiet)
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
