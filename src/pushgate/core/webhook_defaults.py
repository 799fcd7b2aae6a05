"""A tenant's general webhook settings as the webhook provider uses them (docs/settings.md,
"The webhook settings in use").

``webhook.url`` is where a webhook device is sent when neither its token (a URL) nor its
app's webhook credentials name an endpoint; ``webhook.authorization`` is the Authorization
header sent when the credentials give none. What the credentials say always wins. The
values are read per tenant and kept a few seconds, like the type switches: a change made in
this process is seen at once (the settings service forgets them), one made in another
process within ``cache_seconds``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pushgate.core.scoped_settings import StoredSetting
from pushgate.core.settings_catalog import GLOBAL
from pushgate.core.ttlcache import TtlCache

URL_SETTING = "webhook.url"
AUTHORIZATION_SETTING = "webhook.authorization"


@dataclass(frozen=True, slots=True)
class WebhookDefaults:
    """The tenant's fallbacks for webhook credentials (None: not set)."""

    url: str | None = None
    authorization: str | None = None

    def fill(
        self, public: dict[str, Any], secret: dict[str, str]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Webhook credentials completed by these values where they name none."""
        public, secret = dict(public), dict(secret)
        if not public.get("url") and self.url is not None:
            public["url"] = self.url
        if not secret.get("authorization") and self.authorization is not None:
            secret["authorization"] = self.authorization
        return public, secret


NO_DEFAULTS = WebhookDefaults()


class StoredSettingsPort(Protocol):
    async def scope_settings(self, tenant_id: str, scope: str) -> list[StoredSetting]: ...


# (tenant id, stored setting) → its value as sending uses it (a secret opened).
Opener = Callable[[str, StoredSetting], Any]


class TenantWebhookDefaults:
    """Each tenant's :class:`WebhookDefaults`, read again every ``cache_seconds``."""

    def __init__(
        self, store: StoredSettingsPort, opened: Opener, *, cache_seconds: float = 2.0
    ) -> None:
        self.store = store
        self.opened = opened
        self.cache: TtlCache[str, WebhookDefaults] = TtlCache(cache_seconds)

    async def of(self, tenant_id: str) -> WebhookDefaults:
        async def load() -> WebhookDefaults:
            values = {
                item.name: self.opened(tenant_id, item)
                for item in await self.store.scope_settings(tenant_id, GLOBAL)
                if item.name in (URL_SETTING, AUTHORIZATION_SETTING)
            }
            return WebhookDefaults(
                _text(values.get(URL_SETTING)), _text(values.get(AUTHORIZATION_SETTING))
            )

        found = await self.cache.get(tenant_id, load)
        return NO_DEFAULTS if found is None else found

    def forget(self) -> None:
        """Drop what is kept (after this process changed settings)."""
        self.cache.invalidate()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
