"""Export scikit-learn's copy of the UCI handwritten digits to ``data/digits.npz``, once.

The kit ships the result so that nothing needs scikit-learn at run time. To
reproduce the file, run this script with any Python that has scikit-learn
(it is not a dependency of the kit), for example from the repository root::

    python3 -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
    /tmp/skl/bin/python data/export_digits.py

The output holds two arrays:

- ``images``: uint8 of shape (1797, 8, 8), 0..16 = inked pixels in each 4x4 block of the scan,
  rows top to bottom, exactly as ``sklearn.datasets.load_digits().images``;
- ``target``: uint8 of shape (1797,), the digit 0-9 of each image.

The zip container stores a timestamp, so the file's own bytes change from run to
run; the arrays do not, and the script prints their SHA-256 (``content_sha256``
in ``cs_conv.data``), which the kit's tests check.
"""

import hashlib
from pathlib import Path

import numpy as np
import sklearn
from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent / "digits.npz"


def content_sha256(images: np.ndarray, target: np.ndarray) -> str:
    """SHA-256 of the arrays' bytes: images (C order) then target."""
    return hashlib.sha256(images.tobytes() + target.tobytes()).hexdigest()


def main() -> None:
    bunch = load_digits()
    # The grey levels are whole numbers 0..16 stored as float64; uint8 keeps them exactly.
    if not np.array_equal(bunch.images, np.round(bunch.images)) or bunch.images.max() > 16:
        raise SystemExit("unexpected grey levels in sklearn's digits: refusing to round them")
    images = np.ascontiguousarray(bunch.images, dtype=np.uint8)
    target = np.ascontiguousarray(bunch.target, dtype=np.uint8)
    assert images.shape == (1797, 8, 8) and target.shape == (1797,)
    np.savez_compressed(OUT, images=images, target=target)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes) from scikit-learn {sklearn.__version__}")
    print(f"content_sha256 = {content_sha256(images, target)}")


if __name__ == "__main__":
    main()
