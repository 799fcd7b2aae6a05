"""OpenAPI links between operations: what one answer names that another request takes.

A link (OpenAPI 3.1 §4.8.20, https://spec.openapis.org/oas/v3.1.0#link-object) says
"the `name` in this 201 is the `{app}` of these requests" (docs/architecture.md §4).
Clients and generators (schemathesis' stateful runs, §8) follow them to chain calls: make
an app, then read, change and delete it. The links live in one table here, written by method
and path, and are added to the generated document; a route renamed or moved makes the
document fail to build instead of publishing a link to nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# A link's value for the tenant a request acted in: the same `?tenant=`, when one was
# given (instance admins only, docs/architecture.md §6); without one, nothing is passed.
SAME_TENANT = {"query.tenant": "$request.query.tenant"}


@dataclass(frozen=True)
class Operation:
    """One route of the API, by HTTP method and path template as published."""

    method: str
    path: str


@dataclass(frozen=True)
class Follows:
    """Requests that take values from a source operation's successful answers.

    ``targets`` are keyed by what the link does (published as ``App.read``); ``parameters``
    map a target parameter, qualified by where it goes (``path.app``), to an OpenAPI runtime
    expression (``$response.body#/name``, ``$request.path.app``); ``body`` names fields of
    the target's JSON body the same way, the rest of the body being the client's. Every
    target also gets the source's ``?tenant=`` when both take one."""

    source: Operation
    statuses: tuple[int, ...]
    name: str
    targets: Mapping[str, Operation]
    description: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, str] = field(default_factory=dict)


def _op(method: str, path: str) -> Operation:
    return Operation(method, path)


APPS = "/v1/apps"
APP = "/v1/apps/{app}"
USER = "/v1/users/{external_id}"
DEVICE = "/v1/devices/{device_id}"
KEY = "/v1/keys/{key_id}"
ACTION = "/v1/apps/{app}/actions/{action}"
ACTION_SET = "/v1/apps/{app}/action-sets/{key}"
TYPE = "/v1/apps/{app}/types/{key}"
NOTIFICATION = "/v1/notifications/{notification_id}"

LINKS: tuple[Follows, ...] = (
    Follows(
        source=_op("post", APPS),
        statuses=(201,),
        name="App",
        targets={
            "read": _op("get", APP),
            "update": _op("patch", APP),
            "delete": _op("delete", APP),
            "credentials": _op("get", f"{APP}/credentials"),
            "set_credentials": _op("put", f"{APP}/credentials/{{kind}}"),
            "register_device": _op("post", f"{APP}/devices"),
            "actions": _op("get", f"{APP}/actions"),
            "create_action": _op("post", f"{APP}/actions"),
            "action_sets": _op("get", f"{APP}/action-sets"),
            "create_action_set": _op("post", f"{APP}/action-sets"),
            "types": _op("get", f"{APP}/types"),
            "create_type": _op("post", f"{APP}/types"),
        },
        parameters={"path.app": "$response.body#/name"},
        description="The app just made, by its name.",
    ),
    Follows(
        source=_op("post", APPS),
        statuses=(201,),
        name="App",
        targets={"send": _op("post", "/v1/notifications")},
        body={"app": "$response.body#/name"},
        description="A notification from the app just made.",
    ),
    Follows(
        source=_op("put", USER),
        statuses=(200, 201),
        name="User",
        targets={
            "read": _op("get", USER),
            "delete": _op("delete", USER),
            "devices": _op("get", f"{USER}/devices"),
            "aliases": _op("get", f"{USER}/aliases"),
            "set_alias": _op("put", f"{USER}/aliases"),
        },
        parameters={"path.external_id": "$response.body#/external_id"},
        description="The user just made or changed, by the host system's id for them.",
    ),
    Follows(
        source=_op("post", f"{APP}/devices"),
        statuses=(200, 201),
        name="Device",
        targets={
            "read": _op("get", DEVICE),
            "unregister": _op("delete", DEVICE),
            "history": _op("get", f"{DEVICE}/history"),
        },
        parameters={"path.device_id": "$response.body#/id"},
        description="The device just registered or refreshed, by its id.",
    ),
    Follows(
        source=_op("post", f"{APP}/devices"),
        statuses=(200, 201),
        name="DeviceUser",
        targets={
            "read": _op("get", USER),
            "update": _op("put", USER),
            "delete": _op("delete", USER),
            "devices": _op("get", f"{USER}/devices"),
            "aliases": _op("get", f"{USER}/aliases"),
        },
        parameters={"path.external_id": "$request.body#/user"},
        description="The user the device was registered for (made then when unknown), by the "
        "host system's id for them; nothing when the registration named none.",
    ),
    Follows(
        source=_op("post", "/v1/keys"),
        statuses=(201,),
        name="Key",
        targets={
            "update": _op("patch", KEY),
            "revoke": _op("delete", KEY),
            "rotate": _op("post", f"{KEY}/rotate"),
        },
        parameters={"path.key_id": "$response.body#/id"},
        description="The key just made, by its id.",
    ),
    Follows(
        source=_op("post", f"{APP}/actions"),
        statuses=(201,),
        name="Action",
        targets={
            "read": _op("get", ACTION),
            "update": _op("patch", ACTION),
            "delete": _op("delete", ACTION),
        },
        parameters={"path.app": "$request.path.app", "path.action": "$response.body#/id"},
        description="The action just defined, by its id, in the same app.",
    ),
    Follows(
        source=_op("post", f"{APP}/action-sets"),
        statuses=(201,),
        name="ActionSet",
        targets={
            "read": _op("get", ACTION_SET),
            "update": _op("patch", ACTION_SET),
            "delete": _op("delete", ACTION_SET),
        },
        parameters={"path.app": "$request.path.app", "path.key": "$response.body#/key"},
        description="The action set just made, by its key, in the same app.",
    ),
    Follows(
        source=_op("post", f"{APP}/action-sets"),
        statuses=(201,),
        name="ActionSet",
        targets={"send": _op("post", "/v1/notifications")},
        body={"app": "$request.path.app", "action_set": "$response.body#/key"},
        description="A notification from the same app that shows the set just made.",
    ),
    Follows(
        source=_op("post", f"{APP}/types"),
        statuses=(201,),
        name="Type",
        targets={
            "read": _op("get", TYPE),
            "update": _op("patch", TYPE),
            "delete": _op("delete", TYPE),
            "preview": _op("post", f"{TYPE}/preview"),
        },
        parameters={"path.app": "$request.path.app", "path.key": "$response.body#/key"},
        description="The notification type just defined, by its key, in the same app.",
    ),
    Follows(
        source=_op("post", f"{APP}/types"),
        statuses=(201,),
        name="Type",
        targets={"send": _op("post", "/v1/notifications")},
        body={"app": "$request.path.app", "type": "$response.body#/key"},
        description="A notification of the type just defined, from the same app.",
    ),
    Follows(
        source=_op("post", "/v1/notifications"),
        statuses=(200, 202),
        name="Notification",
        targets={
            "read": _op("get", NOTIFICATION),
            "deliveries": _op("get", f"{NOTIFICATION}/deliveries"),
            "cancel": _op("delete", NOTIFICATION),
        },
        parameters={"path.notification_id": "$response.body#/id"},
        description="The notification just accepted (or answered again for its idempotency "
        "key), by its id.",
    ),
)


