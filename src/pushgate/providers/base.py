"""The one interface every provider implements."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from pushgate.core.identity import PayloadIdentity
from pushgate.core.messages import Message
from pushgate.core.outcomes import Outcome


class Recipient(Protocol):
    """What a provider reads of the device it sends to: a stored
    :class:`~pushgate.core.models.Device`, or the
    :class:`~pushgate.core.notifications.DeviceAddress` the send path reads."""

    @property
    def id(self) -> str: ...
    @property
    def token(self) -> str: ...
    @property
    def keys(self) -> dict[str, str] | None: ...
    @property
    def locale(self) -> str | None: ...
    @property
    def user_id(self) -> str | None: ...


class Delivery(NamedTuple):
    """One message to one device.

    ``delivery_id`` is a UUID stable across retries: it becomes the ``apns-id``, the
    webhook's ``webhook-id`` and so on, so receivers can recognise duplicates.
    ``expires_at`` (epoch ms) bounds the TTL passed to the provider: a message that
    waited ten minutes has ten minutes less. ``created_at`` (epoch ms) is when the
    notification was accepted: the time of the event a webhook reports, the same on
    every attempt. ``now_or_never`` (a TTL of 0) asks the provider to deliver at once or
    drop the message, never to store it; ``expires_at`` then only bounds when the one
    attempt may start. ``identity`` is what the payload says of its instance, app,
    notification and delivery, and how to answer it (core/identity.py); every provider
    renders it. A tuple: the send path builds one per delivery.
    """

    delivery_id: str
    device: Recipient
    message: Message
    expires_at: int
    created_at: int
    now_or_never: bool = False
    identity: PayloadIdentity | None = None


@dataclass(frozen=True, slots=True)
class ProviderCredentials:
    """Decrypted credentials of one app for one provider kind."""

    app_id: str
    kind: str
    public: dict[str, Any]
    secret: dict[str, str]

    def __repr__(self) -> str:
        return f"ProviderCredentials(app_id={self.app_id!r}, kind={self.kind!r}, secret=<hidden>)"


class Provider(Protocol):
    """Sends batches for one app's credentials of one kind."""

    kind: str

    async def send(self, batch: Sequence[Delivery]) -> list[Outcome]:
        """One outcome per delivery, in order; never raises for a provider's answer."""
        ...

    async def close(self) -> None: ...
