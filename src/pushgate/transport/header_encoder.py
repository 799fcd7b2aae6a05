"""HPACK encoding of request headers (RFC 7541), built for repeating headers.

Headers that repeat on every request of a connection (``:authority``, ``authorization``,
``apns-topic``…) are sent once as "literal with incremental indexing" (§6.2.1), which
inserts them into the peer's dynamic table; after that each is a one- or two-byte index
(§6.1). The encoder keeps a model of that table (insertions, FIFO eviction by size, §4)
so its indices always match the peer's. ``:path`` is sent as "literal never indexed"
(§6.2.3) and per-request headers as "literal without indexing" (§6.2.2), so they never
churn the table. Strings are sent raw, not Huffman-coded: CPU matters more than bytes here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

from hpack.table import HeaderTable

Field = tuple[bytes, bytes]

STATIC_TABLE: tuple[Field, ...] = HeaderTable.STATIC_TABLE
STATIC_FIELD_INDEX: dict[Field, int] = {}
STATIC_NAME_INDEX: dict[bytes, int] = {}
for _position, (_name, _value) in enumerate(STATIC_TABLE, start=1):
    STATIC_FIELD_INDEX.setdefault((_name, _value), _position)
    STATIC_NAME_INDEX.setdefault(_name, _position)

# RFC 7541 §4.1: an entry costs its name, its value and 32 bytes of overhead.
ENTRY_OVERHEAD = 32
FIRST_DYNAMIC_INDEX = len(STATIC_TABLE) + 1
PATH_NAME_INDEX = STATIC_NAME_INDEX[b":path"]
CONTENT_LENGTH_NAME_INDEX = STATIC_NAME_INDEX[b"content-length"]
FORBIDDEN_VALUE_BYTES = (b"\r", b"\n", b"\x00")
# How many encoded names of per-request fields an encoder remembers (see _literal_heads).
MAX_LITERAL_NAME_HEADS = 256
# A raw string literal shorter than 127 bytes starts with its length in one byte (§5.2).
_SHORT_LENGTH = tuple(bytes((size,)) for size in range(127))
# ":path" as "literal never indexed" with the static name index (§6.2.3), by value length.
_PATH_HEADS = tuple(bytes((0x10 | PATH_NAME_INDEX, size)) for size in range(127))
# How many encoded content-length fields an encoder remembers.
MAX_CONTENT_LENGTHS = 1024


def encode_integer(value: int, prefix_bits: int, first_byte_flags: int) -> bytes:
    """An HPACK integer with an N-bit prefix (RFC 7541 §5.1)."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first_byte_flags | value,))
    out = bytearray((first_byte_flags | limit,))
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_string(value: bytes) -> bytes:
    """A raw (not Huffman-coded) HPACK string literal (RFC 7541 §5.2)."""
    if len(value) < 127:
        return _SHORT_LENGTH[len(value)] + value
    return encode_integer(len(value), 7, 0) + value


# content-length as "literal without indexing" with its static name index (§6.2.2).
CONTENT_LENGTH_HEAD = encode_integer(CONTENT_LENGTH_NAME_INDEX, 4, 0x00)


def as_field(name: str | bytes, value: str | bytes) -> Field:
    """A validated header field as bytes: names lowercase (RFC 9113 §8.2.1), no CR/LF/NUL."""
    raw_name = name.encode("ascii") if isinstance(name, str) else name
    raw_value = value.encode("utf-8") if isinstance(value, str) else value
    if not raw_name or raw_name != raw_name.lower() or b" " in raw_name or b":" in raw_name[1:]:
        raise ValueError(f"invalid HTTP/2 header name {raw_name!r}")
    if any(byte in raw_value or byte in raw_name for byte in FORBIDDEN_VALUE_BYTES):
        raise ValueError(f"header {raw_name!r} contains CR, LF or NUL")
    return raw_name, raw_value


class SharedHeaders:
    """Header fields repeated on many requests, indexed once per connection.

    Build one per credential or topic and pass it to every request that carries these
    fields; the encoder caches their encoding per connection, keyed by this object.
    """

    __slots__ = ("fields",)

    def __init__(self, fields: Iterable[tuple[str | bytes, str | bytes]]) -> None:
        self.fields: tuple[Field, ...] = tuple(as_field(name, value) for name, value in fields)

    def __repr__(self) -> str:
        return f"SharedHeaders({[name.decode() for name, _ in self.fields]})"


