"""How much work opening a PKCS#12 bundle asks for, read before anything is derived.

A PFX names its own iteration counts: the MAC's (``MacData.iterations``, RFC 7292 §4) and
each password-based encryption's (PKCS#12 PBE parameters, RFC 7292 Appendix C; PBKDF2
inside PBES2, RFC 8018 §A.2). Opening the bundle runs every one of them, so a 1.4 KB file
can ask for hours of CPU. This walks the DER (and BER, which some exporters write) cheaply,
without deriving a key, and reports the largest count, so :func:`open_pkcs12` can refuse
absurd ones first.

Typical counts: OpenSSL writes 2048 for both MAC and key encryption, Windows 2000, Java's
keytool 10000; RFC 7292 Appendix C recommends at least 1024. The cap of 1,000,000 leaves a
wide margin (still under a second and a half of CPU to open) and refuses the rest.
"""

from __future__ import annotations

MAX_ITERATIONS = 1_000_000
# Deeper nesting than any PFX has; a bound so hostile input cannot exhaust the stack.
_MAX_DEPTH = 24

_SEQUENCE, _INTEGER, _OCTET_STRING, _OID = 0x30, 0x02, 0x04, 0x06
_CONSTRUCTED = 0x20
# DER contents of the OIDs whose parameters carry an iteration count as their second field:
# PBKDF2 (1.2.840.113549.1.5.12) and the PKCS#12 PBE family (1.2.840.113549.1.12.1.1-6).
_PBKDF2 = bytes.fromhex("2a864886f70d01050c")
_PKCS12_PBE_PREFIX = bytes.fromhex("2a864886f70d010c01")


class Pkcs12TooCostly(ValueError):
    """The bundle asks for more iterations than :data:`MAX_ITERATIONS`."""


class _Node:
    __slots__ = ("children", "constructed", "content", "tag")

    def __init__(self, tag: int, content: bytes, children: list[_Node] | None) -> None:
        self.tag = tag
        self.constructed = children is not None
        self.content = content
        self.children = children or []


def largest_iteration_count(data: bytes) -> int:
    """The largest iteration count ``data`` (a PFX) names; 0 when it names none.

    Raises ``ValueError`` for data that is not well-formed DER/BER, and
    :class:`Pkcs12TooCostly` once a count above :data:`MAX_ITERATIONS` is seen.
    """
    nodes, end = _parse(data, 0, len(data), 0)
    if end != len(data) or len(nodes) != 1:
        raise ValueError("is not one DER structure")
    return _walk(nodes[0], 0)


def _walk(node: _Node, depth: int) -> int:
    """Largest count under ``node``: AlgorithmIdentifiers of the PBE kinds, the MAC's
    iterations, and whatever an OCTET STRING holds when it is itself DER."""
    if depth > _MAX_DEPTH:
        raise ValueError("nests too deeply")
    found = 0
    children = node.children
    if node.tag == _SEQUENCE and len(children) == 2 and children[0].tag == _OID:
        oid = children[0].content
        if oid == _PBKDF2 or oid.startswith(_PKCS12_PBE_PREFIX):
            found = _checked(_second_integer(children[1]))
    if node.tag == _SEQUENCE and len(children) == 3 and _is_mac_data(children):
        found = max(found, _checked(_integer(children[2].content)))
    for child in children:
        found = max(found, _walk(child, depth + 1))
    if node.tag == _OCTET_STRING:
        inner = _inner_der(node)
        if inner is not None:
            found = max(found, _walk(inner, depth + 1))
    return found


def _is_mac_data(children: list[_Node]) -> bool:
    """``MacData ::= SEQUENCE { mac DigestInfo, macSalt OCTET STRING, iterations INTEGER }``."""
    digest, salt, count = children
    return digest.tag == _SEQUENCE and salt.tag == _OCTET_STRING and count.tag == _INTEGER


def _second_integer(params: _Node) -> int:
    children = params.children
    if params.tag == _SEQUENCE and len(children) >= 2 and children[1].tag == _INTEGER:
        return _integer(children[1].content)
    return 0


def _checked(count: int) -> int:
    if count > MAX_ITERATIONS:
        raise Pkcs12TooCostly(
            f"asks for {count} key-derivation iterations; at most {MAX_ITERATIONS} are "
            "accepted (export it again with the usual 2048 or 10000)"
        )
    return count


def _integer(content: bytes) -> int:
    # Counts beyond 8 bytes are absurd in any case; read no more than that many digits.
    if len(content) > 8:
        return MAX_ITERATIONS + 1
    return int.from_bytes(content, "big", signed=True)


def _inner_der(node: _Node) -> _Node | None:
    """The structure an OCTET STRING carries (a ContentInfo's content, a SafeContents), or
    None when its bytes are not one DER structure (a digest, a salt, ciphertext)."""
    content = node.content
    if node.constructed:  # BER: the string in pieces
        content = b"".join(child.content for child in node.children)
    if not content or content[0] not in (_SEQUENCE,):
        return None
    try:
        nodes, end = _parse(content, 0, len(content), 0)
    except ValueError:
        return None
    return nodes[0] if end == len(content) and len(nodes) == 1 else None


def _parse(data: bytes, at: int, end: int, depth: int) -> tuple[list[_Node], int]:
    """The TLVs from ``at`` up to ``end`` (or an end-of-contents marker)."""
    if depth > _MAX_DEPTH:
        raise ValueError("nests too deeply")
    nodes: list[_Node] = []
    while at < end:
        if data[at : at + 2] == b"\x00\x00":
            return nodes, at + 2
        tag = data[at]
        if tag & 0x1F == 0x1F:
            raise ValueError("uses a high tag number")
        at, length = _length(data, at + 1, end)
        if length is None:  # BER indefinite length: children up to end-of-contents
            if not tag & _CONSTRUCTED:
                raise ValueError("has an indefinite primitive")
            children, at = _parse(data, at, end, depth + 1)
            nodes.append(_Node(tag, b"", children))
            continue
        if at + length > end:
            raise ValueError("is truncated")
        content = data[at : at + length]
        parts: list[_Node] | None = None
        if tag & _CONSTRUCTED:
            parts, stop = _parse(data, at, at + length, depth + 1)
            if stop != at + length:
                raise ValueError("has trailing bytes in a structure")
        nodes.append(_Node(tag, content, parts))
        at += length
    return nodes, at


def _length(data: bytes, at: int, end: int) -> tuple[int, int | None]:
    if at >= end:
        raise ValueError("is truncated")
    first = data[at]
    if first < 0x80:
        return at + 1, first
    if first == 0x80:
        return at + 1, None
    count = first & 0x7F
    if count > 4 or at + 1 + count > end:
        raise ValueError("has an invalid length")
    return at + 1 + count, int.from_bytes(data[at + 1 : at + 1 + count], "big")
