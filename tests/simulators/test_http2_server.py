"""The simulators' HTTP/2 server against clients nobody here wrote (curl/nghttp2, Node's
http2, httpx+h2) and protocol corners driven with the `h2` package: flow control with tiny
windows, CONTINUATION both ways, PING, RST_STREAM from the client, connection errors."""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import h2.errors
import h2.events
import h2.settings
import httpx
import pytest

from pushgate.simulators.base import SimRequest, SimResponse, Simulator
from pushgate.simulators.server import RunningServer, start
from pushgate.simulators.tls import CertificateAuthority
from tests.services import require_program
from tests.simulators.h2_client import H2Client, StreamResult

NODE_CLIENT = Path(__file__).with_name("node_h2_client.js")


class EchoSimulator(Simulator):
    """Answers with what it was sent: the body at /echo, sizes and big bodies on request."""

    name = "echo"

    async def handle_provider(self, request: SimRequest) -> SimResponse:
        headers = [
            ("x-body-size", str(len(request.body))),
            ("x-version", request.http_version),
            ("x-header-size", str(sum(len(v) for _, v in request.headers))),
        ]
        if request.path.startswith("/big/"):
            return SimResponse(200, headers, b"z" * int(request.path.removeprefix("/big/")))
        if request.path.startswith("/big-header/"):
            size = int(request.path.removeprefix("/big-header/"))
            return SimResponse(200, [*headers, ("x-big", "h" * size)])
        if request.path == "/slow":
            await asyncio.sleep(5)
        return SimResponse(200, headers, request.body)


@pytest.fixture
async def echo_h2c() -> AsyncIterator[RunningServer]:
    running = await start(EchoSimulator())
    yield running
    await running.close()


@pytest.fixture
async def echo_tls(sim_authority: CertificateAuthority) -> AsyncIterator[RunningServer]:
    running = await start(EchoSimulator(), ssl_context=sim_authority.server_context())
    yield running
    await running.close()


@pytest.fixture
def curl() -> str:
    return require_program("curl", "curl")


@pytest.fixture
def node() -> str:
    return require_program("node", "nodejs")


