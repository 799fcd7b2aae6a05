"""Device token rules per provider: what a valid registration looks like.

Each validator returns the normalised token (the value stored and matched on) or raises
``InvalidInput`` naming the field.
"""

from __future__ import annotations

import base64
import re

from pushgate.core.credentials.urls import is_loopback_host, split_http_url, target_refusal
from pushgate.core.models import Provider
from pushgate.errors import InvalidInput

MAX_TOKEN_LENGTH = 2048
# APNs: "don't assume a token length" (docs/providers.md §1.1); today 32 bytes, allow 8..100.
_APNS_TOKEN = re.compile(r"^(?:[0-9a-fA-F]{2}){8,100}$")
# FCM / HMS registration tokens: URL-safe base64 plus ':' separators.
_REGISTRATION_TOKEN = re.compile(r"^[A-Za-z0-9_:\-.]{16,2048}$")
# A webhook device's own identifier, when its token is no URL: the app's webhook
# credentials' URL (else the tenant's webhook.url setting) receives it (docs/settings.md).
_WEBHOOK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@+=-]{0,255}$")


def _bad(field: str, reason: str) -> InvalidInput:
    return InvalidInput(f"{field}: {reason}", details={"field": field, "reason": reason})


def check_url(field: str, url: str, *, allow_insecure: bool, host_suffix: str | None = None) -> str:
    """An absolute https URL a delivery can be sent to: plain http only on loopback and only
    when private targets are allowed; address literals judged by the table the connection
    is judged by (core/addresses.py), so a target refused at send time is refused here."""
    if len(url) > MAX_TOKEN_LENGTH:
        raise _bad(field, f"longer than {MAX_TOKEN_LENGTH} characters")
    try:
        parts = split_http_url(url)
    except ValueError as exc:
        raise _bad(field, str(exc)) from None
    host = parts.hostname or ""
    local = is_loopback_host(host)
    if parts.scheme == "http" and not (allow_insecure and local):
        raise _bad(field, "must use https")
    refusal = target_refusal(parts, allow_private=allow_insecure)
    if refusal is not None:
        raise _bad(field, refusal)
    if host_suffix and not local and not (host == host_suffix or host.endswith("." + host_suffix)):
        raise _bad(field, f"host must be in the {host_suffix} domain")
    return url


def _b64url_decode(field: str, value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError as exc:
        raise _bad(field, "is not base64url") from exc


def check_webpush_keys(p256dh: str, auth: str) -> dict[str, str]:
    """RFC 8291 §2: p256dh is an uncompressed P-256 point (65 bytes), auth 16 bytes."""
    from cryptography.hazmat.primitives.asymmetric import ec

    point = _b64url_decode("subscription.keys.p256dh", p256dh)
    if len(point) != 65 or point[0] != 4:
        raise _bad("subscription.keys.p256dh", "must be a 65-byte uncompressed P-256 point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise _bad("subscription.keys.p256dh", "is not a point on P-256") from exc
    if len(_b64url_decode("subscription.keys.auth", auth)) != 16:
        raise _bad("subscription.keys.auth", "must decode to 16 bytes")
    return {"p256dh": p256dh, "auth": auth}


def normalise_token(provider: Provider, token: str, *, allow_insecure: bool) -> str:
    """Validate a non-Web-Push token for ``provider`` and return its stored form."""
    if not token:
        raise _bad("token", "is required")
    if provider is Provider.APNS:
        # fullmatch: with match, "$" would also accept a trailing newline.
        if not _APNS_TOKEN.fullmatch(token):
            raise _bad("token", "an APNs device token is an even number of hex digits (16-200)")
        return token.lower()
    if provider in (Provider.FCM, Provider.HMS):
        if not _REGISTRATION_TOKEN.fullmatch(token):
            raise _bad("token", "a registration token is 16-2048 characters of [A-Za-z0-9_:-.]")
        return token
    if provider is Provider.WNS:
        return check_url(
            "token", token, allow_insecure=allow_insecure, host_suffix="notify.windows.com"
        )
    if provider is Provider.WEBHOOK:
        if "://" not in token and _WEBHOOK_ID.fullmatch(token):
            return token
        return check_url("token", token, allow_insecure=allow_insecure)
    raise _bad("subscription", "a Web Push device is registered with its subscription")
