"""The same exchanges against three independent HTTP/2 servers, over h2c and TLS."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable

import pytest

from pushgate.transport import Http2Config, SharedHeaders
from tests.transport.conftest import Server, TlsFiles, connect

SERVERS = ["node_server", "hypercorn_server"]
SHARED = SharedHeaders(
    [
        ("authorization", "bearer eyJhbGciOiJFUzI1NiJ9.test"),
        ("apns-topic", "com.example.app"),
        ("apns-push-type", "alert"),
        ("content-type", "application/json"),
    ]
)
PAYLOAD = json.dumps({"aps": {"alert": {"title": "Hello", "body": "x" * 240}}}).encode()


@pytest.fixture(params=SERVERS)
def start_server(request: pytest.FixtureRequest) -> Callable[..., Server]:
    factory: Callable[..., Server] = request.getfixturevalue(request.param)
    return factory


@pytest.mark.parametrize("tls", [False, True], ids=["h2c", "tls"])
async def test_server_receives_every_header_of_many_concurrent_posts(
    start_server: Callable[..., Server], tls: bool, tls_files: TlsFiles
) -> None:
    connection = await connect(start_server(tls=tls), tls_files)
    count = 300

    async def send(number: int) -> dict[str, object]:
        response = await connection.request(
            b"POST",
            f"/echo/{number}".encode(),
            [(b"apns-id", f"id-{number}".encode())],
            PAYLOAD,
            shared=SHARED,
        )
        assert response.status == 200
        echoed: dict[str, object] = json.loads(response.body)
        return echoed

    echoes = await asyncio.gather(*(send(number) for number in range(count)))
    await connection.close()
    for number, echo in enumerate(echoes):
        headers = echo["headers"]
        assert isinstance(headers, dict)
        assert echo["path"] == f"/echo/{number}"
        assert echo["length"] == len(PAYLOAD)
        assert headers["apns-id"] == f"id-{number}"
        assert headers["authorization"] == "bearer eyJhbGciOiJFUzI1NiJ9.test"
        assert headers["apns-topic"] == "com.example.app"
        assert headers["content-length"] == str(len(PAYLOAD))
    assert connection.is_closed


async def test_large_bodies_both_ways_respect_flow_control(
    start_server: Callable[..., Server], tls_files: TlsFiles
) -> None:
    # 3 MB each way is far above the 65,535-byte initial windows (RFC 9113 §6.9.2).
    config = Http2Config(stream_window_size=65_535)
    connection = await connect(start_server(), tls_files, config)
    bodies = [bytes([number]) * (1_000_000 + number) for number in range(3)]
    responses = await asyncio.gather(
        *(connection.request(b"POST", b"/echo-body", (), body) for body in bodies)
    )
    await connection.close()
    assert [hashlib.sha256(r.body).digest() for r in responses] == [
        hashlib.sha256(body).digest() for body in bodies
    ]


async def test_huge_response_headers_arrive_through_continuation(
    start_server: Callable[..., Server], tls_files: TlsFiles
) -> None:
    connection = await connect(start_server(), tls_files)
    response = await connection.request(b"GET", b"/big-headers?size=50000")
    follow_up = await connection.request(b"POST", b"/echo", (), b"{}", shared=SHARED)
    await connection.close()
    assert response.header("x-big") == b"b" * 50_000
    assert follow_up.status == 200


async def test_huge_request_header_leaves_through_continuation(
    start_server: Callable[..., Server], tls_files: TlsFiles
) -> None:
    connection = await connect(start_server(), tls_files)
    big = b"v" * 40_000  # more than two 16,384-byte frames of header block
    response = await connection.request(b"POST", b"/echo", [(b"x-large", big)], b"{}")
    await connection.close()
    assert json.loads(response.body)["headers"]["x-large"] == big.decode()


async def test_nghttpd_serves_files_echoes_uploads_and_pads_frames(
    nghttpd_server: Callable[..., Server], tls_files: TlsFiles
) -> None:
    # Padding on every frame (§6.1), a 1 KiB stream window and one stream at a time.
    server = nghttpd_server("--echo-upload", "-b", "64", "-w", "10", "-m", "1", tls=True)
    connection = await connect(server, tls_files)
    upload = bytes(range(256)) * 400
    responses = await asyncio.gather(
        connection.request(b"GET", b"/hello.txt"),
        *(connection.request(b"POST", b"/hello.txt", (), upload) for _ in range(3)),
        connection.request(b"GET", b"/missing"),
    )
    await connection.close()
    assert connection.max_concurrent_streams == 1
    assert responses[0].status == 200
    assert responses[0].body == b"hello from nghttpd\n"
    assert [r.body for r in responses[1:4]] == [upload] * 3
    assert responses[4].status == 404


async def test_nghttpd_with_a_small_header_table_and_trailers(
    nghttpd_server: Callable[..., Server], tls_files: TlsFiles
) -> None:
    # nghttpd's decoder allows only 256 bytes of dynamic table (RFC 7541 §4.2).
    server = nghttpd_server("-c", "256", "--trailer", "x-trailer: done")
    connection = await connect(server, tls_files)
    responses = [await connection.request(b"GET", b"/hello.txt", shared=SHARED) for _ in range(20)]
    await connection.close()
    assert {r.body for r in responses} == {b"hello from nghttpd\n"}
    assert responses[-1].header("x-trailer") == b"done"
