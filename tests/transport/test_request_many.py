"""request_many: a whole batch in one write, one answer per request, against Node's server:
stream limits, flow control, GOAWAY and connection loss mid-batch, deadlines, cancelling."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest

from pushgate.transport import (
    ConnectionLost,
    Http2Config,
    Http2Pool,
    NotProcessedError,
    Request,
    RequestTimeout,
    Response,
    SharedHeaders,
    StreamSlotTimeout,
    TransportError,
)
from pushgate.transport.pool import even_shares, shares_for
from tests.transport.conftest import Server, TlsFiles, connect

NodeServer = Callable[..., Server]
SHARED = SharedHeaders([("authorization", "bearer abc"), ("apns-topic", "com.example")])


def echo_requests(count: int) -> list[Request]:
    return [
        (f"/echo/{number}".encode(), [(b"apns-id", b"id-%d" % number)], b"x" * number, SHARED)
        for number in range(count)
    ]


def echoed(answer: Response | TransportError) -> dict[str, object]:
    assert isinstance(answer, Response), answer
    assert answer.status == 200
    body: dict[str, object] = json.loads(answer.body)
    return body


def pool_for(server: Server, tls_files: TlsFiles, **options: object) -> Http2Pool:
    return Http2Pool(
        "localhost",
        server.port,
        ssl_context=tls_files.client_context(),
        **options,  # type: ignore[arg-type]
    )


async def test_a_batch_beyond_the_stream_limit_arrives_whole_and_in_order(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(settings={"maxConcurrentStreams": 7}), tls_files)
    answers = await connection.request_many(b"POST", echo_requests(60))
    assert await connection.request_many(b"POST", []) == []
    await connection.close()
    echoes = [echoed(answer) for answer in answers]
    for number, echo in enumerate(echoes):
        headers = echo["headers"]
        assert isinstance(headers, dict)
        assert (echo["path"], echo["length"]) == (f"/echo/{number}", number)
        assert headers["apns-id"] == f"id-{number}"
        assert headers["authorization"] == "bearer abc"
    # Every request had a stream of its own, and the first seven left at once.
    assert sorted(echo["stream"] for echo in echoes) == list(range(1, 120, 2))  # type: ignore[type-var]
    assert [echo["stream"] for echo in echoes[:7]] == [1, 3, 5, 7, 9, 11, 13]


async def test_waiting_requests_start_when_the_server_raises_its_limit(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    # Like the APNs gateway: one stream at first, more later. Stream 1 holds the only
    # slot; the server raises its limit to 50 after 300 ms.
    connection = await connect(node_server(settings={"maxConcurrentStreams": 1}), tls_files)
    path = b'/hold-then-raise?ms=300&s={"maxConcurrentStreams":50}'
    held = asyncio.ensure_future(connection.request(b"POST", path, (), b"{}"))
    await asyncio.sleep(0.1)
    batch = asyncio.ensure_future(connection.request_many(b"POST", echo_requests(30)))
    await asyncio.sleep(0.1)
    assert not batch.done()
    assert connection.open_streams == 31  # one in flight, thirty waiting
    answers = await batch
    assert connection.max_concurrent_streams == 50
    release = await connection.request(b"POST", b"/release", (), b"")
    assert (await held).header("x-stream") == b"1"
    await connection.close()
    assert release.status == 200
    assert sorted(echoed(answer)["stream"] for answer in answers) == list(range(3, 62, 2))  # type: ignore[type-var]


async def test_flow_control_holds_back_bodies_of_a_batch(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    server = node_server(settings={"initialWindowSize": 100})
    connection = await connect(server, tls_files)
    bodies = [bytes([65 + number]) * 70_000 for number in range(4)]
    requests: list[Request] = [(b"/echo-body", (), body, None) for body in bodies]
    answers = await connection.request_many(b"POST", requests, timeout=10)
    await connection.close()
    assert [answer.body for answer in answers if isinstance(answer, Response)] == bodies


async def test_deadline_fails_sent_and_waiting_requests_then_the_connection_lives_on(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(settings={"maxConcurrentStreams": 2}), tls_files)
    never: Request = (b"/never", (), b"{}", None)
    answers = await connection.request_many(b"POST", [never, never, never], timeout=0.3)
    assert [type(answer) for answer in answers] == [
        RequestTimeout,
        RequestTimeout,
        StreamSlotTimeout,
    ]
    assert connection.open_streams == 0
    [later] = await connection.request_many(b"POST", echo_requests(1))
    await connection.close()
    assert echoed(later)["stream"] == 5  # the third request never got a stream


async def test_cancelled_batch_frees_its_streams_and_waiting_places(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(settings={"maxConcurrentStreams": 2}), tls_files)
    never: Request = (b"/never", (), b"{}", None)
    batch = asyncio.ensure_future(connection.request_many(b"POST", [never] * 5))
    await asyncio.sleep(0.1)
    assert connection.open_streams == 5
    batch.cancel()
    with pytest.raises(asyncio.CancelledError):
        await batch
    assert connection.open_streams == 0
    answers = await connection.request_many(b"POST", echo_requests(2))
    await connection.close()
    assert [echoed(answer)["stream"] for answer in answers] == [5, 7]


async def test_goaway_mid_batch_resends_only_the_refused_requests(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    pool = pool_for(node_server(tls=True), tls_files, size=1)
    # Stream 1 makes the server send GOAWAY(last-stream-id=1) after 300 ms; the held
    # streams 3, 5 and 7 are refused by it and resent on a new connection.
    goaway: Request = (b"/hold-then-goaway?ms=300&last=1", (), b"", None)
    hold: Request = (b"/hold", (), b"{}", None)
    batch = asyncio.ensure_future(pool.request_many(b"POST", [goaway, hold, hold, hold]))
    await asyncio.sleep(0.6)
    assert not batch.done()  # the refused ones are held again on the new connection
    release = await pool.request(b"POST", b"/release", (), b"")
    answers = await batch
    await pool.close()
    assert release.status == 200
    assert all(isinstance(answer, Response) for answer in answers), answers
    streams = [answer.header("x-stream") for answer in answers if isinstance(answer, Response)]
    assert streams == [b"1", b"1", b"3", b"5"]


async def test_connection_loss_mid_batch_fails_what_was_sent_and_resends_what_waited(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    server = node_server(tls=True, settings={"maxConcurrentStreams": 3})
    pool = pool_for(server, tls_files, config=Http2Config(connect_timeout=2))
    hold: Request = (b"/hold", (), b"{}", None)
    batch = asyncio.ensure_future(pool.request_many(b"POST", [hold] * 3 + echo_requests(2)))
    await asyncio.sleep(0.2)
    server.process.kill()  # the socket dies without a GOAWAY or RST_STREAM
    answers = await batch
    await pool.close()
    # The three in flight may have been processed: they fail and are not resent. The two
    # waiting for a slot never left; resending them found no server.
    assert all(isinstance(answer, ConnectionLost) for answer in answers[:3]), answers
    assert all(isinstance(answer, NotProcessedError) for answer in answers[3:]), answers


async def test_running_out_of_stream_ids_mid_batch_moves_the_rest_to_new_connections(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    config = Http2Config(max_stream_id=7)  # four streams per connection
    pool = pool_for(node_server(tls=True), tls_files, size=1, config=config)
    answers = await pool.request_many(b"POST", echo_requests(10))
    await pool.close()
    echoes = [echoed(answer) for answer in answers]
    assert [echo["path"] for echo in echoes] == [f"/echo/{number}" for number in range(10)]
    sessions = [echo["session"] for echo in echoes]
    assert sessions == [1] * 4 + [2] * 4 + [3] * 2


async def test_a_batch_takes_free_slots_first_and_waits_where_loads_even_out(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    server = node_server(tls=True, settings={"maxConcurrentStreams": 40})
    pool = pool_for(server, tls_files, size=3)
    await pool.request(b"POST", b"/echo", (), b"")  # opens one and starts the others
    for _ in range(500):  # bounded: at most about 5 seconds
        if len(pool.connections) == 3:
            break
        await asyncio.sleep(0.01)
    small = await pool.request_many(b"POST", echo_requests(30))
    large = await pool.request_many(b"POST", echo_requests(150))
    await pool.close()
    # 30 fit in the free slots of one connection: one write. Of 150, 120 fill every free
    # slot and the other 30 wait, ten on each connection.
    assert len({echoed(answer)["session"] for answer in small}) == 1
    sessions = [echoed(answer)["session"] for answer in large]
    assert sorted(sessions.count(session) for session in {1, 2, 3}) == [50, 50, 50]


def test_shares_take_free_slots_of_the_least_loaded_first() -> None:
    assert shares_for([0, 0], [100, 100], 50) == [50, 0]
    assert shares_for([60, 0], [40, 100], 50) == [0, 50]
    assert shares_for([0, 0], [1, 1000], 50) == [1, 49]
    assert shares_for([0, 0, 0], [40, 40, 40], 150) == [50, 50, 50]
    assert shares_for([10, 0], [0, 0], 14) == [2, 12]
    assert shares_for([3], [1], 7) == [7]


def test_even_shares_fill_the_least_loaded_first() -> None:
    assert even_shares([0, 0], 50) == [25, 25]
    assert even_shares([0, 0, 0], 10) == [4, 3, 3]
    assert even_shares([10, 0], 4) == [0, 4]
    assert even_shares([10, 0], 14) == [2, 12]
    assert even_shares([5, 100, 0], 20) == [7, 0, 13]
    assert even_shares([3], 7) == [7]
    assert sum(even_shares([7, 1, 4, 0], 33)) == 33
