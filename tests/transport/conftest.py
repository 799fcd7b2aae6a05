"""Independent HTTP/2 servers for the transport tests, each a subprocess on 127.0.0.1.

- Node's ``http2`` module (nghttp2 inside Node), driven by ``node_h2_server.js``;
- hypercorn (the Python ``h2`` state machine), driven by ``hypercorn_server.py``;
- ``nghttpd`` from Debian's nghttp2-server package (`make test-deps` installs it).
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import select
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pushgate.transport import Http2Config, Http2Connection, client_ssl_context
from tests.services import require_program

HERE = Path(__file__).parent
START_TIMEOUT = 15.0


@dataclass(frozen=True)
class TlsFiles:
    cert: Path
    key: Path

    def client_context(self) -> ssl.SSLContext:
        return client_ssl_context(cafile=str(self.cert))


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen[bytes]
    tls: bool


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A self-signed certificate for ``localhost`` and 127.0.0.1."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    files = TlsFiles(folder / "cert.pem", folder / "key.pem")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


def _read_port(process: subprocess.Popen[bytes]) -> int:
    """The port the server prints as ``PORT <n>``, within a bounded time."""
    assert process.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT
    line = b""
    while not line.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        ready, _, _ = select.select([process.stdout], [], [], max(remaining, 0))
        if not ready:
            raise TimeoutError("test server did not start")
        chunk = os.read(process.stdout.fileno(), 1)
        if not chunk:
            raise RuntimeError(f"test server exited with {process.wait()}")
        line += chunk
    return int(line.split()[1])


def _wait_listening(port: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            time.sleep(0.05)
        else:
            return
    raise TimeoutError(f"nothing listens on port {port}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


ServerFactory = Callable[..., Server]


async def connect(
    server: Server, tls_files: TlsFiles, config: Http2Config | None = None
) -> Http2Connection:
    """A connection to ``server``: TLS with ALPN h2 when it serves TLS, h2c otherwise."""
    if server.tls:
        return await Http2Connection.open(
            "127.0.0.1",
            server.port,
            ssl_context=tls_files.client_context(),
            server_hostname="localhost",
            config=config,
        )
    return await Http2Connection.open("127.0.0.1", server.port, config=config)


@pytest.fixture
def node_server(tls_files: TlsFiles) -> Iterator[ServerFactory]:
    """Start Node ``http2`` servers: ``node_server(tls=False, settings={...})``."""
    node = require_program("node", "nodejs")
    started: list[subprocess.Popen[bytes]] = []

    def start(*, tls: bool = False, settings: dict[str, object] | None = None) -> Server:
        options = {"tls": tls, "settings": settings or {}}
        options.update({"cert": str(tls_files.cert), "key": str(tls_files.key)})
        process = subprocess.Popen(
            [node, str(HERE / "node_h2_server.js"), json.dumps(options)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return Server(_read_port(process), process, tls)

    yield start
    for process in started:
        _stop(process)


@pytest.fixture
def hypercorn_server(tls_files: TlsFiles) -> Iterator[ServerFactory]:
    """Start hypercorn servers: ``hypercorn_server(max_streams=100)``.

    Always TLS: hypercorn with h11 0.16 does not answer an h2c prior-knowledge preface.
    """
    started: list[subprocess.Popen[bytes]] = []

    def start(*, tls: bool = True, max_streams: int = 100) -> Server:
        del tls
        options = {"tls": True, "max_streams": max_streams}
        options.update({"cert": str(tls_files.cert), "key": str(tls_files.key)})
        process = subprocess.Popen(
            [sys.executable, str(HERE / "hypercorn_server.py"), json.dumps(options)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        started.append(process)
        return Server(_read_port(process), process, True)

    yield start
    for process in started:
        _stop(process)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def nghttpd_server(tls_files: TlsFiles, tmp_path: Path) -> Iterator[ServerFactory]:
    """Start ``nghttpd`` serving ``tmp_path``: ``nghttpd_server("--echo-upload", tls=True)``."""
    nghttpd = require_program("nghttpd", "nghttp2-server")
    (tmp_path / "hello.txt").write_bytes(b"hello from nghttpd\n")
    started: list[subprocess.Popen[bytes]] = []

    def start(*options: str, tls: bool = False) -> Server:
        port = _free_port()  # nghttpd cannot report a port it chose itself
        tls_args = [str(tls_files.key), str(tls_files.cert)] if tls else ["--no-tls"]
        command = [nghttpd, "-a", "127.0.0.1", "-d", str(tmp_path), *options, str(port)]
        process = subprocess.Popen(
            [*command, *tls_args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        started.append(process)
        _wait_listening(port)
        return Server(port, process, tls)

    yield start
    for process in started:
        _stop(process)
