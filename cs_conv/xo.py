"""The lecture's toy images: a 9x9 X and O with pixels -1 and 1, and distorted copies of them.

Given infrastructure: students do not write this module; ``cs_conv.data.load_xo``
turns its images into train, validation and test sets.

Each letter is a set of strokes (line segments between pixel centres). A pixel is 1
when its centre lies within ``width`` of a stroke and -1 otherwise, so moving the
strokes (shift, scale, rotate) or fattening them (weight) redraws a clean letter;
with no change, ``draw`` gives the lecture's own pictures pixel for pixel.
"""

from __future__ import annotations

import numpy as np

SIZE = 9


def _pattern(rows: str) -> np.ndarray:
    """A -1/1 image from a picture drawn with '#' (1) and '.' (-1), one word per row."""
    return np.array([[1 if ch == "#" else -1 for ch in row] for row in rows.split()], dtype=np.int8)


# The lecture's X (lecture 004, "A toy ConvNet: X's and O's"); tests/test_data.py checks
# its three 7x7 feature maps and 4x4 pooled maps against the lecture's tables.
LECTURE_X = _pattern("""
    .........
    .#.....#.
    ..#...#..
    ...#.#...
    ....#....
    ...#.#...
    ..#...#..
    .#.....#.
    .........
""")
# The lecture shows its O only as a picture; this one is drawn in the same style.
LECTURE_O = _pattern("""
    .........
    ...###...
    ..#...#..
    .#.....#.
    .#.....#.
    .#.....#.
    ..#...#..
    ...###...
    .........
""")
# The lecture's three features: the "\" diagonal, the "x" centre and the "/" diagonal.
LECTURE_FILTERS = np.stack([
    _pattern("#.. .#. ..#"),
    _pattern("#.# .#. #.#"),
    _pattern("..# .#. #.."),
])
XO_CLASSES = ("X", "O")
XO_KINDS = ("shift", "scale", "rotate", "weight", "noise")

# Strokes as (row, col) end points of segments, in pixel coordinates of the 9x9 grid.
_OCTAGON = [(1, 3), (1, 5), (3, 7), (5, 7), (7, 5), (7, 3), (5, 1), (3, 1)]
_STROKES = {
    0: np.array([[(1, 1), (7, 7)], [(1, 7), (7, 1)]], dtype=np.float64),
    1: np.array([[_OCTAGON[k], _OCTAGON[(k + 1) % 8]] for k in range(8)], dtype=np.float64),
}


def _distance_to_segments(points: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Distance from each point (P, 2) to the nearest of the segments (S, 2, 2)."""
    start, end = segments[:, 0], segments[:, 1]
    along = end - start                                               # (S, 2)
    offset = points[:, None, :] - start[None]                         # (P, S, 2)
    # Project each point on each segment's line, clamped to the segment.
    t = np.clip((offset * along).sum(-1) / (along * along).sum(-1), 0.0, 1.0)
    nearest = start[None] + t[..., None] * along[None]
    return np.sqrt(((points[:, None, :] - nearest) ** 2).sum(-1)).min(axis=1)


def draw(label: int, *, shift=(0.0, 0.0), scale: float = 1.0, angle: float = 0.0,
         width: float = 0.5) -> np.ndarray:
    """Draw an X (label 0) or an O (label 1) on a 9x9 grid of -1/1 pixels.

    Parameters
    ----------
    shift : (rows down, columns right) to move the letter by
    scale : size relative to the lecture's letter, about the grid's centre
    angle : degrees to turn the letter anticlockwise, about the grid's centre
    width : a pixel is ink when its centre lies closer than this to a stroke (below 0.5
        a stroke between pixel centres can vanish; 0.5 redraws the lecture's letters)

    Returns
    -------
    image : float64 ndarray of shape (9, 9), values -1 and 1

    >>> bool((draw(0) == LECTURE_X).all() and (draw(1) == LECTURE_O).all())
    True
    >>> ["".join("#" if v > 0 else "." for v in row) for row in draw(0, angle=45)[3:6]]
    ['....#....', '#########', '....#....']
    """
    if label not in _STROKES:
        raise ValueError(f"label must be 0 (X) or 1 (O), got {label!r}")
    centre = (SIZE - 1) / 2
    theta = np.deg2rad(angle)
    # Rows grow downwards, so turning anticlockwise on screen has these signs in (row, col).
    turn = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    strokes = (_STROKES[label] - centre) @ turn.T * scale + centre + np.asarray(shift, dtype=np.float64)
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    points = np.stack([rows.ravel(), cols.ravel()], axis=1).astype(np.float64)
    ink = _distance_to_segments(points, strokes) < width
    return np.where(ink, 1.0, -1.0).reshape(SIZE, SIZE)


def variant(label: int, kind: str, rng: np.random.Generator) -> np.ndarray:
    """One randomly distorted letter; ``kind`` is one of ``XO_KINDS``.

    shift: moved by one pixel in any of 8 directions; scale: 70-85% or 110-125% of the
    size; rotate: turned 10-30 degrees either way; weight: strokes about twice as thick;
    noise: the lecture's letter with each pixel flipped with probability 0.08.
    """
    if kind == "shift":
        steps = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
        return draw(label, shift=steps[rng.integers(len(steps))])
    if kind == "scale":
        shrink, grow = rng.uniform(0.7, 0.85), rng.uniform(1.1, 1.25)
        return draw(label, scale=shrink if rng.random() < 0.5 else grow)
    if kind == "rotate":
        return draw(label, angle=rng.choice([-1.0, 1.0]) * rng.uniform(10, 30))
    if kind == "weight":
        return draw(label, width=rng.uniform(0.75, 1.05))
    if kind == "noise":
        image = draw(label)
        return np.where(rng.random(image.shape) < 0.08, -image, image)
    raise ValueError(f"unknown kind {kind!r}; expected one of {XO_KINDS}")


def make_xo(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` letters: the lecture's X and O first, then distorted copies, classes alternating.

    The copies cycle through ``XO_KINDS`` (X and O alike), with parameters drawn from
    ``np.random.default_rng(seed)``.

    Returns
    -------
    images : float64 ndarray of shape (n, 9, 9), values -1 and 1
    labels : int64 ndarray of shape (n,), 0 for X and 1 for O
    kinds : str ndarray of shape (n,), "lecture" or the kind of distortion

    >>> images, labels, kinds = make_xo(6)
    >>> images.shape, labels.tolist(), kinds.tolist()
    ((6, 9, 9), [0, 1, 0, 1, 0, 1], ['lecture', 'lecture', 'shift', 'shift', 'scale', 'scale'])
    """
    rng = np.random.default_rng(seed)
    images = np.empty((n, SIZE, SIZE))
    labels = np.arange(n, dtype=np.int64) % 2
    kinds = np.empty(n, dtype=object)
    for k in range(n):
        if k < 2:
            kinds[k], images[k] = "lecture", draw(int(labels[k]))
        else:
            kinds[k] = XO_KINDS[(k // 2 - 1) % len(XO_KINDS)]
            images[k] = variant(int(labels[k]), kinds[k], rng)
    return images, labels, kinds.astype(str)