class LinkError(Exception):
    """A link names an operation, answer or parameter the document does not have."""


def add_links(document: dict[str, Any], links: tuple[Follows, ...] = LINKS) -> None:
    """Add ``links`` to the answers of an OpenAPI ``document``, in place; raises LinkError
    when a link does not match the document."""
    paths: dict[str, dict[str, Any]] = document.get("paths", {})
    for follows in links:
        source = _operation(paths, follows.source)
        for status in follows.statuses:
            answer = source.get("responses", {}).get(str(status))
            if answer is None:
                raise LinkError(f"{follows.source} has no {status} answer to link from")
            published = answer.setdefault("links", {})
            for action, target in follows.targets.items():
                name = f"{follows.name}.{action}"
                if name in published:
                    raise LinkError(f"{follows.source} has two links named {name}")
                published[name] = _link(
                    follows, paths, target, "query.tenant" in _parameters(source)
                )


def _link(
    follows: Follows, paths: dict[str, dict[str, Any]], target: Operation, in_tenant: bool
) -> dict[str, Any]:
    found = _operation(paths, target)
    taken = _parameters(found)
    missing = set(follows.parameters) - taken
    if missing:
        raise LinkError(f"{target} takes no parameter {sorted(missing)}")
    parameters = dict(follows.parameters)
    if in_tenant and SAME_TENANT.keys() <= taken:
        parameters.update(SAME_TENANT)
    link: dict[str, Any] = {
        "operationId": found["operationId"],
        "parameters": parameters,
        "description": follows.description,
    }
    if follows.body:
        if "requestBody" not in found:
            raise LinkError(f"{target} takes no body")
        link["requestBody"] = dict(follows.body)
        # Only these fields come from the link; schemathesis' extension says so to it.
        link["x-schemathesis"] = {"merge_body": True}
    return link


def _parameters(operation: dict[str, Any]) -> set[str]:
    """The operation's parameters, each as ``place.name`` (``path.app``)."""
    return {f"{p['in']}.{p['name']}" for p in operation.get("parameters", [])}


def _operation(paths: dict[str, dict[str, Any]], wanted: Operation) -> dict[str, Any]:
    found = paths.get(wanted.path, {}).get(wanted.method)
    if not isinstance(found, dict) or "operationId" not in found:
        raise LinkError(f"no operation {wanted.method.upper()} {wanted.path}")
    return found
