"""Request deadlines share one timer per connection: a short timeout behind a long one
still fires on time, and answered requests never time out, against Node's server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from pushgate.transport import RequestTimeout
from tests.transport.conftest import Server, TlsFiles, connect

NodeServer = Callable[..., Server]


async def test_short_timeout_behind_a_long_one_fires_on_time(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(), tls_files)
    patient = asyncio.ensure_future(connection.request(b"POST", b"/never", (), b"{}", timeout=10))
    started = time.monotonic()
    with pytest.raises(RequestTimeout):
        await connection.request(b"POST", b"/never", (), b"{}", timeout=0.2)
    waited = time.monotonic() - started
    assert not patient.done()  # its own deadline is far away
    patient.cancel()
    await connection.close()
    # Bounds, not speed: the short deadline neither waited for the long one nor fired early.
    assert 0.15 <= waited < 5


async def test_answered_requests_never_time_out_after_many_requests(
    node_server: NodeServer, tls_files: TlsFiles
) -> None:
    connection = await connect(node_server(), tls_files)
    for _ in range(3):  # several rounds, so answered entries are dropped along the way
        answers = await asyncio.gather(
            *(connection.request(b"POST", b"/echo", (), b"{}", timeout=0.3) for _ in range(200))
        )
        assert {answer.status for answer in answers} == {200}
    await asyncio.sleep(0.4)  # past every deadline: nothing may be reset now
    later = await connection.request(b"POST", b"/echo", (), b"{}")
    await connection.close()
    assert later.status == 200
    assert connection.open_streams == 0
