"""Private-target refusal for webhook (and Web Push, WNS) targets: the host is resolved once,
every address judged, and the connection made to a judged address (docs/architecture.md §6).

The resolver is the outer edge here: tests hand the client their own name → address table,
so a made-up name can point at the loopback simulator without touching real DNS.
"""

from __future__ import annotations

import pytest

from pushgate.core.models import Provider
from pushgate.core.outcomes import OutcomeKind
from pushgate.providers.target_guard import is_public_address
from pushgate.providers.webhook import WebhookProvider
from pushgate.simulators.webhook import WebhookSimulator
from tests.providers.http_material import credentials, delivery, loopback_options

NAME = "hooks.example.test"


class TableResolver:
    """Answers from a fixed table and counts lookups, as a DNS server we control would."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        answer = self.table.get(host)
        if answer is None:
            raise OSError(f"no such host {host}")
        return answer


async def send_one(
    url: str, resolver: TableResolver, *, allow_private: bool
) -> tuple[OutcomeKind, str]:
    given = credentials("webhook", {"url": url}, {})
    options = loopback_options(allow_private_targets=allow_private, resolver=resolver)
    provider = WebhookProvider(given, options)
    try:
        [outcome] = await provider.send([delivery(Provider.WEBHOOK, "device-1")])
    finally:
        await provider.close()
    return outcome.kind, outcome.reason


async def test_connection_goes_to_the_address_that_was_checked(
    webhook_sim: WebhookSimulator,
) -> None:
    resolver = TableResolver({NAME: ["127.0.0.1"]})
    port = webhook_sim.base_url.rsplit(":", 1)[1]
    kind, _ = await send_one(f"http://{NAME}:{port}/hooks/a", resolver, allow_private=True)
    # The name exists only in our table: the request arrived because the socket was opened
    # to the address the check saw, with no second lookup that could answer differently.
    assert kind is OutcomeKind.SENT
    assert list(webhook_sim.received) == ["/hooks/a"]
    assert resolver.lookups == [NAME]


@pytest.mark.parametrize(
    "addresses",
    [
        ["127.0.0.1"],
        ["10.1.2.3"],
        ["169.254.169.254"],
        ["::1"],
        ["fe80::1"],
        ["::ffff:127.0.0.1"],
        # One public and one private answer: refused, whatever order a resolver returns.
        ["93.184.216.34", "192.168.1.10"],
    ],
)
async def test_names_resolving_to_non_public_addresses_are_refused(
    webhook_sim: WebhookSimulator, addresses: list[str]
) -> None:
    resolver = TableResolver({NAME: addresses})
    port = webhook_sim.base_url.rsplit(":", 1)[1]
    kind, reason = await send_one(f"https://{NAME}:{port}/hooks/a", resolver, allow_private=False)
    assert kind is OutcomeKind.REJECTED
    assert "loopback, private or link-local" in reason
    assert webhook_sim.counters["requests"] == 0


async def test_plain_http_is_refused_unless_private_targets_are_allowed(
    webhook_sim: WebhookSimulator,
) -> None:
    resolver = TableResolver({NAME: ["93.184.216.34"]})
    kind, reason = await send_one(f"http://{NAME}/hooks/a", resolver, allow_private=False)
    assert (kind, reason) == (OutcomeKind.REJECTED, "webhook target must use https")
    assert resolver.lookups == []


async def test_unresolvable_host_is_a_retry(webhook_sim: WebhookSimulator) -> None:
    resolver = TableResolver({})
    kind, reason = await send_one("https://missing.example.test/x", resolver, allow_private=False)
    assert kind is OutcomeKind.RETRY
    assert "cannot resolve" in reason


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.0.1", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fc00::1", False),
        ("fe80::1%eth0", False),
        ("::ffff:10.0.0.1", False),
    ],
)
def test_public_address_judgement(address: str, public: bool) -> None:
    assert is_public_address(address) is public
