"""autograder/protocol.py, the wire format between the grader and the student's process, and
the decoding of replies into inert values (``autograder.student.decode_value``)."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder import protocol
from autograder.protocol import ProtocolError
from autograder.student import Returned, Scalar, Seq, decode_value


def test_frames_round_trip():
    arrays = [np.arange(6.0).reshape(2, 3), np.array([1, 2], dtype=np.int64), np.zeros((0, 4), np.float32)]
    data = protocol.encode({"ok": True, "value": {"$t": "none"}}, arrays)
    header_len, payload_len = protocol.read_prefix(data[:protocol.PREFIX.size], 1 << 20)
    start = protocol.PREFIX.size
    frame = protocol.decode_body(data[start:start + header_len], data[start + header_len:])
    assert frame.header["ok"] is True
    for sent, got in zip(arrays, frame.arrays, strict=True):
        assert got.dtype == sent.dtype and got.shape == sent.shape and np.array_equal(got, sent)
        assert type(got) is np.ndarray and got.flags.writeable


def test_prefix_limits_are_enforced():
    with pytest.raises(ProtocolError, match="magic"):
        protocol.read_prefix(struct.pack("<4sIQ", b"EVIL", 10, 10), 1 << 20)
    with pytest.raises(ProtocolError, match="header"):
        protocol.read_prefix(struct.pack("<4sIQ", b"CSG1", 1 << 30, 0), 1 << 20)
    with pytest.raises(ProtocolError, match="payload"):
        protocol.read_prefix(struct.pack("<4sIQ", b"CSG1", 10, 1 << 40), 1 << 20)


@pytest.mark.parametrize("header, payload", [
    (b"not json", b""),
    (b"[1, 2]", b""),
    (json.dumps({"arrays": [{"dtype": "object", "shape": [1]}]}).encode(), b"\0" * 8),
    (json.dumps({"arrays": [{"dtype": "float64", "shape": [-1]}]}).encode(), b""),
    (json.dumps({"arrays": [{"dtype": "float64", "shape": [4]}]}).encode(), b"\0" * 8),
    (json.dumps({"arrays": [{"dtype": "float64", "shape": [1]}]}).encode(), b"\0" * 16),
    (json.dumps({"arrays": [{"dtype": "float64", "shape": [1], "evil": 1}]}).encode(), b"\0" * 8),
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, b""),
])
def test_malformed_bodies_are_protocol_errors(header, payload):
    with pytest.raises(ProtocolError):
        protocol.decode_body(header, payload)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200), st.binary(max_size=64))
def test_arbitrary_bytes_never_escape_as_anything_but_protocol_errors(header, payload):
    try:
        frame = protocol.decode_body(header, payload)
    except ProtocolError:
        return
    for array in frame.arrays:
        assert type(array) is np.ndarray


def test_reply_values_decode_to_inert_objects_only():
    arrays = [np.ones((2, 2))]
    tree = {"$t": "seq", "type": "tuple", "len": 2, "v": [
        {"$t": "array", "i": 0, "type": "Liar", "dtype": "float64", "shape": [2, 2]},
        {"$t": "float", "v": 1.5, "type": "float64"}]}
    value = decode_value(tree, arrays)
    assert isinstance(value, Seq) and isinstance(value.items[0], Returned) and isinstance(value.items[1], Scalar)
    assert value.items[0].type_name == "Liar"
    for bad in ({"$t": "pickle", "v": "..."}, {"$t": "array", "i": 5, "shape": [2, 2]},
                {"$t": "array", "i": 0, "shape": [4]}, {"$t": "float", "v": "1.0"}, [1, 2], None):
        with pytest.raises(ProtocolError):
            decode_value(bad, arrays)
