"""Provider clients per app and kind, built from stored credentials and kept warm.

A client holds pooled connections and cached auth tokens, so it is built once and reused
until the credentials change (their ``updated_at`` is part of the key) and then closed.
Webhook credentials are completed by the tenant's general ``webhook.url`` and
``webhook.authorization`` settings where they name none (core/webhook_defaults.py); those
values are part of the key too, so a change of the settings builds a new client.
"""

from __future__ import annotations

import asyncio
import logging

from pushgate.core.credentials import decode_secret
from pushgate.core.models import Provider as ProviderKind
from pushgate.core.models import sealed_for
from pushgate.core.ports import AccountStorePort
from pushgate.core.secretbox import SecretBox
from pushgate.core.webhook_defaults import NO_DEFAULTS, TenantWebhookDefaults, WebhookDefaults
from pushgate.providers.base import Provider, ProviderCredentials
from pushgate.providers.options import ProviderOptions
from pushgate.providers.registry import build_provider

log = logging.getLogger(__name__)
RELAY = "relay"


class ProviderCache:
    """``get(tenant_id, app_id, kind)`` → a live provider, or None when the app has no such
    credentials."""

    def __init__(
        self,
        accounts: AccountStorePort,
        box: SecretBox,
        options: ProviderOptions,
        *,
        webhook_defaults: TenantWebhookDefaults | None = None,
    ) -> None:
        self.accounts = accounts
        self.box = box
        self.options = options
        self.webhook_defaults = webhook_defaults
        # (app id, kind) → (credentials' updated_at, the defaults filled in, client)
        self._live: dict[tuple[str, str], tuple[int, WebhookDefaults, Provider]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._held: dict[tuple[str, str], str] = {}

    def held_by(self, app_id: str, kind: str) -> str:
        """Which of the app's credentials sent its last ``kind`` batch: ``kind``'s own, or
        ``relay`` (a pause or resume is theirs)."""
        return self._held.get((app_id, kind), kind)

    async def get(
        self, tenant_id: str, app_id: str, kind: str
    ) -> tuple[Provider | None, str | None]:
        """The provider and, when its credentials are paused, the pause reason. Asked before
        every batch, so it reads only the credential's version and pause (and, for a
        webhook, the tenant's cached defaults); the whole credential (and a new client)
        only when one of them changed. An app without ``kind``'s credentials but with
        ``relay`` ones sends that kind through its relay (docs/relay.md)."""
        held = kind
        version = await self.accounts.credential_version(app_id, kind)
        if version is None and kind != RELAY:
            held = RELAY
            version = await self.accounts.credential_version(app_id, RELAY)
        if version is None:
            return None, None
        self._held[(app_id, kind)] = held
        updated_at, paused_at, paused_reason = version
        paused = _pause(paused_at, paused_reason)
        defaults = await self._defaults(tenant_id, held)
        key = (app_id, kind)
        live = self._live.get(key)
        if live is not None and live[0] == updated_at and live[1] == defaults:
            return live[2], paused
        stored = {c.kind: c for c in await self.accounts.list_credentials(app_id)}
        found = stored.get(held)
        if found is None:  # deleted since the version was read
            return None, None
        # Batches running side by side may have built this client while we read: use
        # theirs, or close the one we replace, never drop one still open (it would leak).
        live = self._live.get(key)
        if live is not None and live[0] == found.updated_at and live[1] == defaults:
            return live[2], _pause(found.paused_at, found.paused_reason)
        if live is not None:
            # The replaced client drains and closes on its own: a TLS close can wait
            # seconds for the peer, and the send that found new credentials must not.
            task = asyncio.create_task(self._close(live[2]))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
        secret = decode_secret(self.box.open(found.sealed, sealed_for(app_id, held)))
        public = dict(found.public)
        if held == ProviderKind.WEBHOOK:
            public, secret = defaults.fill(public, secret)
        provider = self._build(ProviderCredentials(app_id, held, public, secret), kind)
        self._live[key] = (found.updated_at, defaults, provider)
        return provider, _pause(found.paused_at, found.paused_reason)

    def _build(self, credentials: ProviderCredentials, kind: str) -> Provider:
        if credentials.kind != RELAY:
            return build_provider(credentials, self.options)
        from pushgate.providers.relay import RelayPool, RelayProvider

        return RelayProvider(RelayPool(credentials, self.options), kind, owns_pool=True)

    async def _defaults(self, tenant_id: str, kind: str) -> WebhookDefaults:
        """The tenant's webhook fallbacks for a webhook client; nothing for other kinds."""
        if kind != ProviderKind.WEBHOOK or self.webhook_defaults is None:
            return NO_DEFAULTS
        return await self.webhook_defaults.of(tenant_id)

    async def _close(self, provider: Provider) -> None:
        try:
            await provider.close()
        except Exception:  # a failing close must not stop sending
            log.exception("closing a provider client failed")

    async def close(self) -> None:
        for _, _, provider in self._live.values():
            await self._close(provider)
        self._live.clear()
        if self._closing:
            await asyncio.wait(self._closing)


def _pause(paused_at: int | None, reason: str | None) -> str | None:
    """Why sending with these credentials is paused, or None when it is not."""
    return (reason or "paused") if paused_at is not None else None
