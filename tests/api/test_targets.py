"""Delivery targets that can never be sent to are refused at registration with 422: webhook
URLs, Web Push endpoints and webhook credential URLs alike, judged by the table the
connection is judged by (core/addresses.py, docs/architecture.md §6)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from pushgate.core.addresses import AddressUse, address_use, may_connect, parse_host
from pushgate.providers.target_guard import is_public_address
from pushgate.wiring import build_services
from tests.api.expect import error_of, field_of, ok
from tests.api.material import browser_subscription
from tests.conftest import api_client, empty_postgres, make_settings

# Never a target, whatever the operator allows.
NEVER = [
    "https://0177.0.0.1/x",  # octal: 127.0.0.1 to inet_aton, refused by the HTTP client
    "https://0x7f.1/x",  # hex and short
    "https://2130706433/x",  # one integer
    "https://127.1/x",  # short form
    "https://1.2.3.4.5/x",
    "https://[fe80::1%25eth0]/x",  # a zone: an interface of this host
    "https://[::1/x",  # unparseable
    "https://u:p@hooks.example.com/x",  # userinfo
    "https://hooks.example.com:99999/x",  # port out of range
    "https://xn--a.example/x",  # no valid IDNA: the HTTP client raises on it
    "https://exa\u00e4mple.com/x",  # not ASCII
    "https://0.0.0.0/x",
    "https://[::]/x",
    "https://224.0.0.1/x",
    "https://[ff02::1]/x",
    "ftp://hooks.example.com/x",
    "not a url",
]
# Refused unless private targets are allowed (tests and local simulators allow them).
PRIVATE = [
    "https://127.0.0.1/x",
    "https://localhost/x",
    "https://api.localhost/x",
    "https://10.0.0.1/x",
    "https://172.16.0.1/x",
    "https://192.168.1.1/x",
    "https://100.64.0.1/x",
    "https://169.254.169.254/latest",
    "https://192.0.2.1/x",
    "https://[::1]/x",
    "https://[::ffff:127.0.0.1]/x",
    "https://[::ffff:7f00:1]/x",
    "https://[64:ff9b::a9fe:a9fe]/x",  # NAT64 of 169.254.169.254
    "https://[2002:a00:1::]/x",  # 6to4 of 10.0.0.1
    "https://[fe80::1]/x",
    "https://[fd00::1]/x",
    "https://[2001:db8::1]/x",
]


@pytest.fixture
async def strict(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An admin client of an instance that does not allow private targets (production)."""
    if database_url.startswith("postgresql"):
        await empty_postgres(database_url)
    services = await build_services(
        make_settings(tmp_path, database_url, allow_private_targets=False)
    )
    try:
        made = await services.access.bootstrap_admin_key()
        assert made is not None
        async with api_client(services, made.plaintext) as http:
            ok(await http.post("/v1/apps", json={"name": "mobile"}), 201)
            yield http
    finally:
        await services.close()


async def _refused(client: httpx.AsyncClient, url: str) -> None:
    """A webhook device, a Web Push subscription and the webhook credentials with ``url``:
    each a 422 naming its field, and nothing stored."""
    answer = await client.post(
        "/v1/apps/mobile/devices", json={"provider": "webhook", "token": url}
    )
    assert field_of(answer) == "token", url
    subscription = browser_subscription(url).as_json()
    answer = await client.post(
        "/v1/apps/mobile/devices", json={"provider": "webpush", "subscription": subscription}
    )
    assert field_of(answer) == "subscription.endpoint", url
    answer = await client.put("/v1/apps/mobile/credentials/webhook", json={"url": url})
    assert "webhook.url" in error_of(answer, 422)["message"], url
    assert ok(await client.get("/v1/devices"))["items"] == []


async def test_targets_that_can_never_be_sent_to_are_refused(
    client: httpx.AsyncClient, app_name: str
) -> None:
    for url in NEVER:
        await _refused(client, url)  # ``client`` allows private targets: refused all the same


async def test_non_public_literals_are_refused_unless_private_targets_are_allowed(
    strict: httpx.AsyncClient,
) -> None:
    for url in PRIVATE:
        await _refused(strict, url)


async def test_private_literals_register_when_allowed(
    client: httpx.AsyncClient, app_name: str
) -> None:
    for url in PRIVATE:
        answer = await client.post(
            "/v1/apps/mobile/devices", json={"provider": "webhook", "token": url}
        )
        ok(answer, 201)


async def test_public_targets_register(strict: httpx.AsyncClient) -> None:
    for url in [
        "https://hooks.example.com/x",
        "https://93.184.216.34/x",
        "https://[2606:4700::1]/",
    ]:
        answer = await strict.post(
            "/v1/apps/mobile/devices", json={"provider": "webhook", "token": url}
        )
        assert ok(answer, 201)["token"] == url


@pytest.mark.parametrize(
    ("text", "use"),
    [
        ("93.184.216.34", AddressUse.PUBLIC),
        ("2606:4700:4700::1111", AddressUse.PUBLIC),
        ("127.0.0.1", AddressUse.LOOPBACK),
        ("::ffff:127.0.0.1", AddressUse.LOOPBACK),
        ("64:ff9b::7f00:1", AddressUse.LOOPBACK),
        ("2002:7f00:1::", AddressUse.LOOPBACK),
        ("10.0.0.1", AddressUse.PRIVATE),
        ("fd12::1", AddressUse.PRIVATE),
        ("169.254.169.254", AddressUse.LINK_LOCAL),
        ("fe80::1", AddressUse.LINK_LOCAL),
        ("224.0.0.1", AddressUse.MULTICAST),
        ("0.0.0.0", AddressUse.UNSPECIFIED),
        ("::", AddressUse.UNSPECIFIED),
        ("255.255.255.255", AddressUse.RESERVED),
        ("198.18.0.1", AddressUse.RESERVED),
        ("::7f00:1", AddressUse.RESERVED),  # IPv4-compatible, deprecated (RFC 4291 §2.5.5.1)
        ("4000::1", AddressUse.RESERVED),  # outside the global unicast space
    ],
)
def test_registration_and_connection_judge_by_one_table(text: str, use: AddressUse) -> None:
    """The literal in a URL and the same address answered by a resolver get one verdict."""
    import ipaddress

    assert address_use(ipaddress.ip_address(text)) is use
    in_url = parse_host(text)
    assert getattr(in_url, "use", None) is use
    assert is_public_address(text) is (use is AddressUse.PUBLIC)
    assert may_connect(use, allow_private=False) is (use is AddressUse.PUBLIC)
