"""Settings, stream limits, resets, GOAWAY, PING, timeouts and losses, against Node's server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from pushgate.transport import (
    ConnectionLost,
    ConnectionUnavailable,
    Http2Config,
    Http2Connection,
    MaybeProcessedError,
    NotProcessedError,
    RequestTimeout,
    SharedHeaders,
    StreamRefused,
    StreamReset,
    StreamSlotTimeout,
)
from tests.transport.conftest import Server, TlsFiles, connect

NodeServer = Callable[..., Server]
SHARED = SharedHeaders([("authorization", "bearer abc"), ("apns-topic", "com.example")])


async def echo(connection: Http2Connection, path: str = "/echo") -> dict[str, object]:
    response = await connection.request(b"POST", path.encode(), (), b"{}", shared=SHARED)
    assert response.status == 200
    body: dict[str, object] = json.loads(response.body)
    return body


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(500):  # bounded: at most about 5 seconds
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


async def test_one_stream_at_a_time_then_more_when_the_server_raises_its_limit(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(settings={"maxConcurrentStreams": 1}), tls_files)
    assert connection.max_concurrent_streams == 1
    # The server holds stream 1 and raises its limit to 10 after 300 ms.
    path = b'/hold-then-raise?ms=300&s={"maxConcurrentStreams":10}'
    held = asyncio.ensure_future(connection.request(b"POST", path, (), b"{}"))
    await asyncio.sleep(0.1)
    queued = [asyncio.ensure_future(echo(connection)) for _ in range(3)]
    await asyncio.sleep(0.1)
    assert not any(task.done() for task in queued)  # waiting for the one slot
    echoes = await asyncio.gather(*queued)
    assert connection.max_concurrent_streams == 10
    release = await connection.request(b"POST", b"/release", (), b"")
    assert release.status == 200
    assert (await held).header("x-stream") == b"1"
    assert sorted(echoed["stream"] for echoed in echoes) == [3, 5, 7]  # type: ignore[type-var]
    await connection.close()


async def test_a_request_waiting_for_a_slot_times_out_unsent(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(settings={"maxConcurrentStreams": 1}), tls_files)
    held = asyncio.ensure_future(connection.request(b"POST", b"/hold", (), b"{}"))
    await asyncio.sleep(0.1)
    with pytest.raises(StreamSlotTimeout) as caught:
        await connection.request(b"POST", b"/echo", (), b"{}", timeout=0.2)
    assert caught.value.safe_to_resend
    assert connection.open_streams == 1
    connection.abort()
    with pytest.raises(ConnectionLost):
        await held


async def test_header_table_size_change_mid_connection_keeps_headers_intact(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(settings={"headerTableSize": 4096}), tls_files)
    first = await echo(connection)
    await connection.request(b"POST", b'/settings?s={"headerTableSize":64}', (), b"")
    after_shrink = [await echo(connection) for _ in range(3)]
    await connection.request(b"POST", b'/settings?s={"headerTableSize":4096}', (), b"")
    after_growth = [await echo(connection) for _ in range(3)]
    await connection.close()
    for echoed in [first, *after_shrink, *after_growth]:
        headers = echoed["headers"]
        assert isinstance(headers, dict)
        assert headers["authorization"] == "bearer abc"
        assert headers["apns-topic"] == "com.example"


async def test_tiny_initial_window_and_frame_size_from_the_server(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    server = node_server(settings={"initialWindowSize": 100, "maxFrameSize": 16384})
    connection = await connect(server, tls_files)
    bodies = [bytes([65 + number]) * 70_000 for number in range(4)]
    responses = await asyncio.gather(
        *(connection.request(b"POST", b"/echo-body", (), body, timeout=10) for body in bodies)
    )
    await connection.close()
    assert [response.body for response in responses] == bodies


async def test_rst_stream_fails_only_that_request(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(), tls_files)
    with pytest.raises(StreamRefused) as refused:
        await connection.request(b"POST", b"/rst?code=7", (), b"{}")  # REFUSED_STREAM
    with pytest.raises(StreamReset) as reset:
        await connection.request(b"POST", b"/rst?code=2", (), b"{}")  # INTERNAL_ERROR
    still_working = await echo(connection)
    await connection.close()
    assert refused.value.safe_to_resend
    assert not reset.value.safe_to_resend
    assert reset.value.error_code == 2
    assert still_working["length"] == 2


async def test_goaway_completes_streams_up_to_last_id_and_refuses_the_rest(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(), tls_files)
    held = [
        asyncio.ensure_future(connection.request(b"POST", b"/hold", (), b"{}")) for _ in range(4)
    ]  # streams 1, 3, 5, 7
    await asyncio.sleep(0.2)
    goaway = asyncio.ensure_future(connection.request(b"POST", b"/goaway?last=3", (), b""))
    outcomes = await asyncio.gather(*held, goaway, return_exceptions=True)
    assert [o.header("x-stream") for o in outcomes[:2] if not isinstance(o, BaseException)] == [
        b"1",
        b"3",
    ]
    assert all(isinstance(o, StreamRefused) for o in outcomes[2:])
    assert not connection.is_available
    with pytest.raises(ConnectionUnavailable):
        await echo(connection)
    await until(lambda: connection.is_closed)


async def test_connection_loss_fails_every_request_in_flight(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    server = node_server()
    connection = await connect(server, tls_files)
    held = [
        asyncio.ensure_future(connection.request(b"POST", b"/hold", (), b"{}", timeout=10))
        for _ in range(20)
    ]
    await asyncio.sleep(0.2)
    server.process.kill()  # the socket dies without a GOAWAY or RST_STREAM
    outcomes = await asyncio.gather(*held, return_exceptions=True)
    assert all(isinstance(outcome, ConnectionLost) for outcome in outcomes), outcomes
    assert connection.is_closed
    with pytest.raises(NotProcessedError):
        await echo(connection)


async def test_server_closing_the_session_resets_what_is_in_flight(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(), tls_files)
    held = [asyncio.ensure_future(connection.request(b"POST", b"/hold")) for _ in range(5)]
    await asyncio.sleep(0.2)
    closer = asyncio.ensure_future(connection.request(b"POST", b"/close"))
    outcomes = await asyncio.gather(*held, closer, return_exceptions=True)
    assert all(isinstance(outcome, MaybeProcessedError) for outcome in outcomes), outcomes
    await until(lambda: connection.is_closed)


async def test_request_timeout_resets_the_stream_and_the_connection_lives_on(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(), tls_files)
    with pytest.raises(RequestTimeout):
        await connection.request(b"POST", b"/never", (), b"{}", timeout=0.2)
    assert connection.open_streams == 0
    echoed = await echo(connection)
    await connection.close()
    assert echoed["stream"] == 3


async def test_cancelled_request_frees_its_stream(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(settings={"maxConcurrentStreams": 1}), tls_files)
    task = asyncio.ensure_future(connection.request(b"POST", b"/never", (), b"{}"))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    echoed = await echo(connection)  # the single slot is free again
    await connection.close()
    assert echoed["stream"] == 3


async def test_stream_id_exhaustion_retires_the_connection(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(), tls_files, Http2Config(max_stream_id=7))
    streams = [(await echo(connection))["stream"] for _ in range(4)]
    assert streams == [1, 3, 5, 7]
    assert not connection.is_available
    with pytest.raises(ConnectionUnavailable):
        await echo(connection)
    await until(lambda: connection.is_closed)


async def test_server_ping_is_answered(node_server: NodeServer, tls_files: TlsFiles) -> None:
    connection = await connect(node_server(), tls_files)
    response = await connection.request(b"POST", b"/ping", (), b"")
    await connection.close()
    assert response.header("x-ping") == b"pushgate"


async def test_keepalive_ping_keeps_an_idle_connection_open(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    config = Http2Config(ping_interval=0.05, ping_timeout=1.0)
    connection = await connect(node_server(), tls_files, config)
    await asyncio.sleep(0.4)  # several idle intervals, each answered by the server
    echoed = await echo(connection)
    await connection.close()
    assert echoed["stream"] == 1
