"""Http2Pool: spreading streams, replacing connections, resending what was not processed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from pushgate.transport import ConnectError, Http2Config, Http2Pool, MaybeProcessedError
from tests.transport.conftest import Server, TlsFiles

NodeServer = Callable[..., Server]


def pool_for(server: Server, tls_files: TlsFiles, **options: object) -> Http2Pool:
    return Http2Pool(
        "localhost",  # resolved afresh for each connection
        server.port,
        ssl_context=tls_files.client_context(),
        **options,  # type: ignore[arg-type]
    )


async def sessions_of(pool: Http2Pool, count: int, path: bytes = b"/echo") -> list[int]:
    responses = await asyncio.gather(
        *(pool.request(b"POST", path, (), b"{}") for _ in range(count))
    )
    return [json.loads(response.body)["session"] for response in responses]


async def test_streams_spread_over_every_connection(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    pool = pool_for(node_server(tls=True), tls_files, size=4)
    await sessions_of(pool, 1)  # the first request opens one and starts the others
    await asyncio.sleep(0.2)
    sessions = await sessions_of(pool, 400)
    await pool.close()
    assert len(pool.connections) == 0
    assert set(sessions) == {1, 2, 3, 4}
    assert min(sessions.count(session) for session in set(sessions)) >= 50


async def test_retired_connections_are_replaced_without_failures(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    config = Http2Config(max_stream_id=21)  # eleven streams per connection
    pool = pool_for(node_server(tls=True), tls_files, size=2, config=config)
    sessions = [session for _ in range(10) for session in await sessions_of(pool, 5)]
    await pool.close()
    assert len(sessions) == 50
    assert len(set(sessions)) >= 5  # 50 streams need at least five connections


async def test_goaway_refused_streams_are_resent_on_a_new_connection(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    pool = pool_for(node_server(tls=True), tls_files, size=1)
    # Stream 1 asks the server to send GOAWAY(last-stream-id=1) after 300 ms; streams 3
    # and 5 are held, then refused by it, and the pool resends them on a new connection.
    first = asyncio.ensure_future(pool.request(b"POST", b"/hold-then-goaway?ms=300&last=1"))
    await asyncio.sleep(0.05)
    held = [asyncio.ensure_future(pool.request(b"POST", b"/hold", (), b"{}")) for _ in range(2)]
    assert (await first).header("x-stream") == b"1"
    await asyncio.sleep(0.3)
    release = await pool.request(b"POST", b"/release", (), b"")
    responses = await asyncio.gather(*held)
    await pool.close()
    assert release.status == 200
    assert [response.header("x-stream") for response in responses] == [b"1", b"3"]


async def test_a_dead_connection_is_replaced(node_server: NodeServer, tls_files: TlsFiles) -> None:
    pool = pool_for(node_server(tls=True), tls_files, size=1)
    before = await sessions_of(pool, 3)
    with pytest.raises(MaybeProcessedError):
        await pool.request(b"POST", b"/close", (), b"")
    await asyncio.sleep(0.1)
    after = await sessions_of(pool, 3)
    await pool.close()
    assert set(before) == {1}
    assert set(after) == {2}


async def test_connect_failure_reaches_the_caller(tls_files: TlsFiles) -> None:
    pool = Http2Pool("127.0.0.1", 1, config=Http2Config(connect_timeout=1))
    with pytest.raises(ConnectError):
        await pool.request(b"GET", b"/")
    await pool.close()
