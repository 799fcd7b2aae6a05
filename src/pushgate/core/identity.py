"""Who sent a push, and how to answer it: the identity every payload carries
(docs/actions.md, "Payload identity").

Every delivery's payload names the instance (its stable id and public base URL), the app
(by name), the notification and the delivery. When the notification has actions it also
names the action set and carries a response token (``core/response_tokens.py``) and the
response URL base, ``{instance_name}/v1/push/{app}/action/``, to which the device appends
the chosen action's id. Every payload also carries an interaction token
(``core/interaction_tokens.py``), with which the device reports that the push was received,
opened, dismissed or acted on (docs/reports.md). The identity is per delivery; everything
else of a payload is shared by the deliveries of one rendered message, so providers render
the shared part once and add this (``to_json``) per delivery.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from pushgate.core import interaction_tokens
from pushgate.core.response_tokens import TOKEN_CHARS, ResponseToken, mint
from pushgate.core.secretbox import SecretBox
from pushgate.core.ttlcache import TtlCache

# The key every provider carries the identity under (docs/actions.md).
IDENTITY_KEY = "pushgate"
# Bounds of what the identity can hold, so a payload is checked at accept time with its
# identity at its largest (core/sending.py): the instance name (config.py refuses longer)
# and the app name (core/inputs.py NAME_PATTERN).
MAX_INSTANCE_NAME_CHARS = 100
MAX_APP_NAME_CHARS = 64
_SAMPLE_UUID = "ffffffff-ffff-7fff-bfff-ffffffffffff"
DAY_SECONDS = 86_400


def response_url_base(instance_name: str, app: str) -> str:
    """Where a device answers: append the action's id and POST (docs/actions.md)."""
    return f"{instance_name}/v1/push/{app}/action/"


@dataclass(frozen=True, slots=True)
class PayloadIdentity:
    """What one delivery's payload says of where it came from and how to report on it;
    the last three only when the notification has actions."""

    instance_id: str
    instance_name: str
    app: str
    notification_id: str
    delivery_id: str
    interaction_token: str
    action_set: str | None = None
    token: str | None = None
    response_url: str | None = None

    def fields(self) -> dict[str, str]:
        """The wire layout, the same for every provider (docs/actions.md)."""
        fields = {
            "instance": self.instance_id,
            "server": self.instance_name,
            "app": self.app,
            "notification": self.notification_id,
            "delivery": self.delivery_id,
            "itoken": self.interaction_token,
        }
        if self.action_set is not None:
            fields["set"] = self.action_set
        if self.token is not None:
            fields["token"] = self.token
        if self.response_url is not None:
            fields["url"] = self.response_url
        return fields

    def to_json(self) -> bytes:
        return orjson.dumps(self.fields())


def largest_identity(has_actions: bool, action_set: str | None) -> PayloadIdentity:
    """An identity as large as any real one can be: what accept-time size checks add to a
    payload, so a push that fits then fits when it is sent."""
    name = "https://" + "x" * (MAX_INSTANCE_NAME_CHARS - len("https://"))
    app = "a" * MAX_APP_NAME_CHARS
    itoken = "A" * interaction_tokens.TOKEN_CHARS
    if not has_actions:
        return PayloadIdentity(_SAMPLE_UUID, name, app, _SAMPLE_UUID, _SAMPLE_UUID, itoken)
    return PayloadIdentity(
        _SAMPLE_UUID,
        name,
        app,
        _SAMPLE_UUID,
        _SAMPLE_UUID,
        itoken,
        action_set,
        "A" * TOKEN_CHARS,
        response_url_base(name, app),
    )


@dataclass(frozen=True, slots=True)
class BatchIdentity:
    """What the deliveries of one batch share; :meth:`of` adds a delivery's own part."""

    box: SecretBox
    instance_id: str
    instance_name: str
    app: str
    notification_id: str
    action_set: str | None
    has_actions: bool
    token_expires_at: int  # epoch seconds
    interactions_until: int  # epoch seconds
    _minter: interaction_tokens.Minter = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        minter = interaction_tokens.Minter(self.box, self.notification_id, self.interactions_until)
        object.__setattr__(self, "_minter", minter)

    def of(self, delivery_id: str, device_id: str) -> PayloadIdentity:
        """The identity of one delivery; a response token is minted only with actions."""
        itoken = self._minter.mint(delivery_id, device_id)
        if not self.has_actions:
            return PayloadIdentity(
                self.instance_id,
                self.instance_name,
                self.app,
                self.notification_id,
                delivery_id,
                itoken,
            )
        claims = ResponseToken(delivery_id, self.notification_id, device_id, self.token_expires_at)
        return PayloadIdentity(
            self.instance_id,
            self.instance_name,
            self.app,
            self.notification_id,
            delivery_id,
            itoken,
            self.action_set,
            mint(self.box, claims),
            response_url_base(self.instance_name, self.app),
        )


APP_NAME_SECONDS = 5.0


class Identities:
    """Builds the :class:`BatchIdentity` of a notification's batch in the send path. The
    instance id is read once (it never changes); the app's name is kept for
    :data:`APP_NAME_SECONDS`, as the registry keeps apps, so a renamed app's pushes name it
    as it is now within seconds, without a read per batch."""

    def __init__(
        self,
        box: SecretBox,
        instance_name: str,
        instance_id: Callable[[], Awaitable[str]],
        app_name: Callable[[str], Awaitable[str | None]],
        *,
        grace_days: int,
        retention_days: int,
    ) -> None:
        self.box = box
        self.instance_name = instance_name
        self._instance_id = instance_id
        self._app_name = app_name
        self._app_names: TtlCache[str, str] = TtlCache(APP_NAME_SECONDS)
        self.grace_seconds = grace_days * DAY_SECONDS
        self.retention_seconds = retention_days * DAY_SECONDS

    async def for_batch(
        self,
        notification_id: str,
        app_id: str,
        content: dict[str, Any],
        expires_at_ms: int,
        created_at_ms: int,
    ) -> BatchIdentity:
        """A response token answers until the notification's expiry plus the grace
        period: a person may act on a push shown just before it expired. An interaction
        token reports for the instance's retention window from the notification's
        creation: as long as the notification is kept (docs/reports.md)."""
        named = await self._app_names.get(app_id, lambda: self._app_name(app_id))
        app = named or app_id  # deleted meanwhile: its id still names it
        action_set = content.get("action_set")
        return BatchIdentity(
            self.box,
            await self._instance_id(),
            self.instance_name,
            app,
            notification_id,
            str(action_set) if action_set is not None else None,
            bool(content.get("actions")),
            expires_at_ms // 1000 + self.grace_seconds,
            created_at_ms // 1000 + self.retention_seconds,
        )
