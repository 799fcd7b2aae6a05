"""Start any subset of the provider simulators in one process, each on its own port.

Fixed default ports (what ``pushgate simulate`` uses when none is given) start at 2197, the
port Apple offers as the firewall-friendly alternative to 443 for APNs (docs/providers.md §1.1):

=========  =====  =======================================================
simulator  port   serves (all over TLS, ALPN ``h2`` and ``http/1.1``)
=========  =====  =======================================================
apns       2197   HTTP/2
fcm        2198   HTTP/1.1 and HTTP/2, the OAuth token endpoint too
webpush    2199   HTTP/1.1 and HTTP/2
wns        2200   HTTP/1.1, the token endpoint too
hms        2201   HTTP/1.1 and HTTP/2, the OAuth token endpoint too
webhook    2202   HTTP/1.1
=========  =====  =======================================================

Every endpoint is https, as the real providers' are, with a server certificate from a
self-signed CA written to ``tls_dir`` (clients trust ``ca.pem``: pushgate through
``provider_ca_file``). ``plain_http`` serves all but APNs over plain HTTP/1.1 and h2c
instead; APNs speaks only HTTP/2 over TLS (docs/providers.md §1.1).

Port 0 picks a free port. The APNs and FCM simulator classes are looked up when needed, so
the others start even where those modules are absent.
"""

from __future__ import annotations

import contextlib
import importlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pushgate.simulators.base import Simulator
from pushgate.simulators.server import RunningServer, start

DEFAULT_PORTS: dict[str, int] = {
    "apns": 2197,
    "fcm": 2198,
    "webpush": 2199,
    "wns": 2200,
    "hms": 2201,
    "webhook": 2202,
}
SIMULATOR_NAMES = tuple(DEFAULT_PORTS)
DEFAULT_TLS_DIR = Path.home() / ".pushgate" / "simulators"
TLS_ONLY = frozenset({"apns"})  # APNs speaks only HTTP/2 over TLS (§1.1)
# Only APNs knows certificate authentication (docs/providers.md §1.5): the others ask for none.
CLIENT_CERTIFICATES = frozenset({"apns"})


class SimulatorUnavailable(RuntimeError):
    """A simulator was asked for whose module is not installed in this build."""


@dataclass
class SimulatorGroup:
    """Running simulators by name, and where the TLS trust anchor lives (None when all
    serve plain HTTP)."""

    servers: dict[str, RunningServer] = field(default_factory=dict)
    ca_path: Path | None = None

    @property
    def urls(self) -> dict[str, str]:
        return {name: server.base_url for name, server in self.servers.items()}

    def simulator(self, name: str) -> Simulator:
        return self.servers[name].simulator

    async def close(self) -> None:
        for server in self.servers.values():
            await server.close()
        self.servers.clear()


def find_simulator_class(name: str) -> type[Simulator]:
    """The :class:`Simulator` subclass in ``pushgate.simulators.<name>`` whose name is ``name``."""
    try:
        module = importlib.import_module(f"pushgate.simulators.{name}")
    except ImportError as exc:
        raise SimulatorUnavailable(f"the {name} simulator is not available: {exc}") from exc
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, Simulator) and value.name == name:
            return value
    raise SimulatorUnavailable(f"pushgate.simulators.{name} defines no {name!r} simulator")


def select_ports(requested: Mapping[str, int | None]) -> dict[str, int]:
    """All simulators on their default ports when none is named, else only the named ones."""
    unknown = set(requested) - set(SIMULATOR_NAMES)
    if unknown:
        raise ValueError(f"unknown simulators: {', '.join(sorted(unknown))}")
    named = {name: port for name, port in requested.items() if port is not None}
    return named if named else dict(DEFAULT_PORTS)


def tls_context(tls_dir: Path, *, client_certificates: bool = True) -> tuple[ssl.SSLContext, Path]:
    """A server context from the simulators' CA (made on first use) and the CA file."""
    try:
        tls = importlib.import_module("pushgate.simulators.tls")
    except ImportError as exc:
        raise SimulatorUnavailable(f"TLS for the simulators is not available: {exc}") from exc
    authority = tls.load_or_create_authority(tls_dir)
    # Client certificates issued by the same CA can be presented for certificate auth.
    client_ca = authority.ca_path if client_certificates else None
    context: ssl.SSLContext = authority.server_context(client_ca_path=client_ca)
    return context, Path(authority.ca_path)


async def start_simulators(
    ports: Mapping[str, int],
    *,
    host: str = "127.0.0.1",
    tls_dir: Path | None = None,
    plain_http: bool = False,
) -> SimulatorGroup:
    """Start each named simulator on its port, over TLS unless ``plain_http`` (APNs always
    is); on any failure nothing is left running."""
    group = SimulatorGroup()
    try:
        for name, port in ports.items():
            simulator = find_simulator_class(name)()
            context = None
            if name in TLS_ONLY or not plain_http:
                context, group.ca_path = tls_context(
                    tls_dir or DEFAULT_TLS_DIR, client_certificates=name in CLIENT_CERTIFICATES
                )
            group.servers[name] = await start(simulator, host=host, port=port, ssl_context=context)
    except BaseException:
        with contextlib.suppress(Exception):
            await group.close()
        raise
    return group


async def start_one(
    name: str, *, host: str = "127.0.0.1", tls_dir: Path | None = None, plain_http: bool = False
) -> RunningServer:
    """One simulator on a free port (the in-process form tests and benchmarks use)."""
    group = await start_simulators({name: 0}, host=host, tls_dir=tls_dir, plain_http=plain_http)
    return group.servers[name]
