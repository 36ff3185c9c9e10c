"""The wire format between the trusted parent and the student's process: no pickle, ever.

A frame is ``MAGIC | u32 header length | u64 payload length | JSON header | payload``.
The header is a JSON object whose ``"arrays"`` entry lists ``{"dtype", "shape"}`` for
each array in the payload, laid end to end in C order and native byte order.

The parent decodes a reply with ``decode_body``, which trusts nothing: every
length is capped, dtypes come from an allowlist, each array's bytes are exactly
``prod(shape) * itemsize`` of its declared dtype and together they are the whole
payload, no shape is too large for numpy even when it holds nothing, every integer
converts to a float, and the result is plain ``dict``/``list``/``str``/number
values plus base-class ``np.ndarray`` copies. A frame that breaks any of this is a
``ProtocolError``, never another exception, and judging never meets a value it cannot
compute with. The child's half of the format is written out again in ``runner.py``,
which must stand alone inside the sandbox: the halves are kept in step by hand, and
every grading test (``tests/test_autograder_grading.py`` first) runs one against the other.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

MAGIC = b"CSG1"
PREFIX = struct.Struct("<4sIQ")
ALLOWED_DTYPES = frozenset({"float64", "float32", "float16", "int64", "int32", "int16", "int8",
                            "uint64", "uint32", "uint16", "uint8", "bool"})
MAX_HEADER_BYTES = 1 << 20
MAX_NDIM = 8
MAX_ARRAYS = 64
MAX_DEPTH = 12
MAX_ELEMENTS = 1 << 40  # per array, counting a zero-length axis as 1: numpy refuses far larger shapes
LARGEST_FLOAT = int(np.finfo(np.float64).max)
MAX_INT_DIGITS = len(str(LARGEST_FLOAT))  # checked first: int() of a far longer text is slow, or refused


class ProtocolError(Exception):
    """A frame that breaks the format; the child sending it is no longer trusted to talk."""


@dataclass(frozen=True)
class Frame:
    header: dict[str, Any]
    arrays: list[np.ndarray]


def encode(header: dict[str, Any], arrays: Sequence[np.ndarray] = ()) -> bytes:
    """One frame holding ``header`` (JSON-able) and ``arrays`` (sent as raw bytes)."""
    specs, chunks = [], []
    for array in arrays:
        array = np.ascontiguousarray(array)
        if array.dtype.name not in ALLOWED_DTYPES:
            raise ValueError(f"cannot send dtype {array.dtype}")
        specs.append({"dtype": array.dtype.name, "shape": list(array.shape)})
        chunks.append(array.astype(array.dtype.newbyteorder("="), copy=False).tobytes())
    body = json.dumps({**header, "arrays": specs}, allow_nan=True).encode()
    payload = b"".join(chunks)
    return PREFIX.pack(MAGIC, len(body), len(payload)) + body + payload


def read_prefix(data: bytes, max_payload: int) -> tuple[int, int]:
    """Header and payload lengths from a frame's first ``PREFIX.size`` bytes, checked against the caps."""
    magic, header_len, payload_len = PREFIX.unpack(data)
    if magic != MAGIC:
        raise ProtocolError("reply does not start with the protocol's magic bytes")
    if header_len > MAX_HEADER_BYTES:
        raise ProtocolError(f"reply header of {header_len} bytes exceeds {MAX_HEADER_BYTES}")
    if payload_len > max_payload:
        raise ProtocolError(f"reply payload of {payload_len} bytes exceeds the {max_payload}-byte limit")
    return header_len, payload_len


def decode_body(header_bytes: bytes, payload: bytes) -> Frame:
    """Parse a frame's header and payload into plain values and fresh base-class arrays."""
    try:
        header = json.loads(header_bytes.decode("utf-8"), parse_int=_integer)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ProtocolError(f"reply header is not valid JSON ({type(error).__name__})") from None
    if not isinstance(header, dict):
        raise ProtocolError("reply header is not a JSON object")
    _check_depth(header, 0)
    specs = header.get("arrays", [])
    if not isinstance(specs, list) or len(specs) > MAX_ARRAYS:
        raise ProtocolError("reply's array list is malformed or too long")
    arrays: list[np.ndarray] = []
    offset = 0
    for spec in specs:
        dtype, shape = _array_spec(spec)
        nbytes = dtype.itemsize * math.prod(shape)
        if offset + nbytes > len(payload):
            raise ProtocolError(f"reply's {dtype.name} array of shape {shape} needs {nbytes} bytes, "
                                f"{len(payload) - offset} are left in its payload")
        flat = np.frombuffer(payload, dtype=dtype, count=math.prod(shape), offset=offset)
        arrays.append(np.array(flat.reshape(shape), copy=True))
        offset += nbytes
    if offset != len(payload):
        raise ProtocolError(f"reply's payload has {len(payload) - offset} bytes no array accounts for "
                            "(an array's dtype or shape is not what its bytes are)")
    return Frame(header, arrays)


def _array_spec(spec: object) -> tuple[np.dtype, tuple[int, ...]]:
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape"}:
        raise ProtocolError("reply has a malformed array entry")
    name, shape = spec["dtype"], spec["shape"]
    if not isinstance(name, str) or name not in ALLOWED_DTYPES:
        raise ProtocolError("reply uses a dtype outside the allowlist")
    if (not isinstance(shape, list) or len(shape) > MAX_NDIM
            or not all(type(n) is int and n >= 0 for n in shape)):
        raise ProtocolError("reply has a malformed array shape")
    if math.prod(max(n, 1) for n in shape) > MAX_ELEMENTS:
        raise ProtocolError("reply has an array shape too large for any array")
    return np.dtype(name), tuple(shape)


def _integer(text: str) -> int:
    """A JSON integer, refused unless a float can hold it (judging compares in floats)."""
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS or abs(int(text)) > LARGEST_FLOAT:
        raise ProtocolError(f"reply holds an integer of {digits} digits, too large for a float")
    return int(text)


def _check_depth(value: object, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise ProtocolError("reply header is nested too deeply")
    if isinstance(value, dict):
        for item in value.values():
            _check_depth(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_depth(item, depth + 1)
