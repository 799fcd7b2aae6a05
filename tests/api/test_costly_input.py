"""Input that asks for CPU is bounded, and parsing never stops the event loop.

A PKCS#12 bundle names its own key-derivation iteration counts (RFC 7292 §4, Appendix C);
counts above the cap are refused before anything is derived, and every key or certificate
is parsed in a child process, so ``/healthz`` answers while one is being parsed.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import time

import httpx

from tests.api import material
from tests.api.expect import error_of, ok

APNS = {"bundle_id": "com.example.app", "environment": "production"}


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = (length.bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + length.to_bytes(size, "big") + content


def costly_pfx(iterations: int) -> bytes:
    """A small PFX whose MacData asks for ``iterations`` (the shape of the reported file):
    ``SEQUENCE { 3, ContentInfo(data, SEQUENCE {}), MacData(sha256, salt, iterations) }``."""
    sha256 = _der(0x06, bytes.fromhex("608648016503040201"))
    data_oid = _der(0x06, bytes.fromhex("2a864886f70d010701"))
    content_info = _der(0x30, data_oid + _der(0xA0, _der(0x04, _der(0x30, b""))))
    digest_info = _der(0x30, _der(0x30, sha256 + b"\x05\x00") + _der(0x04, b"\x00" * 32))
    count = _der(0x02, iterations.to_bytes((iterations.bit_length() + 8) // 8, "big"))
    mac_data = _der(0x30, digest_info + _der(0x04, b"\x11" * 8) + count)
    return _der(0x30, _der(0x02, b"\x03") + content_info + mac_data)


async def test_a_pkcs12_asking_for_absurd_iterations_is_refused_before_deriving(
    client: httpx.AsyncClient, app_name: str
) -> None:
    body = {**APNS, "certificate_p12": base64.b64encode(costly_pfx(20_000_000)).decode()}
    started = time.perf_counter()
    answer = await client.put(f"/v1/apps/{app_name}/credentials/apns", json=body)
    took = time.perf_counter() - started
    error = error_of(answer, 422, "validation_failed")
    assert error["details"]["field"] == "apns.certificate_p12"
    assert "20000000 key-derivation iterations" in error["details"]["reason"]
    print(f"refused a 20M-iteration PKCS#12 in {took * 1000:.0f} ms")


async def test_healthz_answers_while_a_slow_bundle_is_parsed(
    client: httpx.AsyncClient, app_name: str
) -> None:
    # Legitimate, but as slow as the cap allows: 1,000,000 iterations for the MAC and each
    # encrypted bag (over a second of CPU to open).
    slow = material.apns_p12("pw", kdf_rounds=1_000_000)
    body = {**APNS, "certificate_p12": slow, "certificate_password": "pw"}
    # Warm the parsing processes up, so the measured call is the parse itself.
    ok(await client.put(f"/v1/apps/{app_name}/credentials/apns", json=body))
    put = asyncio.create_task(client.put(f"/v1/apps/{app_name}/credentials/apns", json=body))
    started = time.perf_counter()
    answered: list[float] = []
    while not put.done():
        ok(await client.get("/healthz"))
        answered.append(time.perf_counter())
        await asyncio.sleep(0.01)
    ok(await put)
    parse = time.perf_counter() - started
    gaps = [later - earlier for earlier, later in itertools.pairwise([started, *answered])]
    print(
        f"parse {parse * 1000:.0f} ms; {len(answered)} healthz answers, slowest gap "
        f"{max(gaps) * 1000:.0f} ms"
    )
    # Parsing blocked the loop for the whole parse before: a health check asked while it
    # ran was answered only after it, one or two answers in all. Now they keep coming
    # through it. Counted, not timed: a loaded machine stretches the gaps between answers
    # and the parse itself, but a blocked loop cannot answer four times.
    assert len(answered) >= 4
