"""A tenant's operational webhook: where its operational events are POSTed, signed the
Standard Webhooks way (docs/operations.md, "Operational events").

The URL is checked as a webhook provider's target is (core/tokens.py ``check_url``); the
signing secret is the caller's or a generated ``whsec_…`` one, shown once, and sealed with
the SecretBox like credentials (``Sealed.OPERATIONAL_WEBHOOK``, opened only for its tenant).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pushgate.core.audit import AuditAction, AuditLog
from pushgate.core.credentials.webhook import generate_signing_secret
from pushgate.core.inputs import OperationalWebhookInput
from pushgate.core.models import Scope, Sealed, Tenant, sealed_for
from pushgate.core.secretbox import SecretBox
from pushgate.core.tokens import check_url

if TYPE_CHECKING:
    from pushgate.core.access import Caller


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """Where to POST and the secret to sign with (opened, for the sending job only)."""

    url: str
    secret: str


class WebhookSettingsPort(Protocol):
    async def webhook_of(self, tenant_id: str) -> tuple[str, bytes] | None: ...
    async def set_webhook(self, tenant_id: str, url: str | None, sealed: bytes | None) -> None: ...


class OperationalWebhooks:
    """Sets, clears and opens tenants' operational webhooks."""

    def __init__(
        self,
        store: WebhookSettingsPort,
        box: SecretBox,
        audit: AuditLog,
        *,
        allow_private_targets: bool,
    ) -> None:
        self.store = store
        self.box = box
        self.audit = audit
        self.allow_private_targets = allow_private_targets

    async def configure(
        self, caller: Caller, tenant: Tenant, data: OperationalWebhookInput | None
    ) -> str | None:
        """Set (or with None clear) the tenant's webhook; the secret when one was
        generated, to be shown this once."""
        caller.require(Scope.ADMIN)
        if data is None:
            await self.store.set_webhook(tenant.id, None, None)
            await self.audit.record(
                caller, AuditAction.TENANT_UPDATE, tenant.id, tenant.id, operational_webhook=None
            )
            return None
        url = check_url(
            "operational_webhook.url", data.url, allow_insecure=self.allow_private_targets
        )
        secret = data.secret or generate_signing_secret()
        sealed = self.box.seal(secret.encode(), _aad(tenant.id))
        await self.store.set_webhook(tenant.id, url, sealed)
        await self.audit.record(
            caller,
            AuditAction.TENANT_UPDATE,
            tenant.id,
            tenant.id,
            operational_webhook={
                "url": url,
                "secret": "generated" if data.secret is None else "set",
            },
        )
        return secret if data.secret is None else None

    async def url_of(self, tenant_id: str) -> str | None:
        found = await self.store.webhook_of(tenant_id)
        return None if found is None else found[0]

    async def target(self, tenant_id: str) -> WebhookTarget | None:
        found = await self.store.webhook_of(tenant_id)
        if found is None:
            return None
        url, sealed = found
        return WebhookTarget(url, self.box.open(sealed, _aad(tenant_id)).decode())


def _aad(tenant_id: str) -> bytes:
    return sealed_for(tenant_id, Sealed.OPERATIONAL_WEBHOOK)
