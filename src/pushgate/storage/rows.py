"""Row ↔ domain value conversion for the registry tables."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from pushgate.core.models import (
    ApiKey,
    App,
    Device,
    DeviceState,
    LocalizedText,
    Platform,
    Provider,
    RateLimit,
    Scope,
    StoredCredential,
    Tenant,
    User,
)


def tenant(row: Row[Any]) -> Tenant:
    return Tenant(
        row.id,
        row.name,
        row.created_at,
        rate_limit=rate_limit(row.rate_limit),
        send_rate_limit=rate_limit(row.send_rate_limit),
        deliveries_per_day=row.deliveries_per_day,
    )


def rate_limit(stored: Any) -> RateLimit | None:
    if stored is None:
        return None
    return RateLimit(float(stored["per_second"]), int(stored["burst"]))


def rate_limit_column(limit: RateLimit | None) -> dict[str, float | int] | None:
    """What a ``rate_limit`` JSON column holds."""
    if limit is None:
        return None
    return {"per_second": limit.per_second, "burst": limit.burst}


def api_key(row: Row[Any]) -> ApiKey:
    return ApiKey(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        prefix=row.prefix,
        secret_hash=row.secret_hash,
        scopes=frozenset(Scope(s) for s in row.scopes),
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        rate_limit=rate_limit(row.rate_limit),
    )


def app(row: Row[Any]) -> App:
    return App(
        id=row.id,
        tenant_id=row.tenant_id,
        name=row.name,
        description=row.description,
        has_user_auth=row.user_auth_secret is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        action_error_text=LocalizedText.of_json(row.action_error_text),
        action_confirm_text=LocalizedText.of_json(row.action_confirm_text),
        requires_type=bool(row.requires_type),
        relay=bool(row.relay),
    )


def credential(row: Row[Any]) -> StoredCredential:
    return StoredCredential(
        row.app_id,
        row.kind,
        row.public,
        row.fingerprints,
        row.sealed,
        row.updated_at,
        row.paused_at,
        row.paused_reason,
    )


def user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        tenant_id=row.tenant_id,
        external_id=row.external_id,
        locale=row.locale,
        timezone=row.timezone,
        attributes=row.attributes,
        created_at=row.created_at,
        updated_at=row.updated_at,
        unit=row.unit,
    )


def device(row: Row[Any]) -> Device:
    return Device(
        id=row.id,
        tenant_id=row.tenant_id,
        app_id=row.app_id,
        provider=Provider(row.provider),
        token=row.token,
        keys=row.keys,
        platform=Platform(row.platform),
        user_id=row.user_id,
        locale=row.locale,
        timezone=row.timezone,
        topics=row.topics,
        tags=row.tags,
        app_version=row.app_version,
        state=DeviceState(row.state),
        state_reason=row.state_reason,
        state_changed_at=row.state_changed_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def device_values(item: Device) -> dict[str, Any]:
    """Column values of a device, for inserts and upserts."""
    return {
        "id": item.id,
        "tenant_id": item.tenant_id,
        "app_id": item.app_id,
        "provider": item.provider.value,
        "token": item.token,
        "keys": item.keys,
        "platform": item.platform.value,
        "user_id": item.user_id,
        "locale": item.locale,
        "timezone": item.timezone,
        "topics": item.topics,
        "tags": item.tags,
        "app_version": item.app_version,
        "state": item.state.value,
        "state_reason": item.state_reason,
        "state_changed_at": item.state_changed_at,
        "created_at": item.created_at,
        "updated_at": item.updated_at,
    }
