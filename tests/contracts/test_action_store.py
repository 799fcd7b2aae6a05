"""The storage contract of actions and action sets, run against SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from dataclasses import replace

import pytest

from pushgate.core.actions import (
    ActionDefinition,
    ActionSet,
    PythonHandler,
    RecordHandler,
    TextInput,
    WebhookContract,
    WebhookHandler,
)
from pushgate.core.ids import new_id, now_ms
from pushgate.core.models import App, Tenant, action_owner, sealed_for
from pushgate.core.secret_rotation import reseal_all
from pushgate.core.secretbox import SecretBox
from pushgate.errors import Conflict
from pushgate.wiring import Services


async def _app(services: Services, name: str = "mobile") -> tuple[Tenant, App]:
    tenant = Tenant(new_id(), f"t-{name}", now_ms())
    await services.accounts.insert_tenant(tenant)
    app = App(new_id(), tenant.id, name, "", False, now_ms(), now_ms())
    await services.accounts.insert_app(app)
    return tenant, app


def _action(app: App, key: str, **changes: object) -> ActionDefinition:
    made = ActionDefinition(
        id=new_id(),
        app_id=app.id,
        key=key,
        title=key.title(),
        titles={"de": key.upper()},
        handler=RecordHandler(),
        created_at=1000,
        updated_at=1000,
    )
    return replace(made, **changes)  # type: ignore[arg-type]


async def test_actions_round_trip_by_id_and_key(services: Services) -> None:
    tenant, app = await _app(services)
    store = services.actions
    webhook = _action(
        app,
        "approve",
        handler=WebhookHandler("https://h.example/x", WebhookContract.SUCCESS_CODE_MESSAGE, 12.5),
        foreground=True,
        authentication_required=True,
        text_input=TextInput("Why?", None),
        allow_repeats=True,
        deadline_seconds=86_400,
    )
    python = _action(app, "reject", handler=PythonHandler("demo-approve", 3.0), destructive=True)
    await store.insert_action(tenant.id, webhook, b"sealed")
    await store.insert_action(tenant.id, python, None)
    assert await store.action(app.id, "approve") == webhook
    assert await store.action(app.id, webhook.id) == webhook
    assert await store.action(app.id, "ghost") is None
    assert await store.list_actions(app.id) == [webhook, python]
    assert await store.actions_by_key(app.id, ["reject", "ghost"]) == {"reject": python}
    assert await store.actions_by_key(app.id, []) == {}
    assert await store.action_secret(webhook.id) == (app.id, b"sealed")
    assert await store.action_secret(python.id) is None
    with pytest.raises(Conflict):
        await store.insert_action(tenant.id, _action(app, "approve"), None)


async def test_update_keeps_or_replaces_the_secret(services: Services) -> None:
    tenant, app = await _app(services)
    store = services.actions
    action = _action(app, "approve")
    await store.insert_action(tenant.id, action, b"first")
    changed = replace(action, title="Yes", text_input=TextInput(None, "Go"), updated_at=2000)
    assert await store.update_action(changed, None, replace_secret=False)
    assert await store.action(app.id, action.id) == changed
    assert await store.action_secret(action.id) == (app.id, b"first")
    assert await store.update_action(changed, b"second", replace_secret=True)
    assert await store.action_secret(action.id) == (app.id, b"second")
    assert await store.update_action(changed, None, replace_secret=True)
    assert await store.action_secret(action.id) is None
    ghost = _action(app, "ghost")
    assert not await store.update_action(ghost, None, replace_secret=False)


async def test_sets_hold_existing_keys_and_keep_used_actions(services: Services) -> None:
    tenant, app = await _app(services)
    store = services.actions
    for key in ("approve", "reject"):
        await store.insert_action(tenant.id, _action(app, key), None)
    approval = ActionSet(new_id(), app.id, "approval", ("reject", "approve"), 1, 1)
    assert await store.insert_set(tenant.id, approval) == []
    ghostly = ActionSet(new_id(), app.id, "ghostly", ("approve", "ghost", "gone"), 1, 1)
    assert await store.insert_set(tenant.id, ghostly) == ["ghost", "gone"]
    assert await store.list_sets(app.id) == [approval]
    assert await store.action_set(app.id, "approval") == approval
    with pytest.raises(Conflict):
        await store.insert_set(tenant.id, replace(approval, id=new_id()))

    approve = await store.action(app.id, "approve")
    assert approve is not None
    refused = await store.delete_action(app.id, approve.id)
    assert (refused.deleted, refused.used_by) == (False, ("approval",))
    assert await store.update_set(replace(approval, action_keys=("ghost",))) == ["ghost"]
    assert await store.update_set(replace(approval, action_keys=("reject",), updated_at=5)) == []
    assert await store.action_set(app.id, "approval") == replace(
        approval, action_keys=("reject",), updated_at=5
    )
    done = await store.delete_action(app.id, approve.id)
    assert (done.deleted, done.used_by) == (True, ())
    assert not (await store.delete_action(app.id, approve.id)).deleted
    assert await store.delete_set(app.id, "approval")
    assert not await store.delete_set(app.id, "approval")
    assert await store.update_set(replace(approval, action_keys=("reject",))) is None


async def test_deleting_the_app_deletes_its_actions_and_sets(services: Services) -> None:
    tenant, app = await _app(services)
    _, other = await _app(services, "desk")
    store = services.actions
    await store.insert_action(tenant.id, _action(app, "approve"), b"s")
    await store.insert_set(tenant.id, ActionSet(new_id(), app.id, "s", ("approve",), 1, 1))
    kept = _action(other, "approve")
    await store.insert_action(other.tenant_id, kept, None)
    await services.accounts.delete_app(app.id)
    assert await store.list_actions(app.id) == []
    assert await store.list_sets(app.id) == []
    assert await store.list_actions(other.id) == [kept]


async def test_key_rotation_reseals_action_secrets(services: Services) -> None:
    tenant, app = await _app(services)
    action = _action(app, "approve")
    aad = sealed_for(app.id, action_owner(action.id))
    old_key = secrets.token_bytes(32)
    await services.actions.insert_action(
        tenant.id, action, SecretBox(old_key).seal(b"whsec_x", aad)
    )
    new_key = secrets.token_bytes(32)
    report = await reseal_all(services.accounts, SecretBox(new_key, previous_keys=[old_key]))
    assert (report.resealed, report.unreadable) == (1, [])
    found = await services.actions.action_secret(action.id)
    assert found is not None
    assert SecretBox(new_key).open(found[1], aad) == b"whsec_x"
