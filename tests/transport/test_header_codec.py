"""Our request encoder against an independent HPACK decoder (the ``hpack`` package)."""

from __future__ import annotations

import hpack
import pytest

from pushgate.transport.header_decoder import COMPILED_DECODER, ResponseHeaderDecoder
from pushgate.transport.header_encoder import RequestHeaderEncoder, SharedHeaders

PSEUDO = SharedHeaders([(":scheme", "https"), (":authority", "api.push.apple.com")])
SHARED = SharedHeaders([("authorization", "bearer token"), ("apns-topic", "com.example")])


def decode_all(decoder: hpack.Decoder, block: bytes) -> list[tuple[bytes, bytes]]:
    return [(bytes(name), bytes(value)) for name, value in decoder.decode(block, raw=True)]


def test_repeated_headers_shrink_to_indices_and_decode_the_same() -> None:
    encoder, decoder = RequestHeaderEncoder(), hpack.Decoder()
    blocks = [
        encoder.encode(b"POST", f"/3/device/{n}".encode(), PSEUDO, SHARED, [(b"apns-id", b"x")], 3)
        for n in range(3)
    ]
    decoded = [decode_all(decoder, block) for block in blocks]
    assert decoded[2] == [
        (b":method", b"POST"),
        (b":scheme", b"https"),
        (b":authority", b"api.push.apple.com"),
        (b":path", b"/3/device/2"),
        (b"authorization", b"bearer token"),
        (b"apns-topic", b"com.example"),
        (b"apns-id", b"x"),
        (b"content-length", b"3"),
    ]
    assert len(blocks[1]) < len(blocks[0]) / 2
    assert blocks[1][:4] == blocks[2][:4]  # the indexed prefix is reused as is


@pytest.mark.parametrize("sizes", [[0], [64], [0, 4096], [100, 50, 4096], [256]])
def test_table_size_changes_stay_in_step_with_the_decoder(sizes: list[int]) -> None:
    encoder, decoder = RequestHeaderEncoder(), hpack.Decoder()
    decode_all(decoder, encoder.encode(b"GET", b"/", PSEUDO, SHARED, [], None))
    for size in sizes:
        encoder.set_max_table_size(size)
    for _ in range(3):
        block = encoder.encode(b"PUT", b"/x", PSEUDO, SHARED, [], 1)
        assert (b"authorization", b"bearer token") in decode_all(decoder, block)
    assert decoder.header_table_size == sizes[-1]


def test_many_shared_sets_evict_and_still_decode() -> None:
    encoder, decoder = RequestHeaderEncoder(max_table_size=300), hpack.Decoder()
    sets = [SharedHeaders([("authorization", f"bearer {n:0>40}")]) for n in range(10)]
    for round_number in range(3):
        for number, shared in enumerate(sets):
            block = encoder.encode(b"POST", b"/", PSEUDO, shared, [], None)
            fields = decode_all(decoder, block)
            assert (b"authorization", f"bearer {number:0>40}".encode()) in fields, round_number


def test_invalid_shared_header_names_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid"):
        SharedHeaders([("Authorization", "x")])
    with pytest.raises(ValueError, match="CR, LF or NUL"):
        SharedHeaders([("x-a", "b\r\nc")])


@pytest.mark.parametrize(
    "compiled",
    [
        False,
        pytest.param(True, marks=pytest.mark.skipif(COMPILED_DECODER is None, reason="no jh2")),
    ],
)
def test_both_decoders_read_what_an_independent_encoder_wrote(compiled: bool) -> None:
    encoder = hpack.Encoder()
    decoder = ResponseHeaderDecoder(1 << 16, compiled=compiled)
    for number in range(3):
        block = encoder.encode([(":status", "200"), ("apns-id", f"id-{number}")])
        assert decoder.decode(block) == [
            (b":status", b"200"),
            (b"apns-id", f"id-{number}".encode()),
        ]
    assert decoder.implementation == ("jh2" if compiled else "hpack")
