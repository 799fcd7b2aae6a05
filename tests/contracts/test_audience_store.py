"""Which devices each kind of audience selects, on SQLite and PostgreSQL alike; and that
an audience no branch knows, or one naming no one, never selects the whole app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import pytest

from pushgate.core.audience import Audience, DevicesAudience, UsersAudience, parse_audience
from pushgate.core.ids import new_id, now_ms
from pushgate.core.models import App, User
from pushgate.wiring import Services
from tests.contracts.test_registry_store import _device, _tenant_and_app


@dataclass(frozen=True)
class Scene:
    tenant_id: str
    app_id: str
    device_ids: dict[str, str]  # id by name

    def named(self, ids: list[str]) -> set[str]:
        names = {device_id: name for name, device_id in self.device_ids.items()}
        return {names[device_id] for device_id in ids}


async def _scene(services: Services) -> Scene:
    """Three devices of the app (ana's, bo's, a kiosk with no user), one of ana's in
    another app of the tenant, which no audience of the first app may reach."""
    tenant, app = await _tenant_and_app(services)
    at = now_ms()
    other = App(new_id(), tenant.id, "tablet", "", False, at, at)
    await services.accounts.insert_app(other)
    ana = User(new_id(), tenant.id, "ana", None, None, {}, at, at)
    bo = User(new_id(), tenant.id, "bo", None, None, {}, at, at)
    for user in (ana, bo):
        await services.people.upsert_user(user, fields=())
    await services.people.set_alias(app.id, "crm-bo", bo.id)
    made = {
        "ana": _device(tenant, app, "ana-token", user_id=ana.id, topics=[], tags=["sports"]),
        "bo": _device(tenant, app, "bo-token", user_id=bo.id, topics=["news"]),
        "kiosk": _device(
            tenant, app, "kiosk-token", topics=["weather"], tags=["sports", "football"]
        ),
        "elsewhere": _device(
            tenant, other, "ana-tablet", user_id=ana.id, topics=["news"], tags=["sports"]
        ),
    }
    await services.people.upsert_devices(list(made.values()))
    return Scene(tenant.id, app.id, {name: device.id for name, device in made.items()})


async def _selected(services: Services, scene: Scene, audience: Audience) -> set[str]:
    store = services.notifications
    page = await store.audience_page(audience, scene.tenant_id, scene.app_id, None, 100)
    count = await store.count_audience(audience, scene.tenant_id, scene.app_id)
    assert count == len(page)
    return scene.named([member.device_id for member in page])


async def test_each_kind_selects_exactly_its_devices(services: Services) -> None:
    scene = await _scene(services)
    forms: dict[str, dict[str, Any]] = {
        "users": {"users": ["ana"]},
        "user_aliases": {"user_aliases": ["crm-bo"]},
        "devices": {"devices": [scene.device_ids["ana"], "kiosk-token"]},
        "topics": {"topics": ["news", "weather"]},
        "tags": {"tags": "sports && !football"},
        "everyone": {"everyone": True},
    }
    selected = {
        kind: await _selected(services, scene, parse_audience(form)) for kind, form in forms.items()
    }
    assert selected == {
        "users": {"ana"},
        "user_aliases": {"bo"},
        "devices": {"ana", "kiosk"},
        "topics": {"bo", "kiosk"},
        "tags": {"ana"},
        "everyone": {"ana", "bo", "kiosk"},
    }


async def test_a_named_list_that_is_empty_reaches_nobody(services: Services) -> None:
    # Validation refuses an empty list; one built past it (model_construct, a filter
    # that left nothing) must still name no one, never fall through to the whole app.
    scene = await _scene(services)
    for audience in (
        UsersAudience.model_construct(users=[]),
        DevicesAudience.model_construct(devices=[]),
    ):
        assert await _selected(services, scene, audience) == set()


@dataclass(frozen=True)
class _UnknownKind:
    """An audience of a kind no branch knows, as a kind added but forgotten by a query
    would reach storage: none of the known kinds' fields names anyone."""

    kind: str = "friends"
    users: list[str] | None = None
    user_aliases: list[str] | None = None
    devices: list[str] | None = None
    topics: list[str] | None = None
    tags: str | None = None
    everyone: bool = False


async def test_an_audience_of_an_unknown_kind_raises_rather_than_reach_everyone(
    services: Services,
) -> None:
    scene = await _scene(services)
    unknown = cast("Audience", _UnknownKind())
    store = services.notifications
    with pytest.raises(AssertionError, match="unreachable"):
        await store.count_audience(unknown, scene.tenant_id, scene.app_id)
    with pytest.raises(AssertionError, match="unreachable"):
        await store.audience_page(unknown, scene.tenant_id, scene.app_id, None, 100)
    with pytest.raises(AssertionError, match="unreachable"):
        await store.unknown_people(unknown, scene.tenant_id, scene.app_id)