class RequestHeaderEncoder:
    """HPACK encoder for one connection's requests, mirroring the peer's dynamic table."""

    def __init__(self, max_table_size: int = 4096) -> None:
        self._entries: deque[tuple[Field, int]] = deque()  # oldest first
        self._serial_of: dict[Field, int] = {}
        self._inserted = 0
        self._table_size = 0
        self._max_table_size = max_table_size
        self._size_updates: list[int] = []
        self._cache: dict[object, bytes] = {}
        # The name part of "literal without indexing" fields (§6.2.2) by header name: the
        # same few per-request names (apns-id, apns-expiration…) repeat on every request.
        self._literal_heads: dict[bytes, bytes] = {}
        self._content_lengths: dict[int, bytes] = {}

    def set_max_table_size(self, size: int) -> None:
        """Adopt a new table size; signalled at the start of the next block (§4.2, §6.3)."""
        if size == self._max_table_size:
            return
        self._max_table_size = size
        self._evict_to(size)
        self._cache.clear()
        # §4.2: signal the smallest size seen since the last block, then the final one.
        smallest = min([*self._size_updates, size])
        self._size_updates = [size] if smallest == size else [smallest, size]

    def encode(
        self,
        method: bytes,
        path: bytes,
        pseudo: SharedHeaders,
        shared: SharedHeaders | None,
        headers: Sequence[Field],
        content_length: int | None,
    ) -> bytes:
        """The header block of one request, pseudo-header fields first (RFC 9113 §8.3).

        ``content_length`` 0 or None sends none. Runs once per request on the send path,
        hence the cached pieces: after the first request of a kind, every field but the
        per-request ones is a cached run of indices.
        """
        cache = self._cache
        start = cache.get((method, pseudo))
        if start is None or self._size_updates:
            start = self._start_of_block(method, pseudo)
        if len(path) < 127:
            parts = [start, _PATH_HEADS[len(path)] + path]
        else:
            parts = [start, bytes((0x10 | PATH_NAME_INDEX,)) + encode_string(path)]
        if shared is not None:
            block = cache.get(shared)
            parts.append(block if block is not None else self._cached(shared, shared.fields))
        heads = self._literal_heads
        for name, value in headers:
            head = heads.get(name)
            if head is None:
                head = self._literal_head(name)
            if len(value) < 127:
                parts.append(head + _SHORT_LENGTH[len(value)] + value)
            else:
                parts.append(head + encode_string(value))
        if content_length:
            length = self._content_lengths.get(content_length)
            if length is None:
                length = self._content_length(content_length)
            parts.append(length)
        return b"".join(parts)

    def _start_of_block(self, method: bytes, pseudo: SharedHeaders) -> bytes:
        """Pending table size updates (§4.2, §6.3), ``:method`` and the connection's
        pseudo-header fields."""
        parts = [encode_integer(size, 5, 0x20) for size in self._size_updates]
        self._size_updates = []
        before = self._inserted
        parts.append(self._method_field(method))
        parts.append(self._shared_fields(pseudo))
        if self._inserted == before:
            self._cache[(method, pseudo)] = b"".join(parts[-2:])
        return b"".join(parts)

    def _content_length(self, content_length: int) -> bytes:
        # "literal without indexing" with content-length's static name index (§6.2.2).
        field = CONTENT_LENGTH_HEAD + encode_string(b"%d" % content_length)
        if len(self._content_lengths) < MAX_CONTENT_LENGTHS:
            self._content_lengths[content_length] = field
        return field

    def _method_field(self, method: bytes) -> bytes:
        static = STATIC_FIELD_INDEX.get((b":method", method))
        if static is not None:
            return bytes((0x80 | static,))
        return self._cached((b":method", method), ((b":method", method),))

    def _shared_fields(self, shared: SharedHeaders) -> bytes:
        return self._cached(shared, shared.fields)

    def _cached(self, key: object, fields: tuple[Field, ...]) -> bytes:
        block = self._cache.get(key)
        if block is not None:
            return block
        before = self._inserted
        block = b"".join(self._indexed_field(field) for field in fields)
        if self._inserted == before:
            # Only a block made of indices may be reused: literals would insert again.
            self._cache[key] = block
        return block

    def _indexed_field(self, field: Field) -> bytes:
        static = STATIC_FIELD_INDEX.get(field)
        if static is not None:
            return encode_integer(static, 7, 0x80)
        serial = self._serial_of.get(field)
        if serial is not None:
            return encode_integer(FIRST_DYNAMIC_INDEX + self._inserted - 1 - serial, 7, 0x80)
        name, value = field
        size = len(name) + len(value) + ENTRY_OVERHEAD
        if size > self._max_table_size:
            return self._literal_without_indexing(name, value)
        name_index = STATIC_NAME_INDEX.get(name, 0)
        head = encode_integer(name_index, 6, 0x40) if name_index else b"\x40" + encode_string(name)
        self._insert(field, size)
        return head + encode_string(value)

    def _literal_without_indexing(self, name: bytes, value: bytes) -> bytes:
        head = self._literal_heads.get(name)
        if head is None:
            head = self._literal_head(name)
        return head + encode_string(value)

    def _literal_head(self, name: bytes) -> bytes:
        name_index = STATIC_NAME_INDEX.get(name)
        if name_index is not None:
            head = encode_integer(name_index, 4, 0x00)
        else:
            head = b"\x00" + encode_string(name)
        if len(self._literal_heads) < MAX_LITERAL_NAME_HEADS:
            self._literal_heads[name] = head
        return head

    def _insert(self, field: Field, size: int) -> None:
        # §4.4: older entries are evicted until the new one fits.
        self._cache.clear()
        self._evict_to(self._max_table_size - size)
        self._inserted += 1
        self._entries.append((field, size))
        self._serial_of[field] = self._inserted - 1
        self._table_size += size

    def _evict_to(self, limit: int) -> None:
        while self._table_size > limit and self._entries:
            field, size = self._entries.popleft()
            self._table_size -= size
            del self._serial_of[field]
            self._cache.clear()