async def run(*command: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode is not None
    return process.returncode, (out or err).decode()


@pytest.mark.usefixtures("curl")
async def test_curl_prior_knowledge_h2c(echo_h2c: RunningServer) -> None:
    code, out = await run(
        "curl", "-sS", "--http2-prior-knowledge", "-d", "hello", "-D", "-",
        f"{echo_h2c.base_url}/echo",
    )  # fmt: skip
    assert code == 0
    assert out.startswith("HTTP/2 200")
    assert "x-version: 2" in out
    assert out.endswith("hello")


@pytest.mark.usefixtures("curl")
async def test_curl_over_tls_negotiates_h2_with_alpn(
    echo_tls: RunningServer, sim_authority: CertificateAuthority
) -> None:
    code, out = await run(
        "curl", "-sS", "--http2", "--cacert", str(sim_authority.ca_path), "-d", "over tls",
        "-D", "-", f"https://localhost:{echo_tls.port}/echo",
    )  # fmt: skip
    assert code == 0
    assert out.startswith("HTTP/2 200")
    assert out.endswith("over tls")


@pytest.mark.usefixtures("node")
async def test_node_http2_client(
    echo_tls: RunningServer, sim_authority: CertificateAuthority
) -> None:
    code, out = await run(
        "node", str(NODE_CLIENT), f"https://localhost:{echo_tls.port}/echo",
        str(sim_authority.ca_path), "from node", "x-custom=1",
    )  # fmt: skip
    assert code == 0, out
    answer = json.loads(out)
    assert answer["status"] == 200
    assert answer["alpn"] == "h2"
    assert answer["body"] == "from node"
    assert answer["headers"]["x-version"] == "2"


async def test_httpx_http2_and_http1_on_the_same_port(
    echo_tls: RunningServer, sim_authority: CertificateAuthority
) -> None:
    context = sim_authority.client_context()
    async with httpx.AsyncClient(http2=True, verify=context) as client:
        answers = await asyncio.gather(
            *(client.post(f"{echo_tls.base_url}/echo", content=f"n{i}") for i in range(20))
        )
    assert {a.http_version for a in answers} == {"HTTP/2"}
    assert sorted(a.text for a in answers) == sorted(f"n{i}" for i in range(20))
    async with httpx.AsyncClient(verify=sim_authority.client_context()) as client:
        answer = await client.post(f"{echo_tls.base_url}/echo", content=b"h1")
    assert (answer.http_version, answer.text) == ("HTTP/1.1", "h1")


async def test_response_body_respects_a_tiny_client_window(echo_h2c: RunningServer) -> None:
    client = await H2Client.connect(
        echo_h2c.port, settings={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 10}
    )
    try:
        stream_id = client.send("/big/100000", method="GET")
        result = await client.result(stream_id)
        assert result.status == 200
        assert bytes(result.body) == b"z" * 100_000
        sizes = [
            e.flow_controlled_length for e in client.events if isinstance(e, h2.events.DataReceived)
        ]
        assert max(sizes) <= 10  # never more than the window the client granted
    finally:
        await client.close()


async def test_request_body_larger_than_the_windows(echo_h2c: RunningServer) -> None:
    client = await H2Client.connect(echo_h2c.port)
    try:
        body = bytes(range(256)) * 1200  # 307,200 bytes: needs WINDOW_UPDATEs from the server
        stream_id = client.conn.get_next_available_stream_id()
        client.streams[stream_id] = StreamResult()
        client.conn.send_headers(
            stream_id,
            [(":method", "POST"), (":scheme", "http"), (":authority", "x"), (":path", "/echo")],
        )
        sent = 0
        for _ in range(200):
            window = client.conn.local_flow_control_window(stream_id)
            chunk = body[sent : sent + min(window, 16384)]
            if chunk:
                client.conn.send_data(stream_id, chunk, end_stream=sent + len(chunk) == len(body))
                sent += len(chunk)
                client.flush()
            if sent == len(body):
                break
            client.changed.clear()
            await asyncio.wait_for(client.changed.wait(), 5)
        result = await client.result(stream_id)
        assert bytes(result.body) == body
    finally:
        await client.close()


async def test_continuation_in_both_directions(echo_h2c: RunningServer) -> None:
    client = await H2Client.connect(echo_h2c.port)
    try:
        big = "v" * 40_000  # larger than one 16 KiB frame: h2 sends CONTINUATION frames
        stream_id = client.send("/big-header/50000", [("x-large", big)], method="GET")
        result = await client.result(stream_id)
        assert result.status == 200
        assert int(result.headers["x-header-size"]) >= 40_000
        assert result.headers["x-big"] == "h" * 50_000  # our CONTINUATION frames decoded
    finally:
        await client.close()


async def test_larger_client_max_frame_size_is_used(echo_h2c: RunningServer) -> None:
    client = await H2Client.connect(
        echo_h2c.port,
        settings={
            h2.settings.SettingCodes.MAX_FRAME_SIZE: 65_536,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1_000_000,
            h2.settings.SettingCodes.HEADER_TABLE_SIZE: 0,
        },
    )
    try:
        client.conn.increment_flow_control_window(1_000_000)
        client.flush()
        await client.wait_for(h2.events.SettingsAcknowledged)
        stream_id = client.send("/big/200000", method="GET")
        result = await client.result(stream_id)
        assert len(result.body) == 200_000
        sizes = [
            e.flow_controlled_length for e in client.events if isinstance(e, h2.events.DataReceived)
        ]
        assert max(sizes) > 16_384
    finally:
        await client.close()


async def test_ping_is_acknowledged_with_its_payload(echo_h2c: RunningServer) -> None:
    client = await H2Client.connect(echo_h2c.port)
    try:
        client.conn.ping(b"pushgate")
        client.flush()
        ack = await client.wait_for(h2.events.PingAckReceived)
        assert ack.ping_data == b"pushgate"
    finally:
        await client.close()


async def test_client_reset_cancels_the_stream_and_the_connection_goes_on(
    echo_h2c: RunningServer,
) -> None:
    client = await H2Client.connect(echo_h2c.port)
    try:
        slow = client.send("/slow", method="GET")
        client.conn.reset_stream(slow, h2.errors.ErrorCodes.CANCEL)
        client.flush()
        after = client.send("/echo", body=b"still here")
        result = await client.result(after)
        assert bytes(result.body) == b"still here"
        assert echo_h2c.simulator.counters["h2_client_resets"] == 1
    finally:
        await client.close()


async def test_protocol_violation_gets_goaway_protocol_error(echo_h2c: RunningServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", echo_h2c.port)
    empty_settings = struct.pack(">BHBBL", 0, 0, 4, 0, 0)
    data_on_stream_zero = struct.pack(">BHBBL", 0, 3, 0, 0, 0) + b"bad"
    writer.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + empty_settings + data_on_stream_zero)
    received = b""
    for _ in range(20):
        chunk = await asyncio.wait_for(reader.read(4096), 5)
        if not chunk:
            break
        received += chunk
    writer.close()
    frames = []
    position = 0
    while position + 9 <= len(received):
        high, low, kind, _flags, _sid = struct.unpack_from(">BHBBL", received, position)
        length = high << 16 | low
        frames.append((kind, received[position + 9 : position + 9 + length]))
        position += 9 + length
    goaways = [payload for kind, payload in frames if kind == 7]
    assert goaways, frames
    _last, code = struct.unpack_from(">LL", goaways[0])
    assert code == h2.errors.ErrorCodes.PROTOCOL_ERROR
