"""HPACK decoding of response headers (RFC 7541).

Decoding must stay complete and exact, because the server's dynamic table and ours must
agree after every block. The compiled decoder that ships with ``jh2`` is used when it can
be imported; the pure-Python ``hpack`` package otherwise (about 15 µs more per response).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import hpack

Field = tuple[bytes, bytes]


class HeaderDecodeError(Exception):
    """The header block could not be decoded; the connection's HPACK state is lost."""


def _compiled_decoder_class() -> Any:
    try:
        from jh2._hazmat import Decoder
    except ImportError:
        return None
    return Decoder


COMPILED_DECODER: Any = _compiled_decoder_class()


class ResponseHeaderDecoder:
    """Decodes header blocks into ``(name, value)`` byte pairs."""

    def __init__(self, max_header_list_size: int, *, compiled: bool | None = None) -> None:
        use_compiled = COMPILED_DECODER is not None if compiled is None else compiled
        if use_compiled and COMPILED_DECODER is None:
            raise RuntimeError("the compiled HPACK decoder (jh2) is not installed")
        self.implementation = "jh2" if use_compiled else "hpack"
        self.decode: Callable[[bytes], list[Field]]
        if use_compiled:
            self._compiled = COMPILED_DECODER(max_header_list_size)
            self.decode = self._decode_compiled
        else:
            self._pure = hpack.Decoder(max_header_list_size=max_header_list_size)
            self.decode = self._decode_pure

    def _decode_compiled(self, block: bytes) -> list[Field]:
        try:
            decoded = self._compiled.decode(block, True)
        except Exception as exc:  # jh2 raises its own HPACKError family
            raise HeaderDecodeError(str(exc)) from exc
        return [(name, value) for name, value, _sensitive in decoded]

    def _decode_pure(self, block: bytes) -> list[Field]:
        try:
            decoded = self._pure.decode(block, raw=True)
        except hpack.HPACKError as exc:
            raise HeaderDecodeError(str(exc)) from exc
        return [(bytes(name), bytes(value)) for name, value in decoded]
