"""The provider kinds that take credentials, and the one entry point that validates them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pushgate.core.credentials.apns import ApnsInput, validate_apns
from pushgate.core.credentials.fcm import FcmInput, validate_fcm
from pushgate.core.credentials.fields import CredentialInput, invalid
from pushgate.core.credentials.hms import HmsInput, validate_hms
from pushgate.core.credentials.relay import RelayInput, validate_relay
from pushgate.core.credentials.result import CredentialSet
from pushgate.core.credentials.webhook import WebhookInput, validate_webhook
from pushgate.core.credentials.webpush import WebPushInput, validate_webpush
from pushgate.core.credentials.wns import WnsInput, validate_wns


class KindValidator(Protocol):
    """Turns one kind's raw input into a ``CredentialSet`` or raises ``InvalidInput``."""

    def __call__(
        self, raw: Mapping[str, Any], *, allow_insecure_targets: bool
    ) -> CredentialSet: ...


VALIDATORS: dict[str, KindValidator] = {
    "apns": validate_apns,
    "fcm": validate_fcm,
    "webpush": validate_webpush,
    "wns": validate_wns,
    "hms": validate_hms,
    "webhook": validate_webhook,
    "relay": validate_relay,
}
KINDS: tuple[str, ...] = tuple(VALIDATORS)
# Each kind's input model, which the validator parses: the API documents it as that kind's
# request body (api/credential_schemas.py).
INPUT_MODELS: dict[str, type[CredentialInput]] = {
    "apns": ApnsInput,
    "fcm": FcmInput,
    "webpush": WebPushInput,
    "wns": WnsInput,
    "hms": HmsInput,
    "webhook": WebhookInput,
    "relay": RelayInput,
}


def validate_credentials(
    kind: str, raw: Mapping[str, Any], *, allow_insecure_targets: bool
) -> CredentialSet:
    """Validate ``raw`` as credentials of ``kind``; raise ``InvalidInput`` naming the field.

    ``allow_insecure_targets`` is the operator's switch that lets webhook targets use http
    or point at loopback and private addresses (docs/architecture.md §6).
    """
    validator = VALIDATORS.get(kind)
    if validator is None:
        raise invalid("kind", "", f"unknown credential kind; expected one of {', '.join(KINDS)}")
    return validator(raw, allow_insecure_targets=allow_insecure_targets)
